"""Step B of the optimal verifiers: the left-curtain sweep that cuts [lo, hi] into pieces.

Every token owns pieces of total length ``q(y)``; a draft of token ``y`` draws a *position*
uniformly on ``y``'s pieces and the draft with the highest position is selected. With
selection density ``I'`` (``I(t) = t^k`` for ``k`` i.i.d. drafts; piecewise quadratic for
two drafts without replacement), ``P(select y) = mu(pieces of y)`` with ``mu = I' dt``
(``proofs/opt_sweep.md``). The sweep gives every token pieces with ``mu = X_y``, the
token's target, processing the tokens in ascending order of ``X_y / q_y``:

* keep the *holes* (free intervals below the running right end ``R``) on a stack;
* if the window ``[R, R + m]`` has ``mu <= X``, place the token at ``[u, u + m]`` with
  ``u >= R`` and ``mu = X``, leaving the hole ``[R, u]``;
* otherwise the token takes the top of the free space: the top parts of the highest holes
  and a shorter fresh part ``[R, R + f]``, contiguous in free space, with ``mu = X``;
* the last token of a region takes what is left.

The sweep succeeds whenever the prefix sums of the targets dominate ``I`` (the convex-order
condition); ``proofs/opt_sweep.md`` proves it, and the pieces total at most ``3 n``.

Two families of ``I`` (argument ``mode``):

``POLY`` (``I(t) = t^k``)
    window equations in closed form for ``k <= 3`` (linear, quadratic), safeguarded Newton
    for ``k >= 4`` (the equations are monotone and convex or concave, so Newton converges
    monotonically from the side it is started on).
``PIECEWISE`` (``I(t) = t^2 + sum_z kappa_z (t - theta_z)_+``, ``theta`` ascending)
    the equations are linear between breakpoints; the solver walks the breakpoints.

All arithmetic is float64 in a fixed order, so the pieces are a deterministic function of
the inputs. Rounding is absorbed by the last token of each region, which takes exactly the
free space that is left, so the pieces always tile the region.

Float resolution: a token whose mass is below half an ulp of where it lands (about 5.5e-17
near 1) cannot get an interval of positive float length; it gets a zero-length piece, so its
draws all sit at one point, and its selection probability is off its target by at most the
larger of its target and ``k`` times its mass. Real next-token laws have thousands of such
tokens: on 31 full-vocabulary Qwen2.5-Coder pairs (k = 2, 3, 4) their targets add up to at
most 1.1e-13 (``benchmarks/optimal_parts.py --raw``), which bounds what they move the
selection law in total variation (``tests/optimal/test_opt_tables.py`` checks the bound on a
pair with many of them).
"""

from __future__ import annotations

import math

import numba
import numpy as np

POLY = 0
PIECEWISE = 1
#: Newton iterations before a solver gives up improving (never reached in tests).
_MAX_NEWTON = 200


# ---------------------------------------------------------------- I(t) = t^k
@numba.njit(cache=True, inline="always")
def _ipow(a, e):
    r = 1.0
    for _ in range(e):
        r *= a
    return r


@numba.njit(cache=True)
def _binom(k, i):
    r = 1.0
    for j in range(i):
        r = r * (k - j) / (j + 1)
    return r


def _binom_table(kmax: int) -> np.ndarray:
    """``C(k, i)`` for ``k, i <= kmax``, each computed by :func:`_binom` itself (its Python
    body: the same float steps, without compiling it at import)."""
    table = np.zeros((kmax + 1, kmax + 1))
    for k in range(kmax + 1):
        for i in range(k + 1):
            table[k, i] = _binom.py_func(k, i)
    return table


#: Binomial coefficients for the k the sweeps meet (a constant to numba: no divisions in the
#: Newton loops); the values are exactly what :func:`_binom` computes.
_BINOM = _binom_table(16)


