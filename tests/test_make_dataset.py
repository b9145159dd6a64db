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


def ratio_key(p, q, i):
    return (p[i] / q[i], i) if q[i] > 0 else (Fraction(10**9), i)


def test_merging_ratio_buckets_raises_the_bound_by_at_most_one_buckets_slack_exactly():
    """The README claim for ratio buckets, in rational arithmetic: tail tokens sorted by p/q
    and cut into consecutive groups; alpha*_r - alpha* lies in [0, max_b min(p(B), 1-(1-q(B))^k)]."""
    rng = np.random.default_rng(5)
    for _ in range(60):
        vocab = int(rng.integers(4, 8))
        weights_p = rng.integers(0, 6, vocab)
        weights_q = rng.integers(0, 6, vocab)
        weights_p[0] += 1
        weights_q[-1] += 1
        p = [Fraction(int(w), int(weights_p.sum())) for w in weights_p]
        q = [Fraction(int(w), int(weights_q.sum())) for w in weights_q]
        kept = sorted(rng.choice(vocab, int(rng.integers(0, vocab - 1)), replace=False).tolist())
        tail = sorted((i for i in range(vocab) if i not in kept), key=lambda i: ratio_key(p, q, i))
        cuts = sorted(rng.choice(np.arange(1, len(tail)), int(rng.integers(0, len(tail))), replace=False).tolist()) \
            if len(tail) > 1 else []
        groups = [tail[a:b] for a, b in zip([0, *cuts], [*cuts, len(tail)], strict=True)]
        pr = [p[i] for i in kept] + [sum((p[i] for i in g), Fraction(0)) for g in groups]
        qr = [q[i] for i in kept] + [sum((q[i] for i in g), Fraction(0)) for g in groups]
        for k in (1, 2, 3):
            full, reduced = brute_min_cut(p, q, k), brute_min_cut(pr, qr, k)
            slack = max(min(pb, 1 - (1 - qb) ** k) for pb, qb in zip(pr[len(kept):], qr[len(kept):], strict=True))
            assert 0 <= reduced - full <= slack


def test_reduction_keeps_top_sets_then_ratio_buckets(md):
    rng = np.random.default_rng(3)
    p, q = random_pair(rng, 500)
    kept, rp, rq, n_buckets = md.reduce_pair(p, q, 1e-3, 50, 8)
    assert np.all(np.diff(kept) > 0)
    assert 1 <= n_buckets <= 8
    assert rp.size == rq.size == kept.size + n_buckets
    np.testing.assert_allclose([rp.sum(), rq.sum()], [1.0, 1.0], rtol=0, atol=1e-13)
    np.testing.assert_array_equal(rp[: kept.size], p[kept])
    assert np.argmax(p) in kept and np.argmax(q) in kept
    top_p = md.top_set(p, 1e-3, 50)
    dropped = np.setdiff1d(np.arange(p.size), kept)
    assert p[dropped].max() <= p[top_p].min()
    bucket_ratio = rp[kept.size :] / rq[kept.size :]
    assert np.all(np.diff(bucket_ratio[np.isfinite(bucket_ratio)]) >= 0)


def test_bucketed_bound_is_within_the_slack_on_large_random_pairs(md):
    rng = np.random.default_rng(4)
    for _ in range(10):
        p, q = random_pair(rng, 5000)
        _kept, rp, rq, n_buckets = md.reduce_pair(p, q, 1e-3, 100, 16)
        for k in (1, 2, 4):
            diff = md.iid_ot_bound(rp, rq, k) - md.iid_ot_bound(p, q, k)
            assert -1e-12 <= diff <= md.bucket_slack(rp, rq, n_buckets, k) + 1e-12
