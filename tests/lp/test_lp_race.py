"""The without-replacement race quadrature (k >= 3) against exact values and finer grids."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lp_strategies import rational_vector
from specsample.lp import _race, ot_bound
from specsample.lp import bounds as lp_bounds


@given(st.integers(4, 8).flatmap(lambda v: st.tuples(rational_vector(v), rational_vector(v, 4))), st.sampled_from([3, 4]))
def test_race_matches_exact_enumeration(pair, k):
    p, q = pair
    exact = ot_bound(p, q, k, drafts="without_replacement")
    approx = ot_bound(
        np.array([float(v) for v in p]), np.array([float(v) for v in q]), k, drafts="without_replacement"
    )
    assert approx.method == "race-quadrature" and exact.method == "closed-form"
    assert abs(approx.value - float(exact.value)) <= 1e-12
    assert approx.quadrature_check <= _race.QUADRATURE_TOL


def zipf_pair(vocab: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = 1.0 / (rng.permutation(vocab) + 1.0) ** 1.1
    p /= p.sum()
    q = p * np.exp(rng.normal(0.0, 1.0, vocab))
    return p, q / q.sum()


@pytest.mark.parametrize("k", [3, 4])
def test_race_agrees_with_a_four_times_finer_grid(k):
    p, q = zipf_pair(20000, seed=k)
    bound = ot_bound(p, q, k, drafts="without_replacement")
    order = np.argsort(np.divide(p, q))
    qo = np.ascontiguousarray(q[order])
    c = lp_bounds._suffix(qo)
    t, w = _race.nodes(float(np.sort(q)[-k]), k, refine=4)
    fine, _ = _race.prefix_integrals(qo, c, k, t, w)
    j = bound.cut.shape[0]
    fine_value = float(np.sum(p[order[:j]])) + c[j] * fine[j]
    assert abs(bound.value - fine_value) <= 1e-11
    # the bound lies between the i.i.d. bound and 1 (W without replacement <= q(T)^k)
    assert ot_bound(p, q, k).value - 1e-12 <= bound.value <= 1.0


def test_failed_control_raises(monkeypatch):
    """If the k = 2 control of the quadrature fails even after refinement, refuse."""
    monkeypatch.setattr(_race, "QUADRATURE_TOL", -1.0)
    p, q = zipf_pair(50, seed=0)
    with pytest.raises(ArithmeticError, match="control"):
        ot_bound(p, q, 3, drafts="without_replacement")


def test_exact_path_k4_is_exact():
    q = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 16), Fraction(1, 16)]
    p = [Fraction(1, 5)] * 5
    bound = ot_bound(p, q, 4, drafts="without_replacement")
    assert isinstance(bound.value, Fraction) and bound.method == "closed-form"
