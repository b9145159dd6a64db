"""K-SEQ (SpecTr): k i.i.d. drafts, each accepted with a deflated ratio.

Sun, Suresh, Ro, Beirami, Jain & Yu, NeurIPS 2023, arXiv 2310.15141.

.. math::

    \\beta(\\rho) = \\sum_x \\min\\bigl(q(x), p(x)/\\rho\\bigr), \\qquad
    g(\\rho) = 1 - (1 - \\beta(\\rho))^k - \\rho\\,\\beta(\\rho).

``g`` is non-increasing on [1, k] with ``g(k) <= 0``; ``rho*`` is its smallest root (1 when
``g(1) <= 0``). The verifier accepts ``x_i`` with probability ``min(1, p(x_i) / (rho q(x_i)))``
in order, and when all are rejected samples

.. math::

    p_{\\mathrm{res}}(x) \\propto p(x) - \\min\\bigl(q(x), p(x)/\\rho\\bigr)
        \\frac{1 - (1 - \\beta)^k}{\\beta}.

Every ``rho`` with ``g(rho) <= 0`` gives an exact verifier (the residual is non-negative);
``rho*`` gives the largest acceptance ``1 - (1 - beta(rho*))^k``, at least ``(1 - 1/e)``
times the i.i.d. optimum. ``rho*`` is irrational in general, so both paths take the upper
end of a bisection: the float kernels stop at relative width :data:`RHO_RTOL`, the exact
path at a dyadic ``rho`` within :data:`EXACT_RHO_WIDTH` above ``rho*``, on the feasible side
(``g(rho) <= 0`` exactly), so its output law is exactly ``p``.

Above ``rho*`` a rejected draft keeps a little residual mass, so ``acceptance_rate`` (the
probability that the output is one of the drafts) adds the chance that the residual sample
equals a rejected draft; at ``rho*`` itself that term is zero. Proof: ``proofs/kseq.md``.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numba
import numpy as np

from specsample import _api, _laws, _sampling
from specsample.scheme import Verdict

NAME = "kseq"
MAX_K: int | None = None

#: Float bisection for rho* stops when ``hi - lo <= RHO_RTOL * hi``.
RHO_RTOL = 1e-12
#: Exact-path bisection stops when ``hi - lo <= EXACT_RHO_WIDTH`` (dyadic endpoints).
EXACT_RHO_WIDTH = Fraction(1, 2**40)
_MAX_BISECTIONS = 200


def _min_support(k: int) -> int:
    return 1


# ---------------------------------------------------------------- rho* in float64
# beta(rho) splits the tokens in three: p <= q contributes p/rho for every rho in [1, k]
# ("low"), p >= k q contributes q ("high"), and the band 1 < p/q < k depends on rho. The
# bisection keeps the band in a buffer and, after each step, folds into the fixed sums the
# band tokens the step has decided for the rest of the search, so the buffer shrinks.
_LOW, _HIGH = 0, 1


@numba.njit(cache=True)
def _fixed_sum(p, q, ip, iq, k, which):
    """Lane sum of p_hat over the low tokens (which=0) or q_hat over the high ones (1)."""
    vocab = p.shape[0]
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    acc = np.zeros(lanes)
    for b in range(0, body, lanes):
        for lane in range(lanes):
            i = b + lane
            pi = p[i] * ip
            qi = q[i] * iq
            if which == _LOW:
                acc[lane] += pi if pi <= qi else 0.0
            else:
                acc[lane] += qi if (pi > qi and pi >= k * qi) else 0.0
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        pi = p[i] * ip
        qi = q[i] * iq
        if which == _LOW:
            t += pi if pi <= qi else 0.0
        else:
            t += qi if (pi > qi and pi >= k * qi) else 0.0
    return t


@numba.njit(cache=True)
def _band_beta_g(rho, k, fixed_q, fixed_p, bp, bq, m):
    """beta(rho) and g(rho) = 1 - (1 - beta)^k - rho beta, band in bp[:m], bq[:m]."""
    above = 0.0
    below = 0.0
    for j in range(m):
        if bp[j] >= rho * bq[j]:
            above += bq[j]
        else:
            below += bp[j]
    beta = (fixed_q + above) + (fixed_p + below) / rho
    miss = 1.0
    for _ in range(k):
        miss *= 1.0 - beta
    return beta, (1.0 - miss) - rho * beta


@numba.njit(cache=True)
def _rho_star(p, q, sp, sq, k, bp, bq):
    """Return (rho, beta(rho)) for one row; ``bp``, ``bq`` are work buffers of length V."""
    ip = 1.0 / sp
    iq = 1.0 / sq
    fixed_p = _fixed_sum(p, q, ip, iq, k, _LOW)
    fixed_q = _fixed_sum(p, q, ip, iq, k, _HIGH)
    m = 0
    for i in range(p.shape[0]):
        pi = p[i] * ip
        qi = q[i] * iq
        if pi > qi and pi < k * qi:
            bp[m] = pi
            bq[m] = qi
            m += 1
    beta, g = _band_beta_g(1.0, k, fixed_q, fixed_p, bp, bq, m)
    if g <= 0.0:
        return 1.0, beta
    lo = 1.0
    hi = float(k)
    beta_hi = -1.0
    for _ in range(_MAX_BISECTIONS):
        if hi - lo <= RHO_RTOL * hi:
            break
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        beta, g = _band_beta_g(mid, k, fixed_q, fixed_p, bp, bq, m)
        up = g <= 0.0  # rho* <= mid: band tokens with p >= mid q contribute q from now on
        folded = 0.0
        kept = 0
        for j in range(m):
            if (bp[j] >= mid * bq[j]) == up:
                folded += bq[j] if up else bp[j]
            else:
                bp[kept] = bp[j]
                bq[kept] = bq[j]
                kept += 1
        m = kept
        if up:
            hi = mid
            beta_hi = beta
            fixed_q += folded
        else:
            lo = mid
            fixed_p += folded
    if beta_hi < 0.0:
        beta_hi, g = _band_beta_g(hi, k, fixed_q, fixed_p, bp, bq, m)
    return hi, beta_hi


def _rho_star_numpy(p, q, sp, sq, k) -> tuple[float, float]:
    """Numpy twin of :func:`_rho_star` (same arithmetic, same order)."""
    ip = 1.0 / sp
    iq = 1.0 / sq
    p_hat = p * ip
    q_hat = q * iq
    low = p_hat <= q_hat
    high = ~low & (p_hat >= k * q_hat)
    fixed_p = _sampling.lane_sum(np.where(low, p_hat, 0.0))
    fixed_q = _sampling.lane_sum(np.where(high, q_hat, 0.0))
    band = ~low & ~high
    bp, bq = p_hat[band], q_hat[band]

    def seq_sum(v):
        return float(np.cumsum(v)[-1]) if v.size else 0.0

    def beta_g(rho):
        up = bp >= rho * bq
        beta = (fixed_q + seq_sum(np.where(up, bq, 0.0))) + (fixed_p + seq_sum(np.where(up, 0.0, bp))) / rho
        miss = 1.0
        for _ in range(k):
            miss *= 1.0 - beta
        return beta, (1.0 - miss) - rho * beta

    beta, g = beta_g(1.0)
    if g <= 0.0:
        return 1.0, beta
    lo, hi, beta_hi = 1.0, float(k), -1.0
    for _ in range(_MAX_BISECTIONS):
        if hi - lo <= RHO_RTOL * hi:
            break
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        beta, g = beta_g(mid)
        up = g <= 0.0
        fold = (bp >= mid * bq) == up
        folded = seq_sum(bq[fold] if up else bp[fold])
        bp, bq = bp[~fold], bq[~fold]
        if up:
            hi, beta_hi, fixed_q = mid, beta, fixed_q + folded
        else:
            lo, fixed_p = mid, fixed_p + folded
    if beta_hi < 0.0:
        beta_hi, g = beta_g(hi)
    return hi, beta_hi


# ---------------------------------------------------------------- verifying
@numba.njit(cache=True)
def _residual_total(p, q, ip, iq, irho, scale):
    """Lane sum of the unnormalised residual (p - min(q, p/rho) * scale)+."""
    vocab = p.shape[0]
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    acc = np.zeros(lanes)
    for b in range(0, body, lanes):
        for lane in range(lanes):
            i = b + lane
            pi = p[i] * ip
            acc[lane] += max(pi - min(q[i] * iq, pi * irho) * scale, 0.0)
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        pi = p[i] * ip
        t += max(pi - min(q[i] * iq, pi * irho) * scale, 0.0)
    return t


@numba.njit(cache=True)
def _verify_row(p, q, sp, sq, x, u, bp, bq, known):
    """Verify one tuple. ``known`` holds (rho, beta) once computed for this (p, q) row pair
    (rho = 0 means not yet): rows that share p and q share rho*, computed at most once."""
    k = x.shape[0]
    vocab = p.shape[0]
    ip = 1.0 / sp
    iq = 1.0 / sq
    for j in range(k):
        t = x[j]
        pj = p[t] * ip
        qj = q[t] * iq
        # rho lies in [1, k]: these two tests decide without it (same outcome as with it).
        if u[j] < pj / (k * qj):
            return t, j
        if u[j] >= pj / qj:
            continue
        if known[0] == 0.0:
            known[0], known[1] = _rho_star(p, q, sp, sq, k, bp, bq)
        if u[j] < pj / (known[0] * qj):
            return t, j
    if known[0] == 0.0:
        known[0], known[1] = _rho_star(p, q, sp, sq, k, bp, bq)
    rho = known[0]
    beta = known[1]
    scale = 0.0
    if beta > 0.0:
        miss = 1.0
        for _ in range(k):
            miss *= 1.0 - beta
        scale = (1.0 - miss) / beta
    irho = 1.0 / rho
    total = _residual_total(p, q, ip, iq, irho, scale)
    if not total > 0.0:
        return x[k - 1], k - 1  # rounding guard
    target = u[k] * total
    cum = 0.0
    last = -1
    for i in range(vocab):
        pi = p[i] * ip
        v = max(pi - min(q[i] * iq, pi * irho) * scale, 0.0)
        if v > 0.0:
            cum += v
            last = i
            if cum > target:
                return i, -1
    return last, -1


@numba.njit(cache=True)
def _verify_rows(p, q, sp, sq, drafts, u):
    n = drafts.shape[0]
    tokens = np.empty(n, np.int64)
    index = np.empty(n, np.int64)
    bp = np.empty(p.shape[1])
    bq = np.empty(p.shape[1])
    shared = p.shape[0] == 1 and q.shape[0] == 1
    known = np.zeros(2)
    for b in range(n):
        rp = 0 if p.shape[0] == 1 else b
        rq = 0 if q.shape[0] == 1 else b
        if not shared:
            known[0] = 0.0
        tok, idx = _verify_row(p[rp], q[rq], sp[rp], sq[rq], drafts[b], u[b], bp, bq, known)
        tokens[b] = tok
        index[b] = idx
    return tokens, index


def _verify_row_numpy(p, q, sp, sq, x, u) -> tuple[int, int]:
    """One-row plain-numpy form of the kernel (same arithmetic, same order; rho* is computed
    only when a test or the residual needs it, as in the kernel)."""
    k = x.shape[0]
    ip = 1.0 / sp
    iq = 1.0 / sq
    p_hat = p * ip
    q_hat = q * iq
    rho = beta = None
    for j, t in enumerate(x):
        if u[j] < p_hat[t] / (k * q_hat[t]):
            return int(t), j
        if u[j] >= p_hat[t] / q_hat[t]:
            continue
        if rho is None:
            rho, beta = _rho_star_numpy(p, q, sp, sq, k)
        if u[j] < p_hat[t] / (rho * q_hat[t]):
            return int(t), j
    if rho is None:
        rho, beta = _rho_star_numpy(p, q, sp, sq, k)
    scale = 0.0
    if beta > 0.0:
        miss = 1.0
        for _ in range(k):
            miss *= 1.0 - beta
        scale = (1.0 - miss) / beta
    residual = np.maximum(p_hat - np.minimum(q_hat, p_hat * (1.0 / rho)) * scale, 0.0)
    total = _sampling.lane_sum(residual)
    if not total > 0.0:
        return int(x[-1]), k - 1
    cum = np.cumsum(residual)
    i = int(np.searchsorted(cum, u[k] * total, side="right"))
    if i == p.shape[0]:
        i = int(np.flatnonzero(residual > 0.0)[-1])
    return i, -1


def draft(q, k: int, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw ``k`` tokens i.i.d. from ``q``: shape (k,), or (n, k) for a batch.

    Randomness comes from ``rng`` (a ``numpy.random.Generator``) or from ``uniforms`` of
    shape (k,) / (n, k).
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.batched:
        return _sampling.draft_iid_rows(call.q, call.u)
    return _sampling.np_draft_iid(call.q[0], call.u[0])


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """K-SEQ verification of i.i.d. drafts.

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1) -- one per draft test, then the residual draw. ``rho*`` is
    computed only when a test cannot be decided without it (a few passes over the tokens
    whose ratio ``p/q`` lies in (1, k)).
    """
    call = _api.prepare_verify(p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K)
    if call.batched:
        tok, idx = _verify_rows(
            call.p, call.q, call.sp, call.sq, call.drafts, call.u
        )
    else:
        tok, idx = _verify_row_numpy(
            call.p[0], call.q[0], call.sp[0], call.sq[0], call.drafts[0],
            call.u[0],
        )
    return call.verdict(tok, idx)


# ---------------------------------------------------------------- exact laws
def _exact_rho(p, q, k: int) -> Fraction:
    """Dyadic rho >= rho* with g(rho) <= 0, within EXACT_RHO_WIDTH of rho* (Fractions)."""
    return _exact_rho_cached(tuple(p), tuple(q), k)


@functools.lru_cache(maxsize=4096)
def _exact_rho_cached(p: tuple, q: tuple, k: int) -> Fraction:
    # 40 bisection steps in Fractions cost milliseconds; proofs and tests ask for the same
    # (p, q, k) once per draft tuple, so the answer is cached (inputs are immutable tuples).
    p_arr = np.array(p, dtype=object)
    q_arr = np.array(q, dtype=object)

    def g(rho):
        beta = np.minimum(q_arr, p_arr / rho).sum()
        return 1 - (1 - beta) ** k - rho * beta

    lo, hi = Fraction(1), Fraction(k)
    if g(lo) <= 0:
        return lo
    while hi - lo > EXACT_RHO_WIDTH:
        mid = (lo + hi) / 2
        if g(mid) <= 0:
            hi = mid
        else:
            lo = mid
    return hi


def rho_star(p, q, k: int):
    """The ``rho`` this module's verifier uses (a dyadic Fraction on the exact path)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _rho(inputs, k)


