"""Tests of the tester: :mod:`specsample.testing`.

Tiers: special functions against closed forms, printed tables, exact integer arithmetic and
(when installed) scipy / mpmath; the false-alarm rate of the goodness-of-fit test computed
exactly, and simulated at loose budgets; its power against planted biases, including the
SpecHub shortcut of the authors' code; input errors.

False-alarm budget of this file: every simulation check below fails a correct
implementation with probability at most 1e-6 (its acceptance region is an exact binomial
region, or an ``assert_follows`` at budget 1e-6); there are 9 such checks, so the file as a
whole fails a correct implementation with probability below 1e-5. All generators are
seeded explicitly.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from specsample import spechub, testing
from specsample.scheme import Verdict
from specsample.testing import (
    assert_follows,
    assert_rate,
    chi2_isf,
    chi2_logsf,
    chi2_sf,
    detectable_tv,
    goodness_of_fit,
    ncx2_sf,
    rate_test,
    samples_needed,
)


# ---------------------------------------------------------------- helpers
def binomial_region(n: int, rate: Fraction, alpha: Fraction) -> tuple[int, int]:
    """Smallest ``[lo, hi]`` with ``P(X < lo) <= alpha/2`` and ``P(X > hi) <= alpha/2`` for
    ``X ~ Binomial(n, rate)``, in exact integer arithmetic (independent of the library)."""
    a, d = rate.numerator, rate.denominator
    scale = d**n
    limit = alpha / 2 * scale  # compare integer pmf numerators with alpha/2 * d^n
    pmf = (d - a) ** n  # P(X = j) * d^n = C(n, j) a^j (d - a)^(n - j), for j = 0, 1, ...
    cdf = 0
    lo = None
    for j in range(n + 1):
        cdf += pmf
        if lo is None and cdf > limit:
            lo = j  # P(X < j) <= alpha/2 < P(X <= j)
        if scale - cdf <= limit:
            return lo, j  # P(X > j) <= alpha/2
        pmf = pmf * (n - j) * a // ((j + 1) * (d - a))  # exact: the result is an integer
    return lo, n


def samples_from_counts(counts: np.ndarray) -> np.ndarray:
    """Outcomes 0..V-1 repeated by their counts (the test ignores the order of samples)."""
    return np.repeat(np.arange(counts.shape[0]), counts)


def exact_log_sf_even(x: int, df: int) -> float:
    """log P(chi2_df > x) for even df and even integer x, from exact integers:
    ``Q(n, y) = e^-y sum_{j<n} y^j / j!`` with ``y = x/2``."""
    y, n = x // 2, df // 2
    # sum_{j<n} y^j / j! = S / (n-1)!  with  S = sum_j y^j (n-1)!/j!
    total = sum(y**j * (math.factorial(n - 1) // math.factorial(j)) for j in range(n))
    return -y + math.log(total) - math.log(math.factorial(n - 1))


# ---------------------------------------------------------------- chi-square tails
@pytest.mark.parametrize("x", [1e-9, 0.3, 1.0, 3.84, 10.0, 50.0, 600.0])
def test_chi2_sf_df1_df2_closed_forms(x):
    """df = 1: erfc(sqrt(x/2)); df = 2: exp(-x/2)."""
    np.testing.assert_allclose(chi2_sf(x, 1), math.erfc(math.sqrt(x / 2)), rtol=1e-13)
    np.testing.assert_allclose(chi2_sf(x, 2), math.exp(-x / 2), rtol=1e-13)


# Upper critical values from printed chi-square tables (NIST/SEMATECH e-Handbook,
# table 1.3.6.7.4; Abramowitz & Stegun table 26.8), to the three decimals printed there.
TABLE = {
    1: (3.841, 6.635, 10.828),
    5: (11.070, 15.086, 20.515),
    10: (18.307, 23.209, 29.588),
    30: (43.773, 50.892, 59.703),
    100: (124.342, 135.807, 149.449),
}


@pytest.mark.parametrize("df", sorted(TABLE))
def test_chi2_isf_matches_printed_tables(df):
    for alpha, value in zip((0.05, 0.01, 0.001), TABLE[df], strict=True):
        assert abs(chi2_isf(alpha, df) - value) <= 5.1e-4
        np.testing.assert_allclose(chi2_sf(chi2_isf(alpha, df), df), alpha, rtol=1e-9)


@pytest.mark.parametrize(
    ("x", "df"), [(10, 4), (40, 20), (1000, 1000), (1500, 1000), (5000, 998), (20000, 100), (200, 2)]
)
def test_chi2_logsf_matches_exact_integer_sums(x, df):
    """Even df, even x: the closed form summed in exact integers, including tails far below
    the smallest double (x = 20000, df = 100: log sf ~ -9700)."""
    np.testing.assert_allclose(chi2_logsf(x, df), exact_log_sf_even(x, df), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x", [900.0, 2000.0, 1e4, 1e6])
def test_chi2_logsf_df1_deep_tail_matches_asymptotic_series(x):
    """log erfc(sqrt(y)) = -y - log(sqrt(pi y)) + log(1 - 1/(2y) + 3/(4y^2) - 15/(8y^3) + ...):
    p-values down to exp(-5e5), where math.erfc has long underflowed."""
    y = x / 2
    series = 1 - 1 / (2 * y) + 3 / (4 * y**2) - 15 / (8 * y**3) + 105 / (16 * y**4)
    expected = -y - 0.5 * math.log(math.pi * y) + math.log(series)
    np.testing.assert_allclose(chi2_logsf(x, 1), expected, rtol=1e-13)


@pytest.mark.parametrize("df", [3, 4, 7, 10, 31])
def test_chi2_sf_matches_quadrature_of_the_density(df):
    """Independent route: integrate the chi-square density numerically (composite Simpson)."""
    for x in (0.5 * df, df, df + 3 * math.sqrt(2 * df)):
        t = np.linspace(x, x + 60 * math.sqrt(2 * df) + 200, 400_001)
        log_f = (df / 2 - 1) * np.log(t) - t / 2 - (df / 2) * math.log(2) - math.lgamma(df / 2)
        f = np.exp(log_f)
        h = t[1] - t[0]
        simpson = h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())
        np.testing.assert_allclose(chi2_sf(x, df), simpson, rtol=1e-9)


def test_chi2_sf_large_df_is_close_to_wilson_hilferty():
    """df = 100000: (X/df)^(1/3) is nearly normal; the approximation is good to ~1e-3 here."""
    df = 100_000
    for z in (-2.0, 0.0, 2.0, 4.0):
        v = 2 / (9 * df)
        x = df * (1 - v + z * math.sqrt(v)) ** 3
        np.testing.assert_allclose(chi2_sf(x, df), 0.5 * math.erfc(z / math.sqrt(2)), rtol=2e-3)


def test_chi2_isf_tiny_probabilities():
    for df in (1, 2, 9, 1000):
        for prob in (1e-12, 1e-100, 1e-300):
            x = chi2_isf(prob, df)
            np.testing.assert_allclose(chi2_logsf(x, df), math.log(prob), rtol=1e-10)


def test_chi2_against_scipy():
    """Near survival 1 the log is accurate in absolute terms (~1e-16), hence the atol."""
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 8, 51, 1000, 4999):
        for x in (0.01, 0.5 * df, df, df + 5 * math.sqrt(2 * df), df + 25 * math.sqrt(2 * df)):
            np.testing.assert_allclose(chi2_logsf(x, df), stats.chi2.logsf(x, df), rtol=1e-10, atol=1e-14)
        for prob in (0.3, 1e-6, 1e-50):
            np.testing.assert_allclose(chi2_isf(prob, df), stats.chi2.isf(prob, df), rtol=1e-10)
        for nc in (0.5, 20.0, 400.0):
            x = df + nc
            np.testing.assert_allclose(ncx2_sf(x, df, nc), stats.ncx2.sf(x, df, nc), atol=1e-11)


def test_chi2_against_mpmath():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    for df in (3, 7, 101, 2001):
        for x in (0.2 * df, df, 2 * df + 40):
            exact = mpmath.gammainc(mpmath.mpf(df) / 2, mpmath.mpf(x) / 2, regularized=True)
            np.testing.assert_allclose(chi2_logsf(x, df), float(mpmath.log(exact)), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("nc", [0.25, 4.0, 30.0, 900.0])
def test_ncx2_sf_df1_closed_form(nc):
    """df = 1: P(|Z + sqrt(nc)| > sqrt(x)), two normal tails."""
    for x in (0.5, 3.84, nc, nc + 10 * math.sqrt(nc) + 5):
        a, b = math.sqrt(x), math.sqrt(nc)
        expected = 0.5 * math.erfc((a - b) / math.sqrt(2)) + 0.5 * math.erfc((a + b) / math.sqrt(2))
        np.testing.assert_allclose(ncx2_sf(x, 1, nc), expected, rtol=1e-11, atol=1e-300)


def test_ncx2_sf_at_zero_noncentrality_is_the_central_tail():
    for df in (1, 6, 77):
        assert ncx2_sf(df + 1.5, df, 0.0) == chi2_sf(df + 1.5, df)


# ---------------------------------------------------------------- exact binomial rates
@pytest.mark.parametrize(("n", "rate"), [(1, Fraction(1, 2)), (13, Fraction(1, 7)), (60, Fraction(9, 10))])
def test_rate_test_p_values_match_exact_fractions(n, rate):
    pmf = [Fraction(math.comb(n, j)) * rate**j * (1 - rate) ** (n - j) for j in range(n + 1)]
    for hits in range(n + 1):
        low, high = sum(pmf[: hits + 1]), sum(pmf[hits:])
        expected = min(Fraction(1), 2 * min(low, high))
        np.testing.assert_allclose(rate_test(hits, n, rate).p_value, float(expected), rtol=1e-11)


def test_rate_test_certain_cases():
    assert rate_test(0, 100, 0.0).passed
    assert not rate_test(1, 100, 0.0).passed  # a success of probability 0: p-value 0
    assert rate_test(100, 100, 1.0).passed
    assert not rate_test(99, 100, 1.0).passed
    with pytest.raises(AssertionError, match="do not fit"):
        assert_rate(7000, 10_000, 0.65)


def test_rate_test_z_is_the_standard_error_count():
    result = rate_test(5500, 10_000, 0.5, budget=1e-3)
    np.testing.assert_allclose(result.z, 10.0)
    assert not result.passed


# ---------------------------------------------------------------- merging rule
def test_merging_groups_smallest_cells_until_min_expected():
    """Expected counts 100, 60, 20, 10, 6, 4: the three smallest outcomes share a cell of
    expected count exactly 20; the rest stand alone."""
    p = np.array([0.5, 0.3, 0.1, 0.05, 0.03, 0.02])
    counts = np.array([100, 60, 20, 10, 6, 4])
    result = goodness_of_fit(samples_from_counts(counts), p)
    assert result.cells == 4 and result.df == 3 and result.outcomes == 6
    assert result.merged == ((5, 4, 3),)
    np.testing.assert_allclose(result.min_cell_expected, 20.0)
    assert result.statistic == 0.0 and result.passed


def test_merging_final_short_group_joins_the_one_before():
    """Expected counts 10 x 6 then 12 (N = 72): pairs of tens close at 20; the last 12 is
    short and joins the last pair."""
    weights = np.array([10, 10, 10, 10, 10, 10, 12])
    result = goodness_of_fit(samples_from_counts(weights), weights / 72)
    assert result.cells == 3
    assert result.merged == ((0, 1), (2, 3), (4, 5, 6))


def test_merging_with_a_mapping_keeps_outcome_labels():
    law = {"a": Fraction(1, 2), "b": Fraction(48, 100), "c": Fraction(1, 100), "d": Fraction(1, 100)}
    samples = ["a"] * 500 + ["b"] * 480 + ["c"] * 10 + ["d"] * 10
    result = goodness_of_fit(samples, law)
    assert result.merged == (("c", "d"),)
    assert result.passed


def test_a_point_mass_law_is_checked_exactly():
    """One outcome with p > 0 leaves one cell (df = 0): only the zero cells can fail."""
    p = np.array([0.0, 1.0, 0.0])
    result = assert_follows(np.ones(50, dtype=np.int64), p)
    assert result.df == 0 and result.p_value == 1.0
    with pytest.raises(AssertionError, match="outcome 2 \\(p = 0\\) observed 1 times"):
        assert_follows(np.array([1] * 49 + [2]), p)


# ---------------------------------------------------------------- certain violations
def test_a_sample_in_a_zero_cell_fails_whatever_the_budget():
    rng = np.random.default_rng(20240601)
    p = np.array([0.5, 0.0, 0.5])
    samples = rng.choice(3, size=10_000, p=p)
    samples[17] = 1
    result = goodness_of_fit(samples, p, budget=1e-300)
    assert not result.passed and result.impossible == 1 and result.p_value == 0.0
    assert result.violations == ((1, 1),)
    assert "certain violation" in result.message


def test_an_outcome_missing_from_a_mapping_fails():
    law = {(0, 1): 0.5, (1, 0): 0.5}
    draws = np.array([[0, 1]] * 60 + [[1, 0]] * 59 + [[1, 1]])
    result = goodness_of_fit(draws, law)
    assert not result.passed and result.impossible == 1
    assert result.violations == (((1, 1), 1),)
    with pytest.raises(AssertionError, match=r"\(1, 1\)"):
        assert_follows(draws, law)


def test_two_d_rows_and_tuples_are_the_same_outcomes():
    law = {(0, 1): Fraction(1, 4), (1, 0): Fraction(3, 4)}
    rows = np.array([[0, 1]] * 25 + [[1, 0]] * 75, dtype=np.int32)
    from_rows = goodness_of_fit(rows, law)
    from_tuples = goodness_of_fit([tuple(r) for r in rows.tolist()], law)
    assert from_rows.statistic == from_tuples.statistic == 0.0
    assert from_rows.impossible == 0


def test_rows_with_wide_or_negative_values_are_counted_exactly():
    """2-D rows are packed into one integer code when their range allows it, and counted
    row by row otherwise: both routes give the tuple counts."""
    for values in ([-3, 7], [0, 2**40]):
        a, b = values
        law = {(a, b): 0.5, (b, a): 0.25, (a, a): 0.25}
        rows = np.array([[a, b]] * 50 + [[b, a]] * 25 + [[a, a]] * 25, dtype=np.int64)
        result = goodness_of_fit(rows, law)
        assert result.statistic == 0.0 and result.impossible == 0


# ---------------------------------------------------------------- false-alarm rate
@pytest.mark.parametrize("budget", [1e-3, 1e-6])
@pytest.mark.parametrize("expected_small", [20, 23, 30, 50, 100])
def test_exact_false_alarm_rate_of_the_two_cell_test(budget, expected_small):
    """The test on two outcomes, the smaller with expected count ``e`` (N = 10^4), fails a
    correct sampler with probability sum_k Binomial(N, e/N)(k) [test fails on k]: computed
    exactly by running the test on every count that matters. It stays within a factor 2 of
    the budget (Pearson's chi-square would reach 12x at e = 20, budget 1e-6)."""
    n = 10_000
    small = expected_small / n
    p = np.array([small, 1 - small])
    sd = math.sqrt(expected_small)
    rate = 0.0
    for k in range(0, int(expected_small + 14 * sd + 30)):
        if not goodness_of_fit(np.repeat([0, 1], [k, n - k]), p, budget=budget).passed:
            log_pmf = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                       + k * math.log(small) + (n - k) * math.log1p(-small))
            rate += math.exp(log_pmf)
    assert 0.5 * budget <= rate <= 2.0 * budget


