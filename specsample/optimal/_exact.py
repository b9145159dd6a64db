"""The optimal verifiers in exact rational arithmetic (``fractions.Fraction``).

Same construction as the float path (Step A, the sweep, Step C), computed exactly, plus one
device the float path does not need. For ``k >= 3`` i.i.d. drafts a window equation of the
sweep is a polynomial equation whose root is irrational in general (``(u + m)^3 - u^3 = X``
is quadratic in ``u``). Rounding the root changes the selection law; instead the exact path
realises the target law ``x`` *exactly* as a rational mixture of partitions
(``proofs/opt_iid.md``, section "Exact rational realisation"):

1. cut the processing order at its tight prefixes (``X(j) = I(Q(j))``), so every segment
   keeps strict slack inside;
2. for ``x`` and for ``N + 1`` perturbations ``x + eps d_i`` (``d_i = e_i - e_last``, one per
   token that is not the last of its segment, and ``d_0 = -sum d_i``), run the sweep with
   every irrational root replaced by a rational within ``delta`` on the side that keeps the
   token's mass at most its target (the last token of a segment takes what is left);
3. solve ``sum_i w_i x~_i = x``, ``sum_i w_i = 1`` exactly for the weights; as ``delta -> 0``
   the weights tend to ``1 / (N + 1)``, so for small enough ``delta`` they are all
   non-negative. That is checked exactly; ``delta`` shrinks until it holds.

The verifier then draws partition ``i`` with probability ``w_i`` and selects by positions in
it: the selected token has law exactly ``x``, so the output law is exactly ``p`` and the
acceptance exactly ``alpha*``. Its per-tuple selection probabilities differ from the
float path's (the same construction with float roots) by about ``delta``. When no root is
irrational (``k <= 2``, drafts without replacement, or rational roots) there is one
partition and no approximation at all.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from fractions import Fraction

ZERO = Fraction(0)
ONE = Fraction(1)
#: The float path's conditioning bound on ``kappa = q^2 / (1 - q)`` (see
#: ``specsample.optimal._build.KAPPA_MAX``), applied here too so that both paths describe
#: the same verifier.
KAPPA_MAX = Fraction(2**12)
IID = 0
WOR = 1
#: Rounding width of window endpoints where no irrational root can occur (unused bound).
DELTA = Fraction(1, 2**64)
#: Size of the target perturbations of the mixture, relative to the smallest strict slack
#: of the prefix condition and the smallest target (divided by ``n + 1``). The per-tuple
#: selection law moves by O(eps) from the unperturbed construction.
EPS_SCALE = Fraction(1, 2**50)
#: First rounding width of irrational endpoints, relative to eps.
EPS_TO_DELTA = Fraction(1, 2**40)
#: Factor by which the rounding width shrinks when the mixture weights come out negative.
DELTA_SHRINK = Fraction(1, 2**32)
_MAX_TRIES = 12

Pieces = dict  # token -> list of (start, end) Fractions


# ---------------------------------------------------------------- Step A
def ratio_order(p, q) -> tuple[list[int], int]:
    """Tokens ascending by ``p/q`` (ties by id), ``q = 0`` last; and how many have ``q > 0``."""
    ids = sorted(range(len(p)), key=lambda i: (q[i] == 0, p[i] / q[i] if q[i] > 0 else ZERO, i))
    return ids, sum(1 for v in q if v > 0)


def all_in(qs: list[Fraction], j: int, k: int, law: int) -> Fraction:
    """``W(T_j)``: probability that all drafts lie in the first ``j`` tokens of ``qs``."""
    A = sum(qs[:j], ZERO)
    if law == IID or k == 1:
        return A**k
    return sum((qi * (A - qi) / (1 - qi) for qi in qs[:j]), ZERO)


@dataclass(frozen=True)
class Cut:
    """Step A: ratio order, min cut (first ``size`` tokens of ``order``), ``alpha*``, ``x``."""

    order: list[int]
    n: int
    size: int
    A: Fraction
    W: Fraction
    alpha: Fraction
    x: list[Fraction]


def cut(p, q, k: int, law: int) -> Cut:
    order, n = ratio_order(p, q)
    ps = [p[i] for i in order[:n]]
    qs = [q[i] for i in order[:n]]
    best, size, cp = None, 0, ZERO
    for j in range(n + 1):
        if j:
            cp += ps[j - 1]
        value = cp + 1 - all_in(qs, j, k, law)
        if best is None or value < best:
            best, size = value, j
    A = sum(qs[:size], ZERO)
    W = all_in(qs, size, k, law)
    x = [ZERO] * len(p)
    if k == 1:
        for i in order[:n]:
            x[i] = q[i]
    else:
        _fill_up(ps[:size], qs[:size], order[:size], W, x)
        _fill_down(ps[size:], qs[size:], order[size:n], 1 - W, x)
    return Cut(order, n, size, A, W, best, x)


def _fill_up(ps, qs, ids, total, x) -> None:
    """``x = max(p, c q)`` on ``ids`` (ascending ratio) with ``sum x = total >= sum p``."""
    m = len(ids)
    if m == 0:
        return
    scale = ZERO
    if total > sum(ps, ZERO):
        for t in range(1, m + 1):  # the first t tokens are lifted to c q
            c = (total - sum(ps[t:], ZERO)) / sum(qs[:t], ZERO)
            if t == m or c <= ps[t] / qs[t]:
                scale = c
                break
    for i, t in enumerate(ids):
        x[t] = max(ps[i], scale * qs[i])


def _fill_down(ps, qs, ids, total, x) -> None:
    """``x = min(p, c q)`` on ``ids`` (ascending ratio) with ``sum x = total <= sum p``."""
    m = len(ids)
    if m == 0:
        return
    scale = None  # None: infinite, x = p
    for s in range(m):  # tokens from s on are capped at c q
        c = (total - sum(ps[:s], ZERO)) / sum(qs[s:], ZERO)
        if c <= ps[s] / qs[s]:
            scale = c
            break
    for i, t in enumerate(ids):
        x[t] = ps[i] if scale is None else min(ps[i], scale * qs[i])


# ---------------------------------------------------------------- selection densities
class Poly:
    """``I(t) = t^k`` (``k`` i.i.d. drafts)."""

    def __init__(self, k: int):
        self.k = k

    def value(self, t: Fraction) -> Fraction:
        return t**self.k

    def diff(self, a: Fraction, h: Fraction) -> Fraction:
        return (a + h) ** self.k - a**self.k

    def window(self, R, m, X, top, delta):
        """``u`` in ``[R, top]``, ``diff(u, m) = X``, or the rational just below the root."""
        k = self.k

        def f(u):
            return self.diff(u, m) - X

        if top <= R or f(R) >= 0:
            return R, f(R) == 0
        if f(top) <= 0:
            return top, f(top) == 0
        if k == 2:
            return (X / m - m) / 2, True
        guess = _float_window(float(R), float(m), float(X), k)
        return _bracket_root(f, R, top, guess, delta, side=-1)

    def straddle(self, E, Z, b, t, delta):
        """``a`` in ``[0, t]`` with ``diff(Z-a, a) - diff(b-a, a) = E`` (rounded up)."""
        k = self.k

        def g(a):
            return self.diff(Z - a, a) - self.diff(b - a, a) - E

        if g(t) <= 0:
            return t, g(t) == 0
        if k == 2:
            return E / (2 * (Z - b)), True
        guess = _float_straddle(float(E), float(Z), float(b), k)
        return _bracket_root(g, ZERO, t, guess, delta, side=+1)


class Piecewise:
    """``I(t) = t^2 + sum_z kappa_z (t - theta_z)_+`` (two drafts without replacement)."""

    def __init__(self, theta: list[Fraction], kappa: list[Fraction]):
        self.theta = theta
        self.kappa = kappa

    def value(self, t: Fraction) -> Fraction:
        return t * t + sum((kz * (t - tz) for tz, kz in zip(self.theta, self.kappa, strict=True)
                            if tz < t), ZERO)

    def diff(self, a: Fraction, h: Fraction) -> Fraction:
        return self.value(a + h) - self.value(a)

    @staticmethod
    def _linear_root(f, lo, hi, breaks):
        """Root of increasing ``f`` (``f(lo) < 0 < f(hi)``), linear between ``breaks``: exact."""
        prev, f_prev = lo, f(lo)
        for v in sorted({hi, *[b for b in breaks if lo < b < hi]}):
            f_v = f(v)
            if f_v >= 0:
                return prev - f_prev * (v - prev) / (f_v - f_prev)
            prev, f_prev = v, f_v
        return hi

    def window(self, R, m, X, top, delta):
        def f(u):
            return self.diff(u, m) - X

        if top <= R or f(R) >= 0:
            return R, f(R) == 0
        if f(top) <= 0:
            return top, f(top) == 0
        breaks = [*self.theta, *[tz - m for tz in self.theta]]
        return self._linear_root(f, R, top, breaks), True

    def straddle(self, E, Z, b, t, delta):
        def g(a):
            return self.diff(Z - a, a) - self.diff(b - a, a) - E

        if g(t) <= 0:
            return t, g(t) == 0
        breaks = [*[Z - tz for tz in self.theta], *[b - tz for tz in self.theta]]
        return self._linear_root(g, ZERO, t, breaks), True


def _float_window(R, m, X, k) -> float:
    """Float root of ``(u + m)^k - u^k = X`` (a starting point only)."""
    lo, hi = R, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (mid + m) ** k - mid**k < X:
            lo = mid
        else:
            hi = mid
    return lo


def _float_straddle(E, Z, b, k) -> float:
    lo, hi = 0.0, min(Z, b) if b > 0 else 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (Z**k - (Z - mid) ** k) - (b**k - (b - mid) ** k) < E:
            lo = mid
        else:
            hi = mid
    return lo


def _bracket_root(f, lo, hi, guess, delta, side):
    """A root of increasing ``f`` on ``[lo, hi]`` (``f(lo) < 0 < f(hi)``): exact when found,
    else the bracket end on ``side`` (-1: ``f <= 0``; +1: ``f >= 0``) within ``delta``."""
    scale = max(abs(guess), 1.0)
    for c in (Fraction(guess), Fraction(guess).limit_denominator(1 << 20)):
        if lo < c < hi:
            v = f(c)
            if v == 0:
                return c, True
    for width in (1e-15, 1e-12, 1e-9):
        a = Fraction(guess - width * scale)
        b = Fraction(guess + width * scale)
        if lo <= a and b <= hi and f(a) < 0 < f(b):
            lo, hi = a, b
            break
    while hi - lo > delta:
        mid = (lo + hi) / 2
        v = f(mid)
        if v == 0:
            return mid, True
        if v < 0:
            lo = mid
        else:
            hi = mid
    return (lo if side < 0 else hi), False


# ---------------------------------------------------------------- the sweep
def sweep(seq, lo, hi, target, mass, dens, delta, pieces: Pieces) -> bool:
    """The left-curtain sweep in exact arithmetic; returns False when a root was rounded.

    The free space is a sorted list of intervals. Each token but the last takes the window
    of length ``m`` that is contiguous *in free space* (its free-coordinate range
    ``[s, s + m]``) with ``mu = X``; ``mu`` of that window increases with ``s``, so the
    window is unique. For targets in ascending ``X/q`` order this is exactly the window of
    the float kernel's stack sweep (``proofs/opt_sweep.md``: it touches ``R`` or lies right
    of it); the exact path also sweeps slightly perturbed targets, whose windows may sit
    anywhere. The last token takes the free space that is left. Pieces are appended to
    ``pieces[y]``.
    """
    exact = True
    free = [(lo, hi)] if hi > lo else []
    for idx, y in enumerate(seq):
        own = pieces.setdefault(y, [])
        if idx == len(seq) - 1:
            own.extend(free)
            break
        s, ok = _window(free, mass[y], target[y], dens, delta)
        exact &= ok
        free = _take(free, s, mass[y], own)
    return exact


def _position(free, s):
    """Position of free-coordinate ``s``, as a right limit (a boundary maps to the next
    interval's start)."""
    acc = ZERO
    for a, b in free:
        if s < acc + (b - a):
            return a + (s - acc)
        acc += b - a
    return free[-1][1]


def _mass_of(free, s, m, dens) -> Fraction:
    """``mu`` of the free-coordinate range ``[s, s + m]``."""
    total, acc = ZERO, ZERO
    for a, b in free:
        lo, hi = max(s, acc), min(s + m, acc + (b - a))
        if hi > lo:
            total += dens.diff(a + (lo - acc), hi - lo)
        acc += b - a
    return total


def _window(free, m, X, dens, delta):
    """Free-coordinate start ``s`` of the window with ``mu = X`` (or just below, rounded)."""
    length = sum((b - a for a, b in free), ZERO)
    top = length - m
    cuts, acc = {ZERO, top}, ZERO
    for a, b in free:
        acc += b - a
        for c in (acc, acc - m):
            if ZERO < c < top:
                cuts.add(c)
    points = sorted(cuts)
    prev = points[0]
    f_prev = _mass_of(free, prev, m, dens) - X
    if f_prev >= 0:
        return prev, f_prev == 0
    for s in points[1:]:
        f_s = _mass_of(free, s, m, dens) - X
        if f_s == 0:
            return s, True
        if f_s > 0:
            # on (prev, s) the window is [alpha, alpha + G] minus whole used gaps: mu equals
            # I(alpha + G) - I(alpha) plus a constant, with alpha moving at unit speed
            alpha_lo = _position(free, prev)
            gap = _position(free, prev + m) - alpha_lo
            const = f_prev + X - dens.diff(alpha_lo, gap)
            alpha, ok = dens.window(alpha_lo, gap, X - const, alpha_lo + (s - prev), delta)
            return prev + (alpha - alpha_lo), ok
        prev, f_prev = s, f_s
    return top, False


def _take(free, s, m, own):
    """Remove the free-coordinate range ``[s, s + m]`` from ``free``; its parts go to ``own``."""
    out, acc = [], ZERO
    for a, b in free:
        lo, hi = max(s, acc), min(s + m, acc + (b - a))
        if hi > lo:
            pa, pb = a + (lo - acc), a + (hi - acc)
            own.append((pa, pb))
            if pa > a:
                out.append((a, pa))
            if b > pb:
                out.append((pb, b))
        else:
            out.append((a, b))
        acc += b - a
    return out


def realised(pieces: Pieces, dens, tokens) -> dict[int, Fraction]:
    return {y: sum((dens.diff(a, b - a) for a, b in pieces.get(y, [])), ZERO) for y in tokens}


# ---------------------------------------------------------------- tables
@dataclass(frozen=True)
class ExactTable:
    """The exact verifier for one (p, q, k, law).

    ``partitions`` is a tuple of ``(weight, pieces)``: the verifier uses partition ``i`` with
    probability ``weight_i`` (one partition of weight 1 unless a root was irrational).
    Pieces belong to *groups* (``group[y]``, of mass ``gmass[g]``): the tokens of one group
    have equal means ``x/q`` and each draws its position uniformly on the group's pieces.
    """

    p: tuple
    q: tuple
    k: int
    law: int
    cut: Cut
    partitions: tuple
    group: dict
    gmass: dict
    fallback: bool = False
    worst_slack: Fraction | None = None
    theta: tuple | None = None
    bonus: Fraction = ZERO

    @property
    def x(self) -> list[Fraction]:
        return self.cut.x

    @property
    def alpha(self) -> Fraction:
        """P(output is a draft): ``alpha*`` of the law in use, plus, for the without-
        replacement fallback, the chance that a rejected collapsed pair's residual is the
        discarded second draft."""
        return self.cut.alpha + self.bonus


def table(p, q, k: int, law: int) -> ExactTable:
    """Cached exact table (``p``, ``q`` sequences of Fraction summing to 1)."""
    return _table(tuple(p), tuple(q), k, law)


@functools.lru_cache(maxsize=1024)
def _table(p: tuple, q: tuple, k: int, law: int) -> ExactTable:
    if law == WOR and k == 2:
        return _wor_table(p, q)
    return _iid_table(p, q, k, law, cut(p, q, k, IID))


def groups(c: Cut, q) -> tuple[dict, dict, dict, list[list[int]]]:
    """Runs of equal means ``x/q`` in processing order, within ``T`` and within ``U``.

    Returns ``(group of each token, mass of each group, target of each group,
    [T's groups, U's groups])``; group ids follow the processing order.
    """
    group: dict = {}
    gmass: dict = {}
    gtarget: dict = {}
    halves: list[list[int]] = [[], []]
    for half, ids in enumerate((c.order[: c.size], c.order[c.size: c.n])):
        mean = None
        for y in ids:
            m = c.x[y] / q[y]
            if m != mean:
                mean = m
                g = len(gmass)
                gmass[g] = ZERO
                gtarget[g] = ZERO
                halves[half].append(g)
            group[y] = g
            gmass[g] += q[y]
            gtarget[g] += c.x[y]
    return group, gmass, gtarget, halves


def _iid_table(p, q, k: int, law: int, c: Cut, fallback=False, worst=None, theta=None):
    group, gmass, gtarget, halves = groups(c, q)
    if k == 1:
        parts, pos = {}, ZERO
        for g in [*halves[0], *halves[1]]:
            parts[g] = [(pos, pos + gmass[g])]
            pos += gmass[g]
        partitions = ((ONE, parts),)
    else:
        partitions = _partitions(halves, gmass, gtarget, Poly(k))
    return ExactTable(p, q, k, law, c, partitions, group, gmass, fallback, worst, theta)


def _partitions(halves, gmass, gtarget, dens) -> tuple:
    """``((weight, pieces), ...)`` whose mixture gives every group exactly its target."""
    segments = _segments(halves, gtarget, gmass, dens)
    pieces, exact = _sweep_segments(segments, gtarget, gmass, dens, DELTA)
    if exact:
        return ((ONE, pieces),)
    free = [g for seg in segments for g in seg[2][:-1]]  # groups not last in a segment
    last_of = {g: seg[2][-1] for seg in segments for g in seg[2][:-1]}
    eps = _epsilon(segments, gtarget, gmass, dens)
    zero: dict[int, Fraction] = {}
    for g in free:
        zero[g] = zero.get(g, ZERO) - 1
        zero[last_of[g]] = zero.get(last_of[g], ZERO) + 1
    directions = [zero, *[{g: ONE, last_of[g]: -ONE} for g in free]]
    delta = eps * EPS_TO_DELTA
    for _ in range(_MAX_TRIES):
        parts, values = [], []
        for d in directions:
            xt = dict(gtarget)
            for g, v in d.items():
                xt[g] += eps * v
            part, _ = _sweep_segments(segments, xt, gmass, dens, delta)
            parts.append(part)
            values.append(realised(part, dens, free))
        weights = _solve([[v[g] for v in values] for g in free] + [[ONE] * len(values)],
                         [gtarget[g] for g in free] + [ONE])
        if weights is not None and all(w >= 0 for w in weights):
            return tuple((w, part) for w, part in zip(weights, parts, strict=True) if w > 0)
        delta *= DELTA_SHRINK
    raise ArithmeticError("exact mixture of rounded partitions did not converge")


def _segments(halves, target, mass, dens):
    """Cut the processing order at its tight prefixes (``X(j) = I(Q(j))``) and between the
    halves: a list of ``(lo, hi, items)``."""
    out, X, Q = [], ZERO, ZERO
    for items in halves:
        start, lo = 0, Q
        for j, g in enumerate(items):
            X += target[g]
            Q += mass[g]
            if X == dens.value(Q) or j + 1 == len(items):
                out.append((lo, Q, items[start:j + 1]))
                start, lo = j + 1, Q
    return out


def _sweep_segments(segments, x, q, dens, delta):
    pieces: Pieces = {}
    exact = True
    for lo, hi, ids in segments:
        exact &= sweep(ids, lo, hi, x, q, dens, delta, pieces)
    return pieces, exact


def _epsilon(segments, x, q, dens) -> Fraction:
    """A perturbation size well inside every strict slack and below every ``x``."""
    smallest = min(x[y] for _, _, ids in segments for y in ids)
    for lo, _, ids in segments:
        X, Q = ZERO, lo
        base = dens.value(lo)
        for y in ids[:-1]:
            X += x[y]
            Q += q[y]
            smallest = min(smallest, X - (dens.value(Q) - base))
    n = sum(len(ids) for _, _, ids in segments)
    return smallest * EPS_SCALE / (n + 1)


def _solve(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Exact Gaussian elimination; None if singular."""
    n = len(rows)
    a = [[*r, b] for r, b in zip(rows, rhs, strict=True)]
    for col in range(n):
        piv = next((r for r in range(col, n) if a[r][col] != 0), None)
        if piv is None:
            return None
        a[col], a[piv] = a[piv], a[col]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col] / a[col][col]
                a[r] = [u - f * v for u, v in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


# ---------------------------------------------------------------- without replacement
def wor_density(c: Cut, q):
    """theta (centre of each token's interval in the ratio-order stacking), kappa, and the
    targets ``X = x + kappa (1 - theta)``; all by token id."""
    theta, kappa, target = {}, {}, {}
    pos = ZERO
    for y in c.order[: c.n]:
        theta[y] = pos + q[y] / 2
        kappa[y] = q[y] * q[y] / (1 - q[y])
        target[y] = c.x[y] + kappa[y] * (1 - theta[y])
        pos += q[y]
    return theta, kappa, target


def well_conditioned(q) -> bool:
    """Every ``kappa = q^2 / (1 - q)`` is at most ``KAPPA_MAX`` (the float path's rule)."""
    return all(v * v <= KAPPA_MAX * (1 - v) for v in q)


def _wor_table(p: tuple, q: tuple) -> ExactTable:
    if not well_conditioned(q):
        base = _iid_table(p, q, 2, WOR, cut(p, q, 2, IID), True, None, None)
        return dataclasses.replace(base, bonus=collapse_bonus(p, q, base.x))
    c = cut(p, q, 2, WOR)
    theta, kappa, target = wor_density(c, q)
    ids = c.order[: c.n]
    dens = Piecewise([theta[y] for y in ids], [kappa[y] for y in ids])
    halves = [(ZERO, c.A, _by_mean(ids[: c.size], target, q)),
              (c.A, ONE, _by_mean(ids[c.size:], target, q))]
    worst = None
    for lo, _, seq in halves:
        X, Q, base = ZERO, lo, dens.value(lo)
        for y in seq:
            X += target[y]
            Q += q[y]
            slack = X - (dens.value(Q) - base)
            worst = slack if worst is None else min(worst, slack)
    theta_t = tuple(theta.get(i) for i in range(len(p)))
    if not certified(worst):
        base = _iid_table(p, q, 2, WOR, cut(p, q, 2, IID), True, worst, theta_t)
        return dataclasses.replace(base, bonus=collapse_bonus(p, q, base.x))
    pieces: Pieces = {}
    for lo, hi, seq in halves:
        sweep(seq, lo, hi, target, q, dens, DELTA, pieces)
    group = {y: y for y in ids}
    gmass = {y: q[y] for y in ids}
    return ExactTable(p, q, 2, WOR, c, ((ONE, pieces),), group, gmass, False, worst, theta_t)


def certified(worst) -> bool:
    """The without-replacement certificate: no prefix slack is negative."""
    return worst is None or worst >= 0



def collapse_bonus(p, q, x) -> Fraction:
    """``S * sum_y q(y)^2 rej(y) / (1 - q(y))``, ``S = sum_z q(z) res(z)`` (see
    :func:`specsample.optimal._build.collapse_bonus`)."""
    residual = [max(pi - xi, ZERO) for pi, xi in zip(p, x, strict=True)]
    total = sum(residual, ZERO)
    if total == 0:
        return ZERO
    s = sum((qz * r for qz, r in zip(q, residual, strict=True)), ZERO) / total
    w = sum((q[y] ** 2 * (1 - p[y] / x[y]) / (1 - q[y]) for y in range(len(p))
             if x[y] > p[y] and q[y] > 0), ZERO)
    return s * w


def _by_mean(ids, target, q):
    return sorted(ids, key=lambda y: target[y] / q[y])  # stable: ties keep ratio order


# ---------------------------------------------------------------- per-tuple laws
def _cdf(t: ExactTable, pieces: Pieces, y: int, at) -> Fraction:
    g = t.group[y]
    inside = sum((min(max(at - a, ZERO), b - a) for a, b in pieces[g]), ZERO)
    return inside / t.gmass[g]


def _max_is(t: ExactTable, pieces: Pieces, drafts: list[int], j: int) -> Fraction:
    """P(draft ``j`` holds the highest position): the highest lies on its group's pieces
    with probability ``sum H(end) - H(start)`` (``H`` the product of the drafts' CDFs), and
    is then each draft of that group with equal probability."""

    def joint(at):
        out = ONE
        for z in drafts:
            out *= _cdf(t, pieces, z, at)
        return out

    g = t.group[drafts[j]]
    on_group = sum((joint(b) - joint(a) for a, b in pieces[g]), ZERO)
    return on_group / sum(1 for z in drafts if t.group[z] == g)


def selection(t: ExactTable, drafts: list[int]) -> dict[int, Fraction]:
    """P(select token y | drafts), exactly."""
    if len(drafts) == 1:
        return {drafts[0]: ONE}
    q = t.q
    out: dict[int, Fraction] = {}
    for weight, pieces in t.partitions:
        if t.law == IID:
            sel: dict[int, Fraction] = {}
            for j, y in enumerate(drafts):
                sel[y] = sel.get(y, ZERO) + _max_is(t, pieces, drafts, j)
        else:
            y1, y2 = drafts
            second = (1 - q[y1]) * _max_is(t, pieces, drafts, 1)
            if not t.fallback:
                second += q[y1] * (1 - _cdf(t, pieces, y2, t.theta[y1]))
            sel = {y1: 1 - second, y2: second}
        for y, v in sel.items():
            out[y] = out.get(y, ZERO) + weight * v
    return out


def output_law(t: ExactTable, drafts: list[int]) -> list[Fraction]:
    """Law of the output token given the drafts: selection, then Step C (exact)."""
    p, x = t.p, t.x
    law = [ZERO] * len(p)
    miss = ZERO
    for y, prob in selection(t, drafts).items():
        accept = ONE if x[y] <= p[y] else p[y] / x[y]
        law[y] += prob * accept
        miss += prob * (1 - accept)
    if miss > 0:
        residual = [max(pi - xi, ZERO) for pi, xi in zip(p, x, strict=True)]
        total = sum(residual, ZERO)
        law = [v + miss * r / total for v, r in zip(law, residual, strict=True)]
    return law
