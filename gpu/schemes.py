"""The torch schemes by name, in the core's order (:data:`specsample.SCHEMES`)."""

from __future__ import annotations

from types import ModuleType

from . import kseq, rrs, rrsw, single, spechub

#: Scheme name -> torch module with ``draft``, ``verify``, ``min_support``, ``NAME``, ``MAX_K``.
SCHEMES: dict[str, ModuleType] = {module.NAME: module for module in (single, rrs, rrsw, spechub, kseq)}
