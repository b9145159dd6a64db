r"""Acceptance of every verifier next to the optimal-transport bound of its own draft law.

:func:`compare` takes a :class:`Population` of target/draft pairs (the real pairs shipped in
:mod:`specsample.data`, a synthetic family, or a user ``.npz``) and, for each number of drafts
``k``, computes per pair

* each verifier's acceptance ``scheme.acceptance_rate(p, q, k)`` -- exact per pair; where
  the exact value is too costly (RRSw, ``k >= 3``, estimated cost ``m^(k-2) V`` above
  ``exact_limit``; see :func:`specsample.report.exact_work`) it is **measured** instead by
  running the real batched ``draft`` + ``verify`` code ``samples`` times, and labelled so;
* the OT bound of the verifier's **own** draft law (:data:`DRAFT_LAWS`):
  ``specsample.lp.ot_bound(p, q, k, drafts=law)``, the most any exact verifier can accept
  with drafts drawn that way (SpecTr, arXiv 2310.15141; THEORY section 6);
* the bounds for i.i.d. drafting and drafting without replacement, for reference.

It then summarises each quantity over the pairs of each temperature: the mean and a
two-sided Student-t interval (:func:`mean_interval`)

.. math::

    \bar a \pm t_{n-1,\,(1+c)/2}\, s / \sqrt{n},
    \qquad s^2 = \frac{1}{n-1} \sum_i (a_i - \bar a)^2 ,

with ``c = 0.95``. The interval is over the *population of pairs* (how the mean would vary
with other pairs drawn the same way), not over rounding: the per-pair values are exact. The
gap ``bound - acceptance`` is formed per pair and then summarised (a paired interval). A
measured per-pair value is the exact value plus independent zero-mean binomial noise, so the
same interval stays valid for its mean; it is only wider.

The result is a frozen :class:`CompareReport`; :func:`format_text` (a ``rich`` table),
:func:`format_csv` and :func:`format_json` turn one into text and
:func:`specsample.figure.plot_compare` into a PNG. Every number in them was computed by the
library during the call.

This is application-layer code (it imports :mod:`specsample.lp`); no library layer imports it.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

import specsample
from specsample import _checks, report
from specsample.demo_pairs import zipf
from specsample.lp import ot_bound

#: Scheme name -> (the ``ot_bound`` name of the law its drafts follow, largest ``k`` for which
#: that is known; None: every k). The one place that ties a verifier to its ceiling: a scheme
#: missing here (or beyond its ``k``) is reported with the bound "n/a", never a wrong one.
#: SpecHub's ordered drafts have, as a set, the hub law of ``lp.hub_draft_law`` for every k
#: (proofs/spechub_k.md; tests/test_compare.py checks it against the LP on small instances).
DRAFT_LAWS: Mapping[str, tuple[str, int | None]] = MappingProxyType({
    "single": ("iid", None),
    "rrs": ("iid", None),
    "rrsw": ("without_replacement", None),
    "spechub": ("hub", None),
    "kseq": ("iid", None),
    "opt_iid": ("iid", None),
    "opt_wor": ("without_replacement", None),
})
#: Bounds reported for every ``k`` whatever the schemes: the two common drafting laws.
REFERENCE_LAWS = ("iid", "without_replacement")
#: Short names of the drafting laws for tables and figures.
LAW_LABELS: Mapping[str, str] = MappingProxyType({
    "iid": "i.i.d.",
    "without_replacement": "w/o replacement",
    "hub": "hub",
})
#: Confidence of every interval in a report.
CONFIDENCE = 0.95
#: Draft + verify runs per measured pair.
DEFAULT_SAMPLES = 2000
#: Default numbers of drafts.
DEFAULT_KS = (2, 3, 4)
#: Default sampling temperatures of the synthetic families.
DEFAULT_TEMPERATURES = (0.6, 1.0)
#: Sources other than a file.
SYNTHETIC = ("dirichlet", "zipf")
SOURCES = ("real", *SYNTHETIC)

EXACT = "exact"
MEASURED = "measured"
VERIFIER = "verifier"
BOUND = "bound"

#: ``progress(done, total, label)`` is called before each pair and once at the end.
ProgressFn = Callable[[int, int, str], None]


def own_law(scheme: str, k: int) -> str | None:
    """The ``ot_bound`` drafting law of ``scheme``'s ``k`` drafts, or None when unknown."""
    entry = DRAFT_LAWS.get(scheme)
    if entry is None:
        return None
    law, max_k = entry
    if max_k is not None and k > max_k:
        return None
    return law


def supports(scheme: str, k: int) -> bool:
    """True when ``scheme`` accepts ``k`` drafts at all (its ``MAX_K``)."""
    max_k = specsample.SCHEMES[scheme].MAX_K
    return max_k is None or k <= max_k


# ---------------------------------------------------------------- populations
@dataclass(frozen=True, eq=False)
class Instance:
    """One target/draft pair of a population.

    ``name`` is unique in its population and seeds the pair's sampling streams
    (:func:`specsample.report.cell_seed`); ``temperature`` is None when the source has none.
    ``target`` and ``draft`` are read-only float64 arrays of shape (V,).
    """

    name: str
    temperature: float | None
    target: np.ndarray
    draft: np.ndarray

    @property
    def vocab(self) -> int:
        """Number of outcomes ``V``."""
        return int(self.target.shape[0])


