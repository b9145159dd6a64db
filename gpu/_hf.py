"""The few things the decode loops need from a Hugging Face causal LM (transformers 5.x).

* A forward over some new tokens with explicit position ids and, for trees, a custom
  attention mask. transformers passes a 4-D mask through unchanged
  (``masking_utils._preprocess_mask_arguments``: "If the mask is already 4D, simply return
  as-is"), and both the ``eager`` and ``sdpa`` attention functions ADD a float mask to the
  attention scores. So the mask is float, shape (1, 1, new, cached + new), 0 where a query
  may attend and the dtype's most negative number where it may not. ``flash_attention_*``
  takes no such mask and is refused.
* A KV cache that can keep an arbitrary subset of its positions: a ``DynamicCache`` whose
  layers are plain ``DynamicLayer`` objects holding ``keys`` / ``values`` of shape
  (batch, kv_heads, length, head_dim); keeping positions is an ``index_select`` on dim -2.
  Sliding-window and quantised layers are refused (their bookkeeping is not a plain
  tensor of positions).

Model logits may be padded beyond the tokenizer's vocabulary and differ in width between a
target and its draft (Qwen2.5 1.5B and 0.5B do); :func:`match_vocab` pads or slices.
"""

from __future__ import annotations

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

#: Attention implementations that add a custom float 4-D mask to the scores.
MASKABLE_ATTENTION = ("sdpa", "eager")


def check_model(model, name: str) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``model`` is a causal LM the loops can drive."""
    config = getattr(model, "config", None)
    if config is None or not callable(model):
        raise TypeError(f"{name} must be a Hugging Face causal LM (a model with a .config); got {type(model).__name__}")
    attention = getattr(config, "_attn_implementation", None)
    if attention not in MASKABLE_ATTENTION:
        raise ValueError(
            f"{name} uses attention implementation {attention!r}; token trees need a custom 4-D "
            f"mask, which only {MASKABLE_ATTENTION} accept (load with attn_implementation='sdpa')"
        )


def device_of(model) -> torch.device:
    return next(model.parameters()).device


def new_cache(model, name: str) -> DynamicCache:
    """An empty ``DynamicCache`` for ``model``; refuses layer types that cannot keep a subset."""
    cache = DynamicCache(config=model.config)
    for i, layer in enumerate(cache.layers):
        if type(layer) is not DynamicLayer:
            raise ValueError(
                f"{name}'s cache layer {i} is a {type(layer).__name__}; the decode loops keep "
                "arbitrary positions of the KV cache and support plain DynamicLayer caches only "
                "(no sliding-window or quantised layers)"
            )
    return cache


def cache_length(cache: DynamicCache) -> int:
    return cache.get_seq_length()


def keep_positions(cache: DynamicCache, positions: torch.Tensor) -> None:
    """Keep only the cached ``positions`` (1-D int64, increasing) of every layer, in order."""
    for layer in cache.layers:
        if layer.is_initialized and layer.keys.numel():
            index = positions.to(layer.keys.device)
            layer.keys = layer.keys.index_select(-2, index)
            layer.values = layer.values.index_select(-2, index)


def crop(cache: DynamicCache, length: int) -> None:
    """Keep the first ``length`` cached positions of every layer.

    (Sliced here rather than with ``DynamicCache.crop``, whose argument changed meaning
    between transformers versions: a length before 5.x, a negative count in 5.x.)
    """
    for layer in cache.layers:
        if layer.is_initialized and layer.keys.numel():
            layer.keys = layer.keys[..., :length, :]
            layer.values = layer.values[..., :length, :]


def forward(
    model,
    tokens: torch.Tensor,
    positions: torch.Tensor,
    cache: DynamicCache,
    visible: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run ``model`` on new ``tokens`` (n,) at ``positions`` (n,), appending to ``cache``.

    ``visible`` (n, cached + n) bool says which cached and new positions each new token may
    attend to; ``None`` is the ordinary causal mask. Returns the logits (n, V).
    """
    dtype = next(model.parameters()).dtype
    mask = None
    if visible is not None:
        mask = torch.zeros(visible.shape, dtype=dtype, device=visible.device)
        mask = mask.masked_fill(~visible, torch.finfo(dtype).min)[None, None]  # (1, 1, n, cached + n)
    out = model(
        input_ids=tokens[None],
        position_ids=positions[None],
        attention_mask=mask,
        past_key_values=cache,
        use_cache=True,
    )
    return out.logits[0]


def match_vocab(logits: torch.Tensor, vocab: int) -> torch.Tensor:
    """Pad with ``-inf`` (probability 0) or slice the last dim of ``logits`` to ``vocab``."""
    width = logits.shape[-1]
    if width == vocab:
        return logits
    if width > vocab:
        return logits[..., :vocab]
    pad = torch.full((*logits.shape[:-1], vocab - width), float("-inf"), dtype=logits.dtype, device=logits.device)
    return torch.cat([logits, pad], dim=-1)
