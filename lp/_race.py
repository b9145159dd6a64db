"""``P(all k drafts in T)`` for drafts without replacement, at every ratio prefix ``T``.

Drafting ``k`` tokens without replacement from ``q`` is the order of arrival in an
exponential race: token ``i`` arrives at ``E_i ~ Exp(q_i)``, independently, and the drafts
are the first ``k`` arrivals (``proofs/ot_without_replacement.md``). All drafts lie in
``T`` iff at least ``k`` tokens of ``T`` arrive before the first token of the complement,
which arrives at rate ``c = q(V \\ T)``:

.. math::

    W(T) = 1 - c \\int_0^\\infty e^{-c t}\\, P\\bigl(N_T(t) \\le k - 1\\bigr)\\, dt,
    \\qquad N_T(t) = \\#\\{i \\in T : E_i \\le t\\}.

For ``k <= 2`` the integral has a closed form (``W = A - c sum_{i in T} q_i/(1 - q_i)``
for ``k = 2``, ``A = q(T)``). For ``k >= 3`` it is a finite but non-separable sum over
subsets (``proofs/ot_without_replacement.md``), so it is evaluated numerically:
``P(N_T(t) <= k-1)`` is the Poisson-binomial head, built token by token along the prefix
order at fixed nodes ``t_g`` (one small dynamic programme per node), and integrated by

* Gauss-Legendre with :data:`HEAD_POINTS` points on ``t in [0, 1]``;
* Gauss-Legendre panels of width :data:`PANEL_WIDTH` in ``x = ln t`` with
  :data:`PANEL_POINTS` points each, on ``[0, ln t_hi]``;
* nothing beyond ``t_hi``: there ``e^{-ct} P(N_T(t) <= k-1) <= P(fewer than k of all
  tokens arrived) <= k e^{-q_(k) t}`` (``q_(k)`` the k-th largest mass), so choosing
  ``t_hi = ln(k / (q_(k) eps)) / q_(k)`` bounds the neglected part of ``W`` by ``eps``.

The same nodes also integrate the ``k = 2`` head ``P(N_T(t) <= 1)``, whose exact value is
known in closed form at every prefix; the largest deviation is returned as a run-time check
of the quadrature on this very instance (:func:`specsample.lp.ot_bound` refines the panels,
then raises, when it exceeds :data:`QUADRATURE_TOL`). The check is a control, not a proof
of accuracy for ``k >= 3``: on Zipf pairs at V = 151936 the ``k = 4`` error (against a 4x
finer grid) stayed within 20x of it, at most 2e-12; against exact rational values at
small V it is below 1e-13 (``tests/lp/test_race.py``).
"""

from __future__ import annotations

import itertools

import numba
import numpy as np

#: Gauss-Legendre points on the head interval t in [0, 1].
HEAD_POINTS = 12
#: Width (in ln t) and Gauss-Legendre points of each panel beyond t = 1.
PANEL_WIDTH = 1.0
PANEL_POINTS = 8
#: Neglected tail mass of the race integral.
TAIL_EPS = 1e-17
#: Largest accepted deviation of the k = 2 control integral from its closed form.
QUADRATURE_TOL = 1e-12


