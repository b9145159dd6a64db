"""specsample.gpu: torch verifiers, the token-tree decode loop, and Jacobi decoding.

This subpackage (source folder ``gpu/``) imports the exact core, torch and transformers,
never :mod:`specsample.lp`. It is device-agnostic: work happens on the device of the
tensors or models it is given.

Torch verifiers
    :data:`SCHEMES` maps each core scheme name to a torch module with
    ``draft(q, k, *, generator=None, uniforms=None, validate=True)`` and
    ``verify(p, q, drafts, *, generator=None, uniforms=None, validate=True)``, batched over
    rows, with the core's uniform layout and floating-point order (lane sums, reciprocal
    multiplies: :mod:`specsample.gpu._sampling`). On the same float64 uniforms they return
    the tokens and indices of the numpy core, bit for bit on CPU; on CUDA a parallel scan can
    change a sum's last bit, so a uniform within ~1e-16 of a decision may decide
    differently. ``verify`` returns a :class:`specsample.Verdict`
    whose ``token`` and ``index`` are int64 tensors (N,). Shapes, uniforms and checks:
    :mod:`specsample.gpu._api`.
Decoding
    :class:`SpeculativeDecoder` (token trees, :class:`Tree`) and :func:`jacobi_generate`
    (Jacobi / CLLM), both for Hugging Face causal LMs at batch size 1.
"""

from . import kseq, rrs, rrsw, single, spechub
from .decode import DecodeResult, DecodeState, DecodeStats, SpeculativeDecoder
from .jacobi import JacobiResult, JacobiStats, jacobi_generate
from .schemes import SCHEMES
from .tree import Tree

__all__ = [
    "SCHEMES",
    "DecodeResult",
    "DecodeState",
    "DecodeStats",
    "JacobiResult",
    "JacobiStats",
    "SpeculativeDecoder",
    "Tree",
    "jacobi_generate",
    "kseq",
    "rrs",
    "rrsw",
    "single",
    "spechub",
]
