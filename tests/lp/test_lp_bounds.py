"""ot_bound: every verifier under its own bound, closed forms equal the min cut, bad input."""

from __future__ import annotations

import itertools
from fractions import Fraction
from math import e

import numpy as np
import pytest
from hypothesis import given
from lp_strategies import exact_pair, float_pair
from specsample.lp import hub_draft_law, ot_bound

from specsample import kseq, rrs, rrsw, single, spechub

DRAFT_LAWS = {"iid": rrs.draft_law, "without_replacement": rrsw.draft_law, "hub": hub_draft_law}


def cut_value(p, law, cut) -> object:
    """``p(B) + 1 - Q(all drafts in B)`` recomputed from an enumerated law."""
    inside = set(int(y) for y in cut)
    zero = Fraction(0) if isinstance(p[0], Fraction) else 0.0
    w = sum((m for t, m in law.items() if set(t) <= inside), zero)
    return sum((p[y] for y in inside), zero) + 1 - w


# ---------------------------------------------------------------- exact tier
@given(exact_pair(max_vocab=6, max_k=3))
def test_each_verifier_is_below_the_bound_of_its_own_law(pair):
    p, q, k = pair
    iid = ot_bound(p, q, k, drafts="iid").value
    assert rrs.acceptance_rate(p, q, k) <= iid
    rho = kseq.rho_star(p, q, k)
    assert rho is not None
    kseq_rate = kseq.acceptance_rate(p, q, k)
    assert kseq_rate <= iid
    assert kseq_rate >= (1 - 1 / e) * float(iid) - 1e-12
    assert rrsw.acceptance_rate(p, q, k) <= ot_bound(p, q, k, drafts="without_replacement").value
    if k == 1:
        assert single.acceptance_rate(p, q, 1) == iid
    if k >= 2:
        assert spechub.acceptance_rate(p, q, k) == ot_bound(p, q, k, drafts="hub").value


@given(exact_pair(max_vocab=6, max_k=3))
def test_bound_is_the_value_of_its_cut(pair):
    p, q, k = pair
    for drafts, law in DRAFT_LAWS.items():
        bound = ot_bound(p, q, k, drafts=drafts)
        assert bound.exact and isinstance(bound.value, Fraction)
        assert bound.value == cut_value(p, law(q, k), bound.cut)


@given(exact_pair(max_vocab=6, max_k=1))
def test_one_draft_bound_is_one_minus_tv(pair):
    p, q, _ = pair
    tv_complement = sum((min(a, b) for a, b in zip(p, q, strict=True)), Fraction(0))
    for drafts in DRAFT_LAWS:
        assert ot_bound(p, q, 1, drafts=drafts).value == tv_complement


@given(exact_pair(max_vocab=5, max_k=3))
def test_float_path_matches_exact_path(pair):
    p, q, k = pair
    pf, qf = np.array([float(v) for v in p]), np.array([float(v) for v in q])
    for drafts in DRAFT_LAWS:
        exact = ot_bound(p, q, k, drafts=drafts).value
        assert abs(ot_bound(pf, qf, k, drafts=drafts).value - float(exact)) <= 1e-12


# ---------------------------------------------------------------- float tier
@given(float_pair(max_vocab=7, max_k=3))
def test_float_bound_is_the_value_of_its_cut(pair):
    p, q, k = pair
    for drafts, law in DRAFT_LAWS.items():
        bound = ot_bound(p, q, k, drafts=drafts)
        assert abs(bound.value - cut_value(p, law(q, k), bound.cut)) <= 1e-12


def test_without_replacement_beats_iid_on_average():
    """THEORY section 6: drafting without replacement raises the optimum (k = 2)."""
    rng = np.random.default_rng(7)
    gaps = []
    for _ in range(200):
        p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
        wor = ot_bound(p, q, 2, drafts="without_replacement").value
        iid = ot_bound(p, q, 2, drafts="iid").value
        gaps.append(wor - iid)
    assert min(gaps) >= -1e-12 and np.mean(gaps) > 0.01


