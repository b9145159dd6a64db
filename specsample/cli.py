"""The ``specsample`` command line (also ``python -m specsample``).

One function per subcommand (``cmd_<name>``), each registered by an ``_add_<name>`` that
builds its argparse subparser, so a new subcommand is one new pair of functions.
Subcommands compute with :mod:`specsample.report` and print with its formatters; they
return the process exit status.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import specsample
from specsample import report
from specsample.demo_pairs import PAIR_NAMES, demo_pairs

#: Exit status when a measured rate disagrees with its exact value (a library bug).
EXIT_FLAGGED = 1
#: Exit status for an output file that cannot be written.
EXIT_IO = 1
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


def _write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, so that an
    error leaves either the old file or none, never a half-written one."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".specsample-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


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
        f"Exit status {EXIT_FLAGGED} if a measured rate lies more than {report.FLAG_SE:g} standard errors from",
        "its exact value: rare for a correct library (about 6e-7 per cell by the normal",
        "approximation), so it signals a bug.",
    ]
    return "\n".join(lines)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="run every verifier on the embedded target/draft pairs; print acceptance rates",
        description=(
            "Run every verifier in specsample.SCHEMES on embedded target/draft pairs for\n"
            "k = 1..4 drafts and print a table of acceptance rates: the exact value next to\n"
            "one measured by running the real batched draft+verify code."
        ),
        epilog=_demo_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--samples", type=_positive_int, default=20_000, metavar="N",
        help="draft+verify runs per cell (default: %(default)s)",
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
        "-k", "--k", dest="ks", type=_k_list, default=(1, 2, 3, 4), metavar="K[,K...]",
        help="numbers of drafts (default: 1,2,3,4)",
    )
    parser.add_argument(
        "--format", choices=tuple(_FORMATTERS), default="text",
        help="output format (default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=None,
        help="write the output to FILE instead of stdout",
    )
    parser.add_argument(
        "--exact-limit", type=_non_negative_float, default=report.EXACT_WORK_LIMIT, metavar="W",
        help=(
            "compute the exact RRSw rate for k >= 3 only when its estimated cost m^(k-2) V "
            "(m = tokens with q > p) is at most W, else show the measured value only "
            "(default: %(default)g, a second or two at most each; 'inf' computes all)"
        ),
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
    """``specsample demo``: the acceptance table on the embedded pairs."""
    pairs = demo_pairs()
    if args.list_pairs:
        lines = [f"{p.name:<7} V={p.vocab:<5} {p.description}" for p in pairs.values()]
        return _emit("\n".join(lines) + "\n", args.output)
    bar = ProgressBar(sys.stderr, enabled=not args.no_progress and sys.stderr.isatty())
    result = report.acceptance_report(
        [pairs[name] for name in args.pairs],
        ks=args.ks,
        schemes=args.schemes,
        samples=args.samples,
        seed=args.seed,
        exact_limit=args.exact_limit,
        progress=bar,
    )
    status = _emit(_FORMATTERS[args.format](result), args.output)
    if status:
        return status
    if result.flagged:
        print(
            f"specsample: {len(result.flagged)} measured rate(s) disagree with the exact "
            "value; this indicates a bug -- please report it",
            file=sys.stderr,
        )
        return EXIT_FLAGGED
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
