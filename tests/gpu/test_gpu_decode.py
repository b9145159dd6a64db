"""The token-tree decode loop on tiny models built from a config (CPU, float64).

* the 4-D tree mask gives every node the logits of its own root-to-node path;
* greedy speculative decoding reproduces the target's own greedy ``generate``;
* after every step both KV caches continue exactly like a fresh forward over the committed
  tokens;
* sampling: the joint law of the first two tokens matches autoregressive sampling from the
  target (``specsample.testing.assert_follows``, false-alarm budget 1e-6 per test).
"""

from __future__ import annotations

import copy
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _gpu_models import (  # noqa: E402
    PROMPT,
    VOCAB,
    greedy_reference,
    last_logits,
    noisy_copy,
    target_and_draft,
    tiny_lm,
    two_token_law,
)
from specsample.gpu import SCHEMES, SpeculativeDecoder, Tree, _hf  # noqa: E402

from specsample.testing import assert_follows  # noqa: E402

BUDGET = 1e-6  # false-alarm probability of each statistical test


# ---------------------------------------------------------------- the mask
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_tree_mask_gives_each_node_the_logits_of_its_own_path(attn):
    model = tiny_lm(0, attn=attn)
    tree = Tree.from_parents([-1, 0, 0, 1, 1, 1, 3, 4])
    prefix = PROMPT.tolist()
    tokens = torch.tensor([prefix[-1], 7, 2, 7, 9, 0, 11, 4])  # repeated tokens on purpose
    with torch.inference_mode():
        cache = _hf.new_cache(model, "model")
        n_prefix = len(prefix) - 1
        _hf.forward(model, torch.tensor(prefix[:-1]), torch.arange(n_prefix), cache)
        visible = torch.cat([torch.ones((tree.size, n_prefix), dtype=torch.bool), tree.ancestors_mask()], dim=1)
        logits = _hf.forward(model, tokens, n_prefix + torch.tensor(tree.depths), cache, visible)
        plain = model(torch.tensor(prefix[:-1] + tokens.tolist())[None]).logits[0, n_prefix:]
    # HF's eager attention takes its softmax in float32 even for a float64 model
    tol = 1e-10 if attn == "sdpa" else 1e-5
    differs = 0
    for i in range(tree.size):
        path, j = [], i
        while j >= 0:
            path.insert(0, int(tokens[j]))
            j = tree.parents[j]
        expected = last_logits(model, prefix[:-1] + path)
        torch.testing.assert_close(logits[i], expected, rtol=tol, atol=tol)
        differs += not torch.allclose(plain[i], expected)
    assert differs >= 4  # a plain causal forward over the same nodes would be wrong there


# ---------------------------------------------------------------- greedy
@pytest.mark.parametrize(
    "tree",
    ["chain:1", "chain:4", "binary:2", "binary:3", "kary:3:2", (3, 1, 2), Tree.from_parents([-1, 0, 0, 1, 1, 1, 3])],
    ids=str,
)
def test_greedy_reproduces_the_targets_own_greedy_generate(tree):
    target, draft = target_and_draft()
    expected = greedy_reference(target, PROMPT, 24)
    result = SpeculativeDecoder(target, draft, scheme="rrs", tree=tree).generate(PROMPT, max_new_tokens=24)
    assert result.tokens.tolist() == expected
    longest = max(i for i, c in enumerate(result.stats.accepted_lengths) if c)
    assert longest >= min(2, Tree.parse(tree).depth)  # paths of several drafts were accepted


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_greedy_is_the_same_for_every_scheme_and_eager_attention(scheme):
    target, draft = target_and_draft(attn="eager")
    tree = "chain:3" if scheme == "single" else "binary:2"
    result = SpeculativeDecoder(target, draft, scheme=scheme, tree=tree).generate(PROMPT[None], max_new_tokens=16)
    assert result.tokens.tolist() == greedy_reference(target, PROMPT, 16)


def test_greedy_with_a_draft_of_narrower_vocabulary_pads_its_logits():
    target = tiny_lm(0)
    draft = tiny_lm(5, vocab=VOCAB - 4)  # logits 12 wide: tokens 12..15 get draft probability 0
    expected = greedy_reference(target, PROMPT, 16)
    assert max(expected) >= VOCAB - 4  # the target emits tokens the draft cannot embed
    result = SpeculativeDecoder(target, draft, scheme="rrsw", tree="binary:2").generate(PROMPT, max_new_tokens=16)
    assert result.tokens.tolist() == expected


def test_generation_stops_after_eos_like_generate():
    target, draft = target_and_draft()
    free = greedy_reference(target, PROMPT, 24)
    eos = free[6]
    expected = greedy_reference(target, PROMPT, 24, eos_token_id=eos, pad_token_id=0)
    assert expected[-1] == eos and len(expected) < 24
    result = SpeculativeDecoder(target, draft, tree="binary:3").generate(PROMPT, max_new_tokens=24, eos_token_id=eos)
    assert result.tokens.tolist() == expected


