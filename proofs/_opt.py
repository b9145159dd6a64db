"""Transcriptions shared by the exact checks of the optimal verifiers (``opt_*.md``).

Plain ``Fraction`` arithmetic, no library code: the selection density ``I`` of
``opt_sweep.md``, the stack sweep as stated there (for densities whose window equations are
piecewise linear: ``I(t) = t^2`` and the piecewise quadratic ``I`` of ``opt_wor.md``), and the
law of the selected draft given a tuple, computed by integrating the position densities
(``P(draft j is highest) = integral f_j prod_{i != j} F_i``), independently of the
``H(end) - H(start)`` shortcut the library uses.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

from proofs._common import ONE, ZERO, require

Piece = tuple[Fraction, Fraction]


class Density:
    """``I(t) = t^k``, or ``t^2 + sum_z kappa_z (t - theta_z)_+`` when ``theta`` is given."""

    def __init__(self, k: int = 2, theta: Sequence[Fraction] = (), kappa: Sequence[Fraction] = ()):
        self.k = k
        self.theta = list(theta)
        self.kappa = list(kappa)

    def value(self, t: Fraction) -> Fraction:
        v = t**self.k
        for tz, kz in zip(self.theta, self.kappa, strict=True):
            if tz < t:
                v += kz * (t - tz)
        return v

    def mu(self, a: Fraction, b: Fraction) -> Fraction:
        return self.value(b) - self.value(a)

    def slope_below(self, t: Fraction) -> Fraction:
        """Left derivative ``I'(t-)``: the largest density of ``mu`` on ``(t - h, t)``."""
        v = self.k * t ** (self.k - 1)
        for tz, kz in zip(self.theta, self.kappa, strict=True):
            if tz < t:
                v += kz
        return v


def linear_root(f, lo: Fraction, hi: Fraction, breaks) -> Fraction:
    """Root of non-decreasing ``f`` with ``f(lo) <= 0 <= f(hi)``, linear between ``breaks``."""
    prev, f_prev = lo, f(lo)
    if f_prev == 0:
        return lo
    for v in sorted({hi, *[b for b in breaks if lo < b < hi]}):
        f_v = f(v)
        if f_v >= 0:
            return prev - f_prev * (v - prev) / (f_v - f_prev)
        prev, f_prev = v, f_v
    raise AssertionError("no root")


def stack_sweep(items, lo, hi, mass, target, dens: Density, check: bool = True) -> dict:
    """The sweep of ``opt_sweep.md`` (exact; ``dens.k == 2``). Returns ``{item: pieces}``.

    With ``check`` it asserts the invariants (I1), (I2), that case 2 finds its window
    reaching ``R`` (the excess never survives the holes), and the final tiling.
    """
    require(dens.k == 2, "the transcription handles densities with linear window equations")
    pieces: dict = {}
    holes: list[list[Fraction]] = []
    R = lo
    used_len, used_mu, last_mean = ZERO, ZERO, None
    for idx, it in enumerate(items):
        m, X = mass[it], target[it]
        own = pieces.setdefault(it, [])
        if check and last_mean is not None:
            for a, b in holes:  # (I2)
                require(dens.slope_below(b) <= last_mean, "(I2) hole density <= last mean",
                        it, (a, b))
        if idx == len(items) - 1:
            own.extend((a, b) for a, b in holes)
            if hi > R:
                own.append((R, hi))
            break
        excess = dens.mu(R, R + m) - X
        if excess <= 0 or not holes:
            require(excess <= 0, "case 1 or a window at R that is light enough", it)
            top = hi - m
            breaks = [*dens.theta, *[tz - m for tz in dens.theta]]
            u = linear_root(lambda v, m=m, X=X: dens.mu(v, v + m) - X, R, top, breaks)
            if u > R:
                holes.append([R, u])
            own.append((u, u + m))
            R = u + m
        else:
            f = m
            solved = False
            while holes and f > 0:
                a_h, b_h = holes[-1]
                t = min(b_h - a_h, f)
                Z = R + f
                after = excess - dens.mu(Z - t, Z) + dens.mu(b_h - t, b_h)
                if after > 0:
                    excess, f = after, f - t
                    own.append((b_h - t, b_h))
                    if t == b_h - a_h:
                        holes.pop()
                    else:
                        holes[-1][1] = b_h - t
                else:
                    Zc, bc, E = Z, b_h, excess
                    breaks = [*[Zc - tz for tz in dens.theta], *[bc - tz for tz in dens.theta]]
                    a = linear_root(lambda v, Zc=Zc, bc=bc, E=E:
                                    dens.mu(Zc - v, Zc) - dens.mu(bc - v, bc) - E,
                                    ZERO, t, breaks)
                    if a > 0:
                        own.append((b_h - a, b_h))
                    if a == b_h - a_h:
                        holes.pop()
                    else:
                        holes[-1][1] = b_h - a
                    f -= a
                    solved = True
                    break
            require(solved or not check, "case 2: the window reaches R (opt_sweep.md)", it)
            if f > 0:
                own.append((R, R + f))
                R += f
        if check:  # (I1)
            used_len += m
            used_mu += X
            free = sum((b - a for a, b in holes), ZERO) + (hi - R)
            require(hi - lo - free == used_len, "(I1) used length", it)
            got = sum((dens.mu(a, b) for a, b in own), ZERO)
            require(got == X, "the window has mu = X", it, got, X)
            last_mean = X / m
    if check:
        tiling(pieces, lo, hi)
        for it in items:
            require(sum((b - a for a, b in pieces[it]), ZERO) == mass[it], "item mass", it)
            require(sum((dens.mu(a, b) for a, b in pieces[it]), ZERO) == target[it],
                    "item target", it)
        require(sum(len(v) for v in pieces.values()) <= 3 * len(items), "at most 3n pieces")
    return pieces


