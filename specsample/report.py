"""Acceptance-rate reports: compute them, then format them.

Computing and formatting are separate. :func:`acceptance_report` runs every scheme on every
target/draft pair and returns a frozen :class:`AcceptanceReport`; :func:`format_text`,
:func:`format_csv` and :func:`format_json` turn one into text. Nothing here holds a number
that was not computed by the library during the call.

For each pair, number of drafts ``k`` and scheme the report holds

* the **exact** acceptance ``scheme.acceptance_rate(p, q, k)`` -- the probability that the
  output token is one of the ``k`` drafts, from the scheme's formula or exact recursion;
* a **measured** acceptance: the fraction of ``N`` runs of the real batched
  ``draft`` + ``verify`` code whose output token is one of the drafts, with a 95% Wilson
  score interval;
* a **flag** when the two disagree by more than :data:`FLAG_SE` binomial standard errors
  (computed at the exact value). For a correct library the chance of a flag is about
  ``6e-7`` per cell by the normal approximation (accurate when ``N a (1 - a)`` is large;
  when the exact value is 0 or 1 any disagreement is impossible), so a flag means a bug.

The exact RRSw rate for ``k >= 3`` costs ``O(m^(k-2) V log V)`` in Python (``m`` = number of
tokens with ``q > p``; see :func:`specsample.rrsw.acceptance_rate`), so it is computed only
when the estimate ``m^(k-2) V`` is at most ``exact_limit``; otherwise the cell is measured
only, and says so.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import specsample
from specsample.demo_pairs import Pair

#: Two-sided 95% normal quantile, for the Wilson interval.
Z95 = 1.959963984540054
#: A measured rate further than this many standard errors from the exact one is flagged.
FLAG_SE = 5.0
#: Default largest estimated cost ``m^(k-2) V`` of an exact RRSw rate. One unit took
#: 3-10 microseconds on a shared 2-core machine, so this is a second or two at most.
EXACT_WORK_LIMIT = 5e5
#: Most draft tokens (rows x k) one sampling call handles, to bound memory.
CHUNK_TOKENS = 1 << 20
#: Ties for "best scheme" are values within this of the largest.
BEST_TOL = 1e-12

EXACT = "exact"
MEASURED_ONLY = "measured_only"
UNSUPPORTED = "unsupported"

#: ``progress(done, total, label)`` is called before each cell and once at the end.
ProgressFn = Callable[[int, int, str], None]


# ---------------------------------------------------------------- measurements
def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    .. math::

        \\frac{\\hat a + z^2/2n \\pm z\\sqrt{\\hat a(1-\\hat a)/n + z^2/4n^2}}{1 + z^2/n},
        \\qquad \\hat a = \\text{successes}/n .

    Unlike the normal interval it stays inside [0, 1] and has positive width when
    ``successes`` is 0 or ``n``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n={n}]; got {successes}")
    a = successes / n
    z2 = z * z
    centre = (a + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(a * (1 - a) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact endpoints, not rounded
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True)
class Measurement:
    """``accepted`` of ``samples`` draft + verify runs output one of their drafts."""

    accepted: int
    samples: int

    @property
    def rate(self) -> float:
        """The measured acceptance ``accepted / samples``."""
        return self.accepted / self.samples

    @property
    def interval(self) -> tuple[float, float]:
        """95% Wilson score interval for the acceptance."""
        return wilson_interval(self.accepted, self.samples)


def measure_acceptance(
    scheme: specsample.Scheme,
    target: np.ndarray,
    draft: np.ndarray,
    k: int,
    *,
    samples: int,
    rng: np.random.Generator,
) -> Measurement:
    """Run the scheme's batched ``draft`` and ``verify`` ``samples`` times; count acceptances.

    A run counts as accepted when its output token is one of its ``k`` drafts (the event
    whose probability ``acceptance_rate`` gives). Runs go in chunks of at most
    :data:`CHUNK_TOKENS` draft tokens; every chunk draws fresh randomness from ``rng``.

    Parameters
    ----------
    scheme : module in :data:`specsample.SCHEMES`
    target, draft : ndarray, shape (V,)
        ``p`` and ``q``.
    k : int
        Number of drafts.
    samples : int
        Number of runs, at least 1.
    rng : numpy.random.Generator
    """
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int; got {samples!r}")
    rows_per_chunk = max(1, CHUNK_TOKENS // k)
    accepted = 0
    done = 0
    while done < samples:
        rows = min(rows_per_chunk, samples - done)
        drafts = scheme.draft(draft, k, rng=rng, size=rows)  # (rows, k)
        verdict = scheme.verify(target, draft, drafts, rng=rng)  # token: (rows,)
        hit = (drafts == verdict.token[:, None]).any(axis=1)
        accepted += int(np.count_nonzero(hit))
        done += rows
    return Measurement(accepted=accepted, samples=samples)


def exact_work(scheme_name: str, target: np.ndarray, draft: np.ndarray, k: int) -> float:
    """Estimated cost ``m^(k-2) V`` of the exact acceptance for RRSw with ``k >= 3``.

    ``m`` is the number of tokens with ``q > p`` (after normalising). Every other scheme
    and ``k`` has a closed form or a vectorised recursion and costs 0 here.
    """
    if scheme_name != "rrsw" or k < 3:
        return 0.0
    p = np.asarray(target, dtype=np.float64)
    q = np.asarray(draft, dtype=np.float64)
    m = int(np.count_nonzero(q / q.sum() > p / p.sum()))
    return float(m) ** (k - 2) * p.shape[0]


# ---------------------------------------------------------------- the report
@dataclass(frozen=True)
class Cell:
    """One (pair, k, scheme) entry of an :class:`AcceptanceReport`.

    ``status`` is ``"exact"`` (both values present), ``"measured_only"`` (the exact value
    was estimated too costly; ``note`` says why) or ``"unsupported"`` (the scheme rejects
    this ``k`` for this pair; ``note`` holds the library's message).
    """

    pair: str
    k: int
    scheme: str
    status: str
    exact: float | None
    measured: Measurement | None
    note: str = ""

    @property
    def value(self) -> float | None:
        """The exact rate when known, else the measured one (None when unsupported)."""
        if self.exact is not None:
            return self.exact
        if self.measured is not None:
            return self.measured.rate
        return None

    @property
    def se(self) -> float | None:
        """Binomial standard error of the measured rate, at the exact rate."""
        if self.exact is None or self.measured is None:
            return None
        a = min(max(self.exact, 0.0), 1.0)
        return math.sqrt(a * (1.0 - a) / self.measured.samples)

    @property
    def flagged(self) -> bool:
        """True when measured and exact differ by more than ``FLAG_SE`` standard errors."""
        se = self.se
        if se is None:
            return False
        return abs(self.measured.rate - self.exact) > FLAG_SE * se


@dataclass(frozen=True)
class PairSummary:
    """What a report records about a pair (not the arrays themselves)."""

    name: str
    description: str
    vocab: int


@dataclass(frozen=True)
class AcceptanceReport:
    """Exact and measured acceptance of every scheme on every pair, for each ``k``."""

    pairs: tuple[PairSummary, ...]
    ks: tuple[int, ...]
    schemes: tuple[str, ...]
    samples: int
    seed: int
    exact_limit: float
    cells: tuple[Cell, ...]

    def cell(self, pair: str, k: int, scheme: str) -> Cell:
        """The cell for ``(pair, k, scheme)``; ``KeyError`` if the report has none."""
        for c in self.cells:
            if c.pair == pair and c.k == k and c.scheme == scheme:
                return c
        raise KeyError((pair, k, scheme))

    def best(self, pair: str, k: int) -> frozenset[str]:
        """Schemes whose :attr:`Cell.value` is largest for ``(pair, k)`` (ties share)."""
        values = {
            c.scheme: c.value for c in self.cells if c.pair == pair and c.k == k and c.value is not None
        }
        if not values:
            return frozenset()
        top = max(values.values())
        return frozenset(s for s, v in values.items() if v >= top - BEST_TOL)

    @property
    def flagged(self) -> tuple[Cell, ...]:
        """Cells whose measured rate disagrees with the exact one (should be empty)."""
        return tuple(c for c in self.cells if c.flagged)


def cell_seed(seed: int, pair: str, k: int, scheme: str) -> list[int]:
    """Seed material of one cell's generator: ``[seed, crc32(pair), k, crc32(scheme)]``.

    Each cell draws from its own stream, so a cell's numbers do not depend on which other
    pairs, ``k`` or schemes the report includes.
    """
    return [seed, zlib.crc32(pair.encode()), k, zlib.crc32(scheme.encode())]


def _unsupported_reason(scheme: specsample.Scheme, draft: np.ndarray, k: int) -> str | None:
    """The library's own ``ValueError`` message if ``scheme`` cannot draft ``k`` from ``q``."""
    try:
        scheme.draft(draft, k, uniforms=np.full(k, 0.5))
    except ValueError as exc:
        return str(exc)
    return None


def acceptance_report(
    pairs: Sequence[Pair],
    *,
    ks: Sequence[int] = (1, 2, 3, 4),
    schemes: Sequence[str] | None = None,
    samples: int = 20_000,
    seed: int = 0,
    exact_limit: float = EXACT_WORK_LIMIT,
    progress: ProgressFn | None = None,
) -> AcceptanceReport:
    """Exact and measured acceptance of each scheme, pair and number of drafts.

    Parameters
    ----------
    pairs : sequence of :class:`~specsample.demo_pairs.Pair`
    ks : sequence of int
        Numbers of drafts, each at least 1.
    schemes : sequence of str, optional
        Names in :data:`specsample.SCHEMES` (default: all, in registry order).
    samples : int
        Draft + verify runs per cell.
    seed : int
        Non-negative; each cell's generator is ``numpy.random.default_rng(cell_seed(...))``.
    exact_limit : float
        Largest :func:`exact_work` to spend on an exact rate (``math.inf``: no limit).
    progress : callable, optional
        ``progress(done, total, label)``, called before each cell and at the end.

    Returns
    -------
    AcceptanceReport
        Cells ordered by pair, then ``k``, then scheme.
    """
    names = tuple(specsample.SCHEMES) if schemes is None else tuple(schemes)
    unknown = [s for s in names if s not in specsample.SCHEMES]
    if unknown:
        raise ValueError(f"schemes has unknown names {unknown}; known: {list(specsample.SCHEMES)}")
    ks = tuple(ks)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"ks must hold positive ints; got {k!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    if not exact_limit >= 0:
        raise ValueError(f"exact_limit must be >= 0 (or math.inf); got {exact_limit!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be a positive int; got {samples!r}")

    total = len(pairs) * len(ks) * len(names)
    done = 0
    cells = []
    for pair in pairs:
        for k in ks:
            for name in names:
                if progress is not None:
                    progress(done, total, f"{pair.name} k={k} {name}")
                cells.append(_run_cell(pair, k, name, samples, seed, exact_limit))
                done += 1
    if progress is not None:
        progress(done, total, "done")
    return AcceptanceReport(
        pairs=tuple(PairSummary(p.name, p.description, p.vocab) for p in pairs),
        ks=ks,
        schemes=names,
        samples=samples,
        seed=seed,
        exact_limit=float(exact_limit),
        cells=tuple(cells),
    )


def _run_cell(pair: Pair, k: int, name: str, samples: int, seed: int, exact_limit: float) -> Cell:
    scheme = specsample.SCHEMES[name]
    p, q = pair.target, pair.draft
    reason = _unsupported_reason(scheme, q, k)
    if reason is not None:
        return Cell(pair.name, k, name, UNSUPPORTED, None, None, reason)
    rng = np.random.default_rng(cell_seed(seed, pair.name, k, name))
    measured = measure_acceptance(scheme, p, q, k, samples=samples, rng=rng)
    work = exact_work(name, p, q, k)
    if work > exact_limit:
        note = (
            f"exact rate not computed: estimated cost m^(k-2) V = {work:.3g} "
            f"exceeds the limit {exact_limit:.3g}"
        )
        return Cell(pair.name, k, name, MEASURED_ONLY, None, measured, note)
    exact = float(scheme.acceptance_rate(p, q, k))
    return Cell(pair.name, k, name, EXACT, exact, measured)


# ---------------------------------------------------------------- formatting
_COL = 17  # width of one scheme column in the text table


def _fmt_exact(cell: Cell, best: bool) -> str:
    mark = "*" if best else " "
    if cell.status == UNSUPPORTED:
        return "   -"
    if cell.status == MEASURED_ONLY:
        return f"{mark}  †"
    return f"{mark}{cell.exact:.4f}"


def _fmt_measured(cell: Cell) -> str:
    if cell.measured is None:
        return ""
    rate = cell.measured.rate
    lo, hi = cell.measured.interval
    half = max(rate - lo, hi - rate)
    text = f" {rate:.4f}±{half:.4f}"
    if cell.flagged:
        text += "!"
    return text


def format_text(report: AcceptanceReport) -> str:
    """A fixed-width table: one block per pair, an exact and a measured line per ``k``."""
    out = io.StringIO()
    n = f"{report.samples:,}"
    out.write(
        "Acceptance rate P(output token is one of the k drafts): exact value and "
        f"measured over {n} draft+verify runs (seed {report.seed}).\n\n"
    )
    header = f"{'':<4}{'':<10}" + "".join(f"{s:<{_COL}}" for s in report.schemes)
    for pair in report.pairs:
        out.write(f"{pair.name} (V={pair.vocab}): {pair.description}\n")
        out.write(header.rstrip() + "\n")
        for k in report.ks:
            best = report.best(pair.name, k)
            cells = [report.cell(pair.name, k, s) for s in report.schemes]
            exact = "".join(f"{_fmt_exact(c, c.scheme in best):<{_COL}}" for c in cells)
            meas = "".join(f"{_fmt_measured(c):<{_COL}}" for c in cells)
            out.write(f"{'k=' + str(k):<4}{'exact':<10}{exact}".rstrip() + "\n")
            if meas.strip():
                out.write(f"{'':<4}{'measured':<10}{meas}".rstrip() + "\n")
        out.write("\n")
    out.write(_footnotes(report))
    return out.getvalue()


def _footnotes(report: AcceptanceReport) -> str:
    lines = [
        "exact     scheme.acceptance_rate(p, q, k) (closed form or exact recursion, float64);",
        "          * marks the best scheme for that k (ties share it).",
        "measured  the fraction of runs whose output token was one of its drafts;",
        "          ± is the larger side of the 95% Wilson interval.",
    ]
    measured_only = [c for c in report.cells if c.status == MEASURED_ONLY]
    if measured_only:
        lines += [
            "†         exact value not computed: rrsw.acceptance_rate for k >= 3 costs",
            "          O(m^(k-2) V log V), m = #tokens with q > p; the estimate m^(k-2) V",
            f"          exceeded --exact-limit {report.exact_limit:.3g} (ranked by the measured value).",
        ]
    unsupported = [c for c in report.cells if c.status == UNSUPPORTED]
    if unsupported:
        lines.append("-         not supported:")
        groups: dict[tuple[str, str], list[Cell]] = {}
        for c in unsupported:
            max_k = specsample.SCHEMES[c.scheme].MAX_K
            beyond_max = max_k is not None and c.k > max_k  # same reason for every pair
            groups.setdefault(("" if beyond_max else c.pair, c.scheme), []).append(c)
        for (pair, scheme), group in groups.items():
            if not pair:
                max_k = specsample.SCHEMES[scheme].MAX_K
                lines.append(f"          {scheme}: k <= {max_k} only")
                continue
            ks = ",".join(str(k) for k in sorted({c.k for c in group}))
            lines.append(f"          {pair}, k={ks}: {group[0].note}")
    flagged = report.flagged
    checked = sum(1 for c in report.cells if c.status == EXACT)
    if flagged:
        lines.append(
            f"!         {len(flagged)} of {checked} measured rates lie more than {FLAG_SE:g} "
            "standard errors from the exact value: this should not happen; please report it."
        )
    else:
        lines.append(
            f"All {checked} measured rates lie within {FLAG_SE:g} standard errors of the "
            "exact values."
        )
    return "\n".join(lines) + "\n"


_CSV_FIELDS = (
    "pair", "vocab", "k", "scheme", "status", "exact", "measured", "ci_low", "ci_high",
    "accepted", "samples", "se", "flagged", "best", "note",
)


def _rows(report: AcceptanceReport) -> list[dict]:
    vocab = {p.name: p.vocab for p in report.pairs}
    rows = []
    for c in report.cells:
        lo, hi = c.measured.interval if c.measured is not None else (None, None)
        rows.append({
            "pair": c.pair,
            "vocab": vocab[c.pair],
            "k": c.k,
            "scheme": c.scheme,
            "status": c.status,
            "exact": c.exact,
            "measured": None if c.measured is None else c.measured.rate,
            "ci_low": lo,
            "ci_high": hi,
            "accepted": None if c.measured is None else c.measured.accepted,
            "samples": None if c.measured is None else c.measured.samples,
            "se": c.se,
            "flagged": c.flagged,
            "best": c.scheme in report.best(c.pair, c.k),
            "note": c.note,
        })
    return rows


def format_csv(report: AcceptanceReport) -> str:
    """One CSV row per cell; empty fields where a value does not exist."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in _rows(report):
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


def report_dict(report: AcceptanceReport) -> dict:
    """The report as plain JSON-ready data (``None`` where a value does not exist)."""
    return {
        "specsample_version": specsample.__version__,
        "samples": report.samples,
        "seed": report.seed,
        "seeding": "numpy.random.default_rng([seed, crc32(pair), k, crc32(scheme)]) per cell",
        "confidence": 0.95,
        "flag_se": FLAG_SE,
        "exact_limit": None if math.isinf(report.exact_limit) else report.exact_limit,
        "ks": list(report.ks),
        "schemes": list(report.schemes),
        "pairs": [
            {"name": p.name, "description": p.description, "vocab": p.vocab} for p in report.pairs
        ],
        "cells": _rows(report),
        "flagged": len(report.flagged),
    }


def format_json(report: AcceptanceReport) -> str:
    """:func:`report_dict` as indented JSON."""
    return json.dumps(report_dict(report), indent=2) + "\n"
