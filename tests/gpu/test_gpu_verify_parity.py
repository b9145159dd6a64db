"""Parity: the torch verifiers return exactly the numpy core's tokens and indices on the
same float64 uniforms (batched numba kernels and the one-row numpy reference), on CPU.

Instances are generated row by row with the structures the core must handle: zeros in p
or q, ties, p == q, one-token supports, tiny probabilities, a dominant hub, entries of
mixed magnitudes (where the order of a sum shows in its last bits), and rows whose sum is
off by less than PROB_SUM_TOL. Uniforms include 0.0 and the largest float below 1, which
exercise the inverse-CDF fallback. Random uniforms almost never land within an ulp of a
decision, so ``test_uniforms_straddling_the_cores_decisions`` puts them there: for each
accept test, residual draw and draft draw it finds, by bisection on the core, the two
adjacent floats between which the core's answer changes, and asks torch at both. The
pieces (lane sums, row sums, SpecHub's rest, K-SEQ's rho and beta) are compared bit for bit
as well.

Residual risk (not covered here, no CUDA device in the test environment): on CUDA,
torch.cumsum along the last dimension is a parallel scan, so sums can differ from the
core's in the last bit and a token can flip when a uniform lands within ~1e-16 of a
decision.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import specsample  # noqa: E402
from specsample import _checks as core_checks  # noqa: E402
from specsample import _sampling as core_sampling  # noqa: E402
from specsample import gpu  # noqa: E402

LARGEST_BELOW_ONE = np.nextafter(1.0, 0.0)
KS = {"single": (1,), "rrs": (1, 2, 3), "rrsw": (1, 2, 3), "spechub": (1, 2), "kseq": (1, 2, 3, 5)}


def _row(rng: np.random.Generator, vocab: int, kind: int) -> np.ndarray:
    """One probability row of a given structure (kind cycles through the cases)."""
    kind = kind % 9
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
    elif kind == 7:  # near uniform
        x = 1.0 + 1e-3 * rng.random(vocab)
    else:  # mixed magnitudes: the order of a sum shows in its last bits
        x = rng.random(vocab) * 10.0 ** rng.uniform(-9, 0, vocab)
    x = x / x.sum()
    if rng.random() < 0.2:  # off by less than PROB_SUM_TOL: read as proportional
        x = x * (1.0 + 5e-4 * rng.uniform(-1, 1))
    return x


def _instances(rng: np.random.Generator, rows: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    p = np.stack([_row(rng, vocab, rng.integers(9)) for _ in range(rows)])
    q = np.stack([_row(rng, vocab, rng.integers(9)) for _ in range(rows)])
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
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


def _band_rich(rng: np.random.Generator, rows: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Targets and drafts close to each other, so that many tokens have 1 < p/q < k (the
    band K-SEQ's bisection sums and folds) alongside low and high tokens."""
    p, q = _instances(rng, rows, vocab)
    q = 0.6 * p + 0.4 * q
    q[rng.random(rows) < 0.2] *= 1.0 + 4e-4  # off by less than PROB_SUM_TOL
    return p, q


@pytest.mark.parametrize("vocab", [10, 71, 300])
def test_kseq_rho_matches_core_rho_star(vocab):
    """(rho, deficit) per row equals the core's numba ``_rho_star`` and its numpy twin, bit for
    bit, on rows normalised as every path normalises them (row sums in lane order)."""
    rng = np.random.default_rng(11)
    for k in (1, 2, 3, 7, 40):
        p, q = _band_rich(rng, 60, vocab)
        sp, sq = core_checks.probs(p, "p")[1], core_checks.probs(q, "q")[1]
        p_t, q_t = torch.from_numpy(p), torch.from_numpy(q)
        p_hat = p_t * gpu._sampling.reciprocal(gpu._sampling.lane_sums(p_t))[:, None]
        q_hat = q_t * gpu._sampling.reciprocal(gpu._sampling.lane_sums(q_t))[:, None]
        rho, deficit = gpu.kseq.rho_star(p_hat, q_hat, k)
        bp, bq = np.empty(vocab), np.empty(vocab)
        for b in range(p.shape[0]):
            want = specsample.kseq._rho_star_numpy(p[b], q[b], sp[b], sq[b], k)
            assert specsample.kseq._rho_star(p[b], q[b], sp[b], sq[b], k, bp, bq) == want
            assert (float(rho[b]), float(deficit[b])) == want, (k, b)


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


