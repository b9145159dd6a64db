"""Checked inputs of the optimal-transport problem: a target ``p`` and a draft law ``Q``.

The OTM linear program only sees which tokens each draft tuple contains, so tuples with the
same member set are merged into one *draft set* (their probabilities add). Every solver
works on the bipartite graph of draft sets and member tokens built here.

Input rules (the core's conventions, :mod:`specsample._checks`):

* ``p`` is a probability vector. Floats: finite, ``>= 0``, summing to within
  ``PROB_SUM_TOL`` of 1, then divided by their sum. ``Fraction``/``int`` entries (the exact
  path): summing to exactly 1.
* ``draft_law`` maps tuples of token ids in ``[0, V)`` to probabilities (floats, or
  ``Fraction``/``int`` on the exact path), with the same sum rule; it may also be a callable
  ``law(tuple) -> probability`` evaluated on all ``V**k`` tuples (``k=`` is then required).
  Tuples may have different lengths (a draft *set* of any size); a repeated token inside a
  tuple counts once. Zero-probability tuples are dropped.

Nothing is clipped or floored: negative, NaN or infinite entries raise ``ValueError``.
"""

from __future__ import annotations

import functools
import itertools
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from specsample import _checks


@dataclass(frozen=True)
class Problem:
    """The max-flow form of the OTM problem.

    Attributes
    ----------
    p : ndarray, shape (V,)
        Target law: float64 summing to 1 up to rounding, or an object array of ``Fraction``.
    tuples : tuple of tuple of int
        The draft tuples with positive probability, in the order given.
    tuple_mass : tuple
        ``Q(t)`` for each tuple (float or ``Fraction``), normalised.
    tuple_set : ndarray of int64, shape (n_tuples,)
        Index of each tuple's draft set.
    set_mass : tuple
        ``Q(s)``: total probability of the tuples with member set ``s``.
    edge_set, edge_token : ndarray of int64, shape (E,)
        One edge per (draft set, member token) pair, grouped by set.
    exact : bool
        True when every number is a ``Fraction`` (rational arithmetic).
    """

    p: np.ndarray
    tuples: tuple
    tuple_mass: tuple
    tuple_set: np.ndarray
    set_mass: tuple
    edge_set: np.ndarray
    edge_token: np.ndarray
    exact: bool

    @functools.cached_property
    def sets(self) -> tuple:
        """Distinct member sets (ascending token ids), one per draft set."""
        bounds = np.searchsorted(self.edge_set, np.arange(len(self.set_mass) + 1))
        tokens = self.edge_token.tolist()
        return tuple(tuple(tokens[a:b]) for a, b in itertools.pairwise(bounds.tolist()))

    @property
    def vocab(self) -> int:
        return int(self.p.shape[0])

    def scalar(self, x):
        return Fraction(x) if self.exact else float(x)

    @property
    def zero(self):
        return Fraction(0) if self.exact else 0.0


def target(p) -> tuple[np.ndarray, bool]:
    """Check ``p``: a float64 (V,) array divided by its sum, or Fractions summing to 1."""
    if _checks.is_exact(p):
        return _checks.exact_probs(p, "p"), True
    arr, total = _checks.probs(p, "p", ndims=(1,))
    return arr / total[0], False


def _token_tuple(key, vocab: int) -> tuple[int, ...]:
    if isinstance(key, (str, bytes)) or not isinstance(key, (tuple, list, np.ndarray)):
        raise TypeError(
            f"draft_law keys must be tuples of token ids; got {type(key).__name__} {key!r}"
        )
    out = []
    for t in key:
        if isinstance(t, (bool, np.bool_)) or not isinstance(t, numbers.Integral):
            raise TypeError(f"draft_law key {key!r} holds {t!r}, not an integer token id")
        if not 0 <= int(t) < vocab:
            raise ValueError(f"draft_law key {key!r} holds token {int(t)}, outside [0, {vocab})")
        out.append(int(t))
    if not out:
        raise ValueError("draft_law has an empty tuple; every tuple needs at least one token")
    return tuple(out)


def _enumerate(law: Callable, vocab: int, k) -> dict:
    if k is None:
        raise TypeError("a callable draft_law needs k= (the tuple length to enumerate)")
    k = _checks.count(k)
    if vocab**k > _checks.MAX_LAW_TUPLES:
        raise ValueError(
            f"enumerating a callable draft_law visits V**k = {vocab}**{k} tuples, more than "
            f"MAX_LAW_TUPLES={_checks.MAX_LAW_TUPLES}; pass a dict of the positive tuples"
        )
    return {x: law(x) for x in itertools.product(range(vocab), repeat=k)}


