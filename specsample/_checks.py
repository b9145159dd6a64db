"""Input checks shared by every scheme: the one boundary between user data and the kernels.

The numba kernels index arrays by token ids and trust their inputs, so every public entry
point sends its arguments through these functions first. A bad argument raises a
``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, bad value) whose message
names the argument and the offending value; nothing is clipped, renormalised or guessed.

Probability vectors
-------------------
A probability vector has non-negative, finite entries whose sum is within
:data:`PROB_SUM_TOL` of 1. Inside that tolerance the vector is read as *proportional* to the
distribution: every scheme samples exactly from ``p / p.sum()``. Lower-precision floats are
upcast to float64 before any residual is formed.
"""

from __future__ import annotations

import collections.abc
import numbers
from fractions import Fraction

import numba
import numpy as np

from specsample import _sampling

#: How far the sum of a floating-point probability vector may be from 1.
#: 1e-3 admits any float16 rounding of a normalised vector (each entry is off by at most
#: 2**-11 of itself, so the sum by at most 4.9e-4) and catches logits, unnormalised
#: counts and missing or duplicated mass above 0.1%. Fraction inputs must sum to 1 exactly.
PROB_SUM_TOL = 1e-3

#: Largest number of tuples a ``draft_law`` may enumerate before it refuses.
MAX_LAW_TUPLES = 2_000_000

#: Most drafts per tuple (``k``) any function accepts: far beyond any tree a decoder builds,
#: and small enough that the arrays and loops it implies stay bounded.
MAX_DRAFTS = 1024

#: Most draft tokens (``size * k``) one ``draft`` call may return (2 GiB of int64).
MAX_DRAWS = 1 << 28

@numba.njit(cache=True)
def _scan_rows(x, tol):  # x: (R, V) float64
    """Row sums, and the first row that is not a probability vector (-1 if none).

    One pass per row with two lane sums (the fixed summation order of :mod:`._sampling`, which
    vectorises and which other backends can reproduce): the sum (a NaN or an infinite entry
    makes it non-finite) and the sum of ``min(v, 0)`` (negative exactly when an entry is
    negative: negative terms never cancel). Every path of the library takes its row sums from
    here.
    """
    rows, vocab = x.shape
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    total = np.zeros(rows)
    first_bad = -1
    acc = np.zeros(lanes)
    neg = np.zeros(lanes)
    for r in range(rows):
        acc[:] = 0.0
        neg[:] = 0.0
        for b in range(0, body, lanes):
            for lane in range(lanes):
                v = x[r, b + lane]
                acc[lane] += v
                neg[lane] += min(v, 0.0)
        s = _sampling.finish_lanes(acc)
        n = _sampling.finish_lanes(neg)
        for i in range(body, vocab):
            s += x[r, i]
            n += min(x[r, i], 0.0)
        total[r] = s
        if first_bad < 0 and (n < 0.0 or not abs(s - 1.0) <= tol):
            first_bad = r
    return total, first_bad


def _row_label(name: str, row: int, rows: int) -> str:
    return f"{name}[{row}]" if rows > 1 else name


