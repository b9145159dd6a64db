"""The reduction used by scripts/make_dataset.py, and the claim specsample/data/README.md makes
about it: merging the tail tokens into one outcome raises the i.i.d. OT bound by at least 0
and at most min(p(R), 1 - (1 - q(R))^k). No models are loaded.
"""

from __future__ import annotations

import importlib.util
import itertools
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_dataset.py"


@pytest.fixture(scope="module")
def md():
    spec = importlib.util.spec_from_file_location("make_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_pair(rng, vocab):
    """A Zipf-like target and a perturbed draft with some exact zeros (ties and zeros included)."""
    p = rng.permutation(vocab) + 1.0
    p = p ** -rng.uniform(0.8, 2.0)
    q = p * rng.uniform(0.2, 2.0, vocab)
    q[rng.random(vocab) < 0.1] = 0.0
    p[rng.random(vocab) < 0.1] = 0.0
    p[0] += 1.0
    q[1] += 1.0
    return p / p.sum(), q / q.sum()


def brute_min_cut(p, q, k):
    """alpha* = min over all subsets T of p(T) + 1 - q(T)^k (THEORY.md section 6), exactly."""
    vocab = len(p)
    best = None
    for mask in range(1 << vocab):
        members = [i for i in range(vocab) if mask >> i & 1]
        cost = sum((p[i] for i in members), Fraction(0)) + 1 - sum((q[i] for i in members), Fraction(0)) ** k
        best = cost if best is None else min(best, cost)
    return best


def test_iid_bound_matches_the_brute_force_min_cut(md):
    rng = np.random.default_rng(1)
    for _ in range(40):
        vocab = int(rng.integers(2, 9))
        p, q = random_pair(rng, vocab)
        pf = [Fraction(x) for x in p]
        qf = [Fraction(x) for x in q]
        for k in (1, 2, 3):
            exact = brute_min_cut(pf, qf, k)
            np.testing.assert_allclose(md.iid_ot_bound(p, q, k), float(exact), rtol=0, atol=1e-12)


def test_merging_a_tail_raises_the_bound_by_at_most_the_slack_exactly():
    """The README claim in rational arithmetic, for every tail set R of small instances."""
    rng = np.random.default_rng(2)
    for _ in range(12):
        vocab = int(rng.integers(3, 7))
        weights_p = rng.integers(0, 6, vocab)
        weights_q = rng.integers(0, 6, vocab)
        weights_p[0] += 1
        weights_q[-1] += 1
        p = [Fraction(int(w), int(weights_p.sum())) for w in weights_p]
        q = [Fraction(int(w), int(weights_q.sum())) for w in weights_q]
        for size in range(1, vocab):
            for tail in itertools.combinations(range(vocab), size):
                kept = [i for i in range(vocab) if i not in tail]
                pr = [p[i] for i in kept] + [sum((p[i] for i in tail), Fraction(0))]
                qr = [q[i] for i in kept] + [sum((q[i] for i in tail), Fraction(0))]
                for k in (1, 2, 3):
                    full, reduced = brute_min_cut(p, q, k), brute_min_cut(pr, qr, k)
                    slack = min(pr[-1], 1 - (1 - qr[-1]) ** k)
                    assert 0 <= reduced - full <= slack


def test_reduction_keeps_top_sets_and_one_tail(md):
    rng = np.random.default_rng(3)
    p, q = random_pair(rng, 500)
    kept, rp, rq, p_tail, q_tail = md.reduce_pair(p, q, 1e-3, 50)
    assert np.all(np.diff(kept) > 0)
    assert rp.size == rq.size == kept.size + 1
    np.testing.assert_allclose([rp.sum(), rq.sum()], [1.0, 1.0], rtol=0, atol=1e-13)
    assert rp[-1] == p_tail and rq[-1] == q_tail
    assert np.argmax(p) in kept and np.argmax(q) in kept
    # every dropped token has no more mass than every kept top-set token of the same model
    top_p = md.top_set(p, 1e-3, 50)
    dropped = np.setdiff1d(np.arange(p.size), kept)
    assert p[dropped].max() <= p[top_p].min()


def test_two_stage_reduction_equals_the_direct_one(md):
    """Stage 2 re-reduces the raw reduction; that must keep exactly the tokens and masses of
    reducing the full pair directly (the composition of two merges is one merge)."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        p, q = random_pair(rng, 3000)
        raw_kept, raw_p, raw_q, _, _ = md.reduce_pair(p, q, 1e-7, 2000)
        keep = np.union1d(md.top_set_of_full(raw_p, 1e-3, 100), md.top_set_of_full(raw_q, 1e-3, 100))
        direct_kept, direct_p, _, direct_p_tail, _ = md.reduce_pair(p, q, 1e-3, 100)
        np.testing.assert_array_equal(raw_kept[keep], direct_kept)
        drop = np.ones(raw_kept.size, bool)
        drop[keep] = False
        np.testing.assert_allclose(raw_p[-1] + raw_p[:-1][drop].sum(), direct_p_tail, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(raw_p[keep], direct_p[:-1])
