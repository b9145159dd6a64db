"""Benchmark of specsample.lp: closed-form OT bounds at full vocabulary, and LP scale.

Part 1 times ``ot_bound`` at V = 151936 (Qwen2.5's vocabulary size) for k in {2, 4} and each
drafting law, on Zipf-like target/draft pairs, and prints the time per pair next to a
baseline measured in the same run on the same pairs: one ``np.argsort`` of the ratio keys
``p / q`` (the sort every prefix bound needs). Target: under 50 ms per pair.

Part 2 grows V geometrically (x sqrt 2) and reports, for each LP solver, the largest V at
which ``optimal_acceptance`` on the i.i.d. k = 2 law (``V**2`` tuples) finishes within the
time limit (10 s), including its input checks and the plan it builds.

Run: ``python benchmarks/bounds.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from specsample.lp import SolverError, optimal_acceptance, ot_bound

from specsample import rrs

VOCAB = 151936


def zipf_pair(rng: np.random.Generator, vocab: int, exponent: float, noise: float, temperature: float):
    """A target p (Zipf over a random token order) and a draft q sharing its head.

    ``q`` is ``p`` tempered by ``temperature`` times log-normal noise of width ``noise``, so
    the draft agrees with the target on the likely tokens only roughly, as a small model does.
    """
    ranks = rng.permutation(vocab) + 1.0
    p = ranks**-exponent
    p /= p.sum()
    q = p ** (1.0 / temperature) * np.exp(rng.normal(0.0, noise, vocab))
    return p, q / q.sum()


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def bounds_table(pairs, repeats: int) -> None:
    def baseline():
        for p, q in pairs:
            np.argsort(p / q)

    for p, q in pairs[:1]:  # compile the numba kernels before timing
        for drafts in ("iid", "without_replacement", "hub"):
            ot_bound(p, q, 4, drafts=drafts)
    base = median_time(baseline, repeats) / len(pairs)
    print(f"\not_bound at V = {VOCAB}, {len(pairs)} Zipf-like pairs, median of {repeats} runs")
    print(f"baseline: one np.argsort of p/q = {base * 1e3:.1f} ms per pair")
    print(f"{'drafts':<22}{'k':>3}{'ms/pair':>10}{'x argsort':>11}{'mean bound':>12}  method")
    for drafts in ("iid", "without_replacement", "hub"):
        for k in (2, 4):
            values = [ot_bound(p, q, k, drafts=drafts) for p, q in pairs]

            def run(drafts=drafts, k=k):
                for p, q in pairs:
                    ot_bound(p, q, k, drafts=drafts)

            per_pair = median_time(run, repeats) / len(pairs)
            mean = np.mean([b.value for b in values])
            print(
                f"{drafts:<22}{k:>3}{per_pair * 1e3:>10.1f}{per_pair / base:>11.1f}"
                f"{mean:>12.4f}  {values[0].method}"
            )


def lp_scale(rng: np.random.Generator, limit: float, start: int, solvers: list[str]) -> None:
    print(f"\nLP scale: i.i.d. k = 2 law (V**2 tuples), time limit {limit:g} s per solve")
    print(f"{'V':>6}{'tuples':>10}" + "".join(f"{s + ' s':>12}" for s in solvers) + "  agree")
    alive = {s: True for s in solvers}
    largest = dict.fromkeys(solvers, 0)
    vocab = float(start)
    while any(alive.values()):
        v = round(vocab)
        p, q = zipf_pair(rng, v, 1.1, 1.0, 1.0)
        law = rrs.draft_law(q, 2)
        row, values = f"{v:>6}{len(law):>10}", []
        for s in solvers:
            if not alive[s]:
                row += f"{'-':>12}"
                continue
            began = time.perf_counter()
            try:
                res = optimal_acceptance(p, law, solver=s, time_limit=limit)
            except SolverError:
                res = None
            took = time.perf_counter() - began
            if res is None or took > limit:
                alive[s] = False
                row += f"{'>' + format(limit, 'g'):>12}"
            else:
                largest[s] = v
                values.append(res.value)
                row += f"{took:>12.2f}"
        spread = max(values) - min(values) if len(values) > 1 else 0.0
        print(row + (f"  {spread:.1e}" if len(values) > 1 else ""), flush=True)
        vocab *= np.sqrt(2.0)
    print("largest V within the limit: " + ", ".join(f"{s} {largest[s]}" for s in solvers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=4, help="Zipf-like pairs per setting (default 4)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats, median reported (default 5)")
    parser.add_argument("--lp-limit", type=float, default=10.0, help="seconds per LP solve (default 10)")
    parser.add_argument("--lp-start", type=int, default=16, help="first V of the LP sweep (default 16)")
    parser.add_argument("--skip-lp", action="store_true", help="only time the closed forms")
    parser.add_argument("--skip-bounds", action="store_true", help="only run the LP sweep")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if not args.skip_bounds:
        settings = [(1.1, 1.0, 1.0), (1.3, 0.5, 0.6)]  # (Zipf exponent, noise, draft temperature)
        pairs = [zipf_pair(rng, VOCAB, *settings[i % 2]) for i in range(args.pairs)]
        bounds_table(pairs, args.repeats)
    if not args.skip_lp:
        lp_scale(rng, args.lp_limit, args.lp_start, ["highs", "pulp"])


if __name__ == "__main__":
    main()
