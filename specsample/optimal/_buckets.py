"""The i.i.d. table without sorting the whole vocabulary: order only the tokens whose order
matters.

:func:`specsample.optimal._build.build_iid` walks all ``n`` tokens in the exact ratio order,
and sorting them is most of its cost at V = 151936. But the order is needed only where it
shows in the table. Step A water-fills ``x = max(p, c' q)`` on ``T`` and ``x = min(p, c q)``
on ``U``; every token of ``T`` with ratio ``p/q <= c'`` gets mean ``x/q = c'`` and every
token of ``U`` with ratio ``>= c`` gets mean ``c``, so each of those two sets is ONE group of
the sweep whatever its internal order. Only the tokens between (``c' < p/q < c``: the
"uncapped" ones, each with mean ``p/q``) and the cut itself need the exact order: from a
few dozen to tens of thousands of the 151936 tokens on LLM-like and real pairs with two
drafts, all of them where ``alpha* = 1`` (``x = p``); ``benchmarks/optimal_parts.py`` prints
the count.

How, in float64 like ``build_iid``:

1. Bucket the tokens by the top bits of their ratio key (:data:`SHIFT`: eight buckets per
   binade, the same for every row; keys are the bit patterns of ``fl(p/q)``, monotone in the
   exact ratio) and sum ``p_hat``, ``q_hat`` per bucket, in one pass.
2. The min cut ``j* = argmin_j Cp(j) + 1 - Cq(j)^k`` over ratio prefixes: bucket boundaries
   are prefixes, known from the bucket sums; inside a bucket of sums ``(P_b, Q_b)`` whose
   ratios are at least ``lo_b`` the objective is at least
   ``f(start) + min(0, lo_b Q_b - ((Cq + Q_b)^k - Cq^k))`` (the penalty is concave in the
   bucket's partial ``q`` mass), so only buckets whose bound comes within rounding of the best
   boundary are sorted exactly and scanned.
3. The water levels: ``X_T(c') = sum_T max(p, c' q)`` and ``X_U(c) = sum_U min(p, c q)`` are
   known exactly at every bucket's lower edge from the bucket sums, which brackets ``c'`` and
   ``c`` to one bucket each.
4. The tokens of the buckets from ``c'``'s to ``c``'s (the cut lies between) are collected,
   exactly ordered (:mod:`specsample.optimal._order`: the same (key, exact ratio, id) order as
   the full sort) and handled like ``build_iid`` handles all tokens, with the buckets below
   as one capped group of ``T`` and those above as one capped group of ``U``. Buckets that
   step 2 already ordered exactly are copied from its order, not sorted again
   (:func:`_reorder`).

The order of the tokens that matter is the same as the full sort's, so the table has the
same cut, groups, means and sweep order as ``build_iid``'s; sums are added in another order,
so floats differ by rounding (tests compare the two builds). Bucket sums carry no more than
rounding error, and where a bucket-level decision comes within rounding of a tie the exact
scan decides (bounds have a tolerance; water levels are clamped to the sorted slice).
"""

from __future__ import annotations

import numba
import numpy as np

from specsample.optimal import _build as B
from specsample.optimal import _order, _sweep, _work

#: ``bucket = key >> SHIFT``: eight buckets per binade of the ratio (2**52 keys per binade).
SHIFT = _work.BUCKET_SHIFT
#: Number of buckets: every non-negative finite or infinite ratio key, shifted.
NBUCKETS = _work.BUCKETS
#: Vocabularies from this size up build i.i.d. tables (k >= 2) this way; smaller ones sort
#: everything (cheap there). Tests lower it to run small instances through this path.
MIN_VOCAB = 16384
#: A bucket is scanned for the min cut when its lower bound is within this much of the best
#: boundary value (objectives lie in [0, 2]; this is a few hundred units of roundoff).
CUT_TOL = 2.0**-44
#: The water range's order copies the tokens the cut scan already ordered when they are at
#: least this many (:func:`_reorder`).
REUSE_MIN = 4096
_SH = np.uint64(SHIFT)


