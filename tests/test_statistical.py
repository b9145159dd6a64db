"""Statistical tier: the real sampling code of every scheme, seeded, with stated budgets.

For each scheme of :data:`specsample.SCHEMES` and each supported ``k`` in 1..4 (single
k = 1), on four instances -- a Zipf-like pair at V = 1000, a small pair with
zeros and ties (V = 8), a point mass in ``p``, a point mass in ``q`` (where the scheme
allows it) -- ``N = 200_000`` draft+verify draws through the batched path
(``m.draft(q, k, rng=rng, size=N)`` then ``m.verify(p, q, drafts, rng=rng)``) are checked:

* the output tokens fit ``p`` (:func:`specsample.testing.assert_follows`; a token with
  ``p = 0`` fails outright);
* the number of rows whose token is one of that row's drafts fits
  ``m.acceptance_rate(p, q, k)`` (exact two-sided binomial test,
  :func:`specsample.testing.assert_rate`; about 4.9 standard errors at these sizes);
* the draft tuples fit ``m.draft_law(q, k)`` where it is enumerable (V <= 8), and the first
  draft fits ``q`` at V = 1000 (every scheme's first draft is distributed as ``q``);
* ``Verdict.index`` is consistent with the tokens (exact, not statistical).

A one-row test per scheme runs 20_000 plain-numpy draft+verify calls on the small pair.

Power: with N = 200_000 the output test catches, with probability 0.99, every bias of total
variation at least 0.0212 at V = 1000 (999 degrees of freedom, no cell merged) and 0.0090 on
the small pair (5 degrees of freedom) -- :func:`specsample.testing.detectable_tv`, checked
in ``test_power_statement``. Biases concentrated on few cells are caught from far smaller
sizes.

False-alarm budget: every statistical test below fails a correct implementation with
probability at most 1e-6 (each ``assert_*`` call states its share). The file holds
``3 * 85 + 7 = 262`` such tests, so the whole file fails a correct implementation with
probability below 3e-4 (nominal; see :mod:`specsample.testing` for the approximation).
Every generator is seeded explicitly from the case it draws for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from specsample import SCHEMES
from specsample.testing import (
    DEFAULT_MIN_EXPECTED,
    assert_follows,
    assert_rate,
    detectable_tv,
)

N = 200_000
N_ONE_ROW = 20_000
BUDGET = 1e-6
SEED = 20_250_601
SCHEME_INDEX = {name: i for i, name in enumerate(SCHEMES)}


# ---------------------------------------------------------------- instances
def _zipf_pair(vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """p ~ 1/rank; q a tempered (power 0.7) and log-normally perturbed copy of p."""
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    noise = np.random.default_rng(seed).normal(0.0, 0.5, vocab)
    q = p**0.7 * np.exp(noise)
    return p, q / q.sum()


INSTANCES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "zipf1000": _zipf_pair(1000, seed=1000),
    # zeros: p(3) = 0 < q(3); q(4) = 0 < p(4); token 7 has neither. Ties: q(1) = q(2) is the
    # hub tie (SpecHub takes token 1), p(1) = p(2).
    "small8": (
        np.array([0.30, 0.20, 0.20, 0.00, 0.10, 0.15, 0.05, 0.00]),
        np.array([0.10, 0.25, 0.25, 0.20, 0.00, 0.10, 0.10, 0.00]),
    ),
    "p_point": (
        np.array([0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
        np.array([0.3, 0.1, 0.2, 0.25, 0.15, 0.0]),
    ),
    "q_point": (
        np.array([0.1, 0.4, 0.3, 0.2, 0.0]),
        np.array([0.0, 1.0, 0.0, 0.0, 0.0]),
    ),
    # rrsw's exact acceptance costs O(m^(k-2) V log V) in Python: minutes at V = 1000, k = 4.
    "zipf100": _zipf_pair(100, seed=100),
}
INSTANCE_INDEX = {name: i for i, name in enumerate(INSTANCES)}
ENUMERABLE = {"small8", "p_point", "q_point"}  # V <= 8: draft laws are enumerated


def _ks(name: str) -> range:
    """1..4, or fewer where the scheme stops (opt_iid's larger k: tests/optimal)."""
    return range(1, min(SCHEMES[name].MAX_K or 4, 4) + 1)


def _allows_point_q(name: str, k: int) -> bool:
    """RRSw, SpecHub and opt_wor need k distinct tokens with q > 0."""
    return k == 1 or name not in ("rrsw", "spechub", "opt_wor")


CASES = (
    [(s, k, "zipf1000") for s in SCHEMES for k in _ks(s) if (s, k) != ("rrsw", 4)]
    + [("rrsw", 4, "zipf100")]
    + [(s, k, "small8") for s in SCHEMES for k in _ks(s)]
    + [(s, k, "p_point") for s in SCHEMES for k in _ks(s)]
    + [(s, k, "q_point") for s in SCHEMES for k in _ks(s) if _allows_point_q(s, k)]
)


@dataclass(frozen=True)
class Draws:
    scheme: str
    k: int
    instance: str
    p: np.ndarray
    q: np.ndarray
    drafts: np.ndarray  # (N, k)
    tokens: np.ndarray  # (N,)
    index: np.ndarray  # (N,)


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-k{k}-{i}" for s, k, i in CASES])
def draws(request) -> Draws:
    """N batched draft+verify draws for one case (module scope: made once, shared by the
    tests of that case; pytest runs the tests of one case together)."""
    scheme, k, instance = request.param
    m = SCHEMES[scheme]
    p, q = INSTANCES[instance]
    rng = np.random.default_rng([SEED, SCHEME_INDEX[scheme], k, INSTANCE_INDEX[instance]])
    drafts = m.draft(q, k, rng=rng, size=N)
    verdict = m.verify(p, q, drafts, rng=rng)
    return Draws(scheme, k, instance, p, q, drafts, verdict.token, verdict.index)


# ---------------------------------------------------------------- batched path
def test_output_tokens_follow_the_target(draws):
    """Output tokens ~ p (budget 1e-6); any token with p = 0 fails whatever the budget."""
    assert draws.drafts.shape == (N, draws.k) and draws.tokens.shape == (N,)
    assert_follows(draws.tokens, draws.p, budget=BUDGET)


def test_acceptance_matches_the_exact_rate(draws):
    """P(token is one of the row's drafts) = m.acceptance_rate(p, q, k): exact two-sided
    binomial test at budget 1e-6 (the exact rate, not the sample, sets the spread)."""
    rate = SCHEMES[draws.scheme].acceptance_rate(draws.p, draws.q, draws.k)
    hits = int(np.any(draws.drafts == draws.tokens[:, None], axis=1).sum())
    assert_rate(hits, N, rate, budget=BUDGET)


def test_drafts_follow_the_draft_law(draws):
    """Draft tuples ~ m.draft_law(q, k) when enumerable (V <= 8), else the first draft ~ q
    (budget 1e-6)."""
    m = SCHEMES[draws.scheme]
    if draws.instance in ENUMERABLE:
        assert_follows(draws.drafts, m.draft_law(draws.q, draws.k), budget=BUDGET)
    else:
        assert_follows(draws.drafts[:, 0], draws.q, budget=BUDGET)


def test_verdict_index_names_the_accepted_draft(draws):
    """Exact: index >= 0 means token == drafts[index]; index == -1 means a residual sample,
    which is never one of the drafts except for K-SEQ (whose residual keeps a little mass on
    rejected drafts above rho*)."""
    accepted = np.flatnonzero(draws.index >= 0)
    np.testing.assert_array_equal(
        draws.tokens[accepted], draws.drafts[accepted, draws.index[accepted]]
    )
    assert np.all(draws.index >= -1) and np.all(draws.index < draws.k)
    if draws.scheme != "kseq":
        residual = np.flatnonzero(draws.index < 0)
        in_drafts = np.any(draws.drafts[residual] == draws.tokens[residual, None], axis=1)
        assert not in_drafts.any()


# ---------------------------------------------------------------- one-row numpy path
@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_one_row_path_follows_the_target(scheme):
    """20_000 one-row (plain numpy) draft+verify calls on the small pair with zeros and
    ties, k = min(MAX_K, 3): tokens ~ p and draft tuples ~ draft_law, each at budget 5e-7
    (1e-6 for the test)."""
    m = SCHEMES[scheme]
    k = min(m.MAX_K or 3, 3)
    p, q = INSTANCES["small8"]
    rng = np.random.default_rng([SEED, SCHEME_INDEX[scheme], k, 99])
    drafts = np.empty((N_ONE_ROW, k), dtype=np.int64)
    tokens = np.empty(N_ONE_ROW, dtype=np.int64)
    for i in range(N_ONE_ROW):
        d = m.draft(q, k, rng=rng)
        verdict = m.verify(p, q, d, rng=rng)
        assert isinstance(verdict.token, int) and isinstance(verdict.index, int)
        drafts[i] = d
        tokens[i] = verdict.token
    assert_follows(tokens, p, budget=BUDGET / 2)
    assert_follows(drafts, m.draft_law(q, k), budget=BUDGET / 2)


def test_power_statement():
    """The module docstring's detectable biases (computed, not statistical)."""
    assert N * INSTANCES["zipf1000"][0].min() >= DEFAULT_MIN_EXPECTED  # no cell merged
    assert round(detectable_tv(N, 999, budget=BUDGET), 4) == 0.0212
    assert round(detectable_tv(N, 5, budget=BUDGET), 4) == 0.0090


def test_budget_statement_counts_the_tests():
    """The module docstring's total budget counts these cases (3 statistical tests each,
    plus one one-row test per scheme)."""
    statistical_tests = 3 * len(CASES) + len(SCHEMES)
    assert len(CASES) == 85 and statistical_tests == 262
    assert statistical_tests * BUDGET < 3e-4
