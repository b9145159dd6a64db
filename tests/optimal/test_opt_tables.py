"""The float tables of specsample.optimal, and regression tests named after past failures.

A table is checked against what the proofs say it is (``proofs/opt_iid.md``,
``proofs/opt_wor.md``, ``proofs/opt_sweep.md``): the pieces tile ``[0, 1]`` with ``T`` inside
``[0, A]``; every group's pieces have its mass and selection mass ``x`` (i.i.d.: ``mu =
integral k t^(k-1)``; without replacement: ``mu - kappa (1 - theta)``) to 1e-12; ``alpha``
equals ``specsample.lp.ot_bound`` to 1e-12 -- at the full vocabulary V = 151936 on LLM-like
pairs, and against the exact path on small rational instances.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import numpy as np
import pytest
from opt_strategies import llm_like
from specsample.lp import ot_bound

from specsample.optimal import _build, _exact, _order, _scheme, _sweep, _work, iid, wor

F = Fraction


def _table(p, q, k, law):
    return _scheme.table(np.ascontiguousarray(p, float), np.ascontiguousarray(q, float),
                         float(np.sum(p)), float(np.sum(q)), k, law)


def selected_mass(t, q, k):
    """Per token: the selection probability its pieces give (opt_sweep.md, opt_wor.md)."""
    qh = q / q.sum()
    wor_density = t.law == _build.WOR and not t.fallback
    if wor_density:
        pos = qh > 0
        order = np.argsort(t.theta[pos])
        th = t.theta[pos][order]
        kap = (qh[pos] ** 2 / t.om[pos])[order]
        kc = np.concatenate([[0.0], np.cumsum(kap)])
        kt = np.concatenate([[0.0], np.cumsum(kap * th)])

        def value(v):
            j = np.searchsorted(th, v, side="left")
            return v * v + v * kc[j] - kt[j]
    else:
        def value(v):
            return v**k
    mu_piece = value(t.start + t.length) - value(t.start)
    cum = np.concatenate([[0.0], np.cumsum(mu_piece)])
    tokens = np.flatnonzero(qh > 0)
    owner = t.group[tokens]
    mu = cum[t.first[owner] + t.count[owner]] - cum[t.first[owner]]
    out = np.zeros(qh.shape[0])
    # an owner of zero piece length (mass below the float resolution of positions,
    # _sweep's docstring) has no density to integrate: 0 here, bounded by the caller
    length = t.toklen[owner]
    out[tokens] = np.divide(mu * qh[tokens], length, out=np.zeros(tokens.size), where=length > 0)
    if wor_density:
        out[tokens] -= qh[tokens] ** 2 / t.om[tokens] * (1.0 - t.theta[tokens])
    return out


def selected_mass_with_points(t, q, k):
    """:func:`selected_mass` (i.i.d.) where tokens below the position resolution count too:
    such an owner draws one point ``s`` and is selected iff no other draft is above it,
    probability ``(s + q_y)^k - s^k`` (the other tokens' pieces fill ``[0, s]``). Returns
    the law and the mask of those tokens."""
    sel = selected_mass(t, q, k)
    tiny = _build.below_resolution(t)
    s = t.start[t.first[t.group[tiny]]]
    sel[tiny] = (s + t.qh[tiny]) ** k - s**k
    return sel, tiny


def assert_table(t, p, q, k, drafts):
    segs = sorted(zip(t.start, t.start + t.length, strict=True))
    ends = np.array([b for _, b in segs])
    starts = np.array([a for a, _ in segs])
    np.testing.assert_allclose(starts[1:], ends[:-1], rtol=0, atol=1e-12)
    assert abs(starts[0]) <= 1e-12 and abs(ends[-1] - 1.0) <= 1e-12
    in_t = t.start < t.split - 1e-12
    assert np.all(t.start[in_t] + t.length[in_t] <= t.split + 1e-12)
    if k >= 2:
        np.testing.assert_allclose(selected_mass(t, q, k), t.x, rtol=0, atol=1e-12)
    assert abs(t.alpha - ot_bound(p, q, k, drafts=drafts).value) <= 1e-12


@pytest.mark.parametrize(("k", "law"), [(2, 0), (3, 0), (4, 0), (6, 0), (8, 0), (2, 1)])
def test_full_vocabulary_tables_tile_and_realise_x(k, law):
    p, q = llm_like(151936, seed=11)
    t = _table(p, q, k, law)
    assert not t.fallback
    assert_table(t, p, q, k, "iid" if law == 0 else "without_replacement")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("k", "law"), [(2, 0), (3, 0), (4, 0), (5, 0), (8, 0), (2, 1)])
def test_small_float_tables_match_the_exact_path(seed, k, law):
    rng = np.random.default_rng(seed)
    v = int(rng.integers(2, 7))
    w = rng.integers(0, 6, size=(2, v)).astype(float)
    w[:, :2] += 1.0  # two positive entries at least
    p, q = w[0] / w[0].sum(), w[1] / w[1].sum()
    t = _table(p, q, k, law)
    assert_table(t, p, q, k, "iid" if law == 0 else "without_replacement")
    pf = [F(float(a)) for a in w[0]]
    qf = [F(float(a)) for a in w[1]]
    pe = [a / sum(pf) for a in pf]
    qe = [a / sum(qf) for a in qf]
    exact = _exact.table(pe, qe, k, law)
    np.testing.assert_allclose(t.x, [float(a) for a in exact.x], rtol=0, atol=1e-13)
    assert abs(t.alpha - float(exact.alpha)) <= 1e-13


# ---------------------------------------------------------------- regressions
def test_newton_never_divides_by_zero_when_a_window_is_below_its_position_resolution():
    """k = 4, p = q with entries of 1e-35: u + m == u in float64, so the Newton slope was 0
    and the kernel raised ZeroDivisionError (found by the parity tests)."""
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.full(64, 0.05))
    q[0] = 1e-35
    q /= q.sum()
    drafts = iid.draft(q, 4, rng=rng, size=50)
    v = iid.verify(q, q, drafts, rng=rng)
    assert np.all(v.index >= 0)  # p = q: always accepted


def test_exactly_tied_means_are_grouped_like_the_exact_path():
    """p = (0, 1/4, 3/4), q = (2/3, 1/12, 1/4), k = 3: tokens 1 and 2 are both capped at
    c q (and their ratios are both 3), but float rounding put them in the opposite order to
    the exact path's, and the per-tuple output laws differed by 0.05. Equal means now share
    their pieces, so the order of ties cannot matter."""
    p, q = (F(0), F(1, 4), F(3, 4)), (F(2, 3), F(1, 12), F(1, 4))
    pf, qf = np.array([float(a) for a in p]), np.array([float(a) for a in q])
    for x in iid.draft_law(q, 3):
        want = np.array([float(a) for a in iid.output_law(p, q, x)])
        np.testing.assert_allclose(iid.output_law(pf, qf, x), want, rtol=0, atol=1e-12)


def test_ratio_order_is_exact_where_rounded_quotients_tie():
    """fl(p_i / q_i) cannot separate ratios that differ below half an ulp; the order must
    still be the exact one (ties by token id), as on the exact path."""
    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(500))
    p = q * (1 + rng.integers(-3, 4, 500) * 2.0**-52)
    order, n = _order.ratio_order(p, q)
    want = sorted(range(500), key=lambda i: (F(p[i]) / F(q[i]), i))
    assert n == 500 and list(order) == want
    in_ws, n_ws = _order.ratio_order(p, q, _work.Workspace(500))
    assert n_ws == 500 and list(in_ws) == want


def _arrays(t):
    return {name: v for name, v in vars(t).items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize(("k", "law", "conditioned"),
                         [(1, 0, True), (2, 0, True), (4, 0, True), (2, 1, True), (2, 1, False)])
def test_tables_share_no_memory_with_the_workspace(k, law, conditioned):
    """The builds take scratch from the thread's workspace; a table keeps none of it, so the
    next build (same vocabulary: same workspace) leaves the first table as it was."""
    p1, q1 = llm_like(3000, seed=1)
    p2, q2 = llm_like(3000, seed=2)
    if not conditioned:  # kappa above KAPPA_MAX: the fallback table
        q1 = np.full(3000, 1e-9)
        q1[7] = 1.0
    first = _table(p1, q1, k, law)
    assert first.fallback == (not conditioned)
    kept = {name: v.copy() for name, v in _arrays(first).items()}
    second = _table(p2, q2, k, law)
    ws = _work.get(3000)
    for t in (first, second):
        for name, v in _arrays(t).items():
            for scratch in ws.arrays():
                assert not np.shares_memory(v, scratch), name
    for name, v in _arrays(first).items():
        assert np.array_equal(v, kept[name]), name


def test_threads_build_the_same_tables_as_one_thread():
    pairs = [llm_like(2000, seed=s) for s in range(6)]
    want = [_table(p, q, 3, 0) for p, q in pairs]
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda pq: _table(pq[0], pq[1], 3, 0), pairs * 3))
    for i, t in enumerate(got):
        w = want[i % len(pairs)]
        for name, v in _arrays(w).items():
            assert np.array_equal(_arrays(t)[name], v), name


def test_rejected_collapsed_pair_may_output_the_discarded_draft(monkeypatch):
    """Without-replacement fallback: a collapsed pair (y1, y1) that is rejected draws the
    residual, which can be the discarded y2; acceptance_rate used to omit that term. It is
    now counted (and the verdict reports index 1)."""
    monkeypatch.setattr(_build, "certified", lambda worst, tol: False)
    monkeypatch.setattr(_exact, "certified", lambda worst: False)
    _exact._table.cache_clear()
    try:
        p = (F(1, 10), F(6, 10), F(3, 10))
        q = (F(5, 10), F(2, 10), F(3, 10))
        law = wor.draft_law(q, 2)
        hit = sum((w * sum(wor.output_law(p, q, x)[t] for t in set(x)) for x, w in law.items()),
                  F(0))
        rate = wor.acceptance_rate(p, q, 2)
        assert rate == hit and rate > iid.acceptance_rate(p, q, 2)
        pf, qf = np.array([float(a) for a in p]), np.array([float(a) for a in q])
        rng = np.random.default_rng(1)
        drafts = wor.draft(qf, 2, rng=rng, size=20000)
        u = rng.random((20000, 3))
        u[:, 0] = 0.0  # u[0] < q(y1): every pair is collapsed, so draft 1 is the selected one
        v = wor.verify(pf, qf, drafts, uniforms=u)
        second = v.index == 1  # only a residual equal to the discarded draft gives index 1
        assert second.any()
        np.testing.assert_array_equal(v.token[second], drafts[second, 1])
        assert np.all(v.token[v.index == 0] == drafts[v.index == 0, 0])
    finally:
        _exact._table.cache_clear()


@pytest.mark.parametrize("seed", range(4))
def test_searches_from_a_hint_count_like_the_plain_binary_searches(seed):
    """The sweep's hinted searches (``_sweep._search_near``) return exactly the counts of a
    plain binary search (``np.searchsorted``) for every hint, on sorted breakpoints with
    ties, at and between them."""
    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 7, 100):
        th = np.sort(rng.integers(0, 12, n).astype(float) / 4.0)
        points = np.concatenate([th, rng.uniform(-1.0, 4.0, 20), [-np.inf, np.inf]])
        for t in points:
            below = np.searchsorted(th, t, side="left")  # #{theta < t}
            at_most = np.searchsorted(th, t, side="right")  # #{theta <= t}
            for hint in range(-2, n + 3):
                assert _sweep._search_near(th, t, np.int64(hint), False) == below
                assert _sweep._search_near(th, t, np.int64(hint), True) == at_most


def test_release_workspace_drops_the_threads_scratch_and_builds_go_on():
    import specsample.optimal

    p, q = llm_like(500, seed=4)
    before = _table(p, q, 2, 0)
    ws = _work.get(500)
    specsample.optimal.release_workspace()
    assert _work.get(500) is not ws  # a new one
    after = _table(p, q, 2, 0)
    for name, v in _arrays(before).items():
        assert np.array_equal(_arrays(after)[name], v), name


def test_workspace_has_a_row_for_every_scratch_array_the_builds_name():
    assert _work.F_ROWS == max(_build._MAS, _build._HOLE_B) + 1
    assert _work.I_ROWS == _build._I_HALF + 1
    assert len({_build._PS, _build._QS, _build._CP, _build._CQ, _build._CS, _build._NUP,
                _build._GMASS, _build._GTARGET, _build._HOLE_A, _build._HOLE_B, _build._OM,
                _build._TH, _build._KAP, _build._KC, _build._KT, _build._TARGET, _build._KEY,
                _build._TGT, _build._MAS}) == _work.F_ROWS


@pytest.mark.parametrize("seed", range(4))
def test_half_order_is_the_stable_sort_by_key(seed):
    """The without-replacement halves are ordered by packed keys plus a re-sort of runs that
    agree above the truncated bits (insertion sort for short runs, radix passes for long
    ones): it must be exactly numpy's stable argsort by the float key."""
    rng = np.random.default_rng(seed)
    v = 5000
    key = np.empty(v)
    key[:2000] = 0.37 * (1.0 + rng.integers(0, 2**12, 2000) * 2.0**-52)  # one long run
    key[2000:2100] = 1.5 * (1.0 + rng.integers(0, 8, 100) * 2.0**-52)  # short runs, ties
    key[2100:] = rng.random(v - 2100) ** 4  # spread
    key[rng.integers(0, v, 50)] = 0.0
    seq = rng.permutation(v)[: v - 300]
    out = _build._half_order(seq, key, np.empty(seq.size, np.int64), np.empty(seq.size),
                             np.empty(seq.size, np.uint64))
    np.testing.assert_array_equal(out, seq[np.argsort(key[seq], kind="stable")])


@pytest.mark.parametrize("k", [2, 3])
def test_tokens_below_the_position_resolution_move_the_law_by_at_most_their_target(k):
    """Real next-token laws put mass far below 1e-16 on most of the vocabulary; such a token
    gets a zero-length piece (no float interval is that short), and what it moves the
    selection law is bounded by the targets of those tokens (``_sweep``'s docstring). Both
    the bucketed build (this V) and the full-sort build (V below MIN_VOCAB) are checked."""
    for vocab in (20000, 4000):
        rng = np.random.default_rng(k)
        logits = -6.0 * np.log(np.arange(1.0, vocab + 1)) + rng.normal(0, 0.3, vocab)
        logits = logits[rng.permutation(vocab)]
        draft = 0.85 * logits + rng.normal(0.0, 0.6, vocab)
        p, q = (np.exp(v - v.max()) / np.exp(v - v.max()).sum() for v in (logits, draft))
        t = _table(p, q, k, 0)
        sel, tiny = selected_mass_with_points(t, q, k)
        assert tiny.sum() >= 10  # the instance has what it is about
        err = np.abs(sel - t.x)
        assert err[~tiny].max() <= 1e-12
        assert err[tiny].sum() <= 1e-12  # the whole law moves by less than this
        assert abs(t.alpha - ot_bound(p, q, k).value) <= 1e-12
        v = iid.verify(p, q, iid.draft(q, k, rng=rng, size=2000), rng=rng)
        assert np.all((v.token >= 0) & (v.token < vocab))
