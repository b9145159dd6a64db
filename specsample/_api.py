"""Plumbing shared by the scheme modules: argument checking, uniforms, dispatch, results.

A scheme module supplies the mathematics (a one-row numpy verifier, a batched numba kernel,
an exact law); the functions here turn user arguments into checked float64 arrays and
uniforms, and the kernels' outputs back into :class:`~specsample.scheme.Verdict` objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from specsample import _checks
from specsample.scheme import Verdict


@dataclass(frozen=True)
class DraftCall:
    """A checked ``draft`` call. ``q`` is 2-D (1 or ``n`` rows) with row sums ``sq``;
    ``u`` is ``(n, k)``."""

    q: np.ndarray
    sq: np.ndarray
    k: int
    u: np.ndarray
    batched: bool


@dataclass(frozen=True)
class VerifyCall:
    """A checked ``verify`` call. ``p``, ``q`` are 2-D (1 or ``B`` rows); ``drafts`` is
    ``(B, k)``; ``u`` is ``(B, k + 1)``: one uniform per draft test and one for a residual.
    ``sp``, ``sq`` are the row sums of ``p`` and ``q``."""

    p: np.ndarray
    q: np.ndarray
    sp: np.ndarray
    sq: np.ndarray
    drafts: np.ndarray
    u: np.ndarray
    batched: bool
    extra: object = None

    def verdict(self, token, index) -> Verdict:
        if self.batched:
            return Verdict(np.asarray(token, np.int64), np.asarray(index, np.int64))
        return Verdict(int(np.ravel(token)[0]), int(np.ravel(index)[0]))


def check_k(k, scheme: str, max_k: int | None) -> int:
    k = _checks.count(k, most=_checks.MAX_DRAFTS)
    if max_k is not None and k > max_k:
        raise ValueError(f"{scheme} supports k <= {max_k} drafts; got k={k}")
    return k


def _check_support(q2: np.ndarray, k: int, scheme: str, need: int) -> None:
    if need <= 1:
        return
    support = _checks.support(q2)
    short = np.flatnonzero(support < need)
    if short.size:
        r = int(short[0])
        raise ValueError(
            f"{scheme} with k={k} needs q to give positive probability to at least {need} "
            f"tokens; q{'[' + str(r) + ']' if support.size > 1 else ''} has {int(support[r])}"
        )


def prepare_draft(
    q, k, rng, uniforms, size, *, scheme: str, max_k: int | None, min_support: Callable[[int], int]
) -> DraftCall:
    """Check a ``draft(q, k, rng=..., uniforms=..., size=...)`` call."""
    q, sq = _checks.probs(q, "q")
    k = check_k(k, scheme, max_k)
    if size is not None:
        size = _checks.count(size, "size", most=_checks.MAX_DRAWS // k)
    batched = q.ndim == 2 or size is not None
    q2 = q.reshape(-1, q.shape[-1])
    if size is None:
        n = q2.shape[0]
    elif q2.shape[0] in (1, size):
        n = size
    else:
        raise ValueError(f"size={size} disagrees with q's {q2.shape[0]} rows (give 1 row or {size})")
    _check_support(q2, k, scheme, min_support(k))
    u = _checks.randomness(rng, uniforms, (n, k) if batched else (k,))
    return DraftCall(q=q2, sq=sq, k=k, u=u.reshape(n, k), batched=batched)


def prepare_verify(
    p,
    q,
    drafts,
    rng,
    uniforms,
    *,
    scheme: str,
    max_k: int | None,
    check_tuples: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> VerifyCall:
    """Check a ``verify(p, q, drafts, rng=..., uniforms=...)`` call.

    ``check_tuples(q2, drafts2)`` raises ``ValueError`` for draft tuples outside the
    scheme's draft law (for example a repeated token for a without-replacement scheme); what
    it returns is kept as ``call.extra`` (e.g. the hub it had to find).
    """
    p, sp = _checks.probs(p, "p")
    q, sq = _checks.probs(q, "q")
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p has {p.shape[-1]} tokens but q has {q.shape[-1]}")
    vocab = p.shape[-1]
    d = _checks.tokens(drafts, vocab, check_range=False)  # range: _checks.drafted below
    if d.size == 0:
        raise ValueError(f"drafts is empty (shape {d.shape}); give at least one draft token")
    if d.ndim == 1:
        if p.ndim != 1 or q.ndim != 1:
            raise ValueError(
                "drafts is 1-D (one tuple) but p or q is 2-D; pass drafts of shape (B, k) "
                f"for a batch (p {p.shape}, q {q.shape})"
            )
        batched = False
    elif d.ndim == 2:
        batched = True
    else:
        raise ValueError(f"drafts must be 1-D (k,) or 2-D (B, k); got shape {d.shape}")
    d2 = d.reshape(-1, d.shape[-1])
    rows, k = d2.shape
    if k == 0 or rows == 0:
        raise ValueError(f"drafts is empty (shape {d.shape}); give at least one draft token")
    check_k(k, scheme, max_k)
    p2 = p.reshape(-1, vocab)
    q2 = q.reshape(-1, vocab)
    for name, arr in (("p", p2), ("q", q2)):
        if arr.shape[0] not in (1, rows):
            raise ValueError(f"{name} has {arr.shape[0]} rows but drafts has {rows} (give 1 or {rows})")
    _checks.drafted(q2, d2, batched=batched)
    extra = check_tuples(q2, d2) if check_tuples is not None else None
    u = _checks.randomness(rng, uniforms, (rows, k + 1) if batched else (k + 1,))
    return VerifyCall(
        p=p2, q=q2, sp=sp, sq=sq, drafts=d2, u=u.reshape(rows, k + 1), batched=batched,
        extra=extra,
    )


def distinct_tuples(scheme: str):
    """A ``check_tuples`` for schemes whose drafts are distinct tokens."""

    def check(q2, d2):
        if d2.shape[1] < 2:
            return
        srt = np.sort(d2, axis=1)
        dup = np.argwhere(srt[:, 1:] == srt[:, :-1])
        if dup.size:
            b = int(dup[0][0])
            raise ValueError(
                f"{scheme} drafts are distinct tokens, but draft tuple {tuple(int(t) for t in d2[b])} "
                "repeats one"
            )

    return check


# ---------------------------------------------------------------- exact / float laws
@dataclass(frozen=True)
class LawInputs:
    """Checked inputs of ``output_law`` / ``acceptance_rate``: 1-D arrays, either float64
    (normalised to sum to 1) or object arrays of ``Fraction`` (summing to exactly 1)."""

    p: np.ndarray | None
    q: np.ndarray
    exact: bool

    @property
    def zero(self):
        return Fraction(0) if self.exact else 0.0

    @property
    def one(self):
        return Fraction(1) if self.exact else 1.0

    def scalar(self, x):
        return Fraction(x) if self.exact else float(x)

    def rate(self, x):
        """A probability as a Fraction, or as a float clamped to [0, 1] (float sums of
        normalised rows can round a hair outside it)."""
        return Fraction(x) if self.exact else min(1.0, max(0.0, float(x)))


#: Stands for "no target" in :func:`law_inputs` (``draft_law`` has no ``p``).
NO_TARGET = object()


def law_inputs(p, q) -> LawInputs:
    """Check ``p`` (``NO_TARGET`` for draft laws) and ``q`` for the exact or float law
    functions."""
    given = [("p", p), ("q", q)] if p is not NO_TARGET else [("q", q)]
    for name, x in given:
        _checks.ordered(x, name)
    exact = [_checks.is_exact(x) for _, x in given]
    if any(exact) and not all(exact):
        raise TypeError(
            "p and q must both be Fraction vectors (exact path) or both be floats; got a mix"
        )
    if all(exact):
        arrs = [_checks.exact_probs(x, name) for name, x in given]
    else:
        arrs = []
        for name, x in given:
            arr, total = _checks.probs(x, name, ndims=(1,))
            arrs.append(arr / total[0])
    if len(arrs) == 2 and arrs[0].shape != arrs[1].shape:
        raise ValueError(f"p has {arrs[0].shape[0]} tokens but q has {arrs[1].shape[0]}")
    return LawInputs(p=arrs[0] if p is not NO_TARGET else None, q=arrs[-1], exact=all(exact))


def law_drafts(drafts, inputs: LawInputs, scheme: str, max_k: int | None, check_tuples=None) -> np.ndarray:
    """Check one draft tuple for ``output_law``: 1-D ints in range with ``q > 0``."""
    d = _checks.tokens(drafts, inputs.q.shape[0])
    if d.ndim != 1 or d.shape[0] == 0:
        raise ValueError(f"drafts must be one non-empty tuple of shape (k,); got shape {d.shape}")
    check_k(d.shape[0], scheme, max_k)
    for j, t in enumerate(d):
        if inputs.q[t] <= 0:
            raise ValueError(f"drafts[{j}] = {int(t)} has q = 0: that token cannot have been drafted")
    if check_tuples is not None:
        check_tuples(inputs.q[None, :], d[None, :])
    return d


def _first_argmax(x: np.ndarray) -> int:
    best = 0
    for i in range(1, x.shape[0]):
        if x[i] > x[best]:
            best = i
    return best


def check_law_k(k, inputs: LawInputs, scheme: str, max_k: int | None, min_support: Callable[[int], int]) -> int:
    k = check_k(k, scheme, max_k)
    support = sum(1 for v in inputs.q if v > 0)
    if support < min_support(k):
        raise ValueError(
            f"{scheme} with k={k} needs q to give positive probability to at least "
            f"{min_support(k)} tokens; q has {support}"
        )
    return k


def hub_of(q: np.ndarray) -> int:
    """The hub token: the first index of the largest entry of ``q`` (exact comparison)."""
    return _first_argmax(q)


def as_law_output(law: np.ndarray, inputs: LawInputs) -> np.ndarray:
    """Return a law as float64, or as an object array of ``Fraction`` on the exact path."""
    if inputs.exact:
        return np.array([Fraction(v) for v in law], dtype=object)
    return np.asarray(law, dtype=np.float64)