@numba.njit(cache=True, inline="always")
def _lower_edge(b, scale):
    """Smallest ratio ``p/q`` of the raw rows whose key falls in bucket ``b``, times
    ``scale = sum q / sum p``: the edge on the scale of the normalised ``p_hat / q_hat``, where
    the cut and the water levels live. (Unnormalised rows shift every edge by that factor;
    without it the brackets below were wrong for rows that do not sum to one.)"""
    a = np.empty(1, np.uint64)
    a[0] = np.uint64(b) << _SH
    return a.view(np.float64)[0] * scale


@numba.njit(cache=True)
def histogram(p, q, ip, iq, keys, cnt, bp, bq):
    """Ratio keys into ``keys`` (as :func:`specsample.optimal._order.ratio_keys_into`) and, per
    bucket, the number of tokens and the sums of ``p * ip`` and ``q * iq`` (tokens with
    ``q > 0``). Returns the first and last non-empty bucket (``bmin > bmax`` if none).

    The keys come first, in a pass of selects with no branch per token, the bucket sums in a
    second pass."""
    ratio = keys.view(np.float64)
    n = p.shape[0]
    for i in range(n):
        ratio[i] = p[i] / (q[i] if q[i] > 0.0 else 1.0)
    for i in range(n):
        keys[i] = keys[i] if q[i] > 0.0 else _order._Q_ZERO_KEY
    cnt[:] = 0
    bp[:] = 0.0
    bq[:] = 0.0
    nb = cnt.shape[0]  # the key of q = 0 lies above every bucket
    bmin = nb
    bmax = -1
    for i in range(n):
        b = np.int64(keys[i] >> _SH)
        if b < nb:
            cnt[b] += 1
            bp[b] += p[i] * ip
            bq[b] += q[i] * iq
            bmin = min(bmin, b)
            bmax = max(bmax, b)
    return bmin, bmax


@numba.njit(cache=True)
def collect(keys, b_lo, b_hi, bits, packed):
    """Packed keys (``_order.pack``) of the tokens in buckets ``b_lo..b_hi`` into ``packed``
    (tokens with ``q = 0`` have a key above every bucket); returns how many.

    Branch-free: every key is written and the count advances only for those in range (half
    the tokens can be in range, in no pattern a branch predictor would learn)."""
    low = np.uint64((1 << bits) - 1)
    high = ~low
    lo = np.uint64(b_lo)
    span = np.uint64(b_hi - b_lo)
    m = 0
    for i in range(keys.shape[0]):
        packed[m] = (keys[i] & high) | np.uint64(i)
        m += np.int64(((keys[i] >> _SH) - lo) <= span)  # unsigned: below lo wraps around
    return m


@numba.njit(cache=True)
def collect_outside(keys, b_lo, b_hi, o_lo, o_hi, bits, packed):
    """:func:`collect` of the buckets ``b_lo..b_hi`` except ``o_lo..o_hi`` (a sub-range).
    The second range test makes the pass about twice as slow as :func:`collect`."""
    low = np.uint64((1 << bits) - 1)
    high = ~low
    lo = np.uint64(b_lo)
    span = np.uint64(b_hi - b_lo)
    olo = np.uint64(o_lo)
    ospan = np.uint64(o_hi - o_lo)
    m = 0
    for i in range(keys.shape[0]):
        b = keys[i] >> _SH
        packed[m] = (keys[i] & high) | np.uint64(i)
        m += np.int64((b - lo) <= span) - np.int64((b - olo) <= ospan)
    return m


@numba.njit(cache=True)
def cut_buckets(cnt, bp, bq, bmin, bmax, k, tol, scale):
    """Bucket level of the min cut: ``(best, j_best, cand_lo, cand_hi)``: the smallest
    objective over bucket boundaries and its prefix length, and the range of buckets whose
    inside could come within ``tol`` of it (``cand_lo = -1``: none). ``scale``: as for
    :func:`_lower_edge`."""
    best = np.inf
    j_best = 0
    cp = 0.0
    cq = 0.0
    j = 0
    for b in range(bmin, bmax + 2):  # the boundary before bucket b (bmax + 1: the end)
        if b <= bmax and cnt[b] == 0:
            continue
        f = cp + 1.0 - B._ipow(cq, k)
        if f < best:
            best = f
            j_best = j
        if b <= bmax:
            cp += bp[b]
            cq += bq[b]
            j += cnt[b]
    cand_lo = -1
    cand_hi = -1
    cp = 0.0
    cq = 0.0
    for b in range(bmin, bmax + 1):
        if cnt[b] == 0:
            continue
        f = cp + 1.0 - B._ipow(cq, k)
        inside = f + min(0.0, _lower_edge(b, scale) * bq[b] - _sweep.poly_diff(cq, bq[b], k))
        if cnt[b] > 1 and inside < best + tol:
            if cand_lo < 0:
                cand_lo = b
            cand_hi = b
        cp += bp[b]
        cq += bq[b]
    return best, j_best, cand_lo, cand_hi