@numba.njit(cache=True, inline="always")
def poly_diff(a, h, k):
    """``(a + h)^k - a^k = sum_{i=1..k} C(k, i) a^(k-i) h^i`` (no cancellation for small h).

    Horner in ``h``; ``a^(k-i)`` is carried from one term to the next, which multiplies
    exactly as ``_ipow`` would (``1 * a * a ...``). For ``k = 2`` the same two roundings,
    written out: ``(h + 2a) h``."""
    if k == 2:
        return (h + 2.0 * a) * h
    total = 0.0
    power = 1.0  # a^(k - i), i from k down
    for i in range(k, 0, -1):
        c = _BINOM[k, i] if k < _BINOM.shape[0] else _binom(k, i)
        total = total * h + c * power
        power *= a
    return total * h


@numba.njit(cache=True)
def _pow_gap(z, b, e):
    """``z^e - b^e = (z - b) sum_{l<e} z^l b^(e-1-l)`` for ``z >= b >= 0``."""
    if e == 0:
        return 0.0
    s = 1.0  # Horner: sum_{i<e} b^i z^(e-1-i)
    bp = 1.0
    for _ in range(1, e):
        bp *= b
        s = s * z + bp
    return (z - b) * s


@numba.njit(cache=True, inline="always")
def _poly_window(R, m, X, top, k):
    """``u`` in ``[R, top]`` with ``(u + m)^k - u^k = X`` (increasing and convex in u)."""
    if top <= R or k == 1:
        return R
    if k == 2:
        u = 0.5 * (X / m - m)
    elif k == 3:
        c = (m * m * m - X) / (3.0 * m)  # u^2 + m u + c = 0, root >= 0 iff c <= 0
        disc = m * m - 4.0 * c
        u = R if disc < 0.0 else -2.0 * c / (m + math.sqrt(disc))
    else:
        xi = (X / (k * m)) ** (1.0 / (k - 1))  # mean-value guess: X / m = I'(xi)
        u = min(max(xi - 0.5 * m, R), top)
        f = poly_diff(u, m, k) - X
        slope = k * _pow_gap(u + m, u, k - 1)
        if f < 0.0 and slope > 0.0:  # left of the root: one Newton step lands right of it
            u = min(u - f / slope, top)
        for _ in range(_MAX_NEWTON):  # from the right: decreasing, stays >= the root
            f = poly_diff(u, m, k) - X
            slope = k * _pow_gap(u + m, u, k - 1)
            if not (f > 0.0 and slope > 0.0):  # converged, or m below u's resolution
                break
            un = u - f / slope
            if not un < u:
                break
            u = un
    return min(max(u, R), top)


@numba.njit(cache=True, inline="always")
def _poly_straddle(E, Z, b, t, k):
    """``a`` in ``[0, t]`` with ``[I(Z) - I(Z - a)] - [I(b) - I(b - a)] = E`` (``Z > b``).

    The left side is 0 at ``a = 0``, increasing, and concave for ``k >= 3``.
    """
    gap = Z - b
    if not gap > 0.0:
        return t
    if k == 2:
        a = E / (2.0 * gap)
    elif k == 3:
        c = E / (3.0 * gap)  # a (Z + b - a) = c
        s = Z + b
        disc = s * s - 4.0 * c
        a = t if disc < 0.0 else 2.0 * c / (s + math.sqrt(disc))
    else:
        a = 0.0  # Newton from the left of a concave increasing function: increasing
        for _ in range(_MAX_NEWTON):
            g = poly_diff(Z - a, a, k) - poly_diff(b - a, a, k) - E
            if not g < 0.0:
                break
            slope = k * _pow_gap(Z - a, b - a, k - 1)
            if not slope > 0.0:
                break
            an = a - g / slope
            if not an > a:
                break
            a = min(an, t)
            if a >= t:
                break
    return min(max(a, 0.0), t)


