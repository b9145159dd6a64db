"""Named hypothesis strategies for specsample's tests ("a generator plus three lines").

Rational instances (the exact tier)
    :func:`rational_probs` and :func:`rational_pairs` give probability vectors of
    ``fractions.Fraction`` over ``V <= MAX_V`` tokens that sum to exactly 1. The weights are
    small integers with zeros in about a third of the entries, so zeros, ties (within one
    vector and between ``p`` and ``q``), point masses and ``p = q`` come up often.

Float instances
    :func:`make_float_probs` builds a float vector of a named *kind* (Dirichlet, Zipf, sparse,
    ties, point mass, tiny entries, ...) from a numpy Generator; :func:`float_probs` is the
    strategy over kinds, sizes, seeds and dtypes (float64 and float32).

Malformed inputs (the fuzz tests)
    :func:`junk_probs`, :func:`junk_exact_probs`, :func:`junk_tokens`, :func:`junk_counts`,
    :func:`junk_uniforms`, :func:`junk_rngs` and :func:`junk_sizes` mix valid values with
    wrong dtypes, shapes, ranges, empty arrays, NaN and huge or negative token ids.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

#: Largest vocabulary of the rational instances (the exact tier enumerates every draft tuple).
MAX_V = 6

#: Integer weights: zero about a third of the time, small integers (many ties) or larger ones.
WEIGHTS = st.one_of(st.just(0), st.integers(1, 4), st.integers(1, 60))


# ---------------------------------------------------------------- rational instances
@st.composite
def rational_probs(draw, size: int | None = None, *, max_size: int = MAX_V, need: int = 1):
    """A tuple of ``Fraction`` summing to exactly 1 with at least ``need`` positive entries.

    ``size`` fixes ``V``; otherwise ``V`` is drawn from ``[need, max_size]``.
    """
    v = size if size is not None else draw(st.integers(max(need, 1), max_size))
    weights = draw(st.lists(WEIGHTS, min_size=v, max_size=v))
    zeros = [i for i, w in enumerate(weights) if w == 0]
    missing = need - (v - len(zeros))
    for i in zeros[: max(missing, 0)]:
        weights[i] = 1  # top up deterministically so shrinking stays simple
    total = sum(weights)
    return tuple(Fraction(w, total) for w in weights)


#: How ``q`` relates to ``p`` in :func:`rational_pairs` (independent five times in eight;
#: shrinks towards independent).
RELATIONS = ("independent",) * 5 + ("equal", "permuted", "disjoint")


@st.composite
def rational_pairs(draw, *, need: int = 1, max_size: int = MAX_V):
    """``(p, q)``: rational probability vectors on the same ``V``; ``q`` has at least
    ``need`` positive entries. Sometimes ``q = p``, a permutation of ``p`` (ties between
    the two), or (when ``V`` allows) supported off the support of ``p``."""
    v = draw(st.integers(max(need, 1), max_size))
    p = draw(rational_probs(v))
    relation = draw(st.sampled_from(RELATIONS))
    support = sum(1 for x in p if x > 0)
    if relation == "equal" and support >= need:
        return p, p
    if relation == "permuted" and support >= need:
        return p, tuple(draw(st.permutations(p)))
    if relation == "disjoint" and v - support >= need:
        free = [i for i, x in enumerate(p) if x == 0]
        weights = draw(st.lists(st.integers(1, 4), min_size=len(free), max_size=len(free)))
        q = [Fraction(0)] * v
        for i, w in zip(free, weights, strict=True):
            q[i] = Fraction(w, sum(weights))
        return p, tuple(q)
    return p, draw(rational_probs(v, need=need))


# ---------------------------------------------------------------- float instances
#: Kinds of float probability vectors :func:`make_float_probs` builds.
FLOAT_KINDS = (
    "dirichlet",  # Dirichlet(1): generic
    "peaked",  # Dirichlet(0.05): a few large entries, many tiny ones
    "zipf",  # p(i) proportional to 1 / (i + 1)^1.1, shuffled
    "sparse",  # about 70% exact zeros
    "ties",  # entries from a handful of values
    "point",  # one token has all the mass
    "tiny",  # entries of size 1e-12 beside ordinary ones
    "uniform",
)


def make_float_probs(kind: str, v: int, rng: np.random.Generator, *, need: int = 1) -> np.ndarray:
    """A float64 probability vector of length ``v`` of the given kind (see FLOAT_KINDS) with
    at least ``min(need, v)`` positive entries (``point`` ignores ``need`` unless it is > 1)."""
    need = min(max(need, 1), v)
    if kind == "dirichlet":
        w = rng.dirichlet(np.ones(v))
    elif kind == "peaked":
        w = rng.dirichlet(np.full(v, 0.05))
    elif kind == "zipf":
        w = rng.permutation(1.0 / np.arange(1, v + 1) ** 1.1)
    elif kind == "sparse":
        w = rng.random(v) * (rng.random(v) < 0.3)
    elif kind == "ties":
        w = rng.choice(np.array([0.0, 1.0, 1.0, 2.0, 3.0]), size=v)
    elif kind == "point":
        w = np.zeros(v)
        w[rng.integers(v)] = 1.0
    elif kind == "tiny":
        w = rng.random(v)
        w[rng.random(v) < 0.5] = 1e-12
    elif kind == "uniform":
        w = np.ones(v)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {FLOAT_KINDS}")
    w = np.asarray(w, dtype=np.float64)
    short = need - np.count_nonzero(w > 0)
    if short > 0:
        w[rng.choice(np.flatnonzero(w <= 0), size=short, replace=False)] = 1.0
    if not w.sum() > 0:  # a Dirichlet draw that underflowed everywhere
        w[rng.integers(v)] = 1.0
    return w / w.sum()


@st.composite
def float_probs(draw, size: int | None = None, *, min_size: int = 1, max_size: int = 40,
                need: int = 1, kinds=FLOAT_KINDS, float32: bool = True):
    """A float probability vector of a drawn kind; float32 about a quarter of the time."""
    v = size if size is not None else draw(st.integers(max(min_size, need), max_size))
    kind = draw(st.sampled_from(kinds))
    seed = draw(st.integers(0, 2**32 - 1))
    x = make_float_probs(kind, v, np.random.default_rng(seed), need=need)
    if float32 and draw(st.integers(0, 3)) == 0:
        x32 = x.astype(np.float32)
        if np.count_nonzero(x32) >= min(need, v):  # tiny entries may underflow to 0
            x = x32
    return x


def exact_twin(x) -> tuple[Fraction, ...]:
    """The rational vector closest in spirit to float vector ``x``: each float read exactly
    as a Fraction, then normalised so the sum is exactly 1."""
    exact = [Fraction(float(v)) for v in np.asarray(x, dtype=np.float64)]
    total = sum(exact, Fraction(0))
    return tuple(v / total for v in exact)


# ---------------------------------------------------------------- malformed inputs
_BAD_FLOATS = (np.nan, np.inf, -np.inf, -0.25, -1e-300)


@st.composite
def junk_probs(draw, v: int):
    """A value passed as ``p`` or ``q`` for a call whose valid vectors have ``v`` tokens:
    sometimes valid (1-D, a batch of rows, float32), more often malformed."""
    good = draw(float_probs(v, float32=False))
    kind = draw(st.sampled_from((
        "valid", "valid-batch", "float32", "int-point", "bad-entry", "scaled", "logits",
        "dtype", "empty", "ndim", "ragged", "wrong-v", "object", "fractions",
    )))
    if kind == "valid":
        return good
    if kind == "valid-batch":
        return np.stack([good] * draw(st.integers(1, 3)))
    if kind == "float32":
        return good.astype(np.float32)
    if kind == "int-point":  # integer arrays are real numbers: a point mass is valid
        dtype = draw(st.sampled_from((np.int8, np.uint8, np.int64, np.uint64)))
        out = np.zeros(v, dtype=dtype)
        out[draw(st.integers(0, v - 1))] = 1
        return out
    if kind == "bad-entry":
        out = good.copy()
        out[draw(st.integers(0, v - 1))] = draw(st.sampled_from(_BAD_FLOATS))
        return out
    if kind == "scaled":  # sum off by more (or less) than the tolerance
        return good * draw(st.sampled_from((0.0, 0.5, 0.99, 1.01, 2.0, 1e300)))
    if kind == "logits":
        return np.log(good + 1e-9)
    if kind == "dtype":
        dtype = draw(st.sampled_from((np.bool_, np.complex128, "U8", "S8", "m8[s]", "M8[s]")))
        return (good > 0).astype(dtype) if dtype in ("m8[s]", "M8[s]") else good.astype(dtype)
    if kind == "empty":
        return np.zeros(draw(st.sampled_from(((0,), (0, v), (2, 0), (0, 0)))))
    if kind == "ndim":
        return draw(st.sampled_from((good[None, None], good.reshape(1, 1, v), np.float64(1.0),
                                     1.0, 1)))
    if kind == "ragged":
        return [list(good), list(good[:-1])] if v > 1 else [[1.0], [0.5, 0.5]]
    if kind == "wrong-v":
        return make_float_probs("dirichlet", v + draw(st.sampled_from((1, 2))),
                                np.random.default_rng(v))
    if kind == "object":
        return draw(st.sampled_from((None, "p", b"q", {0: 1.0}, object(), [None] * v,
                                     np.array(list(good), dtype=object))))
    return exact_twin(good)  # Fractions, accepted only by the law functions


@st.composite
def junk_exact_probs(draw, v: int):
    """A value for ``p``/``q`` on the exact path of the law functions: valid Fraction
    vectors, or ones that do not sum to 1, hold a negative, a float, a numpy int, ..."""
    good = list(draw(rational_probs(v)))
    kind = draw(st.sampled_from((
        "valid", "sum-off", "negative", "float-entry", "numpy-int", "bool-entry", "empty",
        "nested", "wrong-v", "none-entry", "float-vector",
    )))
    if kind == "valid":
        return good
    if kind == "sum-off":
        return [x * Fraction(3, 2) for x in good]
    if kind == "negative":
        return [*good, Fraction(-1, 2), Fraction(1, 2)]
    if kind == "float-entry":
        return [*good[:-1], float(good[-1])]
    if kind == "numpy-int":
        return [*good, np.int64(0)]
    if kind == "bool-entry":
        return [*good, False]
    if kind == "empty":
        return []
    if kind == "nested":
        return [good]
    if kind == "wrong-v":
        return [*good, Fraction(0)]
    if kind == "none-entry":
        return [*good, None]
    return [float(x) for x in good]  # a float vector beside a Fraction one: a mix


@st.composite
def junk_tokens(draw, v: int, k: int, *, rows: int | None = None):
    """A value passed as ``drafts``: shapes around ``(k,)`` / ``(rows, k)``, dtypes from int8
    to uint64 and float, token ids from huge negative to beyond int64."""
    shape_kind = draw(st.sampled_from(("1d", "2d", "empty", "3d", "scalar", "len+1", "len-1")))
    b = rows if rows is not None else draw(st.integers(1, 3))
    shape = {
        "1d": (k,), "2d": (b, k), "3d": (b, k, 1), "scalar": (),
        "len+1": (k + 1,), "len-1": (max(k - 1, 0),),
        "empty": draw(st.sampled_from(((0,), (0, k), (b, 0)))),
    }[shape_kind]
    n = int(np.prod(shape, dtype=np.int64))
    ids = st.one_of(
        st.integers(0, v - 1), st.integers(0, v - 1), st.integers(-3, v + 3),
        st.sampled_from((-(2**63), 2**63 - 1, 2**31, -1, v, 255, 2**64 - 1, 2**70)),
    )
    values = draw(st.lists(ids, min_size=n, max_size=n))
    container = draw(st.sampled_from(("int64", "int8", "uint8", "uint64", "int32", "list",
                                      "float", "bool", "object", "str")))
    if container == "list":
        arr = np.array(values, dtype=object).reshape(shape)
        return arr.tolist()
    if container == "object":
        return np.array(values, dtype=object).reshape(shape)
    if container == "str":
        return np.array(values, dtype=object).reshape(shape).astype("U24")
    if container == "bool":
        return (np.array(values, dtype=object).reshape(shape) != 0).astype(bool)
    if container == "float":
        return np.array([float(x) for x in values], dtype=np.float64).reshape(shape)
    dtype = np.dtype(container)
    info = np.iinfo(dtype)
    if all(info.min <= x <= info.max for x in values):
        return np.array(values, dtype=dtype).reshape(shape)
    return np.array(values, dtype=object).reshape(shape)  # does not fit: keep Python ints


def junk_counts(max_k: int = 4):
    """A value passed as ``k``: valid ints (also numpy ints) up to ``max_k``, zero,
    negatives, floats (``2.0`` too), bools, strings, None and a large 1000. (Astronomical
    k such as 2**70 is left to named tests: some functions loop k times.)"""
    return st.one_of(
        st.integers(1, max_k), st.integers(1, max_k).map(np.int64), st.integers(-3, 0),
        st.sampled_from((2.0, 1.5, np.float64(2.0), True, False, np.bool_(True), "2", None,
                         1000, -(2**70), Fraction(2), complex(2, 0))),
    )


@st.composite
def junk_uniforms(draw, shape: tuple[int, ...]):
    """A value passed as ``uniforms`` for a call consuming ``shape`` of them."""
    good = draw(st.lists(st.floats(0.0, 1.0, exclude_max=True), min_size=int(np.prod(shape)),
                         max_size=int(np.prod(shape))))
    good = np.array(good, dtype=np.float64).reshape(shape)
    kind = draw(st.sampled_from(("valid", "list", "float32", "edge", "one", "negative", "nan",
                                 "shape", "int", "ragged", "none", "string")))
    if kind == "valid":
        return good
    if kind == "list":
        return good.tolist()
    if kind == "float32":
        return np.minimum(good.astype(np.float32), np.float32(1.0 - 2**-24))
    if kind == "edge":  # the largest double below 1 and 0: valid extremes
        return np.where(good < 0.5, 0.0, np.nextafter(1.0, 0.0))
    if kind in ("one", "negative", "nan"):
        bad = {"one": 1.0, "negative": -1e-17, "nan": np.nan}[kind]
        out = good.copy()
        if out.size:
            out.flat[draw(st.integers(0, out.size - 1))] = bad
        return out
    if kind == "shape":
        return np.zeros(draw(st.sampled_from(((), (1,), (7,), (2, 9), (*shape, 1)))))
    if kind == "int":
        return np.zeros(shape, dtype=np.int64)
    if kind == "ragged":
        return [[0.5], [0.5, 0.5]]
    if kind == "none":
        return None
    return "0.5"


def junk_rngs():
    """A value passed as ``rng``: a Generator, None, an int seed, a RandomState, ..."""
    return st.sampled_from((
        "generator", None, 0, 12345, "legacy", "seed-sequence", "string",
    )).map(_make_rng)


def _make_rng(kind):
    if kind == "generator":
        return np.random.default_rng(7)
    if kind == "legacy":
        return np.random.RandomState(0)
    if kind == "seed-sequence":
        return np.random.SeedSequence(0)
    return kind


def junk_sizes():
    """A value passed as ``size``: None, valid counts, zero, negatives, floats, bools."""
    return st.one_of(st.none(), st.integers(1, 4),
                     st.sampled_from((0, -1, 2.0, True, "3", np.int64(2), 1000, -(2**70))))


def examples(scale: float, *, floor: int = 5) -> int:
    """``scale`` times the active profile's ``max_examples`` (at least ``floor``): for tests
    whose examples are costly, so that the ``dev`` profile still runs more of them."""
    return max(floor, int(settings.default.max_examples * scale))
