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
:data:`specsample.kseq.RHO_RTOL`, with the same floating-point steps, solving ``g <= 0``
through the deficit ``m = 1 - beta = sum (q - p/rho)+`` (no cancellation at ``p = q``). All rows bisect
together; a row stops exactly where the core's loop would stop and is frozen from then on.
The number of rounds is bounded in advance (:func:`_rounds`). Before bisecting, the tokens
whose ratio ``p/q`` lies strictly inside (1, k) (the only ones whose term depends on
``rho``) are gathered into a (N, m) buffer in token order; sizing it costs one
synchronisation per call. As in the core, each step settles the band tokens it has decided,
and the buffer is compacted whenever that halves its width (:func:`rho_star`): one
synchronisation per round, which on a GPU at N = 4096, V = 151936 costs far less than the
passes over a buffer that never shrinks. A residual that rounding leaves empty draws the
output from the target itself (the core's guard).
Every sum is in the core's order (:mod:`specsample.gpu._sampling`). Proof:
``proofs/kseq.md``.
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
    if call.shared:  # one target and one draft for every row: one rho*, as the core's cache
        rho, deficit = (v.expand(rows) for v in rho_star(p_hat[:1], q_hat[:1], k))
    else:
        rho, deficit = rho_star(p_hat, q_hat, k)

    # The core decides most tests without rho (u < p/(k q) accepts, u >= p/q rejects); rho
    # lies in [1, k], so testing u < p / (rho q) directly gives the same outcome.
    token = torch.full((rows,), -1, dtype=torch.int64, device=x.device)
    index = torch.full((rows,), -1, dtype=torch.int64, device=x.device)
    open_ = torch.ones(rows, dtype=torch.bool, device=x.device)
    for j in range(k):
        t = x[:, j]
        accept = open_ & (u[:, j] < p_hat[row, t] / (rho * q_hat[row, t]))
        token = torch.where(accept, t, token)
        index = torch.where(accept, j, index)
        open_ = open_ & ~accept

    scale = _scale(deficit, k)
    irho = _sampling.reciprocal(rho)
    low = torch.minimum(q_hat, p_hat * irho[:, None])  # min(q, p / rho)
    residual = torch.clamp(p_hat - low * scale[:, None], min=0.0)  # (N, V)
    total = _sampling.lane_sums(residual)
    guard = open_ & ~(total > 0.0)  # rounding guard: draw from the target itself
    drawn = _sampling.invert(residual, u[:, k], total)  # the core's threshold: u * total
    drawn = _sampling.where_needed(guard, drawn, lambda: _sampling.invert(p_hat, u[:, k]))
    token = torch.where(open_, drawn, token)
    return Verdict(token, index)


def _scale(deficit: torch.Tensor, k: int) -> torch.Tensor:
    """``(1 - (1 - beta)^k) / beta`` as the geometric sum ``1 + m + ... + m^(k-1)`` of the
    deficit ``m = 1 - beta``, as the core's ``_scale`` forms it."""
    scale = torch.zeros_like(deficit)
    term = torch.ones_like(deficit)
    for _ in range(k):
        scale = scale + term
        term = term * deficit
    return scale


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


def _to_front(keep: torch.Tensor, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Move the kept entries of each row to its front, in order: for ``keep`` (N, W) and
    each of ``values`` (N, W), a (N, m) tensor (``m`` the most entries any row keeps; a row
    with fewer is padded with zeros), then the (N, m) mask of the entries that were kept.
    Sizing the result costs one host synchronisation."""
    count = keep.sum(dim=1, keepdim=True)  # (N, 1)
    width = int(count.max().item()) if keep.numel() else 0
    slot = torch.where(keep, torch.cumsum(keep.to(torch.int64), dim=1) - 1, width)  # spare column
    out = []
    for v in values:
        front = v.new_zeros(v.shape[0], width + 1)
        front.scatter_(1, slot, torch.where(keep, v, 0.0))
        out.append(front[:, :width])
    kept = torch.arange(width, device=keep.device)[None, :] < count  # (N, m)
    return (*out, kept)


def _deficit_g(rho, k, low_gap, low_p, fold_q, fold_p, bp, bq, alive):
    """The deficit m(rho) = sum (q - p/rho)+ and g(rho) = (1 - rho) + rho m - m^k per row,
    the band tokens still ``alive`` in (N, m) buffers, as the core's ``_deficit_g``."""
    inside = alive & (bp < rho[:, None] * bq)  # (N, m)
    band = _sampling.sequential_sums(torch.where(inside, bq - bp / rho[:, None], 0.0))
    deficit = ((low_gap + ((rho - 1.0) / rho) * low_p) + (fold_q - fold_p / rho)) + band
    power = torch.ones_like(deficit)
    for _ in range(k):
        power = power * deficit
    return deficit, ((1.0 - rho) + rho * deficit) - power


def rho_star(p_hat: torch.Tensor, q_hat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rho, m(rho))`` per row for normalised ``p_hat``, ``q_hat`` (N, V): two (N,) tensors,
    ``m = 1 - beta`` the deficit.

    The arithmetic of the core's ``_rho_star`` (and its twin ``_rho_star_numpy``; read their
    comment block): ``low_gap``, ``low_p`` are lane sums over the low tokens (``p <= q``) of
    ``q - p`` and of ``p``; the band (``q < p < k q``) is a buffer in token order whose
    ``rho``-dependent sum is sequential over the tokens still ``alive``. After the step at
    ``mid``, the band tokens the step decided leave the buffer: if ``g(mid) <= 0`` those with
    ``p >= mid q`` (they contribute 0 from then on), else those with ``p < mid q``, whose
    sequential sums of ``q`` and ``p`` go into ``fold_q``, ``fold_p``. The deficit returned is
    the one computed when ``hi`` was last set, or ``m(hi)`` at the end if it is negative
    there (hi never moved).

    All rows bisect together; a row stops where the core's loop stops and is frozen from
    then on, for at most :func:`_rounds` rounds. Settled tokens are masked out of the
    buffer, and the buffer is compacted (alive tokens moved to the front, in order) whenever
    that halves its width; the loop ends once every row has stopped. Dropping zeros and idle
    rounds changes no value. Each round reads two values back to the host (whether every
    row stopped, the widest row): on a GPU that is a synchronisation per round, not per
    row, and it pays for itself many times over at large N (``benchmarks/gpu_verify.py``:
    without it every round re-read a buffer as wide as the first).
    """
    dtype, device = p_hat.dtype, p_hat.device
    rows = p_hat.shape[0]
    low = p_hat <= q_hat
    band = ~low & (p_hat < k * q_hat)
    low_gap = _sampling.lane_sums(torch.where(low, q_hat - p_hat, 0.0))
    low_p = _sampling.lane_sums(torch.where(low, p_hat, 0.0))
    bp, bq, alive = _to_front(band, p_hat, q_hat)  # (N, m) each, band tokens in token order
    fold_q = torch.zeros(rows, dtype=dtype, device=device)
    fold_p = torch.zeros(rows, dtype=dtype, device=device)

    one = torch.ones(rows, dtype=dtype, device=device)
    deficit_one, g_one = _deficit_g(one, k, low_gap, low_p, fold_q, fold_p, bp, bq, alive)
    at_one = g_one <= 0.0
    lo = one.clone()
    hi = torch.full((rows,), float(k), dtype=dtype, device=device)
    deficit_hi = torch.full((rows,), -1.0, dtype=dtype, device=device)  # < 0: hi never moved
    stopped = at_one.clone()
    for _ in range(_rounds(k)):
        stopped = stopped | (hi - lo <= core.RHO_RTOL * hi)
        mid = 0.5 * (lo + hi)
        stopped = stopped | (mid <= lo) | (mid >= hi)
        if bool(stopped.all()):
            break
        deficit, g = _deficit_g(mid, k, low_gap, low_p, fold_q, fold_p, bp, bq, alive)
        move = ~stopped
        down = move & (g <= 0.0)  # rho* <= mid: hi comes down to mid
        rise = move & ~(g <= 0.0)
        below = alive & (bp < mid[:, None] * bq)  # (N, m)
        settle_up = down[:, None] & alive & ~below  # contribute 0 for every rho <= mid
        settle_low = rise[:, None] & below  # contribute q - p/rho for every rho >= mid
        hi = torch.where(down, mid, hi)
        deficit_hi = torch.where(down, deficit, deficit_hi)
        lo = torch.where(rise, mid, lo)
        fold_q = torch.where(rise, fold_q + _sampling.sequential_sums(torch.where(settle_low, bq, 0.0)), fold_q)
        fold_p = torch.where(rise, fold_p + _sampling.sequential_sums(torch.where(settle_low, bp, 0.0)), fold_p)
        alive = alive & ~(settle_up | settle_low)
        if alive.shape[1] > 0:
            widest = int(alive.sum(dim=1).max())
            if 2 * widest <= alive.shape[1]:
                bp, bq, alive = _to_front(alive, bp, bq)
    deficit_end, _ = _deficit_g(hi, k, low_gap, low_p, fold_q, fold_p, bp, bq, alive)
    deficit_hi = torch.where(deficit_hi < 0.0, deficit_end, deficit_hi)
    rho = torch.where(at_one, one, hi)
    deficit = torch.where(at_one, deficit_one, deficit_hi)
    return rho, deficit
