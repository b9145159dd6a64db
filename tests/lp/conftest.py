"""Hypothesis profiles for tests/lp: ``ci`` (derandomized, the default) and ``dev``.

Registered only when no other conftest registered them; the profile is chosen by the
``HYPOTHESIS_PROFILE`` environment variable (default ``ci``).
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
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_register("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
