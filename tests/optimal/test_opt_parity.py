"""Parity of specsample.optimal: batched numba kernels against the one-row numpy twins.

Both paths build the pair's table with the same numba kernel; the per-tuple step (positions,
selection, acceptance, residual draw) runs in a numba kernel for batches and in plain Python
for one row. On the same uniforms they must agree bit for bit: random instances of every
kind (Dirichlet, peaked, Zipf, sparse with zeros, ties, point masses, 1e-12 entries,
``p = q``, float32), V up to 300, uniforms at 0 and just below 1, ``p`` and ``q`` with one
row (one table for the batch) or B rows (a table per row), and the without-replacement
fallback forced on.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opt_strategies import FLOAT_KINDS, NEED, edgy_uniforms, make_float_probs

from specsample import SCHEMES
from specsample.optimal import _build

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

CASES = [("opt_iid", k) for k in (1, 2, 3, 4, 6, 8)] + [("opt_wor", k) for k in (1, 2)]


def instance(rng, rows, v, need, relation):
    q = np.stack([make_float_probs(rng.choice(FLOAT_KINDS), v, rng, need=need) for _ in range(rows)])
    p = np.stack([make_float_probs(rng.choice(FLOAT_KINDS), v, rng) for _ in range(rows)])
    if relation == "equal":
        p = q.copy()
    elif relation == "float32":
        p, q = p.astype(np.float32), q.astype(np.float32)
    return p, q


def one_row(module, p2, q2, drafts, u):
    out = []
    for b in range(drafts.shape[0]):
        v = module.verify(p2[b % p2.shape[0]], q2[b % q2.shape[0]], drafts[b], uniforms=u[b])
        assert isinstance(v.token, int) and isinstance(v.index, int)
        out.append((v.token, v.index))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def assert_same(batched, reference):
    assert batched.token.dtype == np.int64 and batched.index.dtype == np.int64
    np.testing.assert_array_equal(batched.token, reference[:, 0])
    np.testing.assert_array_equal(batched.index, reference[:, 1])


@pytest.mark.parametrize(("name", "k"), CASES)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 6),
       v=st.sampled_from((1, 2, 3, 5, 8, 17, 64, 300)),
       relation=st.sampled_from(("independent", "equal", "float32")))
def test_batched_verify_matches_the_one_row_twin(name, k, seed, rows, v, relation):
    module = SCHEMES[name]
    need = NEED[name](k)
    v = max(v, need)
    rng = np.random.default_rng(seed)
    p, q = instance(rng, rows, v, need, relation)
    drafts = module.draft(q, k, uniforms=edgy_uniforms(rng, (rows, k)))
    u = edgy_uniforms(rng, (rows, k + 1))
    assert_same(module.verify(p, q, drafts, uniforms=u), one_row(module, p, q, drafts, u))


@pytest.mark.parametrize(("name", "k"), CASES)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 9), v=st.sampled_from((2, 7, 40, 300)))
def test_one_table_for_a_batch_equals_a_table_per_row(name, k, seed, rows, v):
    """p, q with one row (one table) give what B tiled rows (B tables) and one-row calls give."""
    module = SCHEMES[name]
    rng = np.random.default_rng(seed)
    p, q = instance(rng, 1, max(v, NEED[name](k)), NEED[name](k), "independent")
    drafts = module.draft(q[0], k, size=rows, uniforms=edgy_uniforms(rng, (rows, k)))
    u = edgy_uniforms(rng, (rows, k + 1))
    reference = one_row(module, p, q, drafts, u)
    tp, tq = np.repeat(p, rows, axis=0), np.repeat(q, rows, axis=0)
    for pa, qa in ((p[0], q[0]), (p, q), (tp, q[0]), (p[0], tq), (tp, tq)):
        assert_same(module.verify(pa, qa, drafts, uniforms=u), reference)


@pytest.mark.parametrize("kind", ["zipf", "peaked", "sparse", "tiny", "ties"])
def test_forced_fallback_parity(monkeypatch, kind):
    """The without-replacement fallback (collapsed pairs, the i.i.d. table) agrees too."""
    monkeypatch.setattr(_build, "certified", lambda worst, tol: False)
    module = SCHEMES["opt_wor"]
    rng = np.random.default_rng(FLOAT_KINDS.index(kind))
    p, q = instance(rng, 1, 60, 2, "independent")
    drafts = module.draft(q[0], 2, size=400, uniforms=edgy_uniforms(rng, (400, 2)))
    u = edgy_uniforms(rng, (400, 3))
    batched = module.verify(p[0], q[0], drafts, uniforms=u)
    assert_same(batched, one_row(module, p, q, drafts, u))
    assert module.falls_back(p[0], q[0])


@pytest.mark.parametrize(("name", "k"), CASES)
def test_rng_path_equals_uniforms_path(name, k):
    module = SCHEMES[name]
    rng = np.random.default_rng(2024)
    p, q = instance(rng, 5, 30, NEED[name](k), "independent")
    drafts = module.draft(q, k, rng=np.random.default_rng(1))
    a = module.verify(p, q, drafts, rng=np.random.default_rng(2))
    b = module.verify(p, q, drafts, uniforms=np.random.default_rng(2).random((5, k + 1)))
    np.testing.assert_array_equal(a.token, b.token)
    np.testing.assert_array_equal(a.index, b.index)