def test_pearson_would_be_miscalibrated_in_the_far_tail():
    """Why the module uses G, not Pearson's chi-square: the same exact two-cell computation
    for Pearson's statistic (e = 20, N = 10^4, budget 1e-6) gives about 12 times the budget."""
    n, small, budget = 10_000, 20 / 10_000, 1e-6
    critical = chi2_isf(budget, 1)
    rate = 0.0
    for k in range(0, 200):
        pearson = (k - n * small) ** 2 / (n * small * (1 - small))
        if pearson > critical:
            rate += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                             + k * math.log(small) + (n - k) * math.log1p(-small))
    assert 10 * budget < rate < 14 * budget


def _poisson_g_tail(expected: float, cells: int, budget: float, step: float = 0.01) -> float:
    """P(G^2 / q_W > chi2 critical value) for ``cells`` independent Poisson(expected) counts,
    by convolving the exact law of one cell's deviance on a grid (FFT)."""
    k = np.arange(0, int(expected + 40 * math.sqrt(expected) + 60))
    log_pmf = k * math.log(expected) - expected - np.array([math.lgamma(v + 1.0) for v in k])
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = 2 * np.where(k > 0, k * np.log(k / expected), 0.0) - 2 * (k - expected)
    williams = 1 + 1 / (6 * expected)  # Poisson form of q_W: 1 + sum_c (1/E_c) / (6 cells)
    critical = chi2_isf(budget, cells)
    size = 1 << math.ceil(math.log2(2 * (1.6 * critical + 100) / step))
    grid = np.zeros(size)
    np.add.at(grid, np.minimum(np.round(dev / williams / step).astype(int), size - 1), np.exp(log_pmf))
    law = np.maximum(np.fft.irfft(np.fft.rfft(grid) ** cells, size), 0.0)
    return float(law[round(critical / step):].sum())


