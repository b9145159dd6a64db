"""The layering rules, checked by a static import scan, and the scheme module contract.

Layers (README, common brief): ``specsample/`` is the exact core (numpy + numba only);
``lp/`` installs as ``specsample.lp`` and ``gpu/`` as ``specsample.gpu``; both import the
core, never each other; the core imports neither. The application layer (``cli.py``,
``report.py``, ``compare.py``, ``figure.py``, ``models.py``, ``decode_report.py``,
``prompts.py``, ``__main__.py`` in ``specsample/``) may import every layer, and no layer
imports it. Every ``import`` statement anywhere in a file counts (also inside
functions and ``if TYPE_CHECKING:`` blocks), and so do ``importlib.import_module("...")`` and
``__import__("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

import pytest

from specsample import SCHEMES

ROOT = Path(__file__).resolve().parents[1]
APPLICATION = {
    "cli.py", "report.py", "compare.py", "figure.py", "models.py", "__main__.py",
    "decode_report.py", "prompts.py",
}
APPLICATION_MODULES = {"specsample." + name[:-3] for name in APPLICATION}

#: Top-level distributions the core must not import (any of their submodules either). rich and
#: matplotlib are dependencies of the command line's reports only.
HEAVY = ("torch", "scipy", "pulp", "transformers", "rich", "matplotlib")

#: Source tree -> the package its files belong to.
TREES = {"specsample": "specsample", "lp": "specsample.lp", "gpu": "specsample.gpu"}


def python_files(tree: str, *, skip: set[str] = frozenset()) -> list[Path]:
    base = ROOT / tree
    return sorted(p for p in base.rglob("*.py")
                  if not (p.parent == base and p.name in skip) and "__pycache__" not in p.parts)


def package_of(path: Path) -> str:
    """Dotted package that ``path`` lives in (``lp/x/y.py`` -> ``specsample.lp.x``)."""
    rel = path.relative_to(ROOT)
    parts = [TREES[rel.parts[0]], *rel.parts[1:-1]]
    return ".".join(parts)


def imported_names(path: Path) -> set[str]:
    """Fully qualified names a file imports: modules, and ``module.name`` for ``from``
    imports (so ``from specsample import lp`` yields ``specsample.lp``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = package_of(path)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                # level 1 is the package itself (for __init__ and modules alike)
                keep = len(parts) - (node.level - 1)
                if keep <= 0:
                    raise AssertionError(f"{path}: relative import beyond the top level")
                base = ".".join(parts[:keep] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.add(first.value)
    return names


def matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


def violations(files: list[Path], forbidden: tuple[str, ...] | set[str]) -> list[str]:
    found = []
    for path in files:
        for name in sorted(imported_names(path)):
            if any(matches(name, f) for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


CORE = python_files("specsample", skip=APPLICATION)
LP = python_files("lp")
GPU = python_files("gpu")


def test_the_scan_sees_the_source_trees():
    assert any(p.name == "_checks.py" for p in CORE)
    assert (ROOT / "lp" / "__init__.py") in LP and (ROOT / "gpu" / "__init__.py") in GPU
    assert not any(p.name in APPLICATION and p.parent == ROOT / "specsample" for p in CORE)


def test_core_imports_no_heavy_dependency_nor_lp_nor_gpu():
    assert violations(CORE, (*HEAVY, "specsample.lp", "specsample.gpu", "lp", "gpu")) == []


def test_lp_never_imports_gpu_or_torch():
    assert violations(LP, ("specsample.gpu", "gpu", "torch", "transformers")) == []


def test_gpu_never_imports_lp_scipy_or_pulp():
    assert violations(GPU, ("specsample.lp", "lp", "scipy", "pulp")) == []


def test_no_layer_imports_the_application_layer():
    assert violations(CORE + LP + GPU, APPLICATION_MODULES) == []


@pytest.mark.parametrize(("source", "expected"), [
    ("import torch.nn", {"torch.nn"}),
    ("from scipy import optimize", {"scipy", "scipy.optimize"}),
    ("from . import lp", {"specsample", "specsample.lp"}),
    ("from .cli import main", {"specsample.cli", "specsample.cli.main"}),
    ("def f():\n    import pulp", {"pulp"}),
    ("import importlib\nimportlib.import_module('torch')", {"importlib", "torch"}),
])
def test_the_scan_finds_every_import_form(tmp_path, source, expected, monkeypatch):
    """The checker itself: a core file with each import form is seen as importing it."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "specsample").mkdir()
    path = tmp_path / "specsample" / "mod.py"
    path.write_text(source + "\n", encoding="utf-8")
    assert imported_names(path) == expected


# ---------------------------------------------------------------- the scheme contract
FUNCTIONS = ("draft", "verify", "draft_law", "output_law", "acceptance_rate")


@pytest.mark.parametrize("name", list(SCHEMES))
def test_scheme_module_has_the_contract(name):
    module = SCHEMES[name]
    assert module.NAME == name
    assert module.MAX_K is None or (type(module.MAX_K) is int and module.MAX_K >= 1)
    for fn in FUNCTIONS:
        assert callable(getattr(module, fn, None)), f"{name}.{fn} missing"
    for fn in ("draft", "verify"):
        params = inspect.signature(getattr(module, fn)).parameters
        for keyword in ("rng", "uniforms"):
            assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY, (fn, keyword)
            assert params[keyword].default is None
    assert inspect.signature(module.draft).parameters["size"].kind is (
        inspect.Parameter.KEYWORD_ONLY)


def test_scheme_registry_order():
    assert list(SCHEMES) == ["single", "rrs", "rrsw", "spechub", "kseq", "opt_iid", "opt_wor"]
    assert SCHEMES["single"].MAX_K == 1
    assert SCHEMES["spechub"].MAX_K is None  # any k: top-(k-1) hubs plus one token


@pytest.mark.parametrize("name", list(SCHEMES))
def test_scheme_docstring_names_an_existing_proof(name):
    """Each scheme module's docstring names ``proofs/<file>.md`` and that file exists."""
    doc = SCHEMES[name].__doc__ or ""
    cited = re.findall(r"proofs/[\w.-]+\.md", doc)
    assert f"proofs/{name}.md" in cited, f"{name} docstring cites {cited}"
    for proof in cited:
        assert (ROOT / proof).is_file(), f"{proof} cited by {name} does not exist"
