"""How often the draft's greedy token equals the target's along the target's greedy text.

Usage::

    python scripts/greedy_agreement.py [--per-kind 2] [--new 32]

Takes the first ``--per-kind`` prompts of each kind (code, prose, chat) stored in the shipped
data set, lets the target (Qwen2.5-Coder-1.5B) decode ``--new`` tokens greedily, then runs
the draft (0.5B) once over prompt + continuation and counts the positions where the draft's
argmax equals the token the target chose. Prints one line per prompt, the overall rate and
the timings (models fetched and converted on first use).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=2, help="prompts of each kind")
    parser.add_argument("--new", type=int, default=32, help="greedy tokens per prompt")
    args = parser.parse_args(argv)

    import torch

    from specsample import models
    from specsample.data import load_pairs

    torch.set_grad_enabled(False)
    prompts = []
    for kind in ("code", "prose", "chat"):
        prompts += [p for p in load_pairs().prompts if p.kind == kind][: args.per_kind]
    t0 = time.perf_counter()
    target, draft, tokenizer = models.load_pair("qwen2.5-coder")
    print(f"load both models (float32): {time.perf_counter() - t0:.1f} s")
    agree_all = total = 0
    t_gen = t_draft = 0.0
    for prompt in prompts:
        ids = tokenizer(prompt.text, return_tensors="pt").input_ids
        n = ids.shape[1]
        t0 = time.perf_counter()
        out = target.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.new, do_sample=False)
        t_gen += time.perf_counter() - t0
        chosen = out[0, n:]  # (new,) the target's greedy tokens
        t0 = time.perf_counter()
        logits = draft(out[:, :-1]).logits[0, n - 1 :]  # (new, vocab): draft law before each chosen token
        t_draft += time.perf_counter() - t0
        vocab = min(logits.shape[-1], target.config.vocab_size)
        agree = int((logits[: chosen.numel(), :vocab].argmax(-1) == chosen).sum())
        agree_all += agree
        total += chosen.numel()
        text = tokenizer.decode(chosen)[:60].replace("\n", "\\n")
        print(f"{prompt.kind:5s} {prompt.source:45s} {agree:3d}/{chosen.numel()}  {text!r}")
    print(f"greedy agreement: {agree_all}/{total} = {agree_all / total:.3f}")
    print(f"target greedy decode (generate, KV cache): {total / t_gen:.2f} tok/s")
    print(f"draft: one forward over prompt + continuation per prompt, {t_draft / len(prompts):.1f} s each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
