"""Torch K-SEQ (SpecTr): k i.i.d. drafts, each accepted with a deflated ratio; same law and
uniforms as :mod:`specsample.kseq`.

Sun, Suresh, Ro, Beirami, Jain & Yu, NeurIPS 2023, arXiv 2310.15141.

.. math::

    \\beta(\\rho) = \\sum_x \\min\\bigl(q(x), p(x)/\\rho\\bigr), \\qquad
    g(\\rho) = 1 - (1 - \\beta(\\rho))^k - \\rho\\,\\beta(\\rho),

``rho*`` the smallest root of ``g`` in [1, k] (1 when ``g(1) <= 0``). Draft ``x_i`` is
accepted with probability ``min(1, p(x_i) / (rho q(x_i)))`` in order; when all are
rejected the output is drawn from
``p_res(x) ∝ p(x) - min(q(x), p(x)/rho) (1 - (1 - beta)^k) / beta``.

``rho`` is the core's: the upper end of a bisection on [1, k] stopped at relative width
:data:`specsample.kseq.RHO_RTOL`, with the same floating-point steps. All rows bisect
together; a row stops exactly where the core's loop would stop and is frozen from then on.
The number of rounds is bounded in advance (:func:`_rounds`), so the loop needs no
synchronisation. Before bisecting, the tokens whose ratio ``p/q`` lies strictly inside
(1, k) (the only ones whose term depends on ``rho``) are gathered into a (N, m) buffer in
token order; sizing it costs one synchronisation per call. Proof: ``proofs/kseq.md``.
"""

from __future__ import annotations

import math

import torch

from specsample import kseq as core
from specsample.scheme import Verdict

from . import _api, _sampling

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
    """K-SEQ verification of i.i.d. drafts (N, k); uniforms (N, k + 1).

    Returns a :class:`~specsample.scheme.Verdict` of int64 tensors (N,).
    """
    call = _api.prepare_verify(p, q, drafts, generator, uniforms, validate, core=core)
    p_hat, q_hat, x, u = call.p_hat, call.q_hat, call.drafts, call.u  # (N, V) (N, V) (N, k) (N, k+1)
    rows, k = x.shape
    row = torch.arange(rows, device=x.device)
    rho, beta = rho_star(p_hat, q_hat, k)

    token = torch.full((rows,), -1, dtype=torch.int64, device=x.device)
    index = torch.full((rows,), -1, dtype=torch.int64, device=x.device)
    open_ = torch.ones(rows, dtype=torch.bool, device=x.device)
    for j in range(k):
        t = x[:, j]
        accept = open_ & (u[:, j] < p_hat[row, t] / (rho * q_hat[row, t]))
        token = torch.where(accept, t, token)
        index = torch.where(accept, j, index)
        open_ = open_ & ~accept

    miss = _power_of_miss(beta, k)
    scale = torch.where(beta > 0.0, (1.0 - miss) / beta, 0.0)
    low = torch.minimum(q_hat, p_hat / rho[:, None])
    residual = torch.clamp(p_hat - low * scale[:, None], min=0.0)  # (N, V)
    total = _sampling.row_sums(residual)
    guard = open_ & ~(total > 0.0)  # rounding guard: return the last draft
    drawn = _sampling.invert(residual, u[:, k])
    token = torch.where(open_, torch.where(guard, x[:, k - 1], drawn), token)
    index = torch.where(open_, torch.where(guard, k - 1, -1), index)
    return Verdict(token, index)


def _power_of_miss(beta: torch.Tensor, k: int) -> torch.Tensor:
    """``(1 - beta)^k`` by k multiplications, as the core forms it."""
    miss = torch.ones_like(beta)
    for _ in range(k):
        miss = miss * (1.0 - beta)
    return miss


def _rounds(k: int) -> int:
    """Bisection rounds after which every row has met the core's stopping rule.

    Each round halves ``hi - lo`` up to one rounding of the midpoint (at most
    ``2**-53 * k``), and the rule ``hi - lo <= RHO_RTOL * hi`` holds once the width is at
    most ``RHO_RTOL`` (``hi >= 1``). Starting from ``k - 1``, ``width_n <= (k - 1) 2**-n +
    2**-52 k``; the returned ``n`` makes that at most ``RHO_RTOL``, plus one round of margin.
    Never more than the core's cap of 200 rounds (reached only for huge ``k``).
    """
    slack = core.RHO_RTOL - 2.0**-52 * k
    if k <= 1:
        return 0
    if slack <= 0.0:
        return core._MAX_BISECTIONS
    return min(core._MAX_BISECTIONS, math.ceil(math.log2((k - 1) / slack)) + 1)


def rho_star(p_hat: torch.Tensor, q_hat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rho, beta(rho))`` per row for normalised ``p_hat``, ``q_hat`` (N, V): two (N,) tensors.

    Same arithmetic as the core's ``_rho_star``: sums over the tokens of each class taken in
    token order (zeros for the other tokens add exactly), the bisection's steps, its
    stopping rule and its final re-evaluation at ``hi``.
    """
    dtype, device = p_hat.dtype, p_hat.device
    rows = p_hat.shape[0]
    low = p_hat <= q_hat  # min(q, p/rho) = p/rho for every rho >= 1
    high = ~low & (p_hat >= k * q_hat)  # min(q, p/rho) = q for every rho <= k
    band = ~low & ~high
    fixed_p = _sampling.row_sums(torch.where(low, p_hat, 0.0))
    fixed_q = _sampling.row_sums(torch.where(high, q_hat, 0.0))
    # Gather the band tokens in token order into (N, m); padding is p = q = 0, which adds 0.
    width = int(band.sum(dim=1).max().item()) if band.numel() else 0  # the one sync
    order = torch.sort(band.to(torch.int8), dim=1, descending=True, stable=True).indices[:, :width]
    inside = torch.gather(band, 1, order)
    bp = torch.where(inside, torch.gather(p_hat, 1, order), 0.0)  # (N, m)
    bq = torch.where(inside, torch.gather(q_hat, 1, order), 0.0)

    def beta_g(rho: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        up = bp >= rho[:, None] * bq
        if width:
            above = _sampling.row_sums(torch.where(up, bq, 0.0))
            below = _sampling.row_sums(torch.where(up, 0.0, bp))
        else:
            above = below = torch.zeros(rows, dtype=dtype, device=device)
        beta = (fixed_q + above) + (fixed_p + below) / rho
        return beta, (1.0 - _power_of_miss(beta, k)) - rho * beta

    one = torch.ones(rows, dtype=dtype, device=device)
    beta_one, g_one = beta_g(one)
    at_one = g_one <= 0.0
    lo = one.clone()
    hi = torch.full((rows,), float(k), dtype=dtype, device=device)
    stopped = at_one.clone()
    for _ in range(_rounds(k)):
        stopped = stopped | (hi - lo <= core.RHO_RTOL * hi)
        mid = 0.5 * (lo + hi)
        stopped = stopped | (mid <= lo) | (mid >= hi)
        _, g = beta_g(mid)
        move = ~stopped
        hi = torch.where(move & (g <= 0.0), mid, hi)
        lo = torch.where(move & ~(g <= 0.0), mid, lo)
    beta_hi, _ = beta_g(hi)
    rho = torch.where(at_one, one, hi)
    beta = torch.where(at_one, beta_one, beta_hi)
    return rho, beta
