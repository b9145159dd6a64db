"""Exact check of proofs/ot_hub.md on random small instances (Fractions).

Run ``python proofs/check_ot_hub.py``; it exits non-zero on the first failure.
"""

from __future__ import annotations

import random
import sys
from fractions import Fraction

from specsample import spechub


def require(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def brute_min_cut(p: list[Fraction], law: dict) -> Fraction:
    vocab = len(p)
    best = None
    for bits in range(1 << vocab):
        inside = sum((m for t, m in law.items() if all(bits >> y & 1 for y in t)), Fraction(0))
        value = sum((p[y] for y in range(vocab) if bits >> y & 1), Fraction(0)) + 1 - inside
        best = value if best is None or value < best else best
    return best


def hubs(q: list[Fraction], k: int) -> list[int]:
    return sorted(range(len(q)), key=lambda i: (-q[i], i))[: k - 1]


def hub_law(q: list[Fraction], k: int) -> dict:
    a = hubs(q, k)
    rest = 1 - sum((q[i] for i in a), Fraction(0))
    return {(*a, x): q[x] / rest for x in range(len(q)) if x not in a and q[x] > 0}


def closed_form(p: list[Fraction], q: list[Fraction], k: int) -> Fraction:
    a = hubs(q, k)
    rest = 1 - sum((q[i] for i in a), Fraction(0))
    total = sum((p[i] for i in a), Fraction(0))
    total += sum((min(p[x], q[x] / rest) for x in range(len(q)) if x not in a), Fraction(0))
    return min(Fraction(1), total)


def main(instances: int = 300, seed: int = 0) -> int:
    rng = random.Random(seed)
    for n in range(instances):
        vocab = rng.randint(1, 6)
        pool = [0, 3, 3, 6] if n % 3 == 0 else [0, 1, 2, 3, 5, 8]
        pw = [rng.choice(pool) for _ in range(vocab)]
        qw = [rng.choice(pool) for _ in range(vocab)]
        pw[rng.randrange(vocab)] += 1
        qw[rng.randrange(vocab)] += 1
        p = [Fraction(w, sum(pw)) for w in pw]
        q = [Fraction(w, sum(qw)) for w in qw]
        support = sum(1 for v in q if v > 0)
        for k in range(1, min(4, support) + 1):
            value = closed_form(p, q, k)
            require(brute_min_cut(p, hub_law(q, k)) == value, f"hub law k={k}: p={p} q={q}")
        for k in range(2, min(4, support) + 1):
            value = closed_form(p, q, k)
            law = spechub.draft_law(q, k)
            require(brute_min_cut(p, law) == value, f"SpecHub law min cut != closed form: k={k} p={p} q={q}")
            accepted = Fraction(0)
            for x, mass in law.items():
                out = spechub.output_law(p, q, list(x))
                accepted += mass * sum((out[y] for y in set(x)), Fraction(0))
            require(accepted == value, f"SpecHub accepts {accepted} != optimum {value}: k={k} p={p} q={q}")
            require(spechub.acceptance_rate(p, q, k) == value, f"spechub.acceptance_rate != optimum, k={k}")
    print(f"check_ot_hub: {instances} instances: hub-law min cut == closed form (k<=4); "
          "SpecHub optimal (k=2..4)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