@numba.njit(cache=True)
def _below(cnt, bp, bq, bmin, b):
    """Count, ``p`` and ``q`` sums of the buckets ``bmin..b-1``."""
    j = 0
    sp = 0.0
    sq = 0.0
    for c in range(bmin, b):
        j += cnt[c]
        sp += bp[c]
        sq += bq[c]
    return j, sp, sq


@numba.njit(cache=True)
def _above(cnt, bq, b, bmax):
    """Count and ``q`` sum of the buckets ``b+1..bmax`` (added from the top, like a suffix)."""
    j = 0
    sq = 0.0
    for c in range(bmax, b, -1):
        j += cnt[c]
        sq += bq[c]
    return j, sq


@numba.njit(cache=True)
def cut_scan(p, q, ip, iq, order, cnt, bp, bq, bmin, k, best, j_best, s_lo):
    """The min cut with the buckets from ``s_lo`` on that ``order`` holds exactly ordered:
    each prefix inside them competes with the best bucket boundary outside; the first
    minimum wins, as in ``build_iid``. Returns the cut's prefix length ``j*``."""
    base, cp, cq = _below(cnt, bp, bq, bmin, s_lo)
    m = order.shape[0]
    f_best = np.inf
    j_out = 0
    if j_best < base:  # prefixes before the slice come first
        f_best = best
        j_out = j_best
    for i in range(m + 1):
        f = cp + 1.0 - B._ipow(cq, k)
        if f < f_best:
            f_best = f
            j_out = base + i
        if i < m:
            t = order[i]
            cp += p[t] * ip
            cq += q[t] * iq
    if j_best > base + m and best < f_best:
        j_out = j_best
    return j_out


@numba.njit(cache=True)
def water_buckets(cnt, bp, bq, bmin, bmax, j, jb, p_t, x_t, x_u, scale):
    """The range ``(s_lo, s_hi)`` of buckets to order exactly, given the cut ``j``, the
    bucket ``jb`` of token ``j`` (:func:`split_at`), ``p(T)``, ``x(T)``, ``x(U)``: every token below ``s_lo`` is in ``T`` with ratio below
    ``c'`` (capped), every token above ``s_hi`` in ``U`` with ratio above ``c`` (capped),
    and the cut lies inside the range.

    At a bucket's lower edge ``lo_b``: ``sum_T max(p, lo_b q) = lo_b Cq(b) + p(T) - Cp(b)``
    for ``b`` up to the cut's bucket, and ``sum_U min(p, lo_b q) = Cp(b) - p(T) + lo_b
    Cs(b)`` above it; both increase with ``b``, and the levels sit where they pass ``x(T)``,
    ``x(U)``. ``scale``: as for :func:`_lower_edge`."""
    s_lo = bmin
    if j == 0:
        s_lo = jb
    elif x_t > p_t:  # else x = p on T: every T token is uncapped, s_lo stays bmin
        cp = 0.0
        cq = 0.0
        for b in range(bmin, min(jb, bmax) + 1):
            if cnt[b] > 0 and _lower_edge(b, scale) * cq + (p_t - cp) <= x_t:
                s_lo = b
            cp += bp[b]
            cq += bq[b]
    s_hi = bmax
    if jb <= bmax:
        _, cp_b, _ = _below(cnt, bp, bq, bmin, jb + 1)
        _, cs = _above(cnt, bq, jb, bmax)
        s_hi = jb
        for b in range(jb + 1, bmax + 1):
            if cnt[b] == 0:
                continue
            if not (cp_b - p_t) + _lower_edge(b, scale) * cs <= x_u:
                break
            s_hi = b
            cp_b += bp[b]
            cs -= bq[b]  # a bracket only (finish() computes every x from the slice)
    return s_lo, s_hi


