"""Tiny Hugging Face causal LMs built from a config for the decode-loop tests.

2-layer Qwen2 models over a 16-token vocabulary, in float64 (so that a tree-masked forward
and a plain forward agree to ~1e-15 and greedy near-ties cannot flip), with weights drawn
from a seeded generator (no global seed). The weights are large enough that next-token
distributions are far from uniform. The draft is a noisy copy of the target with 4 extra
vocabulary rows (logits 20 wide against the target's 16, as Qwen's padded vocabularies
differ), so that it agrees with the target often but not always: accepted paths of several
tokens, rejections and residual draws all occur.
"""

from __future__ import annotations

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

VOCAB = 16


def tiny_lm(seed: int, *, vocab: int = VOCAB, attn: str = "sdpa", scale: float = 0.4) -> Qwen2ForCausalLM:
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        attn_implementation=attn,
    )
    model = Qwen2ForCausalLM(config).to(torch.float64).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim > 1:
                param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float64) * scale)
    return model


def noisy_copy(model: Qwen2ForCausalLM, seed: int, *, noise: float, extra_vocab: int = 4,
               attn: str = "sdpa") -> Qwen2ForCausalLM:
    """``model``'s weights plus Gaussian noise, with ``extra_vocab`` more output tokens."""
    vocab = model.config.vocab_size
    copy = tiny_lm(seed, vocab=vocab + extra_vocab, attn=attn, scale=0.4)
    gen = torch.Generator().manual_seed(seed + 1000)
    source = dict(model.named_parameters())
    with torch.no_grad():
        for name, param in copy.named_parameters():
            base = source[name]
            rows = base.shape[0]
            param[:rows] = base + noise * torch.randn(base.shape, generator=gen, dtype=torch.float64)
    return copy


def target_and_draft(attn: str = "sdpa", noise: float = 0.05, vocab: int = VOCAB):
    target = tiny_lm(0, vocab=vocab, attn=attn)
    return target, noisy_copy(target, 1, noise=noise, attn=attn)


#: Prompt of the greedy and KV tests.
PROMPT = torch.tensor([3, 1, 4, 1, 5])


def greedy_reference(model, prompt: torch.Tensor, n: int, **kwargs) -> list[int]:
    """The model's own greedy ``generate``: the n tokens after ``prompt`` (L,)."""
    with torch.inference_mode():
        out = model.generate(prompt[None], max_new_tokens=n, do_sample=False, **kwargs)
    return out[0, prompt.numel():].tolist()


def last_logits(model, tokens: list[int]) -> torch.Tensor:
    """Next-token logits after ``tokens`` from a fresh forward (no cache)."""
    with torch.inference_mode():
        return model(torch.tensor(tokens)[None]).logits[0, -1]


def two_token_law(model, prompt: list[int], temperature: float) -> dict[tuple[int, int], float]:
    """Exact law of the first two tokens of autoregressive sampling at ``temperature``."""
    with torch.inference_mode():
        first = torch.softmax(model(torch.tensor(prompt)[None]).logits[0, -1] / temperature, -1)
        law = {}
        for a in range(first.numel()):
            second = torch.softmax(model(torch.tensor([*prompt, a])[None]).logits[0, -1] / temperature, -1)
            for b in range(second.numel()):
                law[(a, b)] = float(first[a] * second[b])
    return law
