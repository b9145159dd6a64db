"""The float64 law path against the exact path.

``draft_law``, ``output_law`` and ``acceptance_rate`` run in float64 on float input and in
rational arithmetic on ``Fraction`` input. Given the same instance both ways, they must
agree to about 1e-12; on their own, float output laws are probability vectors and
acceptance rates lie in [0, 1], for tiny (1e-12) entries, point masses and float32 input too.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import exact_twin, examples, float_probs, rational_pairs

from specsample import SCHEMES

#: The library must not warn (0/0, overflow) on valid input: warnings fail these tests.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

#: Agreement between the float64 and the exact path, absolute, on values in [0, 1].
ATOL = 1e-12

#: K-SEQ's two paths find rho by bisection to different widths (float: relative RHO_RTOL,
#: exact: EXACT_RHO_WIDTH), so their laws may differ by a small multiple of those widths
#: (1.2e-12 seen on a residual of mass 1e-12): the K-SEQ comparisons allow 10 times them.
KSEQ_ATOL = 10 * float(SCHEMES["kseq"].RHO_RTOL * 3 + SCHEMES["kseq"].EXACT_RHO_WIDTH)

DISTINCT = {"rrsw", "spechub", "opt_wor"}
CASES = [
    (name, k)
    for name, module in SCHEMES.items()
    for k in range(1, (3 if module.MAX_K is None else min(module.MAX_K, 3)) + 1)
]


def _need(name: str, k: int) -> int:
    return k if name in DISTINCT else 1


def _floats(x) -> np.ndarray:
    return np.array([float(v) for v in x], dtype=np.float64)


def assert_paths_agree(module, k: int, p_float, q_float, p_exact, q_exact, *,
                       joint: bool = False) -> None:
    """Every law of the float instance within ATOL of the exact instance's.

    ``joint=True`` compares ``Q(x) output_law(x)`` (the joint law of drafts and output)
    instead of the output law given ``x``: given a draft tuple of probability ~1e-22 K-SEQ's
    residual has total mass ~1e-23, a difference of O(1) numbers no float path resolves,
    while the joint law (what exactness is about) still agrees to ATOL.
    """
    atol = KSEQ_ATOL if module.NAME == "kseq" else ATOL
    exact_law = module.draft_law(q_exact, k)
    float_law = module.draft_law(q_float, k)
    assert set(float_law) == set(exact_law)
    for x, prob in exact_law.items():
        assert isinstance(float_law[x], float)
        assert abs(float_law[x] - float(prob)) <= ATOL, x
        out = module.output_law(p_float, q_float, x)
        assert out.dtype == np.float64 and out.shape == (len(p_exact),)
        want = _floats(module.output_law(p_exact, q_exact, x))
        if joint:
            out, want = float_law[x] * out, float(prob) * want
        np.testing.assert_allclose(out, want, rtol=0, atol=atol, err_msg=f"drafts {x}")
    rate = module.acceptance_rate(p_float, q_float, k)
    assert isinstance(rate, float)
    assert abs(rate - float(module.acceptance_rate(p_exact, q_exact, k))) <= atol


@pytest.mark.parametrize(("name", "k"), CASES)
@settings(max_examples=examples(0.5))
@given(data=st.data())
def test_float_path_matches_exact_path_on_rational_instances(name, k, data):
    p, q = data.draw(rational_pairs(need=_need(name, k), max_size=5), label="p, q")
    assert_paths_agree(SCHEMES[name], k, _floats(p), _floats(q), p, q)


#: Kinds with the hard cases: 1e-12 entries, tiny Dirichlet mass, zeros, point masses.
HARD_KINDS = ("tiny", "peaked", "sparse", "point", "ties")


@pytest.mark.parametrize(("name", "k"), CASES)
@settings(max_examples=examples(0.3))
@given(data=st.data())
def test_float_path_matches_exact_path_on_tiny_and_float32_inputs(name, k, data):
    """The float vector (float32 upcast as given) against its exact rational reading."""
    v = data.draw(st.integers(max(_need(name, k), 1), 4), label="V")
    p = data.draw(float_probs(v, kinds=HARD_KINDS), label="p")
    q = data.draw(float_probs(v, kinds=HARD_KINDS, need=_need(name, k)), label="q")
    assert_paths_agree(SCHEMES[name], k, p, q, exact_twin(p), exact_twin(q), joint=True)


@pytest.mark.parametrize(("name", "k"), CASES)
@given(data=st.data())
def test_float_output_law_is_a_distribution_and_acceptance_in_unit_interval(name, k, data):
    module = SCHEMES[name]
    v = data.draw(st.integers(max(_need(name, k), 1), 60), label="V")
    p = data.draw(float_probs(v), label="p")
    q = data.draw(float_probs(v, need=_need(name, k)), label="q")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    drafts = module.draft(q, k, rng=np.random.default_rng(seed))
    out = module.output_law(p, q, drafts)
    assert out.shape == (v,) and out.dtype == np.float64
    assert np.all(out >= 0)
    # exactly 0 where p = 0 (see test_spechub_rounding_guard_outputs_the_hub_with_p_zero)
    assert np.all(out[np.asarray(p) == 0] == 0.0)
    assert abs(out.sum() - 1.0) <= ATOL
    rate = module.acceptance_rate(p, q, k)
    # strictly in [0, 1]: see test_acceptance_rate_is_outside_unit_interval below
    assert 0.0 <= rate <= 1.0


@pytest.mark.parametrize(("name", "k"), CASES)
def test_tiny_probabilities_1e_12(name, k):
    """Entries of 1e-12 beside ordinary ones, in both p and q, both float64 and float32."""
    p = np.array([1e-12, 0.5, 0.25 - 1e-12, 0.25, 0.0])
    q = np.array([0.3, 1e-12, 0.2, 0.5 - 1e-12, 0.0])
    for dtype in (np.float64, np.float32):
        pd, qd = p.astype(dtype), q.astype(dtype)
        assert_paths_agree(SCHEMES[name], k, pd, qd, exact_twin(pd), exact_twin(qd), joint=True)


# ---------------------------------------------------------------- known float-path bugs
def test_rrs_acceptance_rate_is_nan_when_p_equals_q():
    """RRS's float acceptance_rate returned NaN for p = q = (0.6, 0.3, 0.1), k = 2: the first
    step's sum of min(p, q) rounds to 1 + 2.2e-16, so the rejection probability is -2.2e-16,
    not 0, and the loop goes on to normalise the all-zero residual."""
    p = np.array([0.6, 0.3, 0.1])
    with np.errstate(invalid="ignore"):
        rate = SCHEMES["rrs"].acceptance_rate(p, p, 2)
    assert rate == 1.0


@pytest.mark.parametrize(("name", "k"), [("rrs", 1), ("rrsw", 2)])
def test_acceptance_rate_warns_0_over_0_when_p_equals_q(name, k):
    """acceptance_rate(p, p, k) for p = (0.6, 0.3, 0.1) raised numpy's 'invalid value
    encountered in divide' RuntimeWarning (an error here, by pytestmark) although the rate
    itself is 1 (up to the rounding of the test above)."""
    p = np.array([0.6, 0.3, 0.1])
    assert SCHEMES[name].acceptance_rate(p, p, k) >= 1.0 - 1e-15


@pytest.mark.parametrize(("name", "k", "p", "q"), [
    ("single", 1, [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
    ("rrs", 1, [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
    ("rrsw", 1, [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
    ("spechub", 1, [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
    ("kseq", 1, [0.6, 0.3, 0.1], [0.6, 0.3, 0.1]),
    ("rrsw", 2, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0], [0.1, 0.3, 0.3, 0.2, 0.1, 0.0]),
])
def test_acceptance_rate_is_outside_unit_interval(name, k, p, q):
    """acceptance_rate(p, p, 1) returned 1.0000000000000002 for p = (0.6, 0.3, 0.1) (the
    float sum of the normalised row rounds above 1), and RRSw's k = 2 rate for these
    disjoint supports returned -2.2e-16 (1 minus a sum that rounds to 1); nothing clamps
    the result."""
    with np.errstate(invalid="ignore"):
        rate = SCHEMES[name].acceptance_rate(np.array(p), np.array(q), k)
    assert 0.0 <= rate <= 1.0


def test_spechub_rounding_guard_outputs_the_hub_with_p_zero():
    """p = (0, 1), q = (0.8, 0.2), drafts (0, 1) (hub first): the draft test accepts token 1
    with probability p1(1)/w(1), which rounds to just below 1; with u = 1 - 2**-53 it
    rejects, the hub test (p(0) = 0) rejects, the residual is all zero, and the guard
    returned token 0, which p gives probability 0 (output_law likewise put 1.1e-16 on it
    for q = (0.7, 0.3)). The guard could return the other draft, which has p > 0."""
    spechub = SCHEMES["spechub"]
    p, q = np.array([0.0, 1.0]), np.array([0.8, 0.2])
    u = np.full(3, np.nextafter(1.0, 0.0))
    assert spechub.verify(p, q, [0, 1], uniforms=u).token == 1
    assert spechub.verify(p, q, [[0, 1]], uniforms=u[None]).token[0] == 1
    assert spechub.output_law(p, np.array([0.7, 0.3]), [0, 1])[0] == 0.0


@pytest.mark.parametrize("k", [2, 3])
def test_kseq_float_rho_is_not_one_when_p_equals_q(k):
    """For p = q, g(rho) = -(1 - 1/rho)^k <= 0 everywhere, so rho = 1 and every draft is
    accepted. The float path got rho = 1 + 7.5e-9 (k = 2) and 1 + 3.8e-6 (k = 3) for this
    float32 vector (normalised sum 1 - 1.1e-16), and an output law 7.5e-9 off the exact one.
    Computing the deficit 1 - beta directly, as sum (q - p/rho)+, removes the cancellation."""
    p = np.array([0.67537993, 0.14890812, 0.17571193], dtype=np.float32)
    kseq = SCHEMES["kseq"]
    assert kseq.rho_star(p, p, k) == 1.0
    np.testing.assert_allclose(kseq.output_law(p, p, [0, 1] + [2] * (k - 2)), [1.0, 0.0, 0.0],
                               rtol=0, atol=ATOL)
