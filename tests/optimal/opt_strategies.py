"""Instances for the tests of specsample.optimal: rational pairs, float kinds, uniforms.

``rational_pairs`` draws small ``Fraction`` vectors (zeros in about a third of the entries,
small integer weights, so ties within and between ``p`` and ``q`` are frequent) and sometimes
``q = p``, a permutation of ``p`` or a disjoint support. ``make_float_probs`` (the core
tests' own, re-exported) builds named kinds of float vectors; ``llm_like`` a Zipf-shaped
softmax pair like real next-token laws.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

# the float kinds are those of the core's tests (tests/strategies.py), one definition for both
from strategies import FLOAT_KINDS, make_float_probs  # noqa: F401  (re-exported)

WEIGHTS = st.one_of(st.just(0), st.integers(1, 4), st.integers(1, 60))

#: Schemes of specsample.optimal and the ks the tests cover; without replacement needs k
#: tokens with q > 0.
NEED = {"opt_iid": lambda k: 1, "opt_wor": lambda k: k}


@st.composite
def rational_probs(draw, size: int, need: int = 1):
    weights = draw(st.lists(WEIGHTS, min_size=size, max_size=size))
    zeros = [i for i, w in enumerate(weights) if w == 0]
    for i in zeros[: max(need - (size - len(zeros)), 0)]:
        weights[i] = 1
    if sum(weights) == 0:
        weights[0] = 1
    total = sum(weights)
    return tuple(Fraction(w, total) for w in weights)


@st.composite
def rational_pairs(draw, *, need: int = 1, max_size: int = 5):
    """``(p, q)`` on the same ``V <= max_size``; ``q`` positive on at least ``need`` tokens."""
    v = draw(st.integers(max(need, 1), max_size))
    p = draw(rational_probs(v))
    relation = draw(st.sampled_from(("independent",) * 5 + ("equal", "permuted", "disjoint")))
    support = sum(1 for x in p if x > 0)
    if relation == "equal" and support >= need:
        return p, p
    if relation == "permuted" and support >= need:
        return p, tuple(draw(st.permutations(p)))
    if relation == "disjoint" and v - support >= need:
        free = [i for i, x in enumerate(p) if x == 0]
        w = draw(st.lists(st.integers(1, 4), min_size=len(free), max_size=len(free)))
        q = [Fraction(0)] * v
        for i, wi in zip(free, w, strict=True):
            q[i] = Fraction(wi, sum(w))
        return p, tuple(q)
    return p, draw(rational_probs(v, need=need))


def llm_like(vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A Zipf-shaped softmax target and a noisy, flatter draft over a random token order."""
    rng = np.random.default_rng(seed)
    logits = -rng.uniform(1.0, 3.0) * np.log(np.arange(1, vocab + 1.0)) + rng.normal(0, 0.3, vocab)
    logits = logits[rng.permutation(vocab)]
    draft = 0.85 * logits + rng.normal(0.0, 0.6, vocab)
    out = []
    for lg in (logits, draft):
        e = np.exp(lg - lg.max())
        out.append(e / e.sum())
    return out[0], out[1]


#: The largest double below 1: a valid uniform that pushes an inversion to its last token.
BELOW_ONE = np.nextafter(1.0, 0.0)


def edgy_uniforms(rng: np.random.Generator, shape) -> np.ndarray:
    """Uniforms with about one entry in eight set to 0 or to the largest double below 1."""
    u = rng.random(shape)
    e = rng.random(shape)
    u[e < 1 / 16] = 0.0
    u[(e >= 1 / 16) & (e < 1 / 8)] = BELOW_ONE
    return u
