"""Exact tier of specsample.optimal: rational arithmetic, hypothesis-generated instances.

For ``opt_iid`` (k = 1..3; k = 4..8 on V <= 4, 3 or 2 as enumeration allows) and ``opt_wor``
(k = 1, 2), with ``p``, ``q``
``Fraction`` vectors (zeros, ties, ``p = q``, disjoint supports; ``opt_strategies``):

* ``sum_x Q(x) output_law(p, q, x) == p`` exactly, every output law a probability vector;
* ``acceptance_rate == sum_x Q(x) P(output in set(x) | x)`` exactly;
* ``acceptance_rate`` equals the optimal-transport optimum of the scheme's own draft law,
  exactly: ``specsample.lp.ot_bound`` (closed form, or the enumerated law) and the
  brute-force min cut over token subsets recomputed here; and within 1e-12 of the float
  path and of ``specsample.lp.optimal_acceptance`` (an LP, HiGHS) on float inputs;
* the selected token's law reaches it: ``sum_y min(p, selection_law) == acceptance_rate``;
* it dominates the other verifiers of the same draft law (RRS and K-SEQ for i.i.d. drafts,
  RRSw without replacement).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opt_strategies import NEED, rational_pairs
from specsample.lp import ot_bound

from specsample import SCHEMES, kseq, rrs, rrsw
from specsample.optimal import iid, wor

F = Fraction
CASES = [("opt_iid", 1), ("opt_iid", 2), ("opt_iid", 3), ("opt_wor", 1), ("opt_wor", 2)]
#: Largest V per case (the k = 3 rational mixtures and integrations cost the most).
MAX_V = {("opt_iid", 3): 4, ("opt_iid", 4): 3, ("opt_iid", 6): 3}
#: The float path and the LP also at these ks (the LP enumerates V^k tuples, hence MAX_V).
FLOAT_CASES = [*CASES, ("opt_iid", 4), ("opt_iid", 6)]
DRAFTS = {"opt_iid": "iid", "opt_wor": "without_replacement"}


def _pairs(name: str, k: int):
    return rational_pairs(need=NEED[name](k), max_size=MAX_V.get((name, k), 5))


def brute_force_optimum(p, law) -> Fraction:
    """min over token subsets T of p(T) + 1 - Q(every draft in T)."""
    best = None
    for mask in range(2 ** len(p)):
        inside = {i for i in range(len(p)) if mask >> i & 1}
        value = sum((p[i] for i in inside), F(0)) + 1 - sum(
            (w for x, w in law.items() if set(x) <= inside), F(0))
        best = value if best is None else min(best, value)
    return best


def enumerate_output(module, p, q, k):
    law = module.draft_law(q, k)
    mix = [F(0)] * len(p)
    hit = F(0)
    for x, w in law.items():
        out = module.output_law(p, q, x)
        assert all(isinstance(v, Fraction) and v >= 0 for v in out), (x, out)
        assert sum(out) == 1, (x, out)
        mix = [m + w * o for m, o in zip(mix, out, strict=True)]
        hit += w * sum(out[t] for t in set(x))
    return law, mix, hit


@pytest.mark.parametrize(("name", "k"), CASES)
@given(data=st.data())
def test_output_law_is_p_and_acceptance_is_the_ot_optimum(name, k, data):
    module = SCHEMES[name]
    p, q = data.draw(_pairs(name, k), label="p, q")
    law, mix, hit = enumerate_output(module, p, q, k)
    assert mix == list(p)
    rate = module.acceptance_rate(p, q, k)
    assert isinstance(rate, Fraction) and rate == hit
    if name == "opt_wor" and k == 2 and wor.falls_back(p, q):
        pytest.fail(f"the certificate failed on {p}, {q}: report it (never seen before)")
    assert rate == ot_bound(p, q, k, drafts=DRAFTS[name]).value
    assert rate == brute_force_optimum(p, law)


@pytest.mark.parametrize("k", [5, 6, 7, 8])
@settings(max_examples=8)
@given(pq=rational_pairs(max_size=2))
def test_up_to_eight_iid_drafts_exact_on_two_tokens(k, pq):
    """k = 5..8 (rational mixtures): output law p, acceptance alpha* (two tokens, so that the
    k-fold enumeration stays small)."""
    p, q = pq
    law, mix, hit = enumerate_output(iid, p, q, k)
    assert mix == list(p)
    assert iid.acceptance_rate(p, q, k) == hit == ot_bound(p, q, k).value == brute_force_optimum(p, law)


@pytest.mark.parametrize("k", [4, 5])
@pytest.mark.parametrize(
    ("p", "q"),
    [
        ((F(1, 4),) * 4, (F(1, 4),) * 4),
        ((F(1), F(0), F(0)), (F(1, 3),) * 3),
        ((F(0), F(1, 4), F(3, 4)), (F(2, 3), F(1, 12), F(1, 4))),
        ((F(1, 2), F(1, 3), F(1, 6)), (F(1, 6), F(1, 2), F(1, 3))),
    ],
)
def test_four_and_five_iid_drafts_exact_on_named_instances(p, q, k):
    """k = 4, 5 (rational mixtures of rounded partitions): output law p, acceptance alpha*."""
    _, mix, hit = enumerate_output(iid, p, q, k)
    assert mix == list(p)
    assert iid.acceptance_rate(p, q, k) == hit == ot_bound(p, q, k).value


@pytest.mark.parametrize(("name", "k"), FLOAT_CASES)
@settings(max_examples=25)
@given(data=st.data())
def test_float_path_and_lp_agree_with_the_exact_optimum(name, k, data):
    """Float inputs: acceptance_rate within 1e-12 of the exact value and of the LP optimum
    of the enumerated draft law (HiGHS), and of ot_bound's float closed form."""
    from specsample.lp import optimal_acceptance

    module = SCHEMES[name]
    p, q = data.draw(_pairs(name, k), label="p, q")
    pf = np.array([float(v) for v in p])
    qf = np.array([float(v) for v in q])
    exact = float(module.acceptance_rate(p, q, k))
    rate = module.acceptance_rate(pf, qf, k)
    assert isinstance(rate, float)
    assert abs(rate - exact) <= 1e-12
    assert abs(rate - ot_bound(pf, qf, k, drafts=DRAFTS[name]).value) <= 1e-12
    lp = optimal_acceptance(list(p), module.draft_law(q, k), solver="highs").value
    assert abs(rate - float(lp)) <= 1e-9  # the LP's own tolerance, not ours


