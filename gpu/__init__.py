"""specsample.gpu: torch verifiers, the token-tree decode loop, Jacobi decoding, model loading.

This subpackage (source folder ``gpu/``) imports the exact core and never
:mod:`specsample.lp`. Its code arrives with issue #4; until then it exports nothing.
"""