# ---------------------------------------------------------------- the pieces, bit for bit
@pytest.mark.parametrize("vocab", [1, 2, 31, 32, 33, 64, 71, 300, 4099])
def test_lane_sums_match_the_cores_lane_sum(vocab):
    rng = np.random.default_rng(vocab)
    x = rng.random((20, vocab)) * 10.0 ** rng.uniform(-12, 0, (20, vocab))
    x[::3] *= rng.random((7, vocab)) < 0.3  # zeros
    got = gpu._sampling.lane_sums(torch.from_numpy(x)).numpy()
    want = np.array([core_sampling.lane_sum(row) for row in x])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_row_sums_and_normalised_rows_match_the_core(name):
    """``sp``, ``sq`` are the sums of the core's validating scan, and ``p_hat = p * (1 / sp)``
    is the core kernels' normalisation (a reciprocal per row, then a multiply)."""
    rng = np.random.default_rng(2)
    k = max(KS[name][:2])
    p, q = _instances(rng, 200, 71)
    keep = _supported(q, k, name)
    p, q = p[keep], q[keep]
    drafts = specsample.SCHEMES[name].draft(q, k, rng=rng)
    p_t, q_t, d_t = torch.from_numpy(p), torch.from_numpy(q), torch.from_numpy(drafts)
    call = gpu._api.prepare_verify(p_t, q_t, d_t, None, torch.full((p.shape[0], k + 1), 0.5), True,
                                   core=specsample.SCHEMES[name])
    sp, sq = core_checks.probs(p, "p")[1], core_checks.probs(q, "q")[1]
    np.testing.assert_array_equal(call.sp.numpy(), sp)
    np.testing.assert_array_equal(call.sq.numpy(), sq)
    np.testing.assert_array_equal(call.p_hat.numpy(), p * (1.0 / sp)[:, None])
    np.testing.assert_array_equal(call.q_hat.numpy(), q * (1.0 / sq)[:, None])


def test_spechub_hub_and_rest_match_the_core():
    """Including rows where q(a) is within 1e-3 of the total and the rest is summed afresh."""
    rng = np.random.default_rng(4)
    _, q = _instances(rng, 300, 71)
    q[::4, 5] += 1e4 * q[::4].sum(axis=1)  # a dominant hub: 1 - q(a) < 1e-3
    q /= q.sum(axis=1, keepdims=True)
    sq = core_checks.probs(q, "q")[1]
    hub, rest = core_checks.hub_and_rest(q, sq)
    assert np.count_nonzero(rest < 1e-3 * sq) >= 60  # the re-summed branch is exercised
    got_hub, got_rest = gpu.spechub.hub_and_rest(torch.from_numpy(q), torch.from_numpy(sq))
    np.testing.assert_array_equal(got_hub.numpy(), hub)
    np.testing.assert_array_equal(got_rest.numpy(), rest)


def test_sum_tolerance_boundary_is_the_cores():
    """A row scaled to the edge of PROB_SUM_TOL: at the largest scale the core accepts, torch
    accepts; at the next float up both raise the same ValueError (the row sum that decides is
    the lane sum of the core's scan, not a sequential one)."""
    rng = np.random.default_rng(8)
    core, torch_scheme = specsample.SCHEMES["single"], gpu.SCHEMES["single"]

    def core_accepts(x):
        try:
            core_checks.probs(x, "q")
        except ValueError:
            return False
        return True

    for _ in range(20):
        row = rng.random(71) * 10.0 ** rng.uniform(-9, 0, 71)
        row /= row.sum()
        lo, hi = _straddle(lambda s, row=row: core_accepts(row * s), 1.0, 1.01)
        ok, bad = row * lo, row * hi
        assert core_accepts(ok) and not core_accepts(bad)
        u = np.array([[0.25]])
        torch_scheme.draft(torch.from_numpy(ok)[None], 1, uniforms=u)  # must not raise
        with pytest.raises(ValueError) as core_err:
            core.draft(bad[None], 1, uniforms=u)
        with pytest.raises(ValueError) as torch_err:
            torch_scheme.draft(torch.from_numpy(bad)[None], 1, uniforms=u)
        assert str(torch_err.value) == str(core_err.value)


