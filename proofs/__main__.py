"""Run every exact check at its default grid: ``python -m proofs``.

Prints one line per check (what it enumerated, its wall-clock and CPU time) and exits
non-zero on the first failure, with the statement and the instance that broke it.
"""

from __future__ import annotations

import importlib
import time

from proofs import CHECKS


def main() -> None:
    start, start_cpu = time.perf_counter(), time.process_time()
    for name in CHECKS:
        module = importlib.import_module(f"proofs.{name}")
        t0, c0 = time.perf_counter(), time.process_time()
        tally = module.check()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        grid = module.GRID
        print(f"{name:<14} OK  {tally.instances:6d} instances  {tally.tuples:6d} draft tuples  "
              f"V <= {grid['max_vocab']}, denominators {grid['denominators']}  "
              f"{wall:5.1f} s ({cpu:.1f} s CPU)")
    print(f"all checks passed in {time.perf_counter() - start:.1f} s "
          f"({time.process_time() - start_cpu:.1f} s CPU)")


if __name__ == "__main__":
    main()
