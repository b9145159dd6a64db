"""Decoding reports: run AR, speculative decoding and Jacobi on prompts, then format the table.

Application-layer code (like :mod:`specsample.report`): it imports ``torch`` and
:mod:`specsample.gpu`, and nothing in the core, ``specsample.lp`` or ``specsample.gpu``
imports it. Computing and formatting are separate: :func:`run_method` decodes one prompt
with one :class:`Method` and returns a frozen :class:`Run` holding the numbers the decoder
returned; :func:`summarize` adds runs up into :class:`Row` objects; :func:`decode_report`
does both for a set of prompts and methods and returns a :class:`DecodeReport`, which
:func:`format_text`, :func:`format_csv`, :func:`format_json` and :func:`plot_report` turn
into output. ``specsample decode`` and ``scripts/measure_real_pair.py`` use these.

Methods
    ``ar``: the target alone, one forward per token (greedy: first argmax; sampling:
    ``torch.multinomial`` on the float64 softmax at the temperature, from the run's
    generator). ``scheme@tree``: :class:`specsample.gpu.SpeculativeDecoder`.
    ``jacobi@n``: :func:`specsample.gpu.jacobi_generate` on the target, blocks of ``n``.
    All three prefill all prompt tokens but the last and then count one target forward per
    step, so *tokens per target forward* (block efficiency) is comparable: 1 for AR by
    construction.
Seeding
    Every (prompt, method, temperature) run draws from its own ``torch.Generator`` seeded by
    :func:`run_seed` from ``[seed, crc32(prompt name), crc32(method label),
    crc32(temperature)]``, so a run's tokens do not depend on which other prompts or
    methods are in the same report.
Timing
    ``seconds`` is the wall time of the whole call (prefill included), measured around the
    call with ``time.perf_counter`` (CUDA synchronised before each read). Tokens/s and the
    speedup over AR come from these, in the same process.
"""

from __future__ import annotations

import csv
import io
import json
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

import specsample
from specsample.prompts import Prompt

AR = "ar"
SPECULATIVE = "speculative"
JACOBI = "jacobi"

#: ``progress(done, total, label)`` is called before each run and once at the end.
ProgressFn = Callable[[int, int, str], None]


# ---------------------------------------------------------------- methods
@dataclass(frozen=True)
class Method:
    """One way to decode: ``kind`` is ``"ar"``, ``"speculative"`` (with ``scheme`` and
    ``tree``, a :class:`specsample.gpu.Tree` spelling) or ``"jacobi"`` (with ``block_size``)."""

    kind: str
    scheme: str | None = None
    tree: str | None = None
    block_size: int | None = None

    @classmethod
    def ar(cls) -> Method:
        return cls(AR)

    @classmethod
    def speculative(cls, scheme: str, tree: str) -> Method:
        return cls(SPECULATIVE, scheme=scheme, tree=tree)

    @classmethod
    def jacobi(cls, block_size: int = 16) -> Method:
        return cls(JACOBI, block_size=block_size)

    @property
    def label(self) -> str:
        """``"ar"``, ``"<scheme>@<tree>"`` or ``"jacobi@<block size>"``."""
        if self.kind == AR:
            return AR
        if self.kind == SPECULATIVE:
            return f"{self.scheme}@{self.tree}"
        return f"{JACOBI}@{self.block_size}"

    @classmethod
    def from_label(cls, label: str) -> Method:
        """Inverse of :attr:`label`."""
        if label == AR:
            return cls.ar()
        name, sep, rest = label.partition("@")
        if not sep:
            raise ValueError(f"method label {label!r} is not 'ar', 'scheme@tree' or 'jacobi@n'")
        if name == JACOBI:
            return cls.jacobi(int(rest))
        return cls.speculative(name, rest)


def unsupported_reason(method: Method, verifier: str = "auto", device: str = "cpu") -> str | None:
    """Why ``method`` cannot run with ``verifier`` for models on ``device`` (a scheme with no
    torch port when the verifier is torch; a scheme that takes fewer drafts per node than
    the tree has children), or ``None``. Unknown schemes and malformed trees raise
    ``ValueError``."""
    if method.kind != SPECULATIVE:
        return None
    import torch

    from specsample.gpu import SCHEMES as TORCH_SCHEMES
    from specsample.gpu import Tree
    from specsample.gpu.decode import resolve_verifier

    if method.scheme not in specsample.SCHEMES:
        raise ValueError(f"unknown scheme {method.scheme!r}; known: {', '.join(specsample.SCHEMES)}")
    tree = Tree.parse(method.tree)
    if resolve_verifier(verifier, torch.device(device)) == "torch":
        if method.scheme not in TORCH_SCHEMES:
            return f"{method.scheme} has no torch port in specsample.gpu (verifier 'core' runs it)"
        max_k = TORCH_SCHEMES[method.scheme].MAX_K
    else:
        max_k = specsample.SCHEMES[method.scheme].MAX_K
    if max_k is not None and tree.max_children > max_k:
        return f"{method.scheme} takes k <= {max_k} drafts per node; {method.tree} has {tree.max_children}"
    return None


