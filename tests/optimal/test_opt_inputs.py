"""Bad input to specsample.optimal raises a clear ValueError/TypeError naming the argument.

The checks shared with every scheme (probability vectors, shapes, uniforms, Fractions) live
in ``specsample._checks`` and are exercised for every registered scheme by the core suite;
here: what is specific to the two optimal schemes.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from specsample import SCHEMES
from specsample.optimal import iid, wor

F = Fraction
P = np.array([0.1, 0.2, 0.3, 0.4, 0.0])
Q = np.array([0.4, 0.3, 0.2, 0.1, 0.0])


def rng():
    return np.random.default_rng(0)


def test_registered_after_the_seed_schemes():
    names = list(SCHEMES)
    assert names[-2:] == ["opt_iid", "opt_wor"] and SCHEMES["opt_iid"] is iid
    assert iid.MAX_K == 8 and wor.MAX_K == 2


@pytest.mark.parametrize(("module", "k"), [(iid, 9), (wor, 3)])
def test_k_above_max_k(module, k):
    pattern = rf"supports k <= {module.MAX_K}.*k={k}"
    for call in (lambda: module.draft(Q, k, rng=rng()),
                 lambda: module.draft_law(Q, k),
                 lambda: module.acceptance_rate(P, Q, k),
                 lambda: module.selection_law(P, Q, k),
                 lambda: module.verify(P, Q, np.zeros(k, np.int64), rng=rng())):
        with pytest.raises(ValueError, match=pattern):
            call()


def test_without_replacement_needs_two_tokens_of_the_draft():
    point = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    for call in (lambda: wor.draft(point, 2, rng=rng()),
                 lambda: wor.acceptance_rate(P, point, 2),
                 lambda: wor.certificate(P, point),
                 lambda: wor.falls_back(P, point)):
        with pytest.raises(ValueError, match=r"\bq\b.*positive probability to at least 2"):
            call()


def test_without_replacement_refuses_repeated_drafts():
    with pytest.raises(ValueError, match=r"opt_wor drafts are distinct tokens.*\(1, 1\)"):
        wor.verify(P, Q, [1, 1], rng=rng())
    with pytest.raises(ValueError, match=r"distinct tokens"):
        wor.output_law(P, Q, [2, 2])


@pytest.mark.parametrize("module", [iid, wor])
def test_draft_with_q_zero(module):
    with pytest.raises(ValueError, match=r"drafts\[1\] = 4 has q = 0"):
        module.verify(P, Q, [0, 4], rng=rng())
    with pytest.raises(ValueError, match=r"drafts\[1\] = 4 has q = 0"):
        module.output_law(P, Q, [0, 4])


def test_falls_back_checks_its_arguments():
    with pytest.raises(ValueError, match=r"p has 5 tokens but q has 4"):
        wor.falls_back(P, Q[:4] / Q[:4].sum())
    with pytest.raises(ValueError, match=r"\bp has 2 rows but the other has 3"):
        wor.falls_back(np.stack([P, P]), np.stack([Q, Q, Q]))
    with pytest.raises(ValueError, match=r"\bq\b.*sums to"):
        wor.falls_back(P, Q * 2)
    with pytest.raises(TypeError, match=r"\bq\b"):
        wor.falls_back(P, "q")


def test_falls_back_and_certificate_shapes():
    assert wor.falls_back(P, Q) is False
    out = wor.falls_back(np.stack([P, P, P]), Q)
    assert out.dtype == bool and out.shape == (3,) and not out.any()
    c = wor.certificate(P, Q)
    assert c.holds and c.worst_slack >= -c.tolerance
    exact = wor.certificate([F(1, 10), F(2, 10), F(3, 10), F(4, 10)], [F(1, 4)] * 4)
    assert exact.holds and isinstance(exact.worst_slack, Fraction) and exact.tolerance == 0


@pytest.mark.parametrize("module", [iid, wor])
def test_fraction_and_float_mix_is_refused(module):
    with pytest.raises(TypeError, match=r"\bp and q must both be Fraction vectors"):
        module.selection_law([F(1, 2), F(1, 2)], [0.5, 0.5], 2)


@pytest.mark.parametrize("module", [iid, wor])
def test_arguments_are_not_modified(module):
    p, q = np.stack([P, P]), np.stack([Q, Q])
    drafts = np.array([[0, 1], [2, 3]])
    u = np.full((2, 3), 0.999)
    copies = [x.copy() for x in (p, q, drafts, u)]
    module.verify(p, q, drafts, uniforms=u)
    module.verify(p[0], q[0], drafts[0], uniforms=u[0])
    module.output_law(p[0], q[0], drafts[0])
    module.acceptance_rate(p[0], q[0], 2)
    module.selection_law(p[0], q[0], 2)
    for before, after in zip(copies, (p, q, drafts, u), strict=True):
        np.testing.assert_array_equal(before, after)
