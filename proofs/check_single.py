"""Exact check of ``proofs/single.md``: single-draft speculative sampling.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`) and every draft ``x`` with
``q(x) > 0``, the verifier of the proof, transcribed below in plain ``Fraction`` arithmetic,
gives an output law; the check asserts

1. the output law averaged over ``x ~ q`` equals ``p`` exactly (Theorem 1);
2. a rejection that can happen leaves a residual of positive mass that is zero at ``x``
   (Lemma 1: the rounding guard is never needed, the output is never a rejected draft);
3. the acceptance ``sum_x q(x) P(Y = x | x)`` equals ``sum_y min(p(y), q(y)) = 1 - TV(p, q)``
   (Theorem 2) and equals the brute-force optimal-transport bound (Theorem 3: optimal);
4. :mod:`specsample.single`'s ``draft_law``, ``output_law`` and ``acceptance_rate`` equal
   the transcription exactly, and so does ``spechub`` with ``k = 1`` (its documented
   fallback).

Run: ``python -m proofs.check_single``.
"""

from __future__ import annotations

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
    positive_part,
    require,
    same_draft_law,
    same_law,
)
from specsample import single, spechub

GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of single.md
def draft_law(q: Sequence[Fraction]) -> Law:
    """``Q((x,)) = q(x)`` for every ``x`` with ``q(x) > 0``."""
    return {(x,): q[x] for x in range(len(q)) if q[x] > 0}


def output_law(p: Sequence[Fraction], q: Sequence[Fraction], x: int) -> list[Fraction]:
    """Accept ``x`` with probability ``min(1, p(x)/q(x))``, else sample ``norm((p - q)+)``."""
    vocab = len(p)
    accept = min(ONE, p[x] / q[x])
    out = [ZERO] * vocab
    out[x] = accept
    if accept == 1:
        return out
    residual = [positive_part(p[y] - q[y]) for y in range(vocab)]
    mass = sum(residual, ZERO)
    require(mass > 0, "Lemma 1: a possible rejection leaves a residual of positive mass", p, q, x)
    require(residual[x] == 0, "Lemma 1: the residual is zero at the rejected draft", p, q, x)
    return [out[y] + (ONE - accept) * residual[y] / mass for y in range(vocab)]


def acceptance(p: Sequence[Fraction], q: Sequence[Fraction]) -> Fraction:
    """Theorem 2: ``sum_y min(p(y), q(y))``."""
    return sum((min(a, b) for a, b in zip(p, q, strict=True)), ZERO)


def total_variation(p: Sequence[Fraction], q: Sequence[Fraction]) -> Fraction:
    return sum((abs(a - b) for a, b in zip(p, q, strict=True)), ZERO) / 2


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/single.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        law = draft_law(q)
        require(sum(law.values(), ZERO) == 1, "the draft law sums to 1", q)
        outputs = {x: output_law(p, q, x[0]) for x in law}
        require(mixture(law, outputs, len(p)) == list(p), "Theorem 1: output law = p", p, q)
        alpha = acceptance(p, q)
        require(hit_rate(law, outputs) == alpha, "Theorem 2: acceptance = sum min(p, q)", p, q)
        require(alpha == 1 - total_variation(p, q), "Theorem 2: acceptance = 1 - TV", p, q)
        require(alpha == min_cut(p, law), "Theorem 3: acceptance = the OT optimum", p, q)

        require(same_draft_law(single.draft_law(q), law), "library single.draft_law", q)
        require(single.acceptance_rate(p, q) == alpha, "library single.acceptance_rate", p, q)
        require(spechub.acceptance_rate(p, q, 1) == alpha, "library spechub k=1 acceptance", p, q)
        require(same_draft_law(spechub.draft_law(q, 1), law), "library spechub k=1 draft_law", q)
        for x, out in outputs.items():
            require(same_law(single.output_law(p, q, x), out), "library single.output_law", p, q, x)
            require(same_law(spechub.output_law(p, q, x), out), "library spechub k=1 output_law",
                    p, q, x)
        instances += 1
        tuples += len(law)
    return Tally(instances, tuples)


if __name__ == "__main__":
    main("single", check, __doc__.splitlines()[0], GRID, unit="(p, q)")
