"""Time the torch verifiers against the numpy core's batched (numba) verifiers.

For each scheme and each number of rows N, both verify the same (N, V) float64 target and
draft rows, the same drafts and the same uniforms; the script checks that they return the
same tokens, then prints the median wall time of each and the ratio core / torch (above 1:
torch is faster), both measured in this process, and the torch time over a floor measured
in the same process on the same device tensors: one pass that reads p and q once
(``torch.minimum(p, q).sum(-1)``, the least any verifier must do). Rows are Zipf-like, as
language-model distributions are, with the draft a mixture of the target and another Zipf
row so that every verifier path (accept, reject, residual) occurs. ``--dtype float32`` or
``bfloat16`` hands the torch verifiers rounded rows (they upcast to float64 before
residuals) and the core the same rounded values.

    python benchmarks/gpu_verify.py                        # CPU, N = 16 64, V = 151936
    python benchmarks/gpu_verify.py --device cuda --rows 64 256 1024 4096 --repeat 20 --core-repeat 2
    python benchmarks/gpu_verify.py --threads 1            # CPU shared with other processes

On CUDA the device is synchronised before each clock read. ``--validate`` also times the
torch value checks (one synchronisation per call); the decode loop runs without them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

import specsample
from specsample import gpu


def _rows(rng: np.random.Generator, n: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    ranks = np.arange(1, vocab + 1, dtype=np.float64)
    base = 1.0 / ranks**1.1
    p = np.empty((n, vocab))
    q = np.empty((n, vocab))
    for b in range(n):
        p[b] = base[rng.permutation(vocab)]
        other = base[rng.permutation(vocab)] ** 1.2
        p[b] /= p[b].sum()
        q[b] = 0.6 * p[b] + 0.4 * other / other.sum()
    return p, q


def _floor(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """One pass reading p and q: the least work a verifier of these rows can do."""
    return torch.minimum(p, q).sum(-1)


def _median_seconds(repeat: int, device: torch.device, fn, *args, **kwargs) -> float:
    """Median wall time of ``fn(*args, **kwargs)`` over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn(*args, **kwargs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="torch device for the torch verifiers (cpu, cuda, ...)")
    parser.add_argument("--rows", type=int, nargs="+", default=[16, 64], help="numbers of rows N")
    parser.add_argument("--vocab", type=int, default=151936, help="vocabulary size V (Qwen2.5: 151936)")
    parser.add_argument("--k", type=int, default=2, help="drafts per row (single always uses 1)")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions of torch (median reported)")
    parser.add_argument("--core-repeat", type=int, default=None,
                        help="timed repetitions of the core (default: --repeat)")
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32", "bfloat16"],
                        help="dtype of the rows handed to the torch verifiers")
    parser.add_argument("--json", help="also write the rows of the table to this JSON file")
    parser.add_argument("--schemes", nargs="+", default=list(gpu.SCHEMES), choices=list(gpu.SCHEMES),
                        help="torch ports to time (default: all)")
    parser.add_argument("--validate", action="store_true", help="also time torch with validate=True")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    core_repeat = args.repeat if args.core_repeat is None else args.core_repeat
    device = torch.device(args.device)
    rng = np.random.default_rng(args.seed)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({device_name}), V = {args.vocab}, k = {args.k}, {args.dtype} rows on the device, "
          f"median of {args.repeat} (core {core_repeat}), torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads", flush=True)
    header = f"{'scheme':8} {'N':>6} {'core s':>10} {'torch s':>10} {'core/torch':>10} {'torch/floor':>11}"
    if args.validate:
        header += f" {'checked s':>10} {'core/checked':>12}"
    print(header + "  same tokens", flush=True)
    table = []
    for n in args.rows:
        p, q = _rows(rng, n, args.vocab)
        p_t = torch.from_numpy(p).to(device, getattr(torch, args.dtype))
        q_t = torch.from_numpy(q).to(device, getattr(torch, args.dtype))
        if args.dtype != "float64":  # the core sees the same rounded values, in float64
            p, q = p_t.double().cpu().numpy(), q_t.double().cpu().numpy()
        _floor(p_t, q_t)
        t_floor = _median_seconds(args.repeat, device, _floor, p_t, q_t)
        for name in args.schemes:
            core, torch_scheme = specsample.SCHEMES[name], gpu.SCHEMES[name]
            k = 1 if name == "single" else args.k
            if torch_scheme.MAX_K is not None and k > torch_scheme.MAX_K:
                print(f"{name:8} {n:>6} skipped: the torch port takes k <= {torch_scheme.MAX_K}", flush=True)
                continue
            drafts = core.draft(q, k, uniforms=rng.random((n, k)))
            u = rng.random((n, k + 1))
            d_t = torch.from_numpy(drafts).to(device)
            u_t = torch.from_numpy(u).to(device)
            want = core.verify(p, q, drafts, uniforms=u)  # also compiles the kernel
            try:
                got = torch_scheme.verify(p_t, q_t, d_t, uniforms=u_t, validate=False)
            except torch.OutOfMemoryError:
                print(f"{name:8} {n:>6} skipped: out of device memory", flush=True)
                torch.cuda.empty_cache()
                continue
            same = np.array_equal(got.token.cpu().numpy(), want.token) and np.array_equal(
                got.index.cpu().numpy(), want.index
            )
            t_core = _median_seconds(core_repeat, torch.device("cpu"), core.verify, p, q, drafts, uniforms=u)
            t_torch = _median_seconds(
                args.repeat, device, torch_scheme.verify, p_t, q_t, d_t, uniforms=u_t, validate=False
            )
            row = dict(scheme=name, rows=n, k=k, core_s=t_core, torch_s=t_torch, floor_s=t_floor, same=bool(same))
            line = (f"{name:8} {n:>6} {t_core:>10.4f} {t_torch:>10.4f} {t_core / t_torch:>10.2f} "
                    f"{t_torch / t_floor:>11.1f}")
            if args.validate:
                t_checked = _median_seconds(
                    args.repeat, device, torch_scheme.verify, p_t, q_t, d_t, uniforms=u_t, validate=True
                )
                row["checked_s"] = t_checked
                line += f" {t_checked:>10.4f} {t_core / t_checked:>12.2f}"
            table.append(row)
            print(line + f"  {'yes' if same else 'NO'}", flush=True)
        del p_t, q_t
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if args.json:
        meta = dict(device=str(device), device_name=device_name, vocab=args.vocab, k=args.k, dtype=args.dtype,
                    repeat=args.repeat, core_repeat=core_repeat, torch=torch.__version__)
        with open(args.json, "w") as f:
            json.dump(dict(meta=meta, rows=table), f, indent=1)


if __name__ == "__main__":
    main()
