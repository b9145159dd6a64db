"""optimal_acceptance: three solvers agree, plans are optimal couplings, certificates check."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lp_strategies import exact_pair, float_pair, rational_vector, user_law
from specsample.lp import (
    MINCUT_MAX_TOKENS,
    SolverError,
    hub_draft_law,
    optimal_acceptance,
    ot_bound,
)

from specsample import rrs, rrsw, spechub

AGREE = 1e-9
LAWS = ("iid", "without_replacement", "hub", "user")


def named_law(kind: str, q, k: int):
    if kind == "iid":
        return rrs.draft_law(q, k)
    if kind == "without_replacement":
        return rrsw.draft_law(q, k)
    return hub_draft_law(q, k)


def coupling_errors(res, p) -> tuple[float, float]:
    rows = {t: 0.0 for t in res.draft_law}
    cols = np.zeros(len(p))
    for (t, y), m in res.plan.items():
        rows[t] += float(m)
        cols[y] += float(m)
    row_err = max(abs(rows[t] - float(res.draft_law[t])) for t in rows)
    return row_err, float(np.abs(cols - np.asarray(p, dtype=float)).max())


# ---------------------------------------------------------------- exact tier
@given(exact_pair(max_vocab=5), st.sampled_from(LAWS), st.data())
def test_mincut_exact_plan_is_an_optimal_coupling(pair, kind, data):
    p, q, k = pair
    law = data.draw(user_law(len(p))) if kind == "user" else named_law(kind, q, k)
    res = optimal_acceptance(p, law, solver="mincut")
    assert res.exact and isinstance(res.value, Fraction)
    rows = dict.fromkeys(res.draft_law, Fraction(0))
    cols = [Fraction(0)] * len(p)
    accepted = Fraction(0)
    for (t, y), m in res.plan.items():
        assert m > 0
        rows[t] += m
        cols[y] += m
        accepted += m if y in t else 0
    assert rows == dict(res.draft_law)
    assert cols == list(p)
    assert accepted == res.value
    mixture = sum(res.draft_law[t] * res.verifier(t) for t in res.draft_law)
    assert list(mixture) == list(p)
    check = res.check(exact=True)
    assert check.ok and check.gap == 0 and check.optimum == res.value and check.value_error == 0


@given(exact_pair(max_vocab=6), st.sampled_from(LAWS[:3]))
def test_named_laws_mincut_equals_closed_form_exactly(pair, kind):
    p, q, k = pair
    assert optimal_acceptance(p, named_law(kind, q, k), solver="mincut").value == ot_bound(
        p, q, k, drafts=kind
    ).value


# ---------------------------------------------------------------- float tier
@given(float_pair(max_vocab=7), st.sampled_from(LAWS), st.data())
def test_three_solvers_and_closed_form_agree(pair, kind, data):
    p, q, k = pair
    if kind == "user":
        law = {t: float(m) for t, m in data.draw(user_law(len(p))).items()}
    else:
        law = named_law(kind, q, k)
    values = {s: optimal_acceptance(p, law, solver=s).value for s in ("highs", "pulp", "mincut")}
    if kind != "user":
        values["closed-form"] = ot_bound(p, q, k, drafts=kind).value
    spread = max(values.values()) - min(values.values())
    assert spread <= AGREE, values


@given(float_pair(max_vocab=6), st.sampled_from(LAWS[:3]))
def test_highs_certificate_checks_exactly(pair, kind):
    p, q, k = pair
    res = optimal_acceptance(p, named_law(kind, q, k), solver="highs")
    check = res.check(exact=True)
    assert check.ok, check
    assert check.lower <= check.optimum <= check.upper
    row_err, col_err = coupling_errors(res, p)
    assert row_err <= AGREE and col_err <= AGREE
    mixture = sum(float(res.draft_law[t]) * res.verifier(t) for t in res.draft_law)
    np.testing.assert_allclose(mixture, p, rtol=0, atol=AGREE)


@given(float_pair(max_vocab=5, max_k=2))
def test_pulp_certificate_checks_within_cbc_precision(pair):
    """CBC prints its solution with 8 significant digits: the dual (a 0/1 cut) is exact, the
    primal is good to ~1e-8, so the exact check passes at tol 1e-7 (and the value at 1e-9)."""
    p, q, k = pair
    res = optimal_acceptance(p, rrs.draft_law(q, k), solver="pulp")
    check = res.check(exact=True, tol=1e-7)
    assert check.ok, check
    assert check.value_error <= AGREE


def test_float_check_without_exact_completion():
    p = np.array([0.5, 0.3, 0.2])
    q = np.array([0.2, 0.2, 0.6])
    check = optimal_acceptance(p, rrs.draft_law(q, 2)).check(exact=False)
    assert check.ok and check.optimum is None and isinstance(check.gap, float)


def test_callable_law_is_enumerated():
    q = np.array([0.5, 0.25, 0.25])
    p = np.array([0.2, 0.2, 0.6])
    res = optimal_acceptance(p, lambda t: q[t[0]] * q[t[1]], k=2)
    assert abs(res.value - ot_bound(p, q, 2).value) <= AGREE


# ---------------------------------------------------------------- SpecHub reaches the optimum
#: SpecHub's closed-form acceptance against the LP optimum of its own draft law (float path).
SPECHUB_AGREE = 1e-12


@pytest.mark.parametrize("k", [2, 3, 4])
@given(data=st.data())
def test_spechub_acceptance_is_the_lp_optimum_of_its_own_draft_law(k, data):
    """spechub.acceptance_rate(p, q, k) == ot_bound(..., drafts="hub") == the LP optimum of
    spechub.draft_law(q, k): exactly in Fractions (min-cut solver); in floats within 1e-12 of
    the optimum that HiGHS's certificate proves exactly (the float law read as rationals),
    and within AGREE of HiGHS's own value (which can sit 1e-12 above 1), also when one
    entry of q is 1e-12 of the others."""
    vocab = data.draw(st.integers(k, 7), label="V")
    p = data.draw(rational_vector(vocab), label="p")
    q = data.draw(rational_vector(vocab, min_support=k), label="q")
    rate = spechub.acceptance_rate(p, q, k)
    assert rate == ot_bound(p, q, k, drafts="hub").value
    assert rate == optimal_acceptance(p, spechub.draft_law(q, k), solver="mincut").value
    pf, qf = np.array([float(v) for v in p]), np.array([float(v) for v in q])
    if data.draw(st.booleans(), label="tiny entry") and np.count_nonzero(qf) > k:
        qf[int(np.flatnonzero(qf)[-1])] *= 1e-12
        qf /= qf.sum()
    rate = spechub.acceptance_rate(pf, qf, k)
    assert abs(rate - ot_bound(pf, qf, k, drafts="hub").value) <= SPECHUB_AGREE
    res = optimal_acceptance(pf, spechub.draft_law(qf, k), solver="highs")
    check = res.check(exact=True)
    assert check.ok, check
    assert abs(rate - float(check.optimum)) <= SPECHUB_AGREE
    assert abs(rate - res.value) <= AGREE


@pytest.mark.parametrize("k", [2, 3, 4])
@given(data=st.data())
def test_hub_draft_law_is_spechub_draft_law_as_a_set_law(k, data):
    """lp.hub_draft_law (one order per set) and spechub.draft_law (k orders per set) give
    every draft set the same probability, exactly and in float64."""
    vocab = data.draw(st.integers(k, 7), label="V")
    q = data.draw(rational_vector(vocab, min_support=k), label="q")
    qf = np.array([float(v) for v in q])
    for arg, zero in ((q, Fraction(0)), (qf, 0.0)):
        sets = []
        for law in (hub_draft_law(arg, k), spechub.draft_law(arg, k)):
            by_set = {}
            for t, m in law.items():
                by_set[frozenset(t)] = by_set.get(frozenset(t), zero) + m
            sets.append(by_set)
        assert sets[0].keys() == sets[1].keys()
        for key, m in sets[0].items():
            if isinstance(zero, Fraction):
                assert m == sets[1][key]
            else:
                assert abs(m - sets[1][key]) <= 1e-15


# ---------------------------------------------------------------- degenerate inputs
@pytest.mark.parametrize("solver", ["highs", "pulp", "mincut"])
def test_degenerate_instances(solver):
    point = np.array([0.0, 1.0, 0.0])
    spread = np.array([0.2, 0.3, 0.5])
    cases = [
        (point, point, {(1,): 1.0}, 1.0),  # point masses, p = q
        (spread, spread, rrs.draft_law(spread, 2), 1.0),  # p = q: accept the first draft
        (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.5, 0.5]), rrs.draft_law([0.0, 0.5, 0.5], 2), 0.0),
        (point, spread, {(0, 2): 0.5, (1,): 0.5}, 0.5),  # disjoint except one tuple
    ]
    for p, _, law, expected in cases:
        assert abs(optimal_acceptance(p, law, solver=solver).value - expected) <= AGREE


def test_max_flow_form_handles_probabilities_near_1e12():
    """Regression: the equality-form LP was reported infeasible by HiGHS with probabilities
    near 1e-10 (THEORY section 6). The max-flow form must solve it and certify it."""
    p = np.array([1 - 3e-12, 1e-12, 1e-12, 1e-12])
    q = np.array([1e-12, 1 - 2e-12, 5e-13, 5e-13])
    for law in (rrs.draft_law(q, 2), rrsw.draft_law(q, 2), spechub.draft_law(q, 2)):
        values = [optimal_acceptance(p, law, solver=s).value for s in ("highs", "pulp", "mincut")]
        assert max(values) - min(values) <= AGREE
        assert optimal_acceptance(p, law, solver="highs").check(exact=True).ok


# ---------------------------------------------------------------- failures and bad input
def test_time_limit_raises_solver_error():
    q = np.full(60, 1 / 60)
    p = np.linspace(1, 2, 60) / np.linspace(1, 2, 60).sum()
    with pytest.raises(SolverError, match="HiGHS"):
        optimal_acceptance(p, rrs.draft_law(q, 2), time_limit=1e-9)


def test_mincut_refuses_large_vocabulary():
    n = MINCUT_MAX_TOKENS + 1
    q = np.full(n, 1 / n)
    with pytest.raises(ValueError, match="MINCUT_MAX_TOKENS"):
        optimal_acceptance(q, rrs.draft_law(q, 1), solver="mincut")


@pytest.mark.parametrize(
    ("law", "kwargs", "error", "match"),
    [
        ({(0,): 0.5, (1,): 0.6}, {}, ValueError, "draft_law sums to"),
        ({(0,): -0.5, (1,): 1.5}, {}, ValueError, "finite and >= 0"),
        ({(0,): float("nan"), (1,): 1.0}, {}, ValueError, "finite and >= 0"),
        ({(0, 5): 1.0}, {}, ValueError, "outside"),
        ({(): 1.0}, {}, ValueError, "empty tuple"),
        ({"ab": 1.0}, {}, TypeError, "tuples of token ids"),
        ({(0.0,): 1.0}, {}, TypeError, "not an integer token id"),
        ({}, {}, ValueError, "draft_law is empty"),
        ([((0,), 1.0)], {}, TypeError, "mapping"),
        (lambda t: 0.5, {}, TypeError, "needs k="),
        ({(0,): 1.0}, {"solver": "cplex"}, ValueError, "solver must be one of"),
        ({(0,): 1.0}, {"time_limit": -1}, ValueError, "time_limit"),
        ({(0,): 1.0}, {"k": 2}, TypeError, "only used with a callable"),
    ],
)
def test_bad_draft_law(law, kwargs, error, match):
    with pytest.raises(error, match=match):
        optimal_acceptance(np.array([0.5, 0.5]), law, **kwargs)


def test_bad_target_and_mixed_types():
    with pytest.raises(ValueError, match="p sums to"):
        optimal_acceptance(np.array([0.5, 0.6]), {(0,): 1.0})
    with pytest.raises(TypeError, match="do not mix"):
        optimal_acceptance([Fraction(1, 2), Fraction(1, 2)], {(0,): 1.0})
    with pytest.raises(ValueError, match="not exactly 1"):
        optimal_acceptance([Fraction(1, 2), Fraction(1, 2)], {(0,): Fraction(1, 3)})


def test_verifier_rejects_unknown_tuple():
    res = optimal_acceptance(np.array([0.5, 0.5]), {(0,): 1.0})
    with pytest.raises(ValueError, match="probability 0"):
        res.verifier((1,))


def test_cbc_default_tolerance_accepted_a_9e_9_overflow():
    """Regression: with CBC's default tolerances (1e-7) PuLP returned a flow exceeding a
    token capacity of 9.09e-8 by 9e-9, and a dual 9e-9 above the optimum (found by
    hypothesis). CBC_TOLERANCE = 1e-11 fixes both."""
    p = np.array([0.0, 0.0, 9.09090826e-02, 9.09090826e-01, 9.09090826e-08])
    q = np.array([0.0, 0.0, 0.0, 9.999999e-01, 9.999999e-08])
    p, q = p / p.sum(), q / q.sum()
    res = optimal_acceptance(p, rrs.draft_law(q, 1), solver="pulp")
    assert abs(res.value - float(np.minimum(p, q).sum())) <= AGREE
    (into_4,) = [m for (t, y), m in res.plan.items() if y == 4 and y in t]
    assert into_4 <= p[4] * (1 + 1e-7)  # was p[4] + 9e-9; 8 printed digits leave ~1e-15
