"""The recursive-rejection chain shared by single-draft sampling, RRS and RRSw.

Both recursive schemes test the drafts in order against a residual ``r`` of the target,
with a proposal ``s``::

    r = p; s = q
    for j in 1..k:
        accept x_j with probability min(1, r(x_j) / s(x_j))
        r = norm((r - s)+)
        s = q                                  (RRS: drafts i.i.d. from q)
        s = norm(q without x_1..x_j)           (RRSw: drafts without replacement)
    return a sample of r

Every residual has the form ``r_j = (p - c_j q)+ / M_j`` for one scalar ``c_j``: with
``D_j`` the q-mass of the tokens ``s_j`` still allows (1 for RRS),

.. math::

    c_0 = 0,\\; M_0 = 1,\\qquad c_{j+1} = c_j + M_j / D_j,\\qquad
    M_{j+1} = \\sum_y (p(y) - c_{j+1} q(y))_+ .

(A rejected ``x_j`` has ``r_j(x_j) < s_j(x_j)``, so every later residual is 0 there and the
removal of ``x_j`` from ``s`` never needs special treatment.) The accept test of draft
``j`` therefore costs O(1), and only a rejection costs a pass over the vocabulary (for
``M_{j+1}`` and, without replacement, ``D_{j+1}``): residual sums are computed lazily.

Rounding guard: a rejection moves probability onto the residual, whose mass in exact
arithmetic equals the rejection probability. If rounding leaves a zero residual after a
rejection, the rejected draft is returned as accepted (an event of probability zero in exact
arithmetic). Proofs: ``proofs/rrs.md``, ``proofs/rrsw.md``, ``proofs/single.md``.
"""

from __future__ import annotations

import numba
import numpy as np

from specsample import _sampling
from specsample._api import LawInputs, VerifyCall
from specsample.scheme import Verdict

#: Below this q-mass of undrafted tokens, RRSw sums that mass afresh instead of taking
#: ``1 - q(drafted)`` (which would keep less than ~1e-13 relative precision).
ALLOWED_RESUM = 1e-3


# ---------------------------------------------------------------- numba kernel
@numba.njit(cache=True)
def _in_prefix(i, x, m):
    for j in range(m):
        if x[j] == i:
            return True
    return False


@numba.njit(cache=True)
def _residual_mass(p, q, ip, iq, c):
    """Lane sum of ``(p_hat - c q_hat)+`` (p_hat = p * ip, q_hat = q * iq)."""
    vocab = p.shape[0]
    body = vocab - vocab % _sampling.LANES
    acc = np.zeros(_sampling.LANES)
    for b in range(0, body, _sampling.LANES):
        for lane in range(_sampling.LANES):
            i = b + lane
            acc[lane] += max(p[i] * ip - c * (q[i] * iq), 0.0)
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        t += max(p[i] * ip - c * (q[i] * iq), 0.0)
    return t


@numba.njit(cache=True)
def _undrafted_mass(q, iq, x, m):
    """Lane sum of ``q_hat`` over the tokens not in ``x[:m]`` (0.0 added for drafted ones)."""
    vocab = q.shape[0]
    body = vocab - vocab % _sampling.LANES
    acc = np.zeros(_sampling.LANES)
    for b in range(0, body, _sampling.LANES):
        for lane in range(_sampling.LANES):
            i = b + lane
            acc[lane] += 0.0 if _in_prefix(i, x, m) else q[i] * iq
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        t += 0.0 if _in_prefix(i, x, m) else q[i] * iq
    return t


@numba.njit(cache=True)
def _chain_row(p, q, sp, sq, x, u, without_replacement):
    vocab = p.shape[0]
    k = x.shape[0]
    ip = 1.0 / sp
    iq = 1.0 / sq
    c = 0.0
    mass = 1.0
    allowed = 1.0
    drafted = 0.0
    for j in range(k):
        t = x[j]
        pj = p[t] * ip
        qj = q[t] * iq
        rj = max(pj - c * qj, 0.0) / mass
        sj = qj / allowed
        if u[j] < rj / sj:
            return t, j
        c = c + mass / allowed
        new_mass = _residual_mass(p, q, ip, iq, c)
        if not new_mass > 0.0:
            return t, j  # rounding guard (module docstring)
        mass = new_mass
        if without_replacement:
            drafted += qj
            allowed = 1.0 - drafted
            if not allowed >= ALLOWED_RESUM:
                allowed = _undrafted_mass(q, iq, x, j + 1)
    target = u[k] * mass
    cum = 0.0
    last = -1
    for i in range(vocab):
        v = max(p[i] * ip - c * (q[i] * iq), 0.0)
        if v > 0.0:
            cum += v
            last = i
            if cum > target:
                return i, -1
    return last, -1