@pytest.mark.parametrize("cells", [2, 30])
def test_many_cell_false_alarm_rate_by_poisson_convolution(cells):
    """The statistic's tail at budget 1e-6 with every expected count at the floor of 20, in
    the Poisson form (cells independent, df = cells): within a factor 1.5 of nominal."""
    rate = _poisson_g_tail(20.0, cells, 1e-6)
    assert 1e-6 / 1.5 <= rate <= 1.5e-6


def _null_failures(rng, p, n, replicates, budget, mapping=None):
    failures = 0
    for _ in range(replicates):
        counts = rng.multinomial(n, p)
        if mapping is None:
            result = goodness_of_fit(samples_from_counts(counts), p, budget=budget)
        else:
            keys, law = mapping
            rows = np.repeat(np.array(keys), counts, axis=0)
            result = goodness_of_fit(rows, law, budget=budget)
        failures += not result.passed
    return failures


@pytest.mark.parametrize(("budget", "replicates"), [(Fraction(1, 100), 4000), (Fraction(1, 1000), 10_000)])
def test_null_failure_rate_is_the_budget(budget, replicates):
    """A correct sampler (numpy multinomial) fails about ``budget`` of the time: the number
    of failures lies in the exact binomial region of false-alarm probability 1e-6. The law
    has tiny outcomes, so merging is exercised (9 outcomes -> 7 cells at N = 1000)."""
    rng = np.random.default_rng(7_000_001)
    p = np.array([0.3, 0.2, 0.2, 0.0, 0.1, 0.15, 0.04, 0.009, 0.0008, 0.0002])
    failures = _null_failures(rng, p, 1000, replicates, float(budget))
    lo, hi = binomial_region(replicates, budget, Fraction(1, 10**6))
    assert lo <= failures <= hi, (failures, lo, hi)


