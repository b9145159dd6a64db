"""The bucketed i.i.d. build (``specsample.optimal._buckets``) against the full-sort build.

Both are float64 implementations of the same Step A / Step B (``proofs/opt_iid.md``, claims
B1-B3 say why sorting only some buckets gives the same groups); they add sums in different
orders, so they agree to rounding. Where ``alpha* = 1`` up to rounding, the first minimiser
of the cut objective can flip between ``j = 0`` and ``j = n`` (both give ``x = p``), so the
cut and the groups are compared only where ``alpha*`` is clearly below 1. Small instances
go through the bucketed path by lowering ``MIN_VOCAB``; at V = 151936 it is the default.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction

import numpy as np
import pytest
from opt_strategies import llm_like
from specsample.lp import ot_bound
from test_opt_tables import assert_table, selected_mass_with_points

from specsample.optimal import _buckets, _build, _exact, _order, _work, iid

F = Fraction


@contextlib.contextmanager
def bucketed(min_vocab: int = 0, reuse_min: int | None = None):
    """Build i.i.d. tables (k >= 2) of every vocabulary with the bucketed path (and, if
    given, reuse the cut scan's order from ``reuse_min`` shared tokens on)."""
    old = _buckets.MIN_VOCAB, _buckets.REUSE_MIN
    _buckets.MIN_VOCAB = min_vocab
    if reuse_min is not None:
        _buckets.REUSE_MIN = reuse_min
    try:
        yield
    finally:
        _buckets.MIN_VOCAB, _buckets.REUSE_MIN = old


def full_sort_table(p, q, k):
    ws = _work.get(p.shape[0])
    order, n = _order.ratio_order(p, q, ws)
    return _build._iid_table(p, q, float(p.sum()), float(q.sum()), k, order, n, ws)


def bucketed_table(p, q, k):
    with bucketed():
        return _build.build(p, q, float(p.sum()), float(q.sum()), k, _build.IID)


def assert_same_table(p, q, k):
    a, b = full_sort_table(p, q, k), bucketed_table(p, q, k)
    assert abs(a.alpha - b.alpha) <= 1e-13
    np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(b.qh, a.qh)
    if a.alpha < 1.0 - 1e-12:
        assert b.cut == a.cut
        np.testing.assert_array_equal(b.group, a.group)
        np.testing.assert_array_equal(b.count, a.count)
        np.testing.assert_allclose(b.start, a.start, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.length, a.length, rtol=0, atol=1e-12)
    return a, b


def _kinds(rng, v):
    """Pairs with the inputs the bucketed path branches on."""
    yield rng.random(v) ** 3 + 1e-3, rng.random(v) ** 3 + 1e-3  # spread ratios
    w = rng.integers(0, 6, size=(2, v)).astype(float)
    w[:, 0] += 1.0
    yield w[0], w[1]  # zeros and exact ties
    q = rng.random(v) + 0.1
    yield q * (1.0 + rng.integers(-3, 4, v) * 2.0**-40), q  # every ratio in one or two buckets
    yield q.copy(), q  # p = q: alpha* = 1
    p = rng.random(v)
    p[rng.random(v) < 0.3] = 0.0
    p[0] = 1.0
    qz = rng.random(v)
    qz[rng.random(v) < 0.3] = 0.0
    qz[-1] = 1.0
    yield p, qz  # q = 0 and p = 0 tokens
    yield rng.random(v) * np.logspace(-200, 200, v), rng.random(v) + 0.1  # extreme ratios
    one = np.zeros(v)
    one[v // 2] = 1.0
    yield one, rng.random(v) + 0.01  # a one-token target


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_bucketed_tables_equal_the_full_sort_tables(seed, k):
    rng = np.random.default_rng(seed)
    v = int(rng.integers(1, 60))
    for p, q in _kinds(rng, v):
        assert_same_table(p / p.sum(), q / q.sum(), k)


def _plan_and_table(p, q, k, reuse_min):
    """The bucketed build's exactly ordered slice and its table, with the cut scan's order
    reused from ``reuse_min`` shared tokens on."""
    with bucketed(reuse_min=reuse_min):
        ws = _work.get(p.shape[0])
        *_, order = _buckets._plan(p, q, 1.0, 1.0, np.int64(k), ws)
        order = order.copy()
        table = _build.build(p, q, 1.0, 1.0, k, _build.IID)
    return order, table


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("k", [2, 4])
def test_reusing_the_cut_scans_order_changes_nothing(seed, k):
    """The water range's order built from the cut scan's (copied block + the other buckets
    sorted) is the order of sorting the whole range, and the tables are bit-identical."""
    rng = np.random.default_rng(100 + seed)
    pairs = list(_kinds(rng, int(rng.integers(2, 80))))
    pairs.append(llm_like(20000, seed=seed))
    for p, q in pairs:
        p, q = p / p.sum(), q / q.sum()
        want_order, want = _plan_and_table(p, q, k, 10**9)  # never reused
        got_order, got = _plan_and_table(p, q, k, 0)  # always reused where the ranges meet
        np.testing.assert_array_equal(got_order, want_order)
        for name, value in vars(want).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(got, name), value, err_msg=name)
            else:
                assert getattr(got, name) == value, name


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("k", [2, 3])
def test_unnormalised_rows_give_the_tables_of_the_full_sort(seed, k):
    """Rows that do not sum to one (the library normalises them itself): the buckets hold
    ratios of the raw rows, the water levels and the cut live on the normalised scale, and
    the bucketed build must bracket them on that scale."""
    rng = np.random.default_rng(1000 + seed)
    v = int(rng.integers(2, 60))
    for p, q in _kinds(rng, v):
        sp, sq = 10.0 ** rng.uniform(-3, 3), 10.0 ** rng.uniform(-3, 3)
        assert_same_table(p / p.sum() * sp, q / q.sum() * sq, k)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 4, 8])
