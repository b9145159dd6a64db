"""Issue 4's measurement on the real pair: block efficiency of every scheme on binary trees.

Protocol (issue 4, "Measured on the real pair"): binary trees ``binary:d`` (``d`` levels of
two drafts each) for each depth, temperatures 0.6 and 1.0, the first ``--prompts`` embedded
prompts (:mod:`specsample.prompts`, code and prose alternating) x ``--max-new-tokens``
tokens. At each (temperature, depth) it runs

* every scheme in :data:`specsample.SCHEMES` that takes two drafts per node (whatever the
  registry holds when the script runs; a scheme without a decode-loop implementation in
  :mod:`specsample.gpu` is listed as not run),
* the chain baseline ``single@chain:d`` (k = 1, same depth),

and once per temperature Jacobi decoding on the target (``--jacobi-block``, CLLM's 16) and
AR on the target (the tokens/s reference).

Every finished (temperature, method, prompt) run is appended at once to
``OUT/runs.jsonl``, so a stopped run loses at most the run in progress; starting the same
command again skips what is there (``OUT/settings.json`` must match, so that different
settings never mix). Runs go prompt by prompt, each prompt at every temperature, every
method in turn: after a stop, every method has the same prompts done at every temperature,
give or take one, so a partial run still compares all methods on equal prompts. Each run
draws from its own generator, seeded by :func:`specsample.decode_report.run_seed` from
``--seed``, the prompt, the method and the temperature.

At the end (and with ``--summary-only`` at any time) it writes ``OUT/summary.md``
(block efficiency per scheme x depth with standard errors over prompts and each scheme's
paired difference from RRS, tokens/s, acceptance; over the prompts every method at that
temperature has finished) and ``OUT/summary.png``.

    python scripts/measure_real_pair.py --out /work/measure/real_pair
    python scripts/measure_real_pair.py --out /work/measure/real_pair --summary-only

Models are loaded once, in float32 by default (the cached weights are the bfloat16-rounded
dequantised GGUF; float32 computation keeps the distributions those weights define).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import specsample
from specsample import decode_report as dr
from specsample.prompts import default_prompts

SETTINGS = ("target", "draft", "dtype", "prompts", "max_new_tokens", "seed", "chat_template",
            "jacobi_block")


def methods_for(depths: Sequence[int], jacobi_block: int) -> tuple[list[dr.Method], list[tuple[str, str]]]:
    """The methods of one temperature, and the (label, reason) of those that cannot run."""
    methods = [dr.Method.ar()]
    skipped = []
    for d in depths:
        for name in specsample.SCHEMES:
            m = dr.Method.speculative(name, f"binary:{d}")
            reason = dr.unsupported_reason(m)
            if reason is None:
                methods.append(m)
            elif name != "single":  # single is the chain baseline, below
                skipped.append((m.label, reason))
        methods.append(dr.Method.speculative("single", f"chain:{d}"))
    methods.append(dr.Method.jacobi(jacobi_block))
    return methods, skipped


def read_runs(path: Path) -> list[dr.Run]:
    """The runs checkpointed so far (a torn last line, from a kill mid-write, is ignored)."""
    runs = []
    if not path.exists():
        return runs
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                runs.append(dr.Run.from_dict(json.loads(line)))
            except (ValueError, TypeError):
                continue
    return runs


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a kill mid-write leaves no newline), so that the next record
    starts on a line of its own instead of being glued to the fragment and lost."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _append(path: Path, run: dr.Run) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(run.to_dict()) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _check_settings(out: Path, settings: dict) -> None:
    path = out / "settings.json"
    if path.exists():
        old = json.loads(path.read_text())
        differ = {k: (old.get(k), settings[k]) for k in SETTINGS if old.get(k) != settings[k]}
        if differ:
            raise SystemExit(f"{path} was written with other settings {differ}; use another --out")
    else:
        path.write_text(json.dumps(settings, indent=2) + "\n")


def measure(args: argparse.Namespace) -> None:
    import torch

    from specsample import cli, models

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = print if args.quiet is False else (lambda *a, **k: None)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    prompts = default_prompts(args.prompts)
    methods, skipped = methods_for(args.depths, args.jacobi_block)
    start = time.perf_counter()
    target_source = cli._model_source(args.target, "target")
    draft_source = cli._model_source(args.draft, "draft")
    target = models.load_model(target_source, dtype=args.dtype)
    draft = models.load_model(draft_source, dtype=args.dtype)
    tokenizer = models.load_tokenizer(target_source)
    chat = not args.no_chat_template and bool(getattr(tokenizer, "chat_template", None))
    settings = {"target": args.target, "draft": args.draft, "dtype": args.dtype,
                "prompts": [p.name for p in prompts], "max_new_tokens": args.max_new_tokens,
                "seed": args.seed, "chat_template": chat, "jacobi_block": args.jacobi_block,
                "specsample_version": specsample.__version__, "torch": torch.__version__,
                "threads": torch.get_num_threads()}
    _check_settings(out, settings)
    log(f"loaded {args.target} / {args.draft} ({args.dtype}) in {time.perf_counter() - start:.0f} s; "
        f"torch threads {torch.get_num_threads()}", flush=True)
    ids = {p.name: cli._encode(tokenizer, p.text, chat) for p in prompts}
    eos = cli._stop_tokens(target, tokenizer)
    path = out / "runs.jsonl"
    _drop_torn_tail(path)
    done = {(r.temperature, r.method, r.prompt) for r in read_runs(path)}
    todo = [(t, p, m) for p in prompts for t in args.temperatures for m in methods
            if (t, m.label, p.name) not in done]
    log(f"{len(done)} runs already in {path}; {len(todo)} to go "
        f"({len(args.temperatures)} temperatures x {len(prompts)} prompts x {len(methods)} methods)",
        flush=True)
    for label, reason in skipped:
        log(f"not run: {label}: {reason}", flush=True)
    dr.warm_up(methods)
    t0 = time.perf_counter()
    for i, (temperature, prompt, method) in enumerate(todo):
        run = dr.run_method(method, target, draft, prompt, ids[prompt.name], temperature=temperature,
                            max_new_tokens=args.max_new_tokens, seed=args.seed, eos=eos)
        _append(path, run)
        elapsed = time.perf_counter() - t0
        eta = elapsed / (i + 1) * (len(todo) - i - 1)
        log(f"[{i + 1}/{len(todo)}] T={temperature:g} {prompt.name} {method.label}: "
            f"{run.new_tokens} tokens / {run.target_forwards} forwards = "
            f"{run.new_tokens / run.target_forwards:.2f}, {run.seconds:.1f} s; "
            f"elapsed {elapsed / 60:.1f} min, ETA {eta / 60:.0f} min", flush=True)
    write_summary(out, args, skipped)


# ---------------------------------------------------------------- summary
def complete_rows(runs: Sequence[dr.Run], temperature: float, labels: Sequence[str]):
    """Summary rows at ``temperature`` over the prompts that every method in ``labels``
    has finished; returns (rows, number of such prompts)."""
    mine = [r for r in runs if r.temperature == temperature and r.method in labels]
    by_method: dict[str, set[str]] = {label: set() for label in labels}
    for r in mine:
        by_method[r.method].add(r.prompt)
    common = set.intersection(*by_method.values()) if by_method else set()
    rows = dr.summarize([r for r in mine if r.prompt in common], methods=labels)
    return rows, len(common)


def ratio_se(pairs: Sequence[tuple[int, int]]) -> float | None:
    """Standard error of the block efficiency ``sum t / sum f`` over prompts, each prompt a
    ``(tokens, forwards)`` pair: the ratio estimator's linearisation,
    ``sqrt(n / (n - 1) * sum (t_i - R f_i)^2) / sum f``. ``None`` for fewer than 2 prompts."""
    n = len(pairs)
    if n < 2:
        return None
    tokens = sum(t for t, _ in pairs)
    forwards = sum(f for _, f in pairs)
    ratio = tokens / forwards
    squares = sum((t - ratio * f) ** 2 for t, f in pairs)
    return (n / (n - 1) * squares) ** 0.5 / forwards


def paired_difference(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]):
    """Difference of two block efficiencies measured on the same prompts (``a[i]``, ``b[i]``
    the same prompt), with its standard error from the per-prompt linearised differences
    (prompts that are easy for one method tend to be easy for the other, which a paired
    error accounts for). Returns ``(difference, se)``; ``se`` is ``None`` below 2 prompts."""
    n = len(a)
    fa = sum(f for _, f in a) / n
    fb = sum(f for _, f in b) / n
    ra = sum(t for t, _ in a) / (n * fa)
    rb = sum(t for t, _ in b) / (n * fb)
    if n < 2:
        return ra - rb, None
    e = [(ta - ra * f_a) / fa - (tb - rb * f_b) / fb for (ta, f_a), (tb, f_b) in zip(a, b, strict=True)]
    return ra - rb, (sum(v * v for v in e) / (n * (n - 1))) ** 0.5


def verify_share(runs: Sequence[dr.Run], temperature: float, label: str) -> str:
    """Share of the wall time spent verifying, over the runs of ``label`` at ``temperature``
    that record the decoder's time split (runs logged before the split existed have none),
    as ``"x.x% (n runs)"``; ``"-"`` where no run records it (and for AR and Jacobi)."""
    mine = [r for r in runs if r.temperature == temperature and r.method == label and r.verify_seconds > 0]
    if not mine:
        return "-"
    share = sum(r.verify_seconds for r in mine) / sum(r.seconds for r in mine)
    return f"{100 * share:.1f}% ({len(mine)} runs)"


def _pairs_by_prompt(runs: Sequence[dr.Run], temperature: float, label: str, prompts: Sequence[str]):
    by = {r.prompt: r for r in runs if r.temperature == temperature and r.method == label}
    return [(by[p].new_tokens, by[p].target_forwards) for p in prompts]


def uncertainty_lines(runs: Sequence[dr.Run], temperature: float, labels: Sequence[str],
                      schemes: Sequence[str], depths: Sequence[int]) -> list[str]:
    """Markdown: each tree method's block efficiency +- its standard error over prompts, and
    its paired difference from RRS (same prompts, same depth)."""
    mine = [r for r in runs if r.temperature == temperature and r.method in labels]
    done: dict[str, set[str]] = {label: set() for label in labels}
    for r in mine:
        done[r.method].add(r.prompt)
    prompts = sorted(set.intersection(*done.values())) if done else []
    if len(prompts) < 2:
        return []
    head = "| method | " + " | ".join(f"d = {d}" for d in depths) + " |"
    rule = "|---" * (len(depths) + 1) + "|"
    lines = ["Standard errors over the prompts (ratio estimator), and the difference from RRS at the "
             "same depth on the same prompts (paired over prompts):", "", head, rule]
    diffs = [head, rule]
    for s in [*schemes, "single"]:
        cells, dcells = [], []
        for d in depths:
            label = f"{s}@binary:{d}" if s != "single" else f"single@chain:{d}"
            base = f"rrs@binary:{d}"
            if label not in labels:
                cells.append("-")
                dcells.append("-")
                continue
            pairs = _pairs_by_prompt(mine, temperature, label, prompts)
            se = ratio_se(pairs)
            ratio = sum(t for t, _ in pairs) / sum(f for _, f in pairs)
            cells.append(f"{ratio:.3f} ± {se:.3f}")
            if s == "rrs" or base not in labels:
                dcells.append("-")
            else:
                diff, dse = paired_difference(pairs, _pairs_by_prompt(mine, temperature, base, prompts))
                dcells.append(f"{diff:+.3f} ± {dse:.3f}")
        name = "chain (single, chain:d)" if s == "single" else f"{s} (binary:d)"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        diffs.append(f"| {name} | " + " | ".join(dcells) + " |")
    return [*lines, "", "Difference from RRS:", "", *diffs, ""]


def summary_markdown(runs: Sequence[dr.Run], args: argparse.Namespace, skipped) -> str:
    methods, _ = methods_for(args.depths, args.jacobi_block)
    labels = [m.label for m in methods]
    schemes = list(dict.fromkeys(m.scheme for m in methods if m.kind == dr.SPECULATIVE
                                 and m.tree.startswith("binary")))
    lines = [
        "# Block efficiency on the real pair",
        "",
        f"Target {args.target}, draft {args.draft} ({args.dtype}); up to {args.max_new_tokens} new "
        f"tokens per prompt; seed {args.seed}. Block efficiency = new tokens / target forwards "
        "(ratio of sums over prompts); every method at a temperature uses the same prompts "
        "(those all of them finished). `binary:d` = d levels of 2 drafts (2^(d+1)-1 nodes with "
        "the root); chain = single-draft on `chain:d`.",
        "",
        f"Command: `python scripts/measure_real_pair.py {' '.join(args.argv)}`",
        "",
    ]
    for t in args.temperatures:
        rows, n = complete_rows(runs, t, labels)
        by = {r.method: r for r in rows}
        lines += [f"## T = {t:g} ({n} prompts)", ""]
        if not n:
            lines += ["no prompt finished by every method yet", ""]
            continue
        head = "| method | " + " | ".join(f"d = {d}" for d in args.depths) + " |"
        lines += [head, "|---" * (len(args.depths) + 1) + "|"]
        for s in schemes:
            cells = [f"{by[f'{s}@binary:{d}'].block_efficiency:.3f}" if f"{s}@binary:{d}" in by else "-"
                     for d in args.depths]
            lines.append(f"| {s} (binary:d) | " + " | ".join(cells) + " |")
        cells = [f"{by[f'single@chain:{d}'].block_efficiency:.3f}" for d in args.depths]
        lines.append("| chain (single, chain:d) | " + " | ".join(cells) + " |")
        lines += ["", *uncertainty_lines(runs, t, labels, schemes, args.depths)]
        jac = by[f"jacobi@{args.jacobi_block}"]
        lines += ["", f"Jacobi on the target (block {args.jacobi_block}): {jac.block_efficiency:.3f} tokens "
                  f"per forward ({jac.fast_forwarded} tokens fast-forwarded, {jac.stationary} stationary)."]
        ar = by["ar"]
        lines += [f"AR on the target: {ar.tokens_per_second:.2f} tokens/s "
                  f"({ar.new_tokens} tokens in {ar.seconds:.0f} s).", ""]
        lines += ["| method | tokens | target fwd | tok/fwd | tok/s | speedup vs AR | mean accepted | "
                  "acceptance by depth | verify share |", "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            acc = "-" if r.mean_accepted is None else f"{r.mean_accepted:.2f}"
            depth = " ".join("-" if a is None else f"{a:.2f}" for a in r.depth_acceptance) or "-"
            lines.append(f"| {r.method} | {r.new_tokens} | {r.target_forwards} | {r.block_efficiency:.3f} | "
                         f"{r.tokens_per_second:.2f} | {r.speedup:.2f}x | {acc} | {depth} | "
                         f"{verify_share(runs, t, r.method)} |")
        lines.append("")
    lines += ["Wall times come from a CPU shared with other jobs: tokens/s and speedups are noisy; "
              "block efficiency does not depend on them."]
    for label, reason in skipped:
        lines.append(f"Not run: {label}: {reason}.")
    return "\n".join(lines) + "\n"


def summary_plot(runs: Sequence[dr.Run], args: argparse.Namespace, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods, _ = methods_for(args.depths, args.jacobi_block)
    labels = [m.label for m in methods]
    schemes = list(dict.fromkeys(m.scheme for m in methods if m.kind == dr.SPECULATIVE
                                 and m.tree.startswith("binary")))
    fig, axes = plt.subplots(1, len(args.temperatures), figsize=(5.5 * len(args.temperatures), 4.5),
                             squeeze=False, sharey=True)
    for ax, t in zip(axes[0], args.temperatures, strict=True):
        rows, n = complete_rows(runs, t, labels)
        by = {r.method: r for r in rows}
        if n:
            for i, s in enumerate(schemes):
                ds = [d for d in args.depths if f"{s}@binary:{d}" in by]
                shift = (i - (len(schemes) - 1) / 2) * 0.04  # side by side where values tie
                ax.plot([d + shift for d in ds], [by[f"{s}@binary:{d}"].block_efficiency for d in ds],
                        marker="o", label=s)
            ax.plot(args.depths, [by[f"single@chain:{d}"].block_efficiency for d in args.depths],
                    marker="s", linestyle="--", color="0.4", label="chain (single)")
            ax.axhline(by[f"jacobi@{args.jacobi_block}"].block_efficiency, color="tab:red", linestyle=":",
                       label=f"Jacobi (block {args.jacobi_block})")
            ax.axhline(1.0, color="k", linewidth=0.6)
        ax.set_title(f"T = {t:g} ({n} prompts x {args.max_new_tokens} tokens)")
        ax.set_xlabel("depth d (binary:d; chain:d)")
        ax.set_xticks(list(args.depths))
        ax.set_xlim(min(args.depths) - 0.5, max(args.depths) + 0.5)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("tokens per target forward")
    for ax in axes[0]:  # the legend on the first panel that has data
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
            break
    fig.suptitle(f"{args.target} / {args.draft}: block efficiency")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_summary(out: Path, args: argparse.Namespace, skipped=None) -> None:
    if skipped is None:
        _, skipped = methods_for(args.depths, args.jacobi_block)
    runs = read_runs(out / "runs.jsonl")
    (out / "summary.md").write_text(summary_markdown(runs, args, skipped), encoding="utf-8")
    summary_plot(runs, args, out / "summary.png")
    print(f"wrote {out / 'summary.md'} and {out / 'summary.png'}", flush=True)


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for runs.jsonl, settings.json, summary.*")
    parser.add_argument("--target", default="qwen2.5-coder", help="as for `specsample decode`")
    parser.add_argument("--draft", default="qwen2.5-coder", help="as for `specsample decode`")
    parser.add_argument("--depths", type=_ints, default=(2, 3, 4), help="binary/chain depths (default 2,3,4)")
    parser.add_argument("--temperatures", type=_floats, default=(0.6, 1.0), help="default 0.6,1.0")
    parser.add_argument("--prompts", type=int, default=20, help="first N embedded prompts (default 20)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--jacobi-block", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--no-chat-template", action="store_true")
    parser.add_argument("--summary-only", action="store_true", help="rewrite the summary from runs.jsonl")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    if any(t <= 0 for t in args.temperatures):
        raise SystemExit("--temperatures must be > 0 (the protocol samples)")
    if args.summary_only:
        write_summary(Path(args.out), args)
    else:
        measure(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
