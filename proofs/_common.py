"""Helpers shared by the exact checks: failure reporting, law arithmetic, the min-cut bound.

Nothing here knows any verifier: each ``check_*.py`` transcribes its own algorithm from its
Markdown proof, and only the bookkeeping around it (mixing per-tuple laws, comparing with the
library, brute-forcing the optimal-transport bound) is shared.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import NamedTuple

Law = dict[tuple[int, ...], Fraction]
Outputs = Mapping[tuple[int, ...], Sequence[Fraction]]  # draft tuple -> output law given it
ZERO = Fraction(0)
ONE = Fraction(1)


class ProofCheckError(AssertionError):
    """An exact check found an instance that contradicts a proven statement."""


class Tally(NamedTuple):
    """What a check enumerated: instances (``(p, q, k)``; ``(p, q, hub)`` for SpecHub) and
    the draft tuples whose output law was computed (summed over instances)."""

    instances: int
    tuples: int


def require(ok: bool, what: str, *context: object) -> None:
    """Raise :class:`ProofCheckError` (never stripped by ``python -O``) unless ``ok``."""
    if not ok:
        detail = "; ".join(repr(c) for c in context)
        raise ProofCheckError(f"{what}" + (f" [{detail}]" if detail else ""))


def positive_part(x: Fraction) -> Fraction:
    return x if x > 0 else ZERO


def normalized(v: Sequence[Fraction]) -> list[Fraction]:
    total = sum(v, ZERO)
    return [x / total for x in v]


def mixture(law: Mapping[tuple[int, ...], Fraction], outputs: Outputs, vocab: int) -> list[Fraction]:
    """``sum_x Q(x) out_x``: the law of the output token averaged over the draft law."""
    total = [ZERO] * vocab
    for x, weight in law.items():
        for y, v in enumerate(outputs[x]):
            total[y] += weight * v
    return total


def hit_rate(law: Mapping[tuple[int, ...], Fraction], outputs: Outputs) -> Fraction:
    """``sum_x Q(x) P(Y in set(x) | x)``: the acceptance, counted straight from the laws."""
    return sum((w * sum((outputs[x][y] for y in set(x)), ZERO) for x, w in law.items()), ZERO)


def min_cut(p: Sequence[Fraction], law: Mapping[tuple[int, ...], Fraction]) -> Fraction:
    """``min over T of p(T) + 1 - Q(every draft in T)``, by brute force over all subsets T.

    For every exact verifier, ``P(Y in drafts) <= P(Y in T) + P(some draft not in T)``, so
    this bounds the acceptance of any exact verifier with draft law ``Q`` (weak duality);
    by max-flow/min-cut it is the optimal-transport optimum (THEORY.md section 6).
    """
    by_set: dict[frozenset[int], Fraction] = {}  # Q grouped by the set of drafted tokens
    for x, w in law.items():
        key = frozenset(x)
        by_set[key] = by_set.get(key, ZERO) + w
    best = None
    for size in range(len(p) + 1):
        for subset in itertools.combinations(range(len(p)), size):
            inside = frozenset(subset)
            all_in = sum((w for key, w in by_set.items() if key <= inside), ZERO)
            value = sum((p[i] for i in subset), ZERO) + 1 - all_in
            best = value if best is None else min(best, value)
    return best


def same_law(library: object, ours: Sequence[Fraction]) -> bool:
    """True when a library ``output_law`` (object array of Fractions) equals ours exactly."""
    values = list(library)
    return all(isinstance(v, Fraction) for v in values) and values == list(ours)


def same_draft_law(library: Mapping, ours: Law) -> bool:
    """True when a library ``draft_law`` has exactly our tuples and Fraction weights."""
    return all(isinstance(v, Fraction) for v in library.values()) and dict(library) == ours


def main(name: str, check: Callable[..., Tally], doc: str, grid: Mapping[str, object],
         unit: str = "(p, q, k)", counted: str = "draft tuples") -> None:
    """Command line of a check script: run ``check`` on the grid and print what it covered.

    ``grid`` holds the check's defaults, ``max_vocab`` and ``denominators``.
    """
    parser = argparse.ArgumentParser(prog=f"python -m proofs.check_{name}", description=doc)
    parser.add_argument("--max-vocab", type=int, default=grid["max_vocab"],
                        help="largest vocabulary V of the grid (default %(default)s)")
    parser.add_argument("--denominators", type=int, nargs="+", default=list(grid["denominators"]),
                        help="common denominators of the grid vectors (default %(default)s)")
    args = parser.parse_args()
    start = time.perf_counter()
    tally = check(max_vocab=args.max_vocab, denominators=tuple(args.denominators))
    seconds = time.perf_counter() - start
    print(f"{name}: OK, {tally.instances} instances {unit}, {tally.tuples} {counted} "
          f"checked exactly (V <= {args.max_vocab}, denominators {tuple(args.denominators)}) "
          f"in {seconds:.1f} s")
