"""Hypothesis profiles for tests/optimal: ``ci`` (derandomized, the default) and ``dev``.

Registered only when no other conftest registered them (the top-level ``tests/conftest.py``
does when present); the profile is chosen by ``HYPOTHESIS_PROFILE`` (default ``ci``).
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis.errors import InvalidArgument


def _register(name: str, **kwargs) -> None:
    try:
        settings.get_profile(name)
    except InvalidArgument:
        settings.register_profile(name, **kwargs)


_register(
    "ci",
    derandomize=True,
    database=None,
    max_examples=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_register("dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
