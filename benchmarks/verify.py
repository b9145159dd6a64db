"""Benchmark: batched verify (numba) against the plain-numpy verifier and a memory read floor.

For every scheme, V in {32000, 151936}, k in {2, 4} (SpecHub: k = 2; single: k = 1) and
batch size B in {1, 64}, on LLM-like pairs (``_pairs.py``), it prints microseconds per row of

* ``numba``: the public batched call ``m.verify(p, q, drafts, rng=rng)`` with ``p``, ``q`` of
  shape (B, V) -- input checks included;
* ``numpy``: the public one-row call on 1-D rows, which runs the plain-numpy verifier (the same
  algorithm and arithmetic) -- the same input checks included;
* ``floor``: one pass that reads the same ``p`` and ``q`` rows (a numba sum), the least any
  verifier that looks at its inputs can cost;

and the ratios ``numpy / numba`` and ``numba / floor``. Per-row times are medians over
repeated calls (for B = 1, over single-row calls on different rows: the typical row, which
accepts a draft and never forms a residual). Ratios compare runs made in the same process.

Targets (issue #2): numba >= 5x faster than numpy at V = 151936; numba within 4x of the floor.

Usage: ``python benchmarks/verify.py [--quick] [--repeats N]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pairs import llm_like_pairs  # noqa: E402

import specsample  # noqa: E402


@numba.njit(cache=True)
def _read_rows(p, q):
    out = 0.0
    for r in range(p.shape[0]):
        for i in range(p.shape[1]):
            out += p[r, i] + q[r, i]
    return out


def _median_per_row(fn, rows: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) / rows)
    return float(np.median(times))


def bench(vocabs, batches, repeats: int, seed: int) -> list[dict]:
    rows_total = max(batches)
    results = []
    for vocab in vocabs:
        p, q = llm_like_pairs(rows_total, vocab, seed=seed)
        for name, m in specsample.SCHEMES.items():
            ks = [1] if m.MAX_K == 1 else ([2] if m.MAX_K == 2 else [2, 4])
            for k in ks:
                rng = np.random.default_rng(seed)
                drafts = m.draft(q, k, rng=rng)  # (rows_total, k)
                m.verify(p[:1], q[:1], drafts[:1], rng=rng)  # compile outside the timing
                m.verify(p[0], q[0], drafts[0], rng=rng)
                for batch in batches:
                    if batch == 1:
                        numba_t = float(np.median([
                            _median_per_row(
                                lambda r=r: m.verify(p[r : r + 1], q[r : r + 1], drafts[r : r + 1], rng=rng),
                                1, repeats,
                            )
                            for r in range(rows_total)
                        ]))
                        floor_t = float(np.median([
                            _median_per_row(lambda r=r: _read_rows(p[r : r + 1], q[r : r + 1]), 1, repeats)
                            for r in range(rows_total)
                        ]))
                    else:
                        pb, qb, db = p[:batch], q[:batch], drafts[:batch]
                        numba_t = _median_per_row(lambda pb=pb, qb=qb, db=db: m.verify(pb, qb, db, rng=rng), batch, repeats)
                        floor_t = _median_per_row(lambda pb=pb, qb=qb: _read_rows(pb, qb), batch, repeats)
                    numpy_t = float(np.median([
                        _median_per_row(lambda r=r: m.verify(p[r], q[r], drafts[r], rng=rng), 1, max(1, repeats // 3))
                        for r in range(min(rows_total, 16))
                    ]))
                    results.append(dict(scheme=name, k=k, V=vocab, B=batch, numba_us=numba_t * 1e6,
                                        numpy_us=numpy_t * 1e6, floor_us=floor_t * 1e6))
                    print_row(results[-1])
    return results


def print_header() -> None:
    print(f"{'scheme':8} {'k':>2} {'V':>7} {'B':>3} {'numba us/row':>13} {'numpy us/row':>13} "
          f"{'floor us/row':>13} {'numpy/numba':>12} {'numba/floor':>12}")


def print_row(r: dict) -> None:
    print(f"{r['scheme']:8} {r['k']:>2} {r['V']:>7} {r['B']:>3} {r['numba_us']:13.1f} "
          f"{r['numpy_us']:13.1f} {r['floor_us']:13.1f} {r['numpy_us'] / r['numba_us']:12.1f} "
          f"{r['numba_us'] / r['floor_us']:12.2f}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="V = 32000 only, fewer repeats")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per measurement")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    vocabs = [32000] if args.quick else [32000, 151936]
    repeats = 3 if args.quick else args.repeats
    print(f"numba {numba.__version__}, numpy {np.__version__}, specsample {specsample.__version__}")
    print_header()
    results = bench(vocabs, [1, 64], repeats, args.seed)
    big = [r for r in results if r["V"] == max(vocabs)]
    worst_speedup = min(r["numpy_us"] / r["numba_us"] for r in big)
    worst_floor = max(r["numba_us"] / r["floor_us"] for r in big)
    print(f"\nat V = {max(vocabs)}: smallest numpy/numba = {worst_speedup:.1f} (target >= 5), "
          f"largest numba/floor = {worst_floor:.2f} (target <= 4)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
