"""specsample.lp: exact optimal-transport ceilings on the acceptance of any verifier.

This subpackage (source folder ``lp/``) imports the exact core (and scipy, PuLP) and never
:mod:`specsample.gpu`. Two entry points:

* :func:`optimal_acceptance` -- the OTM linear program for any draft law (a dict of draft
  tuples, or a callable), solved three independent ways (``"highs"``, ``"pulp"``,
  ``"mincut"``), with a full optimal coupling, the verifier it defines, and a dual
  certificate that :meth:`OptimalAcceptance.check` re-verifies in rational arithmetic.
* :func:`ot_bound` -- the same optimum in closed form for the library's drafting laws
  (``"iid"``, ``"without_replacement"``, ``"hub"``) at full vocabulary size.

The mathematics and its proofs: ``THEORY.md`` section 6 and ``proofs/ot_*.md``.
"""

from ._solvers import MINCUT_MAX_TOKENS, SolverError
from .bounds import DRAFTS, Bound, hub_draft_law, ot_bound
from .optimal import (
    Certificate,
    CertificateCheck,
    Coupling,
    OptimalAcceptance,
    optimal_acceptance,
)

__all__ = [
    "DRAFTS",
    "MINCUT_MAX_TOKENS",
    "Bound",
    "Certificate",
    "CertificateCheck",
    "Coupling",
    "OptimalAcceptance",
    "SolverError",
    "hub_draft_law",
    "optimal_acceptance",
    "ot_bound",
]
