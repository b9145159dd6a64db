"""specsample.lp: exact optimal-transport / LP ceilings on the acceptance of any verifier.

This subpackage (source folder ``lp/``) imports the exact core and never
:mod:`specsample.gpu`. Its solvers arrive with issue #3; until then it exports nothing.
"""