@pytest.mark.parametrize(("name", "k"), CASES)
@given(data=st.data())
def test_selection_law_reaches_the_acceptance(name, k, data):
    module = SCHEMES[name]
    p, q = data.draw(_pairs(name, k), label="p, q")
    x = module.selection_law(p, q, k)
    assert sum(x) == 1 and all(v >= 0 for v in x)
    assert sum((min(a, b) for a, b in zip(p, x, strict=True)), F(0)) == module.acceptance_rate(p, q, k)


@pytest.mark.parametrize("k", [1, 2, 3])
@given(pq=rational_pairs(max_size=4))
def test_iid_optimum_dominates_rrs_and_kseq(k, pq):
    p, q = pq
    best = iid.acceptance_rate(p, q, k)
    assert best >= rrs.acceptance_rate(p, q, k)
    assert best >= kseq.acceptance_rate(p, q, k)


@given(pq=rational_pairs(need=2, max_size=5))
def test_without_replacement_optimum_dominates_rrsw_and_the_iid_optimum(pq):
    """Drafting without replacement raises the optimum (Hu et al., arXiv 2502.18779)."""
    p, q = pq
    best = wor.acceptance_rate(p, q, 2)
    assert best >= rrsw.acceptance_rate(p, q, 2)
    assert best >= iid.acceptance_rate(p, q, 2)


# ---------------------------------------------------------------- named instances
@pytest.mark.parametrize(("name", "k"), [*CASES, ("opt_iid", 4), ("opt_iid", 8)])
def test_p_equal_q_always_accepts(name, k):
    p = (F(1, 2), F(1, 3), F(1, 6), F(0))
    assert SCHEMES[name].acceptance_rate(p, p, k) == 1


@pytest.mark.parametrize(("name", "k"), CASES)
def test_disjoint_supports_never_accept_and_output_p(name, k):
    p = (F(1, 2), F(1, 2), F(0), F(0), F(0))
    q = (F(0), F(0), F(1, 3), F(1, 3), F(1, 3))
    module = SCHEMES[name]
    assert module.acceptance_rate(p, q, k) == 0
    for x in module.draft_law(q, k):
        assert list(module.output_law(p, q, x)) == list(p)


@pytest.mark.parametrize(("name", "k"), [*CASES, ("opt_iid", 4), ("opt_iid", 8)])
def test_point_mass_target_accepts_iff_its_token_was_drafted(name, k):
    """p = delta_0, q uniform on 4 tokens: any exact verifier outputs 0, so the optimum is
    P(0 drafted): 1 - (3/4)^k i.i.d., k/4 without replacement."""
    p = (F(1), F(0), F(0), F(0))
    q = (F(1, 4),) * 4
    want = F(k, 4) if name == "opt_wor" else 1 - F(3, 4) ** k
    assert SCHEMES[name].acceptance_rate(p, q, k) == want