def test_degenerate_pairs():
    point = np.array([0.0, 1.0, 0.0])
    spread = np.array([0.2, 0.3, 0.5])
    for drafts in DRAFT_LAWS:
        assert ot_bound(spread, spread, 2, drafts=drafts).value == pytest.approx(1.0, abs=1e-15)
        assert ot_bound(np.array([1.0, 0, 0]), np.array([0, 0.5, 0.5]), 2, drafts=drafts).value == 0.0
    assert ot_bound(point, point, 3).value == 1.0
    assert ot_bound(point, spread, 1).value == pytest.approx(0.3)


def test_tiny_probabilities():
    p = np.array([1 - 3e-12, 1e-12, 1e-12, 1e-12])
    q = np.array([1e-12, 1 - 2e-12, 5e-13, 5e-13])
    for drafts, law in DRAFT_LAWS.items():
        bound = ot_bound(p, q, 2, drafts=drafts)
        assert 0.0 <= bound.value <= 1.0
        assert abs(bound.value - cut_value(p, law(q, 2), bound.cut)) <= 1e-15


def test_cut_sets_are_exact_prefix_or_hub_sets():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    q = np.array([0.4, 0.3, 0.2, 0.1])
    np.testing.assert_array_equal(ot_bound(p, q, 1).cut, [0, 1])
    hub = ot_bound(p, q, 3, drafts="hub")
    assert {0, 1} <= set(hub.cut.tolist())


def test_hub_law_matches_spechub_as_a_set_law():
    q = [Fraction(1, 2), Fraction(1, 4), Fraction(1, 8), Fraction(1, 8)]
    ours, theirs = {}, {}
    for law, out in ((hub_draft_law(q, 2), ours), (spechub.draft_law(q, 2), theirs)):
        for t, m in law.items():
            key = frozenset(t)
            out[key] = out.get(key, 0) + m
    assert ours == theirs


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([0.5, 0.5], [0.5, 0.5], 2), {"drafts": "greedy"}, ValueError, "drafts must be one of"),
        (([0.5, 0.5], [1.0, 0.0], 2), {"drafts": "without_replacement"}, ValueError, "at least 2"),
        (([0.5, 0.5], [1.0, 0.0], 2), {"drafts": "hub"}, ValueError, "at least 2"),
        (([0.5, 0.5], [0.5, 0.5], 0), {}, ValueError, "k must be at least 1"),
        (([0.5, 0.5], [0.5, 0.5], 2.0), {}, TypeError, "k must be an int"),
        (([0.5, 0.6], [0.5, 0.5], 2), {}, ValueError, "p sums to"),
        (([0.5, 0.5], [0.5, 0.5, 0.0], 2), {}, ValueError, "p has 2 tokens but q has 3"),
        (([0.5, np.nan], [0.5, 0.5], 2), {}, ValueError, "NaN"),
    ],
)
def test_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        ot_bound(*args, **kwargs)


def test_fraction_float_mix_raises():
    with pytest.raises(TypeError, match="both be Fraction"):
        ot_bound([Fraction(1, 2), Fraction(1, 2)], [0.5, 0.5], 1)


def test_every_tuple_of_the_hub_law_contains_the_hubs():
    q = np.array([0.1, 0.3, 0.3, 0.2, 0.1])
    law = hub_draft_law(q, 3)
    assert all(t[:2] == (1, 2) for t in law)
    assert sum(law.values()) == pytest.approx(1.0)
    assert set(itertools.chain.from_iterable(law)) == {0, 1, 2, 3, 4}


# each scheme of the library and the drafting law its drafts follow
SCHEME_LAW = {"single": "iid", "rrs": "iid", "rrsw": "without_replacement", "spechub": "hub", "kseq": "iid",
              "opt_iid": "iid", "opt_wor": "without_replacement"}
# schemes that reach the bound of their drafting law (opt_wor: while its certificate holds)
REACHES = {"opt_iid", "opt_wor"}


@given(exact_pair(max_vocab=5, max_k=3))
def test_every_registered_scheme_is_below_its_bound(pair):
    """Iterates specsample.SCHEMES, so a new scheme without a known drafting law fails here."""
    from specsample import SCHEMES

    p, q, k = pair
    assert set(SCHEMES) == set(SCHEME_LAW)
    for name, scheme in SCHEMES.items():
        kk = min(k, scheme.MAX_K or k)
        rate = scheme.acceptance_rate(p, q, kk)
        bound = ot_bound(p, q, kk, drafts=SCHEME_LAW[name]).value
        assert rate <= bound
        if name in REACHES:
            assert rate == bound, name
