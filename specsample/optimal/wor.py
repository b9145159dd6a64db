"""An exact verifier reaching the optimal-transport optimum, two drafts without replacement.

Drafts: ``x_1 ~ q``, ``x_2 ~ q( . | x != x_1)`` (``k <= 2``; ``k = 1`` is single-draft
sampling). The optimum of this draft law (``proofs/ot_prefix.md``,
``proofs/ot_without_replacement.md``) is

.. math::

    \\alpha^* = \\min_j \\Bigl[ p(T_j) + 1 - W(T_j) \\Bigr], \\qquad
    W(T) = q(T) - q(U) \\sum_{i \\in T} \\frac{q_i}{1 - q_i}.

Verifier (``THEORY.md`` section 7): write the pair law as i.i.d. pairs plus *extra* pairs,
``P(y, z) = q_y q_z + kappa_y q_z`` with ``kappa_y = q_y^2 / (1 - q_y)``; a pair is treated
as extra with probability ``q(x_1)``, in which case ``x_2`` is selected iff its position
exceeds ``theta(x_1)`` (the centre of ``x_1``'s interval when the tokens are stacked in
ratio order); otherwise the higher of two positions wins. The selection density is then
``I(t) = t^2 + sum_z kappa_z (t - theta_z)_+`` and the pieces are swept for the targets
``X_y = x_y + kappa_y (1 - theta_y)``; Steps A and C are those of :mod:`.iid`.

The sweep needs the targets to dominate ``I`` in convex order (a prefix condition, not
proven for this law; it held on every instance tried). Each pair's table *certifies* it;
when it fails the pair *falls back*: an extra pair is collapsed to ``(x_1, x_1)``, which
turns the drafts into exact i.i.d. pairs, and the i.i.d. optimal verifier runs on them --
exact, but only at the i.i.d. optimum (plus the chance that a rejected collapsed pair's
residual is the discarded draft). A pair also falls back when the draft puts more than
about 0.99976 on one token (``q^2 / (1 - q) > KAPPA_MAX``): the float table would then
resolve its pieces too coarsely (error about ``kappa * 2**-53``), and both paths apply the
same rule. :func:`falls_back` and :func:`certificate` say which happens for a pair;
:func:`acceptance_rate` reports the rate of the verifier that actually runs. Proofs:
``proofs/opt_wor.md``, ``proofs/opt_sweep.md``.

Three or more drafts without replacement are not supported: the extra-pair decomposition
has no known analogue for ``k >= 3``. The natural candidate (the highest position over an
i.i.d. stream whose first ``k`` distinct tokens are the drafts) makes a token's selection
probability depend on the other tokens' pieces, so a sweep cannot tune it token by token;
the library ships no approximation in its place.

Uniforms: ``u[0]`` decides an extra pair (``u[0] < q(x_1)``) and otherwise, rescaled, places
draft 1; ``u[1]`` places draft 2; ``u[2]`` decides acceptance and the residual draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specsample import _api, _checks, _laws, _sampling
from specsample.optimal import _build, _scheme
from specsample.scheme import Verdict

NAME = "opt_wor"
MAX_K: int | None = 2


def _min_support(k: int) -> int:
    return k


_distinct = _api.distinct_tuples(NAME)


def draft(q, k: int, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw ``k`` distinct tokens from ``q`` in order: shape (k,), or (n, k) for a batch.

    Needs ``k`` <= the number of tokens with ``q > 0``. Randomness comes from ``rng`` (a
    ``numpy.random.Generator``) or from ``uniforms`` of shape (k,) / (n, k).
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.batched:
        return _sampling.draft_without_replacement_rows(call.q, call.u)
    return _sampling.np_draft_without_replacement(call.q[0], call.u[0])


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """Select one of the two distinct drafts (extra pair or positions), then accept it.

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1).
    """
    call = _api.prepare_verify(
        p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K, check_tuples=_distinct
    )
    return _scheme.run_verify(call, _build.WOR)


def draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j) / q(V minus {x_1..x_{j-1}})`` over distinct ordered tuples."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.without_replacement_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered draft tuple: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K, _distinct)
    t = _scheme.law_table(p, q, d.shape[0], _build.WOR, inputs)
    return _scheme.output_law(t, p, inputs, d)


def acceptance_rate(p, q, k: int):
    """P(output is a draft): ``alpha*`` of the without-replacement law, or, for a pair that
    falls back (:func:`falls_back`), the i.i.d. optimum for ``k = 2``."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _scheme.acceptance(_scheme.law_table(p, q, k, _build.WOR, inputs), inputs)