def _rho(inputs: _api.LawInputs, k: int):
    if inputs.exact:
        return _exact_rho(inputs.p, inputs.q, k)
    return _rho_star_numpy(inputs.p, inputs.q, 1.0, 1.0, k)[0]


def _parts(inputs: _api.LawInputs, k: int):
    """rho, per-token accept probabilities, beta, and the unnormalised residual."""
    p, q, zero, one = inputs.p, inputs.q, inputs.zero, inputs.one
    rho = _rho(inputs, k)
    low = np.minimum(q, p / rho)
    beta = low.sum()
    accept = np.array([min(one, p[i] / (rho * q[i])) if q[i] > 0 else zero for i in range(p.shape[0])],
                      dtype=p.dtype)
    scale = (one - (one - beta) ** k) / beta if beta > 0 else zero
    residual = np.maximum(p - low * scale, zero)
    return rho, accept, beta, residual


def draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j)`` over ordered tuples of the support (Fractions in, out)."""
    inputs = _api.law_inputs(None, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.iid_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered draft tuple: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K)
    zero, one = inputs.zero, inputs.one
    _, accept, _, residual = _parts(inputs, d.shape[0])
    law = np.array([zero] * inputs.p.shape[0], dtype=inputs.p.dtype)
    reach = one
    for t in d:
        law[t] += reach * accept[t]
        reach = reach * (one - accept[t])
    if reach > 0:
        total = residual.sum()
        if total > 0:
            law = law + reach * (residual / total)
        else:
            law[d[-1]] += reach  # rounding guard, as in the kernel
    return _api.as_law_output(law, inputs)


def acceptance_rate(p, q, k: int):
    """P(output is one of the drafts): ``1 - (1 - beta)^k`` plus the chance that the
    residual sample equals a rejected draft (zero at ``rho*`` itself)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    one = inputs.one
    _, accept, beta, residual = _parts(inputs, k)
    miss = (one - beta) ** k
    rate = one - miss
    if miss > 0:
        # given all k rejected, the drafts are i.i.d. with law q (1 - accept) / (1 - beta)
        rejected = inputs.q * (one - accept) / (one - beta)
        hit = one - (one - rejected) ** k
        rate = rate + (residual * hit).sum()
    return inputs.scalar(rate)
