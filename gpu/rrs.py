"""Torch RRS: recursive rejection sampling with k i.i.d. drafts; same law and uniforms as
:mod:`specsample.rrs`.

SpecInfer, Miao et al., arXiv 2305.09781.

.. code-block:: text

    draft:  x_1..x_k i.i.d. ~ q
    verify: r = p
            for j in 1..k:
                accept x_j with probability min(1, r(x_j) / q(x_j))
                r = norm((r - q)+)
            return a sample of r

Proof: ``proofs/rrs.md``. Shapes, uniforms and checks: :mod:`specsample.gpu._api`.
"""

from __future__ import annotations

import torch

from specsample import rrs as core
from specsample.scheme import Verdict

from . import _api, _chain, _sampling

NAME = core.NAME
MAX_K = core.MAX_K


def min_support(k: int) -> int:
    """Tokens with ``q > 0`` that drafting ``k`` tokens needs."""
    return 1


def draft(q: torch.Tensor, k: int, *, generator: torch.Generator | None = None,
          uniforms=None, validate: bool = True) -> torch.Tensor:
    """``k`` i.i.d. draws from each row of ``q`` (N, V): int64 (N, k). Uniforms: (N, k)."""
    call = _api.prepare_draft(q, k, generator, uniforms, validate, core=core, min_support=min_support)
    return _sampling.invert(call.q, call.u)


def verify(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor, *,
           generator: torch.Generator | None = None, uniforms=None, validate: bool = True) -> Verdict:
    """Recursive rejection sampling of the ordered drafts (N, k); uniforms (N, k + 1).

    Returns a :class:`~specsample.scheme.Verdict` of int64 tensors (N,).
    """
    call = _api.prepare_verify(p, q, drafts, generator, uniforms, validate, core=core)
    return Verdict(*_chain.chain_verify(call, without_replacement=False))