# ---------------------------------------------------------------- piecewise quadratic I
@numba.njit(cache=True)
def _search_near(th, t, hint, at_most):
    """``#{theta < t}`` (``#{theta <= t}`` if ``at_most``) for ascending ``th``, searched
    outward from ``hint``: a binary search's count in O(log distance) probes, not O(log n).

    The sweep queries positions close to its running right end, which only grows, so a
    hint kept there turns most searches into a few neighbouring reads."""
    n = th.shape[0]
    j = min(max(hint, 0), n)
    lo = j
    hi = j
    if j < n and (th[j] <= t if at_most else th[j] < t):  # the count is above j
        step = 1
        lo = j + 1
        hi = lo
        while hi < n and (th[hi] <= t if at_most else th[hi] < t):
            lo = hi + 1
            hi = lo + step
            step *= 2
        hi = min(hi, n)
    elif j > 0 and not (th[j - 1] <= t if at_most else th[j - 1] < t):  # below j
        step = 1
        hi = j - 1
        lo = hi
        while lo > 0 and not (th[lo - 1] <= t if at_most else th[lo - 1] < t):
            hi = lo - 1
            lo = hi - step
            step *= 2
        lo = max(lo, 0)
    # now th[lo - 1] is below t (or lo = 0) and th[hi] is not (or hi = n): search [lo, hi]
    while lo < hi:
        mid = (lo + hi) >> 1
        if th[mid] <= t if at_most else th[mid] < t:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def count_near(th, t, hint):
    """``#{theta < t}``, searched from ``hint`` (see :func:`_search_near`)."""
    return _search_near(th, t, hint, False)


@numba.njit(cache=True)
def pw_value(t, th, kc, kt, hint=0):
    """``I(t) = t^2 + t K(t) - KT(t)``, K, KT the prefix sums of kappa, kappa*theta below t.
    ``hint``: a guess of ``#{theta < t}`` (any value gives the same result)."""
    j = _search_near(th, t, hint, False)
    return t * t + t * kc[j] - kt[j]


@numba.njit(cache=True, inline="always")
def pw_diff(a, h, th, kc, kt, hint=0):
    """``I(a + h) - I(a)`` for the piecewise quadratic ``I`` (``hint`` as for pw_value)."""
    j1 = _search_near(th, a, hint, False)
    j2 = _search_near(th, a + h, j1, False)
    return 2.0 * a * h + h * h + h * kc[j2] + a * (kc[j2] - kc[j1]) - (kt[j2] - kt[j1])


@numba.njit(cache=True, inline="always")
def _pw_window(R, m, X, top, th, kc, kt, hint=0):
    """``u`` in ``[R, top]`` with ``I(u + m) - I(u) = X``: linear between breakpoints."""
    if top <= R:
        return R
    n = th.shape[0]
    u = R
    # on the piece just right of u: j1 = #{theta <= u}, j2 = #{theta - m <= u}
    j1 = _search_near(th, u, hint, True)
    j2 = _search_near(th, u + m, j1, True)
    while j2 < n and th[j2] - m <= u:
        j2 += 1
    while j2 > 0 and th[j2 - 1] - m > u:
        j2 -= 1
    while True:
        nb = top
        if j1 < n and th[j1] < nb:
            nb = th[j1]
        if j2 < n and th[j2] - m < nb:
            nb = th[j2] - m
        slope = 2.0 * m + (kc[j2] - kc[j1])
        const = m * m + m * kc[j2] - (kt[j2] - kt[j1]) - X
        if slope * nb + const >= 0.0:
            root = -const / slope
            return min(max(root, u), nb)
        if nb >= top:
            return top
        u = nb
        while j1 < n and th[j1] <= u:
            j1 += 1
        while j2 < n and th[j2] - m <= u:
            j2 += 1


