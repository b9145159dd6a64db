"""Exact check of ``proofs/opt_sweep.md``: the left-curtain sweep realises dominated targets.

Random rational instances, seeded: an interval ``[lo, hi]`` inside ``[0, 1]``, a density
(``I(t) = t^2``, or ``t^2 + sum kappa_z (t - theta_z)_+`` with random breakpoints and kinks),
and items whose targets come from a random tiling of the interval by small sub-intervals
(so they are achievable, hence satisfy (P) in ascending order of their means), sorted by
mean. The transcription of the stack sweep (:mod:`proofs._opt`) asserts, at every step, the
invariants (I1) and (I2), that case 2 finds its window reaching ``R``, and at the end the
tiling, masses, targets and the ``3n`` bound. The library's exact sweep
(``specsample.optimal._exact.sweep``, a general window search) must return the same pieces.

Run: ``python -m proofs.check_opt_sweep``.
"""

from __future__ import annotations

import random
from fractions import Fraction

from proofs import _opt
from proofs._common import ZERO, Tally, main, require
from specsample.optimal import _exact

GRID = {"max_vocab": 6, "denominators": (12,)}
#: Instances per density family.
INSTANCES = 150
SEED = 20250601


def _instance(rng: random.Random, n: int, denominator: int, piecewise: bool):
    """(items, lo, hi, mass, target, density) with achievable targets."""
    d = Fraction(1, denominator)
    lo = d * rng.randint(0, denominator // 3)
    cells = rng.randint(n, 3 * n)
    width = (1 - lo) / cells
    hi = lo + width * cells
    if piecewise:
        theta = sorted({Fraction(rng.randint(0, 4 * denominator), 4 * denominator)
                        for _ in range(rng.randint(1, n))})
        kappa = [Fraction(rng.randint(1, 9), 10) for _ in theta]
        dens = _opt.Density(2, theta, kappa)
    else:
        dens = _opt.Density(2)
    owner = [rng.randrange(n) for _ in range(cells)]
    for i in range(n):  # every item owns a cell
        owner[rng.randrange(cells) if i >= cells else i] = i
    mass = {i: ZERO for i in range(n)}
    target = {i: ZERO for i in range(n)}
    for c, i in enumerate(owner):
        a = lo + c * width
        mass[i] += width
        target[i] += dens.mu(a, a + width)
    items = [i for i in range(n) if mass[i] > 0]
    items.sort(key=lambda i: target[i] / mass[i])
    return items, lo, hi, mass, target, dens


def check(max_vocab: int = GRID["max_vocab"], denominators=GRID["denominators"]) -> Tally:
    """Run the sweep on the random instances; return (instances, items swept)."""
    rng = random.Random(SEED)
    instances = items_total = 0
    for piecewise in (False, True):
        for _ in range(INSTANCES):
            n = rng.randint(1, max_vocab)
            items, lo, hi, mass, target, dens = _instance(rng, n, denominators[0], piecewise)
            ours = _opt.stack_sweep(items, lo, hi, mass, target, dens)
            lib_dens = (_exact.Piecewise(dens.theta, dens.kappa) if piecewise
                        else _exact.Poly(2))
            library: dict = {}
            _exact.sweep(items, lo, hi, target, mass, lib_dens, _exact.DELTA, library)
            for it in items:
                require(sorted(library[it]) == sorted(ours[it]),
                        "library exact sweep equals the stack sweep", it, library[it], ours[it])
            instances += 1
            items_total += len(items)
    return Tally(instances, items_total)


if __name__ == "__main__":
    main("opt_sweep", check, __doc__.splitlines()[0], GRID, unit="(interval, density, items)")
