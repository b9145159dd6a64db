"""Exact check of proofs/ot_without_replacement.md on random small instances (Fractions).

Run ``python proofs/check_ot_without_replacement.py``; it exits non-zero on the first failure.
"""

from __future__ import annotations

import itertools
import random
import sys
from fractions import Fraction

from specsample import rrsw


def require(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def finite_form(q: list[Fraction], members: list[int], k: int) -> Fraction:
    """Claim (3): ``1 - c sum_m sum_{|S|=m} sum_{R ⊆ S} (-1)^(m-|R|) / (1 - q(R))``."""
    c = 1 - sum((q[i] for i in members), Fraction(0))
    if c == 0:
        return Fraction(1)
    total = Fraction(0)
    for m in range(k):
        for s in itertools.combinations(members, m):
            for size in range(m + 1):
                for r in itertools.combinations(s, size):
                    total += Fraction((-1) ** (m - size)) / (1 - sum((q[i] for i in r), Fraction(0)))
    return 1 - c * total


def closed_form_2(q: list[Fraction], members: list[int]) -> Fraction:
    """Claim (4): ``A - c sum_T q_i/(1 - q_i)``."""
    a = sum((q[i] for i in members), Fraction(0))
    return a - (1 - a) * sum((q[i] / (1 - q[i]) for i in members), Fraction(0))


def main(instances: int = 150, seed: int = 0) -> int:
    rng = random.Random(seed)
    for _ in range(instances):
        vocab = rng.randint(1, 6)
        weights = [rng.choice([0, 1, 1, 2, 3, 5, 9]) for _ in range(vocab)]
        weights[rng.randrange(vocab)] += 1
        q = [Fraction(w, sum(weights)) for w in weights]
        support = [i for i in range(vocab) if q[i] > 0]
        for k in range(1, min(4, len(support)) + 1):
            law = rrsw.draft_law(q, k)
            for size in range(vocab + 1):
                for members in itertools.combinations(range(vocab), size):
                    inside = set(members)
                    w = sum((m for t, m in law.items() if set(t) <= inside), Fraction(0))
                    positive = [i for i in members if q[i] > 0]
                    require(w == finite_form(q, positive, k), f"finite form fails: q={q} T={members} k={k}")
                    if k == 2:
                        require(w == closed_form_2(q, positive), f"k=2 form fails: q={q} T={members}")
                    if k == 1:
                        require(w == sum((q[i] for i in members), Fraction(0)), "k=1 fails")
    print(f"check_ot_without_replacement: {instances} instances, k <= 4: enumeration == race formula")
    return 0


if __name__ == "__main__":
    sys.exit(main())
