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

import functools
import math

import numba
import numpy as np

#: Gauss-Legendre points on the head interval t in [0, 1].
HEAD_POINTS = 8
#: Largest width (in ln t) and Gauss-Legendre points of each panel beyond t = 1.
PANEL_WIDTH = 3.0
PANEL_POINTS = 17
#: Neglected tail mass of the race integral.
TAIL_EPS = 1e-17
#: Largest accepted deviation of the k = 2 control integral from its closed form.
QUADRATURE_TOL = 1e-12


@functools.cache
def _gauss_legendre(points: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on ``[-1, 1]`` (computed once per size)."""
    return np.polynomial.legendre.leggauss(points)


def nodes(q_kth: float, k: int, refine: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Ascending quadrature nodes ``t`` and weights ``w`` for ``int_0^t_hi f(t) dt``."""
    gx, gw = _gauss_legendre(HEAD_POINTS)
    t_hi = max((np.log(k) - np.log(q_kth) - np.log(TAIL_EPS)) / q_kth, 2.0)
    x_hi = np.log(t_hi)
    if not x_hi <= 700.0:
        raise ArithmeticError(
            f"the k-th largest draft probability ({q_kth:.3g}) is too small for the race "
            "quadrature's tail bound; use optimal_acceptance on the enumerated law"
        )
    panels = max(1, int(np.ceil(x_hi / PANEL_WIDTH)) * refine)
    px, pw = _gauss_legendre(PANEL_POINTS)
    edges = np.linspace(0.0, x_hi, panels + 1)
    half = 0.5 * np.diff(edges)[:, None]  # (panels, 1)
    x = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half * px  # (panels, PANEL_POINTS)
    t = np.concatenate([0.5 * (gx + 1.0), np.exp(x).ravel()])
    w = np.concatenate([0.5 * gw, (half * pw * np.exp(x)).ravel()])  # dt = t dx
    return t, w


#: Largest ``c t`` at which ``e^{-c t}`` is carried; beyond it the weight (< 1e-304) is 0.
_EXP_FLOOR = 700.0
#: Below this ``x = q t``, :func:`_growth_small` gives ``e^x - 1`` to 1.3e-18 relative.
_TINY_X = 2.0**-10
#: Below this ``x``, :func:`_growth` gives ``e^x - 1`` to 1.8e-19 relative (degree 13).
_SMALL_X = 0.25

# 1/i! for the Taylor coefficients of e^x - 1
_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13 = (
    1.0 / math.factorial(i) for i in range(2, 14)
)


@numba.njit(cache=True, fastmath={"contract"})
def _growth_small(x):
    """``e^x - 1`` for ``0 <= x < _TINY_X``: Taylor series to degree 5.

    The omitted tail is below ``x^5 / 720 < 1.3e-18`` relative. Every term is non-negative,
    so no evaluation order cancels; Estrin's scheme keeps the chain of dependent
    operations short (the node loops are short, so latency matters).
    """
    x2 = x * x
    return x * ((1.0 + _F2 * x) + x2 * ((_F3 + _F4 * x) + x2 * _F5))


@numba.njit(cache=True, fastmath={"contract"})
def _growth(x):
    """``e^x - 1`` for ``0 <= x < _SMALL_X``: Taylor series to degree 13.

    The omitted tail is below ``x^13 / 14! * 1.02 < 1.8e-19`` relative at ``x = 1/4``.
    Non-negative terms in Estrin's scheme, as in :func:`_growth_small`.
    """
    x2 = x * x
    x4 = x2 * x2
    low = ((1.0 + _F2 * x) + x2 * (_F3 + _F4 * x)) + x4 * ((_F5 + _F6 * x) + x2 * (_F7 + _F8 * x))
    high = ((_F9 + _F10 * x) + x2 * (_F11 + _F12 * x)) + x4 * _F13
    return x * (low + (x4 * x4) * high)


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def prefix_integrals(q, c, k, t, w):  # q: (n,) > 0 in prefix order; c: (n + 1,) complements
    """``I[j] = sum_g w_g e^{-c_j t_g} P(N_j(t_g) <= k-1)`` and the same with ``k = 2``.

    ``N_j`` counts arrivals among the first ``j`` tokens; ``c`` must be non-increasing and
    ``t`` ascending. Returns two (n + 1,) arrays.

    Per node the state is ``psi_m = e^{-c_j t} P(N_j(t) = m)``, ``m < k``: the probability
    that by time ``t`` no token outside ``T_j`` and exactly ``m`` tokens of ``T_j`` arrived.
    Moving token ``j`` into ``T`` adds ``psi_{m-1} (e^{q_j t} - 1)`` to ``psi_m``: sums of
    non-negative terms, no cancellation, and no exponential of ``c_j t`` per token
    (``psi_0 = e^{-t}`` never changes). While ``c_j t > _EXP_FLOOR`` the node's weight is
    below 1e-304 and counted as 0; the state is then kept as plain probabilities
    ``P(N_j(t) = m)`` (a convex update) and multiplied by ``e^{-c_j t}`` once, when ``c_j t``
    drops below the floor. Since ``c_j`` decreases and ``t`` ascends, the weighted nodes are
    always a prefix ``[0, ready)``, and the nodes where ``x = q_j t`` is below
    :data:`_SMALL_X` (where a Taylor series gives ``e^x - 1``) a prefix ``[0, small)``.
    """
    n = q.shape[0]
    g_count = t.shape[0]
    # ready_of[j]: the nodes weighted once token j is in T (c_j t <= _EXP_FLOOR)
    ready_of = np.empty(n + 1, np.int64)
    ready = 0
    for j in range(n + 1):
        while ready < g_count and c[j] * t[ready] <= _EXP_FLOOR:
            ready += 1
        ready_of[j] = ready
    # state[m][g] = w_g psi_m at weighted nodes, P(N_j(t_g) = m) at the others. One array
    # per m (not rows of one 2-D array): LLVM then vectorises the row updates below, whose
    # rows it cannot otherwise prove disjoint.
    state = [np.zeros(g_count) for _ in range(k)]
    state[0][:] = 1.0
    grow = np.empty(g_count)  # e^{q_j t_g} - 1
    stay = np.empty(g_count)  # e^{-q_j t_g} at the nodes not yet weighted
    arrive = np.empty(g_count)  # 1 - e^{-q_j t_g} there
    sums = np.zeros(k)  # sums[m] = sum of state[m][:ready] (m >= 1)
    head = 0.0  # the same for m = 0, constant while ready is
    ready = 0
    out_k = np.empty(n + 1)
    out_2 = np.empty(n + 1)
    for j in range(n + 1):
        if j > 0:
            qj = q[j - 1]
            small = g_count
            while small > 0 and qj * t[small - 1] >= _SMALL_X:
                small -= 1
            if small > 0 and qj * t[small - 1] < _TINY_X:
                for g in range(small):
                    grow[g] = _growth_small(qj * t[g])
            else:
                for g in range(small):
                    grow[g] = _growth(qj * t[g])
            for g in range(small, ready):
                grow[g] = np.expm1(qj * t[g])
            for m in range(k - 1, 0, -1):
                high = state[m]
                low = state[m - 1]
                total = 0.0
                for g in range(ready):
                    high[g] += low[g] * grow[g]
                    total += high[g]
                sums[m] = total
            # nodes not yet weighted: the convex update, with e^{-x} = 1 / (1 + grow) and
            # 1 - e^{-x} = grow e^{-x} where the series gave grow, else from exp / expm1
            for g in range(ready, small):
                stay[g] = 1.0 / (1.0 + grow[g])
                arrive[g] = grow[g] * stay[g]
            for g in range(max(ready, small), g_count):
                stay[g] = np.exp(-qj * t[g])
                arrive[g] = -np.expm1(-qj * t[g])
            for m in range(k - 1, 0, -1):
                high = state[m]
                low = state[m - 1]
                for g in range(ready, g_count):
                    high[g] = high[g] * stay[g] + low[g] * arrive[g]
            for g in range(ready, g_count):
                state[0][g] *= stay[g]
        if ready_of[j] > ready:
            for g in range(ready, ready_of[j]):
                weight = w[g] * np.exp(-c[j] * t[g])
                for m in range(k):
                    state[m][g] *= weight
                head += state[0][g]
            ready = ready_of[j]
            for m in range(1, k):
                total = 0.0
                for g in range(ready):
                    total += state[m][g]
                sums[m] = total
        out_2[j] = head + sums[1]
        out_k[j] = out_2[j]
        for m in range(2, k):
            out_k[j] += sums[m]
    return out_k, out_2