@numba.njit(cache=True)
def _capped_rows(p, q, ip, iq, keys, s_lo, s_hi, s_t, s_u, g_last, x, qh, group):
    """``qh`` for every token, and ``x`` and ``group`` for the tokens outside the exactly
    ordered buckets ``s_lo..s_hi`` (those inside keep theirs): capped ``max(p, s_t q)`` in
    group 0 below, capped ``min(p, s_u q)`` in group ``g_last`` above, ``x = 0`` and group
    -1 where ``q = 0`` (their key lies above every bucket).

    Selects instead of branches (whether a token lies below, inside or above follows no
    pattern a branch predictor would learn) and no running sum; the residual's prefix sums
    are a second pass. On real rows the two passes took a third of the time of one pass
    doing both with branches (a one-off measurement)."""
    lo = np.uint64(s_lo)
    span = np.uint64(s_hi - s_lo)
    for t in range(p.shape[0]):
        pt = p[t] * ip
        qt = q[t] * iq
        qh[t] = qt
        b = keys[t] >> _SH
        inside = (b - lo) <= span  # unsigned: below lo wraps around
        below = b < lo
        nonzero = q[t] > 0.0
        above_x = min(pt, s_u * qt) if nonzero else 0.0
        above_g = g_last if nonzero else -1
        x[t] = x[t] if inside else (max(pt, s_t * qt) if below else above_x)
        group[t] = group[t] if inside else (0 if below else above_g)


@numba.njit(cache=True)
def finish(p, q, ip, iq, k, keys, order, cnt, bp, bq, bmin, bmax, j, s_lo, s_hi, tol,
           fw, pw, iw, fo, io):
    """The table, from the exactly ordered tokens ``order`` of buckets ``s_lo..s_hi`` and the
    cut ``j``: Step A's levels, groups, the sweep and the token-indexed rows, as
    ``build_iid`` computes them (same rows of ``fw``, ``pw``, ``iw``, ``fo``, ``io``).

    Returns ``(np_, owners, res_last, j, A, alpha)`` like ``build_iid``."""
    m = order.shape[0]
    base, p0, q0 = _below(cnt, bp, bq, bmin, s_lo)
    after, qa = _above(cnt, bq, s_hi, bmax)
    ic = j - base  # the cut inside the slice: 0 <= ic <= m
    ps = fw[B._PS, :m]
    qs = fw[B._QS, :m]
    for i in range(m):
        t = order[i]
        ps[i] = p[t] * ip
        qs[i] = q[t] * iq
    cp = fw[B._CP, :m + 1]
    cq = fw[B._CQ, :m + 1]
    cs = fw[B._CS, :m + 1]
    cp[0] = p0
    cq[0] = q0
    for i in range(m):
        cp[i + 1] = cp[i] + ps[i]
        cq[i + 1] = cq[i] + qs[i]
    cs[m] = qa
    for i in range(m - 1, -1, -1):
        cs[i] = cs[i + 1] + qs[i]
    A = cq[ic]
    c = cs[ic]
    x_t = B._ipow(A, k)
    x_u = B._one_minus_pow(c, k)
    p_t = cp[ic]
    alpha = p_t + x_u
    # water levels, searched like _build._waterfill over the slice's part of T and U
    s_t = 0.0
    if j > 0 and x_t > p_t:
        lo = -1  # tokens 0..lo of the slice capped (and everything below it)
        a, b = 0, ic - 1
        while a <= b:
            mid = (a + b) >> 1
            if ps[mid] / qs[mid] * cq[mid] + (p_t - cp[mid]) <= x_t:
                lo = mid
                a = mid + 1
            else:
                b = mid - 1
        s_t = (x_t - (p_t - cp[lo + 1])) / cq[lo + 1]
    s_u = np.inf
    if ic == m and after > 0:  # (the cut's bucket is in the slice, so this is defensive)
        s_u = x_u / cs[m]
    elif ic < m:
        if not x_u > ps[ic] / qs[ic] * cs[ic]:
            s_u = x_u / cs[ic]
        else:
            lo, hi = ic, m - 1
            while lo < hi:
                mid = (lo + hi + 1) >> 1
                if (cp[mid] - cp[ic]) + ps[mid] / qs[mid] * cs[mid] <= x_u:
                    lo = mid
                else:
                    hi = mid - 1
            if lo < m - 1 or after > 0:
                s_u = (x_u - (cp[lo + 1] - cp[ic])) / cs[lo + 1]
    # groups in sweep order: T's capped tokens below the slice, the slice, U's capped above
    xs = fw[B._TGT, :m]
    gs = iw[B._I_FST, :m]
    gmass = fw[B._GMASS]
    gtarget = fw[B._GTARGET]
    ng = 0
    gmean = 0.0
    if base > 0:
        gmean = s_t
        gmass[0] = q0
        gtarget[0] = s_t * q0
        ng = 1
    n_t = ng  # groups of T so far (the slice may hold none of T)
    for i in range(m):
        if i < ic:
            xs[i] = max(ps[i], s_t * qs[i])
            fresh = ng == 0
        else:
            xs[i] = min(ps[i], s_u * qs[i])
            fresh = i == ic
        ng, gmean = B.group_step(xs[i] / qs[i], qs[i], xs[i], fresh, gmean, ng, gmass, gtarget,
                                 tol)
        gs[i] = ng - 1
        if i == ic - 1:
            n_t = ng
    if after > 0:
        ng, gmean = B.group_step(s_u, qa, s_u * qa, ng == n_t, gmean, ng, gmass, gtarget, tol)
    g_last = ng - 1
    # token-indexed rows: the slice's first, then one pass for the rest
    x = fo[B._O_X]
    group = io[B._O_GROUP]
    for i in range(m):
        t = order[i]
        x[t] = xs[i]
        group[t] = gs[i]
    _capped_rows(p, q, ip, iq, keys, s_lo, s_hi, s_t, s_u, g_last, x, fo[B._O_QH], group)
    res_last = B._residual(p, ip, x, fo[B._O_RES_CUM])
    np_ = B.sweep_groups(ng, n_t, A, c, k, fw, pw, iw, io)  # Step B, as in build_iid
    B._piece_sums(io[B._O_FIRST, :ng], io[B._O_COUNT, :ng], pw[B._P_LENGTH], pw[B._P_CUM],
                  fo[B._O_TOKLEN, :ng])
    return np_, ng, res_last, j, A, alpha