@dataclass(frozen=True, eq=False)
class Population:
    """Pairs to compare: ``source`` is ``"real"``, a family name or the file name."""

    source: str
    description: str
    instances: tuple[Instance, ...]

    @property
    def temperatures(self) -> tuple[float | None, ...]:
        """Distinct temperatures, ascending (None, for no temperature, last)."""
        present = {inst.temperature for inst in self.instances}
        return tuple(sorted(t for t in present if t is not None)) + ((None,) if None in present else ())


def _frozen(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    x.flags.writeable = False
    return x


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(value)


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _check_temperatures(temperatures) -> tuple[float, ...]:
    temps = tuple(temperatures)
    if not temps:
        raise ValueError("temperatures must hold at least one temperature")
    for t in temps:
        _check_positive(t, "temperatures")
    if len(set(temps)) != len(temps):
        raise ValueError(f"temperatures has a repeated value: {temps}")
    return tuple(float(t) for t in temps)


def _spaced(items: Sequence, count: int | None) -> list:
    """``count`` items evenly spaced through ``items`` (all of them when count is None or
    at least their number): item ``i * n // count`` for ``i < count``."""
    n = len(items)
    if count is None or count >= n:
        return list(items)
    return [items[i * n // count] for i in range(count)]


def _select(
    instances: Sequence[Instance], temperatures, per_temperature: int | None, label: str
) -> tuple[Instance, ...]:
    """Keep the given temperatures (each must be present), then ``per_temperature``
    evenly spaced pairs of each, in the original order within a temperature."""
    present = sorted({inst.temperature for inst in instances}, key=lambda t: (t is None, t or 0.0))
    if temperatures is None:
        wanted = present
    else:
        wanted = list(_check_temperatures(temperatures))
        missing = [t for t in wanted if t not in present]
        if missing:
            shown = [t for t in present if t is not None]
            raise ValueError(f"temperatures {missing} are not in {label}; present: {shown or 'none'}")
    if per_temperature is not None:
        per_temperature = _check_count(per_temperature, "per_temperature")
    chosen: list[Instance] = []
    for t in wanted:
        group = [inst for inst in instances if inst.temperature == t]
        chosen.extend(_spaced(group, per_temperature))
    return tuple(chosen)


def real_population(
    *, temperatures: Sequence[float] | None = None, per_temperature: int | None = None
) -> Population:
    """The real Qwen2.5-Coder 1.5B/0.5B pairs shipped in :mod:`specsample.data`.

    Parameters
    ----------
    temperatures : sequence of float, optional
        Keep these temperatures (each must be in the file: 0.6, 1.0); default all.
    per_temperature : int, optional
        Keep this many evenly spaced pairs of each temperature (pair ``i * n // count`` of the
        ``n`` in file order); default all. The pairs are named ``real-<index in the file>``,
        so a pair keeps its sampling streams in every subset.
    """
    from specsample.data import load_pairs

    data = load_pairs()
    instances = tuple(
        Instance(f"real-{i}", pair.temperature, pair.p, pair.q) for i, pair in enumerate(data)
    )
    target = data.meta.get("target", "Qwen2.5-Coder-1.5B-Instruct")
    draft = data.meta.get("draft", "Qwen2.5-Coder-0.5B-Instruct")
    description = (
        f"real next-token pairs: target {target}, draft {draft}, both at temperature T "
        f"({data.path.name}; specsample/data/README.md)"
    )
    chosen = _select(instances, temperatures, per_temperature, data.path.name)
    return Population("real", description, chosen)


def _tempered(weights: np.ndarray, temperature: float) -> np.ndarray:
    """``w ** (1/T)`` normalised, computed in log space (zeros stay zero)."""
    with np.errstate(divide="ignore"):
        logits = np.log(weights) / temperature
    logits -= logits.max()
    out = np.exp(logits)
    return out / out.sum()


def _family_rng(family: str, seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    return np.random.default_rng([int(seed), zlib.crc32(family.encode())])


def _synthetic(family: str, bases, temperatures, description: str) -> Population:
    instances = []
    for i, (target, draft) in enumerate(bases):
        for t in temperatures:
            instances.append(
                Instance(f"{family}-{i}-T{t:g}", t, _frozen(_tempered(target, t)),
                         _frozen(_tempered(draft, t)))
            )
    # order by temperature, then pair index, like the real data's grouping
    instances.sort(key=lambda inst: temperatures.index(inst.temperature))
    return Population(family, description, tuple(instances))


def dirichlet_population(
    n: int,
    *,
    vocab: int = 1000,
    alpha: float = 0.05,
    noise: float = 1.0,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    seed: int = 0,
) -> Population:
    r"""Synthetic pairs: a Dirichlet target and a noisy copy as the draft, at temperatures.

    For each of the ``n`` bases, with ``rng = default_rng([seed, crc32("dirichlet")])``:

    .. math::

        p_0 \sim \mathrm{Dirichlet}(\alpha \mathbf 1_V), \qquad
        q_0 \propto p_0 \, e^{\sigma Z}, \; Z \sim N(0, I_V), \qquad
        p = p_0^{1/T} / \textstyle\sum p_0^{1/T}, \quad q = q_0^{1/T} / \textstyle\sum q_0^{1/T}

    for each temperature ``T``, so the same base appears at every temperature (paired). Tokens
    with ``p_0 = 0`` (underflow at small ``alpha``) have ``p = q = 0``.
    """
    n = _check_count(n, "n")
    vocab = _check_count(vocab, "vocab")
    alpha = _check_positive(alpha, "alpha")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    temps = _check_temperatures(temperatures)
    rng = _family_rng("dirichlet", seed)
    bases = []
    for _ in range(n):
        p0 = rng.dirichlet(np.full(vocab, alpha))
        q0 = p0 * np.exp(noise * rng.standard_normal(vocab))
        bases.append((p0, q0 / q0.sum()))
    description = (
        f"synthetic Dirichlet pairs: p0 ~ Dirichlet({alpha:g}), q0 = p0 x exp({noise:g} Z), "
        f"V={vocab}, {n} per temperature, seed {seed}; both at temperature T"
    )
    return _synthetic("dirichlet", bases, temps, description)


def zipf_population(
    n: int,
    *,
    vocab: int = 1000,
    exponent: float = 1.1,
    draft_temperature: float = 1.3,
    noise: float = 0.5,
    temperatures: Sequence[float] = DEFAULT_TEMPERATURES,
    seed: int = 0,
) -> Population:
    r"""Synthetic pairs: a Zipf target and, as the draft, the target at another temperature
    with per-token noise.

    .. math::

        p_0(i) \propto (i+1)^{-s}, \qquad
        q_0 \propto p_0^{1/\tau} e^{\sigma Z}, \; Z \sim N(0, I_V),

    then both at each sampling temperature ``T`` as in :func:`dirichlet_population`. ``s`` is
    ``exponent``, ``tau`` is ``draft_temperature`` (> 1: an under-confident draft), ``sigma``
    is ``noise``; every base has its own ``Z`` from ``default_rng([seed, crc32("zipf")])``.
    """
    n = _check_count(n, "n")
    vocab = _check_count(vocab, "vocab")
    exponent = _check_positive(exponent, "exponent")
    draft_temperature = _check_positive(draft_temperature, "draft_temperature")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not (
        math.isfinite(noise) and noise >= 0
    ):
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    temps = _check_temperatures(temperatures)
    rng = _family_rng("zipf", seed)
    p0 = zipf(vocab, exponent)
    shape = _tempered(p0, draft_temperature)
    bases = []
    for _ in range(n):
        q0 = shape * np.exp(noise * rng.standard_normal(vocab))
        bases.append((p0, q0 / q0.sum()))
    description = (
        f"synthetic Zipf pairs: p0 = Zipf({exponent:g}), q0 = p0 at temperature "
        f"{draft_temperature:g} x exp({noise:g} Z), V={vocab}, {n} per temperature, seed {seed}; "
        "both at temperature T"
    )
    return _synthetic("zipf", bases, temps, description)


#: What a user ``.npz`` must hold (see :func:`npz_population`).
NPZ_KEYS = ("p", "q")


def npz_population(
    path: str | Path,
    *,
    temperatures: Sequence[float] | None = None,
    per_temperature: int | None = None,
) -> Population:
    """Pairs from a user ``.npz`` (read with ``allow_pickle=False``).

    Expected arrays:

    ``p``, ``q``
        Target and draft laws: float arrays of shape ``(N, V)`` (one pair per row), or 1-D
        of the same length ``M`` together with ``offsets`` -- ints of shape ``(N+1,)``
        rising from 0 to ``M``, pair ``i`` being ``[offsets[i], offsets[i+1])`` (the layout
        of the shipped file, so ``specsample/data/qwen2.5-coder_pairs.npz`` loads too).
        Each pair must be a probability vector in the library's sense (finite, ``>= 0``,
        sum within ``PROB_SUM_TOL`` of 1); nothing is renormalised here.
    ``temperature`` (optional)
        Floats of shape ``(N,)``; the report is split by its values. Without it every pair
        is in one group.

    Pairs are named ``<file stem>-<row>``. Raises ``FileNotFoundError`` for a missing file and
    ``ValueError`` (naming the array and pair) for anything else wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} does not exist or is not a file")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path.name} is not a readable .npz archive ({exc})") from None
    if not hasattr(npz, "files"):
        raise ValueError(f"{path.name} holds a single array, not a .npz archive with {NPZ_KEYS}")
    with npz:
        missing = [key for key in NPZ_KEYS if key not in npz.files]
        if missing:
            raise ValueError(
                f"{path.name} lacks the arrays {missing}; it holds {sorted(npz.files)}. Expected "
                "p and q of shape (N, V), or 1-D p, q with offsets (N+1,); optional temperature (N,)"
            )
        try:
            arrays = {key: npz[key] for key in (*NPZ_KEYS, "offsets", "temperature") if key in npz.files}
        except ValueError as exc:  # object arrays need pickle
            raise ValueError(f"{path.name}: {exc}") from None
    p, q = arrays["p"], arrays["q"]
    for key, arr in (("p", p), ("q", q)):
        if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
            raise ValueError(f"{path.name}: {key} must hold real numbers; got dtype {arr.dtype}")
    if p.shape != q.shape:
        raise ValueError(f"{path.name}: p has shape {p.shape} but q has shape {q.shape}")
    if "offsets" in arrays:
        if p.ndim != 1:
            raise ValueError(f"{path.name}: with offsets, p and q must be 1-D; got shape {p.shape}")
        offsets = arrays["offsets"]
        if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or offsets.size < 2:
            raise ValueError(f"{path.name}: offsets must be 1-D ints of length N+1 >= 2; got "
                             f"shape {offsets.shape}, dtype {offsets.dtype}")
        offsets = offsets.astype(np.int64)
        if offsets[0] != 0 or offsets[-1] != p.size or np.any(np.diff(offsets) < 1):
            raise ValueError(f"{path.name}: offsets must rise from 0 to len(p)={p.size} in "
                             "steps of at least 1")
        rows = [(p[a:b], q[a:b]) for a, b in itertools.pairwise(offsets)]
    else:
        if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
            raise ValueError(f"{path.name}: p and q must have shape (N, V) with N, V >= 1 "
                             f"(or be 1-D with offsets); got shape {p.shape}")
        rows = list(zip(p, q, strict=True))
    n = len(rows)
    if "temperature" in arrays:
        temperature = arrays["temperature"]
        if temperature.shape != (n,) or temperature.dtype.kind not in "fiu":
            raise ValueError(f"{path.name}: temperature must be numbers of shape ({n},); got "
                             f"shape {temperature.shape}, dtype {temperature.dtype}")
        if not np.all(np.isfinite(temperature) & (temperature > 0)):
            raise ValueError(f"{path.name}: temperature must be finite and > 0")
        temps: list[float | None] = [float(t) for t in temperature]
    else:
        temps = [None] * n
    instances = []
    for i, (pi, qi) in enumerate(rows):
        target, _ = _checks.probs(pi, f"{path.name}: p[{i}]", ndims=(1,))
        draft, _ = _checks.probs(qi, f"{path.name}: q[{i}]", ndims=(1,))
        instances.append(Instance(f"{path.stem}-{i}", temps[i], _frozen(target), _frozen(draft)))
    chosen = _select(instances, temperatures, per_temperature, path.name)
    return Population(path.name, f"user pairs from {path.name} ({n} pairs)", chosen)


# ---------------------------------------------------------------- statistics
def t_coverage(t: float, df: int) -> float:
    r"""``P(|T| <= t)`` for Student's t with ``df`` degrees of freedom (integer ``df >= 1``).

    The finite sums of Abramowitz & Stegun 26.7.3-4, with ``theta = atan(t / sqrt(df))``:

    .. math::

        A(t \mid \nu) = \begin{cases}
        \frac{2}{\pi}\Bigl[\theta + \sin\theta \bigl(\cos\theta + \tfrac{2}{3}\cos^3\theta
            + \dots + \tfrac{2 \cdot 4 \cdots (\nu-3)}{3 \cdot 5 \cdots (\nu-2)}
            \cos^{\nu-2}\theta\bigr)\Bigr] & \nu \text{ odd} \\
        \sin\theta \bigl(1 + \tfrac12 \cos^2\theta + \dots
            + \tfrac{1 \cdot 3 \cdots (\nu-3)}{2 \cdot 4 \cdots (\nu-2)}
            \cos^{\nu-2}\theta\bigr) & \nu \text{ even}
        \end{cases}

    (for ``nu = 1`` the odd sum is empty). The terms fall at least as fast as
    ``cos^2(theta)^j``, so the sum stops where they drop below ``1e-20`` of the first.
    """
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"df must be a positive int; got {df!r}")
    if not t >= 0:
        raise ValueError(f"t must be >= 0; got {t!r}")
    if t == 0:
        return 0.0
    if math.isinf(t):
        return 1.0
    theta = math.atan(t / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    cos2 = cos * cos
    odd = df % 2 == 1
    # terms j = 1 .. count: ratio of term j to term j-1 is cos^2 (2j)/(2j+1) (odd) or
    # cos^2 (2j-1)/(2j) (even); term 0 is cos (odd) or 1 (even)
    count = (df - 1) // 2 - 1 if odd else df // 2 - 1
    if cos2 < 1.0:
        count = min(count, math.ceil(math.log(1e-20) / math.log(cos2)))
    j = np.arange(1, max(count, 0) + 1, dtype=np.float64)
    ratios = cos2 * (2 * j) / (2 * j + 1) if odd else cos2 * (2 * j - 1) / (2 * j)
    first = cos if odd else 1.0
    total = first + first * float(np.sum(np.cumprod(ratios)))
    if odd:
        if df == 1:
            total = 0.0
        return min(1.0, 2.0 / math.pi * (theta + sin * total))
    return min(1.0, sin * total)


@functools.lru_cache(maxsize=256)
def t_quantile(confidence: float, df: int) -> float:
    """The ``t`` with ``P(|T| <= t) = confidence`` for Student's t with ``df`` degrees of
    freedom: the two-sided critical value (bisection on :func:`t_coverage` to ~1e-13)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence!r}")
    lo, hi = 0.0, 1.0
    while t_coverage(hi, df) < confidence:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi) or hi - lo <= 1e-13 * hi:
            break
        if t_coverage(mid, df) < confidence:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` per-pair values with a two-sided Student-t interval.

    ``sd`` is the sample standard deviation (``ddof = 1``) and ``half_width`` is
    ``t_{n-1} sd / sqrt(n)``; both are None when ``n = 1`` (no interval from one pair).
    """

    mean: float
    half_width: float | None
    sd: float | None
    n: int
    confidence: float = CONFIDENCE

    @property
    def low(self) -> float | None:
        """Lower end of the interval (None without one)."""
        return None if self.half_width is None else self.mean - self.half_width

    @property
    def high(self) -> float | None:
        """Upper end of the interval (None without one)."""
        return None if self.half_width is None else self.mean + self.half_width


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    r"""The mean of ``values`` and its Student-t interval (see the module docstring).

    .. math::

        \bar a = \frac1n \sum_i a_i, \qquad
        \bar a \pm t_{n-1,(1+c)/2} \sqrt{\frac{\sum_i (a_i - \bar a)^2}{(n-1)\, n}}
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite")
    n = int(x.size)
    mean = math.fsum(x.tolist()) / n
    if n == 1:
        return Interval(mean, None, None, 1, confidence)
    sd = math.sqrt(math.fsum(((x - mean) ** 2).tolist()) / (n - 1))
    half = t_quantile(confidence, n - 1) * sd / math.sqrt(n)
    return Interval(mean, half, sd, n, confidence)


# ---------------------------------------------------------------- per-pair values
@dataclass(frozen=True)
class PairAcceptance:
    """One verifier on one pair for one ``k``.

    ``method`` is ``"exact"`` (``value = scheme.acceptance_rate``) or ``"measured"``
    (``value = measured.rate``, from ``measured.samples`` draft + verify runs). ``bound`` is
    the OT bound of the scheme's own draft law ``law`` on this pair (None when the law is
    unknown).
    """

    pair: str
    temperature: float | None
    k: int
    scheme: str
    method: str
    value: float
    measured: report.Measurement | None
    law: str | None
    bound: float | None

    @property
    def gap(self) -> float | None:
        """``bound - value`` (None without a bound)."""
        return None if self.bound is None else self.bound - self.value

    @property
    def flagged(self) -> bool:
        """A measured rate above its own bound by more than ``report.FLAG_SE`` binomial
        standard errors (taken at the bound): impossible for an exact verifier, so a bug."""
        if self.measured is None or self.bound is None:
            return False
        b = min(max(self.bound, 0.0), 1.0)
        se = math.sqrt(b * (1.0 - b) / self.measured.samples)
        return self.value > self.bound + report.FLAG_SE * se


@dataclass(frozen=True)
class PairBound:
    """``ot_bound(p, q, k, drafts=law)`` on one pair; ``method`` is the bound's own."""

    pair: str
    temperature: float | None
    k: int
    law: str
    value: float
    method: str


@dataclass(frozen=True)
class Skipped:
    """A (pair, k, scheme or law) the library rejected; ``reason`` is its message."""

    pair: str
    k: int
    what: str
    reason: str


@dataclass(frozen=True)
class Row:
    """One line of the summary table, for one temperature and ``k``.

    A ``"verifier"`` row holds the scheme's acceptance (``value``), the bound of its own law
    (``bound``, None when ``law`` is unknown) and the per-pair gap ``bound - acceptance``
    (``gap``). A ``"bound"`` row (``name`` = ``law``) holds that law's bound in ``value``.
    ``measured`` counts the pairs whose acceptance was measured rather than exact.
    """

    temperature: float | None
    k: int
    kind: str
    name: str
    law: str | None
    value: Interval
    bound: Interval | None
    gap: Interval | None
    measured: int

    @property
    def pairs(self) -> int:
        """Number of pairs summarised."""
        return self.value.n


@dataclass(frozen=True)
class CompareReport:
    """Acceptance versus bounds over a population; see the module docstring."""

    source: str
    description: str
    temperatures: tuple[float | None, ...]
    pair_counts: tuple[int, ...]
    ks: tuple[int, ...]
    schemes: tuple[str, ...]
    samples: int
    seed: int
    exact_limit: float
    confidence: float
    acceptances: tuple[PairAcceptance, ...]
    bounds: tuple[PairBound, ...]
    skipped: tuple[Skipped, ...]
    rows: tuple[Row, ...]

    def row(self, temperature: float | None, k: int, name: str) -> Row:
        """The row of ``name`` (a scheme, or a law for a bound row); ``KeyError`` if none."""
        for r in self.rows:
            if r.temperature == temperature and r.k == k and r.name == name:
                return r
        raise KeyError((temperature, k, name))

    @property
    def flagged(self) -> tuple[PairAcceptance, ...]:
        """Measured rates above their own bound beyond noise (should be empty)."""
        return tuple(a for a in self.acceptances if a.flagged)

    @property
    def measured(self) -> int:
        """Number of per-pair acceptances that were measured, not exact."""
        return sum(1 for a in self.acceptances if a.method == MEASURED)

    def unsupported(self, k: int) -> tuple[str, ...]:
        """Requested schemes that do not take ``k`` drafts (``MAX_K``)."""
        return tuple(s for s in self.schemes if not supports(s, k))


def _check_ks(ks) -> tuple[int, ...]:
    ks = tuple(ks)
    if not ks:
        raise ValueError("ks must hold at least one number of drafts")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= _checks.MAX_DRAFTS:
            raise ValueError(f"ks must hold ints in [1, {_checks.MAX_DRAFTS}]; got {k!r}")
    if len(set(ks)) != len(ks):
        raise ValueError(f"ks has a repeated value: {ks}")
    return ks


def compare(
    population: Population,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    schemes: Sequence[str] | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    exact_limit: float = report.EXACT_WORK_LIMIT,
    confidence: float = CONFIDENCE,
    progress: ProgressFn | None = None,
) -> CompareReport:
    """Per-pair acceptance and OT bounds of every scheme, summarised per temperature and ``k``.

    Parameters
    ----------
    population : Population
        The pairs (:func:`real_population`, :func:`dirichlet_population`,
        :func:`zipf_population`, :func:`npz_population`).
    ks : sequence of int
        Numbers of drafts. A scheme whose ``MAX_K`` is below ``k`` is left out of that ``k``.
    schemes : sequence of str, optional
        Names in :data:`specsample.SCHEMES` (default: all, in registry order).
    samples : int
        Draft + verify runs for each measured per-pair acceptance.
    seed : int
        A measured pair draws from ``default_rng(report.cell_seed(seed, pair, k, scheme))``.
    exact_limit : float
        Largest estimated cost :func:`specsample.report.exact_work` of an exact acceptance;
        costlier ones (RRSw, ``k >= 3``) are measured. ``math.inf``: always exact.
    confidence : float
        Confidence of the intervals over pairs.
    progress : callable, optional
        ``progress(done, total, label)`` before each pair and at the end.

    Returns
    -------
    CompareReport
    """
    if not isinstance(population, Population):
        raise TypeError(f"population must be a Population; got {type(population).__name__}")
    if not population.instances:
        raise ValueError("population has no pairs")
    names = tuple(specsample.SCHEMES) if schemes is None else tuple(schemes)
    unknown = [s for s in names if s not in specsample.SCHEMES]
    if unknown:
        raise ValueError(f"schemes has unknown names {unknown}; known: {list(specsample.SCHEMES)}")
    if len(set(names)) != len(names):
        raise ValueError(f"schemes has a repeated name: {names}")
    ks = _check_ks(ks)
    samples = _check_count(samples, "samples")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    if not exact_limit >= 0:
        raise ValueError(f"exact_limit must be >= 0 (or math.inf); got {exact_limit!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1); got {confidence!r}")

    acceptances: list[PairAcceptance] = []
    bounds: list[PairBound] = []
    skipped: list[Skipped] = []
    total = len(population.instances)
    for done, inst in enumerate(population.instances):
        if progress is not None:
            progress(done, total, inst.name)
        for k in ks:
            active = [s for s in names if supports(s, k)]
            laws = list(REFERENCE_LAWS)
            laws += [law for s in active if (law := own_law(s, k)) is not None and law not in laws]
            law_value: dict[str, float] = {}
            for law in laws:
                try:
                    b = ot_bound(inst.target, inst.draft, k, drafts=law)
                except ValueError as exc:
                    skipped.append(Skipped(inst.name, k, f"bound:{law}", str(exc)))
                    continue
                law_value[law] = float(b.value)
                bounds.append(PairBound(inst.name, inst.temperature, k, law, float(b.value), b.method))
            for name in active:
                cell = _pair_acceptance(inst, k, name, law_value, samples, seed, exact_limit)
                if isinstance(cell, Skipped):
                    skipped.append(cell)
                else:
                    acceptances.append(cell)
    if progress is not None:
        progress(total, total, "done")
    temps = population.temperatures
    return CompareReport(
        source=population.source,
        description=population.description,
        temperatures=temps,
        pair_counts=tuple(sum(1 for i in population.instances if i.temperature == t) for t in temps),
        ks=ks,
        schemes=names,
        samples=samples,
        seed=seed,
        exact_limit=float(exact_limit),
        confidence=float(confidence),
        acceptances=tuple(acceptances),
        bounds=tuple(bounds),
        skipped=tuple(skipped),
        rows=_summarise(temps, ks, names, acceptances, bounds, confidence),
    )


def _pair_acceptance(
    inst: Instance, k: int, name: str, law_value: dict[str, float], samples: int, seed: int,
    exact_limit: float,
) -> PairAcceptance | Skipped:
    scheme = specsample.SCHEMES[name]
    p, q = inst.target, inst.draft
    reason = report._unsupported_reason(scheme, q, k)
    if reason is not None:
        return Skipped(inst.name, k, name, reason)
    law = own_law(name, k)
    bound = law_value.get(law) if law is not None else None
    if report.exact_work(name, p, q, k) > exact_limit:
        rng = np.random.default_rng(report.cell_seed(seed, inst.name, k, name))
        m = report.measure_acceptance(scheme, p, q, k, samples=samples, rng=rng)
        return PairAcceptance(inst.name, inst.temperature, k, name, MEASURED, m.rate, m, law, bound)
    value = float(scheme.acceptance_rate(p, q, k))
    return PairAcceptance(inst.name, inst.temperature, k, name, EXACT, value, None, law, bound)


def _summarise(temps, ks, names, acceptances, bounds, confidence) -> tuple[Row, ...]:
    rows = []
    for t in temps:
        for k in ks:
            for name in names:
                cells = [a for a in acceptances if a.temperature == t and a.k == k and a.scheme == name]
                if not cells:
                    continue
                law = own_law(name, k)
                with_bound = law is not None and all(c.bound is not None for c in cells)
                rows.append(Row(
                    temperature=t,
                    k=k,
                    kind=VERIFIER,
                    name=name,
                    law=law,
                    value=mean_interval([c.value for c in cells], confidence),
                    bound=mean_interval([c.bound for c in cells], confidence) if with_bound else None,
                    gap=mean_interval([c.gap for c in cells], confidence) if with_bound else None,
                    measured=sum(1 for c in cells if c.method == MEASURED),
                ))
            for law in REFERENCE_LAWS:
                values = [b.value for b in bounds if b.temperature == t and b.k == k and b.law == law]
                if values:
                    rows.append(Row(t, k, BOUND, law, law, mean_interval(values, confidence),
                                    None, None, 0))
    return tuple(rows)


# ---------------------------------------------------------------- formatting
def _temp_label(t: float | None) -> str:
    return "all pairs (no temperature)" if t is None else f"T = {t}"


def _four(x: float) -> str:
    """``x`` to 4 decimals; a value that rounds to zero prints as 0.0000, not -0.0000 (an
    optimal verifier's gap is a rounding error either side of zero)."""
    return f"{round(x, 4) + 0.0:.4f}"


def _pm(iv: Interval | None) -> str:
    if iv is None:
        return "n/a"
    if iv.half_width is None:
        return _four(iv.mean)
    return f"{_four(iv.mean)} ± {_four(iv.half_width)}"


def _law_label(law: str | None) -> str:
    return "n/a" if law is None else LAW_LABELS.get(law, law)


def _method(r: Row) -> str:
    if not r.measured:
        return "exact"
    if r.measured == r.pairs:
        return "measured †"
    return f"{r.pairs - r.measured} exact, {r.measured} measured †"


TITLE = "Acceptance vs the optimal-transport bound of each verifier's own draft law"


#: Width of the text report (its table needs about 116 columns).
TEXT_WIDTH = 120


def format_text(rep: CompareReport, *, color: bool = False, width: int = TEXT_WIDTH) -> str:
    """A ``rich`` table per temperature, then footnotes.

    With ``color`` the text holds ANSI styles (for a terminal; ``NO_COLOR`` in the
    environment turns them off); without, it is plain text with no trailing spaces.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color,
                      color_system="standard" if color else None, highlight=False, emoji=False,
                      soft_wrap=False)
    console.print(TITLE, style="bold", markup=False)
    console.print(rep.description, markup=False)
    for t, count in zip(rep.temperatures, rep.pair_counts, strict=True):
        table = Table(
            title=f"{_temp_label(t)}: {count} pairs",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        table.add_column("k", justify="right")
        table.add_column("verifier")
        table.add_column("draft law")
        table.add_column("mean acceptance", justify="right")
        table.add_column("own-law bound", justify="right")
        table.add_column("gap (bound - acc.)", justify="right")
        table.add_column("pairs", justify="right")
        table.add_column("acceptance is")
        for k in rep.ks:
            for r in (r for r in rep.rows if r.temperature == t and r.k == k):
                if r.kind == VERIFIER:
                    table.add_row(str(k), r.name, _law_label(r.law), _pm(r.value), _pm(r.bound),
                                  _pm(r.gap), str(r.pairs), _method(r))
                else:
                    table.add_row(str(k), "OT bound", _law_label(r.law), _pm(r.value), "", "",
                                  str(r.pairs), "", style="dim")
            if k != rep.ks[-1]:
                table.add_section()
        console.print()
        console.print(table)
    console.print()
    for line in _footnotes(rep):
        console.print(line, markup=False, highlight=False)
    text = buffer.getvalue()
    if color:
        return text
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _footnotes(rep: CompareReport) -> list[str]:
    c = f"{rep.confidence:.0%}"
    lines = [
        "mean acceptance  per pair scheme.acceptance_rate(p, q, k) = P(output token is one of the",
        "                 k drafts), exact; then the mean over the pairs of the temperature.",
        f"± (all columns)  half-width of the {c} Student-t interval over pairs, t_(n-1) s / sqrt(n):",
        "                 the spread of the population of pairs, not numerical error.",
        "own-law bound    specsample.lp.ot_bound(p, q, k, drafts=<the verifier's draft law>): the",
        "                 most any exact verifier can accept with drafts drawn that way.",
        "gap              bound - acceptance per pair, then its mean and interval (paired).",
        "OT bound rows    the bound for k i.i.d. drafts and for k drafts without replacement.",
    ]
    if rep.measured:
        total = len(rep.acceptances)
        lines += [
            f"† measured       on those pairs ({rep.measured} of {total} per-pair values in all) the",
            f"                 exact rate would cost more than the limit {rep.exact_limit:.3g} (m^(k-2) V),",
            f"                 so it is the acceptance of {rep.samples:,} runs of the real batched",
            "                 draft+verify code: an estimate; the interval includes that noise.",
        ]
    no_law = sorted({r.name for r in rep.rows if r.kind == VERIFIER and r.law is None})
    if no_law:
        lines.append(f"n/a              no OT bound is known for the draft law of: {', '.join(no_law)}")
    beyond = sorted({(s, specsample.SCHEMES[s].MAX_K) for k in rep.ks for s in rep.unsupported(k)})
    for s, max_k in beyond:
        lines.append(f"not shown        {s}: k <= {max_k} only")
    if rep.skipped:
        lines.append(f"skipped          {len(rep.skipped)} (pair, k, scheme/bound) the library rejects, e.g.:")
        first = rep.skipped[0]
        lines.append(f"                 {first.pair}, k={first.k}, {first.what}: {first.reason}")
    flagged = rep.flagged
    if flagged:
        lines.append(
            f"!                {len(flagged)} measured rate(s) exceed their own bound by more than "
            f"{report.FLAG_SE:g} standard errors: this should not happen; please report it."
        )
    return lines


_CSV_FIELDS = (
    "temperature", "k", "kind", "name", "law", "pairs", "measured_pairs", "mean", "ci_low",
    "ci_high", "sd", "bound_mean", "bound_ci_low", "bound_ci_high", "gap_mean", "gap_ci_low",
    "gap_ci_high", "confidence",
)


def _row_dict(r: Row) -> dict:
    return {
        "temperature": r.temperature,
        "k": r.k,
        "kind": r.kind,
        "name": r.name,
        "law": r.law,
        "pairs": r.pairs,
        "measured_pairs": r.measured,
        "mean": r.value.mean,
        "ci_low": r.value.low,
        "ci_high": r.value.high,
        "sd": r.value.sd,
        "bound_mean": None if r.bound is None else r.bound.mean,
        "bound_ci_low": None if r.bound is None else r.bound.low,
        "bound_ci_high": None if r.bound is None else r.bound.high,
        "gap_mean": None if r.gap is None else r.gap.mean,
        "gap_ci_low": None if r.gap is None else r.gap.low,
        "gap_ci_high": None if r.gap is None else r.gap.high,
        "confidence": r.value.confidence,
    }


def format_csv(rep: CompareReport) -> str:
    """One CSV row per summary row (:class:`Row`); empty fields where a value does not exist.
    The per-pair values are in :func:`format_json`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for r in rep.rows:
        writer.writerow({key: "" if value is None else value for key, value in _row_dict(r).items()})
    return out.getvalue()


def report_dict(rep: CompareReport) -> dict:
    """The report as JSON-ready data: settings, summary rows, and every per-pair value."""
    return {
        "specsample_version": specsample.__version__,
        "source": rep.source,
        "description": rep.description,
        "temperatures": list(rep.temperatures),
        "pair_counts": list(rep.pair_counts),
        "ks": list(rep.ks),
        "schemes": list(rep.schemes),
        "draft_laws": {
            s: {str(k): own_law(s, k) for k in rep.ks if supports(s, k)} for s in rep.schemes
        },
        "samples": rep.samples,
        "seed": rep.seed,
        "seeding": "measured pairs: numpy.random.default_rng([seed, crc32(pair), k, crc32(scheme)])",
        "exact_limit": None if math.isinf(rep.exact_limit) else rep.exact_limit,
        "confidence": rep.confidence,
        "interval": "mean over pairs +- t_(n-1, (1+confidence)/2) * sd / sqrt(n) (Student t)",
        "rows": [_row_dict(r) for r in rep.rows],
        "acceptances": [
            {
                "pair": a.pair,
                "temperature": a.temperature,
                "k": a.k,
                "scheme": a.scheme,
                "method": a.method,
                "value": a.value,
                "accepted": None if a.measured is None else a.measured.accepted,
                "samples": None if a.measured is None else a.measured.samples,
                "law": a.law,
                "bound": a.bound,
                "flagged": a.flagged,
            }
            for a in rep.acceptances
        ],
        "bounds": [
            {"pair": b.pair, "temperature": b.temperature, "k": b.k, "law": b.law,
             "value": b.value, "method": b.method}
            for b in rep.bounds
        ],
        "skipped": [
            {"pair": s.pair, "k": s.k, "what": s.what, "reason": s.reason} for s in rep.skipped
        ],
        "flagged": len(rep.flagged),
    }


def format_json(rep: CompareReport) -> str:
    """:func:`report_dict` as indented JSON."""
    return json.dumps(report_dict(rep), indent=1) + "\n"
