"""Torch form of the recursive-rejection chain shared by single, RRS and RRSw.

Same mathematics and arithmetic as :mod:`specsample._chain` (read its docstring for the
derivation): every residual is ``(p_hat - c_j q_hat)+ / M_j`` for one scalar ``c_j`` per
row, so the test of draft ``j`` is O(1) per row and each rejection costs one pass over the
vocabulary. Here all rows advance together, one draft position at a time; a row that has
already decided keeps its answer (``open_`` masks it out).

Floating-point order, as in the core's kernel: ``p_hat = p * (1 / sp)``, ``q_hat = q *
(1 / sq)``; the residual mass ``M_{j+1}`` is the lane sum of ``(p_hat - c q_hat)+``; RRSw's
allowed proposal mass is ``1 - (running sum of q_hat at the drafted tokens)`` unless that is
below :data:`specsample._chain.ALLOWED_RESUM`, then the lane sum of ``q_hat`` over the
undrafted tokens; the residual draw inverts the sequential prefix sums at ``u * M``.
Rounding guard as in the core: a rejection that leaves a zero residual by rounding draws the
output from the target itself at the residual uniform (:func:`_sampling.invert` of ``p_hat``,
its sequential total). Proofs: ``proofs/single.md``, ``proofs/rrs.md``, ``proofs/rrsw.md``.
"""

from __future__ import annotations

import torch

from specsample._chain import ALLOWED_RESUM

from . import _sampling
from ._api import VerifyCall


def chain_verify(call: VerifyCall, *, without_replacement: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Verify ``call.drafts`` (N, k) in order; return ``(token, index)``, int64 (N,) each."""
    p_hat, q_hat, x, u = call.p_hat, call.q_hat, call.drafts, call.u  # (N, V), (N, V), (N, k), (N, k+1)
    rows, k = x.shape
    row = torch.arange(rows, device=x.device)
    dtype, device = p_hat.dtype, p_hat.device
    c = torch.zeros(rows, dtype=dtype, device=device)  # residual r_j = (p_hat - c q_hat)+ / mass
    mass = torch.ones(rows, dtype=dtype, device=device)
    allowed = torch.ones(rows, dtype=dtype, device=device)  # q-mass the proposal still allows
    drafted = torch.zeros(rows, dtype=dtype, device=device)  # q-mass of the drafts tested so far
    token = torch.full((rows,), -1, dtype=torch.int64, device=device)
    index = torch.full((rows,), -1, dtype=torch.int64, device=device)
    open_ = torch.ones(rows, dtype=torch.bool, device=device)
    keep = torch.ones(q_hat.shape, dtype=torch.bool, device=device) if without_replacement else None
    residual = p_hat
    for j in range(k):
        t = x[:, j]
        q_t = q_hat[row, t]
        r_t = torch.clamp(p_hat[row, t] - c * q_t, min=0.0) / mass
        s_t = q_t / allowed
        accept = open_ & (u[:, j] < r_t / s_t)
        token = torch.where(accept, t, token)
        index = torch.where(accept, j, index)
        open_ = open_ & ~accept
        c = c + mass / allowed
        residual = torch.clamp(p_hat - c[:, None] * q_hat, min=0.0)  # (N, V)
        new_mass = _sampling.lane_sums(residual)
        guard = open_ & ~(new_mass > 0.0)  # rounding guard (module docstring)
        token = _sampling.where_needed(guard, token, lambda: _sampling.invert(p_hat, u[:, k]))
        open_ = open_ & ~guard
        mass = new_mass
        if without_replacement and j + 1 < k:
            keep[row, t] = False
            drafted = drafted + q_t
            allowed = 1.0 - drafted
            # where 1 - drafted has lost its precision, the undrafted mass summed afresh
            allowed = _sampling.where_needed(
                open_ & ~(allowed >= ALLOWED_RESUM), allowed,
                lambda: _sampling.lane_sums(torch.where(keep, q_hat, 0.0)),
            )
    drawn = _sampling.invert(residual, u[:, k], mass)  # the core's threshold: u * mass
    token = torch.where(open_, drawn, token)
    return token, index
