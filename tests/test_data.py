"""The shipped real-pairs file: loads, is well formed, and every pair is a valid instance."""

from __future__ import annotations

import json

import numpy as np
import pytest

from specsample import _checks
from specsample.data import DATA_FILE, load_pairs

TEMPERATURES = (0.6, 1.0)


@pytest.fixture(scope="module")
def pairs():
    return load_pairs()


def test_file_is_at_most_10_mb():
    assert DATA_FILE.stat().st_size <= 10 * 1024 * 1024


def test_at_least_256_pairs_at_each_temperature(pairs):
    assert pairs.temperatures == TEMPERATURES
    for t in TEMPERATURES:
        assert len(pairs.select(temperature=t)) >= 256


def test_every_p_and_q_is_a_probability_vector(pairs):
    for pair in pairs:
        for law in (pair.p, pair.q):
            _checks.probs(law, "law", ndims=(1,))  # raises on a bad vector
            assert law.dtype == np.float64
            assert abs(law.sum() - 1.0) < 1e-12
        assert pair.p.shape == pair.q.shape == pair.token_ids.shape


def test_token_ids_are_kept_tokens_then_numbered_buckets(pairs):
    vocab = pairs.meta["vocab"]
    for pair in pairs:
        kept = pair.kept_ids
        assert kept.size >= 1
        assert np.all(np.diff(kept) > 0)
        assert kept[0] >= 0 and kept[-1] < vocab
        assert 0 <= pair.n_buckets <= pairs.meta["buckets"]
        np.testing.assert_array_equal(pair.token_ids[kept.size :], -np.arange(1, pair.n_buckets + 1))


def test_tail_fields_match_the_buckets(pairs):
    tail = pairs.meta["tail"]
    for pair in pairs:
        buckets = slice(pair.size - pair.n_buckets, None)
        np.testing.assert_allclose(pair.p_tail, pair.p[buckets].sum(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(pair.q_tail, pair.q[buckets].sum(), rtol=1e-12, atol=0)
        # each bucket carries mass under at least one model
        assert np.all((pair.p[buckets] > 0) | (pair.q[buckets] > 0))
        # each model kept its top set of mass >= 1 - tail unless the cap stopped it
        if pair.kept_ids.size < pairs.meta["cap"]:
            assert max(pair.p_tail, pair.q_tail) <= tail + 1e-12


def test_buckets_are_in_ratio_order(pairs):
    """Buckets hold consecutive runs of tokens sorted by p/q, so their own ratios ascend."""
    for pair in pairs:
        bp = pair.p[pair.size - pair.n_buckets :]
        bq = pair.q[pair.size - pair.n_buckets :]
        ratio = np.where(bq > 0, bp / np.where(bq > 0, bq, 1.0), np.inf)
        assert np.all(np.diff(ratio) >= -1e-9 * np.abs(ratio[:-1]))


def test_greedy_tokens_are_kept(pairs):
    """Both models' argmax carries the most mass, so it is always among the kept tokens."""
    for pair in pairs:
        ids = list(pair.token_ids)
        assert pair.target_argmax in ids and pair.draft_argmax in ids
        assert pair.p[ids.index(pair.target_argmax)] == pair.p[:-1].max()
        assert pair.q[ids.index(pair.draft_argmax)] == pair.q[:-1].max()


def test_emitted_token_has_positive_target_mass(pairs):
    """The target sampled emitted_token from p, so p gives it positive mass (kept or bucketed)."""
    for pair in pairs:
        hits = np.flatnonzero(pair.kept_ids == pair.emitted_token)
        mass = pair.p[hits[0]] if hits.size else pair.p_tail
        assert mass > 0


def test_metadata_is_consistent(pairs):
    meta = pairs.meta
    summary = meta["summary"]
    assert summary["pairs"] == len(pairs)
    for t in TEMPERATURES:
        assert summary["pairs_per_temperature"][str(t)] == len(pairs.select(temperature=t))
    sizes = np.array([pair.size for pair in pairs])
    assert summary["mean_kept_outcomes"] == pytest.approx(sizes.mean(), rel=1e-12)
    assert summary["max_p_tail"] == pytest.approx(max(pair.p_tail for pair in pairs), rel=1e-12)
    assert summary["mean_buckets"] == pytest.approx(np.mean([pair.n_buckets for pair in pairs]), rel=1e-12)
    assert meta["temperatures"] == list(TEMPERATURES)
    kinds = {prompt.kind for prompt in pairs.prompts}
    assert {"code", "prose"} <= kinds
    for t in TEMPERATURES:
        agree = np.mean([pair.target_argmax == pair.draft_argmax for pair in pairs.select(temperature=t)])
        assert summary["greedy_agreement"][str(t)] == pytest.approx(agree, rel=1e-12)
    # positions run 0..positions-1 along each (prompt, temperature) continuation
    for pair in pairs:
        assert 0 <= pair.position < meta["positions_per_prompt"]
        assert pair.context_len > pair.position


def test_full_vocab_check_recorded_and_within_the_proven_slack(pairs):
    check = pairs.meta["full_vocab_check"]
    assert check["pairs_checked"] >= 8
    for k in (1, 2, 3, 4):
        assert check[f"iid_bound_k{k}"]["within_0_and_slack"] is True


def test_select_by_kind_and_bad_selections(pairs):
    code = pairs.select(kind="code")
    assert len(code) > 0 and all(pair.prompt.kind == "code" for pair in code)
    with pytest.raises(ValueError, match="temperature"):
        pairs.select(temperature=0.7)
    with pytest.raises(ValueError, match="kind"):
        pairs.select(kind="poetry")
    with pytest.raises(TypeError, match="temperature"):
        pairs.select(temperature="hot")


def test_arrays_are_read_only(pairs):
    with pytest.raises(ValueError):
        pairs[0].p[0] = 0.5


def test_a_pair_runs_through_a_verifier(pairs):
    """A stored pair is a valid (target, draft) input to the core schemes."""
    from specsample import rrs

    pair = pairs.select(temperature=1.0)[0]
    rate = rrs.acceptance_rate(pair.p, pair.q, 2)
    assert 0.0 < rate <= 1.0


def test_missing_file_and_malformed_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_pairs(path=tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    np.savez(bad, offsets=np.array([0, 1]))
    with pytest.raises(ValueError, match="missing arrays"):
        load_pairs(path=bad)


def test_offsets_that_do_not_cover_the_arrays_are_rejected(tmp_path):
    with np.load(DATA_FILE, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["offsets"] = arrays["offsets"].copy()
    arrays["offsets"][-1] -= 1
    broken = tmp_path / "broken.npz"
    np.savez(broken, **arrays)
    with pytest.raises(ValueError, match="offsets"):
        load_pairs(path=broken)


def test_meta_is_json_with_model_hashes():
    with np.load(DATA_FILE, allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
    from specsample.models import PAIRS

    assert meta["target_gguf_sha256"] == PAIRS["qwen2.5-coder"].target.sha256
    assert meta["draft_gguf_sha256"] == PAIRS["qwen2.5-coder"].draft.sha256
