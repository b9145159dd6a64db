"""Where one optimal-verifier table build spends its time, at V = 151936.

On one LLM-like pair (``_pairs.py``), median milliseconds of: the exact ratio order and its
parts (keys, packing, numpy's sort, exact re-sorting of equal-key runs; on fresh arrays, so
page faults included) and the order in the builds' reused workspace, then the whole
table build (``_build.build``) for i.i.d. drafts at several k and for two drafts without
replacement. Without-replacement tables and the i.i.d. tables of older versions start from
the full ratio order; i.i.d. tables (k >= 2) of versions with
``specsample.optimal._buckets`` order only some ratio buckets, and for those the script
also prints how many tokens that was and the build from the full order (``_iid_table``, the
baseline in this process). The rest calls only functions that older versions of
``specsample.optimal`` have too, so it can time them: copy it into a checkout of an earlier
commit and run it there with ``PYTHONPATH`` set to that checkout (otherwise it imports the
installed ``specsample``).

    python benchmarks/optimal_parts.py [--pair N] [--repeats R] [--ks 2,4,8]

``--raw FILE`` times the i.i.d. builds on real pairs instead: the full-vocabulary rows
(``full_p``, ``full_q``) that ``scripts/make_dataset.py`` saves with ``--raw`` (31 rows of
Qwen2.5-Coder 1.5B / 0.5B at T = 0.6 and 1.0 by default): per k, the bucketed build and the
build from the full order (medians over the rows of each row's best of R), how many tokens
the bucketed build ordered, and the target mass of tokens too light for a float interval
of positive length (``specsample/optimal/_sweep.py``, "Float resolution").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pairs import llm_like_pairs

from specsample.optimal import _build, _order


def _ms(repeats: int, fn, *args, stat=np.median) -> float:
    """``stat`` (median, or min for the best) of ``repeats`` timed calls after a warm one."""
    fn(*args)  # compile / warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t0)
    return 1e3 * float(stat(times))


def _full_sort_build(p, q, k):
    """The i.i.d. table from the full ratio order (the build before ratio buckets)."""
    from specsample.optimal import _work  # here: older versions have no workspace

    ws = _work.get(p.shape[0])
    order, n = _order.ratio_order(p, q, ws)
    return _build._iid_table(p, q, 1.0, 1.0, k, order, n, ws)


def real_pairs(path: Path, repeats: int, ks) -> None:
    """The i.i.d. builds on the full-vocabulary real rows of a raw file (see the module)."""
    from specsample.optimal import _buckets

    raw = np.load(path)
    rows_p, rows_q = raw["full_p"], raw["full_q"]
    print(f"{rows_p.shape[0]} real pairs from {path}, V = {rows_p.shape[1]}; per row the best of "
          f"{repeats} (ms), then the median over rows")
    print(f"{'k':>2} {'bucketed':>9} {'max':>7} {'full order':>11} {'ratio':>6} {'ordered':>8} "
          f"{'max':>7} {'x mass below resolution':>24}")
    for k in ks:
        fast, full, ordered, tiny = [], [], [], []
        for fp, fq in zip(rows_p, rows_q, strict=True):
            p, q = np.ascontiguousarray(fp), np.ascontiguousarray(fq)
            sp, sq = float(p.sum()), float(q.sum())
            fast.append(_ms(repeats, _build.build, p, q, sp, sq, k, _build.IID, stat=min))
            full.append(_ms(repeats, _full_sort_build, p / sp, q / sq, k, stat=min))
            ordered.append(_buckets.ordered_tokens(p, q, k))
            t = _build.build(p, q, sp, sq, k, _build.IID)
            tiny.append(float(t.x[_build.below_resolution(t)].sum()))
        fast, full = np.array(fast), np.array(full)
        print(f"{k:>2} {np.median(fast):9.2f} {fast.max():7.2f} {np.median(full):11.2f} "
              f"{np.median(full / fast):5.1f}x {np.median(ordered):8.0f} {max(ordered):7d} "
              f"{'max ' + format(max(tiny), '.2g'):>24}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", type=int, default=0, help="which LLM-like pair (seeded)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--ks", default="2,4,8", help="k of the i.i.d. builds")
    parser.add_argument("--raw", type=Path, default=None,
                        help="time real full-vocabulary pairs from this raw file of "
                             "scripts/make_dataset.py instead (see the module)")
    args = parser.parse_args()
    if args.raw is not None:
        real_pairs(args.raw, args.repeats, [int(v) for v in args.ks.split(",")])
        return
    p, q = llm_like_pairs(args.pair + 1, 151936, seed=0)
    p, q = np.ascontiguousarray(p[args.pair]), np.ascontiguousarray(q[args.pair])
    r = args.repeats
    keys = _order.ratio_keys(p, q)
    bits = _order.id_bits(p.shape[0])
    packed = _order.pack(keys, bits)
    ordered = np.sort(packed)
    print(f"one LLM-like pair, V = {p.shape[0]}, median of {r} (ms)")
    print(f"ratio order        {_ms(r, _order.ratio_order, p, q):7.2f}   keys {_ms(r, _order.ratio_keys, p, q):.2f}, "
          f"pack {_ms(r, _order.pack, keys, bits):.2f}, sort {_ms(r, np.sort, packed):.2f}, "
          f"exact runs {_ms(r, _order.fix_runs, ordered, bits, p, q, keys):.2f} (fresh arrays)")
    try:
        from specsample.optimal import _work
    except ImportError:  # a version from before the workspace
        _work = None
    if _work is not None:  # what a build pays: its scratch is reused, not fresh
        ws = _work.get(p.shape[0])
        print(f"ratio order        {_ms(r, _order.ratio_order, p, q, ws):7.2f}   (in the builds' "
              "workspace)")
    try:
        from specsample.optimal import _buckets as buckets
    except ImportError:  # a version from before ratio buckets
        buckets = None
    for k in (int(v) for v in args.ks.split(",")):
        whole = _ms(r, _build.build, p, q, 1.0, 1.0, k, _build.IID)
        if buckets is None or k < 2 or p.shape[0] < buckets.MIN_VOCAB:
            print(f"build_iid k={k:<2}     {whole:7.2f}   (whole table, the order included)")
            continue
        full = _ms(r, _full_sort_build, p, q, k)
        print(f"build_iid k={k:<2}     {whole:7.2f}   (whole table; {buckets.ordered_tokens(p, q, k)} "
              f"tokens ordered; from the full order {full:.2f}, ratio {full / whole:.1f}x)")
    print(f"build_wor          {_ms(r, _build.build, p, q, 1.0, 1.0, 2, _build.WOR):7.2f}   "
          "(whole table, the order included)")


if __name__ == "__main__":
    main()
