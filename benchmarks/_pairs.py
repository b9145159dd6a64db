"""LLM-like target/draft pairs for the benchmarks (seeded, deterministic).

Real next-token distributions are heavy-tailed and peaked: a handful of tokens hold most of
the mass and the rest decays like a power law. Each row here is a softmax of Zipf-shaped logits
over a random token order, with the draft a noisy, slightly flatter copy of the target (as a
smaller model of the same family would be): ``1 - TV`` around 0.6-0.8, as measured for real
draft/target pairs.
"""

from __future__ import annotations

import numpy as np


def llm_like_pairs(rows: int, vocab: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``p, q`` of shape (rows, vocab), float64, each row a probability vector."""
    rng = np.random.default_rng(seed)
    rank = np.arange(1, vocab + 1, dtype=np.float64)
    p = np.empty((rows, vocab))
    q = np.empty((rows, vocab))
    for r in range(rows):
        peak = rng.uniform(1.0, 3.0)  # how confident the target is at this position
        logits = -peak * np.log(rank) + rng.normal(0.0, 0.3, vocab)
        order = rng.permutation(vocab)
        target = logits[order]
        draft = 0.85 * target + rng.normal(0.0, 0.6, vocab)
        for out, lg in ((p, target), (q, draft)):
            e = np.exp(lg - lg.max())
            out[r] = e / e.sum()
    return p, q
