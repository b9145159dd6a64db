"""Benchmark: batched verify (numba) against plain numpy and against a memory read floor.

For every scheme, V in {32000, 151936}, k in {2, 4} (single: k = 1) and
batch size B in {1, 64}, on LLM-like pairs (``_pairs.py``), with drafts from the scheme's own
draft law, it prints microseconds per row of

* ``numba``: the public call ``m.verify(p, q, drafts, uniforms=u)`` with ``p``, ``q`` of
  shape (B, V): input checks included, kernels that form residual sums only when a rejection
  needs them;
* ``numpy``: the same verifier written plainly in numpy for a batch (``_numpy_baselines.py``):
  vectorised over rows, so every residual is formed for every row;
* ``floor``: one vectorised pass that reads the same ``p`` and ``q`` rows -- the least any
  verifier that looks at its inputs can cost;

then ``numpy / numba`` and ``numba / floor``. Times are medians over repeats of a batched call
divided by B (for B = 1: the median over single-row calls on different rows, i.e. the typical
row). Every ratio compares runs made in the same process, on the same rows and uniforms.
``agree`` is the fraction of rows where the numpy baseline returned the kernel's token.

Targets (issue #2): numba >= 5x faster than numpy at V = 151936; numba within 4x of the floor.

Usage: ``python benchmarks/verify.py [--quick] [--repeats N] [--rows N] [--schemes a,b]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _numpy_baselines import BASELINES
from _pairs import llm_like_pairs

import specsample


@numba.njit(cache=True, fastmath={"reassoc"})
def _read_rows(p, q):
    out = 0.0
    for r in range(p.shape[0]):
        for i in range(p.shape[1]):
            out += p[r, i] + q[r, i]
    return out


def _best_of(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _per_row(fn_rows, rows: int, batch: int, repeats: int) -> float:
    """Median per-row time: batched over ``batch`` rows, or single-row calls when batch = 1."""
    if batch == 1:
        return float(np.median([_best_of(lambda r=r: fn_rows(slice(r, r + 1)), repeats) for r in range(rows)]))
    return _best_of(lambda: fn_rows(slice(0, batch)), repeats) / batch


def bench(vocabs, batches, rows: int, repeats: int, seed: int, schemes=None):
    for vocab in vocabs:
        p, q = llm_like_pairs(rows, vocab, seed=seed)
        for name, m in specsample.SCHEMES.items():
            if schemes is not None and name not in schemes:
                continue
            ks = [1] if m.MAX_K == 1 else ([2] if m.MAX_K == 2 else [2, 4])
            for k in ks:
                rng = np.random.default_rng(seed)
                drafts = m.draft(q, k, rng=rng)  # (rows, k), one tuple per row
                u = rng.random((rows, k + 1))
                baseline = BASELINES[name]
                m.verify(p[:1], q[:1], drafts[:1], uniforms=u[:1])  # compile outside the timing
                kernel_tokens = m.verify(p, q, drafts, uniforms=u).token
                agree = float(np.mean(baseline(p, q, drafts, u) == kernel_tokens))
                for batch in batches:
                    times = _measure(m.verify, baseline, (p, q, drafts, u), rows, batch, repeats)
                    yield dict(scheme=name, k=k, V=vocab, B=batch, agree=agree, **times)


def _measure(verify, baseline, data, rows: int, batch: int, repeats: int) -> dict:
    """Per-row microseconds of the kernel path, the numpy baseline and the read floor."""
    p, q, drafts, u = data
    numba_t = _per_row(lambda s: verify(p[s], q[s], drafts[s], uniforms=u[s]), rows, batch, repeats)
    numpy_t = _per_row(lambda s: baseline(p[s], q[s], drafts[s], u[s]), rows, batch, max(1, repeats // 2))
    floor_t = _per_row(lambda s: _read_rows(p[s], q[s]), rows, batch, repeats)
    return dict(numba_us=numba_t * 1e6, numpy_us=numpy_t * 1e6, floor_us=floor_t * 1e6)


HEADER = (f"{'scheme':8} {'k':>2} {'V':>7} {'B':>3} {'numba us/row':>13} {'numpy us/row':>13} "
          f"{'floor us/row':>13} {'numpy/numba':>12} {'numba/floor':>12} {'agree':>7}")


def format_row(r: dict) -> str:
    return (f"{r['scheme']:8} {r['k']:>2} {r['V']:>7} {r['B']:>3} {r['numba_us']:13.1f} "
            f"{r['numpy_us']:13.1f} {r['floor_us']:13.1f} {r['numpy_us'] / r['numba_us']:12.1f} "
            f"{r['numba_us'] / r['floor_us']:12.2f} {r['agree']:7.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="V = 32000 only, fewer repeats")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats per measurement")
    parser.add_argument("--rows", type=int, default=64, help="distinct pairs (the B = 64 batch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vocab", type=int, action="append",
                        help="vocabulary size to run (repeatable; default 32000 and 151936)")
    parser.add_argument("--schemes", default=None,
                        help="comma-separated scheme names (default: every registered scheme)")
    args = parser.parse_args(argv)
    schemes = None if args.schemes is None else args.schemes.split(",")
    unknown = sorted(set(schemes or ()) - set(specsample.SCHEMES))
    if unknown:
        parser.error(f"unknown schemes {unknown}; known: {', '.join(specsample.SCHEMES)}")
    vocabs = args.vocab or ([32000] if args.quick else [32000, 151936])
    repeats = 3 if args.quick else args.repeats
    batches = [1, args.rows]
    print(f"numba {numba.__version__}, numpy {np.__version__}, specsample {specsample.__version__}; "
          f"{args.rows} LLM-like pairs per V, seed {args.seed}")
    print(HEADER)
    results = []
    for r in bench(vocabs, batches, args.rows, repeats, args.seed, schemes):
        results.append(r)
        print(format_row(r), flush=True)
    big = [r for r in results if r["V"] == max(vocabs)]
    speedup = min(r["numpy_us"] / r["numba_us"] for r in big)
    floors = [r["numba_us"] / r["floor_us"] for r in big]
    print(f"\nat V = {max(vocabs)}: smallest numpy/numba = {speedup:.1f} (target >= 5); "
          f"numba/floor median {float(np.median(floors)):.2f} (target <= 4), largest {max(floors):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
