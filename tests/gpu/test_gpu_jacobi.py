"""Jacobi decoding on a tiny model built from a config (CPU, float64).

Greedy Jacobi reproduces the model's own greedy ``generate`` with never more forwards than
tokens; sampling Jacobi's first two tokens follow autoregressive sampling (``assert_follows``,
false-alarm budget 1e-6).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from _gpu_models import PROMPT, greedy_reference, tiny_lm, two_token_law  # noqa: E402
from specsample.gpu import jacobi_generate  # noqa: E402

from specsample.testing import assert_follows  # noqa: E402

BUDGET = 1e-6


@pytest.mark.parametrize("block_size", [1, 2, 5, 16])
def test_greedy_jacobi_reproduces_greedy_generate(block_size):
    model = tiny_lm(0)
    expected = greedy_reference(model, PROMPT, 30)
    result = jacobi_generate(model, PROMPT, block_size=block_size, max_new_tokens=30)
    assert result.tokens.tolist() == expected
    s = result.stats
    assert s.new_tokens == 30
    assert s.forwards <= s.new_tokens
    assert s.fast_forwarded == s.new_tokens - s.forwards  # every forward commits 1 + fast-forwarded
    assert s.blocks >= -(-30 // block_size)
    assert s.stationary <= s.fast_forwarded


def test_greedy_jacobi_fast_forwards_on_a_repetitive_model():
    """A model whose greedy output cycles lets Jacobi guess ahead: it must then take fewer
    forwards than tokens (the fast-forward path is exercised, not only the AR fallback)."""
    model = tiny_lm(0)
    expected = greedy_reference(model, PROMPT, 60)
    result = jacobi_generate(model, PROMPT, block_size=8, max_new_tokens=60)
    assert result.tokens.tolist() == expected
    assert result.stats.forwards < 60
    assert result.stats.stationary >= 1


def test_jacobi_stops_after_eos_like_generate():
    model = tiny_lm(0)
    eos = greedy_reference(model, PROMPT, 24)[5]
    expected = greedy_reference(model, PROMPT, 24, eos_token_id=eos, pad_token_id=0)
    result = jacobi_generate(model, PROMPT, block_size=4, max_new_tokens=24, eos_token_id=eos)
    assert result.tokens.tolist() == expected


def test_sampling_jacobi_first_two_tokens_follow_the_models_law():
    model = tiny_lm(0, vocab=8)
    law = two_token_law(model, [5, 3], 0.9)
    generator = torch.Generator().manual_seed(20)
    samples = [
        tuple(jacobi_generate(model, torch.tensor([5, 3]), block_size=3, max_new_tokens=2, temperature=0.9,
                              generator=generator, verifier="torch").tokens.tolist())
        for _ in range(400)
    ]
    assert_follows(samples, law, budget=BUDGET)


def test_sampling_jacobi_gives_the_same_tokens_with_torch_and_core_verifiers():
    model = tiny_lm(0)
    out = [
        jacobi_generate(model, PROMPT, block_size=6, max_new_tokens=30, temperature=0.8,
                        generator=torch.Generator().manual_seed(3), verifier=verifier).tokens.tolist()
        for verifier in ("torch", "core")
    ]
    assert out[0] == out[1]


@pytest.mark.slow
@pytest.mark.parametrize("block_size", [2, 4])
def test_sampling_jacobi_first_two_tokens_follow_the_models_law_many_runs(block_size):
    model = tiny_lm(0, vocab=8)
    law = two_token_law(model, [5, 3], 0.7)
    generator = torch.Generator().manual_seed(block_size)
    samples = [
        tuple(jacobi_generate(model, torch.tensor([5, 3]), block_size=block_size, max_new_tokens=2,
                              temperature=0.7, generator=generator, verifier="torch").tokens.tolist())
        for _ in range(5000)
    ]
    assert_follows(samples, law, budget=BUDGET)


def test_bad_jacobi_arguments_raise():
    model = tiny_lm(0)
    for kwargs, kind, words in [
        ({"block_size": 0}, ValueError, "block_size must be at least 1"),
        ({"max_new_tokens": -1}, ValueError, "max_new_tokens must be at least 1"),
        ({"temperature": -1.0}, ValueError, "temperature must be finite"),
        ({"temperature": 1.0, "generator": 3}, TypeError, "generator must be a torch.Generator"),
    ]:
        with pytest.raises(kind, match=words):
            jacobi_generate(model, PROMPT, **{"max_new_tokens": 4, **kwargs})
    with pytest.raises(TypeError, match="model must be"):
        jacobi_generate(object(), PROMPT, max_new_tokens=4)