@numba.njit(cache=True)
def split_at(p, q, ip, iq, order, s_lo, cnt, bp, bq, bmin, bmax, j):
    """``(p(T), q(T), q(U), jb)`` for the cut ``j``, ``jb`` the bucket of token ``j`` (the
    first of ``U``; ``bmax + 1`` if ``U`` is empty); a cut inside a bucket lies in the
    exactly ordered buckets from ``s_lo`` on (``order``). ``q(U)`` is added from the top."""
    jb = bmin
    count = 0
    p_t = 0.0
    a = 0.0
    while jb <= bmax and count + cnt[jb] <= j:
        count += cnt[jb]
        p_t += bp[jb]
        a += bq[jb]
        jb += 1
    _, c = _above(cnt, bq, jb, bmax)
    if count < j:  # the cut splits bucket jb: its first j - count tokens are in T
        first = 0  # where bucket jb starts in order
        for b in range(s_lo, jb):
            first += cnt[b]
        cut = first + (j - count)
        for i in range(first, cut):
            p_t += p[order[i]] * ip
            a += q[order[i]] * iq
        for i in range(first + cnt[jb] - 1, cut - 1, -1):
            c += q[order[i]] * iq
    elif jb <= bmax:
        c += bq[jb]
    return p_t, a, c, jb


def _exact_order(p, q, keys, ws, vocab, bits, b_lo, b_hi, row=0, o_lo=1, o_hi=0):
    """The tokens of buckets ``b_lo..b_hi`` except ``o_lo..o_hi`` (a sub-range; ``o_lo >
    o_hi``: none left out) in the exact ratio order, in the workspace's int row ``row``."""
    packed = ws.u[1, :vocab]
    if o_lo > o_hi:
        m = collect(keys, b_lo, b_hi, bits, packed)
    else:
        m = collect_outside(keys, b_lo, b_hi, o_lo, o_hi, bits, packed)
    packed = packed[:m]
    packed.sort()
    order = ws.i[row, :m]
    _order.fix_runs_into(packed, bits, p, q, keys, order, ws.i[1, :m])
    return order


