"""Exact check of ``proofs/spechub_k.md``: SpecHub with k drafts (hub set plus one token).

For every ``(p, q)`` of the grid (:mod:`proofs._grid`, ``V <= 5`` by default) and every grid
target against each draft vector of :data:`WIDE_DRAFTS` (4 or 5 support tokens), every
``k = 2..min(4, support of q)`` and every admissible hub set ``A`` (each ``(k-1)``-subset of the
support of ``q`` in ascending order, plus the library's ordered top-``(k-1)`` hubs), the draft
law and the hub-set verifier of the proof, transcribed below in plain ``Fraction``
arithmetic, give an output law for each draft tuple; the check asserts

1. the draft law sums to 1, its first draft has marginal ``q``, its set law is ``A`` plus one
   token ``z ~ q(z) / (1 - q(A))``, and for ``k = 2`` it is SpecHub's pair law of
   ``check_spechub.draft_law`` (Lemma 1);
2. the output law averaged over the draft law equals ``p`` exactly (Theorem 1);
3. the residual is reached only with a positive normaliser, and puts no mass on the rejected
   draft (Lemma 2, Lemma 3; the rounding guard is never needed);
4. the acceptance ``sum_x Q(x) P(Y in x | x)`` equals ``1 - sum_{x not in A} (p(x) - q'(x))+``
   and the closed form ``min(1, p(A) + sum_{x not in A} min(p(x), q(x) / (1 - q(A))))``
   (Theorem 2), which equals the brute-force optimal-transport optimum of the draft law and
   the value of the cut ``A + {x : p(x) < q'(x)}`` (Theorem 3);
5. with the library's hubs, :mod:`specsample.spechub`'s ``draft_law`` (every k),
   ``output_law`` (``k >= 3``; ``k = 2`` keeps the paper's verifier, ``check_spechub``) and
   ``acceptance_rate`` (every k) equal the transcription exactly.

Run: ``python -m proofs.check_spechub_k``.
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
    positive_part,
    require,
    same_draft_law,
    same_law,
)
from proofs.check_spechub import draft_law as pair_law
from specsample import spechub

GRID = {"max_vocab": 5, "denominators": _grid.DENOMINATORS}

#: Largest number of drafts checked.
MAX_K = 4


def _f(*parts: int | str) -> tuple[Fraction, ...]:
    return tuple(Fraction(v) for v in parts)


#: Draft vectors with 4 or 5 support tokens (grid vectors with denominators 2 and 3 have at
#: most 3, so k = 4 needs these), each paired with every grid target of its length: ties at
#: the top, all-distinct values, a tiny entry, q(A) = 1 - 1/500 for k = 3.
WIDE_DRAFTS: tuple[tuple[Fraction, ...], ...] = (
    _f("1/4", "1/4", "1/4", "1/4"),
    _f("2/5", "1/5", "1/5", "1/5"),
    _f("1/10", "2/10", "3/10", "4/10"),
    _f("1/5", "1/5", "1/5", "1/5", "1/5"),
    _f("1/3", "1/3", "1/9", "1/9", "1/9"),
    _f("1/1000", "1/4", "1/4", "1/4", "249/1000"),
    _f("1/2", "1/4", "1/8", "1/16", "1/16"),
    _f("499/1000", "499/1000", "1/1000", "1/1000", 0),
)


def pairs(max_vocab: int, denominators: Sequence[int]):
    """The grid pairs, then every grid target against each of :data:`WIDE_DRAFTS`."""
    yield from _grid.pairs(max_vocab, denominators)
    for q in WIDE_DRAFTS:
        if len(q) <= max_vocab:
            for p in _grid.grid_vectors(len(q), denominators):
                yield p, q


# ------------------------------------------------------------ transcription of spechub_k.md
def library_hubs(q: Sequence[Fraction], k: int) -> tuple[int, ...]:
    """The k - 1 most likely tokens, descending, ties to the smallest id."""
    return tuple(sorted(range(len(q)), key=lambda x: (-q[x], x))[: k - 1])


def rest_mass(q: Sequence[Fraction], hubs: Sequence[int]) -> Fraction:
    """``R = 1 - q(A)`` as the sum of the other entries."""
    return sum((q[x] for x in range(len(q)) if x not in hubs), ZERO)


def draft_law(q: Sequence[Fraction], hubs: Sequence[int]) -> Law:
    """``Q(z, A) = q(z)``; ``Q(a_j, A without a_j, z) = q(a_j) q(z) / R``."""
    rest = rest_mass(q, hubs)
    law: Law = {}
    for z in _grid.support(q):
        if z in hubs:
            continue
        law[(z, *hubs)] = q[z]
        for a in hubs:
            law[(a, *(b for b in hubs if b != a), z)] = q[a] * q[z] / rest
    return law


def residual(p: Sequence[Fraction], q: Sequence[Fraction], hubs: Sequence[int]) -> list[Fraction]:
    """``r = p`` on the hubs, ``(p - q')+`` elsewhere."""
    rest = rest_mass(q, hubs)
    return [p[x] if x in hubs else positive_part(p[x] - q[x] / rest) for x in range(len(p))]


def output_law(p, q, hubs: Sequence[int], drafts: tuple[int, ...]) -> list[Fraction]:
    """The hub-set verifier's output law given the ordered drafts."""
    vocab = len(p)
    rest = rest_mass(q, hubs)
    non_hub = [t for t in drafts if t not in hubs]
    require(len(non_hub) == 1, "every tuple has exactly one non-hub draft", q, hubs, drafts)
    z = non_hub[0]
    out = [ZERO] * vocab
    first = min(ONE, p[z] / (q[z] / rest))
    out[z] += first
    if first == 1:
        return out
    r = residual(p, q, hubs)
    total = sum(r, ZERO)
    require(total > 0, "Lemma 3: the residual is reached only with positive mass", p, q, hubs, drafts)
    require(r[z] == 0, "Lemma 3: no residual mass on the rejected draft", p, q, hubs, drafts)
    reach = ONE - first
    return [out[y] + reach * r[y] / total for y in range(vocab)]


def closed_form(p, q, hubs: Sequence[int]) -> Fraction:
    """Theorem 2: ``min(1, p(A) + sum_{x not in A} min(p(x), q(x) / (1 - q(A))))``."""
    rest = rest_mass(q, hubs)
    inside = sum((min(p[x], q[x] / rest) for x in range(len(p)) if x not in hubs), ZERO)
    return min(ONE, sum((p[a] for a in hubs), ZERO) + inside)


def cut_value(p, q, hubs: Sequence[int], law: Law) -> Fraction:
    """Theorem 3's cut ``B = A + {x not in A : p(x) < q'(x)}``, valued from the law."""
    rest = rest_mass(q, hubs)
    inside = set(hubs) | {x for x in range(len(p)) if x not in hubs and p[x] < q[x] / rest}
    all_in = sum((w for x, w in law.items() if set(x) <= inside), ZERO)
    return sum((p[x] for x in inside), ZERO) + 1 - all_in


def hub_sets(q: Sequence[Fraction], k: int) -> list[tuple[int, ...]]:
    """Every admissible hub set (ascending), then the library's (hub order) if different."""
    sets = list(itertools.combinations(_grid.support(q), k - 1))
    ours = library_hubs(q, k)
    if ours not in sets:
        sets.append(ours)
    return sets


# ------------------------------------------------------------ the check
def _check_law(q, hubs, law, k) -> None:
    vocab = len(q)
    require(sum(law.values(), ZERO) == 1, "Lemma 1: the draft law sums to 1", q, hubs)
    first = [sum((w for x, w in law.items() if x[0] == y), ZERO) for y in range(vocab)]
    require(first == list(q), "Lemma 1: the first draft has marginal q", q, hubs)
    by_set: dict[frozenset[int], Fraction] = {}
    for x, w in law.items():
        require(len(set(x)) == k and set(hubs) <= set(x), "Lemma 1: k distinct, all hubs", x)
        by_set[frozenset(x)] = by_set.get(frozenset(x), ZERO) + w
    rest = rest_mass(q, hubs)
    want = {frozenset((*hubs, z)): q[z] / rest for z in _grid.support(q) if z not in hubs}
    require(by_set == want, "Lemma 1: the set law is A plus z ~ q'", q, hubs)
    if k == 2:
        require(law == pair_law(q, hubs[0]), "Lemma 1: k = 2 is SpecHub's pair law", q, hubs)


def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/spechub_k.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in pairs(max_vocab, denominators):
        support = len(_grid.support(q))
        for k in range(2, min(MAX_K, support) + 1):
            for hubs in hub_sets(q, k):
                law = draft_law(q, hubs)
                _check_law(q, hubs, law, k)
                outputs = {x: output_law(p, q, hubs, x) for x in law}
                where = (p, q, hubs)
                require(mixture(law, outputs, len(p)) == list(p), "Theorem 1: output law = p", *where)
                alpha = closed_form(p, q, hubs)
                unaccepted = sum((r for x, r in enumerate(residual(p, q, hubs)) if x not in hubs), ZERO)
                require(hit_rate(law, outputs) == alpha, "Theorem 2: closed form", *where)
                require(alpha == 1 - unaccepted, "Theorem 2: 1 - sum (p - q')+", *where)
                require(alpha == min_cut(p, law), "Theorem 3: closed form = OT optimum", *where)
                require(alpha == cut_value(p, q, hubs, law), "Theorem 3: the exhibited cut", *where)
                if hubs == library_hubs(q, k):
                    _check_library(p, q, k, law, outputs, alpha)
                instances += 1
                tuples += len(law)
    return Tally(instances, tuples)


def _check_library(p, q, k, law, outputs, alpha) -> None:
    require(same_draft_law(spechub.draft_law(q, k), law), "library draft_law", q, k)
    require(spechub.acceptance_rate(p, q, k) == alpha, "library acceptance_rate", p, q, k)
    if k >= 3:
        for x, out in outputs.items():
            require(same_law(spechub.output_law(p, q, x), out), "library output_law", p, q, x)


if __name__ == "__main__":
    main("spechub_k", check, __doc__.splitlines()[0], GRID, unit="(p, q, k, hub set)")
