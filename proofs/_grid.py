"""The grid of rational instances every exact check enumerates.

A *grid vector* of length ``V`` is a probability vector whose entries are multiples of
``1/d`` for one of the given common denominators ``d``; the grid holds every such vector
(so zeros, ties, point masses and uniform vectors all occur), and every ordered pair
``(p, q)`` of grid vectors of the same length, ``p = q`` included. :data:`SPECIAL` adds a few
hand-picked pairs that a small common denominator cannot reach: tiny probabilities, odd
denominators, a target nearly a point mass on the draft's most likely token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

Vector = tuple[Fraction, ...]

#: Default largest vocabulary and common denominators of the grid.
MAX_VOCAB = 4
DENOMINATORS = (2, 3)


def _f(*parts: int | str) -> Vector:
    return tuple(Fraction(v) for v in parts)


#: Hand-picked pairs ``(p, q)``; each is checked in addition to the regular grid.
SPECIAL: tuple[tuple[Vector, Vector], ...] = (
    # tiny probabilities next to large ones, in both directions
    (_f("1/1000", "999/1000", 0), _f("998/1000", "1/1000", "1/1000")),
    (_f("999/1000", "1/1000"), _f("1/1000", "999/1000")),
    # odd denominators, all ratios p/q distinct
    (_f("1/7", "2/7", "4/7"), _f("4/7", "2/7", "1/7")),
    (_f("1/2", "1/3", "1/6", 0), _f("1/6", "1/6", "1/3", "1/3")),
    # target nearly a point mass on the draft's argmax (SpecHub's hub), draft nearly uniform
    (_f("997/1000", "1/1000", "1/1000", "1/1000"), _f("26/100", "25/100", "25/100", "24/100")),
    # quarters: ties and ratios 1/2, 2 that denominators 2 and 3 do not combine
    (_f("1/4", "1/4", "1/2", 0), _f("1/2", "1/4", "1/4", 0)),
    (_f("1/4", "3/4", 0, 0), _f("1/4", "1/4", "1/4", "1/4")),
    # ratios p/q spread over (0, 4): K-SEQ's rho* strictly inside (1, k)
    (_f("3/5", "3/10", "1/10", 0), _f("1/5", "1/5", "1/5", "2/5")),
)


def vectors(vocab: int, denominator: int) -> list[Vector]:
    """Every probability vector of length ``vocab`` with entries in ``(1/denominator) Z``.

    These are the compositions of ``denominator`` into ``vocab`` non-negative parts, in
    lexicographic order; there are ``binomial(denominator + vocab - 1, vocab - 1)``.
    """
    if vocab < 1 or denominator < 1:
        raise ValueError(f"vocab and denominator must be >= 1; got {vocab}, {denominator}")
    out: list[Vector] = []

    def extend(prefix: list[int], left: int, slots: int) -> None:
        if slots == 1:
            out.append(tuple(Fraction(n, denominator) for n in [*prefix, left]))
            return
        for n in range(left + 1):
            extend([*prefix, n], left - n, slots - 1)

    extend([], denominator, vocab)
    return out


def grid_vectors(vocab: int, denominators: Sequence[int] = DENOMINATORS) -> list[Vector]:
    """The union over ``denominators`` of :func:`vectors`, without repeats, in a fixed order."""
    seen: dict[Vector, None] = {}
    for d in denominators:
        for v in vectors(vocab, d):
            seen.setdefault(v, None)
    return list(seen)


def pairs(
    max_vocab: int = MAX_VOCAB, denominators: Sequence[int] = DENOMINATORS, special: bool = True
) -> Iterator[tuple[Vector, Vector]]:
    """Every ordered pair ``(p, q)`` of grid vectors with ``V = 1..max_vocab``, then
    :data:`SPECIAL` (those with ``V <= max_vocab``) when ``special`` is true."""
    for vocab in range(1, max_vocab + 1):
        vs = grid_vectors(vocab, denominators)
        for p in vs:
            for q in vs:
                yield p, q
    if special:
        for p, q in SPECIAL:
            if len(p) <= max_vocab:
                yield p, q


def support(q: Vector) -> list[int]:
    """Tokens with ``q > 0``, ascending."""
    return [i for i, v in enumerate(q) if v > 0]