@numba.njit(cache=True)
def chain_rows(p, q, sp, sq, drafts, u, without_replacement):
    """Kernel: verify ``drafts`` (B, k) against rows of ``p``, ``q`` (1 or B rows each).

    ``sp``, ``sq`` are the row sums of ``p`` and ``q``; ``u`` is (B, k + 1).
    Returns ``(tokens, index)``, two int64 arrays of shape (B,).
    """
    n = drafts.shape[0]
    tokens = np.empty(n, np.int64)
    index = np.empty(n, np.int64)
    for b in range(n):
        rp = 0 if p.shape[0] == 1 else b
        rq = 0 if q.shape[0] == 1 else b
        tok, idx = _chain_row(p[rp], q[rq], sp[rp], sq[rq], drafts[b], u[b], without_replacement)
        tokens[b] = tok
        index[b] = idx
    return tokens, index


# ---------------------------------------------------------------- numpy reference
def chain_row_numpy(p, q, sp, sq, x, u, without_replacement: bool) -> tuple[int, int]:
    """One-row plain-numpy form of :func:`chain_rows` (same arithmetic, same order)."""
    ip = 1.0 / sp
    iq = 1.0 / sq
    p_hat = p * ip
    q_hat = q * iq
    c, mass, allowed, drafted = 0.0, 1.0, 1.0, 0.0
    keep = np.ones(p.shape[0], dtype=bool)
    for j, t in enumerate(x):
        r_t = max(p_hat[t] - c * q_hat[t], 0.0) / mass
        s_t = q_hat[t] / allowed
        if u[j] < r_t / s_t:
            return int(t), j
        c = c + mass / allowed
        new_mass = _sampling.lane_sum(np.maximum(p_hat - c * q_hat, 0.0))
        if not new_mass > 0.0:
            return int(t), j
        mass = new_mass
        if without_replacement:
            keep[t] = False
            drafted += q_hat[t]
            allowed = 1.0 - drafted
            if not allowed >= ALLOWED_RESUM:
                allowed = _sampling.lane_sum(np.where(keep, q_hat, 0.0))
    residual = np.maximum(p_hat - c * q_hat, 0.0)
    cum = np.cumsum(residual)
    i = int(np.searchsorted(cum, u[-1] * mass, side="right"))
    if i == p.shape[0]:
        i = int(np.flatnonzero(residual > 0.0)[-1])
    return i, -1


def verdict(call: VerifyCall, *, without_replacement: bool) -> Verdict:
    """Run a checked call through the kernel (batched) or the numpy reference (one row)."""
    if call.batched:
        tok, idx = chain_rows(
            call.p, call.q, call.sp, call.sq, call.drafts, call.u,
            without_replacement,
        )
    else:
        tok, idx = chain_row_numpy(
            call.p[0], call.q[0], call.sp[0], call.sq[0], call.drafts[0],
            call.u[0], without_replacement,
        )
    return call.verdict(tok, idx)


# ---------------------------------------------------------------- exact laws
def _positive(x, zero):
    return np.maximum(x, zero)


def _normalized(x):
    return x / x.sum()


def chain_output_law(inputs: LawInputs, drafts, without_replacement: bool) -> np.ndarray:
    """Exact law of the output token given the draft tuple (float or Fraction arithmetic)."""
    p, q, zero, one = inputs.p, inputs.q, inputs.zero, inputs.one
    law = np.array([zero] * p.shape[0], dtype=p.dtype)
    reach = one
    r = p.copy()
    s = q.copy()
    for j, t in enumerate(drafts):
        a = min(one, r[t] / s[t])
        law[t] += reach * a
        reach = reach * (one - a)
        if reach == 0:
            return law
        rest = _positive(r - s, zero)
        if not rest.sum() > 0:
            law[t] += reach  # rounding guard, as in the kernel
            return law
        r = _normalized(rest)
        if without_replacement and j + 1 < len(drafts):
            s = s.copy()
            s[t] = zero
            s = _normalized(s)
    return law + reach * r


