"""Exact check of ``proofs/rrsw.md``: recursive rejection sampling without replacement.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`), every ``k = 1..3`` with ``k`` at most
the size of ``q``'s support, and every ordered tuple of distinct support tokens, the
verifier of the proof, transcribed below in plain ``Fraction`` arithmetic, gives an output
law; the check asserts

1. the output law averaged over the without-replacement draft law equals ``p`` exactly
   (Theorem 1);
2. every residual the loop reaches with positive probability has positive mass, is zero at
   every rejected draft and equals ``(p - c_j q)+ / M_j`` of the scalar recursion with
   ``D_j`` the q-mass still allowed (Lemma 2; the rounding guard is never needed);
3. the acceptance ``sum_x Q(x) P(Y in x | x)`` equals ``1 - R_k(p, q)`` of the recursion
   over rejected prefixes (Theorem 2) and does not exceed the brute-force optimal-transport
   bound of the without-replacement law;
4. :mod:`specsample.rrsw`'s ``draft_law``, ``output_law`` and ``acceptance_rate`` equal the
   transcription exactly.

Run: ``python -m proofs.check_rrsw``.
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
from specsample import rrsw

MAX_K = 3
GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of rrsw.md
def draft_law(q: Sequence[Fraction], k: int) -> Law:
    """``Q(x) = prod_j q(x_j) / (1 - q(x_1) - ... - q(x_{j-1}))`` over distinct tuples."""
    law: Law = {}
    for x in itertools.permutations(_grid.support(q), k):
        weight, left = ONE, ONE
        for t in x:
            weight *= q[t] / left
            left -= q[t]
        law[x] = weight
    return law


def without(s: Sequence[Fraction], x: int) -> list[Fraction]:
    """``s`` with token ``x`` removed and renormalised."""
    return normalized([ZERO if y == x else s[y] for y in range(len(s))])


def output_law(p: Sequence[Fraction], q: Sequence[Fraction], drafts: tuple[int, ...]) -> list[Fraction]:
    """Test draft ``x_j`` against ``(r, s)``; on rejection ``r <- norm((r - s)+)`` and
    ``s <- s without x_j``."""
    vocab = len(p)
    out = [ZERO] * vocab
    reach = ONE
    r, s = list(p), list(q)
    c, mass = ZERO, ONE  # Lemma 2: r = (p - c q)+ / mass
    for j, x in enumerate(drafts):
        allowed = sum((q[y] for y in range(vocab) if y not in drafts[:j]), ZERO)  # D_j
        require(s == [ZERO if y in drafts[:j] else q[y] / allowed for y in range(vocab)],
                "s_j is q restricted to the undrafted tokens", q, drafts, j)
        require(r == [positive_part(p[y] - c * q[y]) / mass for y in range(vocab)],
                "Lemma 2: scalar form of r_j", p, q, drafts, j)
        accept = min(ONE, r[x] / s[x])
        out[x] += reach * accept
        if accept == 1:
            return out
        reach *= ONE - accept
        rest = [positive_part(r[y] - s[y]) for y in range(vocab)]
        require(sum(rest, ZERO) > 0, "Lemma 1: a possible rejection leaves positive mass",
                p, q, drafts, j)
        r = normalized(rest)
        s = without(s, x) if j + 1 < len(drafts) else s
        c = c + mass / allowed
        mass = sum((positive_part(p[y] - c * q[y]) for y in range(vocab)), ZERO)
    require(r == [positive_part(p[y] - c * q[y]) / mass for y in range(vocab)],
            "Lemma 2: scalar form of r_k", p, q, drafts)
    for x in drafts:
        require(r[x] == 0, "the final residual is zero at every (rejected) draft", p, q, drafts)
    return [out[y] + reach * r[y] for y in range(vocab)]


def reject_all(r: Sequence[Fraction], s: Sequence[Fraction], k: int) -> Fraction:
    """Theorem 2: ``R_k(r, s)``, the probability that ``k`` more steps all reject.

    ``R_0 = 1``; ``R_k(r, s) = sum_x (s(x) - r(x))+ R_{k-1}(norm((r - s)+), s without x)``,
    and ``R_k = 0`` once a step rejects with probability 0.
    """
    if k == 0:
        return ONE
    weights = [positive_part(s[x] - r[x]) for x in range(len(r))]
    if k == 1 or sum(weights, ZERO) == 0:
        return sum(weights, ZERO)  # R_1 = sum_x (s(x) - r(x))+ = 1 - sum_y min(r(y), s(y))
    nxt = normalized([positive_part(r[y] - s[y]) for y in range(len(r))])
    return sum((w * reject_all(nxt, without(s, x), k - 1) for x, w in enumerate(weights) if w > 0),
               ZERO)


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/rrsw.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        for k in range(1, min(MAX_K, len(_grid.support(q))) + 1):
            law = draft_law(q, k)
            require(sum(law.values(), ZERO) == 1, "the draft law sums to 1", q, k)
            outputs = {x: output_law(p, q, x) for x in law}
            require(mixture(law, outputs, len(p)) == list(p), "Theorem 1: output law = p", p, q, k)
            alpha = ONE - reject_all(p, q, k)
            require(hit_rate(law, outputs) == alpha, "Theorem 2: acceptance recursion", p, q, k)
            require(alpha <= min_cut(p, law), "acceptance <= the OT bound", p, q, k)

            require(same_draft_law(rrsw.draft_law(q, k), law), "library rrsw.draft_law", q, k)
            require(rrsw.acceptance_rate(p, q, k) == alpha, "library rrsw.acceptance_rate", p, q, k)
            for x, out in outputs.items():
                require(same_law(rrsw.output_law(p, q, x), out), "library rrsw.output_law", p, q, x)
            instances += 1
            tuples += len(law)
    return Tally(instances, tuples)


if __name__ == "__main__":
    main("rrsw", check, __doc__.splitlines()[0], GRID)