def _reorder(p, q, keys, ws, vocab, bits, b_lo, b_hi, prev, c_lo, c_hi):
    """:func:`_exact_order` of buckets ``b_lo..b_hi`` when ``prev`` (workspace row 0) holds
    buckets ``c_lo..c_hi`` exactly ordered (``c_lo < 0``: none): the buckets both cover are
    a contiguous block of ``prev`` (buckets are ranges of the key) and are copied, only
    the others are sorted, when the block holds at least :data:`REUSE_MIN` tokens (below
    that, the slower collecting pass costs more than sorting the block again). Buckets
    hold whole runs of equal truncated keys, so the result is the order sorting all of
    ``b_lo..b_hi`` gives. Uses int rows 4 and 5 (the bucketed build's Step B leaves them
    alone)."""
    o_lo, o_hi = max(b_lo, c_lo), min(b_hi, c_hi)
    cnt = ws.bc
    shared = int(cnt[o_lo:o_hi + 1].sum()) if c_lo >= 0 and o_lo <= o_hi else 0
    if shared < REUSE_MIN:
        return _exact_order(p, q, keys, ws, vocab, bits, b_lo, b_hi)
    before = int(cnt[b_lo:o_lo].sum())  # tokens of the result before the shared block
    skip = int(cnt[c_lo:o_lo].sum())  # tokens of prev before it
    rest = _exact_order(p, q, keys, ws, vocab, bits, b_lo, b_hi, 5, o_lo, o_hi)
    order = ws.i[4, :rest.shape[0] + shared]
    order[:before] = rest[:before]
    order[before:before + shared] = prev[skip:skip + shared]
    order[before + shared:] = rest[before:]
    return order


def _plan(p, q, sp, sq, k, ws):
    """Steps 1-4 of the module up to the exactly ordered slice: returns ``(bmin, bmax, j,
    s_lo, s_hi, order)`` (``order``: the slice's tokens, a workspace row)."""
    vocab = p.shape[0]
    bits = _order.id_bits(vocab)
    ip, iq = 1.0 / sp, 1.0 / sq
    keys = ws.u[0, :vocab]
    cnt, bp, bq = ws.bc, ws.b[0], ws.b[1]
    bmin, bmax = histogram(p, q, ip, iq, keys, cnt, bp, bq)
    scale = sq / sp  # raw ratio edges onto the normalised scale
    best, j_best, cand_lo, cand_hi = cut_buckets(cnt, bp, bq, bmin, bmax, k, CUT_TOL, scale)
    j = j_best
    order = ws.i[0, :0]
    if cand_lo >= 0:
        order = _exact_order(p, q, keys, ws, vocab, bits, cand_lo, cand_hi)
        j = cut_scan(p, q, ip, iq, order, cnt, bp, bq, bmin, k, best, j_best, cand_lo)
    p_t, a, c, jb = split_at(p, q, ip, iq, order, cand_lo, cnt, bp, bq, bmin, bmax, j)
    x_t = a**k  # brackets only; finish() recomputes both from the ordered slice
    x_u = B._one_minus_pow(c, k)
    s_lo, s_hi = water_buckets(cnt, bp, bq, bmin, bmax, j, jb, p_t, x_t, x_u, scale)
    order = _reorder(p, q, keys, ws, vocab, bits, s_lo, s_hi, order, cand_lo, cand_hi)
    return bmin, bmax, j, s_lo, s_hi, order


def build_iid(p, q, sp, sq, k, ws, fo, io):
    """The i.i.d. table (``k >= 2``) of one checked row pair, ordering only the buckets
    that matter (see the module). Same contract and return value as
    :func:`specsample.optimal._build.build_iid`, scratch from the workspace ``ws``."""
    k = np.int64(k)
    bmin, bmax, j, s_lo, s_hi, order = _plan(p, q, sp, sq, k, ws)
    return finish(p, q, 1.0 / sp, 1.0 / sq, k, ws.u[0, :p.shape[0]], order, ws.bc, ws.b[0],
                  ws.b[1], bmin, bmax, j, s_lo, s_hi, B.GROUP_RTOL, ws.f, ws.pieces, ws.i, fo,
                  io)


def ordered_tokens(p, q, k: int) -> int:
    """How many tokens the bucketed build of ``(p, q)`` (float64 rows, row sums used as
    given) orders exactly: a measure of its work, for benchmarks."""
    ws = _work.get(p.shape[0])
    *_, order = _plan(p, q, float(p.sum()), float(q.sum()), np.int64(k), ws)
    return int(order.shape[0])
