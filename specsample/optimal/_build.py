"""The per-pair table of the optimal verifiers, in float64 (numba kernels).

For one (target ``p``, draft ``q``) pair and a drafting law, :func:`build` computes

* Step A: the ratio order, the min cut ``T`` (a ratio prefix), ``alpha*``, and the target
  law ``x`` of the selected token, water-filled: ``x = max(p, c' q)`` on ``T`` with
  ``x(T) = W(T)``, ``x = min(p, c q)`` on the rest ``U`` with ``x(U) = 1 - W(T)``;
* Step B: the pieces of every token (:mod:`specsample.optimal._sweep`), ``T`` inside
  ``[0, A]`` and ``U`` inside ``[A, 1]`` (``A = q(T)``);
* the residual ``(p - x)_+`` (it lives on ``U`` and on tokens with ``q = 0``) as prefix
  sums in token order, for inverse-CDF draws.

``W(T)`` is ``q(T)^k`` for ``k`` i.i.d. drafts and ``q(T) - q(U) sum_T q_i / (1 - q_i)`` for
two drafts without replacement (``proofs/ot_without_replacement.md``). The mathematics and
its proofs: ``THEORY.md`` section 7, ``proofs/opt_iid.md``, ``proofs/opt_wor.md``,
``proofs/opt_sweep.md``.

Inputs are normalised by reciprocal row sums (``p_hat = p * (1 / sum p)``) like every other
kernel of the library; the ratio order comes from the raw inputs
(:mod:`specsample.optimal._order`). Large i.i.d. tables skip most of the order:
:mod:`specsample.optimal._buckets` computes the same table from the ratio buckets that
matter (``proofs/opt_iid.md``, claims B1-B3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from specsample.optimal import _order, _sweep, _work

IID = 0
WOR = 1
#: The certificate of the without-replacement sweep tolerates prefix deficits up to this
#: many units of roundoff times ``(n + 1) * max(1, I(1))`` (accumulated prefix-sum rounding).
CERT_TOL_ULPS = 8.0
#: Largest ``kappa = q^2 / (1 - q)`` (over the draft's tokens) for which the two-draft
#: without-replacement table is built in float64. The construction places pieces of tokens
#: of mass ~1/kappa around the kink ``theta`` of the dominant token, where the selection
#: density jumps by ``kappa``; a position error of one ulp then moves the selection law by
#: about ``kappa * 2**-53`` (measured 5e-5 at ``kappa = 1e12``). Above ``2**12``
#: (``q > 0.99976``) the pair uses the exact fallback instead; the exact path applies the
#: same rule, so both paths describe one verifier.
KAPPA_MAX = 2.0**12
#: Tokens of one half whose means ``x/q`` agree to this relative tolerance form one group:
#: the sweep gives the group one set of pieces and each member draws its position uniformly
#: on all of them. Exactly tied means (for instance every token capped at ``c' q``) make the
#: tie order irrelevant; the tolerance lets float rounding of exact ties (a few ulps) group
#: the same tokens the exact path groups.
GROUP_RTOL = 2.0**-44
_EPS = 2.0**-52


# ---------------------------------------------------------------- small helpers
@numba.njit(cache=True)
def _prefix(v, out):
    """Prefix sums of ``v`` into ``out`` (length ``len(v) + 1``)."""
    s = 0.0
    out[0] = 0.0
    for i in range(v.shape[0]):
        s += v[i]
        out[i + 1] = s
    return out


@numba.njit(cache=True)
def _suffix(v, out):
    """Suffix sums of ``v`` into ``out`` (length ``len(v) + 1``)."""
    n = v.shape[0]
    s = 0.0
    out[n] = 0.0
    for i in range(n - 1, -1, -1):
        s += v[i]
        out[i] = s
    return out


@numba.njit(cache=True)
def _one_minus_pow(c, k):
    """``1 - (1 - c)^k`` without cancellation for small ``c``."""
    if not c < 1.0:
        return 1.0
    if not c > 0.0:
        return 0.0
    return -math.expm1(k * math.log1p(-c))


@numba.njit(cache=True, inline="always")
def _ipow(a, e):
    r = 1.0
    for _ in range(e):
        r *= a
    return r


@numba.njit(cache=True)
def _one_minus_each(qs, out):
    """``1 - q_i`` for every token into ``out``, the largest one as the sum of the others."""
    n = qs.shape[0]
    top = 0
    for i in range(n):
        out[i] = 1.0 - qs[i]
        if qs[i] > qs[top]:
            top = i
    if n > 0:
        s = 0.0
        for i in range(n):
            if i != top:
                s += qs[i]
        out[top] = s
    return out


# ---------------------------------------------------------------- Step A
@numba.njit(cache=True)
def _cut(ps, qs, k, law, om, cp, cq, cs, nup):
    """Min cut over ratio prefixes; fills the prefix sums ``cp``, ``cq``, the suffix sums
    ``cs`` (and for two drafts without replacement ``nup``, the prefix sums of
    ``q / (1 - q)``), each of length ``n + 1``. Returns (j*, A, c, x(T), x(U), alpha)."""
    n = ps.shape[0]
    _prefix(ps, cp)
    _prefix(qs, cq)
    _suffix(qs, cs)
    js = 0
    best = np.inf
    if law == IID:
        for j in range(n + 1):
            f = cp[j] + 1.0 - _ipow(cq[j], k)
            if f < best:
                best = f
                js = j
    else:
        s = 0.0
        nup[0] = 0.0
        for i in range(n):
            s += qs[i] / om[i]
            nup[i + 1] = s
        for j in range(n + 1):
            f = cp[j] + cs[j] * (1.0 + nup[j])
            if f < best:
                best = f
                js = j
    A = cq[js]
    c = cs[js]
    if law == IID:
        x_t = _ipow(A, k)
        x_u = _one_minus_pow(c, k)
    else:
        x_u = c * (1.0 + nup[js])
        x_t = max(A - c * nup[js], 0.0)
    alpha = cp[js] + x_u
    return js, A, c, x_t, x_u, alpha


@numba.njit(cache=True)
def _waterfill(ps, qs, order, js, cp, cq, cs, x_t, x_u, x):
    """``x = max(p, c' q)`` on T (sum x(T)), ``x = min(p, c q)`` on U (sum x(U)), by token id."""
    n = ps.shape[0]
    if js > 0:
        p_t = cp[js]
        if not x_t > p_t:
            scale = 0.0
        else:
            lo, hi = 0, js - 1  # largest t with g(t) = r_t cq[t] + p_t - cp[t] <= x(T)
            while lo < hi:
                mid = (lo + hi + 1) >> 1
                if ps[mid] / qs[mid] * cq[mid] + (p_t - cp[mid]) <= x_t:
                    lo = mid
                else:
                    hi = mid - 1
            scale = (x_t - (p_t - cp[lo + 1])) / cq[lo + 1]
        for i in range(js):
            x[order[i]] = max(ps[i], scale * qs[i])
    m = n - js
    if m > 0:
        if not x_u > ps[js] / qs[js] * cs[js]:
            scale = x_u / cs[js]  # every token of U capped
        else:
            lo, hi = 0, m - 1  # largest s with h(s) = (cp[js+s] - cp[js]) + r cs[js+s] <= x(U)
            while lo < hi:
                mid = (lo + hi + 1) >> 1
                j = js + mid
                if (cp[j] - cp[js]) + ps[j] / qs[j] * cs[j] <= x_u:
                    lo = mid
                else:
                    hi = mid - 1
            if lo == m - 1:
                scale = np.inf  # x = p on all of U
            else:
                scale = (x_u - (cp[js + lo + 1] - cp[js])) / cs[js + lo + 1]
        for i in range(js, n):
            x[order[i]] = min(ps[i], scale * qs[i])


@numba.njit(cache=True)
def _residual(p, ip, x, res_cum):
    """Prefix sums (token order) of ``(p_hat - x)_+``; returns the last positive index."""
    s = 0.0
    last = -1
    for i in range(p.shape[0]):
        v = max(p[i] * ip - x[i], 0.0)
        s += v
        res_cum[i] = s
        if v > 0.0:
            last = i
    return last


# ---------------------------------------------------------------- the table
# Rows of the workspace (:mod:`specsample.optimal._work`) the builds use as scratch.
_PS, _QS, _CP, _CQ, _CS, _NUP, _GMASS, _GTARGET, _HOLE_A, _HOLE_B = range(10)
_OM, _TH, _KAP, _KC, _KT, _TARGET, _KEY, _TGT, _MAS = range(10, 19)
_I_SEQ, _I_FST, _I_CNT, _I_HALF = range(2, 6)  # rows 0, 1: the ratio order and its buffer
_P_START, _P_LENGTH, _P_CUM = range(3)
# Rows of a table's own memory (:func:`specsample.optimal._work.table_memory`).
_O_X, _O_QH, _O_RES_CUM, _O_TOKLEN, _O_THETA, _O_OM = range(6)
_O_GROUP, _O_FIRST, _O_COUNT = range(3)
_IID_ROWS = (4, 3)  # (float rows, int rows)
_WOR_ROWS = (6, 3)


@numba.njit(cache=True)
def _piece_sums(first, count, length, cum, total):
    """Per owner: total piece length into ``total``; ``cum[j]`` = length of the owner's
    pieces stored before piece ``j`` (for binary searches of a position)."""
    for g in range(first.shape[0]):
        s = 0.0
        for j in range(first[g], first[g] + count[g]):
            cum[j] = s
            s += length[j]
        total[g] = s


@numba.njit(cache=True)
def _groups(order, js, n, x, qh, tol, group, gmass, gtarget):
    """Runs of tokens with equal means ``x/q`` (within relative ``tol``), never across the cut.

    Fills ``group`` (the group of each token; -1 stays for ``q = 0``) and the groups' masses
    and targets (group ids follow the processing order). Returns ``(ng, n_t)``: the number
    of groups, and of groups in ``T``.
    """
    ng = 0
    n_t = 0
    for part in range(2):
        lo = 0 if part == 0 else js
        hi = js if part == 0 else n
        gmean = 0.0
        for i in range(lo, hi):
            t = order[i]
            ng, gmean = group_step(x[t] / qh[t], qh[t], x[t], i == lo, gmean, ng, gmass, gtarget,
                                   tol)
            group[t] = ng - 1
        if part == 0:
            n_t = ng
    return ng, n_t


@numba.njit(cache=True, inline="always")
def group_step(mean, mass, target, fresh, gmean, ng, gmass, gtarget, tol):
    """Add the next token (in ratio order) to the current group, or open a new one if
    ``fresh`` or its mean is not within relative ``tol`` of the group's first mean
    ``gmean``. Returns ``(ng, gmean)``; the token's group is ``ng - 1``."""
    if fresh or not abs(mean - gmean) <= tol * gmean:
        gmean = mean
        gmass[ng] = 0.0
        gtarget[ng] = 0.0
        ng += 1
    gmass[ng - 1] += mass
    gtarget[ng - 1] += target
    return ng, gmean


@numba.njit(cache=True)
def _gather(p, q, ip, iq, order, n, ps, qs, qh):
    """Normalised ``p``, ``q`` of the first ``n`` tokens of ``order`` (ratio order) into
    ``ps``, ``qs``, and normalised ``q`` by token id into ``qh`` (zero where ``q = 0``)."""
    for i in range(n):
        t = order[i]
        ps[i] = p[t] * ip
        qs[i] = q[t] * iq
        qh[t] = qs[i]


@numba.njit(cache=True)
def sweep_groups(ng, n_t, A, c, k, fw, pw, iw, io):
    """Step B of an i.i.d. table: the ``ng`` groups (targets and masses in the workspace
    rows ``_GTARGET``, ``_GMASS``, in sweep order; the first ``n_t`` in ``T``) swept into
    ``[0, A]`` and ``[A, A + c]``; pieces into ``pw``, each group's ``first`` and ``count``
    into ``io``. Returns the number of pieces."""
    first = io[_O_FIRST, :ng]
    count = io[_O_COUNT, :ng]
    first[:] = 0
    count[:] = 0
    seq = iw[_I_SEQ, :ng]
    for g in range(ng):
        seq[g] = g
    gmass = fw[_GMASS, :ng]
    gtarget = fw[_GTARGET, :ng]
    empty = np.empty(0)
    start = pw[_P_START]
    length = pw[_P_LENGTH]
    # integer constants as np.int64: a literal argument would compile another
    # specialisation of the sweep (one per literal value), doubling the first-run cost
    np_ = _sweep.sweep(seq[:n_t], 0.0, A, gtarget, gmass, _sweep.POLY, k, empty, empty, empty,
                       start, length, first, count, np.int64(0), fw[_HOLE_A], fw[_HOLE_B])
    return _sweep.sweep(seq[n_t:], A, A + c, gtarget, gmass, _sweep.POLY, k, empty, empty,
                        empty, start, length, first, count, np_, fw[_HOLE_A], fw[_HOLE_B])


@numba.njit(cache=True)
def build_iid(p, q, sp, sq, k, order, n, fw, pw, iw, fo, io):
    """Table of the i.i.d. verifier with ``k`` drafts (see :class:`Table` for the fields).

    ``fw``, ``pw``, ``iw``: the workspace's float, piece and int rows (scratch). The table
    is written to ``fo`` (rows ``x``, ``qh``, ``res_cum``, ``toklen``) and ``io`` (rows
    ``group``, ``first``, ``count``), fresh memory of the caller's; its pieces are left in
    ``pw[:, :np_]`` (start, length, cum) for the caller to copy.

    Returns ``(np_, owners, res_last, js, A, alpha)``.
    """
    ip = 1.0 / sp
    ps = fw[_PS, :n]
    qs = fw[_QS, :n]
    qh = fo[_O_QH]
    qh[:] = 0.0
    _gather(p, q, ip, 1.0 / sq, order, n, ps, qs, qh)
    cp = fw[_CP, :n + 1]
    cq = fw[_CQ, :n + 1]
    cs = fw[_CS, :n + 1]
    js, A, c, x_t, x_u, alpha = _cut(ps, qs, k, np.int64(IID), fw[_OM, :n], cp, cq, cs,
                                     fw[_NUP, :n + 1])  # (om, nup: unused for i.i.d.)
    x = fo[_O_X]
    x[:] = 0.0
    if k == 1:
        for i in range(n):
            x[order[i]] = qs[i]
    else:
        _waterfill(ps, qs, order, js, cp, cq, cs, x_t, x_u, x)
    start = pw[_P_START]
    length = pw[_P_LENGTH]
    cum = pw[_P_CUM]
    group = io[_O_GROUP]
    group[:] = -1
    if k == 1:  # one draft is always selected: contiguous pieces are enough
        first = io[_O_FIRST, :n]
        count = io[_O_COUNT, :n]
        pos = 0.0
        for i in range(n):
            group[order[i]] = i
            first[i] = i
            count[i] = 1
            start[i] = pos
            length[i] = qs[i]
            pos += qs[i]
        np_ = n
    else:
        ng, n_t = _groups(order, js, n, x, qh, GROUP_RTOL, group, fw[_GMASS], fw[_GTARGET])
        np_ = sweep_groups(ng, n_t, A, c, k, fw, pw, iw, io)
        first = io[_O_FIRST, :ng]
        count = io[_O_COUNT, :ng]
    owners = first.shape[0]
    _piece_sums(first, count, length, cum, fo[_O_TOKLEN, :owners])
    res_last = _residual(p, ip, x, fo[_O_RES_CUM])
    return np_, owners, res_last, js, A, alpha


@numba.njit(cache=True)
def _pack_half(seq, key, bits, packed):
    """``(bits of key[seq[i]], low `bits` bits cleared) | i`` for every position ``i`` of
    ``seq`` into ``packed``: sorting these sorts ``seq`` by key (non-negative floats order
    like their bit patterns), equal truncated keys by position."""
    low = np.uint64((1 << bits) - 1)
    high = ~low
    kb = key.view(np.uint64)
    for i in range(seq.shape[0]):
        packed[i] = (kb[seq[i]] & high) | np.uint64(i)


@numba.njit(cache=True)
def _unpack_half(packed, bits, seq, key, out, vals):
    """``seq`` in the order of the sorted ``packed`` into ``out``, each run of equal
    truncated keys re-sorted stably by the full key (``vals``: scratch). The result is
    ``seq`` sorted by ``key[seq]`` ascending, ties kept in ``seq`` order."""
    low = np.uint64((1 << bits) - 1)
    sh = np.uint64(bits)
    m = packed.shape[0]
    for i in range(m):
        out[i] = seq[np.int64(packed[i] & low)]
    start = 0
    while start < m:
        head = packed[start] >> sh
        end = start + 1
        while end < m and (packed[end] >> sh) == head:
            end += 1
        if end - start > 1:
            _sort_run_low(out[start:end], key, low, vals[start:end])
        start = end
    return out


@numba.njit(cache=True)
def _sort_run_low(run, key, low, scratch):
    """Stable sort of ``run`` (tokens whose keys agree above the ``low`` bits) by those low
    bits of ``key[token]``: insertion sort for short runs, else least-significant-digit
    radix passes of 9 bits (stable counting sorts; ``scratch``: a float row of the run's
    length, reused for the bits)."""
    m = run.shape[0]
    kb = key.view(np.uint64)
    if m <= 32:
        for i in range(1, m):
            t = run[i]
            kt = kb[t] & low
            j = i - 1
            while j >= 0 and (kb[run[j]] & low) > kt:
                run[j + 1] = run[j]
                j -= 1
            run[j + 1] = t
        return
    bits = scratch.view(np.uint64)
    src = run.copy()
    counts = np.empty(513, np.int64)
    shift = np.uint64(0)
    while (low >> shift) > np.uint64(0):
        for i in range(m):
            bits[i] = (kb[src[i]] & low) >> shift
        counts[:] = 0
        for i in range(m):
            counts[np.int64(bits[i] & np.uint64(511)) + 1] += 1
        for d in range(512):
            counts[d + 1] += counts[d]
        for i in range(m):
            d = np.int64(bits[i] & np.uint64(511))
            run[counts[d]] = src[i]
            counts[d] += 1
        src[:] = run
        shift += np.uint64(9)


def _half_order(seq, key, out, vals, packed):
    """``seq`` sorted by ``key[seq]`` ascending, ties kept in ``seq`` order (stable), into
    ``out`` (``vals``, ``packed``: scratch of the same length). numpy sorts packed keys
    (numba's own sort is several times slower on unsorted input)."""
    bits = _order.id_bits(max(seq.shape[0], 1))
    _pack_half(seq, key, bits, packed)
    packed.sort()
    return _unpack_half(packed, bits, seq, key, out, vals)


@numba.njit(cache=True)
def _certify(seq, lo, target, mass, th, kc, kt):
    """Smallest ``sum_{i<=j} X_i - (I(lo + Q_j) - I(lo))`` over the prefixes of ``seq``."""
    s = 0.0
    pos = lo
    hint = _sweep.count_near(th, lo, np.int64(0))  # pos only grows: search near the last one
    base = _sweep.pw_value(lo, th, kc, kt, hint)
    worst = np.inf
    for y in seq:
        s += target[y]
        pos += mass[y]
        hint = _sweep.count_near(th, pos, hint)
        slack = s - (_sweep.pw_value(pos, th, kc, kt, hint) - base)
        if slack < worst:
            worst = slack
    return worst


@numba.njit(cache=True)
def _sweep_in_order(seq, lo, hi, target, mass, k, th, kc, kt, start, length, first, count, np_,
                    hole_a, hole_b, group, fw, iw):
    """The PIECEWISE sweep of the tokens ``seq``, run on copies of their targets and masses
    laid out in ``seq`` order (then ``first``, ``count`` scattered back to each token's
    owner ``group[token]``).

    Same arithmetic, same pieces; but the sweep's loop then reads consecutive memory instead
    of jumping around four vocabulary-sized arrays (at V = 151936 those cache misses were
    most of its time)."""
    m = seq.shape[0]
    ids = iw[_I_SEQ, :m]
    tgt = fw[_TGT, :m]
    mas = fw[_MAS, :m]
    fst = iw[_I_FST, :m]
    cnt = iw[_I_CNT, :m]
    for i in range(m):
        ids[i] = i
        tgt[i] = target[seq[i]]
        mas[i] = mass[seq[i]]
        fst[i] = 0
        cnt[i] = 0
    np_ = _sweep.sweep(ids, lo, hi, tgt, mas, _sweep.PIECEWISE, k, th, kc, kt, start, length, fst,
                       cnt, np_, hole_a, hole_b)
    for i in range(m):
        first[group[seq[i]]] = fst[i]
        count[group[seq[i]]] = cnt[i]
    return np_


@numba.njit(cache=True)
def _wor_step_a(p, q, sp, sq, order, n, fw, fo, io):
    """Step A of the two-draft without-replacement table and the sweep's inputs: ``x``,
    ``qh``, ``theta``, ``om``, ``group`` (token-indexed, into ``fo``, ``io``), and into the
    workspace rows ``th``, ``kap``, ``kc``, ``kt``, the atom targets ``target`` and their
    means ``key``. Returns ``(js, A, c, alpha)``."""
    vocab = p.shape[0]
    ip = 1.0 / sp
    ps = fw[_PS, :n]
    qs = fw[_QS, :n]
    qh = fo[_O_QH]
    qh[:] = 0.0
    _gather(p, q, ip, 1.0 / sq, order, n, ps, qs, qh)
    om_s = _one_minus_each(qs, fw[_OM, :n])
    cp = fw[_CP, :n + 1]
    cq = fw[_CQ, :n + 1]
    cs = fw[_CS, :n + 1]
    js, A, c, x_t, x_u, alpha = _cut(ps, qs, np.int64(2), np.int64(WOR), om_s, cp, cq, cs,
                                     fw[_NUP, :n + 1])
    x = fo[_O_X]
    x[:] = 0.0
    _waterfill(ps, qs, order, js, cp, cq, cs, x_t, x_u, x)
    # the selection density of the "extra pair" decomposition (THEORY section 7)
    th = fw[_TH, :n]
    kap = fw[_KAP, :n]
    theta = fo[_O_THETA]
    theta[:] = np.inf
    om = fo[_O_OM]
    om[:] = 1.0
    group = io[_O_GROUP]
    group[:] = -1
    kc = fw[_KC, :n + 1]
    kt = fw[_KT, :n + 1]
    kc[0] = 0.0
    kt[0] = 0.0
    target = fw[_TARGET, :vocab]  # token-indexed, read only at the n tokens with q > 0
    key = fw[_KEY, :vocab]
    for i in range(n):  # one pass: each token's rows are written together
        t = order[i]
        th[i] = cq[i] + 0.5 * qs[i]
        kap[i] = qs[i] * qs[i] / om_s[i]
        kc[i + 1] = kc[i] + kap[i]
        kt[i + 1] = kt[i] + kap[i] * th[i]
        theta[t] = th[i]
        om[t] = om_s[i]
        group[t] = i
        target[t] = x[t] + kap[i] * (1.0 - th[i])
        key[t] = target[t] / qs[i]
    return js, A, c, alpha


@numba.njit(cache=True)
def _wor_step_b(p, sp, seq_t, seq_u, n, js, A, c, fw, pw, iw, fo, io):
    """Certificate and sweep of the without-replacement table (the halves ``seq_t``,
    ``seq_u`` in ascending ``key``), then the residual and piece sums.
    Returns ``(ok, worst_slack, tolerance, np_, res_last)``."""
    vocab = p.shape[0]
    th = fw[_TH, :n]
    kc = fw[_KC, :n + 1]
    kt = fw[_KT, :n + 1]
    target = fw[_TARGET, :vocab]
    qh = fo[_O_QH]
    group = io[_O_GROUP]
    top = _sweep.pw_value(A + c, th, kc, kt)
    tol = CERT_TOL_ULPS * _EPS * (n + 1) * max(1.0, top)
    worst = min(_certify(seq_t, 0.0, target, qh, th, kc, kt),
                _certify(seq_u, A, target, qh, th, kc, kt))
    ok = worst >= -tol
    np_ = 0
    start = pw[_P_START]
    length = pw[_P_LENGTH]
    cum = pw[_P_CUM]
    first = io[_O_FIRST, :n]
    count = io[_O_COUNT, :n]
    first[:] = 0
    count[:] = 0
    if ok:
        hole_a = fw[_HOLE_A]
        hole_b = fw[_HOLE_B]
        two = np.int64(2)  # not a literal: see the i.i.d. build
        np_ = _sweep_in_order(seq_t, 0.0, A, target, qh, two, th, kc, kt, start, length, first,
                              count, np.int64(0), hole_a, hole_b, group, fw, iw)
        np_ = _sweep_in_order(seq_u, A, A + c, target, qh, two, th, kc, kt, start, length, first,
                              count, np_, hole_a, hole_b, group, fw, iw)
    res_last = _residual(p, 1.0 / sp, fo[_O_X], fo[_O_RES_CUM])
    _piece_sums(first, count, length, cum, fo[_O_TOKLEN, :n])
    return ok, worst, tol, np_, res_last


def build_wor(p, q, sp, sq, order, n, ws, fo, io):
    """Table of the two-draft without-replacement verifier; when its certificate fails
    (``ok`` false) no pieces are built and the caller falls back to the i.i.d. table.
    Scratch from the workspace ``ws`` (the ratio order ``order`` may live in its first int
    row); output as for :func:`build_iid`, with two more rows of ``fo``: ``theta`` and
    ``om``; the owner of token ``order[i]`` is ``i``.

    Returns ``(ok, worst_slack, tolerance, np_, owners, res_last, js, A, alpha)``.
    """
    fw, iw = ws.f, ws.i
    js, A, c, alpha = _wor_step_a(p, q, sp, sq, order, n, fw, fo, io)
    key = fw[_KEY, :p.shape[0]]
    seqs = iw[_I_HALF, :n]
    vals = fw[_TGT, :n]
    packed = ws.u[0, :n]  # the ratio keys are not needed once the order is known
    seq_t = _half_order(order[:js], key, seqs[:js], vals[:js], packed[:js])
    seq_u = _half_order(order[js:n], key, seqs[js:], vals[js:], packed[js:])
    ok, worst, tol, np_, res_last = _wor_step_b(p, sp, seq_t, seq_u, n, js, A, c, fw, ws.pieces,
                                                iw, fo, io)
    return ok, worst, tol, np_, n, res_last, js, A, alpha


@numba.njit(cache=True)
def collapse_bonus(p, ip, x, qh, om, res_cum):
    """Extra acceptance of the without-replacement fallback: a collapsed pair ``(y, y)`` that
    is rejected draws the residual, which is the discarded second draft with probability
    ``sum_z q(z) res(z) / (1 - q(y))`` (``res`` normalised; zero on the rejected ``y``).

    Returns ``S * sum_y q(y)^2 rej(y) / (1 - q(y))`` with ``S = sum_z q(z) res(z)``.
    """
    total = res_cum[res_cum.shape[0] - 1]
    if not total > 0.0:
        return 0.0
    s = 0.0
    w = 0.0
    for y in range(p.shape[0]):
        py = p[y] * ip
        res = max(py - x[y], 0.0)
        s += qh[y] * res
        if x[y] > py and qh[y] > 0.0:
            w += qh[y] * qh[y] * (1.0 - py / x[y]) / om[y]
    return (s / total) * w


# ---------------------------------------------------------------- Python-side table
@dataclass(frozen=True, eq=False)
class Table:
    """Everything a verifier needs about one (p, q) pair (float64; token-indexed arrays).

    Attributes
    ----------
    x : ndarray (V,)
        Law of the selected token (Step A), normalised target scale.
    qh : ndarray (V,)
        ``q`` divided by its sum.
    group : ndarray of int64 (V,)
        Owner of each token's pieces (-1 where ``q = 0``): a group of tokens with equal
        means ``x/q`` for i.i.d. drafts (tokens of one group share their pieces, and each
        draws its position uniformly on all of them), the token's place in the ratio order
        without replacement.
    first, count : ndarray of int64 (owners,)
        The pieces of owner ``g`` are ``start[first[g] : first[g] + count[g]]`` (lengths
        alike); token ``y``'s are its owner's, ``g = group[y]``.
    start, length : ndarray
        The pieces (Step B).
    cum : ndarray
        ``cum[j]``: length of the owner's pieces stored before piece ``j``.
    toklen : ndarray (owners,)
        Total piece length of each owner (its tokens' ``q_hat`` up to rounding).
    res_cum : ndarray (V,)
        Prefix sums, in token order, of the residual ``(p_hat - x)_+``.
    res_last : int
        Last token with positive residual (-1 if none).
    cut : int
        ``|T|``: the min cut is the first ``cut`` tokens of the ratio order.
    split : float
        ``A = q(T)``: ``T``'s pieces tile ``[0, A]``.
    alpha : float
        ``alpha* = p(T) + x(U)``.
    k : int
    law : int
        :data:`IID` or :data:`WOR`.
    fallback : bool
        Without replacement only: the certificate failed and the table is the i.i.d. one
        for ``k = 2`` (the verifier first collapses pairs, see ``opt_wor``).
    worst_slack, tolerance : float
        Without replacement only: the certificate's smallest prefix slack and its tolerance.
    theta, om : ndarray (V,)
        Without replacement only: ``theta`` per token (position that decides an extra pair)
        and ``1 - q_hat`` per token.
    reason : str
        Why a without-replacement pair fell back: ``"convex order"`` (the certificate
        failed) or ``"ill-conditioned"`` (some ``kappa > KAPPA_MAX``); empty otherwise.
    """

    x: np.ndarray
    qh: np.ndarray
    group: np.ndarray
    first: np.ndarray
    count: np.ndarray
    start: np.ndarray
    length: np.ndarray
    cum: np.ndarray
    toklen: np.ndarray
    res_cum: np.ndarray
    res_last: int
    cut: int
    split: float
    alpha: float
    k: int
    law: int
    fallback: bool = False
    worst_slack: float = np.inf
    tolerance: float = 0.0
    theta: np.ndarray | None = None
    om: np.ndarray | None = None
    reason: str = ""


def _pieces(ws, np_: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh copies of the pieces a build left in the workspace (start, length, cum)."""
    out, _ = _work.table_memory(3, 0, np_)
    out[:] = ws.pieces[:, :np_]
    return out[0], out[1], out[2]


def _iid_table(p, q, sp, sq, k, order, n, ws, law=IID) -> Table:
    vocab = p.shape[0]
    fo, io = _work.table_memory(*_IID_ROWS, vocab)
    np_, owners, res_last, js, A, alpha = build_iid(p, q, sp, sq, k, order, n, ws.f, ws.pieces,
                                                    ws.i, fo, io)
    return _table_from(ws, fo, io, np_, owners, res_last, js, A, alpha, k, law)


def _table_from(ws, fo, io, np_, owners, res_last, js, A, alpha, k, law) -> Table:
    """The :class:`Table` of an i.i.d. build that wrote ``fo``, ``io`` and ``np_`` pieces."""
    start, length, cum = _pieces(ws, np_)
    return Table(fo[_O_X], fo[_O_QH], io[_O_GROUP], io[_O_FIRST, :owners],
                 io[_O_COUNT, :owners], start, length, cum, fo[_O_TOKLEN, :owners],
                 fo[_O_RES_CUM], int(res_last), int(js), float(A), float(alpha), k, law)


def below_resolution(t: Table) -> np.ndarray:
    """Tokens with ``q > 0`` whose owner's pieces have zero total length: lighter than the
    float resolution of a position (``_sweep``'s docstring, "Float resolution")."""
    return (t.qh > 0) & (t.toklen[np.maximum(t.group, 0)] == 0)


def certified(worst: float, tol: float) -> bool:
    """The without-replacement certificate: every prefix slack is at least ``-tol``."""
    return worst >= -tol


@numba.njit(cache=True)
def _top_and_rest(q, iq):
    """The largest ``q * iq`` and the sum of the others (added in token order, without the
    cancellation of ``1 - top``)."""
    top = 0
    for i in range(q.shape[0]):
        if q[i] > q[top]:
            top = i
    rest = 0.0
    for i in range(q.shape[0]):
        if i != top:
            rest += q[i] * iq
    return q[top] * iq if q.shape[0] > 0 else 0.0, rest


def well_conditioned(q: np.ndarray, sq: float) -> bool:
    """Every ``kappa = q^2 / (1 - q)`` of the normalised draft is at most :data:`KAPPA_MAX`
    (one pass for the largest ``q``, one for the sum of the others, no fresh memory)."""
    top, rest = _top_and_rest(q, 1.0 / sq)
    return bool(top * top <= KAPPA_MAX * rest)


def build(p: np.ndarray, q: np.ndarray, sp: float, sq: float, k: int, law: int) -> Table:
    """The table of one checked row pair (float64 C-contiguous ``p``, ``q``; row sums).

    i.i.d. tables with ``k >= 2`` at ``V >= _buckets.MIN_VOCAB`` order only the ratio
    buckets that matter (:mod:`specsample.optimal._buckets`); the others start from the full
    ratio order. Scratch comes from the calling thread's workspace
    (:mod:`specsample.optimal._work`); the table's arrays are all fresh."""
    from specsample.optimal import _buckets  # here: _buckets imports this module

    ws = _work.get(p.shape[0])
    if law == IID and k >= 2 and p.shape[0] >= _buckets.MIN_VOCAB:
        fo, io = _work.table_memory(*_IID_ROWS, p.shape[0])
        np_, owners, res_last, js, A, alpha = _buckets.build_iid(p, q, sp, sq, k, ws, fo, io)
        return _table_from(ws, fo, io, np_, owners, res_last, js, A, alpha, k, IID)
    order, n = _order.ratio_order(p, q, ws)
    if law == IID:
        return _iid_table(p, q, sp, sq, k, order, n, ws)
    if not well_conditioned(q, sq):
        return _fallback(p, q, sp, sq, order, n, ws, -np.inf, 0.0, "ill-conditioned")
    fo, io = _work.table_memory(*_WOR_ROWS, p.shape[0])
    swept, worst, tol, np_, owners, res_last, js, A, alpha = build_wor(
        p, q, sp, sq, order, n, ws, fo, io)
    if not (swept and certified(worst, tol)):
        return _fallback(p, q, sp, sq, order, n, ws, worst, tol, "convex order")
    start, length, cum = _pieces(ws, np_)
    return Table(fo[_O_X], fo[_O_QH], io[_O_GROUP], io[_O_FIRST, :owners],
                 io[_O_COUNT, :owners], start, length, cum, fo[_O_TOKLEN, :owners],
                 fo[_O_RES_CUM], int(res_last), int(js), float(A), float(alpha), 2, WOR, False,
                 float(worst), float(tol), fo[_O_THETA], fo[_O_OM])


def _fallback(p, q, sp, sq, order, n, ws, worst, tol, reason) -> Table:
    """The without-replacement fallback: the i.i.d. table for k = 2 (collapsed pairs)."""
    base = _iid_table(p, q, sp, sq, 2, order, n, ws, WOR)
    om = np.ones(p.shape[0])
    om[order[:n]] = _one_minus_each(np.ascontiguousarray(base.qh[order[:n]]), np.empty(n))
    alpha = base.alpha + collapse_bonus(p, 1.0 / sp, base.x, base.qh, om, base.res_cum)
    return Table(base.x, base.qh, base.group, base.first, base.count, base.start,
                 base.length, base.cum, base.toklen, base.res_cum, base.res_last, base.cut,
                 base.split, float(alpha), 2, WOR, True, float(worst), float(tol), None, om,
                 reason)
