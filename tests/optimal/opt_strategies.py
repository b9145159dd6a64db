"""Instances for the tests of specsample.optimal: rational pairs, float kinds, uniforms.

``rational_pairs`` and ``make_float_probs`` are the core tests' own (re-exported):
small ``Fraction`` pairs with frequent zeros and ties, and named kinds of float vectors.
``llm_like`` gives a Zipf-shaped softmax pair like real next-token laws.
"""

from __future__ import annotations

import numpy as np

# the rational pairs and float kinds are those of the core's tests (tests/strategies.py)
from strategies import FLOAT_KINDS, make_float_probs, rational_pairs  # noqa: F401  (re-exported)

#: Schemes of specsample.optimal and the ks the tests cover; without replacement needs k
#: tokens with q > 0.
NEED = {"opt_iid": lambda k: 1, "opt_wor": lambda k: k}


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
