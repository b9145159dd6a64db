"""Hypothesis strategies for the OT/LP tests: small target/draft pairs, exact and float."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

# weights with zeros and repeated values, so supports, ties and zero ratios all occur
_WEIGHTS = st.sampled_from([0, 0, 1, 1, 2, 3, 4, 7, 10])


@st.composite
def rational_vector(draw, vocab: int, min_support: int = 1) -> list[Fraction]:
    weights = draw(st.lists(_WEIGHTS, min_size=vocab, max_size=vocab))
    for i in range(vocab):
        if sum(1 for w in weights if w > 0) >= min_support:
            break
        if weights[i] == 0:
            weights[i] = 1
    total = sum(weights)
    return [Fraction(w, total) for w in weights]


@st.composite
def exact_pair(draw, max_vocab: int = 6, max_k: int = 3):
    """``(p, q, k)`` as Fraction lists with ``q`` positive on at least ``k`` tokens."""
    k = draw(st.integers(1, max_k))
    vocab = draw(st.integers(k, max(k, max_vocab)))
    return draw(rational_vector(vocab)), draw(rational_vector(vocab, min_support=k)), k


@st.composite
def float_pair(draw, max_vocab: int = 7, max_k: int = 3):
    """``(p, q, k)`` float64 arrays; some entries as small as 1e-12."""
    p, q, k = draw(exact_pair(max_vocab, max_k))
    scale = draw(st.sampled_from([1.0, 1.0, 1e-6, 1e-12]))
    p = np.array([float(v) for v in p])
    q = np.array([float(v) for v in q])
    if scale < 1.0:  # shrink one positive entry of each and renormalise
        for x in (p, q):
            i = int(np.flatnonzero(x)[-1])
            if np.count_nonzero(x) > 1:
                x[i] *= scale
            x /= x.sum()
    return p, q, k


@st.composite
def user_law(draw, vocab: int, max_k: int = 3) -> dict:
    """A random sparse law over tuples of lengths 1..max_k (repeats allowed), Fractions."""
    tuples = draw(
        st.lists(
            st.lists(st.integers(0, vocab - 1), min_size=1, max_size=max_k).map(tuple),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    weights = draw(st.lists(st.integers(1, 6), min_size=len(tuples), max_size=len(tuples)))
    total = sum(weights)
    return {t: Fraction(w, total) for t, w in zip(tuples, weights, strict=True)}
