"""Parity: the torch verifiers return exactly the numpy core's tokens and indices on the
same float64 uniforms (batched numba kernels and the one-row numpy reference).

Instances are generated row by row with the structures the core must handle: zeros in p
or q, ties, p == q, one-token supports, tiny probabilities, a dominant hub, and rows whose
sum is off by less than PROB_SUM_TOL. Uniforms include 0.0 and the largest float below 1,
which exercise the inverse-CDF fallback. Residual risk (not covered here): on CUDA,
torch.cumsum is a parallel scan, so sums can differ from the core's in the last bit and a
token can flip when a uniform lands within ~1e-16 of a boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import specsample  # noqa: E402
from specsample import gpu  # noqa: E402

LARGEST_BELOW_ONE = np.nextafter(1.0, 0.0)
KS = {"single": (1,), "rrs": (1, 2, 3), "rrsw": (1, 2, 3), "spechub": (1, 2), "kseq": (1, 2, 3, 5)}


def _row(rng: np.random.Generator, vocab: int, kind: int) -> np.ndarray:
    """One probability row of a given structure (kind cycles through the cases)."""
    kind = kind % 8
    if kind == 0:  # dense, skewed
        x = rng.random(vocab) ** 4
    elif kind == 1:  # sparse: about half the tokens zero
        x = rng.random(vocab) * (rng.random(vocab) < 0.5)
        x[rng.integers(vocab)] = 0.5
    elif kind == 2:  # ties: few distinct values
        x = rng.integers(0, 3, vocab).astype(float)
        x[rng.integers(vocab)] = 2.0
    elif kind == 3:  # one-token support
        x = np.zeros(vocab)
        x[rng.integers(vocab)] = 1.0
    elif kind == 4:  # tiny probabilities next to ordinary ones
        x = rng.random(vocab) * 1e-300
        x[rng.integers(vocab, size=2)] = rng.random(2)
    elif kind == 5:  # a dominant token (hub with q(a) close to 1)
        x = rng.random(vocab) * 1e-12
        x[rng.integers(vocab)] = 1.0
    elif kind == 6:  # two tokens only
        x = np.zeros(vocab)
        x[rng.choice(vocab, 2, replace=False)] = rng.random(2) + 0.1
    else:  # near uniform
        x = 1.0 + 1e-3 * rng.random(vocab)
    x = x / x.sum()
    if rng.random() < 0.2:  # off by less than PROB_SUM_TOL: read as proportional
        x = x * (1.0 + 5e-4 * rng.uniform(-1, 1))
    return x


def _instances(rng: np.random.Generator, rows: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    p = np.stack([_row(rng, vocab, rng.integers(8)) for _ in range(rows)])
    q = np.stack([_row(rng, vocab, rng.integers(8)) for _ in range(rows)])
    same = rng.random(rows) < 0.1  # p == q
    p[same] = q[same]
    return p, q


def _uniforms(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    u = rng.random(shape)
    u[rng.random(shape) < 0.05] = 0.0
    u[rng.random(shape) < 0.05] = LARGEST_BELOW_ONE
    return u


def _supported(q: np.ndarray, k: int, name: str) -> np.ndarray:
    need = gpu.SCHEMES[name].min_support(k)
    return (q > 0).sum(axis=1) >= need


def _assert_same(core_verdict, torch_verdict) -> None:
    np.testing.assert_array_equal(torch_verdict.token.cpu().numpy(), core_verdict.token)
    np.testing.assert_array_equal(torch_verdict.index.cpu().numpy(), core_verdict.index)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
@pytest.mark.parametrize("vocab", [2, 5, 33])
def test_draft_and_verify_match_core_on_shared_uniforms(name, vocab):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng([vocab, len(name)])
    for k in KS[name]:
        p, q = _instances(rng, 400, vocab)
        keep = _supported(q, k, name)
        p, q = p[keep], q[keep]
        if p.shape[0] == 0:
            continue
        ud = _uniforms(rng, (p.shape[0], k))
        drafts = core.draft(q, k, uniforms=ud)
        np.testing.assert_array_equal(
            torch_scheme.draft(torch.from_numpy(q), k, uniforms=torch.from_numpy(ud)).numpy(), drafts
        )
        uv = _uniforms(rng, (p.shape[0], k + 1))
        expected = core.verify(p, q, drafts, uniforms=uv)
        got = torch_scheme.verify(
            torch.from_numpy(p), torch.from_numpy(q), torch.from_numpy(drafts), uniforms=uv
        )
        _assert_same(expected, got)
        # the core's one-row numpy reference agrees too (it is bit-identical to its kernels)
        for b in range(0, p.shape[0], 37):
            one = core.verify(p[b], q[b], drafts[b], uniforms=uv[b])
            assert (int(got.token[b]), int(got.index[b])) == (one.token, one.index)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
def test_one_row_p_or_q_broadcasts_like_core(name):
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng(7)
    k = max(KS[name][:2])
    p, q = _instances(rng, 60, 9)
    q = q[_supported(q, k, name)][:1]
    drafts = core.draft(q[0], k, uniforms=None, rng=rng, size=40)
    uv = _uniforms(rng, (40, k + 1))
    for p_rows in (p[:1], p[:40]):
        expected = core.verify(p_rows, q, drafts, uniforms=uv)
        got = torch_scheme.verify(
            torch.from_numpy(p_rows), torch.from_numpy(q), torch.from_numpy(drafts), uniforms=uv
        )
        _assert_same(expected, got)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
def test_full_qwen_vocabulary_matches_core(name):
    """V = 151936 (Qwen2.5's padded vocabulary), Zipf-like rows as a language model gives."""
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng(151936)
    vocab, rows, k = 151936, 6, max(KS[name][:2])
    ranks = np.arange(1, vocab + 1, dtype=float)
    p = np.stack([1.0 / rng.permutation(ranks) ** 1.1 for _ in range(rows)])
    q = np.stack([1.0 / rng.permutation(ranks) ** 1.3 for _ in range(rows)])
    q[:3] = 0.7 * p[:3] + 0.3 * q[:3]  # drafts that overlap the target
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    drafts = core.draft(q, k, uniforms=_uniforms(rng, (rows, k)))
    uv = _uniforms(rng, (rows, k + 1))
    expected = core.verify(p, q, drafts, uniforms=uv)
    got = torch_scheme.verify(torch.from_numpy(p), torch.from_numpy(q), torch.from_numpy(drafts), uniforms=uv)
    _assert_same(expected, got)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
def test_low_precision_inputs_are_upcast_before_residuals(name, dtype):
    """Dyadic probabilities (multiples of 1/64) are exact in every dtype: the torch verifier
    on the low-precision tensor must equal the core on the float64 values."""
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng(16)
    rows, vocab, k = 200, 8, max(KS[name][:2])

    def dyadic():
        counts = rng.multinomial(64, rng.dirichlet(np.ones(vocab) * 0.5), size=rows)
        return counts / 64.0

    p, q = dyadic(), dyadic()
    keep = _supported(q, k, name)
    p, q = p[keep], q[keep]
    drafts = core.draft(q, k, uniforms=_uniforms(rng, (p.shape[0], k)))
    uv = _uniforms(rng, (p.shape[0], k + 1))
    expected = core.verify(p, q, drafts, uniforms=uv)
    low_p, low_q = torch.from_numpy(p).to(dtype), torch.from_numpy(q).to(dtype)
    np.testing.assert_array_equal(low_p.double().numpy(), p)  # the values really are exact
    got = torch_scheme.verify(low_p, low_q, torch.from_numpy(drafts), uniforms=uv)
    _assert_same(expected, got)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
def test_generator_draws_uniforms_in_the_documented_layout(name):
    """``generator=g`` equals ``uniforms=torch.rand((N, k + 1), generator=g, float64)``."""
    torch_scheme = gpu.SCHEMES[name]
    rng = np.random.default_rng(3)
    k = max(KS[name][:2])
    p, q = _instances(rng, 50, 6)
    keep = _supported(q, k, name)
    p, q = torch.from_numpy(p[keep]), torch.from_numpy(q[keep])
    drafts = torch_scheme.draft(q, k, generator=torch.Generator().manual_seed(1))
    again = torch_scheme.draft(
        q, k, uniforms=torch.rand((q.shape[0], k), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    )
    torch.testing.assert_close(drafts, again, rtol=0, atol=0)
    got = torch_scheme.verify(p, q, drafts, generator=torch.Generator().manual_seed(2))
    u = torch.rand((q.shape[0], k + 1), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    ref = torch_scheme.verify(p, q, drafts, uniforms=u)
    torch.testing.assert_close(got.token, ref.token, rtol=0, atol=0)
    torch.testing.assert_close(got.index, ref.index, rtol=0, atol=0)


@pytest.mark.parametrize("name", list(specsample.SCHEMES))
def test_validate_false_gives_the_same_answer_on_valid_input(name):
    torch_scheme = gpu.SCHEMES[name]
    rng = np.random.default_rng(5)
    k = max(KS[name][:2])
    p, q = _instances(rng, 80, 7)
    keep = _supported(q, k, name)
    p, q = torch.from_numpy(p[keep]), torch.from_numpy(q[keep])
    ud = torch.from_numpy(_uniforms(rng, (q.shape[0], k)))
    uv = torch.from_numpy(_uniforms(rng, (q.shape[0], k + 1)))
    drafts = torch_scheme.draft(q, k, uniforms=ud)
    torch.testing.assert_close(torch_scheme.draft(q, k, uniforms=ud, validate=False), drafts, rtol=0, atol=0)
    a = torch_scheme.verify(p, q, drafts, uniforms=uv)
    b = torch_scheme.verify(p, q, drafts, uniforms=uv, validate=False)
    torch.testing.assert_close(a.token, b.token, rtol=0, atol=0)
    torch.testing.assert_close(a.index, b.index, rtol=0, atol=0)


def test_kseq_rho_matches_core_rho_star():
    rng = np.random.default_rng(11)
    for k in (1, 2, 3, 7, 40):
        p, q = _instances(rng, 120, 10)
        p_hat = p / np.cumsum(p, axis=1)[:, -1:]  # the core normalises by sequential sums
        q_hat = q / np.cumsum(q, axis=1)[:, -1:]
        rho, beta = gpu.kseq.rho_star(torch.from_numpy(p_hat), torch.from_numpy(q_hat), k)
        for b in range(p.shape[0]):
            want_rho, want_beta = specsample.kseq._rho_star_numpy(p_hat[b], q_hat[b], k)
            assert float(rho[b]) == want_rho
            assert float(beta[b]) == want_beta


def test_kseq_round_bound_covers_the_core_loop():
    """Regression guard for the precomputed number of bisection rounds: with the core's
    stopping rule every row must stop within ``_rounds(k)`` rounds."""
    for k in (2, 3, 10, 100, 1000):
        lo, hi, rounds = 1.0, float(k), 0
        while not hi - lo <= specsample.kseq.RHO_RTOL * hi:
            mid = 0.5 * (lo + hi)
            if mid <= lo or mid >= hi:
                break
            lo = mid  # the slowest case: the root sits at the top end
            rounds += 1
        assert rounds < gpu.kseq._rounds(k)
