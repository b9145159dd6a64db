"""Exact check of ``proofs/opt_wor.md``: two drafts without replacement, certified per pair.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`) with at least two tokens of ``q > 0``:

1. Step A transcribed with ``W(T) = q(T) - q(U) sum_T q_i/(1 - q_i)``; its value equals the
   brute-force min cut of the enumerated without-replacement law;
2. ``theta``, ``kappa``, ``I`` and the targets; claim 3 (``X(T) = I(A)``, totals);
3. the certificate, and (when it holds) the stack sweep transcribed (:mod:`proofs._opt`)
   on each half, asserted equal to the library's exact pieces;
4. the law of the selected draft given each pair -- extra pairs with probability
   ``q(y_1)``, positions integrated otherwise -- averages to ``mu(S_y) - kappa_y (1 -
   theta_y)`` (claim 2) and to ``x``; Step C gives output law ``p`` and acceptance
   ``alpha*`` (claim 4);
5. the fallback, forced on every instance: collapsed pairs are i.i.d., output law ``p``,
   acceptance ``alpha*_2`` plus the collapse term of claim 5;
6. the library's exact path equals the transcription (also with the fallback forced).

Certificate failures are counted; :func:`check` raises if any occurs (none has been seen),
so a failure would be reported rather than silently falling back.

Run: ``python -m proofs.check_opt_wor``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

from proofs import _grid, _opt, check_opt_iid
from proofs._common import (
    ONE,
    ZERO,
    Tally,
    hit_rate,
    main,
    min_cut,
    mixture,
    require,
    same_draft_law,
    same_law,
)
from specsample.optimal import _exact
from specsample.optimal import wor as opt_wor

GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of opt_wor.md
def draft_law(q: Sequence[Fraction]) -> dict:
    s = _grid.support(q)
    return {(y, z): q[y] * q[z] / (1 - q[y]) for y, z in itertools.permutations(s, 2)}


def step_a(p, q):
    order = sorted(range(len(p)), key=lambda i: (q[i] == 0, p[i] / q[i] if q[i] else ZERO, i))
    n = sum(1 for v in q if v > 0)
    ids = order[:n]

    def W(j):
        A = sum((q[i] for i in ids[:j]), ZERO)
        return A - (1 - A) * sum((q[i] / (1 - q[i]) for i in ids[:j]), ZERO)

    value = [sum((p[i] for i in ids[:j]), ZERO) + 1 - W(j) for j in range(n + 1)]
    js = min(range(n + 1), key=lambda j: (value[j], j))
    T, U = ids[:js], ids[js:]
    A = sum((q[i] for i in T), ZERO)
    x = [ZERO] * len(p)
    up = check_opt_iid._scale_up([p[i] for i in T], [q[i] for i in T], W(js))
    for i in T:
        x[i] = max(p[i], up * q[i])
    down = check_opt_iid._scale_down([p[i] for i in U], [q[i] for i in U], 1 - W(js))
    for i in U:
        x[i] = p[i] if down is None else min(p[i], down * q[i])
    require(sum(x, ZERO) == 1 and all(v >= 0 for v in x), "Step A: x is a law", p, q)
    return order, n, js, A, x


def density(order, n, q, x):
    theta, kappa, target, pos = {}, {}, {}, ZERO
    for y in order[:n]:
        theta[y] = pos + q[y] / 2
        kappa[y] = q[y] ** 2 / (1 - q[y])
        target[y] = x[y] + kappa[y] * (1 - theta[y])
        pos += q[y]
    ids = order[:n]
    return theta, kappa, target, _opt.Density(2, [theta[y] for y in ids], [kappa[y] for y in ids])


def selection_given(pieces, q, theta, pair, fallback: bool = False) -> dict:
    """P(select | pair): extra (prob q(y1)) or positions (integrated)."""
    y1, y2 = pair
    top = _opt.highest([pieces[y1], pieces[y2]], [q[y1], q[y2]])
    if fallback:
        second = (1 - q[y1]) * top[1]  # a collapsed pair selects y1
    else:
        second = (1 - q[y1]) * top[1] + q[y1] * (1 - _opt.cdf(pieces[y2], q[y2], theta[y1]))
    return {y1: 1 - second, y2: second}


def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/opt_wor.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        if len(_grid.support(q)) < 2:
            continue
        law = draft_law(q)
        order, n, js, A, x = step_a(p, q)
        alpha = sum((min(a, b) for a, b in zip(p, x, strict=True)), ZERO)
        require(alpha == min_cut(p, law), "Step A: sum min(p, x) = alpha*", p, q)
        theta, kappa, target, dens = density(order, n, q, x)
        T, U = order[:js], order[js:n]
        require(sum((target[y] for y in T), ZERO) == dens.value(A), "claim 3: X(T) = I(A)", p, q)
        require(sum(target.values(), ZERO) == dens.value(ONE), "claim 3: totals", p, q)
        require(all((theta[y] < A) == (y in T) for y in order[:n]), "claim 3: theta < A iff T",
                p, q)
        halves = [(ZERO, A, sorted(T, key=lambda y: target[y] / q[y])),
                  (A, ONE, sorted(U, key=lambda y: target[y] / q[y]))]
        for lo, _, seq in halves:
            X, Q = ZERO, lo
            for y in seq:
                X += target[y]
                Q += q[y]
                require(X >= dens.value(Q) - dens.value(lo),
                        "the certificate holds (never seen to fail)", p, q, y)
        pieces: dict = {}
        for lo, hi, seq in halves:
            if seq:
                pieces.update(_opt.stack_sweep(seq, lo, hi, q, target, dens))
        table = _exact.table(p, q, 2, _exact.WOR)
        require(not table.fallback and table.cut.x == x, "library Step A / certificate", p, q)
        require(all(sorted(table.partitions[0][1][y]) == sorted(pieces[y]) for y in pieces),
                "library pieces = the transcribed stack sweep", p, q)
        selected = {y: ZERO for y in range(len(p))}
        outputs = {}
        for pair, w in law.items():
            sel = selection_given(pieces, q, theta, pair)
            for y, v in sel.items():
                selected[y] += w * v
            outputs[pair] = check_opt_iid.step_c(p, x, sel)
        for y in order[:n]:
            mu = sum((dens.mu(a, b) for a, b in pieces[y]), ZERO)
            require(selected[y] == mu - kappa[y] * (1 - theta[y]), "claim 2: selection law", p, q, y)
        require([selected[y] for y in range(len(p))] == x, "claim 4: selected law = x", p, q)
        require(mixture(law, outputs, len(p)) == list(p), "claim 4: output law = p", p, q)
        require(hit_rate(law, outputs) == alpha, "claim 4: acceptance = alpha*", p, q)
        require(same_draft_law(opt_wor.draft_law(q, 2), law), "library draft_law", q)
        require(opt_wor.acceptance_rate(p, q, 2) == alpha, "library acceptance_rate", p, q)
        require(opt_wor.certificate(p, q).holds, "library certificate", p, q)
        for pair, out in outputs.items():
            require(same_law(opt_wor.output_law(p, q, pair), out), "library opt_wor.output_law",
                    p, q, pair)
        _check_fallback(p, q, law)
        instances += 1
        tuples += len(law)
    return Tally(instances, tuples)


def _check_fallback(p, q, law) -> None:
    """Claim 5 with the fallback forced: i.i.d. verifier on collapsed pairs."""
    order, n, js, A, x = check_opt_iid.step_a(p, q, 2)
    group, gmass, gtarget, halves = check_opt_iid.groups(order, n, js, x, q)
    dens = _opt.Density(2)
    pieces: dict = {}
    for lo, hi, items in ((ZERO, A, halves[0]), (A, ONE, halves[1])):
        if items:
            pieces.update(_opt.stack_sweep(items, lo, hi, gmass, gtarget, dens))
    by_token = {y: pieces[group[y]] for y in group}
    mass = {y: gmass[group[y]] for y in group}
    outputs = {}
    for pair in law:
        y1, y2 = pair
        # not collapsed (1 - q(y1)): the i.i.d. verifier on (y1, y2); collapsed: on (y1, y1)
        top = _opt.highest([by_token[y1], by_token[y2]], [mass[y1], mass[y2]])
        sel = {y1: q[y1] + (1 - q[y1]) * top[0]}
        sel[y2] = sel.get(y2, ZERO) + (1 - q[y1]) * top[1]
        outputs[pair] = check_opt_iid.step_c(p, x, sel)
    require(mixture(law, outputs, len(p)) == list(p), "claim 5: fallback output law = p", p, q)
    alpha2 = sum((min(a, b) for a, b in zip(p, x, strict=True)), ZERO)
    res = [max(a - b, ZERO) for a, b in zip(p, x, strict=True)]
    total = sum(res, ZERO)
    bonus = ZERO
    if total:
        s = sum((q[z] * res[z] for z in range(len(p))), ZERO) / total
        bonus = s * sum((q[y] ** 2 * (1 - p[y] / x[y]) / (1 - q[y]) for y in range(len(p))
                         if q[y] > 0 and x[y] > p[y]), ZERO)
    require(hit_rate(law, outputs) == alpha2 + bonus, "claim 5: fallback acceptance", p, q)
    saved = _exact.certified
    try:
        _exact.certified = lambda worst: False
        _exact._table.cache_clear()
        require(opt_wor.acceptance_rate(p, q, 2) == alpha2 + bonus,
                "library fallback acceptance_rate", p, q)
        for pair, out in outputs.items():
            require(same_law(opt_wor.output_law(p, q, pair), out), "library fallback output_law",
                    p, q, pair)
    finally:
        _exact.certified = saved
        _exact._table.cache_clear()


if __name__ == "__main__":
    main("opt_wor", check, __doc__.splitlines()[0], GRID, unit="(p, q)")
