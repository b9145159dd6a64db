"""Goodness-of-fit tools that check a sampler follows a law, with a stated false-alarm rate.

For use from pytest (or any other test runner) on any sampler, not only this library's::

    from specsample.testing import assert_follows
    tokens = my_verifier(...)                 # (N,) int outcomes 0..V-1
    assert_follows(tokens, p, budget=1e-6)    # AssertionError naming the worst cells

The test
--------
The outcomes with positive probability are grouped into *cells* (the merging rule below);
with ``O_c`` the observed and ``E_c = N p(c)`` the expected count of cell ``c`` among ``C``
cells, the statistic is the likelihood-ratio (G) statistic with Williams' correction,

.. math::

    G^2 = 2 \\sum_c \\Bigl[O_c \\log\\frac{O_c}{E_c} - (O_c - E_c)\\Bigr], \\qquad
    q_W = 1 + \\frac{\\sum_c 1/E_c - 1/N}{6\\,(C - 1)},

and the test fails when the chi-square survival function ``P(chi2_{C-1} > G^2 / q_W)``, the
p-value, is below ``budget``. It is computed here without scipy (:func:`chi2_logsf`).

Why G and not Pearson's chi-square: the budget is meant to be used far in the tail (1e-6),
where Pearson's statistic is badly calibrated for cells with moderate expected counts (its
upper tail follows the skewed Poisson tail): with one cell of expected count 20 the true
false-alarm rate of Pearson's test at nominal 1e-6 is about 12e-6. The corrected G statistic
stays close to the nominal rate there.

False-alarm rate. ``budget`` is the probability that the test fails a *correct* sampler,
in the asymptotic approximation ``G^2 / q_W ~ chi2_{C-1}``. The approximation needs every
cell's expected count to be large; the merging rule guarantees at least ``min_expected``
(default 20). At that floor, ``tests/test_testing.py`` computes the true rate exactly for two
cells (binomial sums; it lies between 0.5 and 2 times the budget at budgets 1e-3 and 1e-6,
moving within that range with the discreteness of the counts), by Poisson convolution for
30 cells (within a factor 1.5 at 1e-6), and by simulation at budgets 1e-2 and 1e-3. Samples
must be independent draws; the false-alarm rate of a test file is at most the sum of the
budgets of its checks.

Certain violations fail whatever the budget: a sample of an outcome whose probability is 0
(an array entry ``p[i] == 0``, a mapping value 0, or an outcome that is not a key of the
mapping). Malformed input raises instead: ``TypeError`` for samples that are not integers
(array ``p``) or not hashable (mapping ``p``), ``ValueError`` for integer samples outside
``[0, V)`` (array ``p``), an empty sample, a ``p`` that is not a probability vector (the
rules of :mod:`specsample._checks`: a float vector whose sum is within ``PROB_SUM_TOL`` of 1
is read as proportional to the law; Fractions must sum to exactly 1), or too few samples to
form two cells.

Cell merging
------------
Outcomes with ``p > 0`` are sorted by ``p`` (ascending; ties keep their original order)
and grouped greedily from the smallest: a group closes as soon as its expected count reaches
``min_expected``; a final group that stays below it joins the group before. Outcomes whose
own expected count reaches ``min_expected`` therefore form cells of their own. Rare outcomes
share cells: a bias that moves mass *inside* a merged cell is invisible to the test (the
cells are reported in :attr:`GofResult.merged`).

Power
-----
For a sampler whose law differs from ``p`` by total variation ``eps`` on the cells, the
statistic is approximately noncentral chi-square with noncentrality
``lambda = N sum_c d_c^2 / p_c >= 4 N eps^2`` (Cauchy-Schwarz, ``d`` the difference of the
cell laws). :func:`detectable_tv` inverts the noncentral chi-square tail: every bias with
``eps`` at least the returned value is detected with probability ``power`` or more (in the
same asymptotic approximation, for small biases). :func:`samples_needed` is its inverse.

Rates
-----
:func:`rate_test` / :func:`assert_rate` compare a count of successes with an exact rate by
the exact two-sided binomial test (no normal approximation), for example a verifier's
acceptance count against ``acceptance_rate``.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from specsample import _checks

__all__ = [
    "DEFAULT_MIN_EXPECTED",
    "DEFAULT_POWER",
    "Cell",
    "GofResult",
    "RateResult",
    "assert_follows",
    "assert_rate",
    "chi2_isf",
    "chi2_logsf",
    "chi2_sf",
    "detectable_tv",
    "goodness_of_fit",
    "ncx2_sf",
    "rate_test",
    "samples_needed",
]

#: Smallest expected count of a cell after merging (see the module docstring).
DEFAULT_MIN_EXPECTED = 20.0

#: Default probability of detecting a bias in :func:`detectable_tv` / :func:`samples_needed`.
DEFAULT_POWER = 0.99

# A Poisson or binomial pmf drops by more than e^-700 (below every double) within this many
# standard deviations (plus a constant for small means) of its largest term.
_WINDOW_SDS = 40.0
_WINDOW_MIN = 40.0

_WORST_SHOWN = 5


# ---------------------------------------------------------------- special functions
def _lgamma(x: np.ndarray) -> np.ndarray:
    """log Gamma elementwise (numpy has no lgamma; the loop runs over a short window)."""
    return np.array([math.lgamma(v) for v in np.asarray(x, dtype=np.float64).tolist()])


def _log_sum_exp(a: np.ndarray) -> float:
    if a.size == 0:
        return -math.inf
    top = float(a.max())
    if top == -math.inf:
        return -math.inf
    return top + math.log(float(np.exp(a - top).sum()))


def _log_erfc(z: float) -> float:
    """log erfc(z) for z >= 0, finite far beyond the underflow of ``math.erfc``.

    Below 20 ``math.erfc`` is accurate and far from underflow; above, Laplace's continued
    fraction ``erfc(z) = exp(-z^2) / sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...))))``,
    whose 60 levels are exact to rounding for z >= 20.
    """
    if z < 20.0:
        return math.log(math.erfc(z))
    cf = z
    for m in range(60, 0, -1):
        cf = z + (m / 2.0) / cf
    return -z * z - 0.5 * math.log(math.pi) - math.log(cf)


def _window(last: int, centre: float) -> np.ndarray:
    """Indices ``0..last`` that can matter in a sum of Poisson-like terms peaking at ``centre``.

    The terms are log-concave, so the largest one within ``0..last`` sits at
    ``c = min(last, floor(centre))`` and beyond ``_WINDOW_SDS`` standard deviations from
    ``c`` they are below ``exp(-700)`` of it.
    """
    c = min(last, max(0, math.floor(centre)))
    width = math.ceil(_WINDOW_SDS * math.sqrt(max(centre, 1.0)) + _WINDOW_MIN)
    return np.arange(max(0, c - width), min(last, c + width) + 1, dtype=np.float64)


def _check_df(df) -> int:
    if isinstance(df, (bool, np.bool_)) or not isinstance(df, numbers.Integral):
        raise TypeError(f"df must be an int; got {type(df).__name__} {df!r}")
    if df < 1:
        raise ValueError(f"df must be at least 1; got {df}")
    return int(df)


def _check_real(x, name: str) -> float:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {type(x).__name__} {x!r}")
    x = float(x)
    if math.isnan(x):
        raise ValueError(f"{name} is NaN")
    return x


def _check_open_unit(x, name: str) -> float:
    x = _check_real(x, name)
    if not 0.0 < x < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {x!r}")
    return x


def chi2_logsf(x: float, df: int) -> float:
    """Natural log of the chi-square survival function ``P(chi2_df > x)``.

    For ``x >= df`` (the upper tail), closed forms of the regularised upper incomplete gamma
    function ``Q(df/2, x/2)``:

    .. math::

        Q(n, y) = e^{-y} \\sum_{j=0}^{n-1} \\frac{y^j}{j!}, \\qquad
        Q(n + \\tfrac12, y) = \\operatorname{erfc}\\sqrt{y}
            + e^{-y} \\sum_{j=0}^{n-1} \\frac{y^{j + 1/2}}{\\Gamma(j + 3/2)}.

    For ``x < df``, where the survival is near 1, ``log1p(-P)`` with the lower function
    ``P(s, y) = e^{-y} \\sum_{m \\ge 0} y^{s + m} / \\Gamma(s + m + 1)``. Every sum is of
    positive terms (no cancellation), taken in log space over the terms that can matter, so
    the result is accurate for ``df`` in the millions and for survival values far below
    1e-300 (relative error ~1e-11 at df = 1e5). Cost O(sqrt(x)) terms.

    Parameters
    ----------
    x : float
        The statistic; ``x <= 0`` gives 0.0 (survival 1).
    df : int
        Degrees of freedom, at least 1.
    """
    df = _check_df(df)
    x = _check_real(x, "x")
    if x <= 0.0:
        return 0.0
    if x == math.inf:
        return -math.inf
    y = x / 2.0
    log_y = math.log(y)
    if x < df:  # P(s, y) <= 1/2 or so: its terms decrease from m = 0
        shape = df / 2.0
        m = np.arange(math.ceil(_WINDOW_SDS * math.sqrt(y) + _WINDOW_MIN) + 1, dtype=np.float64)
        log_lower = _log_sum_exp(-y + (shape + m) * log_y - _lgamma(shape + m + 1.0))
        return math.log1p(-math.exp(log_lower))
    if df % 2 == 0:
        j = _window(df // 2 - 1, y)
        terms = -y + j * log_y - _lgamma(j + 1.0)
        return min(0.0, _log_sum_exp(terms))
    n = (df - 1) // 2
    parts = [_log_erfc(math.sqrt(y))]
    if n > 0:
        j = _window(n - 1, y - 0.5)
        parts.append(_log_sum_exp(-y + (j + 0.5) * log_y - _lgamma(j + 1.5)))
    return min(0.0, _log_sum_exp(np.array(parts)))


def chi2_sf(x: float, df: int) -> float:
    """Chi-square survival function ``P(chi2_df > x)`` (``exp`` of :func:`chi2_logsf`)."""
    return math.exp(chi2_logsf(x, df))


def chi2_isf(prob: float, df: int) -> float:
    """The critical value ``x`` with ``P(chi2_df > x) = prob`` (inverse survival function).

    Bisection on :func:`chi2_logsf` to a relative width of 1e-13; works for ``prob`` down to
    1e-300. Returns the upper end of the final bracket, so ``P(chi2_df > x) <= prob``.
    """
    df = _check_df(df)
    prob = _check_real(prob, "prob")
    if not 0.0 < prob <= 1.0:
        raise ValueError(f"prob must lie in (0, 1]; got {prob!r}")
    if prob == 1.0:
        return 0.0
    target = math.log(prob)
    lo, hi = 0.0, float(df)
    while chi2_logsf(hi, df) > target:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        if hi - lo <= 1e-13 * hi:
            break
        mid = 0.5 * (lo + hi)
        if chi2_logsf(mid, df) > target:
            lo = mid
        else:
            hi = mid
    return hi


def ncx2_sf(x: float, df: int, nc: float) -> float:
    """Noncentral chi-square survival function ``P(chi2_df(nc) > x)``.

    The Poisson mixture of central tails,

    .. math::

        P(\\chi'^2_{df}(\\lambda) > x) = \\sum_{i \\ge 0} e^{-\\lambda/2}
            \\frac{(\\lambda/2)^i}{i!}\\; Q\\bigl(\\tfrac{df}{2} + i, \\tfrac{x}{2}\\bigr),

    over the Poisson window that can matter, with ``Q(s + 1, y) = Q(s, y) + y^s e^{-y} /
    Gamma(s + 1)`` stepping from one central tail to the next.
    """
    df = _check_df(df)
    x = _check_real(x, "x")
    nc = _check_real(nc, "nc")
    if nc < 0.0 or nc == math.inf:
        raise ValueError(f"nc must be finite and non-negative; got {nc!r}")
    if x <= 0.0:
        return 1.0
    if nc == 0.0:
        return chi2_sf(x, df)
    mu = nc / 2.0
    y = x / 2.0
    width = math.ceil(_WINDOW_SDS * math.sqrt(max(mu, 1.0)) + _WINDOW_MIN)
    i = np.arange(max(0, math.floor(mu) - width), math.floor(mu) + width + 1, dtype=np.float64)
    log_weight = -mu + i * math.log(mu) - _lgamma(i + 1.0)
    shape = df / 2.0 + i[:-1]  # Q(shape + 1) - Q(shape) = y^shape e^-y / Gamma(shape + 1)
    steps = np.exp(-y + shape * math.log(y) - _lgamma(shape + 1.0))
    first = chi2_sf(x, df + 2 * int(i[0]))
    tails = np.minimum(first + np.concatenate([[0.0], np.cumsum(steps)]), 1.0)
    return float(min(1.0, np.exp(log_weight) @ tails))


def _noncentrality_needed(df: int, critical: float, power: float) -> float:
    """The ``lambda`` with ``P(chi2_df(lambda) > critical) = power`` (bisection)."""
    lo, hi = 0.0, max(1.0, critical)
    while ncx2_sf(critical, df, hi) < power:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        if hi - lo <= 1e-10 * hi:
            break
        mid = 0.5 * (lo + hi)
        if ncx2_sf(critical, df, mid) < power:
            lo = mid
        else:
            hi = mid
    return hi


def _power_args(df, budget, power) -> tuple[int, float, float]:
    df = _check_df(df)
    budget = _check_open_unit(budget, "budget")
    power = _check_open_unit(power, "power")
    if power <= budget:
        raise ValueError(f"power must exceed budget (a test that ignores the data fails with "
                         f"probability budget); got power={power!r}, budget={budget!r}")
    return df, budget, power


def detectable_tv(n: int, df: int, *, budget: float = 1e-6, power: float = DEFAULT_POWER) -> float:
    """Total-variation bias that ``n`` samples detect with probability ``power``.

    With ``c`` the test's critical value (``P(chi2_df > c) = budget``) and ``lambda*`` the
    noncentrality at which ``P(chi2_df(lambda*) > c) = power``, every sampler whose law is at
    total variation ``eps`` from ``p`` *on the test's cells* has noncentrality
    ``lambda = n sum_c d_c^2 / p_c >= 4 n eps^2`` (Cauchy-Schwarz), so

    .. math::

        \\varepsilon_{\\min} = \\sqrt{\\lambda^* / (4 n)}.

    The bound is attained by a bias ``d_c = 2 eps p_c s_c`` with signs ``s_c = +-1`` splitting
    ``p`` into halves; other biases of the same size are detected more often. A bias inside a
    merged cell is invisible, so ``eps`` is measured on the cells (at most the TV of the
    law). Asymptotic (noncentral chi-square for small biases); Williams' correction, which
    divides the statistic by at most ``1 + 1/(3 min_expected)``, is ignored here
    (:meth:`GofResult.detectable_tv` includes it). A value at or above 1 means no bias is
    guaranteed to be caught.

    Parameters
    ----------
    n : int
        Number of samples.
    df : int
        Degrees of freedom of the test: cells after merging minus one (``GofResult.df``;
        ``V - 1`` when no cell needs merging).
    budget, power : float
        False-alarm rate of the test and the required probability of detection.
    """
    n = _checks.count(n, "n")
    df, budget, power = _power_args(df, budget, power)
    need = _noncentrality_needed(df, chi2_isf(budget, df), power)
    return math.sqrt(need / (4.0 * n))


def samples_needed(tv: float, df: int, *, budget: float = 1e-6, power: float = DEFAULT_POWER) -> int:
    """Smallest ``n`` with ``detectable_tv(n, df, budget=budget, power=power) <= tv``.

    ``ceil(lambda* / (4 tv^2))`` with ``lambda*`` as in :func:`detectable_tv`. The merging
    (hence ``df``) depends on ``n``: pass the ``df`` of the test at that size.
    """
    tv = _check_real(tv, "tv")
    if not 0.0 < tv <= 1.0:
        raise ValueError(f"tv must lie in (0, 1]; got {tv!r}")
    df, budget, power = _power_args(df, budget, power)
    need = _noncentrality_needed(df, chi2_isf(budget, df), power)
    return max(1, math.ceil(need / (4.0 * tv * tv)))


# ---------------------------------------------------------------- tallying samples
@dataclass(frozen=True)
class _Tally:
    """Outcomes of ``p`` (labels), their probabilities (float64, summing to 1), their
    observed counts, and the samples that are not outcomes of ``p`` at all."""

    labels: list
    probs: np.ndarray
    counts: np.ndarray
    outside: dict


def _is_exact_value(v) -> bool:
    return isinstance(v, (Fraction, int)) and not isinstance(v, bool)


def _mapping_probs(p: Mapping) -> tuple[list, np.ndarray]:
    labels = list(p.keys())
    values = list(p.values())
    if not labels:
        raise ValueError("p is an empty mapping; it needs at least one outcome")
    if all(_is_exact_value(v) for v in values):
        for key, v in zip(labels, values, strict=True):
            if v < 0:
                raise ValueError(f"p[{key!r}] is negative: {v}")
        total = sum((Fraction(v) for v in values), Fraction(0))
        if total != 1:
            raise ValueError(f"p sums to {total}, not exactly 1 (required for Fraction values)")
        return labels, np.array([float(Fraction(v)) for v in values])
    probs = np.empty(len(values))
    for i, (key, v) in enumerate(zip(labels, values, strict=True)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise TypeError(f"p[{key!r}] must be a real number; got {type(v).__name__} {v!r}")
        f = float(v)
        if not math.isfinite(f) or f < 0.0:
            raise ValueError(f"p[{key!r}] must be finite and non-negative; got {v!r}")
        probs[i] = f
    total = math.fsum(probs.tolist())
    if abs(total - 1.0) > _checks.PROB_SUM_TOL:
        raise ValueError(
            f"p's values sum to {total!r}, more than PROB_SUM_TOL={_checks.PROB_SUM_TOL} from 1"
        )
    return labels, probs / total


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D array and their counts.

    Integer rows whose values span a small enough range are packed into one int64 code per
    row (mixed radix), which sorts far faster than ``np.unique(axis=0)``.
    """
    if np.issubdtype(rows.dtype, np.integer) and rows.size:
        low = int(rows.min())
        radix = int(rows.max()) - low + 1
        if radix ** rows.shape[1] < 2**62:
            weights = radix ** np.arange(rows.shape[1] - 1, -1, -1, dtype=np.int64)
            codes = (rows.astype(np.int64) - low) @ weights
            uniq, cnt = np.unique(codes, return_counts=True)
            digits = (uniq[:, None] // weights[None, :]) % radix + low  # (distinct, k)
            return digits, cnt
    return np.unique(rows, axis=0, return_counts=True)


def _count_hashable(items: list) -> Counter:
    try:
        return Counter(items)
    except TypeError:
        for item in items:
            try:
                hash(item)
            except TypeError:
                raise TypeError(f"samples must hold hashable outcomes (tuples, ints, ...); got "
                                f"{type(item).__name__} {item!r} (pass a 2-D array or tuples)"
                                ) from None
        raise


def _tally_mapping(samples, p: Mapping) -> _Tally:
    labels, probs = _mapping_probs(p)
    if isinstance(samples, np.ndarray):
        if samples.ndim not in (1, 2):
            raise ValueError(f"samples must be 1-D, or 2-D with one outcome tuple per row; "
                             f"got shape {samples.shape}")
        if samples.shape[0] == 0:
            raise ValueError("samples is empty")
        if samples.dtype == object:
            items = samples.tolist()
            tally = _count_hashable([tuple(r) for r in items] if samples.ndim == 2 else items)
        elif samples.ndim == 2:
            uniq, cnt = _unique_rows(samples)
            tally = Counter(dict(zip([tuple(r) for r in uniq.tolist()], cnt.tolist(), strict=True)))
        else:
            uniq, cnt = np.unique(samples, return_counts=True)
            tally = Counter(dict(zip(uniq.tolist(), cnt.tolist(), strict=True)))
    else:
        if isinstance(samples, (str, bytes)) or not isinstance(samples, Iterable):
            raise TypeError(f"samples must be a sequence of outcomes or an array; got "
                            f"{type(samples).__name__}")
        items = list(samples)
        if not items:
            raise ValueError("samples is empty")
        tally = _count_hashable(items)
    counts = np.array([tally.pop(key, 0) for key in labels], dtype=np.int64)
    return _Tally(labels=labels, probs=probs, counts=counts, outside=dict(tally))


def _tally_array(samples, p) -> _Tally:
    if _checks.is_exact(p):
        probs = np.array([float(v) for v in _checks.exact_probs(p, "p")])
    else:
        arr = _checks.probs(p, "p", ndims=(1,))[0]
        probs = arr / math.fsum(arr.tolist())
    vocab = probs.shape[0]
    tokens = _checks.tokens(samples, vocab, "samples")
    if tokens.ndim != 1:
        raise ValueError(f"samples must be 1-D outcomes 0..{vocab - 1} for an array p; got shape "
                         f"{tokens.shape} (pass p as a mapping to test tuples)")
    if tokens.size == 0:
        raise ValueError("samples is empty")
    counts = np.bincount(tokens, minlength=vocab).astype(np.int64)
    return _Tally(labels=list(range(vocab)), probs=probs, counts=counts, outside={})


# ---------------------------------------------------------------- the test
class Cell(NamedTuple):
    """One cell of the test: its outcomes, observed and expected counts, and its signed
    deviance residual ``sign(O - E) sqrt(2 (O log(O/E) - (O - E)))`` (about N(0, 1) under
    the null)."""

    outcomes: tuple
    observed: int
    expected: float
    residual: float


@dataclass(frozen=True)
class GofResult:
    """Outcome of :func:`goodness_of_fit`.

    Attributes
    ----------
    n : int
        Number of samples.
    statistic : float
        Williams-corrected G statistic ``G^2 / q_W`` (0 when ``df == 0``; ``inf`` after a
        certain violation).
    df : int
        Degrees of freedom: ``cells - 1``.
    p_value, log_p_value : float
        ``P(chi2_df > statistic)`` and its natural log (the log stays finite far below the
        smallest double).
    budget : float
        False-alarm rate the test was run at.
    passed : bool
        ``p_value >= budget`` and no certain violation.
    outcomes : int
        Outcomes with positive probability.
    cells : int
        Cells after merging.
    min_cell_expected : float
        Smallest expected count of a cell.
    williams : float
        Williams' factor ``q_W`` the G statistic was divided by.
    impossible : int
        Samples of outcomes with probability 0 (or not outcomes of ``p``): each one alone
        fails the test.
    violations : tuple of (outcome, count)
        Up to five of those outcomes with their counts.
    worst : tuple of Cell
        The cells with the largest absolute residuals, worst first (up to five).
    merged : tuple of tuples
        The outcomes of every cell holding more than one outcome.
    message : str
        Human-readable verdict listing the worst cells, observed vs expected (a property).
    """

    n: int
    statistic: float
    df: int
    p_value: float
    log_p_value: float
    budget: float
    passed: bool
    outcomes: int
    cells: int
    min_cell_expected: float
    williams: float
    impossible: int
    violations: tuple = field(repr=False)
    worst: tuple = field(repr=False)
    merged: tuple = field(repr=False)

    @property
    def message(self) -> str:
        """The verdict with the worst cells (or the certain violations), one per line."""
        header = (f"(N={self.n}, {self.cells} cells from {self.outcomes} outcomes, smallest "
                  f"expected count {self.min_cell_expected:.4g})")
        if self.impossible:
            lines = [f"samples do not follow p: {self.impossible} of {self.n} samples are "
                     "outcomes with probability 0 (a certain violation, whatever the budget) "
                     f"{header}:"]
            lines += [f"  outcome {key!r} (p = 0) observed {c} times" for key, c in self.violations]
            return "\n".join(lines)
        verdict, relation = ("fit", ">=") if self.passed else ("do not follow", "<")
        lines = [f"samples {verdict} p: G statistic {self.statistic:.6g} (Williams-corrected) "
                 f"on {self.df} df, p-value {_fmt_p(self.log_p_value)} {relation} budget "
                 f"{self.budget:g} {header}"]
        if self.worst:
            lines.append("worst cells (observed vs expected, signed deviance residual):")
        for cell in self.worst:
            lines.append(f"  {_describe(cell.outcomes)}: observed {cell.observed}, expected "
                         f"{cell.expected:.6g} ({cell.residual:+.2f})")
        return "\n".join(lines)

    def detectable_tv(self, power: float = DEFAULT_POWER) -> float:
        """TV bias on this test's cells detected with probability ``power`` (see
        :func:`detectable_tv`), including Williams' correction of this run."""
        if self.df < 1:
            raise ValueError("a test with a single cell (df = 0) detects no bias")
        df, budget, power = _power_args(self.df, self.budget, power)
        critical = chi2_isf(budget, df) * self.williams
        return math.sqrt(_noncentrality_needed(df, critical, power) / (4.0 * self.n))


def _check_min_expected(min_expected) -> float:
    m = _check_real(min_expected, "min_expected")
    if not 0.0 < m < math.inf:
        raise ValueError(f"min_expected must be positive and finite; got {m!r}")
    return m


def _group_bounds(expected_sorted: np.ndarray, minimum: float) -> np.ndarray:
    """End indices of the greedy groups over ascending expected counts (module docstring)."""
    cells = expected_sorted.shape[0]
    cum = np.cumsum(expected_sorted)
    ends: list[int] = []
    start = 0
    while start < cells:
        if expected_sorted[start] >= minimum:  # every later cell is at least as large
            ends.extend(range(start + 1, cells + 1))
            break
        base = cum[start - 1] if start else 0.0
        end = int(np.searchsorted(cum, base + minimum, side="left")) + 1
        if end > cells:  # the final group stays short: it joins the one before
            if ends:
                ends[-1] = cells
            else:
                ends.append(cells)
            break
        ends.append(end)
        start = end
    return np.array(ends, dtype=np.int64)


def _describe(outcomes: tuple) -> str:
    if len(outcomes) == 1:
        return f"outcome {outcomes[0]!r}"
    shown = ", ".join(repr(o) for o in outcomes[:4])
    more = f", ... (+{len(outcomes) - 4} more)" if len(outcomes) > 4 else ""
    return f"outcomes {{{shown}{more}}}"


def _fmt_p(log_p: float) -> str:
    if log_p > math.log(1e-300):
        return f"{math.exp(log_p):.3g}"
    return f"exp({log_p:.4g})"


def _fit(tally: _Tally, budget: float, minimum: float) -> GofResult:
    labels, probs, counts = tally.labels, tally.probs, tally.counts
    outside = sum(tally.outside.values())
    n = int(counts.sum()) + outside
    zero = np.flatnonzero((probs == 0.0) & (counts > 0))
    impossible = outside + int(counts[zero].sum())

    live = np.flatnonzero(probs > 0.0)
    order = live[np.argsort(probs[live], kind="stable")]  # ascending p, ties in label order
    ends = _group_bounds(n * probs[order], minimum)
    starts = np.concatenate([[0], ends[:-1]])
    if ends.size == 1 and live.size > 1 and not impossible:
        raise ValueError(
            f"samples: {n} samples are too few to test {live.size} outcomes: merging to an "
            f"expected count of at least min_expected={minimum:g} per cell leaves one cell "
            "(draw more samples, or lower min_expected at the cost of calibration)"
        )
    observed = np.add.reduceat(counts[order], starts).astype(np.float64)
    cell_expected = n * np.add.reduceat(probs[order], starts)

    def outcomes_of(c: int) -> tuple:
        return tuple(labels[i] for i in order[starts[c]:ends[c]].tolist())

    merged = tuple(outcomes_of(c) for c in np.flatnonzero(ends - starts > 1).tolist())
    df = ends.size - 1
    common = dict(n=n, df=df, budget=budget, outcomes=int(live.size), cells=int(ends.size),
                  min_cell_expected=float(cell_expected.min()), merged=merged)
    if impossible:
        violations = [(labels[i], int(counts[i])) for i in zero[:_WORST_SHOWN].tolist()]
        violations += list(tally.outside.items())[:_WORST_SHOWN - len(violations)]
        return GofResult(statistic=math.inf, p_value=0.0, log_p_value=-math.inf, passed=False,
                         williams=1.0, impossible=impossible, violations=tuple(violations),
                         worst=(), **common)

    # deviance terms O log(O/E) - (O - E) = E h(O/E - 1), h(u) = (1+u) log1p(u) - u >= 0
    u = observed / cell_expected - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(observed > 0, (1.0 + u) * np.log1p(u) - u, 1.0)
    deviance = 2.0 * cell_expected * np.maximum(h, 0.0)
    if df == 0:
        williams, statistic, log_p = 1.0, 0.0, 0.0
        worst = ()
    else:
        williams = 1.0 + (float(np.sum(1.0 / cell_expected)) - 1.0 / n) / (6.0 * df)
        statistic = math.fsum(deviance.tolist()) / williams
        log_p = chi2_logsf(statistic, df)
        residual = np.sign(observed - cell_expected) * np.sqrt(deviance)
        top = np.argsort(-np.abs(residual), kind="stable")[:_WORST_SHOWN].tolist()
        worst = tuple(Cell(outcomes_of(c), int(observed[c]), float(cell_expected[c]),
                           float(residual[c])) for c in top)
    return GofResult(statistic=float(statistic), p_value=math.exp(log_p), log_p_value=log_p,
                     passed=bool(log_p >= math.log(budget)), williams=float(williams),
                     impossible=0, violations=(), worst=worst, **common)


def goodness_of_fit(
    samples, p, *, budget: float = 1e-6, min_expected: float = DEFAULT_MIN_EXPECTED
) -> GofResult:
    """Test whether ``samples`` are draws from ``p``; never raises on a bad fit.

    Parameters
    ----------
    samples : array_like of int, shape (N,); or outcomes of a mapping ``p``
        With an array ``p``: integer outcomes in ``[0, V)``. With a mapping ``p``: a
        sequence of hashable outcomes, or an array whose rows (2-D) or entries (1-D) are
        the outcomes (rows are read as tuples of Python scalars, matching e.g. the keys of
        a scheme's ``draft_law``).
    p : array_like, shape (V,), or Mapping
        The law: probabilities of outcomes ``0..V-1`` (floats, or Fractions summing to
        exactly 1), or ``{outcome: probability}``; outcomes missing from a mapping have
        probability 0.
    budget : float
        Probability of failing a correct sampler (module docstring: asymptotic, and what
        the approximation needs).
    min_expected : float
        Smallest expected count of a cell after merging.

    Returns
    -------
    GofResult
        ``passed`` says whether the samples fit; ``message`` shows the worst cells.
    """
    budget = _check_open_unit(budget, "budget")
    minimum = _check_min_expected(min_expected)
    tally = _tally_mapping(samples, p) if isinstance(p, Mapping) else _tally_array(samples, p)
    return _fit(tally, budget, minimum)


def assert_follows(
    samples, p, *, budget: float = 1e-6, min_expected: float = DEFAULT_MIN_EXPECTED
) -> GofResult:
    """Raise ``AssertionError`` unless ``samples`` fit ``p``; return the :class:`GofResult`.

    Same arguments as :func:`goodness_of_fit`. A correct sampler fails with probability
    ``budget`` (asymptotically; module docstring); any sample of a probability-0 outcome
    fails always. The error message lists the worst cells, observed vs expected.
    """
    result = goodness_of_fit(samples, p, budget=budget, min_expected=min_expected)
    if not result.passed:
        raise AssertionError(result.message)
    return result


# ---------------------------------------------------------------- rates
@dataclass(frozen=True)
class RateResult:
    """Outcome of :func:`rate_test`.

    Attributes
    ----------
    hits, n : int
        Successes and trials.
    rate : float
        The exact success probability tested against.
    observed : float
        ``hits / n``.
    z : float
        ``(hits - n rate) / sqrt(n rate (1 - rate))``: the number of standard errors
        (``inf`` when the rate is 0 or 1 and the count disagrees, 0 when it agrees).
    p_value : float
        Exact two-sided binomial p-value ``min(1, 2 min(P(X <= hits), P(X >= hits)))``.
    budget : float
        False-alarm rate the test was run at.
    passed : bool
        ``p_value >= budget``.
    message : str
        Human-readable verdict.
    """

    hits: int
    n: int
    rate: float
    observed: float
    z: float
    p_value: float
    budget: float
    passed: bool
    message: str = field(repr=False)


def _log_binom_pmf(j: np.ndarray, n: int, r: float) -> np.ndarray:
    return (math.lgamma(n + 1.0) - _lgamma(j + 1.0) - _lgamma(n - j + 1.0)
            + j * math.log(r) + (n - j) * math.log1p(-r))


def _binom_log_tails(hits: int, n: int, r: float) -> tuple[float, float]:
    """``log P(X <= hits)`` and ``log P(X >= hits)`` for ``X ~ Binomial(n, r)``."""
    if r == 0.0:
        return 0.0, (0.0 if hits == 0 else -math.inf)
    if r == 1.0:
        return (0.0 if hits == n else -math.inf), 0.0
    width = math.ceil(_WINDOW_SDS * math.sqrt(n * r * (1.0 - r)) + _WINDOW_MIN)
    mode = min(n, math.floor((n + 1) * r))
    c = min(hits, mode)  # largest pmf term in 0..hits
    low = np.arange(max(0, c - width), min(hits, c + width) + 1, dtype=np.float64)
    c = max(hits, mode)  # largest pmf term in hits..n
    high = np.arange(max(hits, c - width), min(n, c + width) + 1, dtype=np.float64)
    return (min(0.0, _log_sum_exp(_log_binom_pmf(low, n, r))),
            min(0.0, _log_sum_exp(_log_binom_pmf(high, n, r))))


def rate_test(hits: int, n: int, rate, *, budget: float = 1e-6) -> RateResult:
    """Exact two-sided binomial test of ``hits`` successes in ``n`` trials against ``rate``.

    The p-value is ``min(1, 2 min(P(X <= hits), P(X >= hits)))`` for ``X ~ Binomial(n,
    rate)``, summed exactly in log space (no normal approximation, so it is valid for rates
    near 0 or 1 and small counts); a correct sampler fails with probability at most
    ``budget``. For large ``n rate (1 - rate)`` a budget of 1e-6 fails beyond about 4.9
    standard errors.

    Parameters
    ----------
    hits, n : int
        Successes and trials, ``0 <= hits <= n``, ``n >= 1``.
    rate : float or Fraction
        The exact success probability, in [0, 1].
    budget : float
        False-alarm rate.
    """
    n = _checks.count(n, "n")
    if isinstance(hits, (bool, np.bool_)) or not isinstance(hits, numbers.Integral):
        raise TypeError(f"hits must be an int; got {type(hits).__name__} {hits!r}")
    hits = int(hits)
    if not 0 <= hits <= n:
        raise ValueError(f"hits must lie in [0, n={n}]; got {hits}")
    r = _check_real(rate, "rate")
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"rate must lie in [0, 1]; got {rate!r}")
    budget = _check_open_unit(budget, "budget")
    low, high = _binom_log_tails(hits, n, r)
    log_p = min(0.0, math.log(2.0) + min(low, high))
    sd = math.sqrt(n * r * (1.0 - r))
    gap = hits - n * r
    z = gap / sd if sd > 0.0 else (0.0 if gap == 0.0 else math.copysign(math.inf, gap))
    passed = log_p >= math.log(budget)
    message = (f"{hits} hits in {n} trials (rate {hits / n:.6g}) {'fit' if passed else 'do not fit'}"
               f" the exact rate {r:.6g}: {z:+.2f} standard errors, exact two-sided p-value "
               f"{_fmt_p(log_p)} {'>=' if passed else '<'} budget {budget:g}")
    return RateResult(hits=hits, n=n, rate=r, observed=hits / n, z=z, p_value=math.exp(log_p),
                      budget=budget, passed=bool(passed), message=message)


def assert_rate(hits: int, n: int, rate, *, budget: float = 1e-6) -> RateResult:
    """Raise ``AssertionError`` unless ``hits`` in ``n`` trials fit ``rate`` (see
    :func:`rate_test`); return the :class:`RateResult`."""
    result = rate_test(hits, n, rate, budget=budget)
    if not result.passed:
        raise AssertionError(result.message)
    return result
