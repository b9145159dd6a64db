"""Time the decode loop: AR, speculative decoding over token trees, and Jacobi, step by step.

Prints, per method, tokens per second, speedup over AR measured in this process, tokens per
target forward, and the mean wall time of one step split into drafting (draft forwards and
draft sampling), the target's tree forward, and verification (probabilities, verifiers, walk,
cache update). On CUDA the device is synchronised at each boundary (the decoder's own clock).

Models. ``--target`` / ``--draft`` take Hugging Face folders or hub names (real weights).
Without them the script builds RANDOMLY INITIALISED models with the shapes of
Qwen2.5-Coder-1.5B (target: 28 layers, hidden 1536) and Qwen2.5-Coder-0.5B (draft: 24 layers,
hidden 896), vocabulary 151936, on the device in ``--dtype``: a machine with no model files
still times every forward at the real sizes. Random weights give near-uniform distributions,
so their acceptance (and hence tokens per step and tokens/s) says nothing about a real pair;
the per-step times do. To estimate a real pair's speed on this device, multiply its block
efficiency measured elsewhere (README "Measured on the real pair") by AR's time per token
and divide by the step time printed here.

    python benchmarks/gpu_decode.py --device cuda --dtype bfloat16
    python benchmarks/gpu_decode.py --device cpu --dtype float32 --tiny --threads 1  # a quick check

On a CPU shared with other work pass ``--threads 1``: torch's default of one thread per core
then makes every multi-row product wait for a busy core (a tiny model's tree forward went from
3 ms to 300 ms on the project's 2-core machine with one core busy).
    python benchmarks/gpu_decode.py --target ~/models/qwen-1.5b --draft ~/models/qwen-0.5b
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from specsample import gpu
from specsample.decode_report import Method, Run, run_method, summarize, warm_up
from specsample.prompts import CODE, Prompt

#: Qwen2.5-Coder shapes (config.json of the 1.5B and 0.5B Instruct models).
QWEN_SHAPES = {
    "target": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12),
    "draft": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14),
}
#: A tiny stand-in for ``--tiny`` (a quick run of the whole script on a CPU).
TINY_SHAPES = {
    "target": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4),
    "draft": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4),
}


def random_model(shape: dict, *, vocab: int, device: torch.device, dtype: torch.dtype, seed: int):
    """A randomly initialised Qwen2 causal LM of ``shape`` on ``device``."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    config = Qwen2Config(vocab_size=vocab, num_key_value_heads=2, max_position_embeddings=4096,
                         rope_theta=1e6, tie_word_embeddings=False, **shape)
    config._attn_implementation = "sdpa"
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # leaves the global generators as they were
        torch.manual_seed(seed)
        with torch.device(device):
            model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    return model.eval()


def load_model(name: str, *, device: torch.device, dtype: torch.dtype):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, attn_implementation="sdpa")
    return model.to(device).eval()


def timed(method: Method, target, draft, prompt_ids: list[int], *, index: int, tokens: int,
          temperature: float, seed: int, verifier: str) -> Run:
    """One decode through ``decode_report.run_method`` (the decoders' own clocks; CUDA is
    synchronised around the call)."""
    prompt = Prompt(f"random-{index}", CODE, "")  # names the run's seed; no text needed
    return run_method(method, target, draft, prompt, prompt_ids, temperature=temperature,
                      max_new_tokens=tokens, seed=seed, verifier=verifier)


def _summary(label: str, runs: list[Run], ar_rate: float | None) -> dict:
    """One method's runs added up by ``decode_report.summarize``, as the printed row."""
    (row,) = summarize(runs)
    out = dict(method=label, tokens=row.new_tokens, seconds=row.seconds,
               tokens_per_second=row.tokens_per_second, tokens_per_forward=row.block_efficiency)
    out["speedup"] = row.tokens_per_second / ar_rate if ar_rate else 1.0
    for part in ("draft", "target", "verify"):
        ms = row.ms_per_forward(part)
        if ms is not None:
            out[f"{part}_ms_per_step"] = ms
    return out