def test_null_failure_rate_with_a_mapping_of_draft_tuples():
    """Same, on tuple outcomes given as 2-D rows against a draft law (budget 0.01)."""
    rng = np.random.default_rng(7_000_002)
    law = spechub.draft_law(np.array([0.5, 0.3, 0.15, 0.05]), 2)
    keys = list(law)
    p = np.array([law[key] for key in keys])
    failures = _null_failures(rng, p, 2000, 4000, 0.01, mapping=(keys, law))
    lo, hi = binomial_region(4000, Fraction(1, 100), Fraction(1, 10**6))
    assert lo <= failures <= hi, (failures, lo, hi)


# ---------------------------------------------------------------- power
def zipf(vocab: int) -> np.ndarray:
    p = 1.0 / np.arange(1, vocab + 1)
    return p / p.sum()


def test_catches_a_planted_bias_of_tv_001_at_one_million():
    """0.01 of mass moved from the top outcome to the ten rarest ones. Budget 1e-6 for the
    correct sampler on the same seed and N."""
    p = zipf(100)
    biased = p.copy()
    biased[0] -= 0.01
    biased[-10:] += 0.001
    np.testing.assert_allclose(0.5 * np.abs(biased - p).sum(), 0.01)
    n = 10**6
    with pytest.raises(AssertionError, match="do not follow"):
        assert_follows(np.random.default_rng(11).choice(100, size=n, p=biased), p)
    result = assert_follows(np.random.default_rng(11).choice(100, size=n, p=p), p)
    assert result.detectable_tv() < 0.01  # the test guarantees this bias is caught


