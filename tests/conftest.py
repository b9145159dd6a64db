"""Shared test configuration: hypothesis profiles.

Two profiles are registered; the environment variable ``HYPOTHESIS_PROFILE`` picks one and
a plain ``pytest`` uses ``ci``:

``ci`` (default)
    ``derandomize=True`` (examples come from a hash of each test, so every run tests the same
    cases), no example database, no deadline (numba compiles on first use), a moderate
    number of examples, and the reproduction blob printed on failure. This is what
    ``.ci/run`` and the README's test command run.
``dev``
    Randomized, more examples, the example database on: for local exploration, e.g.
    ``HYPOTHESIS_PROFILE=dev pytest tests/test_exact.py``.

Tests that are costly per example take a fraction of the active profile's count
(``strategies.examples``), so ``dev`` deepens them too. ``tests/strategies.py`` holds the
named strategies every property test draws from.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    max_examples=500,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if _PROFILE not in ("ci", "dev"):
    raise ValueError(f"HYPOTHESIS_PROFILE must be 'ci' or 'dev'; got {_PROFILE!r}")
settings.load_profile(_PROFILE)