@numba.njit(cache=True, inline="always")
def _pw_straddle(E, Z, b, t, th, kc, kt, hint, hint_b):
    """``a`` in ``[0, t]`` with ``[I(Z) - I(Z - a)] - [I(b) - I(b - a)] = E`` (``Z > b``).
    ``hint``, ``hint_b``: guesses of ``#{theta < Z}``, ``#{theta < b}``; any values give the
    same result."""
    jz = _search_near(th, Z, hint, False)
    jb = _search_near(th, b, hint_b, False)
    iz = jz
    ib = jb
    a0 = 0.0
    while True:
        nb = t
        if iz > 0 and Z - th[iz - 1] < nb:
            nb = Z - th[iz - 1]
        if ib > 0 and b - th[ib - 1] < nb:
            nb = b - th[ib - 1]
        c1 = -2.0 * (Z - b) - (kc[iz] - kc[ib])
        c0 = (E - (Z * (kc[jz] - kc[iz]) - (kt[jz] - kt[iz]))
              + (b * (kc[jb] - kc[ib]) - (kt[jb] - kt[ib])))
        if c0 + c1 * nb <= 0.0:
            root = -c0 / c1 if c1 < 0.0 else nb
            return min(max(root, a0), nb)
        if nb >= t:
            return t
        a0 = nb
        while iz > 0 and Z - th[iz - 1] <= a0:
            iz -= 1
        while ib > 0 and b - th[ib - 1] <= a0:
            ib -= 1


# ---------------------------------------------------------------- dispatch on mode
# The window, straddle and difference solvers (and poly_diff) are inlined into the sweep
# (``inline="always"``): as calls, with three arrays each, they cost about as much as their
# arithmetic, and inlining them halved the without-replacement sweep and cut the i.i.d.
# builds for k >= 3 by 10-20% (same pieces, bit for bit). ``_search_near`` stays a call:
# inlining its dozen call sites bought nothing and multiplied the compile time.
@numba.njit(cache=True, inline="always")
def _diff(a, h, mode, k, th, kc, kt, hint):
    if mode == POLY:
        return poly_diff(a, h, k)
    return pw_diff(a, h, th, kc, kt, hint)


@numba.njit(cache=True, inline="always")
def _window(R, m, X, top, mode, k, th, kc, kt, hint):
    if mode == POLY:
        return _poly_window(R, m, X, top, k)
    return _pw_window(R, m, X, top, th, kc, kt, hint)


@numba.njit(cache=True, inline="always")
def _straddle(E, Z, b, t, mode, k, th, kc, kt, hint, hint_b):
    if mode == POLY:
        return _poly_straddle(E, Z, b, t, k)
    return _pw_straddle(E, Z, b, t, th, kc, kt, hint, hint_b)


# ---------------------------------------------------------------- the sweep
@numba.njit(cache=True, inline="always")
def _nonempty(y, at, first, start, length, np_):
    """Give token ``y`` a zero-length piece at ``at`` if rounding left it with none, so
    every token with ``q > 0`` can draw a position."""
    if np_ == first[y]:
        start[np_] = at
        length[np_] = 0.0
        return np_ + 1
    return np_


@numba.njit(cache=True, inline="always")
def _piece(a, b, start, length, np_):
    """Append the piece ``[a, b]``; empty pieces (rounding) are not stored."""
    if not b > a:
        return np_
    start[np_] = a
    length[np_] = b - a
    return np_ + 1


@numba.njit(cache=True)
def sweep(seq, lo, hi, target, mass, mode, k, th, kc, kt,
          start, length, first, count, np_, hole_a, hole_b):
    """Cut ``[lo, hi]`` into pieces for the tokens ``seq`` (ascending ``target / mass``).

    ``target[y]`` and ``mass[y]`` are indexed by token id. Pieces are appended to ``start``
    and ``length`` from index ``np_``; token ``y`` gets ``first[y]`` and ``count[y]``.
    ``hole_a``, ``hole_b`` are work buffers (length >= len(seq)). Returns the new ``np_``.

    The work is :func:`_sweep_impl`, compiled once per mode (and for ``k = 2`` and ``3``
    once per k) so that each version carries only its own solvers: one version for all
    modes ran several times slower.
    """
    if mode == POLY:
        if k == 2:
            return _sweep_impl(seq, lo, hi, target, mass, POLY, 2, k, th, kc, kt, start, length,
                               first, count, np_, hole_a, hole_b)
        if k == 3:
            return _sweep_impl(seq, lo, hi, target, mass, POLY, 3, k, th, kc, kt, start, length,
                               first, count, np_, hole_a, hole_b)
        return _sweep_impl(seq, lo, hi, target, mass, POLY, 0, k, th, kc, kt, start, length,
                           first, count, np_, hole_a, hole_b)
    return _sweep_impl(seq, lo, hi, target, mass, PIECEWISE, 0, k, th, kc, kt, start, length,
                       first, count, np_, hole_a, hole_b)


