"""Exact check of ``proofs/rrs.md``: recursive rejection sampling with i.i.d. drafts.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`), every ``k = 1..3`` and every ordered
draft tuple of ``q``'s support, the verifier of the proof, transcribed below in plain
``Fraction`` arithmetic, gives an output law; the check asserts

1. the output law averaged over the i.i.d. draft law equals ``p`` exactly (Theorem 1);
2. every residual the loop reaches with positive probability has positive mass, is zero at
   every rejected draft, and equals ``(p - c_j q)+ / M_j`` of the scalar recursion
   (Lemma 2, Lemma 3; the rounding guard is never needed in exact arithmetic);
3. the acceptance ``sum_x Q(x) P(Y in x | x)`` equals ``1 - prod_j (1 - a_j)`` with
   ``a_j = sum_y min(r_{j-1}(y), q(y))`` (Theorem 2) and does not exceed the brute-force
   optimal-transport bound of the i.i.d. law;
4. :mod:`specsample.rrs`'s ``draft_law``, ``output_law`` and ``acceptance_rate`` equal the
   transcription exactly.

Run: ``python -m proofs.check_rrs``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

from proofs import _grid
from proofs._common import (
    ONE,
    ZERO,
    Law,
    Tally,
    hit_rate,
    main,
    min_cut,
    mixture,
    normalized,
    positive_part,
    require,
    same_draft_law,
    same_law,
)
from specsample import rrs

MAX_K = 3
GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of rrs.md
def draft_law(q: Sequence[Fraction], k: int) -> Law:
    """``Q(x) = prod_j q(x_j)`` over ordered k-tuples of the support of ``q``."""
    law: Law = {}
    for x in itertools.product(_grid.support(q), repeat=k):
        weight = ONE
        for t in x:
            weight *= q[t]
        law[x] = weight
    return law


def scalar_residual(p, q, c: Fraction, mass: Fraction) -> list[Fraction]:
    """Lemma 3: ``(p - c q)+ / M``."""
    return [positive_part(p[y] - c * q[y]) / mass for y in range(len(p))]


def output_law(p: Sequence[Fraction], q: Sequence[Fraction], drafts: tuple[int, ...]) -> list[Fraction]:
    """Test the drafts in order against the residual ``r``; ``r <- norm((r - q)+)``."""
    vocab = len(p)
    out = [ZERO] * vocab
    reach = ONE  # probability that every earlier draft was rejected
    r = list(p)
    c, mass = ZERO, ONE  # Lemma 3: r = (p - c q)+ / mass
    for j, x in enumerate(drafts):
        require(r == scalar_residual(p, q, c, mass), "Lemma 3: scalar form of r_j", p, q, drafts, j)
        accept = min(ONE, r[x] / q[x])
        out[x] += reach * accept
        if accept == 1:
            return out
        reach *= ONE - accept
        rest = [positive_part(r[y] - q[y]) for y in range(vocab)]
        require(sum(rest, ZERO) > 0, "Lemma 2: a possible rejection leaves positive mass",
                p, q, drafts, j)
        r = normalized(rest)
        c = c + mass  # D_j = 1: the proposal is always q
        mass = sum((positive_part(p[y] - c * q[y]) for y in range(vocab)), ZERO)
    require(r == scalar_residual(p, q, c, mass), "Lemma 3: scalar form of r_k", p, q, drafts)
    for x in drafts:
        require(r[x] == 0, "Lemma 2: the final residual is zero at every (rejected) draft",
                p, q, drafts)
    return [out[y] + reach * r[y] for y in range(vocab)]


def acceptance(p: Sequence[Fraction], q: Sequence[Fraction], k: int) -> Fraction:
    """Theorem 2: ``1 - prod_j (1 - a_j)``, ``a_j = sum_y min(r_{j-1}(y), q(y))``."""
    r = list(p)
    reject_all = ONE
    for _ in range(k):
        a = sum((min(r[y], q[y]) for y in range(len(p))), ZERO)
        reject_all *= ONE - a
        if a == 1:
            break
        r = normalized([positive_part(r[y] - q[y]) for y in range(len(p))])
    return ONE - reject_all


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/rrs.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        for k in range(1, MAX_K + 1):
            law = draft_law(q, k)
            require(sum(law.values(), ZERO) == 1, "the draft law sums to 1", q, k)
            outputs = {x: output_law(p, q, x) for x in law}
            require(mixture(law, outputs, len(p)) == list(p), "Theorem 1: output law = p", p, q, k)
            alpha = acceptance(p, q, k)
            require(hit_rate(law, outputs) == alpha, "Theorem 2: acceptance formula", p, q, k)
            require(alpha <= min_cut(p, law), "acceptance <= the OT bound", p, q, k)

            require(same_draft_law(rrs.draft_law(q, k), law), "library rrs.draft_law", q, k)
            require(rrs.acceptance_rate(p, q, k) == alpha, "library rrs.acceptance_rate", p, q, k)
            for x, out in outputs.items():
                require(same_law(rrs.output_law(p, q, x), out), "library rrs.output_law", p, q, x)
            instances += 1
            tuples += len(law)
    return Tally(instances, tuples)


if __name__ == "__main__":
    main("rrs", check, __doc__.splitlines()[0], GRID)