def _cell(row: dict, key: str) -> str:
    return f"{row[key]:.2f}" if key in row else "-"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--target", help="HF folder or hub name (default: random Qwen2.5-Coder-1.5B shape)")
    parser.add_argument("--draft", help="HF folder or hub name (default: random Qwen2.5-Coder-0.5B shape)")
    parser.add_argument("--tiny", action="store_true", help="tiny random models (a quick check of the script)")
    parser.add_argument("--vocab", type=int, default=151936, help="vocabulary of the random models")
    parser.add_argument("--trees", default="chain:2,chain:4,binary:2,binary:3,binary:4",
                        help="comma-separated trees (chain trees run the single-draft verifier)")
    parser.add_argument("--schemes", default="rrs,rrsw,spechub,kseq",
                        help="comma-separated schemes for the trees with branching")
    parser.add_argument("--verifier", default="auto", choices=gpu.decode.VERIFIERS)
    parser.add_argument("--jacobi-block", type=int, default=16, help="0 skips Jacobi")
    parser.add_argument("--prompts", type=int, default=4, help="random prompts per method")
    parser.add_argument("--prompt-tokens", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per prompt")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=2,
                        help="times each method decodes the prompts (the methods interleaved)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    start = time.perf_counter()
    if (args.target is None) != (args.draft is None):
        parser.error("give both --target and --draft, or neither")
    if args.target is not None:
        target = load_model(args.target, device=device, dtype=dtype)
        draft = load_model(args.draft, device=device, dtype=dtype)
        models = f"{args.target} / {args.draft}"
    else:
        shapes = TINY_SHAPES if args.tiny else QWEN_SHAPES
        target = random_model(shapes["target"], vocab=args.vocab, device=device, dtype=dtype, seed=args.seed)
        draft = random_model(shapes["draft"], vocab=args.vocab, device=device, dtype=dtype, seed=args.seed + 1)
        models = "random " + ("tiny" if args.tiny else "Qwen2.5-Coder 1.5B / 0.5B") + " shapes"
    vocab = int(target.get_output_embeddings().weight.shape[0])
    rng = np.random.default_rng(args.seed)
    prompts = [rng.integers(0, vocab, size=args.prompt_tokens).tolist() for _ in range(args.prompts)]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}), {args.dtype}, models: {models} (built in {time.perf_counter() - start:.0f} s); "
          f"{args.prompts} prompts x {args.tokens} tokens, T = {args.temperature}, torch {torch.__version__}",
          flush=True)

    methods: list[tuple[str, Method]] = [("AR", Method.ar())]
    for tree in args.trees.split(","):
        branching = gpu.Tree.parse(tree).max_children > 1
        for scheme in (args.schemes.split(",") if branching else ["single"]):
            methods.append((f"{scheme} {tree}", Method.speculative(scheme, tree)))
    if args.jacobi_block:
        methods.append((f"Jacobi {args.jacobi_block}", Method.jacobi(args.jacobi_block)))
    warm_up([m for _, m in methods])

    def run(method, prompt, index, tokens, seed):
        return timed(method[1], target, draft, prompt, index=index, tokens=tokens,
                     temperature=args.temperature, seed=seed, verifier=args.verifier)

    per_method: list[list[Run]] = [[] for _ in methods]
    rates: list[list[float]] = [[] for _ in methods]
    for r in range(args.rounds):  # rounds interleave the methods, so drifts hit all alike
        for i, method in enumerate(methods):
            if r == 0:  # warm-up: kernels, cuBLAS handles, numba, the tree's shapes
                run(method, prompts[0], 0, min(16, args.tokens), args.seed + args.rounds)
            runs = [run(method, prompt, j, args.tokens, args.seed + r) for j, prompt in enumerate(prompts)]
            per_method[i] += runs
            rates[i].append(sum(x.new_tokens for x in runs) / sum(x.seconds for x in runs))
            print(f"  round {r + 1}/{args.rounds} {method[0]}: {rates[i][-1]:.1f} tok/s", flush=True)
    rows: list[dict] = []
    ar_rate = None
    print(f"{'method':22} {'tok/s':>8} {'spread':>6} {'vs AR':>6} {'tok/fwd':>7} {'draft ms':>9} "
          f"{'target ms':>9} {'verify ms':>9}   (ms per step; spread: max/min tok/s over rounds - 1)", flush=True)
    for i, method in enumerate(methods):
        row = _summary(method[0], per_method[i], ar_rate)
        row["spread"] = max(rates[i]) / min(rates[i]) - 1.0
        if ar_rate is None:
            ar_rate = row["tokens_per_second"]
        rows.append(row)
        print(f"{row['method']:22} {row['tokens_per_second']:>8.1f} {row['spread']:>6.0%} {row['speedup']:>6.2f} "
              f"{row['tokens_per_forward']:>7.2f} {_cell(row, 'draft_ms_per_step'):>9} "
              f"{_cell(row, 'target_ms_per_step'):>9} {_cell(row, 'verify_ms_per_step'):>9}", flush=True)
    if args.json:
        meta = dict(device=str(device), device_name=name, dtype=args.dtype, models=models, prompts=args.prompts,
                    prompt_tokens=args.prompt_tokens, tokens=args.tokens, temperature=args.temperature,
                    verifier=args.verifier, rounds=args.rounds, torch=torch.__version__)
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)
    fastest = max(rows[1:], key=lambda r: r["tokens_per_second"], default=None)
    if fastest is not None:
        print(f"fastest: {fastest['method']} at {fastest['speedup']:.2f}x AR "
              f"(median step split over methods: verify {statistics.median(r.get('verify_ms_per_step', 0) for r in rows[1:]):.2f} ms)")


if __name__ == "__main__":
    main()
