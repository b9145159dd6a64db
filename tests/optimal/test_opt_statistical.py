"""Statistical tier of specsample.optimal: the real sampling code, seeded, stated budgets.

For each case below, ``N = 200_000`` draft+verify draws through the batched path
(``m.draft(q, k, rng=rng, size=N)``, then ``m.verify(p, q, drafts, rng=rng)``) are checked:

* the output tokens fit ``p`` (:func:`specsample.testing.assert_follows`; a token with
  ``p = 0`` fails outright);
* the number of rows whose output is one of the row's drafts fits
  ``m.acceptance_rate(p, q, k)`` (:func:`specsample.testing.assert_rate`, exact binomial);
* exact facts: ``index >= 0`` means ``token == drafts[index]``; ``index == -1`` rows are
  never one of their drafts (the residual lives outside the cut).

Instances: a Zipf pair at V = 1000, a small pair with zeros and ties (V = 8), a point-mass
target (``opt_iid`` at k = 1..4, and 6, 8 on the first two), and an LLM-like pair at the full
vocabulary V = 151936 (one table, 200k tuples; the
without-replacement pairs there come from an exact rejection sampler, :func:`wor_pairs`).
One-row test: 20_000 plain-numpy calls on the small pair.

False-alarm budget: every statistical assertion fails a correct implementation with
probability at most ``BUDGET = 1e-6``; the file makes ``2 * len(CASES) + 2 * 3 = 58`` of them, so
the whole file fails a correct implementation with probability below ``6e-5`` (nominal; see
:mod:`specsample.testing` for the approximation). Power as in ``tests/test_statistical.py``:
at N = 200_000 a bias of total variation 0.0212 at V = 1000 is caught with probability 0.99.
"""

from __future__ import annotations

import numpy as np
import pytest
from opt_strategies import llm_like

from specsample import SCHEMES
from specsample.testing import assert_follows, assert_rate

N = 200_000
N_ONE_ROW = 20_000
BUDGET = 1e-6
SEED = 20_250_602


def _zipf_pair(vocab: int, seed: int):
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    q = p**0.7 * np.exp(np.random.default_rng(seed).normal(0.0, 0.5, vocab))
    return p, q / q.sum()


INSTANCES = {
    "zipf1000": _zipf_pair(1000, seed=1000),
    "small8": (np.array([0.30, 0.20, 0.20, 0.00, 0.10, 0.15, 0.05, 0.00]),
               np.array([0.10, 0.25, 0.25, 0.20, 0.00, 0.10, 0.10, 0.00])),
    "p_point": (np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
                np.array([0.3, 0.1, 0.2, 0.25, 0.15, 0.0])),
    "llm151936": llm_like(151936, seed=7),
}
CASES = (
    [("opt_iid", k, i) for i in ("zipf1000", "small8", "p_point") for k in (1, 2, 3, 4)]
    + [("opt_wor", k, i) for i in ("zipf1000", "small8", "p_point") for k in (1, 2)]
    + [("opt_iid", k, i) for i in ("zipf1000", "small8") for k in (6, 8)]
    + [("opt_iid", 2, "llm151936"), ("opt_iid", 4, "llm151936"), ("opt_iid", 8, "llm151936"),
       ("opt_wor", 2, "llm151936")]
)


def wor_pairs(q: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Exact without-replacement pairs by rejection: ``x_2 ~ q`` redrawn until ``!= x_1``.

    Used at V = 151936 only, where the library's ``draft`` (two passes over the vocabulary
    per draw) would take minutes for 200k pairs; it is the same law.
    """
    cum = np.cumsum(q)

    def draw(size):
        return np.searchsorted(cum, rng.random(size) * cum[-1], side="right")

    out = np.empty((n, 2), np.int64)
    out[:, 0] = draw(n)
    redo = np.ones(n, dtype=bool)
    while redo.any():
        out[redo, 1] = draw(int(redo.sum()))
        redo = out[:, 1] == out[:, 0]
    return out


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-k{k}-{i}" for s, k, i in CASES])
def draws(request):
    name, k, instance = request.param
    m = SCHEMES[name]
    p, q = INSTANCES[instance]
    rng = np.random.default_rng([SEED, len(name), k, list(INSTANCES).index(instance)])
    if name == "opt_wor" and k == 2 and instance == "llm151936":
        drafts = wor_pairs(q, N, rng)
    else:
        drafts = m.draft(q, k, rng=rng, size=N)
    verdict = m.verify(p, q, drafts, rng=rng)
    return name, k, p, q, drafts, verdict.token, verdict.index


def test_output_tokens_follow_the_target(draws):
    _, _, p, _, _, tokens, _ = draws
    assert_follows(tokens, p, budget=BUDGET)


def test_acceptance_matches_the_exact_rate_and_residuals_are_never_drafts(draws):
    name, k, p, q, drafts, tokens, index = draws
    hits = np.any(drafts == tokens[:, None], axis=1)
    assert_rate(int(hits.sum()), N, SCHEMES[name].acceptance_rate(p, q, k), budget=BUDGET)
    accepted = np.flatnonzero(index >= 0)
    np.testing.assert_array_equal(tokens[accepted], drafts[accepted, index[accepted]])
    assert np.all((index >= -1) & (index < k))
    assert not hits[index < 0].any()


@pytest.mark.parametrize(("name", "k"), [("opt_iid", 2), ("opt_iid", 3), ("opt_wor", 2)])
def test_one_row_path_follows_the_target(name, k):
    """20_000 one-row (plain numpy) draft+verify calls on the small pair (budget 1e-6)."""
    m = SCHEMES[name]
    p, q = INSTANCES["small8"]
    rng = np.random.default_rng([SEED, k, 99])
    tokens = np.empty(N_ONE_ROW, np.int64)
    hits = 0
    for i in range(N_ONE_ROW):
        d = m.draft(q, k, rng=rng)
        v = m.verify(p, q, d, rng=rng)
        assert isinstance(v.token, int) and isinstance(v.index, int)
        tokens[i] = v.token
        hits += v.token in set(d.tolist())
    assert_follows(tokens, p, budget=BUDGET / 2)
    assert_rate(hits, N_ONE_ROW, m.acceptance_rate(p, q, k), budget=BUDGET / 2)


def test_budget_statement_counts_the_assertions():
    assert 2 * len(CASES) + 2 * 3 == 58 and 58 * BUDGET < 6e-5
