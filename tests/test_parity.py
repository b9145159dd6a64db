"""Parity: the batched numba kernels against the one-row numpy reference.

Every scheme runs a plain-numpy reference for one row and numba kernels for a batch; both
consume the same uniforms the same way, so on the same uniforms they must return the same
tokens and indices, bit for bit. Checked for every scheme and k on random instances
(Dirichlet, Zipf, sparse with zeros, ties, point masses, 1e-12 entries, p = q, float32
input, V up to 300, uniforms at 0 and just below 1), for p and q given with 1 row
(broadcast) or B rows, and for the ``size=`` path against tiling q.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOAT_KINDS, make_float_probs

from specsample import SCHEMES

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

DISTINCT = {"rrsw", "spechub", "opt_wor"}
CASES = [
    (name, k)
    for name, module in SCHEMES.items()
    for k in range(1, (4 if module.MAX_K is None else module.MAX_K) + 1)
]

#: The largest double below 1: a valid uniform that pushes inversion to the last token.
BELOW_ONE = np.nextafter(1.0, 0.0)


def _need(name: str, k: int) -> int:
    return k if name in DISTINCT else 1


def instance(rng: np.random.Generator, rows: int, v: int, need: int, relation: str):
    """``(p, q)`` of shape (rows, v): rows of random kinds; ``relation`` makes ``q = p``
    (``equal``) or casts both to float32 (``float32``)."""
    q = np.stack([make_float_probs(rng.choice(FLOAT_KINDS), v, rng, need=need)
                  for _ in range(rows)])
    p = np.stack([make_float_probs(rng.choice(FLOAT_KINDS), v, rng) for _ in range(rows)])
    if relation == "equal":
        p = q.copy()
    elif relation == "float32":
        p, q = p.astype(np.float32), q.astype(np.float32)
        for row in q:  # entries below 1e-45 underflow to 0: keep `need` tokens drawable
            short = need - np.count_nonzero(row)
            if short > 0:
                row[np.flatnonzero(row == 0)[:short]] = 1e-6
    return p, q


def uniforms(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniforms with about one entry in eight set to 0 or to the largest double below 1."""
    u = rng.random(shape)
    edge = rng.random(shape)
    u[edge < 1 / 16] = 0.0
    u[(edge >= 1 / 16) & (edge < 1 / 8)] = BELOW_ONE
    return u


def one_row_drafts(module, q2, k, u):
    return np.stack([module.draft(q2[b], k, uniforms=u[b]) for b in range(u.shape[0])])


def one_row_verdicts(module, p2, q2, drafts, u):
    """Tokens and indices from one-row calls; p2, q2 with 1 row are reused for every row."""
    out = []
    for b in range(drafts.shape[0]):
        v = module.verify(p2[b % p2.shape[0]], q2[b % q2.shape[0]], drafts[b], uniforms=u[b])
        assert isinstance(v.token, int) and isinstance(v.index, int)
        out.append((v.token, v.index))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def assert_verdicts_equal(batched, reference) -> None:
    assert batched.token.dtype == np.int64 and batched.index.dtype == np.int64
    np.testing.assert_array_equal(batched.token, reference[:, 0])
    np.testing.assert_array_equal(batched.index, reference[:, 1])


@pytest.mark.parametrize(("name", "k"), CASES)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    v=st.sampled_from((1, 2, 3, 5, 8, 17, 64, 300)),
    relation=st.sampled_from(("independent", "equal", "float32")),
)
def test_batched_draft_and_verify_match_one_row_reference(name, k, seed, rows, v, relation):
    module = SCHEMES[name]
    need = _need(name, k)
    if v < need:
        v = need
    rng = np.random.default_rng(seed)
    p, q = instance(rng, rows, v, need, relation)
    u_draft = uniforms(rng, (rows, k))
    drafts = module.draft(q, k, uniforms=u_draft)
    assert drafts.shape == (rows, k) and drafts.dtype == np.int64
    np.testing.assert_array_equal(drafts, one_row_drafts(module, q, k, u_draft))
    u_verify = uniforms(rng, (rows, k + 1))
    verdict = module.verify(p, q, drafts, uniforms=u_verify)
    assert_verdicts_equal(verdict, one_row_verdicts(module, p, q, drafts, u_verify))


