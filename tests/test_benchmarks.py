"""The benchmark scripts run: each one on tiny sizes, in a subprocess, as a user would call it.

They print measured ratios (README "Speed"); no timing is asserted here, only that every
script runs to the end and prints its table (a script that breaks silently would leave the
README's numbers without a command that reproduces them).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
HAS_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


def run(script: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_verify_benchmark():
    out = run("verify.py", "--vocab", "64", "--rows", "2", "--repeats", "1", "--schemes", "single,rrs")
    assert "numba/floor median" in out


def test_bounds_benchmark():
    out = run("bounds.py", "--pairs", "1", "--repeats", "1", "--skip-lp")
    assert "hub" in out and "closed-form" in out


@pytest.mark.slow
def test_optimal_benchmark():
    out = run("optimal.py", "--quick", "--ks", "2")
    assert "opt_wor fallbacks" in out and "opt_iid" in out


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch and transformers")
def test_gpu_verify_benchmark_on_cpu(tmp_path):
    out = run("gpu_verify.py", "--rows", "2", "--vocab", "64", "--repeat", "1", "--threads", "1",
              "--schemes", "single", "rrs", "kseq", "--json", str(tmp_path / "v.json"))
    assert "NO" not in out.split()  # every case returned the core's tokens
    rows = json.loads((tmp_path / "v.json").read_text())["rows"]
    assert [r["scheme"] for r in rows] == ["single", "rrs", "kseq"] and all(r["same"] for r in rows)


@pytest.mark.skipif(not HAS_TORCH, reason="needs torch and transformers")
def test_gpu_decode_benchmark_on_cpu(tmp_path):
    out = run("gpu_decode.py", "--device", "cpu", "--dtype", "float32", "--tiny", "--vocab", "64",
              "--prompts", "1", "--tokens", "4", "--prompt-tokens", "4", "--trees", "chain:1,binary:1",
              "--schemes", "rrs", "--rounds", "1", "--jacobi-block", "4", "--threads", "1",
              "--json", str(tmp_path / "d.json"))
    assert "fastest:" in out
    rows = json.loads((tmp_path / "d.json").read_text())["rows"]
    assert [r["method"] for r in rows] == ["AR", "single chain:1", "rrs binary:1", "Jacobi 4"]
    assert all(r["tokens"] == 4 for r in rows)


def test_optimal_parts_benchmark():
    out = run("optimal_parts.py", "--repeats", "1", "--ks", "2")
    assert "ratio order" in out and "build_wor" in out
    assert "tokens ordered; from the full order" in out  # the bucketed build and its baseline


def test_optimal_parts_on_raw_real_pairs(tmp_path):
    """``--raw``: the file layout of scripts/make_dataset.py's raw arrays (two rows here)."""
    rng = np.random.default_rng(0)
    rows = rng.dirichlet(np.full(20000, 0.05), size=4)
    raw = tmp_path / "raw.npz"
    np.savez(raw, full_p=rows[:2], full_q=rows[2:])
    out = run("optimal_parts.py", "--raw", str(raw), "--repeats", "1", "--ks", "2,3")
    assert "2 real pairs" in out and "x mass below resolution" in out
    rows = [line.split()[0] for line in out.splitlines() if line.rstrip().split()[-2:-1] == ["max"]]
    assert rows == ["2", "3"]