# ---------------------------------------------------------------- one run
@dataclass(frozen=True)
class Run:
    """One prompt decoded by one method: what the decoder returned, plus the wall time.

    ``target_forwards`` counts target forwards after the prefill (AR: one per token;
    speculative: tree steps; Jacobi: block forwards). ``accepted_lengths``,
    ``depth_attempts``, ``depth_accepts`` (speculative) and ``fast_forwarded``,
    ``stationary`` (Jacobi) are the decoders' own statistics; absent fields are empty or 0.
    The ``*_seconds`` split ``seconds`` by the decoders' own clocks: speculative decoding
    reports its prefill, drafting (draft forwards and sampling), the target's tree forwards
    and verification (probabilities, verifiers, walk, cache update); Jacobi its prefill and
    block forwards (``target_seconds``); AR is not split (all zero).
    """

    method: str
    prompt: str
    prompt_kind: str
    temperature: float
    seed: int
    prompt_tokens: int
    new_tokens: int
    target_forwards: int
    seconds: float
    tokens: tuple[int, ...]
    draft_forwards: int = 0
    accepted_lengths: tuple[int, ...] = ()
    depth_attempts: tuple[int, ...] = ()
    depth_accepts: tuple[int, ...] = ()
    fast_forwarded: int = 0
    stationary: int = 0
    prefill_seconds: float = 0.0
    draft_seconds: float = 0.0
    target_seconds: float = 0.0
    verify_seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain JSON-ready data (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Run:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def run_seed(seed: int, prompt: str, method: str, temperature: float) -> int:
    """The generator seed of one run: a 63-bit hash of
    ``[seed, crc32(prompt), crc32(method), crc32(repr(temperature))]``."""
    words = [seed, zlib.crc32(prompt.encode()), zlib.crc32(method.encode()),
             zlib.crc32(repr(float(temperature)).encode())]
    state = np.random.SeedSequence(words).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


class _Timer:
    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def now(self) -> float:
        if self.cuda:
            import torch

            torch.cuda.synchronize()
        return time.perf_counter()


def ar_generate(model, prompt_ids: Sequence[int], *, max_new_tokens: int, temperature: float,
                generator=None, eos: Iterable[int] = ()) -> list[int]:
    """The target's own decoding: prefill ``prompt_ids[:-1]``, then one forward per token.

    Greedy (``temperature == 0``) takes the first argmax, as ``generate`` does; otherwise
    tokens are drawn with ``torch.multinomial`` from the float64 softmax of the logits
    divided by ``temperature``, using ``generator``. Stops after an ``eos`` token.
    """
    import torch
    from transformers import DynamicCache

    device = next(model.parameters()).device
    eos = frozenset(eos)
    out: list[int] = []
    with torch.inference_mode():
        cache = DynamicCache(config=model.config)
        if len(prompt_ids) > 1:
            model(input_ids=torch.tensor([list(prompt_ids[:-1])], device=device),
                  past_key_values=cache, use_cache=True)
        token = int(prompt_ids[-1])
        while len(out) < max_new_tokens:
            logits = model(input_ids=torch.tensor([[token]], device=device),
                           past_key_values=cache, use_cache=True).logits[0, -1]  # (V,)
            if temperature == 0.0:
                token = int(torch.argmax(logits))
            else:
                probs = torch.softmax(logits.to(torch.float64) / temperature, dim=-1)
                token = int(torch.multinomial(probs, 1, generator=generator))
            out.append(token)
            if token in eos:
                break
    return out


def run_method(
    method: Method,
    target,
    draft,
    prompt: Prompt,
    prompt_ids: Sequence[int],
    *,
    temperature: float,
    max_new_tokens: int,
    seed: int,
    eos: Iterable[int] = (),
    verifier: str = "auto",
) -> Run:
    """Decode ``prompt_ids`` (the tokens of ``prompt``) with ``method``; return the :class:`Run`.

    ``draft`` is used by speculative methods only (may be ``None`` otherwise). ``eos`` are
    the stop tokens (the output includes the one that stopped it).
    """
    import torch

    from specsample import gpu

    device = next(target.parameters()).device
    eos = tuple(int(t) for t in eos)
    run_seed_value = run_seed(seed, prompt.name, method.label, temperature)
    generator = None
    if temperature > 0.0:
        generator = torch.Generator(device=device)
        generator.manual_seed(run_seed_value)
    ids = torch.tensor(list(prompt_ids), dtype=torch.int64, device=device)
    timer = _Timer(device)
    common = dict(method=method.label, prompt=prompt.name, prompt_kind=prompt.kind,
                  temperature=float(temperature), seed=run_seed_value, prompt_tokens=len(prompt_ids))
    if method.kind == AR:
        start = timer.now()
        tokens = ar_generate(target, list(prompt_ids), max_new_tokens=max_new_tokens,
                             temperature=temperature, generator=generator, eos=eos)
        seconds = timer.now() - start
        return Run(**common, new_tokens=len(tokens), target_forwards=len(tokens), seconds=seconds,
                   tokens=tuple(tokens))
    if method.kind == SPECULATIVE:
        decoder = gpu.SpeculativeDecoder(target, draft, scheme=method.scheme, tree=method.tree,
                                         verifier=verifier)
        start = timer.now()
        result = decoder.generate(ids, max_new_tokens=max_new_tokens, temperature=temperature,
                                  generator=generator, eos_token_id=eos)
        seconds = timer.now() - start
        s = result.stats
        return Run(**common, new_tokens=s.new_tokens, target_forwards=s.steps, seconds=seconds,
                   tokens=tuple(result.tokens.tolist()), draft_forwards=s.draft_forwards,
                   accepted_lengths=s.accepted_lengths, depth_attempts=s.depth_attempts,
                   depth_accepts=s.depth_accepts, prefill_seconds=s.prefill_seconds,
                   draft_seconds=s.draft_seconds, target_seconds=s.target_seconds,
                   verify_seconds=s.verify_seconds)
    if method.kind == JACOBI:
        start = timer.now()
        result = gpu.jacobi_generate(target, ids, block_size=method.block_size,
                                     max_new_tokens=max_new_tokens, temperature=temperature,
                                     generator=generator, eos_token_id=eos, verifier=verifier)
        seconds = timer.now() - start
        s = result.stats
        return Run(**common, new_tokens=s.new_tokens, target_forwards=s.forwards, seconds=seconds,
                   tokens=tuple(result.tokens.tolist()), fast_forwarded=s.fast_forwarded,
                   stationary=s.stationary, prefill_seconds=s.prefill_seconds,
                   target_seconds=s.decode_seconds)
    raise ValueError(f"unknown method kind {method.kind!r}")


def warm_up(methods: Sequence[Method]) -> None:
    """Compile (or load from numba's cache) the core kernels the methods will call, so that
    the first timed run does not pay for it. Uses small made-up rows only."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(8), size=2)  # (2, 8)
    q = rng.dirichlet(np.ones(8), size=2)
    wanted = {("single", 1)}
    from specsample.gpu import Tree

    for m in methods:
        if m.kind == SPECULATIVE:
            tree = Tree.parse(m.tree)
            wanted.update((m.scheme, len(c)) for c in tree.children if c)
    for name, k in sorted(wanted):
        scheme = specsample.SCHEMES[name]
        drafts = scheme.draft(q, k, rng=rng)  # (2, k)
        scheme.verify(p, q, drafts, rng=rng)


# ---------------------------------------------------------------- summaries
@dataclass(frozen=True)
class Row:
    """A method's runs added up (sums over prompts; rates are ratios of sums).

    ``speedup`` is this method's tokens/s over AR's in the same report (``None`` without an
    AR row). ``depth_acceptance[j]`` is accepts / attempts at depth ``j`` over all steps.
    """

    method: str
    kind: str
    prompts: int
    new_tokens: int
    target_forwards: int
    seconds: float
    draft_forwards: int
    steps_by_accepted: tuple[int, ...]
    depth_attempts: tuple[int, ...]
    depth_accepts: tuple[int, ...]
    fast_forwarded: int
    stationary: int
    draft_seconds: float = 0.0
    target_seconds: float = 0.0
    verify_seconds: float = 0.0
    speedup: float | None = None

    @property
    def block_efficiency(self) -> float:
        """Tokens per target forward."""
        return self.new_tokens / self.target_forwards

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds

    def ms_per_forward(self, part: str) -> float | None:
        """Milliseconds of ``part`` (``"draft"``, ``"target"`` or ``"verify"``) per target
        forward, from the decoders' clocks (:class:`Run`); AR's target time is its whole
        time. ``None`` where the method has no such part (AR and Jacobi draft or verify)."""
        if self.kind == AR:
            return 1e3 * self.seconds / self.target_forwards if part == "target" else None
        if self.kind == JACOBI and part != "target":
            return None
        return 1e3 * getattr(self, f"{part}_seconds") / self.target_forwards

    @property
    def mean_accepted(self) -> float | None:
        """Mean number of drafts accepted per step (speculative only)."""
        steps = sum(self.steps_by_accepted)
        if not steps:
            return None
        return sum(j * c for j, c in enumerate(self.steps_by_accepted)) / steps

    @property
    def depth_acceptance(self) -> tuple[float | None, ...]:
        return tuple(a / n if n else None for a, n in zip(self.depth_accepts, self.depth_attempts, strict=True))


def _add(vectors: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
    vectors = [v for v in vectors if v]
    if not vectors:
        return ()
    width = max(len(v) for v in vectors)
    return tuple(sum(v[i] for v in vectors if i < len(v)) for i in range(width))


def summarize(runs: Sequence[Run], *, methods: Sequence[str] | None = None) -> tuple[Row, ...]:
    """One :class:`Row` per method (in ``methods`` order, default first appearance), with the
    speedup over the ``ar`` row when there is one."""
    order = list(methods) if methods is not None else list(dict.fromkeys(r.method for r in runs))
    rows = []
    for label in order:
        mine = [r for r in runs if r.method == label]
        if not mine:
            continue
        rows.append(Row(
            method=label,
            kind=Method.from_label(label).kind,
            prompts=len(mine),
            new_tokens=sum(r.new_tokens for r in mine),
            target_forwards=sum(r.target_forwards for r in mine),
            seconds=sum(r.seconds for r in mine),
            draft_forwards=sum(r.draft_forwards for r in mine),
            steps_by_accepted=_add(r.accepted_lengths for r in mine),
            depth_attempts=_add(r.depth_attempts for r in mine),
            depth_accepts=_add(r.depth_accepts for r in mine),
            fast_forwarded=sum(r.fast_forwarded for r in mine),
            stationary=sum(r.stationary for r in mine),
            draft_seconds=sum(r.draft_seconds for r in mine),
            target_seconds=sum(r.target_seconds for r in mine),
            verify_seconds=sum(r.verify_seconds for r in mine),
        ))
    ar = next((r for r in rows if r.kind == AR), None)
    if ar is not None:
        rows = [_with_speedup(r, r.tokens_per_second / ar.tokens_per_second) for r in rows]
    return tuple(rows)


def _with_speedup(row: Row, speedup: float) -> Row:
    data = {k: getattr(row, k) for k in row.__dataclass_fields__}
    data["speedup"] = speedup
    return Row(**data)


# ---------------------------------------------------------------- the report
@dataclass(frozen=True)
class DecodeReport:
    """Every run of a ``specsample decode`` call, their summary rows, and the settings."""

    target: str
    draft: str
    device: str
    dtype: str
    temperature: float
    max_new_tokens: int
    seed: int
    chat_template: bool
    prompts: tuple[Prompt, ...]
    methods: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (method label, reason)
    runs: tuple[Run, ...]
    rows: tuple[Row, ...] = field(default=())


def decode_report(
    target,
    draft,
    prompts: Sequence[Prompt],
    prompt_ids: Sequence[Sequence[int]],
    methods: Sequence[Method],
    *,
    temperature: float,
    max_new_tokens: int,
    seed: int = 0,
    eos: Iterable[int] = (),
    verifier: str = "auto",
    names: tuple[str, str] = ("target", "draft"),
    chat_template: bool = False,
    progress: ProgressFn | None = None,
) -> DecodeReport:
    """Decode every prompt with every method (prompt by prompt, the methods in turn, so that
    a change of machine load spreads over all methods alike) and summarize.

    Methods that :func:`unsupported_reason` rejects are skipped and listed in ``skipped``.
    ``prompt_ids[i]`` are the tokens of ``prompts[i]``.
    """
    if len(prompts) != len(prompt_ids):
        raise ValueError(f"prompts ({len(prompts)}) and prompt_ids ({len(prompt_ids)}) differ in length")
    runnable, skipped = [], []
    for m in methods:
        reason = unsupported_reason(m, verifier, str(next(target.parameters()).device))
        if reason is None:
            runnable.append(m)
        else:
            skipped.append((m.label, reason))
    if not runnable:
        raise ValueError("no method can run: " + "; ".join(f"{m}: {r}" for m, r in skipped))
    warm_up(runnable)
    total = len(prompts) * len(runnable)
    runs = []
    for i, (prompt, ids) in enumerate(zip(prompts, prompt_ids, strict=True)):
        for m in runnable:
            if progress is not None:
                progress(len(runs), total, f"prompt {i + 1}/{len(prompts)} {m.label}")
            runs.append(run_method(m, target, draft, prompt, ids, temperature=temperature,
                                   max_new_tokens=max_new_tokens, seed=seed, eos=eos, verifier=verifier))
    if progress is not None:
        progress(len(runs), total, "done")
    labels = tuple(m.label for m in runnable)
    param = next(target.parameters())
    return DecodeReport(
        target=names[0], draft=names[1], device=str(param.device), dtype=str(param.dtype).removeprefix("torch."),
        temperature=float(temperature), max_new_tokens=max_new_tokens, seed=seed,
        chat_template=chat_template, prompts=tuple(prompts), methods=labels, skipped=tuple(skipped),
        runs=tuple(runs), rows=summarize(runs, methods=labels),
    )


# ---------------------------------------------------------------- formatting
def _method_cells(row: Row) -> tuple[str, str]:
    m = Method.from_label(row.method)
    if m.kind == AR:
        return "AR (target)", "-"
    if m.kind == JACOBI:
        return "Jacobi (target)", f"block {m.block_size}"
    return m.scheme, m.tree


def _ms_cell(row: Row, part: str) -> str:
    value = row.ms_per_forward(part)
    return "-" if value is None else f"{value:.1f}"


def _acceptance_text(row: Row) -> str:
    if row.kind == SPECULATIVE:
        depth = " ".join("-" if a is None else f"{a:.2f}" for a in row.depth_acceptance)
        return f"{row.mean_accepted:.2f} | {depth}"
    if row.kind == JACOBI:
        return f"ff {row.fast_forwarded}, stat {row.stationary}"
    return "-"


def format_text(report: DecodeReport) -> str:
    """One fixed-width table, one line per method, then what the columns mean."""
    out = io.StringIO()
    n_code = sum(p.kind == "code" for p in report.prompts)
    mode = "greedy" if report.temperature == 0 else f"temperature {report.temperature:g}"
    out.write(
        f"{len(report.prompts)} prompts ({n_code} code, {len(report.prompts) - n_code} prose) x up to "
        f"{report.max_new_tokens} new tokens, {mode}, seed {report.seed}\n"
        f"target {report.target}  draft {report.draft}  ({report.device}, {report.dtype}"
        f"{', chat template' if report.chat_template else ''})\n\n"
    )
    header = (f"{'method':<16}{'tree':<12}{'tokens':>7}{'fwd':>7}{'tok/fwd':>9}{'tok/s':>9}"
              f"{'speedup':>9}{'draft':>8}{'target':>8}{'verify':>8}  acceptance")
    out.write(header + "\n" + "-" * (len(header) + 16) + "\n")
    for row in report.rows:
        name, tree = _method_cells(row)
        speedup = "-" if row.speedup is None else f"{row.speedup:.2f}x"
        out.write(f"{name:<16}{tree:<12}{row.new_tokens:>7}{row.target_forwards:>7}"
                  f"{row.block_efficiency:>9.3f}{row.tokens_per_second:>9.2f}{speedup:>9}"
                  f"{_ms_cell(row, 'draft'):>8}{_ms_cell(row, 'target'):>8}"
                  f"{_ms_cell(row, 'verify'):>8}  {_acceptance_text(row)}\n")
    out.write(
        "\ntokens   new tokens over all prompts (stops at EOS or the limit)\n"
        "fwd      target forwards after the prefill: AR one per token, speculative one per tree,\n"
        "         Jacobi one per block iteration\n"
        "tok/fwd  block efficiency = tokens / fwd (ratio of sums over prompts)\n"
        "tok/s    tokens / wall seconds of the whole calls (prefill included); speedup = tok/s\n"
        "         over AR's, measured in this process\n"
        "draft, target, verify  milliseconds per fwd spent drafting (draft forwards and\n"
        "         sampling), in the target's forwards, and verifying (probabilities, verifier,\n"
        "         walk, cache update), by the decoders' own clocks; AR's target is its whole time\n"
        "acceptance  speculative: mean drafts accepted per step | acceptance rate at depth\n"
        "         1, 2, ... (accepted / attempted); Jacobi: tokens fast-forwarded, stationary tokens\n"
    )
    for label, reason in report.skipped:
        out.write(f"not run  {label}: {reason}\n")
    return out.getvalue()


_CSV_FIELDS = (
    "method", "kind", "scheme", "tree", "block_size", "temperature", "prompts", "new_tokens",
    "target_forwards", "block_efficiency", "seconds", "tokens_per_second", "speedup",
    "mean_accepted", "depth_acceptance", "draft_forwards", "fast_forwarded", "stationary",
    "draft_ms_per_forward", "target_ms_per_forward", "verify_ms_per_forward",
)


def row_dict(row: Row, temperature: float) -> dict:
    """A summary row as plain data (``None`` where a value does not exist)."""
    m = Method.from_label(row.method)
    return {
        "method": row.method, "kind": row.kind, "scheme": m.scheme, "tree": m.tree,
        "block_size": m.block_size, "temperature": temperature, "prompts": row.prompts,
        "new_tokens": row.new_tokens, "target_forwards": row.target_forwards,
        "block_efficiency": row.block_efficiency, "seconds": row.seconds,
        "tokens_per_second": row.tokens_per_second, "speedup": row.speedup,
        "mean_accepted": row.mean_accepted, "depth_acceptance": list(row.depth_acceptance),
        "draft_forwards": row.draft_forwards, "fast_forwarded": row.fast_forwarded,
        "stationary": row.stationary,
        **{f"{part}_ms_per_forward": row.ms_per_forward(part) for part in ("draft", "target", "verify")},
    }


def format_csv(report: DecodeReport) -> str:
    """One CSV row per method; ``depth_acceptance`` is space-separated, empty fields for none."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        data = row_dict(row, report.temperature)
        data["depth_acceptance"] = " ".join("" if a is None else repr(a) for a in data["depth_acceptance"])
        writer.writerow({k: "" if v is None else v for k, v in data.items()})
    return out.getvalue()


def report_dict(report: DecodeReport) -> dict:
    """The report as JSON-ready data: settings, summary rows, and every run."""
    return {
        "specsample_version": specsample.__version__,
        "target": report.target, "draft": report.draft, "device": report.device, "dtype": report.dtype,
        "temperature": report.temperature, "max_new_tokens": report.max_new_tokens, "seed": report.seed,
        "chat_template": report.chat_template,
        "prompts": [asdict(p) for p in report.prompts],
        "methods": list(report.methods),
        "skipped": [{"method": m, "reason": r} for m, r in report.skipped],
        "rows": [row_dict(r, report.temperature) for r in report.rows],
        "runs": [r.to_dict() for r in report.runs],
    }


def format_json(report: DecodeReport) -> str:
    """:func:`report_dict` as indented JSON."""
    return json.dumps(report_dict(report), indent=2) + "\n"


def plot_report(report: DecodeReport, path: str) -> None:
    """A PNG with two bar charts per method: tokens per target forward, and speedup over AR
    in wall time (tokens/s when there is no AR row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.method for r in report.rows]
    colours = ["0.5" if r.kind == AR else ("tab:orange" if r.kind == JACOBI else "tab:blue")
               for r in report.rows]
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 0.9 * len(labels) + 3), 4.5))
    axes[0].bar(labels, [r.block_efficiency for r in report.rows], color=colours)
    axes[0].set_ylabel("tokens per target forward")
    axes[0].set_title("block efficiency")
    has_ar = all(r.speedup is not None for r in report.rows)
    values = [r.speedup if has_ar else r.tokens_per_second for r in report.rows]
    axes[1].bar(labels, values, color=colours)
    if has_ar:
        axes[1].axhline(1.0, color="k", linewidth=0.8)
    axes[1].set_ylabel("speedup over AR (wall)" if has_ar else "tokens / s")
    axes[1].set_title("wall-clock speed")
    for ax in axes:
        ax.tick_params(axis="x", labelrotation=60)
        for tick in ax.get_xticklabels():
            tick.set_horizontalalignment("right")
    mode = "greedy" if report.temperature == 0 else f"T = {report.temperature:g}"
    fig.suptitle(f"{report.target} / {report.draft}, {mode}, {len(report.prompts)} prompts x "
                 f"{report.max_new_tokens} tokens")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