@pytest.mark.parametrize(("name", "k"), CASES)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 8),
       v=st.sampled_from((2, 3, 7, 40, 300)))
def test_one_row_p_q_broadcast_like_tiled_rows(name, k, seed, rows, v):
    """p, q with one row and drafts (B, k) give what the B-row tiles give, and what one-row
    calls give; ``size=B`` drafting equals drafting from q tiled B times."""
    module = SCHEMES[name]
    rng = np.random.default_rng(seed)
    p, q = instance(rng, 1, max(v, _need(name, k)), _need(name, k), "independent")
    u_draft = uniforms(rng, (rows, k))
    drafts = module.draft(q[0], k, size=rows, uniforms=u_draft)
    tiled_q = np.repeat(q, rows, axis=0)
    tiled_p = np.repeat(p, rows, axis=0)
    np.testing.assert_array_equal(drafts, module.draft(tiled_q, k, uniforms=u_draft))
    np.testing.assert_array_equal(drafts, module.draft(q, k, size=rows, uniforms=u_draft))
    u_verify = uniforms(rng, (rows, k + 1))
    reference = one_row_verdicts(module, p, q, drafts, u_verify)
    for p_arg, q_arg in ((p[0], q[0]), (p, q), (tiled_p, q[0]), (p[0], tiled_q),
                         (tiled_p, tiled_q)):
        assert_verdicts_equal(module.verify(p_arg, q_arg, drafts, uniforms=u_verify), reference)


@pytest.mark.parametrize(("name", "k"), CASES)
@pytest.mark.parametrize("kind", ["zipf", "peaked", "sparse", "tiny"])
def test_parity_at_v_300_on_many_rows(name, k, kind):
    """64 rows of V = 300 of one kind, p and q independent: the bulk case."""
    module = SCHEMES[name]
    rng = np.random.default_rng([k, len(name), FLOAT_KINDS.index(kind)])
    q = np.stack([make_float_probs(kind, 300, rng, need=_need(name, k)) for _ in range(64)])
    p = np.stack([make_float_probs(kind, 300, rng) for _ in range(64)])
    u_draft = uniforms(rng, (64, k))
    drafts = module.draft(q, k, uniforms=u_draft)
    np.testing.assert_array_equal(drafts, one_row_drafts(module, q, k, u_draft))
    u_verify = uniforms(rng, (64, k + 1))
    verdict = module.verify(p, q, drafts, uniforms=u_verify)
    assert_verdicts_equal(verdict, one_row_verdicts(module, p, q, drafts, u_verify))


@pytest.mark.parametrize(("name", "k"), CASES)
def test_rng_path_equals_uniforms_path(name, k):
    """``rng=`` draws its uniforms with ``rng.random(shape)``: the same generator state
    passed as uniforms gives the same drafts and verdicts (batched and one row)."""
    module = SCHEMES[name]
    rng = np.random.default_rng(2024)
    p, q = instance(rng, 5, 30, _need(name, k), "independent")
    drafts = module.draft(q, k, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(
        drafts, module.draft(q, k, uniforms=np.random.default_rng(1).random((5, k))))
    verdict = module.verify(p, q, drafts, rng=np.random.default_rng(2))
    again = module.verify(p, q, drafts, uniforms=np.random.default_rng(2).random((5, k + 1)))
    np.testing.assert_array_equal(verdict.token, again.token)
    np.testing.assert_array_equal(verdict.index, again.index)
    one = module.verify(p[0], q[0], drafts[0], rng=np.random.default_rng(3))
    same = module.verify(p[0], q[0], drafts[0],
                         uniforms=np.random.default_rng(3).random(k + 1))
    assert (one.token, one.index) == (same.token, same.index)
