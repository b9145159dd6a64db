"""The ratio order: tokens sorted ascending by ``p/q`` (``q = 0`` last), ties by token id.

Every optimal verifier starts from this order (``THEORY.md`` section 7, Step A), so it is the
one sort a (target, draft) pair costs. It is computed from the *raw* inputs, before any
normalisation, and it is exact: two tokens are ordered by the exact rational comparison of
``p_i / q_i`` with ``p_j / q_j``, not by rounded quotients. That makes the float path order
the tokens exactly as the ``Fraction`` path orders the exact twins of the same floats (a
normalisation multiplies every ratio by the same factor).

How: a correctly rounded quotient is monotone in the exact ratio, so sorting by the bits of
``fl(p_i / q_i)`` (non-negative floats compare like their bit patterns) is right except
inside runs of equal keys. The keys are packed with the token id into one ``uint64``
(``high bits = key, low bits = id``) and sorted by numpy's vectorised sort, which leaves
runs of equal *truncated* keys in id order; :func:`fix_runs` then re-sorts each such run by
(full key, exact ratio, id). Runs are short on real data; long ones (for example ``p = q``
up to rounding) go through a merge sort with the same comparison, so the cost stays
``O(V log V)`` in the worst case.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Key of a token with ``q = 0``: above every finite or infinite ratio (``inf`` is
#: 0x7FF0...; no ratio is NaN), so such tokens come last.
_Q_ZERO_KEY = np.uint64(0xFFF0000000000000)
#: Runs of equal truncated keys longer than this are merge-sorted, shorter ones
#: insertion-sorted.
_INSERTION_MAX = 32
_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two 26-bit halves


def id_bits(vocab: int) -> int:
    """Number of low bits a packed key reserves for the token id."""
    return max(1, int(vocab - 1).bit_length())


@numba.njit(cache=True)
def ratio_keys_into(p, q, keys):
    """Write the bit patterns of ``fl(p / q)`` (``q > 0``) into ``keys`` (uint64),
    :data:`_Q_ZERO_KEY` for ``q = 0``."""
    ratio = keys.view(np.float64)
    for i in range(p.shape[0]):
        ratio[i] = p[i] / q[i] if q[i] > 0.0 else 0.0
    for i in range(p.shape[0]):
        if not q[i] > 0.0:
            keys[i] = _Q_ZERO_KEY
    return keys


def ratio_keys(p, q):
    """Bit patterns of ``fl(p / q)`` (``q > 0``) as uint64, :data:`_Q_ZERO_KEY` for ``q = 0``."""
    return ratio_keys_into(p, q, np.empty(p.shape[0], np.uint64))


@numba.njit(cache=True)
def pack_into(keys, bits, out):
    """Write ``(key with its low `bits` bits cleared) | token id`` for every token into ``out``."""
    low = np.uint64((1 << bits) - 1)
    high = ~low
    for i in range(keys.shape[0]):
        out[i] = (keys[i] & high) | np.uint64(i)
    return out


def pack(keys, bits):
    """``(key with its low `bits` bits cleared) | token id`` for every token."""
    return pack_into(keys, bits, np.empty(keys.shape[0], np.uint64))


# ---------------------------------------------------------------- exact comparison
@numba.njit(cache=True, inline="always")
def _two_product(a, b):
    """``a * b = hi + lo`` exactly (Dekker; valid for ``a, b`` in [0.5, 1), no FMA needed)."""
    hi = a * b
    t = _SPLITTER * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLITTER * b
    bh = t - (t - b)
    bl = b - bh
    lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl
    return hi, lo


@numba.njit(cache=True, inline="always")
def _scaled_product(a, b):
    """``a * b`` (both > 0) as (exponent, hi, lo) with ``hi`` in [0.5, 1): exact."""
    ma, ea = math.frexp(a)
    mb, eb = math.frexp(b)
    hi, lo = _two_product(ma, mb)
    e = ea + eb
    if hi < 0.5:  # hi in [0.25, 0.5): scaling by 2 is exact
        hi *= 2.0
        lo *= 2.0
        e -= 1
    return e, hi, lo


@numba.njit(cache=True)
def compare_ratios(pa, qa, pb, qb):
    """Sign of ``pa/qa - pb/qb`` computed exactly (``qa, qb > 0``; ``pa, pb >= 0``)."""
    if pa == 0.0 or pb == 0.0:
        if pa == 0.0 and pb == 0.0:
            return 0
        return -1 if pa == 0.0 else 1
    e1, h1, l1 = _scaled_product(pa, qb)
    e2, h2, l2 = _scaled_product(pb, qa)
    if e1 != e2:
        return -1 if e1 < e2 else 1
    if h1 != h2:
        return -1 if h1 < h2 else 1
    if l1 != l2:
        return -1 if l1 < l2 else 1
    return 0


@numba.njit(cache=True, inline="always")
def _before(a, b, p, q, keys):
    """Token ``a`` precedes token ``b``: (key, exact ratio, id) ascending."""
    if keys[a] != keys[b]:
        return keys[a] < keys[b]
    if q[a] > 0.0 and q[b] > 0.0:
        c = compare_ratios(p[a], q[a], p[b], q[b])
        if c != 0:
            return c < 0
    return a < b


@numba.njit(cache=True)
def _insertion(order, lo, hi, p, q, keys):
    for i in range(lo + 1, hi):
        t = order[i]
        j = i - 1
        while j >= lo and _before(t, order[j], p, q, keys):
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = t


@numba.njit(cache=True)
def _merge_sort(order, lo, hi, p, q, keys, buf):
    """Bottom-up merge sort of ``order[lo:hi]`` with :func:`_before` (stable)."""
    n = hi - lo
    width = 1
    src = order
    dst = buf
    in_buf = False
    while width < n:
        for start in range(0, n, 2 * width):
            mid = min(start + width, n)
            end = min(start + 2 * width, n)
            i, j, o = start, mid, start
            while i < mid and j < end:
                if _before(src[lo + j], src[lo + i], p, q, keys):
                    dst[lo + o] = src[lo + j]
                    j += 1
                else:
                    dst[lo + o] = src[lo + i]
                    i += 1
                o += 1
            while i < mid:
                dst[lo + o] = src[lo + i]
                i += 1
                o += 1
            while j < end:
                dst[lo + o] = src[lo + j]
                j += 1
                o += 1
        src, dst = dst, src
        in_buf = not in_buf
        width *= 2
    if in_buf:
        for i in range(lo, hi):
            order[i] = buf[i]


@numba.njit(cache=True)
def fix_runs_into(packed_sorted, bits, p, q, keys, order, buf):
    """Token order from sorted packed keys into ``order``, each run of equal truncated keys
    re-sorted exactly (long runs merge-sorted through ``buf``, of the vocabulary's length).

    Returns ``n``, the number of tokens with ``q > 0`` (they come first).
    """
    vocab = packed_sorted.shape[0]
    low = np.uint64((1 << bits) - 1)
    for i in range(vocab):
        order[i] = np.int64(packed_sorted[i] & low)
    start = np.int64(0)  # not a literal 0: that would compile the sorts twice
    while start < vocab:
        head = packed_sorted[start] >> np.uint64(bits)
        end = start + 1
        while end < vocab and (packed_sorted[end] >> np.uint64(bits)) == head:
            end += 1
        if end - start > 1:
            if end - start <= _INSERTION_MAX:
                _insertion(order, start, end, p, q, keys)
            else:
                _merge_sort(order, start, end, p, q, keys, buf)
        start = end
    n = 0
    while n < vocab and q[order[n]] > 0.0:
        n += 1
    return n


def fix_runs(packed_sorted, bits, p, q, keys):
    """:func:`fix_runs_into` on fresh arrays: returns ``(order, n)``."""
    vocab = packed_sorted.shape[0]
    order = np.empty(vocab, np.int64)
    n = fix_runs_into(packed_sorted, bits, p, q, keys, order, np.empty(vocab, np.int64))
    return order, n


def ratio_order(p: np.ndarray, q: np.ndarray, ws=None) -> tuple[np.ndarray, int]:
    """Exact ratio order of one row (float64 C-contiguous ``p``, ``q``); see the module.

    With a :class:`~specsample.optimal._work.Workspace` ``ws`` the order and its scratch
    live in the workspace (no fresh memory; the order is valid until the workspace's next
    use); without one, every array is fresh.
    """
    vocab = p.shape[0]
    bits = id_bits(vocab)
    if ws is None:
        keys, packed = np.empty((2, vocab), np.uint64)
        order, buf = np.empty((2, vocab), np.int64)
    else:
        keys, packed = ws.u[0, :vocab], ws.u[1, :vocab]
        order, buf = ws.i[0, :vocab], ws.i[1, :vocab]
    pack_into(ratio_keys_into(p, q, keys), bits, packed)
    packed.sort()
    n = fix_runs_into(packed, bits, p, q, keys, order, buf)
    return order, n
