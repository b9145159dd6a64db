"""SpecHub with k >= 3 drafts: what the registry-driven tests do not single out.

The exact, float-law, parity, input and statistical tiers cover ``spechub`` at k = 3, 4
through :data:`specsample.SCHEMES` (``MAX_K = None``). Here: the two hub finders agree with
each other and with the definition (ties to the smallest id); the uniform layout (which
uniforms are consumed); hub outputs of the residual draw are reported as accepted drafts;
``1 - q(A)`` tiny; the rounding guard; ``k = 2`` drafting equals the paper's rule spelled out.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOAT_KINDS, exact_twin, make_float_probs

from specsample import Verdict, spechub
from specsample._checks import probs

#: Float-path warnings (an overflow in q(a) / R, 0/0) would be bugs: they fail these tests.
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

F = Fraction
BELOW_ONE = np.nextafter(1.0, 0.0)


def hubs_by_definition(q, n: int) -> list[int]:
    """The n largest entries of q, descending, ties to the smallest id (a full sort)."""
    return sorted(range(len(q)), key=lambda i: (-q[i], i))[:n]


# ---------------------------------------------------------------- hubs
@given(seed=st.integers(0, 2**32 - 1), v=st.integers(2, 80), n=st.integers(1, 6),
       rows=st.integers(1, 5))
def test_hub_finders_agree_with_the_definition(seed, v, n, rows):
    """The numba kernel (used on both paths) and a full sort give the same ordered hubs, on
    rows with many ties (values rounded to a few levels) and zeros; V up to 80 spans several
    blocks of LANES tokens."""
    n = min(n, v)
    rng = np.random.default_rng(seed)
    q = np.stack([make_float_probs(rng.choice(FLOAT_KINDS), v, rng) for _ in range(rows)])
    q[: rows // 2] = np.round(q[: rows // 2] * 4) / 4  # ties and zeros
    kernel = spechub._top_rows(q, n)
    for r in range(rows):
        want = hubs_by_definition(q[r], n)
        assert kernel[r].tolist() == want


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_hub_finder_on_ordered_and_tied_rows(n):
    """Increasing rows (every block beats the threshold), decreasing, constant (all ties: the
    first n ids), and a row of few distinct values at V = 1000 (ties across blocks)."""
    v = 1000
    rows = np.stack([
        np.arange(1, v + 1, dtype=float),
        np.arange(v, 0, -1, dtype=float),
        np.ones(v),
        np.random.default_rng(n).integers(0, 5, v).astype(float),
    ])
    rows /= rows.sum(axis=1, keepdims=True)
    kernel = spechub._top_rows(rows, n)
    for r in range(rows.shape[0]):
        assert kernel[r].tolist() == hubs_by_definition(rows[r], n)
    assert kernel[2].tolist() == list(range(n))


def test_hub_ties_go_to_the_smallest_index():
    q = np.array([0.1, 0.3, 0.1, 0.3, 0.2])
    law = spechub.draft_law(q, 3)
    assert all(set(x) >= {1, 3} for x in law)  # hubs (1, 3): the tie at 0.3, in id order
    assert (0, 1, 3) in law and (3, 1, 0) in law and (1, 3, 4) in law
    spechub.verify(np.full(5, 0.2), q, [2, 1, 3], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(2, 3, 1\) is outside.*A=\(1, 3\)"):
        spechub.verify(np.full(5, 0.2), q, [2, 3, 1], rng=np.random.default_rng(0))


@pytest.mark.parametrize("drafts", [
    [2, 0, 1], [0, 1, 3], [1, 0, 2],  # in the law (hubs 0, 1 of Q)
])
def test_tuples_of_the_law_are_accepted(drafts):
    q = np.array([0.4, 0.3, 0.2, 0.1])
    assert tuple(drafts) in spechub.draft_law(q, 3)
    spechub.verify(np.full(4, 0.25), q, drafts, rng=np.random.default_rng(0))


@pytest.mark.parametrize("drafts", [
    [2, 1, 0],  # hubs out of order
    [0, 2, 1],  # hub first, but the non-hub not last
    [0, 1, 0],  # a hub twice
    [2, 3, 0],  # only one hub
    [0, 1, 1],
])
def test_tuples_outside_the_law_name_the_tuple(drafts):
    q = np.array([0.4, 0.3, 0.2, 0.1])
    pattern = rf"draft tuple \({', '.join(map(str, drafts))}\) is outside SpecHub's draft law"
    with pytest.raises(ValueError, match=pattern):
        spechub.verify(np.full(4, 0.25), q, drafts, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=pattern):
        spechub.verify(np.full(4, 0.25), q, [[2, 0, 1], drafts], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=pattern):
        spechub.output_law([F(1, 4)] * 4, [F(4, 10), F(3, 10), F(2, 10), F(1, 10)], drafts)


# ---------------------------------------------------------------- uniform layout
@pytest.mark.parametrize("k", [2, 3, 4, 6])
def test_draft_reads_only_the_first_and_last_uniform(k):
    """draft consumes u[0] and, after a hub, u[k-1]; u[1..k-2] change nothing."""
    rng = np.random.default_rng(k)
    q = rng.dirichlet(np.ones(12), size=50)
    u = rng.random((50, k))
    other = u.copy()
    other[:, 1:-1] = rng.random((50, k - 2))
    np.testing.assert_array_equal(spechub.draft(q, k, uniforms=u),
                                  spechub.draft(q, k, uniforms=other))
    changed = u.copy()
    changed[:, -1] = rng.random(50)
    first_is_hub = np.isin(spechub.draft(q, k, uniforms=u)[:, 0],
                           spechub._top_rows(q, k - 1)).nonzero()[0]
    assert first_is_hub.size  # the last uniform matters exactly after a hub
    assert np.any(spechub.draft(q, k, uniforms=changed)[first_is_hub, -1]
                  != spechub.draft(q, k, uniforms=u)[first_is_hub, -1])


@pytest.mark.parametrize("k", [3, 4, 6])
def test_verify_reads_only_u0_and_uk(k):
    rng = np.random.default_rng(10 + k)
    p = rng.dirichlet(np.ones(12), size=200)
    q = rng.dirichlet(np.ones(12), size=200)
    drafts = spechub.draft(q, k, rng=rng)
    u = rng.random((200, k + 1))
    other = u.copy()
    other[:, 1:k] = rng.random((200, k - 1))
    a, b = spechub.verify(p, q, drafts, uniforms=u), spechub.verify(p, q, drafts, uniforms=other)
    np.testing.assert_array_equal(a.token, b.token)
    np.testing.assert_array_equal(a.index, b.index)
    one = spechub.verify(p[0], q[0], drafts[0], uniforms=other[0])
    assert (one.token, one.index) == (a.token[0], a.index[0])


# ---------------------------------------------------------------- what the verdict says
def test_hub_from_the_residual_draw_is_an_accepted_draft():
    """p = point mass on the second hub, q with hubs (0, 1): the non-hub draft (p = 0 there) is
    always rejected and the draw lands on hub 1, reported at its position in the tuple."""
    q = np.array([0.4, 0.3, 0.2, 0.1])
    p = np.array([0.0, 1.0, 0.0, 0.0])
    for drafts, position in (([2, 0, 1], 2), ([0, 1, 3], 1), ([1, 0, 2], 0)):
        for u in (np.zeros(4), np.full(4, BELOW_ONE), np.random.default_rng(1).random(4)):
            assert spechub.verify(p, q, drafts, uniforms=u) == Verdict(1, position)
            batched = spechub.verify(p, q, [drafts], uniforms=u[None])
            assert (batched.token[0], batched.index[0]) == (1, position)
        np.testing.assert_array_equal(spechub.output_law(p, q, drafts), p)
    assert spechub.acceptance_rate(p, q, 3) == 1.0


def test_output_law_given_a_tuple_spelled_out():
    """Exact laws given each tuple (proofs/spechub_k.md): the non-hub draft z keeps exactly its
    acceptance min(1, p(z)/q'(z)) (the residual puts nothing on a rejected z), and the rest is
    spread over norm(p on the hubs, (p - q')+ elsewhere)."""
    p = [F(1, 10), F(1, 10), F(1, 10), F(3, 10), F(4, 10), F(0)]
    q = [F(3, 10), F(3, 10), F(2, 10), F(1, 10), F(0), F(1, 10)]
    hubs = hubs_by_definition(q, 2)
    assert hubs == [0, 1]
    rest = F(4, 10)
    r = [p[0], p[1]] + [max(F(0), p[x] - q[x] / rest) for x in range(2, 6)]
    assert r == [F(1, 10), F(1, 10), F(0), F(1, 20), F(4, 10), F(0)]
    for x in spechub.draft_law(q, 3):
        z = x[-1] if x[0] in hubs else x[0]
        accept = min(F(1), p[z] / (q[z] / rest))
        want = [(1 - accept) * ry / sum(r) for ry in r]
        want[z] += accept
        assert list(spechub.output_law(p, q, x)) == want, x


# ---------------------------------------------------------------- edge cases
@pytest.mark.parametrize("tiny", [1e-9, 1e-13, 1e-300, 1e-310])
def test_rest_mass_is_summed_not_subtracted(tiny):
    """q(A) = 1 - 3 tiny: R = 1 - q(A) must be the sum 3 tiny (a subtraction from 1 keeps no
    digit of it). With p = q' outside A, the non-hub draft is accepted with probability 1 in
    exact arithmetic; the float laws match the exact ones and verify accepts at u = 0.5. At
    tiny = 1e-310, R is subnormal: q(a) / R would overflow, 1 / R too (never formed)."""
    q = np.array([0.5, 0.5 - 3 * tiny, tiny, 2 * tiny])
    p = np.array([0.0, 0.0, 1 / 3, 2 / 3])
    pe, qe = exact_twin(p), exact_twin(q)
    assert abs(spechub.acceptance_rate(p, q, 3) - float(spechub.acceptance_rate(pe, qe, 3))) <= 1e-12
    for drafts in ([2, 0, 1], [3, 0, 1], [0, 1, 2], [1, 0, 3]):
        law = spechub.output_law(p, q, drafts)
        want = np.array([float(v) for v in spechub.output_law(pe, qe, drafts)])
        np.testing.assert_allclose(law, want, rtol=0, atol=1e-12)
        z = drafts[0] if drafts[0] >= 2 else drafts[-1]
        u = np.full(4, 0.5)
        assert spechub.verify(p, q, drafts, uniforms=u).token == z
        assert spechub.verify(p, q, [drafts], uniforms=u[None]).token[0] == z


@pytest.mark.parametrize("drafts", [[0, 1, 2], [1, 2, 0], [2, 1, 0]])
def test_rounding_guard_draws_from_the_target(drafts):
    """An instance (found by search) where p = q' outside the hubs up to rounding and p = 0 on
    the hubs (1, 2): the non-hub test rounds just below 1, rejects at u[0] = 1 - 2**-53, and
    every residual weight rounds to 0. The guard draws from p with u[k]: the token has p > 0,
    its index names it when it is a draft, and the one-row and batched paths agree."""
    q = np.array([0.19420957061276348, 0.41766525159179274, 0.22659010146898972,
                  8.878680930684309e-05, 0.15644777547905492, 0.004998514038092289])
    p = np.array([0.5459240842658306, 0.0, 0.0, 0.00024958016957037505, 0.4397754873477706,
                  0.014050848216828785])
    hubs = np.sort(spechub._top_rows(q[None], 2), axis=1)
    assert hubs.tolist() == [[1, 2]]
    rest = spechub._rest_rows(q[None], hubs)
    ip = 1.0 / probs(p, "p")[1][0]
    assert spechub._set_sum(p, q, ip, rest[0], hubs[0], spechub._RESIDUAL) == 0.0  # guard
    seen = set()
    for u_last in np.linspace(0.0, BELOW_ONE, 9):
        u = np.array([BELOW_ONE, 0.5, 0.5, u_last])
        one = spechub.verify(p, q, drafts, uniforms=u)
        batched = spechub.verify(p, q, [drafts], uniforms=u[None])
        assert (one.token, one.index) == (batched.token[0], batched.index[0])
        assert p[one.token] > 0
        assert one.index == (drafts.index(one.token) if one.token in drafts else -1)
        seen.add(one.token)
    assert len(seen) > 1  # the guard's draw follows u[k], it is not a fixed token
    out = spechub.output_law(p, q, drafts)
    assert np.all(out[p == 0] == 0.0) and abs(out.sum() - 1.0) <= 1e-12


def test_k_above_support_raises():
    q = np.array([0.5, 0.3, 0.2, 0.0])
    for call in (lambda: spechub.draft(q, 4, rng=np.random.default_rng(0)),
                 lambda: spechub.draft_law(q, 4),
                 lambda: spechub.acceptance_rate(np.full(4, 0.25), q, 4)):
        with pytest.raises(ValueError, match=r"k=4 needs q to give positive probability to "
                                             r"at least 4 tokens"):
            call()


# ---------------------------------------------------------------- k = 2 unchanged
@given(seed=st.integers(0, 2**32 - 1), v=st.integers(2, 40))
def test_k2_drafting_is_the_papers_rule(seed, v):
    """x_1 = inverse CDF of q at u[0]; if it is the hub a, x_2 = inverse CDF of q without a at
    u[1], else x_2 = a. Written out here with np.cumsum, independently of the module."""
    rng = np.random.default_rng(seed)
    q = make_float_probs(rng.choice(FLOAT_KINDS), v, rng, need=2)
    u = rng.random(2)

    def inverse_cdf(w, x):
        cum = np.cumsum(w)
        i = int(np.searchsorted(cum, x * cum[-1], side="right"))
        return i if i < len(w) else int(np.flatnonzero(w > 0)[-1])

    a = int(np.argmax(q))
    first = inverse_cdf(q, u[0])
    second = inverse_cdf(np.where(np.arange(v) == a, 0.0, q), u[1]) if first == a else a
    assert spechub.draft(q, 2, uniforms=u).tolist() == [first, second]
    assert spechub.draft(q[None], 2, uniforms=u[None]).tolist() == [[first, second]]