def test_small_bucketed_tables_match_the_exact_path(seed, k):
    rng = np.random.default_rng(seed)
    v = int(rng.integers(2, 7))
    w = rng.integers(0, 6, size=(2, v)).astype(float)
    w[:, :2] += 1.0
    p, q = w[0] / w[0].sum(), w[1] / w[1].sum()
    t = bucketed_table(p, q, k)
    assert_table(t, p, q, k, "iid")
    pe = [F(float(a)) / F(float(w[0].sum())) for a in w[0]]
    qe = [F(float(a)) / F(float(w[1].sum())) for a in w[1]]
    exact = _exact.table(pe, qe, k, _exact.IID)
    np.testing.assert_allclose(t.x, [float(a) for a in exact.x], rtol=0, atol=1e-13)
    assert abs(t.alpha - float(exact.alpha)) <= 1e-13


def test_the_cut_inside_a_bucket_is_found_by_the_exact_scan():
    """k = 2 puts the cut where the ratio passes 2 q(T). Blocks of q mass 0.52 / 0.001 / 0.01
    / rest with ratios 0.2 / 1.01 / 1.07 / ~2: 2 q(T) is 1.04 at the second block, so the
    cut falls between the ratios 1.01 and 1.07, which share a bucket (an eighth of a
    binade): only the exact scan of that bucket can place it."""
    rng = np.random.default_rng(5)
    sizes = (100, 20, 40, 100)
    mass = (0.52, 0.001, 0.01, 0.469)
    ratio = (0.2, 1.01, 1.07, None)
    q = np.concatenate([m * rng.dirichlet(np.ones(s)) for s, m in zip(sizes, mass, strict=True)])
    r = np.concatenate([np.full(s, v if v else 0.0) for s, v in zip(sizes, ratio, strict=True)])
    p = q * r
    p[-100:] = q[-100:] * (1.0 - p.sum()) / mass[-1]
    a, _ = assert_same_table(p, q, 2)
    order, _ = _order.ratio_order(p, q)
    keys = _order.ratio_keys(p, q) >> np.uint64(_buckets.SHIFT)
    assert a.cut == 120 and keys[order[119]] == keys[order[120]]


