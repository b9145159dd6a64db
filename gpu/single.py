"""Torch single-draft speculative sampling (k = 1); same law and uniforms as
:mod:`specsample.single`.

Leviathan, Kalman & Matias, arXiv 2211.17192; Chen et al., arXiv 2302.01318.

.. math::

    x \\sim q, \\qquad \\text{accept } x \\text{ w.p. } \\min\\Bigl(1, \\frac{p(x)}{q(x)}\\Bigr),
    \\qquad \\text{else } Y \\sim \\frac{(p - q)_+}{\\sum_y (p(y) - q(y))_+}.

A deterministic draft (a Jacobi iterate) is the case ``q = onehot(x)``. Proof:
``proofs/single.md``. Shapes, uniforms and checks: :mod:`specsample.gpu._api`.
"""

from __future__ import annotations

import torch

from specsample import single as core
from specsample.scheme import Verdict

from . import _api, _chain, _sampling

NAME = core.NAME
MAX_K = core.MAX_K


def min_support(k: int) -> int:
    """Tokens with ``q > 0`` that drafting ``k`` tokens needs."""
    return 1


def draft(q: torch.Tensor, k: int = 1, *, generator: torch.Generator | None = None,
          uniforms=None, validate: bool = True) -> torch.Tensor:
    """One draft per row of ``q`` (N, V): int64 (N, 1). Uniforms: (N, 1)."""
    call = _api.prepare_draft(q, k, generator, uniforms, validate, core=core, min_support=min_support)
    return _sampling.invert(call.q, call.u)


def verify(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor, *,
           generator: torch.Generator | None = None, uniforms=None, validate: bool = True) -> Verdict:
    """Accept ``x`` w.p. ``min(1, p(x)/q(x))``, else sample ``norm((p - q)+)``.

    ``p``, ``q``: 1 or N rows of V; ``drafts`` (N, 1); uniforms (N, 2). Returns a
    :class:`~specsample.scheme.Verdict` of int64 tensors (N,) on the inputs' device.
    """
    call = _api.prepare_verify(p, q, drafts, generator, uniforms, validate, core=core)
    return Verdict(*_chain.chain_verify(call, without_replacement=False))
