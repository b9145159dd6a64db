"""Shared settings for the torch tests (skipped as a whole where torch is not installed)."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("torch") is None:
    collect_ignore_glob = ["test_gpu_*.py"]
else:
    import torch

    @pytest.fixture(autouse=True, scope="session")
    def _one_torch_thread():
        """The test machines share two cores among many processes; torch's intra-op threads
        then spin against each other (a 0.9M-element cumsum takes 20 ms with 2 threads, 6 ms
        with 1). One thread per test process keeps the suite fast; results do not depend on it."""
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(before)
