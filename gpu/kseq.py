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
token order; sizing it costs one synchronisation per call. As in the core, each step folds
the band tokens it has decided into the fixed sums (:func:`rho_star`).
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
        rho, beta = (v.expand(rows) for v in rho_star(p_hat[:1], q_hat[:1], k))
    else:
        rho, beta = rho_star(p_hat, q_hat, k)

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

    miss = _power_of_miss(beta, k)
    scale = torch.where(beta > 0.0, (1.0 - miss) / beta, 0.0)
    irho = _sampling.reciprocal(rho)
    low = torch.minimum(q_hat, p_hat * irho[:, None])  # min(q, p / rho)
    residual = torch.clamp(p_hat - low * scale[:, None], min=0.0)  # (N, V)
    total = _sampling.lane_sums(residual)
    guard = open_ & ~(total > 0.0)  # rounding guard: return the last draft
    drawn = _sampling.invert(residual, u[:, k], total)  # the core's threshold: u * total
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


def _beta_g(rho, k, fixed_q, fixed_p, bp, bq, alive):
    """beta(rho) and g(rho) per row, the band tokens with ``p >= rho q`` (N, m), and the
    sequential sums ``above`` (of ``q`` over them) and ``below`` (of ``p`` over the others)."""
    up = alive & (bp >= rho[:, None] * bq)  # (N, m)
    above = _sampling.sequential_sums(torch.where(up, bq, 0.0))
    below = _sampling.sequential_sums(torch.where(alive & ~up, bp, 0.0))
    beta = (fixed_q + above) + (fixed_p + below) / rho
    return beta, (1.0 - _power_of_miss(beta, k)) - rho * beta, up, above, below


def rho_star(p_hat: torch.Tensor, q_hat: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(rho, beta(rho))`` per row for normalised ``p_hat``, ``q_hat`` (N, V): two (N,) tensors.

    The arithmetic of the core's ``_rho_star`` (and its twin ``_rho_star_numpy``):
    ``fixed_p``, ``fixed_q`` are lane sums of ``p_hat`` over the low tokens (``p <= q``) and
    of ``q_hat`` over the high ones (``p >= k q``); the band (``1 < p/q < k``) is a buffer
    in token order whose ``rho``-dependent sums are sequential over the tokens still
    ``alive``. After the step at ``mid``, the band tokens on the side the step decided
    (``p >= mid q`` if ``g(mid) <= 0``, else ``p < mid q``) are folded into ``fixed_q``
    (resp. ``fixed_p``) and leave the buffer; their sequential sum is the ``above`` (resp.
    ``below``) sum that ``beta(mid)`` just formed. ``beta`` is the one computed when ``hi``
    was last set, or ``beta(hi)`` at the end if ``hi`` never moved.

    All rows bisect together; a row stops where the core's loop stops and is frozen from
    then on. The number of rounds is bounded in advance (:func:`_rounds`), so on an
    accelerator the loop has no host synchronisation: folded tokens are masked out of the
    buffer. On CPU, where reading a value back costs nothing, the buffer is also compacted
    (alive tokens moved to the front, in order) whenever that halves its width, and the
    loop ends once every row has stopped; dropping zeros and idle rounds changes no value.
    """
    dtype, device = p_hat.dtype, p_hat.device
    on_cpu = device.type == "cpu"
    rows = p_hat.shape[0]
    low = p_hat <= q_hat  # min(q, p/rho) = p/rho for every rho >= 1
    high = ~low & (p_hat >= k * q_hat)  # min(q, p/rho) = q for every rho <= k
    band = ~low & ~high
    fixed_p = _sampling.lane_sums(torch.where(low, p_hat, 0.0))
    fixed_q = _sampling.lane_sums(torch.where(high, q_hat, 0.0))
    bp, bq, alive = _to_front(band, p_hat, q_hat)  # (N, m) each, band tokens in token order

    one = torch.ones(rows, dtype=dtype, device=device)
    beta_one, g_one, *_ = _beta_g(one, k, fixed_q, fixed_p, bp, bq, alive)
    at_one = g_one <= 0.0
    lo = one.clone()
    hi = torch.full((rows,), float(k), dtype=dtype, device=device)
    beta_hi = torch.full((rows,), -1.0, dtype=dtype, device=device)  # -1: hi never moved
    stopped = at_one.clone()
    for _ in range(_rounds(k)):
        stopped = stopped | (hi - lo <= core.RHO_RTOL * hi)
        mid = 0.5 * (lo + hi)
        stopped = stopped | (mid <= lo) | (mid >= hi)
        if on_cpu and bool(stopped.all()):
            break
        beta, g, up, above, below = _beta_g(mid, k, fixed_q, fixed_p, bp, bq, alive)
        move = ~stopped
        down = move & (g <= 0.0)  # rho* <= mid: hi comes down to mid
        rise = move & ~(g <= 0.0)
        hi = torch.where(down, mid, hi)
        beta_hi = torch.where(down, beta, beta_hi)
        lo = torch.where(rise, mid, lo)
        fixed_q = torch.where(down, fixed_q + above, fixed_q)
        fixed_p = torch.where(rise, fixed_p + below, fixed_p)
        fold = (down[:, None] & up) | (rise[:, None] & alive & ~up)  # (N, m): decided for good
        alive = alive & ~fold
        if on_cpu and alive.shape[1] > 0:
            widest = int(alive.sum(dim=1).max())
            if 2 * widest <= alive.shape[1]:
                bp, bq, alive = _to_front(alive, bp, bq)
    beta_end, *_ = _beta_g(hi, k, fixed_q, fixed_p, bp, bq, alive)
    beta_hi = torch.where(beta_hi < 0.0, beta_end, beta_hi)
    rho = torch.where(at_one, one, hi)
    beta = torch.where(at_one, beta_one, beta_hi)
    return rho, beta