# ---------------------------------------------------------------- KV caches
@pytest.mark.parametrize("temperature", [0.0, 1.0])
@pytest.mark.parametrize("tree", ["chain:3", "binary:2", (3, 1, 2)], ids=str)
def test_after_each_step_both_caches_continue_like_a_fresh_forward(temperature, tree):
    target, draft = target_and_draft()
    decoder = SpeculativeDecoder(target, draft, scheme="rrsw" if tree != "chain:3" else "single", tree=tree)
    generator = torch.Generator().manual_seed(4)
    state = decoder.prefill(PROMPT)
    longest = 0
    for _ in range(6):
        new = decoder.step(state, temperature=temperature, generator=generator)
        longest = max(longest, len(new))
        tokens = state.tokens
        assert _hf.cache_length(state.target_cache) == len(tokens) - 1
        with torch.inference_mode():
            cache = copy.deepcopy(state.target_cache)
            resumed = _hf.forward(target, torch.tensor(tokens[-1:]), torch.tensor([len(tokens) - 1]), cache)[-1]
            torch.testing.assert_close(resumed, last_logits(target, tokens), rtol=1e-10, atol=1e-10)
            start = state.draft_length
            assert _hf.cache_length(state.draft_cache) == start < len(tokens)
            cache = copy.deepcopy(state.draft_cache)
            pending = torch.tensor(tokens[start:])
            resumed = _hf.forward(draft, pending, torch.arange(start, len(tokens)), cache)[-1]
            torch.testing.assert_close(resumed, last_logits(draft, tokens), rtol=1e-10, atol=1e-10)
    assert longest >= 3  # steps that kept two or more drafted nodes were checked


def test_stats_add_up():
    target, draft = target_and_draft()
    result = SpeculativeDecoder(target, draft, scheme="spechub", tree="binary:3").generate(
        PROMPT, max_new_tokens=40, temperature=0.8, generator=torch.Generator().manual_seed(0)
    )
    s = result.stats
    assert s.new_tokens == result.tokens.numel() == 40
    assert sum(s.accepted_lengths) == s.steps
    emitted = sum((j + 1) * c for j, c in enumerate(s.accepted_lengths))
    assert emitted - 3 <= s.new_tokens <= emitted  # only the last step can be cut short
    assert s.block_efficiency == s.new_tokens / s.steps
    assert s.depth_attempts[0] == s.steps
    assert all(a <= n for a, n in zip(s.depth_accepts, s.depth_attempts, strict=True))
    assert s.depth_attempts[1:] == s.depth_accepts[:-1]  # reaching depth j+1 means accepting at j
    assert s.target_forwards == s.steps + 1 and s.draft_forwards == 3 * s.steps + 1  # + prefill
    assert min(s.draft_seconds, s.target_seconds, s.verify_seconds) > 0.0


# ---------------------------------------------------------------- sampling law
SAMPLING_CASES = [
    ("single", "chain:2"),
    ("rrs", "binary:2"),
    ("rrsw", "kary:3:1"),
    ("spechub", "binary:2"),
    ("kseq", "kary:3:1"),
]


def _check_first_two_tokens(scheme, tree, runs, temperature=0.9, verifier="torch"):
    target = tiny_lm(0, vocab=8)
    draft = noisy_copy(target, 1, noise=0.1, extra_vocab=3)
    law = two_token_law(target, [3], temperature)
    decoder = SpeculativeDecoder(target, draft, scheme=scheme, tree=tree, verifier=verifier)
    generator = torch.Generator().manual_seed(zlib.crc32(f"{scheme}{tree}".encode()))
    samples = [
        tuple(decoder.generate(torch.tensor([3]), max_new_tokens=2, temperature=temperature,
                               generator=generator).tokens.tolist())
        for _ in range(runs)
    ]
    assert_follows(samples, law, budget=BUDGET)
    return samples


@pytest.mark.parametrize(("scheme", "tree"), SAMPLING_CASES)
def test_sampling_first_two_tokens_follow_the_targets_law(scheme, tree):
    _check_first_two_tokens(scheme, tree, runs=300)


def test_core_only_schemes_run_in_the_loop_and_follow_the_targets_law():
    """A scheme (or k) without a torch port runs through the core: SpecHub with 3 drafts."""
    _check_first_two_tokens("spechub", "kary:3:1", runs=300, verifier="core")


SLOW_SAMPLING_CASES = [("single", "chain:3")] + [
    (scheme, tree) for scheme in ("rrs", "rrsw", "spechub", "kseq") for tree in ("binary:3", (2, 1, 2))
]


@pytest.mark.slow
@pytest.mark.parametrize(("scheme", "tree"), SLOW_SAMPLING_CASES, ids=str)
def test_sampling_first_two_tokens_follow_the_targets_law_many_runs(scheme, tree):
    _check_first_two_tokens(scheme, tree, runs=2000, temperature=0.7)