def probs(x, name: str, *, ndims: tuple[int, ...] = (1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """Check a floating-point probability vector (or a batch of them, one per row).

    Returns the float64 C-contiguous array and its row sums (shape (rows,); a 1-D input is one
    row). Raises ``TypeError`` for non-numeric input and ``ValueError`` for a bad shape, a
    NaN, infinite or negative entry, or a sum more than :data:`PROB_SUM_TOL` from 1.
    """
    arr = _real_array(x, name)
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {want}; got shape {arr.shape}")
    if arr.size == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one token")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    rows2d = arr.reshape(-1, arr.shape[-1])
    total, bad = _scan_rows(rows2d, PROB_SUM_TOL)
    if bad >= 0:
        _explain(rows2d[bad], total[bad], _row_label(name, bad, rows2d.shape[0]))
    return arr, total


def _explain(row: np.ndarray, total: float, label: str) -> None:
    """Raise the ValueError that says what is wrong with a row the scan rejected."""
    broken = np.flatnonzero(~(np.isfinite(row) & (row >= 0.0)))
    if broken.size:
        i = int(broken[0])
        if np.isnan(row[i]):
            what = "NaN"
        elif np.isinf(row[i]):
            what = "an infinite entry"
        else:
            what = "a negative entry"
        raise ValueError(f"{label} has {what} at token {i}: {float(row[i])!r}")
    raise ValueError(
        f"{label} sums to {float(total)!r}, more than PROB_SUM_TOL={PROB_SUM_TOL} from 1; "
        "pass probabilities (softmax of the logits), not logits or counts"
    )


def hub_and_rest(
    q2: np.ndarray, total: np.ndarray, hub: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``q2``: the hub (first argmax, unless given) and the mass of every other token.

    The rest is ``total - q[hub]`` unless that subtraction would lose more than ~1e-13 of its
    relative precision (rest below 1e-3 of the total); then it is summed afresh.
    """
    if hub is None:
        hub = np.argmax(q2, axis=1).astype(np.int64)
    return hub, _rest_of_hub(q2, total, hub)


@numba.njit(cache=True)
def _rest_of_hub(q2, total, hub):
    """``total - q[hub]`` per row, or (below 1e-3 of the total) the lane sum of the row with
    0.0 at the hub -- bit for bit ``_sampling.lane_sum`` of that row."""
    rows, vocab = q2.shape
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    rest = np.empty(rows)
    acc = np.zeros(lanes)
    for r in range(rows):
        a = hub[r]
        rest[r] = total[r] - q2[r, a]
        if rest[r] < 1e-3 * total[r]:
            acc[:] = 0.0
            for b in range(0, body, lanes):
                for lane in range(lanes):
                    i = b + lane
                    acc[lane] += 0.0 if i == a else q2[r, i]
            s = _sampling.finish_lanes(acc)
            for i in range(body, vocab):
                s += 0.0 if i == a else q2[r, i]
            rest[r] = s
    return rest


def support(q2: np.ndarray) -> np.ndarray:
    """Number of positive entries in each row of ``q2``."""
    return np.count_nonzero(q2 > 0.0, axis=1)


def _real_array(x, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of real numbers; got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise TypeError(f"{name} must be a rectangular array of real numbers: {exc}") from None
    if arr.dtype.kind not in "fiu":
        hint = ""
        if arr.dtype == object and any(isinstance(v, Fraction) for v in arr.ravel()[:64]):
            hint = "; Fraction inputs are accepted by output_law, acceptance_rate and draft_law"
        raise TypeError(f"{name} must hold real numbers (float or int); got dtype {arr.dtype}{hint}")
    return arr


def is_exact(x) -> bool:
    """True when ``x`` is a 1-D sequence whose entries are all ``Fraction`` or ``int``
    with at least one ``Fraction`` (the exact, rational-arithmetic path)."""
    if isinstance(x, np.ndarray) and x.dtype != object:
        return False
    try:
        items = list(x)
    except TypeError:
        return False
    return any(isinstance(v, Fraction) for v in items)


def exact_probs(x, name: str) -> np.ndarray:
    """Check a rational probability vector; return a 1-D object array of ``Fraction``.

    Entries must be ``Fraction`` or ``int``, non-negative, and sum to exactly 1.
    """
    items = list(x)
    if not items:
        raise ValueError(f"{name} is empty; it needs at least one token")
    out = []
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (Fraction, int)):
            raise TypeError(
                f"{name}[{i}] is {type(v).__name__}; the exact path needs every entry to be a "
                "Fraction or int (do not mix floats and Fractions)"
            )
        if v < 0:
            raise ValueError(f"{name} has a negative entry at token {i}: {v}")
        out.append(Fraction(v))
    total = sum(out, Fraction(0))
    if total != 1:
        raise ValueError(f"{name} sums to {total}, not exactly 1 (required on the exact path)")
    return np.array(out, dtype=object)


def count(k, name: str = "k", *, most: int | None = None) -> int:
    """Check a count: an ``int`` (not ``bool``), at least 1 and at most ``most`` (if given)."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"{name} must be at least 1; got {k}")
    if most is not None and k > most:
        raise ValueError(f"{name} must be at most {most}; got {k}")
    return int(k)


def ordered(x, name: str) -> None:
    """Refuse what cannot be a probability vector before reading it: ``None``, containers
    without a token order (sets, dicts) and one-shot iterators (reading would consume them)."""
    if x is None or isinstance(x, (set, frozenset, dict, collections.abc.Iterator)):
        raise TypeError(
            f"{name} must be an ordered sequence or array of probabilities (token i at "
            f"position i); got {type(x).__name__}"
        )


def generator(rng) -> np.random.Generator:
    """Check that ``rng`` is a ``numpy.random.Generator`` (no global seeds, no legacy API)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)); "
            f"got {type(rng).__name__}"
        )
    return rng


def randomness(rng, uniforms, shape: tuple[int, ...]) -> np.ndarray:
    """Return the uniforms a call consumes: fresh draws from ``rng``, or the caller's own.

    Exactly one of ``rng`` and ``uniforms`` must be given. Passed uniforms must be a
    float array of exactly ``shape`` with every entry in [0, 1).
    """
    if (rng is None) == (uniforms is None):
        raise TypeError("pass exactly one of rng= (a numpy Generator) and uniforms= (an array)")
    if rng is not None:
        return generator(rng).random(shape)
    try:
        arr = np.asarray(uniforms)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise TypeError(f"uniforms must be a rectangular float array: {exc}") from None
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"uniforms must be a float array; got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"uniforms must have shape {shape}; got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not _all_in_unit_interval(arr.reshape(-1)):
        bad = arr[~((arr >= 0.0) & (arr < 1.0))].ravel()[0]
        raise ValueError(f"uniforms must lie in [0, 1); found {float(bad)!r}")
    return arr


@numba.njit(cache=True)
def _all_in_unit_interval(u):
    for i in range(u.shape[0]):
        if not (u[i] >= 0.0 and u[i] < 1.0):  # NaN fails both
            return False
    return True


@numba.njit(cache=True)
def _drafted_problem(q2, d2):
    """First (row, position, code) of a draft token that is out of range (1) or has q = 0
    (2), or (-1, -1, 0). ``q2`` has 1 row or one row per row of ``d2``."""
    vocab = q2.shape[1]
    for b in range(d2.shape[0]):
        r = 0 if q2.shape[0] == 1 else b
        for j in range(d2.shape[1]):
            t = d2[b, j]
            if t < 0 or t >= vocab:
                return b, j, 1
            if not q2[r, t] > 0.0:
                return b, j, 2
    return -1, -1, 0


def drafted(q2: np.ndarray, d2: np.ndarray, *, batched: bool) -> None:
    """Check that every draft token in ``d2`` (B, k) is in range and has ``q > 0``."""
    b, j, code = _drafted_problem(q2, d2)
    if code:
        where = f"drafts[{b}, {j}]" if batched else f"drafts[{j}]"
        if code == 1:
            raise ValueError(f"drafts holds token {int(d2[b, j])}, outside [0, {q2.shape[1]})")
        raise ValueError(f"{where} = {int(d2[b, j])} has q = 0: that token cannot have been drafted")


def tokens(drafts, vocab: int, name: str = "drafts", *, check_range: bool = True) -> np.ndarray:
    """Check an array of token ids: integers (not bool, not float) in ``[0, vocab)``.

    Returns a C-contiguous int64 array of the same shape. ``check_range=False`` leaves the
    range to the caller (e.g. :func:`drafted`, which checks it with ``q > 0`` in one pass);
    ids that do not fit int64 are refused either way.
    """
    if isinstance(drafts, (str, bytes)) or drafts is None:
        raise TypeError(f"{name} must be an integer array of token ids; got {type(drafts).__name__}")
    try:
        arr = np.asarray(drafts)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"{name} must be a rectangular integer array: {exc}") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer token ids; got dtype {arr.dtype}")
    if arr.size and (check_range or (arr.dtype.kind == "u" and arr.dtype.itemsize == 8)):
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= vocab:
            bad = lo if lo < 0 else hi
            raise ValueError(f"{name} holds token {int(bad)}, outside [0, {vocab})")
    return np.ascontiguousarray(arr, dtype=np.int64)
