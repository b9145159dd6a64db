"""Exact check of proofs/ot_mincut.md: OTM optimum = max flow = min cut, on random instances.

Self-contained: its own brute-force cut enumeration and its own augmenting-path max flow
(Edmonds-Karp) in ``fractions.Fraction``; the draft laws come from the verified core.
Run ``python proofs/check_ot_mincut.py``; it exits non-zero on the first failure.
"""

from __future__ import annotations

import itertools
import random
import sys
from collections import deque
from fractions import Fraction

from specsample import rrs, rrsw, spechub


def random_vector(rng: random.Random, vocab: int) -> list[Fraction]:
    weights = [rng.choice([0, 0, 1, 1, 2, 3, 5, 8]) for _ in range(vocab)]
    if sum(weights) == 0:
        weights[rng.randrange(vocab)] = 1
    total = sum(weights)
    return [Fraction(w, total) for w in weights]


def random_law(rng: random.Random, vocab: int, k: int) -> dict:
    tuples = {tuple(rng.randrange(vocab) for _ in range(rng.randint(1, k))) for _ in range(rng.randint(1, 6))}
    weights = {t: rng.randint(1, 5) for t in tuples}
    total = sum(weights.values())
    return {t: Fraction(w, total) for t, w in weights.items()}


def min_cut(p: list[Fraction], law: dict) -> Fraction:
    vocab = len(p)
    best = None
    for bits in range(1 << vocab):
        inside = sum((m for t, m in law.items() if all(bits >> y & 1 for y in t)), Fraction(0))
        value = sum((p[y] for y in range(vocab) if bits >> y & 1), Fraction(0)) + 1 - inside
        best = value if best is None or value < best else best
    return best


def max_flow(p: list[Fraction], law: dict) -> dict:
    """Edmonds-Karp on source -> tuple -> member token -> sink; returns {(t, y): flow}."""
    tuples = list(law)
    vocab = len(p)
    src, sink = 0, len(tuples) + vocab + 1
    cap: dict = {}
    adj: dict = {v: set() for v in range(sink + 1)}

    def edge(a, b, c):
        cap[(a, b)] = cap.get((a, b), Fraction(0)) + c
        cap.setdefault((b, a), Fraction(0))
        adj[a].add(b)
        adj[b].add(a)

    for i, t in enumerate(tuples):
        edge(src, 1 + i, law[t])
        for y in set(t):
            edge(1 + i, 1 + len(tuples) + y, law[t])  # effectively infinite
    for y in range(vocab):
        edge(1 + len(tuples) + y, sink, p[y])
    flow = dict.fromkeys(cap, Fraction(0))
    while True:
        parent = {src: None}
        todo = deque([src])
        while todo and sink not in parent:
            a = todo.popleft()
            for b in adj[a]:
                if b not in parent and cap[(a, b)] - flow[(a, b)] > 0:
                    parent[b] = a
                    todo.append(b)
        if sink not in parent:
            break
        path, b = [], sink
        while parent[b] is not None:
            path.append((parent[b], b))
            b = parent[b]
        delta = min(cap[e] - flow[e] for e in path)
        for a, b in path:
            flow[(a, b)] += delta
            flow[(b, a)] -= delta
    return {(t, y): flow[(1 + i, 1 + len(tuples) + y)] for i, t in enumerate(tuples) for y in set(t)}


def coupling(p: list[Fraction], law: dict, f: dict) -> dict:
    pi = {key: v for key, v in f.items() if v > 0}
    supply = {t: law[t] - sum((f[(t, y)] for y in set(t)), Fraction(0)) for t in law}
    demand = [p[y] - sum((v for (t, z), v in f.items() if z == y), Fraction(0)) for y in range(len(p))]
    left = sum(supply.values(), Fraction(0))
    if left > 0:
        for t, y in itertools.product(law, range(len(p))):
            if supply[t] > 0 and demand[y] > 0:
                pi[(t, y)] = pi.get((t, y), Fraction(0)) + supply[t] * demand[y] / left
    return pi


def require(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def check(p: list[Fraction], law: dict) -> Fraction:
    cut = min_cut(p, law)
    pi = coupling(p, law, max_flow(p, law))
    for t in law:
        require(sum((v for (s, _), v in pi.items() if s == t), Fraction(0)) == law[t], f"row {t} off")
    for y in range(len(p)):
        require(sum((v for (_, z), v in pi.items() if z == y), Fraction(0)) == p[y], f"column {y} off")
    accepted = sum((v for (t, y), v in pi.items() if y in t), Fraction(0))
    require(accepted == cut, f"coupling accepts {accepted}, min cut is {cut}: p={p} law={law}")
    return cut


def main(instances: int = 300, seed: int = 0) -> int:
    rng = random.Random(seed)
    for _ in range(instances):
        vocab = rng.randint(1, 5)
        p, q = random_vector(rng, vocab), random_vector(rng, vocab)
        support = sum(1 for v in q if v > 0)
        k = rng.randint(1, 3)
        laws = [rrs.draft_law(q, k), random_law(rng, vocab, k)]
        if k <= support:
            laws.append(rrsw.draft_law(q, k))
        if support >= 2:
            laws.append(spechub.draft_law(q, 2))
        for law in laws:
            check(p, law)
        tv_complement = sum((min(a, b) for a, b in zip(p, q, strict=True)), Fraction(0))
        require(check(p, rrs.draft_law(q, 1)) == tv_complement, "k = 1 is not 1 - TV")
    print(f"check_ot_mincut: {instances} instances, coupling acceptance == min cut exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
