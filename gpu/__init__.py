"""specsample.gpu: torch verifiers, the token-tree decode loop, and Jacobi decoding.

This subpackage (source folder ``gpu/``) imports the exact core and torch/transformers,
never :mod:`specsample.lp`. It is device-agnostic: tensors stay on the device they come
from.

Torch verifiers
    :data:`SCHEMES` maps each core scheme name to a torch module with
    ``draft(q, k, *, generator=None, uniforms=None, validate=True)`` and
    ``verify(p, q, drafts, *, generator=None, uniforms=None, validate=True)``, batched over
    rows. On the same float64 uniforms they return the tokens and indices of the numpy core
    (see :mod:`specsample.gpu._api` for shapes, uniforms and checks). ``verify`` returns a
    :class:`specsample.Verdict` whose ``token`` and ``index`` are int64 tensors (N,).
"""

from . import kseq, rrs, rrsw, single, spechub

#: Scheme name -> torch module, in the core's order (:data:`specsample.SCHEMES`).
SCHEMES = {module.NAME: module for module in (single, rrs, rrsw, spechub, kseq)}

__all__ = ["SCHEMES", "kseq", "rrs", "rrsw", "single", "spechub"]
