"""Closed-form OT ceilings for the library's drafting laws, at full vocabulary size.

For a draft law ``Q``, the best acceptance any exact verifier can reach is the min cut
(``proofs/ot_mincut.md``)

.. math::

    \\alpha^*(p, Q) = \\min_{B \\subseteq V} \\Bigl[ p(B) + 1 - W(B) \\Bigr],
    \\qquad W(B) = Q(\\text{all drafts} \\in B).

:func:`ot_bound` evaluates it without an LP for three laws:

``"iid"``
    ``k`` drafts i.i.d. from ``q``: ``W(B) = q(B)^k``. The minimum is attained at a prefix
    of the tokens sorted by ``p/q`` (``proofs/ot_prefix.md``): one sort, ``O(V log V)``.
``"without_replacement"``
    ``k`` drafts without replacement (Gumbel-top-k / sequential): the prefix lemma holds for
    every ``k`` (``proofs/ot_prefix.md``). ``W`` at each prefix is exact in closed form for
    ``k <= 2`` (``proofs/ot_without_replacement.md``); for ``k >= 3`` it is a numerical
    integral of the exponential race (:mod:`specsample.lp._race`), checked at run time
    against the ``k = 2`` closed form on the same nodes. On the exact path (``Fraction``
    inputs) every ``k`` is computed exactly from the enumerated law.
``"hub"``
    SpecHub's law generalised: the hub set ``A`` = the ``k-1`` most likely draft tokens
    (ties to the smallest id) always drafted, plus one token ``x ~ q(. | x not in A)``
    (:func:`hub_draft_law`). Closed form (``proofs/ot_hub.md``):
    ``min(1, p(A) + sum_{x not in A} min(p(x), q(x) / (1 - q(A))))``; as a set law this is
    :mod:`specsample.spechub`'s for every ``k >= 2``, and this is its acceptance.

Every :class:`Bound` names the cut ``B`` reaching the minimum, so ``value == p(B) + 1 - W(B)``
can be re-checked independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from specsample import _api, _checks, rrsw

from . import _race

__all__ = ["DRAFTS", "Bound", "hub_draft_law", "ot_bound"]

#: Drafting laws :func:`ot_bound` knows.
DRAFTS = ("iid", "without_replacement", "hub")


@dataclass(frozen=True)
class Bound:
    """Result of :func:`ot_bound`.

    Attributes
    ----------
    value : float or Fraction
        ``alpha*``: the best acceptance of any exact verifier with this draft law
        (``Fraction`` on the exact path).
    k : int
        Number of drafts.
    drafts : str
        The drafting law (one of :data:`DRAFTS`).
    cut : ndarray of int64
        The token set ``B`` reaching the min cut (ascending ids); ``value = p(B) + 1 - W(B)``.
    method : str
        ``"closed-form"`` (a finite formula, exact up to float rounding, or exactly in
        ``Fraction``), or ``"race-quadrature"`` (without replacement, ``k >= 3``, floats:
        the prefix minimum is proven, each ``W`` is a numerical integral).
    quadrature_check : float or None
        For ``"race-quadrature"``: the largest deviation, over all prefixes, of the same
        quadrature applied to the ``k = 2`` integrand from its closed form; ``None``
        otherwise.
    exact : bool
        True when computed in rational arithmetic.
    """

    value: float | Fraction
    k: int
    drafts: str
    cut: np.ndarray = field(compare=False)
    method: str = "closed-form"
    quadrature_check: float | None = None
    exact: bool = False


def ot_bound(p, q, k: int, *, drafts: str = "iid") -> Bound:
    """Optimal acceptance ``alpha*`` of ``k`` drafts from ``q`` under a named drafting law.

    .. math::

        \\alpha^* = \\min_{0 \\le j \\le V} \\Bigl[ p(T_j) + 1 - W(T_j) \\Bigr]

    over the prefixes ``T_j`` of the tokens sorted ascending by ``p/q`` (``q = 0`` last) for
    ``"iid"`` (``W = q(T)^k``) and ``"without_replacement"``; a direct closed form for
    ``"hub"`` (see the module docstring). References: SpecTr (arXiv 2310.15141) for the OT
    problem, Hu et al. (arXiv 2502.18779) for drafting without replacement, SpecHub (arXiv
    2411.05289) for the hub law. Proofs: ``proofs/ot_mincut.md``, ``proofs/ot_prefix.md``,
    ``proofs/ot_without_replacement.md``, ``proofs/ot_hub.md``.

    Parameters
    ----------
    p, q : array_like, shape (V,)
        Target and draft distributions: floats (divided by their sums, which must be within
        ``PROB_SUM_TOL`` of 1), or both ``Fraction`` vectors summing to 1 (exact path).
    k : int
        Number of drafts, ``>= 1``. ``"without_replacement"`` and ``"hub"`` need ``q > 0``
        on at least ``k`` tokens.
    drafts : {"iid", "without_replacement", "hub"}

    Returns
    -------
    Bound
        ``value`` is ``alpha*``; ``cut`` the minimising token set.

    Raises
    ------
    ValueError, TypeError
        Bad inputs (the message names the argument).
    ArithmeticError
        ``"without_replacement"`` with ``k >= 3``: the quadrature's run-time check failed
        even after refinement (never observed; use ``optimal_acceptance`` for small ``V``).
    """
    if drafts not in DRAFTS:
        raise ValueError(f"drafts must be one of {DRAFTS}; got {drafts!r}")
    inputs = _api.law_inputs(p, q)
    k = _checks.count(k, most=_checks.MAX_DRAFTS)
    if drafts != "iid":
        support = int(np.count_nonzero(np.asarray(inputs.q > 0, dtype=bool)))
        if support < k:
            raise ValueError(
                f"drafts={drafts!r} with k={k} needs q to give positive probability to at "
                f"least {k} tokens; q has {support}"
            )
    if drafts == "hub":
        return _hub(inputs, k)
    order = _ratio_order(inputs)
    if inputs.exact:
        return _exact_prefix(inputs, k, drafts, order)
    if drafts == "iid" or k == 1:
        return _iid(inputs, k, drafts, order)
    if k == 2:
        return _without_replacement_2(inputs, order)
    return _without_replacement_race(inputs, k, order)


def hub_draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """The top-(k-1)-hub draft law: ``{(a_1, ..., a_{k-1}, x): q(x) / (1 - q(A))}``.

    ``A = (a_1, ..., a_{k-1})`` are the ``k-1`` most likely tokens under ``q`` in descending
    order (ties to the smallest id); ``x`` ranges over the tokens outside ``A`` with
    ``q(x) > 0``. As a *set* law this equals ``specsample.spechub.draft_law(q, k)`` for
    every ``k >= 2`` (which emits the orders ``(x, a_1, ..., a_{k-1})`` and
    ``(a_j, the other hubs, x)``), so both have the same OT bound. ``q`` may be floats or
    Fractions.
    """
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _checks.count(k, most=_checks.MAX_DRAFTS)
    hubs = _hubs(inputs.q, k - 1)
    rest = _rest_mass(inputs, hubs)
    if not rest > 0:
        raise ValueError(f"hub law with k={k} needs q > 0 on at least {k} tokens")
    return {
        (*hubs, x): inputs.scalar(inputs.q[x] / rest)
        for x in range(inputs.q.shape[0])
        if x not in hubs and inputs.q[x] > 0
    }


# ---------------------------------------------------------------- helpers
def _hubs(q: np.ndarray, n: int) -> list[int]:
    """The ``n`` largest entries of ``q``, descending, ties to the smallest index."""
    if n == 0:
        return []
    if q.dtype == object:
        return sorted(range(q.shape[0]), key=lambda i: (-q[i], i))[:n]
    n = min(n, q.shape[0])
    kth = np.partition(q, q.shape[0] - n)[q.shape[0] - n]  # the n-th largest value
    above = np.flatnonzero(q > kth)
    ties = np.flatnonzero(q == kth)[: n - above.shape[0]]  # smallest ids first
    chosen = np.concatenate([above, ties])
    return [int(i) for i in chosen[np.lexsort((chosen, -q[chosen]))]]


def _rest_mass(inputs, hubs: list[int]):
    """``1 - q(A)`` summed over the other tokens (no cancellation near q(A) = 1)."""
    keep = np.ones(inputs.q.shape[0], dtype=bool)
    keep[hubs] = False
    if inputs.exact:
        return sum(inputs.q[keep], Fraction(0))
    return float(np.sum(inputs.q[keep]))


def _ratio_order(inputs) -> np.ndarray:
    """Token ids sorted by ``p/q`` ascending (ties in any order); ``q = 0`` tokens last."""
    p, q = inputs.p, inputs.q
    if inputs.exact:
        return np.array(
            sorted(range(q.shape[0]), key=lambda i: (q[i] == 0, p[i] / q[i] if q[i] else 0, i)),
            dtype=np.int64,
        )
    ratio = np.full(q.shape[0], np.inf)
    np.divide(p, q, out=ratio, where=q > 0)
    return np.argsort(ratio)  # any order of tied ratios is optimal (proofs/ot_prefix.md)


def _as_cut(tokens: np.ndarray, vocab: int) -> np.ndarray:
    """Token ids in ascending order, in O(V) (a mask instead of a sort)."""
    mask = np.zeros(vocab, dtype=bool)
    mask[tokens] = True
    return np.flatnonzero(mask)


def _suffix(x: np.ndarray) -> np.ndarray:
    """``out[j] = sum(x[j:])`` for ``j = 0..n`` (``out[n] = 0``): complement masses."""
    out = np.zeros(x.shape[0] + 1)
    out[:-1] = np.cumsum(x[::-1])[::-1]
    return out


def _prefix_bound(inputs, k, drafts, order, j, value, method="closed-form", check=None) -> Bound:
    """The bound reached by the prefix cut ``T_j`` (the first ``j`` tokens of ``order``)."""
    return Bound(
        value=value,
        k=k,
        drafts=drafts,
        cut=_as_cut(order[:j], order.shape[0]),
        method=method,
        quadrature_check=check,
        exact=inputs.exact,
    )


def _iid(inputs, k: int, drafts: str, order: np.ndarray) -> Bound:
    p, q = inputs.p[order], inputs.q[order]
    cp = np.concatenate([[0.0], np.cumsum(p)])
    c = _suffix(q)
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf is right: q(T) = 0
        objective = cp - np.expm1(k * np.log1p(-np.minimum(c, 1.0)))  # p(T) + 1 - (1 - c)^k
        j = int(np.argmin(objective))
        c_j = min(float(np.sum(q[j:])), 1.0)
        value = float(np.sum(p[:j])) - float(np.expm1(k * np.log1p(-c_j)))
    return _prefix_bound(inputs, k, drafts, order, j, value)


def _one_minus(q: np.ndarray) -> np.ndarray:
    """``1 - q_i`` for every token, the largest one as the sum of the others."""
    out = 1.0 - q
    top = int(np.argmax(q))
    out[top] = float(np.sum(np.delete(q, top)))
    return out


def _without_replacement_2(inputs, order: np.ndarray) -> Bound:
    p, q = inputs.p[order], inputs.q[order]
    nu = q / _one_minus(q)  # q_i / (1 - q_i); 0 for q_i = 0
    cp = np.concatenate([[0.0], np.cumsum(p)])
    c = _suffix(q)
    n = np.concatenate([[0.0], np.cumsum(nu)])
    objective = cp + c * (1.0 + n)  # p(T) + 1 - W(T),  W = A - c sum_T nu
    j = int(np.argmin(objective))
    value = float(np.sum(p[:j])) + float(np.sum(q[j:])) * (1.0 + float(np.sum(nu[:j])))
    return _prefix_bound(inputs, 2, "without_replacement", order, j, value)


def _without_replacement_race(inputs, k: int, order: np.ndarray) -> Bound:
    p, q = inputs.p[order], inputs.q[order]
    n = int(np.count_nonzero(q))  # q > 0 tokens come first in the ratio order
    qpos = np.ascontiguousarray(q[:n])
    c = _suffix(qpos)
    q_kth = float(np.partition(qpos, n - k)[n - k])
    # exact k = 2 control: 1 - W_2 = c (1 + sum_T nu), nu = q / (1 - q)
    tail_2 = 1.0 + np.concatenate([[0.0], np.cumsum(qpos / _one_minus(qpos))])
    for refine in (1, 2, 4):
        t, w = _race.nodes(q_kth, k, refine)
        integral_k, integral_2 = _race.prefix_integrals(qpos, c, k, t, w)
        check = float(np.max(c * np.abs(integral_2 - tail_2)))
        if check <= _race.QUADRATURE_TOL:
            break
    else:
        raise ArithmeticError(
            f"the race quadrature missed its k = 2 control by {check:.3g} > "
            f"QUADRATURE_TOL={_race.QUADRATURE_TOL} even with 4x refined panels; use "
            "specsample.lp.optimal_acceptance with rrsw.draft_law(q, k) for small V"
        )
    # p(T_j) + 1 - W(T_j) for j <= n; beyond n, c = 0 and W = 1, so j = n is the best there
    miss = np.clip(c * integral_k, 0.0, 1.0)  # 1 - W
    miss[:k] = 1.0  # fewer than k tokens cannot hold k distinct drafts
    objective = np.concatenate([[0.0], np.cumsum(p[:n])]) + miss
    j = int(np.argmin(objective))
    value = float(np.sum(p[:j])) + float(miss[j])
    return _prefix_bound(inputs, k, "without_replacement", order, j, value, "race-quadrature", check)


def _exact_prefix(inputs, k: int, drafts: str, order: np.ndarray) -> Bound:
    """Exact path: ``W`` at every prefix in ``Fraction`` arithmetic."""
    p, q = inputs.p, inputs.q
    vocab = q.shape[0]
    if drafts == "iid" or k == 1:
        cq = Fraction(0)
        w = [Fraction(0)]
        for i in order:
            cq += q[i]
            w.append(cq**k)
    else:
        # enumerate the law; a tuple is inside T_j from the prefix holding its last member
        rank = np.empty(vocab, np.int64)
        rank[order] = np.arange(vocab)
        bucket = [Fraction(0)] * (vocab + 1)
        for x, prob in rrsw.draft_law(list(q), k).items():
            bucket[max(int(rank[t]) for t in x) + 1] += prob
        w = list(np.cumsum(np.array(bucket, dtype=object)))
    best, best_j = None, 0
    cp = Fraction(0)
    for j in range(vocab + 1):
        if j > 0:
            cp += p[order[j - 1]]
        objective = cp + 1 - w[j]
        if best is None or objective < best:
            best, best_j = objective, j
    return _prefix_bound(inputs, k, drafts, order, best_j, best)


def _hub(inputs, k: int) -> Bound:
    p, q = inputs.p, inputs.q
    hubs = _hubs(q, k - 1)
    rest = _rest_mass(inputs, hubs)
    outside = np.ones(q.shape[0], dtype=bool)
    outside[hubs] = False
    scaled = q / rest  # q(x) / (1 - q(A))
    if inputs.exact:
        total = sum(p[hubs], Fraction(0)) + sum(
            (min(p[x], scaled[x]) for x in np.flatnonzero(outside)), Fraction(0)
        )
        one = Fraction(1)
    else:
        total = float(np.sum(p[hubs])) + float(np.sum(np.minimum(p, scaled)[outside]))
        one = 1.0
    if total < one:
        below = np.flatnonzero(outside & np.asarray(p < scaled, dtype=bool))
        cut = _as_cut(np.concatenate([np.asarray(hubs, np.int64), below]), q.shape[0])
        value = total
    else:
        cut = np.zeros(0, np.int64)
        value = one
    return Bound(
        value=value,
        k=k,
        drafts="hub",
        cut=cut,
        method="closed-form",
        quadrature_check=None,
        exact=inputs.exact,
    )
