"""Keep numba's on-disk kernel cache in step with the source it was compiled from.

numba's ``cache=True`` invalidates a cached kernel only when the file that defines it changes.
The kernels here read constants and inline helpers from other modules (``_sampling.LANES``,
``_sampling.finish_lanes``), so editing ``_sampling.py`` alone -- or upgrading to a release in
which only a helper module changed -- would leave other modules' kernels compiled with the old
values, and a kernel would silently disagree with its numpy twin.

:func:`refresh` runs once, when :mod:`specsample._sampling` is imported (before any kernel is
compiled or loaded): it hashes the package's Python sources (and ``specsample.lp``'s), and
when the hash differs from the one recorded beside the cache, deletes the cached kernels
(``*.nbi``, ``*.nbc``) and records the new hash. A cache directory that cannot be written is
left alone (numba then keeps its cache elsewhere, keyed by file path and stamp).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_STAMP = "specsample-kernels.sha256"


def _package_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    dirs = [here, *(p.parent for p in here.rglob("__init__.py") if p.parent != here)]
    try:  # the lp subpackage lives in its own source folder (package-dir mapping)
        import importlib.util

        spec = importlib.util.find_spec("specsample.lp")
        if spec is not None and spec.origin:
            dirs.append(Path(spec.origin).resolve().parent)
    except (ImportError, ValueError):
        pass
    return sorted(set(dirs))


def _digest(dirs: list[Path]) -> str:
    h = hashlib.sha256()
    for folder in dirs:
        for source in sorted(folder.glob("*.py")):
            h.update(source.name.encode())
            h.update(source.read_bytes())
    return h.hexdigest()


def refresh() -> None:
    """Delete cached kernels compiled from other sources than the installed ones."""
    try:
        dirs = _package_dirs()
        digest = _digest(dirs)
    except OSError:
        return
    for folder in dirs:
        cache = folder / "__pycache__"
        stamp = cache / _STAMP
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        try:
            for stale in [*cache.glob("*.nbi"), *cache.glob("*.nbc")]:
                stale.unlink()
            cache.mkdir(exist_ok=True)
            stamp.write_text(digest)
        except OSError:
            continue