@pytest.mark.parametrize(("scheme", "tree"), [*SAMPLING_CASES, ("rrsw", "binary:3"), ("kseq", (2, 1, 2))], ids=str)
def test_torch_and_core_verifiers_generate_the_same_tokens(scheme, tree):
    """The decode loop's two verifier paths consume the generator identically and agree
    token for token (the torch path with its value checks on, which must not fire)."""
    target, draft = target_and_draft()
    out = {}
    for verifier, validate in (("torch", True), ("core", False)):
        decoder = SpeculativeDecoder(target, draft, scheme=scheme, tree=tree, verifier=verifier, validate=validate)
        result = decoder.generate(PROMPT, max_new_tokens=30, temperature=0.8,
                                  generator=torch.Generator().manual_seed(9))
        out[verifier] = result.tokens.tolist()
    assert out["torch"] == out["core"]


def test_the_sampling_check_detects_a_biased_sampler():
    """The statistical check has power: plain samples from the DRAFT's two-token law, which
    differs from the target's, must fail it."""
    target = tiny_lm(0, vocab=8)
    draft = noisy_copy(target, 1, noise=0.1, extra_vocab=0)
    law = two_token_law(target, [3], 0.9)
    wrong = two_token_law(draft, [3], 0.9)
    cells = list(wrong)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(cells), size=300, p=np.array([wrong[c] for c in cells]) / sum(wrong.values()))
    with pytest.raises(AssertionError, match="do not follow p"):
        assert_follows([cells[i] for i in picks], law, budget=BUDGET)


# ---------------------------------------------------------------- bad arguments
class _FlashModel:
    class config:
        _attn_implementation = "flash_attention_2"

    def __call__(self, *args, **kwargs):
        raise AssertionError("never called")


def test_bad_decoder_arguments_raise():
    target, draft = target_and_draft()
    with pytest.raises(ValueError, match="scheme must be one of"):
        SpeculativeDecoder(target, draft, scheme="medusa")
    with pytest.raises(ValueError, match="at most k=1"):
        SpeculativeDecoder(target, draft, scheme="single", tree="binary:2")
    with pytest.raises(ValueError, match="at most k=2 drafts per node in its torch port"):
        SpeculativeDecoder(target, draft, scheme="spechub", tree="kary:3:1", verifier="torch")
    SpeculativeDecoder(target, draft, scheme="spechub", tree="kary:3:1", verifier="core")  # any k
    with pytest.raises(ValueError, match="flash_attention_2"):
        SpeculativeDecoder(_FlashModel(), draft)
    with pytest.raises(TypeError, match="target must be"):
        SpeculativeDecoder("Qwen/Qwen2.5-1.5B", draft)
    with pytest.raises(ValueError, match="verifier must be one of"):
        SpeculativeDecoder(target, draft, verifier="numba")
    decoder = SpeculativeDecoder(target, draft)
    cases = [
        ({"temperature": -0.5}, ValueError, "temperature must be finite"),
        ({"temperature": float("nan")}, ValueError, "temperature must be finite"),
        ({"temperature": "hot"}, TypeError, "temperature must be a real"),
        ({"max_new_tokens": 0}, ValueError, "max_new_tokens must be at least 1"),
        ({"max_new_tokens": 2.0}, TypeError, "max_new_tokens must be an int"),
        ({"generator": np.random.default_rng(0), "temperature": 1.0}, TypeError, "generator must be a torch"),
    ]
    for overrides, kind, words in cases:
        kwargs = {"max_new_tokens": 4, **overrides}
        with pytest.raises(kind, match=words):
            decoder.generate(PROMPT, **kwargs)
    for prompt, kind, words in [
        (PROMPT.float(), TypeError, "integer token ids"),
        (PROMPT.tolist(), TypeError, "input_ids must be a torch.Tensor"),
        (torch.stack([PROMPT, PROMPT]), ValueError, "batch size 1"),
        (torch.tensor([], dtype=torch.int64), ValueError, "empty"),
        (torch.tensor([1, VOCAB]), ValueError, f"outside \\[0, {VOCAB}\\)"),
    ]:
        with pytest.raises(kind, match=words):
            decoder.generate(prompt, max_new_tokens=4)


@pytest.mark.parametrize(("scheme", "tree"), [("opt_iid", "binary:3"), ("opt_wor", (2, 1, 2)),
                                              ("spechub", "kary:3:2"), ("rrs", "binary:3")], ids=str)
def test_core_path_verifying_only_the_walk_equals_verifying_every_node(scheme, tree, monkeypatch):
    """verifier="core" verifies only the nodes the walk reaches; verifying every internal node
    in batched calls, as the torch path does, must give the same tokens from the same seed."""
    target, draft = target_and_draft()
    out = []
    for lazy in (True, False):
        monkeypatch.setattr(SpeculativeDecoder, "_lazy_core", lazy)
        decoder = SpeculativeDecoder(target, draft, scheme=scheme, tree=tree, verifier="core")
        result = decoder.generate(PROMPT, max_new_tokens=30, temperature=0.8,
                                  generator=torch.Generator().manual_seed(4))
        out.append((result.tokens.tolist(), result.stats.accepted_lengths))
    assert out[0] == out[1]
    accepted = out[0][1]  # steps by drafts accepted: both early stops and deep walks occur
    assert accepted[0] + accepted[1] > 0 and sum(accepted[2:]) > 0