# ---------------------------------------------------------------- uniforms on the decisions
def _straddle(outcome, lo: float, hi: float) -> tuple[float, float]:
    """Adjacent floats ``a < b`` in [lo, hi] with ``outcome(a) == outcome(lo) != outcome(b)``,
    by bisection on the bit patterns of non-negative floats (ordered like the floats);
    ``outcome(lo) != outcome(hi)`` is required."""
    first = outcome(lo)
    a, b = np.array([lo, hi], dtype=np.float64).view(np.int64)
    while b - a > 1:
        mid = (a + b) // 2
        if outcome(np.int64(mid).view(np.float64)) == first:
            a = mid
        else:
            b = mid
    return float(np.int64(a).view(np.float64)), float(np.int64(b).view(np.float64))


def _decision_uniforms(outcome, u: np.ndarray, column: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Uniform vectors that differ from ``u`` in ``column`` only, in adjacent pairs that
    straddle each change of ``outcome`` found between 0, two random points and the largest
    float below 1."""

    def at(v: float) -> np.ndarray:
        w = u.copy()
        w[column] = v
        return w

    def result(v: float):
        return outcome(at(v))

    points = sorted([0.0, *rng.random(2), LARGEST_BELOW_ONE])
    out = []
    for lo, hi in itertools.pairwise(points):
        if result(lo) != result(hi):
            out.extend(at(v) for v in _straddle(result, lo, hi))
    return out


def _verify_decisions(core, p, q, drafts, rng) -> list[np.ndarray]:
    """Verify uniforms (k + 1,) straddling the core's decisions on one row: each accept test
    (the drafts before it rejected where possible) and the residual draw (all rejected)."""
    k = drafts.shape[0]

    def verdict(u):
        v = core.verify(p, q, drafts, uniforms=u)
        return v.token, v.index

    found = []
    for j in range(k + 1):
        u = rng.random(k + 1)
        u[:j] = LARGEST_BELOW_ONE  # u < ratio fails unless the ratio is at least 1
        found += _decision_uniforms(verdict, u, j, rng)
    return found


def _draft_decisions(core, q, k, rng) -> list[np.ndarray]:
    """Draft uniforms (k,) straddling a change of the core's drafts in each column."""

    def drawn(u):
        return tuple(core.draft(q, k, uniforms=u))

    return [w for j in range(k) for w in _decision_uniforms(drawn, rng.random(k), j, rng)]


@pytest.mark.parametrize("name", list(gpu.SCHEMES))
def test_uniforms_straddling_the_cores_decisions(name):
    """Every accept test, the residual draw and every draft draw, at the two adjacent floats
    where the core's answer changes: torch gives the core's answer at both. A last-bit
    difference in any mass, ratio, rho or threshold flips one of them."""
    core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
    rng = np.random.default_rng([17, len(name)])
    for vocab in (5, 71):
        for k in KS[name][:3]:
            p, q = _instances(rng, 16, vocab)
            keep = _supported(q, k, name)
            p, q = p[keep], q[keep]
            drafts = core.draft(q, k, rng=rng)
            found = [(b, u) for b in range(p.shape[0]) for u in _verify_decisions(core, p[b], q[b], drafts[b], rng)]
            idx, u = np.array([b for b, _ in found]), np.stack([u for _, u in found])
            assert idx.size >= 20, (vocab, k, idx.size)
            # the batched kernel agrees with the one-row reference that found the points
            expected = core.verify(p[idx], q[idx], drafts[idx], uniforms=u)
            for n in range(idx.size):
                one = core.verify(p[idx[n]], q[idx[n]], drafts[idx[n]], uniforms=u[n])
                assert (one.token, one.index) == (expected.token[n], expected.index[n])
            got = torch_scheme.verify(
                torch.from_numpy(p[idx]), torch.from_numpy(q[idx]), torch.from_numpy(drafts[idx]),
                uniforms=torch.from_numpy(u),
            )
            _assert_same(expected, got)

            found = [(b, u) for b in range(q.shape[0]) for u in _draft_decisions(core, q[b], k, rng)]
            idx, u = np.array([b for b, _ in found]), np.stack([u for _, u in found])
            assert idx.size >= 10, (vocab, k, idx.size)
            want = core.draft(q[idx], k, uniforms=u)
            got_drafts = torch_scheme.draft(torch.from_numpy(q[idx]), k, uniforms=torch.from_numpy(u))
            np.testing.assert_array_equal(got_drafts.numpy(), want)
