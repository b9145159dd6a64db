"""The optimal acceptance of a draft law: the OTM linear program, its plan and certificate.

SpecTr's optimal-transport problem (Sun et al., arXiv 2310.15141; THEORY section 6): over
couplings ``pi`` of the draft-tuple law ``Q`` and the target ``p``, maximise the probability
that the output is one of the drafts,

.. math::

    \\alpha^*(p, Q) = \\max_{\\pi \\in \\Pi(Q, p)} \\sum_{x} \\sum_{y \\in x} \\pi(x, y)
                  = \\min_{B \\subseteq V} \\Bigl[ p(B) + 1 - Q(\\{x : x \\subseteq B\\}) \\Bigr].

It is the best acceptance any exact verifier can reach with drafts from ``Q``, and the
verifier reaching it is ``pi(y | x)``. The second equality is max-flow/min-cut
(``proofs/ot_mincut.md``). :func:`optimal_acceptance` solves it three independent ways.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import _problem
from ._maxflow import max_flow
from ._problem import Problem
from ._solvers import SOLVERS, Solution, SolverError

__all__ = [
    "Certificate",
    "CertificateCheck",
    "Coupling",
    "OptimalAcceptance",
    "SolverError",
    "optimal_acceptance",
]

#: Default tolerance of :meth:`OptimalAcceptance.check` on violations and on the duality gap.
CHECK_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Certificate:
    """Dual potentials of the max-flow LP: ``u`` per draft tuple, ``v`` per token.

    Dual feasibility means ``u_t + v_y >= 1`` whenever ``y`` is in tuple ``t``, and
    ``u, v >= 0``; then ``sum_t Q(t) u_t + sum_y p(y) v_y`` is an upper bound on ``alpha*``
    (weak duality). Tuples with the same member set share one potential.

    Attributes
    ----------
    tuple_potentials : Mapping
        ``{tuple: u_t}`` (read-only).
    token_potentials : ndarray, shape (V,)
        ``v_y`` (float64, or an object array of ``Fraction`` from the exact ``mincut`` route).
    """

    tuple_potentials: Mapping
    token_potentials: np.ndarray


@dataclass(frozen=True)
class CertificateCheck:
    """Outcome of :meth:`OptimalAcceptance.check`.

    The solver's flow and potentials are read (exactly, as ``Fraction``, when ``exact``),
    their violations measured, and then repaired to *exact* feasibility:

    * flow: negative entries set to 0; a draft set whose outflow exceeds ``Q(s)`` is scaled
      down to ``Q(s)``; then a token whose inflow exceeds ``p(y)`` likewise. Scaling down
      keeps every other constraint satisfied, so the repaired flow is feasible and
      ``lower`` = its value ``<= alpha*``;
    * potentials: ``v`` clipped to ``[0, 1]`` (0 for tokens in no draft set), then the
      smallest feasible ``u_s = max(0, 1 - min_{y in s} v_y)``; ``upper`` = the dual
      objective ``>= alpha*``.

    So ``lower <= alpha* <= upper`` holds as a theorem whatever the solver returned, and
    ``gap = upper - lower`` is what the certificate proves. With ``exact=True`` the repaired
    flow is then completed by exact augmenting paths (:mod:`specsample.lp._maxflow`) into a
    maximum flow whose residual cut has exactly the same value: ``optimum`` is ``alpha*``
    of the inputs read as exact rationals, proven by a zero-gap primal-dual pair, and
    ``value_error = |value - optimum|``. Float inputs are read exactly as the doubles they
    are (after the solver's normalisation), so their totals may differ from 1 by rounding;
    ``optimum`` is then the maximum flow of exactly those capacities.

    ``ok`` is true when both violations, the gap and (exact) the value error are ``<= tol``.
    """

    exact: bool
    lower: object
    upper: object
    gap: object
    primal_violation: object
    dual_violation: object
    optimum: Fraction | None
    value_error: object
    cut: frozenset | None
    tol: float
    ok: bool


class Coupling(Mapping):
    """A read-only sparse coupling ``{(tuple, token): mass}``, stored row by row (CSR).

    ``len`` is the number of non-zero entries; :meth:`row` gives one tuple's tokens and
    masses as arrays (float64, or object arrays of ``Fraction`` on the exact path).
    """

    def __init__(self, tuples: tuple, indptr: np.ndarray, tokens: np.ndarray, mass: np.ndarray):
        self._tuples = tuples
        self._index = {t: i for i, t in enumerate(tuples)}
        self._indptr, self._tokens, self._mass = indptr, tokens, mass

    def row(self, drafts: tuple) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens, masses)`` of the entries in the row of ``drafts`` (KeyError if absent)."""
        i = self._index[drafts]
        a, b = self._indptr[i], self._indptr[i + 1]
        return self._tokens[a:b], self._mass[a:b]

    def __getitem__(self, key):
        drafts, token = key
        tokens, mass = self.row(drafts)
        hit = np.flatnonzero(tokens == token)
        if hit.size == 0:
            raise KeyError(key)
        return mass[hit[0]]

    def __iter__(self):
        for i, t in enumerate(self._tuples):
            for y in self._tokens[self._indptr[i] : self._indptr[i + 1]].tolist():
                yield (t, y)

    def __len__(self) -> int:
        return int(self._tokens.shape[0])

    def items(self):
        """``((tuple, token), mass)`` pairs, row by row (faster than item lookups)."""
        for i, t in enumerate(self._tuples):
            a, b = self._indptr[i], self._indptr[i + 1]
            for y, m in zip(self._tokens[a:b].tolist(), self._mass[a:b], strict=True):
                yield (t, y), m


@dataclass(frozen=True, eq=False)
class OptimalAcceptance:
    """Result of :func:`optimal_acceptance`.

    Attributes
    ----------
    value : float or Fraction
        ``alpha*``, the optimal acceptance (``Fraction`` from ``solver="mincut"`` on
        ``Fraction`` inputs).
    solver : str
        Which route computed it.
    plan : Coupling
        A full coupling ``{(tuple, token): pi(tuple, token)}`` with marginals ``Q`` and ``p``
        (a read-only mapping; zero entries omitted). The accepted part is the solver's flow, shared
        among tuples with the same member set in proportion to ``Q``; the unaccepted mass is
        coupled by the north-west-corner rule (tuples in law order, tokens in id order).
        Floating-point plans meet the marginals up to the solver's tolerance.
    certificate : Certificate
        The solver's dual potentials.
    draft_law : Mapping
        The normalised draft law the problem was solved for (positive tuples only).
    p : ndarray, shape (V,)
        The normalised target.
    exact : bool
        True on the exact path (``Fraction`` inputs).
    """

    value: object
    solver: str
    plan: Coupling
    certificate: Certificate
    draft_law: Mapping
    p: np.ndarray
    exact: bool
    _problem: Problem = field(repr=False, compare=False)
    _solution: Solution = field(repr=False, compare=False)

    def verifier(self, drafts) -> np.ndarray:
        """Law of the output given the draft tuple: ``pi(drafts, .) / Q(drafts)``, shape (V,).

        Averaged over ``Q`` it is exactly ``p`` (in exact arithmetic; up to the solver's
        tolerance in floating point) and it outputs one of the drafts with total probability
        ``value``: an optimal exact verifier for this draft law.
        """
        key = _problem._token_tuple(drafts, self._problem.vocab)
        if key not in self.draft_law:
            raise ValueError(f"drafts {key} has probability 0 under the draft law")
        zero = self._problem.zero
        law = np.array([zero] * self._problem.vocab, dtype=object if self.exact else np.float64)
        tokens, mass = self.plan.row(key)
        law[tokens] = mass / self.draft_law[key]
        return law

    def check(self, *, exact: bool = True, tol: float = CHECK_TOL) -> CertificateCheck:
        """Re-verify the solution: primal and dual feasibility and the duality gap.

        See :class:`CertificateCheck` for what is repaired and what is proven. ``exact=True``
        works in ``Fraction`` arithmetic (pure Python; meant for instances up to some
        thousands of edges); ``exact=False`` does the same in float64 without the final
        exact completion.
        """
        return _check(self._problem, self._solution, self.value, exact=exact, tol=tol)


def optimal_acceptance(
    p,
    draft_law: Mapping | Callable,
    *,
    solver: str = "highs",
    k: int | None = None,
    time_limit: float | None = None,
) -> OptimalAcceptance:
    """Best acceptance of any exact verifier for drafts from ``draft_law``, and a plan.

    Solves the max-flow form of SpecTr's OTM linear program (arXiv 2310.15141):

    .. math::

        \\alpha^* = \\max \\sum_{(s, y),\\, y \\in s} f(s, y) \\quad \\text{s.t.} \\quad
        \\sum_y f(s, y) \\le Q(s),\\; \\sum_s f(s, y) \\le p(y),\\; f \\ge 0,

    over draft sets ``s`` (tuples with equal member sets merged), which equals the coupling
    form (``proofs/ot_mincut.md``) and cannot be infeasible.

    Parameters
    ----------
    p : array_like, shape (V,)
        Target distribution: floats (divided by their sum, which must be within
        ``PROB_SUM_TOL`` of 1) or ``Fraction``/``int`` summing to exactly 1.
    draft_law : Mapping or callable
        ``{tuple of token ids: probability}``, e.g. ``specsample.rrs.draft_law(q, k)``, or a
        callable ``law(tuple) -> probability`` evaluated on all ``V**k`` tuples (needs
        ``k``). Float probabilities are divided by their sum (within ``PROB_SUM_TOL`` of 1);
        with a ``Fraction`` target they must be ``Fraction``/``int`` summing to exactly 1.
        Nothing is floored: zero-probability tuples are dropped, negative ones raise.
    solver : {"highs", "pulp", "mincut"}
        ``"highs"``: scipy's HiGHS dual simplex. ``"pulp"``: the same LP through PuLP/CBC;
        its value is the objective of CBC's dual (CBC prints only 8 digits, enough for its
        0/1 dual vertex but not for the flow: the plan is good to ~1e-8).
        ``"mincut"``: brute force over ``2**n`` cuts (``n <= MINCUT_MAX_TOKENS`` tokens that
        occur in a draft set with ``p > 0``), in exact arithmetic on the exact path, plus an
        exact max flow for the plan.
    k : int, optional
        Tuple length, only for a callable ``draft_law``.
    time_limit : float, optional
        Seconds the LP solver may take (``highs``, ``pulp``); reaching it raises.

    Returns
    -------
    OptimalAcceptance

    Raises
    ------
    SolverError
        The LP solver stopped without an optimal solution (time limit, numerical trouble).
    ValueError, TypeError
        Bad inputs (the message names the argument), or too many tokens for ``mincut``.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {sorted(SOLVERS)}; got {solver!r}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ValueError(f"time_limit must be a positive number of seconds; got {time_limit!r}")
    problem = _problem.build(p, draft_law, k=k)
    solution = SOLVERS[solver](problem, time_limit)
    plan = _plan(problem, solution)
    set_u = solution.set_dual
    certificate = Certificate(
        tuple_potentials=types.MappingProxyType(
            {t: set_u[s] for t, s in zip(problem.tuples, problem.tuple_set, strict=True)}
        ),
        token_potentials=np.array(
            solution.token_dual, dtype=object if _exact_solution(problem, solver) else np.float64
        ),
    )
    return OptimalAcceptance(
        value=solution.value,
        solver=solver,
        plan=plan,
        certificate=certificate,
        draft_law=types.MappingProxyType(dict(zip(problem.tuples, problem.tuple_mass, strict=True))),
        p=problem.p,
        exact=_exact_solution(problem, solver),
        _problem=problem,
        _solution=solution,
    )


def _exact_solution(problem: Problem, solver: str) -> bool:
    return problem.exact and solver == "mincut"


def _repair_flow(problem: Problem, flow: list, set_mass: list, p: list) -> list:
    """Clip negatives, then scale down over-full draft sets, then over-full tokens."""
    if not problem.exact and not any(isinstance(f, Fraction) for f in flow[:1]):
        return list(_repair_flow_float(problem, np.asarray(flow, dtype=np.float64)))
    zero = flow[0] * 0 if flow else 0
    flow = [f if f > 0 else zero for f in flow]
    out = [zero] * len(set_mass)
    for e, s in enumerate(problem.edge_set):
        out[s] += flow[e]
    for e, s in enumerate(problem.edge_set):
        if out[s] > set_mass[s]:
            flow[e] = flow[e] * set_mass[s] / out[s]
    into: dict[int, object] = {}
    for e, y in enumerate(problem.edge_token):
        into[int(y)] = into.get(int(y), zero) + flow[e]
    for e, y in enumerate(problem.edge_token):
        if into[int(y)] > p[y]:
            flow[e] = flow[e] * p[y] / into[int(y)]
    return flow


def _repair_flow_float(problem: Problem, flow: np.ndarray) -> np.ndarray:
    """:func:`_repair_flow` in float64 with numpy."""
    flow = np.maximum(flow, 0.0)
    cap = np.asarray(problem.set_mass, dtype=np.float64)
    out = np.bincount(problem.edge_set, weights=flow, minlength=cap.shape[0])
    over = out > cap
    scale = np.ones_like(cap)
    scale[over] = cap[over] / out[over]
    flow = flow * scale[problem.edge_set]
    p = np.asarray(problem.p, dtype=np.float64)
    into = np.bincount(problem.edge_token, weights=flow, minlength=p.shape[0])
    over = into > p
    scale = np.ones_like(p)
    scale[over] = p[over] / into[over]
    return flow * scale[problem.edge_token]


def _plan(problem: Problem, solution: Solution) -> Coupling:
    """The full coupling: accepted flow shared within draft sets, the rest north-west corner."""
    exact = problem.exact and all(isinstance(f, Fraction) for f in solution.edge_flow)
    if exact:
        rows, cols, vals = _plan_exact(problem, solution)
    else:
        rows, cols, vals = _plan_float(problem, solution)
    n_tuples = len(problem.tuples)
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    if rows.shape[0]:  # merge repeated (tuple, token) entries
        key = rows * problem.vocab + cols
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        vals = np.add.reduceat(vals, first) if not exact else np.array(
            [sum(vals[a:b], Fraction(0)) for a, b in zip(first, np.r_[first[1:], key.shape[0]], strict=True)],
            dtype=object,
        )
        rows, cols = rows[first], cols[first]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_tuples))])
    return Coupling(problem.tuples, indptr, cols, vals)


def _plan_float(problem: Problem, solution: Solution):
    flow = _repair_flow_float(problem, np.asarray(solution.edge_flow, dtype=np.float64))
    n_sets = len(problem.set_mass)
    set_mass = np.asarray(problem.set_mass, dtype=np.float64)
    tuple_mass = np.asarray(problem.tuple_mass, dtype=np.float64)
    p = np.asarray(problem.p, dtype=np.float64)
    share = tuple_mass / set_mass[problem.tuple_set]  # (n_tuples,)
    # accepted part: each tuple gets its set's positive edges, scaled by its share
    pos = np.flatnonzero(flow > 0.0)  # grouped by set, since edges are
    per_set = np.bincount(problem.edge_set[pos], minlength=n_sets)
    set_start = np.concatenate([[0], np.cumsum(per_set)])[:-1]
    count = per_set[problem.tuple_set]
    acc_rows = np.repeat(np.arange(count.shape[0]), count)
    offset = np.arange(acc_rows.shape[0]) - np.repeat(np.cumsum(count) - count, count)
    edge = pos[set_start[problem.tuple_set][acc_rows] + offset]
    acc_cols = problem.edge_token[edge]
    acc_vals = flow[edge] * share[acc_rows]
    # unaccepted mass: north-west corner, vectorised over the merged cumulative sums
    set_out = np.bincount(problem.edge_set, weights=flow, minlength=n_sets)
    supply = np.maximum(tuple_mass - set_out[problem.tuple_set] * share, 0.0)
    demand = np.maximum(p - np.bincount(problem.edge_token, weights=flow, minlength=p.shape[0]), 0.0)
    s_cum, d_cum = np.cumsum(supply), np.cumsum(demand)
    top = min(s_cum[-1], d_cum[-1])
    cuts = np.unique(np.concatenate([[0.0], s_cum[s_cum < top], d_cum[d_cum < top], [top]]))
    length = np.diff(cuts)
    keep = length > 0.0
    middle = (cuts[:-1] + cuts[1:])[keep] / 2.0
    res_rows = np.minimum(np.searchsorted(s_cum, middle, side="right"), supply.shape[0] - 1)
    res_cols = np.minimum(np.searchsorted(d_cum, middle, side="right"), demand.shape[0] - 1)
    return (
        np.concatenate([acc_rows, res_rows]).astype(np.int64),
        np.concatenate([acc_cols, res_cols]).astype(np.int64),
        np.concatenate([acc_vals, length[keep]]),
    )


def _plan_exact(problem: Problem, solution: Solution):
    set_mass, p = _problem.rational(problem)
    flow = _repair_flow(problem, list(solution.edge_flow), set_mass, p)
    zero = Fraction(0)
    set_out = [zero] * len(set_mass)
    set_edges: list[list[tuple[int, Fraction]]] = [[] for _ in set_mass]
    demand = list(p)
    for e, (s, y) in enumerate(zip(problem.edge_set, problem.edge_token, strict=True)):
        if flow[e] > 0:
            set_edges[s].append((int(y), flow[e]))
            set_out[s] += flow[e]
            demand[y] -= flow[e]
    rows, cols, vals = [], [], []
    supply = []
    for i, (q_t, s) in enumerate(zip(problem.tuple_mass, problem.tuple_set, strict=True)):
        share = q_t / set_mass[s]
        for y, f in set_edges[s]:
            rows.append(i)
            cols.append(y)
            vals.append(f * share)
        supply.append(q_t - set_out[s] * share)
    tokens = [y for y in range(len(p)) if demand[y] > 0]
    j = 0
    for i, left in enumerate(supply):
        while left > 0 and j < len(tokens):
            y = tokens[j]
            moved = min(left, demand[y])
            rows.append(i)
            cols.append(y)
            vals.append(moved)
            left -= moved
            demand[y] -= moved
            if not demand[y] > 0:
                j += 1
    return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(vals, dtype=object)


def _check(problem: Problem, solution: Solution, value, *, exact: bool, tol: float) -> CertificateCheck:
    if exact:
        num = Fraction
        set_mass, p = _problem.rational(problem)
    else:
        num = float
        set_mass = [float(m) for m in problem.set_mass]
        p = [float(v) for v in problem.p]
    zero = num(0)
    raw = [num(f) for f in solution.edge_flow]
    violation = max([zero, *(-f for f in raw)])
    out = [zero] * len(set_mass)
    into = [zero] * len(p)
    for e, (s, y) in enumerate(zip(problem.edge_set, problem.edge_token, strict=True)):
        out[s] += raw[e]
        into[y] += raw[e]
    violation = max([violation, *(o - m for o, m in zip(out, set_mass, strict=True)), *(i - v for i, v in zip(into, p, strict=True))])
    flow = _repair_flow(problem, raw, set_mass, p)
    lower = sum(flow, zero)

    u_raw = [num(u) for u in solution.set_dual]
    v_raw = [num(v) for v in solution.token_dual]
    dual_violation = max([zero, *(-u for u in u_raw), *(-v for v in v_raw)])
    dual_violation = max(
        [dual_violation, *(1 - u_raw[s] - v_raw[y] for s, y in zip(problem.edge_set, problem.edge_token, strict=True))]
    )
    in_edges = set(int(y) for y in problem.edge_token)
    v = [min(max(x, zero), num(1)) if y in in_edges else zero for y, x in enumerate(v_raw)]
    u = [max(zero, 1 - min(v[y] for y in s)) for s in problem.sets]
    upper = sum((m * x for m, x in zip(set_mass, u, strict=True)), zero) + sum((w * x for w, x in zip(p, v, strict=True)), zero)
    gap = upper - lower
    optimum = value_error = cut = None
    if exact:
        best = max_flow(set_mass, p, problem.edge_set, problem.edge_token, start=flow)
        assert best.value == best.cut_value, "exact max flow and its residual cut disagree"
        assert lower <= best.value <= upper, "weak duality violated: repair is wrong"
        optimum, cut = best.value, best.cut
        value_error = abs(Fraction(value) - optimum)
    ok = violation <= tol and dual_violation <= tol and gap <= tol
    if value_error is not None:
        ok = ok and value_error <= tol
    return CertificateCheck(
        exact=exact,
        lower=lower,
        upper=upper,
        gap=gap,
        primal_violation=violation,
        dual_violation=dual_violation,
        optimum=optimum,
        value_error=value_error,
        cut=cut,
        tol=tol,
        ok=bool(ok),
    )