def nodes(q_kth: float, k: int, refine: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes ``t`` and weights ``w`` for ``int_0^t_hi f(t) dt``."""
    gx, gw = np.polynomial.legendre.leggauss(HEAD_POINTS)
    t = [0.5 * (gx + 1.0)]
    w = [0.5 * gw]
    t_hi = max((np.log(k) - np.log(q_kth) - np.log(TAIL_EPS)) / q_kth, 2.0)
    x_hi = np.log(t_hi)
    if not x_hi <= 700.0:
        raise ArithmeticError(
            f"the k-th largest draft probability ({q_kth:.3g}) is too small for the race "
            "quadrature's tail bound; use optimal_acceptance on the enumerated law"
        )
    panels = max(1, int(np.ceil(x_hi / PANEL_WIDTH)) * refine)
    px, pw = np.polynomial.legendre.leggauss(PANEL_POINTS)
    edges = np.linspace(0.0, x_hi, panels + 1)
    for a, b in itertools.pairwise(edges):
        x = 0.5 * (a + b) + 0.5 * (b - a) * px
        t.append(np.exp(x))
        w.append(0.5 * (b - a) * pw * np.exp(x))  # dt = t dx
    return np.concatenate(t), np.concatenate(w)


#: Largest ``c t`` at which ``e^{-c t}`` is carried; beyond it the weight (< 1e-304) is 0.
_EXP_FLOOR = 700.0


@numba.njit(cache=True)
def _arrival(x):
    """``(e^{-x}, 1 - e^{-x})`` for ``x >= 0``, both to full relative precision."""
    if x < 1e-3:  # Taylor series of 1 - e^{-x}; the next term is below 1e-18 relative
        b = x * (1.0 - x / 2.0 * (1.0 - x / 3.0 * (1.0 - x / 4.0 * (1.0 - x / 5.0))))
        return 1.0 - b, b
    a = np.exp(-x)
    return a, 1.0 - a


@numba.njit(cache=True)
def _growth(x):
    """``e^{x} - 1`` for ``x >= 0`` to full relative precision."""
    if x < 1e-3:  # Taylor series; the next term is below 1e-18 relative
        return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0))))
    return np.expm1(x)


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def prefix_integrals(q, c, k, t, w):  # q: (n,) > 0 in prefix order; c: (n + 1,) complements
    """``I[j] = sum_g w_g e^{-c_j t_g} P(N_j(t_g) <= k-1)`` and the same with ``k = 2``.

    ``N_j`` counts arrivals among the first ``j`` tokens; ``t`` must be ascending. Returns
    two (n + 1,) arrays.

    Per node the state is ``psi_m = e^{-c_j t} P(N_j(t) = m)``, ``m < k``: the probability
    that by time ``t`` no token outside ``T_j`` and exactly ``m`` tokens of ``T_j`` arrived.
    Moving token ``j`` into ``T`` adds ``psi_{m-1} (e^{q_j t} - 1)`` to ``psi_m``: sums of
    non-negative terms, no cancellation, and no exponential of ``c_j t`` per token. While
    ``c_j t > _EXP_FLOOR`` the node's weight is below 1e-304 and counted as 0; the state is
    then kept as plain probabilities ``P(N_j(t) = m)`` (a convex update) and multiplied by
    ``e^{-c_j t}`` once, when ``c_j t`` drops below the floor. Since ``c_j`` decreases and
    ``t`` ascends, the weighted nodes are always ``[0, ready)``.
    """
    n = q.shape[0]
    g_count = t.shape[0]
    state = np.zeros((k, g_count))
    state[0, :] = 1.0
    ready = 0
    while ready < g_count and c[0] * t[ready] <= _EXP_FLOOR:
        state[0, ready] = np.exp(-c[0] * t[ready])
        ready += 1
    grow = np.empty(g_count)
    out_k = np.empty(n + 1)
    out_2 = np.empty(n + 1)
    for j in range(n + 1):
        if j > 0:
            qj = q[j - 1]
            for g in range(ready):
                grow[g] = _growth(qj * t[g])
            for m in range(k - 1, 0, -1):
                for g in range(ready):
                    state[m, g] += state[m - 1, g] * grow[g]
            for g in range(ready, g_count):
                a, b = _arrival(qj * t[g])
                for m in range(k - 1, 0, -1):
                    state[m, g] = state[m, g] * a + state[m - 1, g] * b
                state[0, g] *= a
            while ready < g_count and c[j] * t[ready] <= _EXP_FLOOR:
                weight = np.exp(-c[j] * t[ready])
                for m in range(k):
                    state[m, ready] *= weight
                ready += 1
        acc_2 = 0.0
        for g in range(ready):
            acc_2 += w[g] * (state[0, g] + state[1, g])
        acc_k = acc_2
        for m in range(2, k):
            for g in range(ready):
                acc_k += w[g] * state[m, g]
        out_k[j] = acc_k
        out_2[j] = acc_2
    return out_k, out_2
