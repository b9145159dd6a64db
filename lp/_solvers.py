"""Three independent routes to the OTM optimum on one :class:`~specsample.lp._problem.Problem`.

All three solve the max-flow form (``proofs/ot_mincut.md``)

.. code-block:: text

    maximise   sum_{(s, y): y in s} f(s, y)
    subject to sum_y f(s, y) <= Q(s)     (dual u_s >= 0)     for every draft set s
               sum_s f(s, y) <= p(y)     (dual v_y >= 0)     for every token y
               f >= 0

whose dual is ``min sum_s Q(s) u_s + sum_y p(y) v_y`` subject to ``u_s + v_y >= 1`` on every
edge. It is always feasible (``f = 0``), so no solver can report it infeasible; the equality
form of the coupling LP is not used (HiGHS called it infeasible with probabilities near
1e-10, THEORY section 6).

* ``highs``  -- ``scipy.optimize.linprog`` with HiGHS' dual simplex (a vertex solution).
* ``pulp``   -- the same LP written through PuLP and solved by CBC (tolerances 1e-11). CBC
  prints its solution with 8 significant digits, so the value reported is the dual
  objective of CBC's potentials (a 0/1 cut at an optimal vertex, exact in 8 digits), and
  the flow (hence the plan) is good to about 1e-8 relative.
* ``mincut`` -- brute force over the subsets ``B`` of the tokens that matter, of
  ``p(B) + Q(all) - Q(members inside B)``, and an exact augmenting-path max flow for the plan.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from ._maxflow import max_flow
from ._problem import Problem, rational

#: Largest number of tokens the ``mincut`` solver enumerates subsets of (``2**n`` subsets).
#: Only tokens that occur in some draft set and have ``p > 0`` count: tokens in no draft set
#: never belong to an optimal cut, and member tokens with ``p = 0`` always do.
MINCUT_MAX_TOKENS = 20

#: HiGHS primal and dual feasibility tolerances. The constraint matrix is totally unimodular
#: (each variable sits in one set row and one token row), so a simplex vertex is made of
#: sums and differences of the capacities and is accurate far below these tolerances.
HIGHS_TOLERANCE = 1e-10

#: CBC primal and dual tolerances (its default 1e-7 accepted a flow exceeding a capacity of
#: 9e-8 by 9e-9, and a dual 9e-9 from optimal; tests/lp/test_lp_optimal.py).
CBC_TOLERANCE = 1e-11


class SolverError(RuntimeError):
    """An LP solver did not return an optimal solution (time limit, bad status, ...)."""


@dataclass(frozen=True)
class Solution:
    """What a solver returns: a flow on the edges, dual potentials and the optimal value.

    ``edge_flow`` holds floats, or ``Fraction`` when the solver computed exactly;
    ``set_dual`` (one per draft set) and ``token_dual`` (one per vocabulary token) likewise.
    """

    value: object
    edge_flow: list
    set_dual: list
    token_dual: list


def _edge_tokens(problem: Problem) -> np.ndarray:
    return np.unique(problem.edge_token)


def highs(problem: Problem, time_limit: float | None) -> Solution:
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    n_sets, n_edges = len(problem.sets), problem.edge_set.shape[0]
    tokens = _edge_tokens(problem)
    row_of_token = np.full(problem.vocab, -1, np.int64)
    row_of_token[tokens] = n_sets + np.arange(tokens.shape[0])
    rows = np.concatenate([problem.edge_set, row_of_token[problem.edge_token]])
    cols = np.concatenate([np.arange(n_edges), np.arange(n_edges)])
    a_ub = csr_matrix((np.ones(2 * n_edges), (rows, cols)), shape=(n_sets + tokens.shape[0], n_edges))
    b_ub = np.concatenate([np.asarray(problem.set_mass, dtype=np.float64), np.asarray(problem.p[tokens], dtype=np.float64)])
    options = {
        "primal_feasibility_tolerance": HIGHS_TOLERANCE,
        "dual_feasibility_tolerance": HIGHS_TOLERANCE,
    }
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = linprog(
        -np.ones(n_edges), A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs-ds", options=options
    )
    if res.status != 0 or res.x is None:
        raise SolverError(f"HiGHS did not reach an optimum (status {res.status}): {res.message}")
    duals = -np.asarray(res.ineqlin.marginals, dtype=np.float64)  # minimising -flow
    token_dual = np.zeros(problem.vocab)
    token_dual[tokens] = duals[n_sets:]
    return Solution(
        value=float(-res.fun),
        edge_flow=list(np.asarray(res.x, dtype=np.float64)),
        set_dual=list(duals[:n_sets]),
        token_dual=list(token_dual),
    )


def pulp(problem: Problem, time_limit: float | None) -> Solution:
    import pulp as lp

    model = lp.LpProblem("otm_max_flow", lp.LpMaximize)
    flow = [model.add_variable(f"f{e}", lowBound=0) for e in range(problem.edge_set.shape[0])]
    model += lp.lpSum(flow)
    bounds = np.searchsorted(problem.edge_set, np.arange(len(problem.sets) + 1))
    for s, mass in enumerate(problem.set_mass):
        model += lp.lpSum(flow[bounds[s] : bounds[s + 1]]) <= float(mass), f"set{s}"
    by_token = np.argsort(problem.edge_token, kind="stable")
    tokens = problem.edge_token[by_token]
    starts = np.flatnonzero(np.r_[True, tokens[1:] != tokens[:-1]])
    ends = np.r_[starts[1:], tokens.shape[0]]
    for a, b in zip(starts, ends, strict=True):
        y = int(tokens[a])
        model += lp.lpSum(flow[e] for e in by_token[a:b]) <= float(problem.p[y]), f"tok{y}"
    with warnings.catch_warnings():  # PuLP 3.x flags its bundled CBC as deprecated for 4.0
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = lp.PULP_CBC_CMD(
            msg=False,
            timeLimit=time_limit,
            options=[f"primalTolerance {CBC_TOLERANCE}", f"dualTolerance {CBC_TOLERANCE}"],
        )
        model.solve(solver)
    status = lp.LpStatus[model.status]
    if status != "Optimal" or model.sol_status != lp.LpSolutionOptimal:
        raise SolverError(
            f"CBC (through PuLP) did not reach an optimum: status {status!r}, "
            f"solution status {lp.LpSolution.get(model.sol_status, model.sol_status)!r}"
        )
    edge_flow = [float(v.varValue or 0.0) for v in flow]
    set_dual = [_dual(model, f"set{s}") for s in range(len(problem.sets))]
    token_dual = [0.0] * problem.vocab
    for y in np.unique(tokens):
        token_dual[int(y)] = _dual(model, f"tok{int(y)}")
    # CBC prints its solution with 8 significant digits, so its primal objective is only
    # good to ~1e-8. The optimal dual of this totally unimodular LP is a 0/1 cut, which
    # those digits carry exactly: report the dual objective of CBC's potentials (clipped
    # to [0, 1], u made the smallest feasible), an upper bound on alpha* by weak duality
    # and equal to it when CBC's dual is optimal.
    v = np.clip(np.asarray(token_dual), 0.0, 1.0)
    u = [max(0.0, 1.0 - min(v[y] for y in s)) for s in problem.sets]
    value = float(np.dot(np.asarray(problem.set_mass, dtype=np.float64), u)) + float(
        np.dot(np.asarray(problem.p, dtype=np.float64), v)
    )
    return Solution(value=value, edge_flow=edge_flow, set_dual=set_dual, token_dual=token_dual)


def _dual(model, name: str) -> float:
    return float(model.get_constraint_by_name(name).pi or 0.0)


def _zeta(values: np.ndarray, n: int) -> np.ndarray:
    """Subset sums: ``out[B] = sum of values[m] over masks m contained in B``."""
    out = values.copy()
    for i in range(n):
        view = out.reshape(-1, 2, 1 << i)
        view[:, 1, :] += view[:, 0, :]
    return out


def mincut(problem: Problem, time_limit: float | None = None) -> Solution:
    """Brute-force min cut (exact integers on the exact path) plus an exact max flow."""
    del time_limit  # the enumeration is bounded by MINCUT_MAX_TOKENS instead
    members = _edge_tokens(problem)
    free = [int(y) for y in members if problem.p[y] == 0]  # always inside an optimal cut
    bits = [int(y) for y in members if problem.p[y] > 0]
    n = len(bits)
    if n > MINCUT_MAX_TOKENS:
        raise ValueError(
            f"solver='mincut' enumerates 2**n cuts over the n tokens that occur in a draft set "
            f"and have p > 0; here n = {n} > MINCUT_MAX_TOKENS={MINCUT_MAX_TOKENS}. "
            "Use solver='highs' or 'pulp'"
        )
    bit_of = {y: i for i, y in enumerate(bits)}
    masks = np.array(
        [sum(1 << bit_of[y] for y in s if y in bit_of) for s in problem.sets], dtype=np.int64
    )
    set_q, p_exact = rational(problem)
    if problem.exact:
        scale = lcm(*(x.denominator for x in set_q), *(p_exact[y].denominator for y in bits))
        dtype = np.int64 if scale < 2**60 else object
        inside = np.zeros(1 << n, dtype=dtype)
        np.add.at(inside, masks, np.array([int(x * scale) for x in set_q], dtype=dtype))
        single = np.zeros(1 << n, dtype=dtype)
        single[[1 << i for i in range(n)]] = np.array([int(p_exact[y] * scale) for y in bits], dtype=dtype)
        total = scale
    else:
        inside = np.zeros(1 << n)
        np.add.at(inside, masks, np.asarray(problem.set_mass, dtype=np.float64))
        single = np.zeros(1 << n)
        single[[1 << i for i in range(n)]] = problem.p[bits]
        total = float(np.sum(problem.set_mass))
    cut_values = _zeta(single, n) + total - _zeta(inside, n)
    best = int(np.argmin(cut_values))
    value = Fraction(int(cut_values[best]), scale) if problem.exact else float(cut_values[best])
    cut = frozenset(free + [y for i, y in enumerate(bits) if best >> i & 1])
    flow = max_flow(set_q, p_exact, problem.edge_set, problem.edge_token)
    if problem.exact:
        assert flow.value == value, "max flow differs from the brute-force min cut"
    convert = problem.scalar
    one, zero = convert(1), convert(0)
    return Solution(
        value=value,
        edge_flow=[convert(f) for f in flow.edge_flow],
        set_dual=[zero if set(s) <= cut else one for s in problem.sets],
        token_dual=[one if y in cut else zero for y in range(problem.vocab)],
    )


SOLVERS = {"highs": highs, "pulp": pulp, "mincut": mincut}