def tiling(pieces: dict, lo: Fraction, hi: Fraction) -> None:
    """Assert that the pieces are disjoint and cover ``[lo, hi]`` exactly."""
    segs = sorted(seg for segs in pieces.values() for seg in segs if seg[1] > seg[0])
    pos = lo
    for a, b in segs:
        require(a == pos, "pieces tile the interval without gaps or overlaps", a, pos)
        pos = b
    require(pos == hi, "pieces reach the end of the interval", pos, hi)


# ---------------------------------------------------------------- positions
def _poly_mul(a: list[Fraction], b: list[Fraction]) -> list[Fraction]:
    out = [ZERO] * (len(a) + len(b) - 1)
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            out[i + j] += u * v
    return out


def _poly_integral(c: list[Fraction], s: Fraction, e: Fraction) -> Fraction:
    return sum((ci * (e ** (i + 1) - s ** (i + 1)) / (i + 1) for i, ci in enumerate(c)), ZERO)


def highest(own: list[list[Piece]], masses: list[Fraction]) -> list[Fraction]:
    """P(draft j has the highest position), positions independent, draft ``j`` uniform on the
    pieces ``own[j]`` of total length ``masses[j]``: ``integral f_j prod_{i != j} F_i``."""
    k = len(own)
    points = sorted({t for segs in own for seg in segs for t in seg})
    out = [ZERO] * k
    covered = [ZERO] * k  # length of own[i] below the current point
    for s, e in itertools.pairwise(points):
        inside = [any(a <= s and e <= b for a, b in own[i]) for i in range(k)]
        # on [s, e]: F_i(t) = (covered_i + inside_i (t - s)) / m_i
        lin = [[(covered[i] - (s if inside[i] else ZERO)) / masses[i],
                (ONE if inside[i] else ZERO) / masses[i]] for i in range(k)]
        for j in range(k):
            if not inside[j]:
                continue
            poly = [ONE / masses[j]]
            for i in range(k):
                if i != j:
                    poly = _poly_mul(poly, lin[i])
            out[j] += _poly_integral(poly, s, e)
        for i in range(k):
            if inside[i]:
                covered[i] += e - s
    return out


def cdf(segs: list[Piece], mass: Fraction, at: Fraction) -> Fraction:
    return sum((min(max(at - a, ZERO), b - a) for a, b in segs), ZERO) / mass
