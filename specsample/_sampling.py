"""Sampling primitives shared by the schemes, each in a numba and a plain-numpy form.

Every draw consumes one pre-drawn uniform ``u`` in [0, 1) by inversion: with weights ``w``
and sequential prefix sums ``C``, the token is the first ``i`` with ``C[i] > u * C[-1]``.
That never selects a zero-weight token. If rounding makes ``u * C[-1]`` reach ``C[-1]``, the
last token with positive weight is taken (the token whose interval ends at the total).

The numba and numpy forms do the same floating-point operations in the same order
(``np.cumsum`` accumulates left to right, like the loops here; adding ``0.0`` for a skipped
token is exact), so on the same uniforms they return the same tokens bit for bit.

Sums over the vocabulary (residual masses) use one fixed order, the *lane sum*: token ``i``
goes to lane ``i % LANES`` of the first ``V - V % LANES`` tokens, each lane is summed left to
right, the lanes are added in order, then the leftover tokens. The kernels write it as
independent accumulators, which the compiler vectorises; :func:`lane_sum` is the numpy twin
(a column-wise ``np.cumsum``), bit for bit the same.
"""

from __future__ import annotations

import numba
import numpy as np

from specsample import _kernel_cache

_kernel_cache.refresh()  # before any kernel of the package is compiled or loaded

#: Number of independent accumulators in a lane sum. 32 float64 accumulators are eight
#: 4-wide vector registers: enough independent additions in flight that a pass over the
#: vocabulary runs at memory speed (8 lanes were latency-bound at twice the read time).
LANES = 32


# ---------------------------------------------------------------- numba forms
@numba.njit(cache=True, inline="always")
def finish_lanes(acc):
    """Add the lane accumulators in order (the second stage of a lane sum)."""
    t = 0.0
    for lane in range(LANES):
        t += acc[lane]
    return t


@numba.njit(cache=True)
def search_right(cum, t):
    """First index ``i`` with ``cum[i] > t`` (``len(cum)`` if none); ``cum`` non-decreasing."""
    lo = 0
    hi = cum.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > t:
            hi = mid
        else:
            lo = mid + 1
    return lo


@numba.njit(cache=True)
def prefix_sums(w, cum):
    """Fill ``cum`` with the running sums of ``w``; return the last index with ``w > 0``."""
    s = 0.0
    last = -1
    for i in range(w.shape[0]):
        s += w[i]
        cum[i] = s
        if w[i] > 0.0:
            last = i
    return last


@numba.njit(cache=True)
def draw_from_prefix(cum, last, u):
    """Invert prefix sums ``cum`` (of a row whose last positive index is ``last``) at ``u``."""
    i = search_right(cum, u * cum[cum.shape[0] - 1])
    if i == cum.shape[0]:
        return last
    return i


@numba.njit(cache=True)
def draw_scaled(w, scale, u):
    """Invert the prefix sums of ``w * scale`` at ``u`` (the total summed left to right).

    The rounding guard of every verifier: when rounding leaves a residual with no mass (an
    event of probability zero in exact arithmetic), the residual uniform draws the output from
    the target ``p`` itself (``w = p``, ``scale = 1 / sum(p)``), which never yields a token
    the target rules out.
    """
    total = 0.0
    for i in range(w.shape[0]):
        total += w[i] * scale
    t = u * total
    cum = 0.0
    last = -1
    for i in range(w.shape[0]):
        v = w[i] * scale
        if v > 0.0:
            cum += v
            last = i
            if cum > t:
                return i
    return last


@numba.njit(cache=True)
def _excluded(i, excl, m):
    for j in range(m):
        if excl[j] == i:
            return True
    return False


@numba.njit(cache=True)
def draw_excluding(q, excl, m, u):
    """Draw from ``q`` with the tokens ``excl[:m]`` removed, renormalised.

    Two passes: the remaining mass is summed afresh (never ``1 - q(excluded)``, which loses
    every digit when the excluded tokens hold nearly all the mass), then inverted at ``u``.
    Returns -1 if no mass remains.
    """
    total = 0.0
    for i in range(q.shape[0]):
        if not _excluded(i, excl, m):
            total += q[i]
    t = u * total
    cum = 0.0
    last = -1
    for i in range(q.shape[0]):
        if q[i] > 0.0 and not _excluded(i, excl, m):
            cum += q[i]
            last = i
            if cum > t:
                return i
    return last


@numba.njit(cache=True)
def draft_iid_rows(q, u):
    """Kernel: ``u.shape[1]`` i.i.d. draws per row of ``q`` (``q`` has 1 or ``len(u)`` rows)."""
    n, k = u.shape
    vocab = q.shape[1]
    out = np.empty((n, k), np.int64)
    cum = np.empty(vocab)
    last = -1
    for b in range(n):
        r = 0 if q.shape[0] == 1 else b
        if b == 0 or q.shape[0] > 1:
            last = prefix_sums(q[r], cum)
        for j in range(k):
            out[b, j] = draw_from_prefix(cum, last, u[b, j])
    return out


@numba.njit(cache=True)
def draft_without_replacement_rows(q, u):
    """Kernel: ordered draws without replacement, one uniform per draw."""
    n, k = u.shape
    vocab = q.shape[1]
    out = np.empty((n, k), np.int64)
    cum = np.empty(vocab)
    last = -1
    for b in range(n):
        r = 0 if q.shape[0] == 1 else b
        if b == 0 or q.shape[0] > 1:
            last = prefix_sums(q[r], cum)
        out[b, 0] = draw_from_prefix(cum, last, u[b, 0])
        for j in range(1, k):
            out[b, j] = draw_excluding(q[r], out[b], j, u[b, j])
    return out


# ---------------------------------------------------------------- numpy forms
def lane_sum(v: np.ndarray) -> float:
    """Sum ``v`` in the lane order of the kernels (module docstring)."""
    body = v.shape[0] - v.shape[0] % LANES
    t = 0.0
    if body:
        acc = np.cumsum(v[:body].reshape(-1, LANES), axis=0)[-1]
        for lane in range(LANES):
            t += float(acc[lane])
    for x in v[body:]:
        t += float(x)
    return t


def np_draw(w: np.ndarray, u) -> np.ndarray | int:
    """Invert the prefix sums of weights ``w`` (1-D) at ``u`` (a scalar or an array)."""
    cum = np.cumsum(w)
    idx = np.searchsorted(cum, np.asarray(u) * cum[-1], side="right")
    last = np.flatnonzero(w > 0.0)[-1]
    idx = np.where(idx == w.shape[0], last, idx)
    return int(idx) if idx.ndim == 0 else idx.astype(np.int64)


def np_draw_excluding(q: np.ndarray, excluded, u: float) -> int:
    """Draw from ``q`` with the tokens ``excluded`` removed (numpy twin of draw_excluding)."""
    keep = np.ones(q.shape[0], dtype=bool)
    keep[np.asarray(excluded, dtype=np.int64)] = False
    return np_draw(np.where(keep, q, 0.0), u)


def np_draft_iid(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.asarray(np_draw(q, u), dtype=np.int64)


def np_draft_without_replacement(q: np.ndarray, u: np.ndarray) -> np.ndarray:
    out = np.empty(u.shape[0], dtype=np.int64)
    out[0] = np_draw(q, u[0])
    for j in range(1, u.shape[0]):
        out[j] = np_draw_excluding(q, out[:j], u[j])
    return out