def selection_law(p, q, k: int) -> np.ndarray:
    """Law ``x`` of the selected draft token: shape (V,), Fractions on the exact path."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _scheme.selection_law(_scheme.law_table(p, q, k, _build.WOR, inputs), inputs,
                                 inputs.q.shape[0])


@dataclass(frozen=True)
class Certificate:
    """The run-time check of one pair's two-draft table.

    Attributes
    ----------
    holds : bool
        The targets dominate the selection density in convex order (every prefix slack is
        at least ``-tolerance``): the optimal verifier runs. False: the pair falls back.
    worst_slack : float or Fraction
        The smallest prefix slack ``sum_{i<=j} X_i - (I(lo + Q_j) - I(lo))`` over both halves.
    tolerance : float or Fraction
        Roundoff allowance of the float check (0 on the exact path, which decides exactly).
    reason : str
        ``""`` when it holds; ``"convex order"`` when a prefix slack is negative;
        ``"ill-conditioned"`` when the draft puts so much mass on one token that a float table
        would lose precision (``q^2 / (1 - q) > KAPPA_MAX = 4096``, i.e. ``q > 0.99976``;
        both paths then fall back, and ``worst_slack`` is not computed).
    """

    holds: bool
    worst_slack: object
    tolerance: object
    reason: str = ""


def certificate(p, q) -> Certificate:
    """The convex-order certificate of the pair ``(p, q)`` for ``k = 2``."""
    inputs = _api.law_inputs(p, q)
    _api.check_law_k(2, inputs, NAME, MAX_K, _min_support)
    t = _scheme.law_table(p, q, 2, _build.WOR, inputs)
    if inputs.exact:
        reason = "" if not t.fallback else (
            "ill-conditioned" if t.worst_slack is None else "convex order")
        return Certificate(not t.fallback, t.worst_slack, 0, reason)
    return Certificate(not t.fallback, t.worst_slack, t.tolerance, t.reason)


def falls_back(p, q) -> bool | np.ndarray:
    """True where the pair's certificate failed and the verifier runs the exact i.i.d.
    fallback. ``p``, ``q``: (V,), or 1 or B rows each (then a bool array of B)."""
    if _checks.is_exact(p) or _checks.is_exact(q):
        return not certificate(p, q).holds
    p2, sp = _checks.probs(p, "p")
    q2, sq = _checks.probs(q, "q")
    if p2.shape[-1] != q2.shape[-1]:
        raise ValueError(f"p has {p2.shape[-1]} tokens but q has {q2.shape[-1]}")
    p2 = p2.reshape(-1, p2.shape[-1])
    q2 = q2.reshape(-1, q2.shape[-1])
    rows = max(p2.shape[0], q2.shape[0])
    for name, arr in (("p", p2), ("q", q2)):
        if arr.shape[0] not in (1, rows):
            raise ValueError(f"{name} has {arr.shape[0]} rows but the other has {rows}")
    _api._check_support(q2, 2, NAME, 2)
    out = np.empty(rows, dtype=bool)
    for b in range(rows):
        rp = 0 if p2.shape[0] == 1 else b
        rq = 0 if q2.shape[0] == 1 else b
        t = _scheme.table(p2[rp], q2[rq], float(sp[rp]), float(sq[rq]), 2, _build.WOR)
        out[b] = t.fallback
    return out if (np.ndim(p) == 2 or np.ndim(q) == 2) else bool(out[0])
