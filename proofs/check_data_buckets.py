"""Exact check of ``proofs/data_buckets.md``: ratio buckets move the i.i.d. OT bound by at
least 0 and at most ``max_b min(p(B_b), 1 - (1 - q(B_b))^k)``.

For every grid pair (:mod:`proofs._grid`), every set of kept tokens and every cut of the other
tokens, in ``p/q`` order, into consecutive buckets, and ``k = 1..3``: both optima by brute force
over all cuts (``alpha* = min_T p(T) + 1 - q(T)^k``, THEORY.md section 6), in Fractions.

Run: ``python -m proofs.check_data_buckets``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from fractions import Fraction

from proofs import _grid
from proofs._common import ONE, ZERO, Tally, main, require

MAX_K = 3
GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


@functools.cache
def iid_optimum(p: tuple[Fraction, ...], q: tuple[Fraction, ...], k: int) -> Fraction:
    """``min over T of p(T) + 1 - q(T)^k`` by brute force over all subsets (cached: many
    reductions of one pair coincide)."""
    best = None
    for size in range(len(p) + 1):
        for subset in itertools.combinations(range(len(p)), size):
            value = sum((p[i] for i in subset), ZERO) + ONE - sum((q[i] for i in subset), ZERO) ** k
            best = value if best is None else min(best, value)
    return best


def ratio_order(p: Sequence[Fraction], q: Sequence[Fraction], tokens: Sequence[int]) -> list[int]:
    """Tokens by ascending ``p/q``, tokens with ``q = 0`` last (ties by id)."""
    return sorted(tokens, key=lambda i: (q[i] == 0, p[i] / q[i] if q[i] else ZERO, i))


def bucketings(tail: Sequence[int]):
    """Every cut of ``tail`` (already in ratio order) into consecutive non-empty groups."""
    for mask in range(1 << max(len(tail) - 1, 0)):
        cuts = [i + 1 for i in range(len(tail) - 1) if mask >> i & 1]
        yield [list(tail[a:b]) for a, b in zip([0, *cuts], [*cuts, len(tail)], strict=True)]


def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check the claim on the grid; return (instances, reductions) enumerated."""
    instances = reductions = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        vocab = len(p)
        full = {k: iid_optimum(tuple(p), tuple(q), k) for k in range(1, MAX_K + 1)}
        instances += 1
        for kept_size in range(vocab):
            for kept in itertools.combinations(range(vocab), kept_size):
                tail = ratio_order(p, q, [i for i in range(vocab) if i not in kept])
                for groups in bucketings(tail):
                    pr = [p[i] for i in kept] + [sum((p[i] for i in g), ZERO) for g in groups]
                    qr = [q[i] for i in kept] + [sum((q[i] for i in g), ZERO) for g in groups]
                    for k in range(1, MAX_K + 1):
                        moved = iid_optimum(tuple(pr), tuple(qr), k) - full[k]
                        slack = max(min(pb, ONE - (ONE - qb) ** k)
                                    for pb, qb in zip(pr[kept_size:], qr[kept_size:], strict=True))
                        require(moved >= 0, "merging lowered the bound", p, q, kept, groups, k)
                        require(moved <= slack, "merging raised the bound by more than the slack",
                                p, q, kept, groups, k, moved, slack)
                    reductions += 1
    return Tally(instances, reductions)


if __name__ == "__main__":
    main("data_buckets", check, __doc__.split("\n\n")[0], GRID, unit="(p, q)", counted="reductions")