def rrs_acceptance(inputs: LawInputs, k: int):
    """P(accept) for i.i.d. drafts: each step accepts with ``sum min(r, q)`` whatever the
    draft, and the residual after a rejection does not depend on the rejected token, so
    ``1 - prod_j (1 - a_j)`` (``proofs/rrs.md``)."""
    p, q, zero, one = inputs.p, inputs.q, inputs.zero, inputs.one
    r = p
    reject = one
    for _ in range(k):
        a = np.minimum(r, q).sum()
        reject = reject * (one - a)
        if reject == 0:
            break
        r = _normalized(_positive(r - q, zero))
    return one - reject


def rrsw_acceptance(inputs: LawInputs, k: int):
    """P(accept) for drafts without replacement, by recursion over rejected prefixes.

    At a state (residual ``r``, proposal ``s``) a step accepts with ``sum min(r, s)``; it
    rejects token ``x`` with probability ``(s(x) - r(x))+``, after which the residual is
    ``norm((r - s)+)`` whatever ``x`` was, and ``s`` loses ``x``. The last step is summed
    for every rejected ``x`` at once from sorted ratios, so the cost is
    O(m^(k-2) V log V) with m the number of tokens where ``q > p`` (``proofs/rrsw.md``).
    """
    return inputs.one - _rrsw_reject(inputs.p, inputs.q, k, inputs.zero, inputs.one)


def _rrsw_reject(r, s, k, zero, one):
    """P(all k remaining steps reject) from residual r and proposal s."""
    if k == 0:
        return one
    step_reject = one - np.minimum(r, s).sum()
    if k == 1 or step_reject == 0:
        return step_reject
    weights = _positive(s - r, zero)  # P(reject with token x)
    nxt = _positive(r - s, zero)
    nxt = _normalized(nxt)
    if k == 2:
        # after rejecting x: s_x = s without x / (1 - s(x)); nxt(x) = 0 there.
        # P(reject next) = 1 - sum_y min(nxt(y), s(y) / (1 - s(x))).
        tokens = np.flatnonzero(weights > 0)
        # 1 - s(x) summed from the other tokens, not subtracted (no cancellation near s(x) = 1)
        before = np.concatenate([np.array([zero], dtype=r.dtype), np.cumsum(s)[:-1]])
        after = np.concatenate([np.cumsum(s[::-1])[::-1][1:], np.array([zero], dtype=r.dtype)])
        scale = np.array([one / (before[x] + after[x]) for x in tokens], dtype=r.dtype)
        overlap = _overlap_at_scales(nxt, s, scale, zero)
        total = zero
        for w, o, c, x in zip(weights[tokens], overlap, scale, tokens, strict=True):
            total += w * (one - (o - min(nxt[x], c * s[x])))  # the y = x term is excluded
        return total
    total = zero
    for x in np.flatnonzero(weights > 0):
        s_next = s.copy()
        s_next[x] = zero
        s_next = _normalized(s_next)
        total += weights[x] * _rrsw_reject(nxt, s_next, k - 1, zero, one)
    return total


def _overlap_at_scales(r, s, scales, zero):
    """``f(c) = sum_y min(r(y), c s(y))`` for every ``c`` in ``scales`` (one sort).

    Sorting tokens by ``r/s``: ``f(c) = sum_{r/s <= c} r + c * sum_{r/s > c} s``.
    Tokens with ``s = 0`` contribute nothing.
    """
    live = np.flatnonzero(s > 0)
    ratio = np.array([r[i] / s[i] for i in live], dtype=r.dtype)
    order = np.argsort(ratio, kind="stable")
    ratio = ratio[order]
    r_sorted = r[live][order]
    s_sorted = s[live][order]
    r_cum = np.concatenate([np.array([zero], dtype=r.dtype), np.cumsum(r_sorted)])
    s_tail = np.concatenate([np.cumsum(s_sorted[::-1])[::-1], np.array([zero], dtype=r.dtype)])
    out = []
    for c in scales:
        n_low = int(np.searchsorted(ratio, c, side="right"))
        out.append(r_cum[n_low] + c * s_tail[n_low])
    return out