def _hub_shortcut_verify(p, q, drafts, *, rng):
    """The fault in the SpecHub authors' code: accept the hub outright when p(a) > 1 - 1e-3."""
    verdict = spechub.verify(p, q, drafts, rng=rng)
    hub = int(np.argmax(q))
    if p[hub] <= 1 - 1e-3:
        return verdict
    position = np.argmax(drafts == hub, axis=1)  # every SpecHub pair holds the hub once
    return Verdict(np.full(drafts.shape[0], hub, dtype=np.int64), position.astype(np.int64))


def test_catches_the_spechub_hub_shortcut():
    """p(a) = 0.9995: the shortcut always outputs the hub (TV 5e-4 from p per step), which
    10^6 draft+verify draws catch; the real verifier passes on the same seed (budget 1e-6)."""
    p = np.full(20, 0.0005 / 19)
    p[3] = 0.9995
    q = np.full(20, 0.4 / 19)
    q[3] = 0.6
    n = 10**6

    def run(verify):
        rng = np.random.default_rng(2411_05289)
        drafts = spechub.draft(q, 2, rng=rng, size=n)
        return verify(p, q, drafts, rng=rng).token

    with pytest.raises(AssertionError, match="do not follow"):
        assert_follows(run(_hub_shortcut_verify), p)
    assert_follows(run(spechub.verify), p)