def _mass(v, key, exact: bool):
    if exact:
        if isinstance(v, bool) or not isinstance(v, (Fraction, int)):
            raise TypeError(
                f"draft_law[{key!r}] is {type(v).__name__}; with a Fraction target every "
                "probability must be a Fraction or int (do not mix floats and Fractions)"
            )
        if v < 0:
            raise ValueError(f"draft_law[{key!r}] is negative: {v}")
        return Fraction(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
        raise TypeError(f"draft_law[{key!r}] must be a real number; got {type(v).__name__}")
    x = float(v)
    if not np.isfinite(x) or x < 0.0:
        raise ValueError(f"draft_law[{key!r}] must be finite and >= 0; got {v!r}")
    return x


def build(p, draft_law, *, k=None) -> Problem:
    """Check ``p`` and ``draft_law`` and build the draft-set graph (see module docstring)."""
    p, exact = target(p)
    vocab = p.shape[0]
    if callable(draft_law) and not isinstance(draft_law, Mapping):
        draft_law = _enumerate(draft_law, vocab, k)
    elif not isinstance(draft_law, Mapping):
        raise TypeError(
            "draft_law must be a mapping {tuple of token ids: probability} or a callable "
            f"law(tuple) -> probability; got {type(draft_law).__name__}"
        )
    elif k is not None:
        raise TypeError("k= is only used with a callable draft_law; a dict fixes its own tuples")
    if len(draft_law) == 0:
        raise ValueError("draft_law is empty; it needs at least one tuple")
    if not exact:
        fast = _homogeneous(draft_law, vocab)
        if fast is not None:
            return _merge_arrays(p, *fast)
    tuples: list[tuple[int, ...]] = []
    masses: list = []
    seen: set[tuple[int, ...]] = set()
    for key, value in draft_law.items():
        t = _token_tuple(key, vocab)
        m = _mass(value, key, exact)
        if t in seen:
            raise ValueError(f"draft_law lists tuple {t} twice (keys {key!r} and an equal one)")
        seen.add(t)
        if m > 0:
            tuples.append(t)
            masses.append(m)
    if exact:
        total = sum(masses, Fraction(0))
        if total != 1:
            raise ValueError(f"draft_law sums to {total}, not exactly 1 (required with Fractions)")
    else:
        total = _check_total(float(np.sum(masses)) if masses else 0.0)
        masses = [m / total for m in masses]
    set_index: dict[tuple[int, ...], int] = {}
    tuple_set = np.empty(len(tuples), np.int64)
    set_mass: list = []
    for i, (t, m) in enumerate(zip(tuples, masses, strict=True)):
        members = tuple(sorted(set(t)))
        s = set_index.setdefault(members, len(set_index))
        if s == len(set_mass):
            set_mass.append(m)
        else:
            set_mass[s] += m
        tuple_set[i] = s
    sets = tuple(set_index)
    sizes = np.fromiter((len(s) for s in sets), np.int64, len(sets))
    edge_set = np.repeat(np.arange(len(sets), dtype=np.int64), sizes)
    edge_token = np.fromiter(itertools.chain.from_iterable(sets), np.int64, int(sizes.sum()))
    return Problem(
        p=p,
        tuples=tuple(tuples),
        tuple_mass=tuple(masses),
        tuple_set=tuple_set,
        set_mass=tuple(set_mass),
        edge_set=edge_set,
        edge_token=edge_token,
        exact=exact,
    )


def _check_total(total: float) -> float:
    if abs(total - 1.0) > _checks.PROB_SUM_TOL:
        raise ValueError(
            f"draft_law sums to {total!r}, more than PROB_SUM_TOL={_checks.PROB_SUM_TOL} from 1"
        )
    return total


def _homogeneous(draft_law: Mapping, vocab: int):
    """Vectorised reading of a float law whose keys are equal-length tuples of ints.

    Returns ``(tuples (n, k) int64, masses (n,) float64)``, or ``None`` when the law does
    not have that shape or has a bad entry (the general path then names the culprit).
    """
    keys = list(draft_law.keys())
    for key in keys:
        if type(key) is not tuple or any(type(t) in (bool, np.bool_) for t in key):
            return None
    try:
        arr = np.array(keys)
        vals = np.array(list(draft_law.values()))
    except ValueError:  # ragged tuples
        return None
    if (
        arr.ndim != 2
        or arr.shape[1] == 0
        or arr.dtype == np.bool_
        or not np.issubdtype(arr.dtype, np.integer)
        or vals.ndim != 1
        or vals.dtype == np.bool_
        or not (np.issubdtype(vals.dtype, np.floating) or np.issubdtype(vals.dtype, np.integer))
    ):
        return None
    vals = vals.astype(np.float64)
    if arr.min() < 0 or arr.max() >= vocab or not np.all(np.isfinite(vals) & (vals >= 0.0)):
        return None
    return arr.astype(np.int64), vals


def _merge_arrays(p: np.ndarray, arr: np.ndarray, vals: np.ndarray) -> Problem:
    """Draft sets of a homogeneous float law with numpy (see :func:`build`)."""
    total = _check_total(float(np.sum(vals)))
    keep = vals > 0.0
    arr, masses = arr[keep], vals[keep] / total
    canon = np.sort(arr, axis=1)  # (n, k); a repeated token is marked -1, then re-sorted
    canon[:, 1:][canon[:, 1:] == canon[:, :-1]] = -1
    canon.sort(axis=1)
    rows, tuple_set = np.unique(canon, axis=0, return_inverse=True)
    tuple_set = tuple_set.reshape(-1).astype(np.int64)
    members = rows >= 0
    return Problem(
        p=p,
        tuples=tuple(map(tuple, arr.tolist())),
        tuple_mass=tuple(masses.tolist()),
        tuple_set=tuple_set,
        set_mass=tuple(np.bincount(tuple_set, weights=masses, minlength=rows.shape[0]).tolist()),
        edge_set=np.repeat(np.arange(rows.shape[0], dtype=np.int64), members.sum(axis=1)),
        edge_token=rows[members].astype(np.int64),
        exact=False,
    )


def rational(problem: Problem) -> tuple[list[Fraction], list[Fraction]]:
    """Set masses and target as exact ``Fraction`` lists (each float read exactly)."""
    return [Fraction(m) for m in problem.set_mass], [Fraction(v) for v in problem.p]
