"""Step C of the optimal verifiers: select one draft by position, then single-draft sampling.

Given the pair's :class:`~specsample.optimal._build.Table`, a draft tuple and ``k + 1``
uniforms ``u``:

i.i.d. drafts
    draft ``j`` (token ``y_j``) gets the position ``pos(y_j, u[j])``: the point at fraction
    ``u[j]`` of ``y_j``'s pieces, in the order the table stores them. The draft with the
    highest position is selected (the first one on a tie).
two drafts without replacement
    with probability ``q(y_1)`` (``u[0] < q(y_1)``) the pair is an *extra* pair: draft 2 is
    selected iff ``pos(y_2, u[1]) > theta(y_1)``. Otherwise draft 1's position uses the
    conditionally uniform ``(u[0] - q(y_1)) / (1 - q(y_1))`` and the higher position wins.
    If the pair's certificate failed (``Table.fallback``), an extra pair is collapsed to
    ``(y_1, y_1)`` instead -- draft 1 is selected -- and positions come from the i.i.d.
    table: the verifier is then the exact i.i.d. one for the collapsed pairs. If a collapsed
    pair is rejected and the residual draw is the discarded ``y_2``, the verdict reports
    index 1 (the output is that draft).

Then, with ``y`` the selected token: accept it when ``x(y) <= p(y)`` or ``u[k] x(y) < p(y)``;
otherwise draw the residual ``(p - x)_+`` by inverse CDF at ``(u[k] x(y) - p(y)) /
(x(y) - p(y))``, which is uniform on [0, 1) given the rejection. A rejection needs
``x(y) > p(y)``, so ``y`` lies in the cut ``T`` whose pieces tile ``[0, A]``, so every draft
lies in ``T``, while the residual lives outside ``T``: a residual token is never a draft.
Rounding guard (as in :mod:`specsample._chain`): a rejection meeting a residual of zero
total mass (probability zero in exact arithmetic) draws the output from the target ``p``
itself with the residual uniform, so no token the target rules out is ever returned.

The batched path runs the numba kernels; the one-row path runs the plain-Python twins below
on the same table (the table itself is built by one numba kernel for both paths: a Python
sweep would take seconds at full vocabulary). Both do the same float operations in the same
order, so they agree bit for bit on the same uniforms.
"""

from __future__ import annotations

import bisect

import numba
import numpy as np

from specsample import _sampling
from specsample.optimal._build import Table


# ---------------------------------------------------------------- numba kernels
@numba.njit(cache=True, inline="always")
def _position(y, u, group, first, count, start, length, cum, toklen):
    """The point at fraction ``u`` of token ``y``'s pieces (its owner ``g = group[y]``'s):
    the last piece whose ``cum`` is at most ``s = u * toklen[g]`` (binary search), then the
    offset inside it (clamped). A token without pieces (``q = 0``, never drafted) is at
    ``start[0]``."""
    g = group[y]
    if g < 0:
        return start[0]
    s = u * toklen[g]
    lo = first[g]
    hi = first[g] + count[g] - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if cum[mid] <= s:
            lo = mid
        else:
            hi = mid - 1
    return start[lo] + min(s - cum[lo], length[lo])


@numba.njit(cache=True, inline="always")
def _finish(p, ip, y, j, xy, uk, res_cum, res_last):
    """Step C for the selected token ``y`` (draft index ``j``): (token, index)."""
    py = p[y] * ip
    if xy <= py or uk * xy < py:
        return y, j
    v = (uk * xy - py) / (xy - py)
    total = res_cum[res_cum.shape[0] - 1]
    if not total > 0.0:  # rounding guard (module docstring): draw from the target
        return _sampling.draw_scaled(p, ip, v), -1
    i = _sampling.search_right(res_cum, v * total)
    if i == res_cum.shape[0]:
        i = res_last
    return i, -1


@numba.njit(cache=True)
def verify_iid_rows(p, ip, x, group, first, count, start, length, cum, toklen, res_cum,
                    res_last, drafts, u, tokens, index, row0):
    """Verify ``drafts[row0:row0 + len(u)]`` (each (k,)) against one table."""
    k = drafts.shape[1]
    for r in range(u.shape[0]):
        b = row0 + r
        best = np.int64(0)
        if k > 1:
            best_pos = -1.0
            for j in range(k):
                pos = _position(drafts[b, j], u[r, j], group, first, count, start, length, cum,
                                toklen)
                if pos > best_pos:
                    best_pos = pos
                    best = j
        y = drafts[b, best]
        tok, idx = _finish(p, ip, y, best, x[y], u[r, k], res_cum, res_last)
        tokens[b] = tok
        index[b] = idx


@numba.njit(cache=True)
def verify_wor_rows(p, ip, x, qh, om, theta, fallback, group, first, count, start, length,
                    cum, toklen, res_cum, res_last, drafts, u, tokens, index, row0):
    """Verify two-draft without-replacement tuples ``drafts[row0:...]`` against one table."""
    for r in range(u.shape[0]):
        b = row0 + r
        y1 = drafts[b, 0]
        y2 = drafts[b, 1]
        u0 = u[r, 0]
        if u0 < qh[y1]:  # an extra pair
            if fallback:
                best = np.int64(0)
            else:
                pos2 = _position(y2, u[r, 1], group, first, count, start, length, cum, toklen)
                best = 1 if pos2 > theta[y1] else 0
        else:
            v0 = (u0 - qh[y1]) / om[y1]
            pos1 = _position(y1, v0, group, first, count, start, length, cum, toklen)
            pos2 = _position(y2, u[r, 1], group, first, count, start, length, cum, toklen)
            best = 1 if pos2 > pos1 else 0
        y = drafts[b, best]
        tok, idx = _finish(p, ip, y, best, x[y], u[r, 2], res_cum, res_last)
        if fallback and idx < 0 and tok == y2:  # a collapsed pair's discarded draft
            idx = 1
        tokens[b] = tok
        index[b] = idx