@pytest.mark.parametrize(
    ("k", "seed", "sums"),
    [(2, 0, (1.0, 1.0)), (3, 0, (1.0, 1.0)), (4, 0, (1.0, 1.0)), (2, 11, (1.0, 1.0)),
     (3, 11, (1.0, 1.0)), (4, 11, (1.0, 1.0)),
     # row sums the public API accepts (within PROB_SUM_TOL of one); before the bucket edges
     # were scaled by sum q / sum p, these three failed: alpha off by 3.4e-7 (above the
     # optimum), x off by 3.4e-11 and by 3.3e-9
     (4, 3, (1.0009, 0.9992)), (3, 22, (0.9992, 1.0009)), (4, 32, (0.9992, 1.0009))],
)
def test_full_vocabulary_builds_use_buckets_and_agree(k, seed, sums):
    p, q = llm_like(151936, seed=seed)
    p, q = p * sums[0], q * sums[1]
    assert _buckets.MIN_VOCAB <= p.shape[0]  # the default build is the bucketed one
    a = full_sort_table(p, q, k)
    b = _build.build(p, q, float(p.sum()), float(q.sum()), k, _build.IID)
    assert abs(a.alpha - b.alpha) <= 1e-13
    np.testing.assert_allclose(b.x, a.x, rtol=0, atol=1e-13)
    if a.alpha < 1.0 - 1e-12:
        assert b.cut == a.cut and b.first.shape == a.first.shape
    assert_table(b, p, q, k, "iid")


def test_bucketed_tables_share_no_memory_with_the_workspace():
    p1, q1 = llm_like(20000, seed=1)
    p2, q2 = llm_like(20000, seed=2)
    first = _build.build(p1, q1, 1.0, 1.0, 2, _build.IID)
    kept = {n: v.copy() for n, v in vars(first).items() if isinstance(v, np.ndarray)}
    _build.build(p2, q2, 1.0, 1.0, 2, _build.IID)
    ws = _work.get(20000)
    for name, v in kept.items():
        arr = getattr(first, name)
        assert np.array_equal(arr, v), name
        for scratch in ws.arrays():
            assert not np.shares_memory(arr, scratch), name


def test_verifier_output_is_the_same_through_either_build():
    """Same uniforms, same drafts: the verdicts of the two builds agree token for token
    (their tables differ only by rounding)."""
    rng = np.random.default_rng(7)
    p, q = llm_like(20000, seed=3)
    drafts = iid.draft(q, 2, rng=rng, size=4000)
    u = rng.random((4000, 3))
    with bucketed(10**9):  # no vocabulary is bucketed: the full sort
        want = iid.verify(p, q, drafts, uniforms=u)
    got = iid.verify(p, q, drafts, uniforms=u)
    np.testing.assert_array_equal(got.token, want.token)
    np.testing.assert_array_equal(got.index, want.index)


@pytest.mark.slow
def test_real_full_vocabulary_pairs_both_builds():
    """The full-vocabulary Qwen2.5-Coder rows that ``scripts/make_dataset.py`` saves with
    ``--raw`` (path in ``SPECSAMPLE_RAW_PAIRS``; skipped without it): both builds reach the
    min cut and realise ``x``. Tolerances are 2e-12, not 1e-12: sweeping tens of thousands
    of singleton groups accumulates position rounding (both builds: 1.3e-12 at most on 31
    rows). Tokens below the float resolution of positions are checked as a point draw."""
    path = os.environ.get("SPECSAMPLE_RAW_PAIRS")
    if not path:
        pytest.skip("set SPECSAMPLE_RAW_PAIRS to a raw file of scripts/make_dataset.py")
    raw = np.load(path)
    for fp, fq in zip(raw["full_p"], raw["full_q"], strict=True):
        p, q = fp / fp.sum(), fq / fq.sum()
        for k in (2, 3, 4):
            a, b = full_sort_table(p, q, k), _build.build(p, q, 1.0, 1.0, k, _build.IID)
            assert abs(a.alpha - b.alpha) <= 1e-13
            np.testing.assert_allclose(b.x, a.x, rtol=0, atol=2e-12)
            want = ot_bound(p, q, k).value
            for t in (a, b):
                assert abs(t.alpha - want) <= 1e-12
                sel, tiny = selected_mass_with_points(t, q, k)
                err = np.abs(sel - t.x)
                assert err[~tiny].max() <= 2e-12 and err[tiny].sum() <= 1e-12
