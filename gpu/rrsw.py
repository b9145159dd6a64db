"""Torch RRSw: recursive rejection sampling with k drafts without replacement; same law and
uniforms as :mod:`specsample.rrsw`.

Yang et al., arXiv 2401.06706; Jeon et al., arXiv 2402.14160.

.. code-block:: text

    draft:  x_1..x_k without replacement from q   (k <= size of q's support)
    verify: r = p; s = q
            for j in 1..k:
                accept x_j with probability min(1, r(x_j) / s(x_j))
                r = norm((r - s)+)                   # s before the removal
                s(x_j) = 0; s = norm(s)
            return a sample of r

Draw ``j`` inverts the prefix sums of ``q`` with the earlier drafts zeroed (one uniform
each), as in the core. Proof: ``proofs/rrsw.md``. Shapes and checks:
:mod:`specsample.gpu._api`.
"""

from __future__ import annotations

import torch

from specsample import rrsw as core
from specsample.scheme import Verdict

from . import _api, _chain, _sampling

NAME = core.NAME
MAX_K = core.MAX_K


def min_support(k: int) -> int:
    """Tokens with ``q > 0`` that drafting ``k`` distinct tokens needs."""
    return k


def repeats_a_token(q: torch.Tensor, drafts: torch.Tensor) -> torch.Tensor:
    """Rows (N,) whose draft tuple repeats a token (outside the without-replacement law)."""
    ordered = torch.sort(drafts, dim=1).values
    return (ordered[:, 1:] == ordered[:, :-1]).any(dim=1)


def draft(q: torch.Tensor, k: int, *, generator: torch.Generator | None = None,
          uniforms=None, validate: bool = True) -> torch.Tensor:
    """``k`` ordered draws without replacement from each row of ``q`` (N, V): (N, k)."""
    call = _api.prepare_draft(q, k, generator, uniforms, validate, core=core, min_support=min_support)
    rows = torch.arange(call.q.shape[0], device=call.q.device)
    weights = call.q.clone()
    out = torch.empty(call.u.shape, dtype=torch.int64, device=call.q.device)
    for j in range(call.k):
        out[:, j] = _sampling.invert(weights, call.u[:, j])
        weights[rows, out[:, j]] = 0.0
    return out


def verify(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor, *,
           generator: torch.Generator | None = None, uniforms=None, validate: bool = True) -> Verdict:
    """Recursive rejection sampling without replacement of distinct drafts (N, k).

    Uniforms (N, k + 1). Returns a :class:`~specsample.scheme.Verdict` of int64 tensors (N,).
    """
    call = _api.prepare_verify(
        p, q, drafts, generator, uniforms, validate, core=core, tuple_rule=repeats_a_token
    )
    return Verdict(*_chain.chain_verify(call, without_replacement=True))