PAIRED = np.array([0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
SIGNS = np.array([1, -1] * 5)  # splits PAIRED into two halves of mass 1/2


@pytest.mark.parametrize(("n", "budget"), [(5000, 0.01), (5000, 1e-6)])
def test_a_bias_at_detectable_tv_is_caught_at_the_stated_power(n, budget):
    """The least detectable bias of TV eps, d = 2 eps p s (Cauchy-Schwarz equality), with eps
    = detectable_tv(power = 0.9): caught in about 90% of 1000 runs (exact binomial region,
    false alarm 1e-6). Twice that bias is caught every time."""
    rng = np.random.default_rng(31_337)
    eps = detectable_tv(n, 9, budget=budget, power=0.9)
    biased = PAIRED * (1 + 2 * eps * SIGNS)
    np.testing.assert_allclose(0.5 * np.abs(biased - PAIRED).sum(), eps)
    caught = sum(
        not goodness_of_fit(samples_from_counts(rng.multinomial(n, biased)), PAIRED, budget=budget).passed
        for _ in range(1000)
    )
    lo, hi = binomial_region(1000, Fraction(9, 10), Fraction(1, 10**6))
    assert lo <= caught <= hi, (caught, lo, hi)
    doubled = PAIRED * (1 + 4 * eps * SIGNS)
    for _ in range(20):
        counts = rng.multinomial(n, doubled)
        assert not goodness_of_fit(samples_from_counts(counts), PAIRED, budget=budget).passed


def test_detectable_tv_and_samples_needed_are_inverse():
    for df in (1, 9, 999):
        for n in (1000, 10**6):
            eps = detectable_tv(n, df)
            needed = samples_needed(eps, df)
            assert n - 1 <= needed <= n + 1
            crit = chi2_isf(1e-6, df)
            np.testing.assert_allclose(ncx2_sf(crit, df, 4 * n * eps**2), 0.99, rtol=1e-8)
    assert detectable_tv(4 * 10**6, 9) == pytest.approx(detectable_tv(10**6, 9) / 2)
    assert detectable_tv(10**6, 9, power=0.5) < detectable_tv(10**6, 9, power=0.99)
    assert detectable_tv(10**6, 9, budget=1e-3) < detectable_tv(10**6, 9, budget=1e-9)


def test_result_detectable_tv_includes_williams_factor():
    rng = np.random.default_rng(5)
    result = goodness_of_fit(samples_from_counts(rng.multinomial(1000, PAIRED)), PAIRED)
    plain = detectable_tv(1000, result.df)
    assert result.williams > 1.0
    assert plain < result.detectable_tv() < plain * result.williams


# ---------------------------------------------------------------- input errors
GOOD = np.array([0.5, 0.5])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: goodness_of_fit(np.array([0.0, 1.0]), GOOD), TypeError, "samples"),
        (lambda: goodness_of_fit(np.array([True, False]), GOOD), TypeError, "samples"),
        (lambda: goodness_of_fit(np.array([0, 2]), GOOD), ValueError, "samples holds token 2"),
        (lambda: goodness_of_fit(np.array([-1, 0]), GOOD), ValueError, "samples"),
        (lambda: goodness_of_fit(np.zeros((2, 2), np.int64), GOOD), ValueError, "1-D"),
        (lambda: goodness_of_fit(np.array([], np.int64), GOOD), ValueError, "empty"),
        (lambda: goodness_of_fit("01", GOOD), TypeError, "samples"),
        (lambda: goodness_of_fit([0, 1], np.array([0.5, 0.6])), ValueError, "p sums to"),
        (lambda: goodness_of_fit([0, 1], np.array([1.5, -0.5])), ValueError, "negative"),
        (lambda: goodness_of_fit([0, 1], np.array([np.nan, 1.0])), ValueError, "NaN"),
        (lambda: goodness_of_fit([0, 1], [Fraction(1, 2), Fraction(1, 3)]), ValueError, "exactly 1"),
        (lambda: goodness_of_fit([0, 1], [Fraction(1, 2), 0.5]), TypeError, "Fraction"),
        (lambda: goodness_of_fit([0, 1], {}), ValueError, "empty mapping"),
        (lambda: goodness_of_fit([0, 1], {0: 0.5, 1: "x"}), TypeError, r"p\[1\]"),
        (lambda: goodness_of_fit([0, 1], {0: 0.5, 1: -0.5}), ValueError, r"p\[1\]"),
        (lambda: goodness_of_fit([0, 1], {0: 0.5, 1: 0.2}), ValueError, "sum to"),
        (lambda: goodness_of_fit([[0], [1]], {(0,): 0.5, (1,): 0.5}), TypeError, "hashable"),
        (lambda: goodness_of_fit([([0], 1)], {(0, 1): 1.0}), TypeError, "hashable"),
        (lambda: goodness_of_fit([0, 1], GOOD, budget=0.0), ValueError, "budget"),
        (lambda: goodness_of_fit([0, 1], GOOD, budget=1.0), ValueError, "budget"),
        (lambda: goodness_of_fit([0, 1], GOOD, budget="x"), TypeError, "budget"),
        (lambda: goodness_of_fit([0, 1], GOOD, min_expected=0), ValueError, "min_expected"),
        (lambda: goodness_of_fit([0, 1] * 5, GOOD), ValueError, "too few"),
        (lambda: chi2_sf(1.0, 0), ValueError, "df"),
        (lambda: chi2_sf(1.0, 2.0), TypeError, "df"),
        (lambda: chi2_sf(float("nan"), 2), ValueError, "x"),
        (lambda: chi2_isf(0.0, 2), ValueError, "prob"),
        (lambda: ncx2_sf(1.0, 2, -1.0), ValueError, "nc"),
        (lambda: detectable_tv(0, 3), ValueError, "n"),
        (lambda: detectable_tv(100, 3, power=1e-7), ValueError, "power"),
        (lambda: samples_needed(0.0, 3), ValueError, "tv"),
        (lambda: rate_test(5, 4, 0.5), ValueError, "hits"),
        (lambda: rate_test(1.0, 4, 0.5), TypeError, "hits"),
        (lambda: rate_test(1, 4, 1.5), ValueError, "rate"),
        (lambda: rate_test(1, 0, 0.5), ValueError, "n"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_results_are_frozen():
    result = goodness_of_fit([0, 1] * 50, GOOD)
    with pytest.raises(AttributeError):
        result.passed = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        rate_test(1, 2, 0.5).passed = False  # type: ignore[misc]


def test_message_names_the_worst_cells():
    p = np.array([0.25, 0.25, 0.25, 0.25])
    counts = np.array([250, 250, 400, 100])
    result = goodness_of_fit(samples_from_counts(counts), p)
    assert not result.passed
    assert [cell.outcomes for cell in result.worst[:2]] == [(3,), (2,)]
    assert result.worst[0].observed == 100 and result.worst[0].expected == 250.0
    assert "outcome 3: observed 100, expected 250" in result.message
    assert testing.DEFAULT_MIN_EXPECTED == 20.0


def test_binomial_region_helper_on_hand_computed_cases():
    """Binomial(10, 1/2): P(X < 2) = 11/1024 <= 0.05 < P(X < 3) = 56/1024, and symmetrically."""
    assert binomial_region(10, Fraction(1, 2), Fraction(1, 10)) == (2, 8)
    assert binomial_region(3, Fraction(1, 2), Fraction(1, 2)) == (1, 2)