@numba.njit(cache=True)
def _sweep_impl(seq, lo, hi, target, mass, mode, k_fixed, k_any, th, kc, kt,
                start, length, first, count, np_, hole_a, hole_b):
    """:func:`sweep` with ``mode`` and ``k_fixed`` compile-time constants (``k_fixed = 0``:
    take ``k_any``)."""
    numba.literally(mode)
    numba.literally(k_fixed)
    k = k_any if k_fixed == 0 else k_fixed
    nt = seq.shape[0]
    R = lo
    nh = 0
    jr = np.int64(0)  # PIECEWISE: #{theta < R}, a search hint (R only grows)
    # PIECEWISE: #{theta < cb} for the end cb of the hole last straddled. The top hole can
    # lie far below R (tens of thousands of breakpoints on LLM pairs), and many tokens in a
    # row straddle it: searching near its end, not near R, saves a long search for each.
    cb = -1.0
    jb = np.int64(0)
    for idx in range(nt):
        if mode != POLY:
            jr = _search_near(th, R, jr, False)
        y = seq[idx]
        m = mass[y]
        X = target[y]
        first[y] = np_
        if idx == nt - 1:  # the last token takes every hole and the rest of the region
            for h in range(nh):
                np_ = _piece(hole_a[h], hole_b[h], start, length, np_)
            nh = 0
            if hi > R:
                np_ = _piece(R, hi, start, length, np_)
            np_ = _nonempty(y, R, first, start, length, np_)
            count[y] = np_ - first[y]
            break
        excess = _diff(R, m, mode, k, th, kc, kt, jr) - X
        if not excess > 0.0 or nh == 0:
            u = _window(R, m, X, hi - m, mode, k, th, kc, kt, jr)
            if u > R:
                hole_a[nh] = R
                hole_b[nh] = u
                nh += 1
            np_ = _piece(u, u + m, start, length, np_)
            R = u + m
        else:
            f = m  # length still placed in the fresh region [R, R + f]
            while nh > 0 and f > 0.0:
                a_h = hole_a[nh - 1]
                b_h = hole_b[nh - 1]
                t = min(b_h - a_h, f)
                Z = R + f
                if mode != POLY and b_h != cb:
                    jb = _search_near(th, b_h, jb, False)
                    cb = b_h
                after = (excess - _diff(Z - t, t, mode, k, th, kc, kt, jr)
                         + _diff(b_h - t, t, mode, k, th, kc, kt, jb))
                if after > 0.0:  # still too heavy: take all of t from this hole
                    excess = after
                    f -= t
                    if t >= b_h - a_h:
                        np_ = _piece(a_h, b_h, start, length, np_)
                        nh -= 1
                    else:
                        np_ = _piece(b_h - t, b_h, start, length, np_)
                        hole_b[nh - 1] = b_h - t
                else:
                    a = _straddle(excess, Z, b_h, t, mode, k, th, kc, kt, jr, jb)
                    if a > 0.0:
                        np_ = _piece(b_h - a, b_h, start, length, np_)
                    if a >= b_h - a_h:
                        nh -= 1
                    else:
                        hole_b[nh - 1] = b_h - a
                    f -= a
                    break
            if f > 0.0:
                np_ = _piece(R, R + f, start, length, np_)
                R = R + f
        np_ = _nonempty(y, R, first, start, length, np_)
        count[y] = np_ - first[y]
    return np_
