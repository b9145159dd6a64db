"""Exact check of ``proofs/spechub.md``: SpecHub with two drafts, one of them the hub.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`) where ``q`` has at least two tokens
with positive probability, and for EVERY admissible hub ``a`` (each support token; the
library's hub, the first argmax of ``q``, is one of them), the verifier of the proof,
transcribed below in plain ``Fraction`` arithmetic, gives an output law for each pair of
the draft law; the check asserts

1. the draft law sums to 1 and its first draft has marginal ``q`` (Lemma 1);
2. the output law averaged over the draft law equals ``p`` exactly (Theorem 1);
3. every branch reached with positive probability has a positive normaliser, and the
   final residual, when reached, puts no mass on the hub nor on the rejected draft
   (Lemma 2, Lemma 3; the rounding guards are never needed);
4. the acceptance ``sum_x Q(x) P(Y in x | x)`` equals ``1 - Z`` (``Z`` the residual mass)
   and the closed form ``min(1, p(a) + sum_{x != a} min(p(x), q(x) / (1 - q(a))))``
   (Theorem 2), which equals the brute-force optimal-transport optimum of the draft law and
   the value of the cut ``T = {a} + {x : p(x) < q(x) / (1 - q(a))}`` (Theorem 3);
5. with the library's hub, :mod:`specsample.spechub`'s ``draft_law``, ``output_law`` and
   ``acceptance_rate`` equal the transcription exactly.

``k = 1`` (single-draft fallback) is checked by ``proofs/check_single.py``.
Run: ``python -m proofs.check_spechub``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import NamedTuple

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
from specsample import spechub

GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of spechub.md
def library_hub(q: Sequence[Fraction]) -> int:
    """The argmax of ``q``, ties to the smallest token id."""
    best = 0
    for x in range(1, len(q)):
        if q[x] > q[best]:
            best = x
    return best


def draft_law(q: Sequence[Fraction], a: int) -> Law:
    """``Q(i, a) = q(i)``, ``Q(a, i) = q(a) q(i) / (1 - q(a))`` for support tokens ``i != a``."""
    law: Law = {}
    for i in _grid.support(q):
        if i != a:
            law[(i, a)] = q[i]
            law[(a, i)] = q[a] * q[i] / (1 - q[a])
    return law


class Pieces(NamedTuple):
    """The quantities of the verifier (names as in spechub.md)."""

    w: list[Fraction]
    p1: list[Fraction]
    p2: list[Fraction]
    s_ia: Fraction
    s_ai: Fraction
    head: Fraction
    hub_residual: Fraction


def pieces(p: Sequence[Fraction], q: Sequence[Fraction], a: int) -> Pieces:
    vocab = len(p)
    others = [x for x in range(vocab) if x != a]
    w = [ZERO if x == a else q[a] * q[x] / (1 - q[a]) for x in range(vocab)]
    p1 = [ZERO if x == a else positive_part(p[x] - q[x]) for x in range(vocab)]
    p2 = [ZERO if x == a else positive_part(p1[x] - w[x]) for x in range(vocab)]
    s_ia = sum((positive_part(q[x] - p[x]) for x in others), ZERO)
    s_ai = sum((positive_part(w[x] - p1[x]) for x in others), ZERO)
    head = positive_part(p[a] - s_ai)
    return Pieces(w, p1, p2, s_ia, s_ai, head, positive_part(head - s_ia))


def output_law(p: Sequence[Fraction], q: Sequence[Fraction], a: int, drafts: tuple[int, int]) -> list[Fraction]:
    """Test the non-hub draft, then the hub, then sample the residual."""
    vocab = len(p)
    pc = pieces(p, q, a)
    out = [ZERO] * vocab
    if drafts[1] == a:  # pair (i, a)
        i = drafts[0]
        first = min(ONE, p[i] / q[i])
        hub_num, hub_den = pc.head, pc.s_ia
    else:  # pair (a, i)
        i = drafts[1]
        first = min(ONE, pc.p1[i] / pc.w[i])
        hub_num, hub_den = p[a], pc.s_ai
    out[i] += first
    if first == 1:
        return out
    reach = ONE - first
    require(hub_den > 0, "Lemma 2: the hub test is reached only with a positive normaliser",
            p, q, a, drafts)
    hub = min(ONE, hub_num / hub_den)
    out[a] += reach * hub
    if hub == 1:
        return out
    reach *= ONE - hub
    residual = list(pc.p2)
    residual[a] = pc.hub_residual
    total = sum(residual, ZERO)
    require(total > 0, "Lemma 2: the residual is reached only with positive mass", p, q, a, drafts)
    require(pc.hub_residual == 0, "Lemma 3: a reached residual puts no mass on the hub",
            p, q, a, drafts)
    require(residual[i] == 0, "Lemma 3: a reached residual puts no mass on the rejected draft",
            p, q, a, drafts)
    return [out[y] + reach * residual[y] / total for y in range(vocab)]


def closed_form(p: Sequence[Fraction], q: Sequence[Fraction], a: int) -> Fraction:
    """Theorem 2: ``min(1, p(a) + sum_{x != a} min(p(x), q(x) / (1 - q(a))))``."""
    inside = sum((min(p[x], q[x] / (1 - q[a])) for x in range(len(p)) if x != a), ZERO)
    return min(ONE, p[a] + inside)


def cut_value(p: Sequence[Fraction], q: Sequence[Fraction], a: int, law: Law) -> Fraction:
    """Theorem 3's cut: ``T = V`` if the closed form is 1, else ``{a} + {p < q / (1 - q(a))}``."""
    vocab = len(p)
    if closed_form(p, q, a) == 1:
        inside = set(range(vocab))
    else:
        inside = {a} | {x for x in range(vocab) if x != a and p[x] < q[x] / (1 - q[a])}
    all_in = sum((w for x, w in law.items() if set(x) <= inside), ZERO)
    return sum((p[x] for x in inside), ZERO) + 1 - all_in


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/spechub.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        support = _grid.support(q)
        if len(support) < 2:
            continue
        vocab = len(p)
        for a in support:
            law = draft_law(q, a)
            require(sum(law.values(), ZERO) == 1, "the draft law sums to 1", q, a)
            first = [sum((w for x, w in law.items() if x[0] == y), ZERO) for y in range(vocab)]
            require(first == list(q), "Lemma 1: the first draft has marginal q", q, a)
            outputs = {x: output_law(p, q, a, x) for x in law}
            require(mixture(law, outputs, vocab) == list(p), "Theorem 1: output law = p", p, q, a)
            alpha = closed_form(p, q, a)
            pc = pieces(p, q, a)
            residual_mass = sum(pc.p2, ZERO) + pc.hub_residual
            require(hit_rate(law, outputs) == alpha, "Theorem 2: closed form", p, q, a)
            require(alpha == 1 - residual_mass, "Theorem 2: acceptance = 1 - Z", p, q, a)
            require(alpha == min_cut(p, law), "Theorem 3: closed form = OT optimum", p, q, a)
            require(alpha == cut_value(p, q, a, law), "Theorem 3: the exhibited cut", p, q, a)
            if a == library_hub(q):
                require(same_draft_law(spechub.draft_law(q, 2), law), "library draft_law", q)
                require(spechub.acceptance_rate(p, q, 2) == alpha, "library acceptance_rate", p, q)
                for x, out in outputs.items():
                    require(same_law(spechub.output_law(p, q, x), out), "library output_law",
                            p, q, x)
            instances += 1
            tuples += len(law)
    return Tally(instances, tuples)


if __name__ == "__main__":
    main("spechub", check, __doc__.splitlines()[0], GRID, unit="(p, q, hub)")