# ---------------------------------------------------------------- plain-Python twins
def _position_py(t: Table, y: int, u: float) -> float:
    g = int(t.group[y])
    if g < 0:
        return float(t.start[0])
    s = u * float(t.toklen[g])
    lo = int(t.first[g])
    hi = lo + int(t.count[g]) - 1
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if float(t.cum[mid]) <= s:
            lo = mid
        else:
            hi = mid - 1
    return float(t.start[lo]) + min(s - float(t.cum[lo]), float(t.length[lo]))


def _finish_py(t: Table, p, ip: float, y: int, j: int, uk: float) -> tuple[int, int]:
    xy = float(t.x[y])
    py = float(p[y]) * ip
    if xy <= py or uk * xy < py:
        return y, j
    v = (uk * xy - py) / (xy - py)
    total = float(t.res_cum[-1])
    if not total > 0.0:
        return _sampling.np_draw(p * ip, v), -1
    i = bisect.bisect_right(t.res_cum, v * total)
    if i == t.res_cum.shape[0]:
        i = t.res_last
    return int(i), -1


def verify_one(t: Table, p: np.ndarray, ip: float, drafts: np.ndarray, u: np.ndarray):
    """One-row twin of the kernels: (token, index)."""
    k = drafts.shape[0]
    d = [int(v) for v in drafts]
    uu = [float(v) for v in u]
    if t.law == 0 or k == 1:
        best = 0
        if k > 1:
            best_pos = -1.0
            for j in range(k):
                pos = _position_py(t, d[j], uu[j])
                if pos > best_pos:
                    best_pos, best = pos, j
    else:
        y1, y2 = d
        q1 = float(t.qh[y1])
        if uu[0] < q1:
            best = 0 if t.fallback else int(_position_py(t, y2, uu[1]) > float(t.theta[y1]))
        else:
            v0 = (uu[0] - q1) / float(t.om[y1])
            best = int(_position_py(t, y2, uu[1]) > _position_py(t, y1, v0))
    y = d[best]
    tok, idx = _finish_py(t, p, ip, y, best, uu[k])
    if t.law == 1 and k == 2 and t.fallback and idx < 0 and tok == d[1]:
        idx = 1  # a collapsed pair's discarded draft
    return tok, idx


# ---------------------------------------------------------------- float laws
def _cdf(t: Table, y: int, at: float) -> float:
    """Fraction of token ``y``'s pieces below ``at`` (a token without pieces sits at
    ``start[0]``, as in the kernels)."""
    g = int(t.group[y])
    if g < 0:
        return float(at >= float(t.start[0]))
    total = float(t.toklen[g])
    lo = int(t.first[g])
    inside = sum(min(max(at - float(t.start[j]), 0.0), float(t.length[j]))
                 for j in range(lo, lo + int(t.count[g])))
    return inside / total if total > 0.0 else float(at >= float(t.start[lo]))


def max_is(t: Table, drafts: list[int], j: int) -> float:
    """P(draft ``j`` has the highest of the independent positions of ``drafts``).

    The highest position lies on the pieces of draft ``j``'s group with probability
    ``sum over the pieces of H(end) - H(start)``, ``H`` the product of the drafts' CDFs;
    given that, it is each of the drafts of that group equally likely (they are i.i.d.
    uniform on the same pieces, independent of the rest).
    """

    def joint(at: float) -> float:
        out = 1.0
        for z in drafts:
            out *= _cdf(t, z, at)
        return out

    g = int(t.group[drafts[j]])
    if g < 0:
        return 0.0
    lo = int(t.first[g])
    on_group = sum(joint(float(t.start[i]) + float(t.length[i])) - joint(float(t.start[i]))
                   for i in range(lo, lo + int(t.count[g])))
    same = sum(1 for z in drafts if t.group[z] == g)
    return on_group / same


def selection(t: Table, drafts: list[int]) -> dict[int, float]:
    """P(select token y | drafts) for each token of the tuple (float)."""
    k = len(drafts)
    if k == 1:
        return {drafts[0]: 1.0}
    out: dict[int, float] = {}
    if t.law == 0:
        for j, y in enumerate(drafts):
            out[y] = out.get(y, 0.0) + max_is(t, drafts, j)
        return out
    y1, y2 = drafts
    q1 = float(t.qh[y1])
    second = (1.0 - q1) * max_is(t, drafts, 1)
    if not t.fallback:
        second += q1 * (1.0 - _cdf(t, y2, float(t.theta[y1])))
    return {y1: 1.0 - second, y2: second}


def output_law(t: Table, p_hat: np.ndarray, drafts: list[int]) -> np.ndarray:
    """Law of the output given the drafts (float): selection, then Step C."""
    law = np.zeros(p_hat.shape[0])
    rejected = {}
    for y, prob in selection(t, drafts).items():
        xy, py = float(t.x[y]), float(p_hat[y])
        accept = 1.0 if xy <= py else py / xy
        law[y] += prob * accept
        rejected[y] = prob * (1.0 - accept)
    miss = sum(rejected.values())
    total = float(t.res_cum[-1])
    if miss > 0.0:
        if total > 0.0:
            law += miss * (np.diff(t.res_cum, prepend=0.0) / total)
        else:  # the rounding guard of the kernels draws from the target
            law += miss * (p_hat / p_hat.sum())
    return law
