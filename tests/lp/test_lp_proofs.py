"""Run the executable exact checks of proofs/ot_*.md (fewer instances than the scripts)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PROOFS = Path(__file__).resolve().parents[2] / "proofs"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, PROOFS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "instances"),
    [
        ("check_ot_mincut", 60),
        ("check_ot_prefix", 40),
        ("check_ot_without_replacement", 30),
        ("check_ot_hub", 60),
    ],
)
def test_proof_check(name, instances):
    assert load(name).main(instances=instances, seed=1) == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["check_ot_mincut", "check_ot_prefix", "check_ot_without_replacement", "check_ot_hub"]
)
def test_proof_check_full(name):
    assert load(name).main() == 0
