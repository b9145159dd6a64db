"""Exact check of ``proofs/kseq.md``: SpecTr's K-SEQ with i.i.d. drafts.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`) and ``k = 1..3``:

1. ``g(rho) = 1 - (1 - beta(rho))^k - rho beta(rho)`` is non-increasing along a ladder of
   rationals in ``[1, k]``, ``g(1) >= 0`` and ``g(k) <= 0`` (Lemma 1);
2. the library's ``kseq.rho_star`` is feasible (``g(rho) <= 0``) and within
   ``EXACT_RHO_WIDTH`` above the smallest root ``rho*`` (``g`` is still positive just below);
3. for three feasible values, the library's ``rho``, ``(rho + k)/2`` and ``k``, the verifier
   of the proof, transcribed below in plain ``Fraction`` arithmetic, gives for every ordered
   draft tuple an output law whose average over the i.i.d. draft law is ``p`` exactly, with a
   residual that is non-negative without any clipping (Theorem 1);
4. the acceptance ``sum_x Q(x) P(Y in x | x)`` equals ``1 - (1 - beta)^k`` plus the
   rejected-draft term of Theorem 2, which is zero when ``g(rho) = 0``; it does not exceed
   the i.i.d. optimum ``alpha* = min_T p(T) + 1 - q(T)^k`` (brute force), and at the
   library's ``rho`` the test-phase acceptance ``1 - (1 - beta)^k`` (a lower bound of its
   value at ``rho*``) is at least ``(1 - (1 - 1/k)^k) alpha* >= (1 - 1/e) alpha*`` (Theorem 3);
5. :mod:`specsample.kseq`'s ``draft_law``, ``output_law`` and ``acceptance_rate`` equal the
   transcription at the library's ``rho`` exactly.

Run: ``python -m proofs.check_kseq``.
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
    require,
    same_draft_law,
    same_law,
)
from specsample import kseq

MAX_K = 3
#: The full V <= 4 grid, like the other checks (about 16 s of CPU: the library caches its
#: exact rho per (p, q, k), which the check asks for once per draft tuple).
GRID = {"max_vocab": 4, "denominators": _grid.DENOMINATORS}
#: Points of the ladder on which Lemma 1's monotonicity is checked: 1 + (k - 1) i / RUNGS.
RUNGS = 12


# ------------------------------------------------------------ transcription of kseq.md
def draft_law(q: Sequence[Fraction], k: int) -> Law:
    """``Q(x) = prod_j q(x_j)`` over ordered k-tuples of the support of ``q``."""
    law: Law = {}
    for x in itertools.product(_grid.support(q), repeat=k):
        weight = ONE
        for t in x:
            weight *= q[t]
        law[x] = weight
    return law


def beta(p, q, rho: Fraction) -> Fraction:
    """``beta(rho) = sum_x min(q(x), p(x) / rho)``."""
    return sum((min(b, a / rho) for a, b in zip(p, q, strict=True)), ZERO)


def g(p, q, k: int, rho: Fraction) -> Fraction:
    """``g(rho) = 1 - (1 - beta)^k - rho beta``."""
    b = beta(p, q, rho)
    return 1 - (1 - b) ** k - rho * b


def accept_probability(p, q, rho: Fraction, x: int) -> Fraction:
    """``a(x) = min(1, p(x) / (rho q(x)))`` for a token with ``q(x) > 0``."""
    return min(ONE, p[x] / (rho * q[x]))


def residual_weights(p, q, k: int, rho: Fraction) -> list[Fraction]:
    """``p(x) - m(x) (1 - (1 - beta)^k) / beta`` with ``m = min(q, p / rho)``: the residual
    times ``(1 - beta)^k``. Theorem 1 says every entry is >= 0 when ``g(rho) <= 0``."""
    b = beta(p, q, rho)
    scale = (1 - (1 - b) ** k) / b if b > 0 else ZERO
    weights = [a - min(c, a / rho) * scale for a, c in zip(p, q, strict=True)]
    require(all(v >= 0 for v in weights), "Theorem 1: the residual is non-negative", p, q, k, rho)
    return weights


def output_law(p, q, rho: Fraction, drafts: tuple[int, ...]) -> list[Fraction]:
    """Accept ``x_i`` w.p. ``a(x_i)`` in order; if all are rejected sample the residual."""
    k = len(drafts)
    vocab = len(p)
    out = [ZERO] * vocab
    reach = ONE
    for x in drafts:
        a = accept_probability(p, q, rho, x)
        out[x] += reach * a
        reach *= 1 - a
    if reach == 0:
        return out
    weights = residual_weights(p, q, k, rho)
    total = sum(weights, ZERO)
    require(total == (1 - beta(p, q, rho)) ** k, "Theorem 1: residual mass = (1 - beta)^k",
            p, q, rho, drafts)
    require(total > 0, "Theorem 1: a reached residual has positive mass", p, q, rho, drafts)
    return [out[y] + reach * weights[y] / total for y in range(vocab)]


def acceptance(p, q, k: int, rho: Fraction) -> Fraction:
    """Theorem 2: ``1 - (1 - beta)^k + sum_x w(x) (1 - (1 - q(x)(1 - a(x)) / (1 - beta))^k)``,
    ``w`` the unnormalised residual (the second term is absent when ``beta = 1``)."""
    b = beta(p, q, rho)
    rate = 1 - (1 - b) ** k
    if b == 1:
        return rate
    weights = residual_weights(p, q, k, rho)
    for x in _grid.support(q):
        rejected = q[x] * (1 - accept_probability(p, q, rho, x)) / (1 - b)
        rate += weights[x] * (1 - (1 - rejected) ** k)
    return rate


def iid_optimum(p, q, k: int) -> Fraction:
    """``alpha* = min over subsets T of p(T) + 1 - q(T)^k``."""
    best = None
    for size in range(len(p) + 1):
        for subset in itertools.combinations(range(len(p)), size):
            value = sum((p[i] for i in subset), ZERO) + 1 - sum((q[i] for i in subset), ZERO) ** k
            best = value if best is None else min(best, value)
    return best


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/kseq.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        for k in range(1, MAX_K + 1):
            ladder = [1 + Fraction(i * (k - 1), RUNGS) for i in range(RUNGS + 1)]
            values = [g(p, q, k, rho) for rho in ladder]
            require(values[0] >= 0 and values[-1] <= 0, "Lemma 1: g(1) >= 0 >= g(k)", p, q, k)
            require(all(u >= v for u, v in itertools.pairwise(values)),
                    "Lemma 1: g is non-increasing", p, q, k)

            rho = kseq.rho_star(p, q, k)
            require(isinstance(rho, Fraction) and 1 <= rho <= k, "rho_star lies in [1, k]", rho)
            require(g(p, q, k, rho) <= 0, "rho_star is feasible: g(rho) <= 0", p, q, k, rho)
            require(rho == 1 or g(p, q, k, rho - kseq.EXACT_RHO_WIDTH) > 0,
                    "rho_star is within EXACT_RHO_WIDTH above the smallest root", p, q, k, rho)

            law = draft_law(q, k)
            require(same_draft_law(kseq.draft_law(q, k), law), "library kseq.draft_law", q, k)
            optimum = iid_optimum(p, q, k)
            require(optimum == min_cut(p, law), "alpha*: q(T)^k is the i.i.d. all-in-T mass",
                    p, q, k)
            for feasible in sorted({rho, (rho + k) / 2, Fraction(k)}):
                outputs = {x: output_law(p, q, feasible, x) for x in law}
                require(mixture(law, outputs, len(p)) == list(p), "Theorem 1: output law = p",
                        p, q, k, feasible)
                alpha = acceptance(p, q, k, feasible)
                require(hit_rate(law, outputs) == alpha, "Theorem 2: acceptance formula",
                        p, q, k, feasible)
                require(alpha <= optimum, "acceptance <= the i.i.d. OT optimum", p, q, k, feasible)
                if g(p, q, k, feasible) == 0:
                    require(alpha == 1 - (1 - beta(p, q, feasible)) ** k,
                            "Theorem 2: no rejected-draft term at a root of g", p, q, k, feasible)
                if feasible == rho:
                    # f(beta(rho)) <= f(beta(rho*)) since rho >= rho* (Lemma 1), so this
                    # certifies Theorem 3 at rho* itself.
                    bound = 1 - (1 - Fraction(1, k)) ** k
                    tested = 1 - (1 - beta(p, q, rho)) ** k
                    require(tested >= bound * optimum, "Theorem 3: (1 - (1 - 1/k)^k) guarantee",
                            p, q, k, rho)
                    require(kseq.acceptance_rate(p, q, k) == alpha, "library acceptance_rate",
                            p, q, k)
                    for x, out in outputs.items():
                        require(same_law(kseq.output_law(p, q, x), out), "library output_law",
                                p, q, x)
                tuples += len(law)
            instances += 1
    return Tally(instances, tuples)


if __name__ == "__main__":
    main("kseq", check, __doc__.splitlines()[0], GRID)
