"""The contract every scheme module keeps, and the verdict type it returns.

A *scheme* is a draft law plus an exact verifier for it. Each module in
:data:`specsample.SCHEMES` provides::

    drafts = scheme.draft(q, k, *, rng)            # (k,) int64 ordered draft tokens
    v = scheme.verify(p, q, drafts, *, rng)        # v.token, v.index (position or -1)
    scheme.draft_law(q, k)        # {tuple of k ints: probability}, exact law of the drafts
    scheme.output_law(p, q, drafts)    # (V,) exact law of the output given these drafts
    scheme.acceptance_rate(p, q, k)    # exact P(output is one of the drafts)

``p`` is always the target distribution and ``q`` the draft distribution (some papers swap
the letters). ``draft`` and ``verify`` also run batched: ``q`` of shape ``(B, V)`` gives
drafts ``(B, k)``, and ``p``, ``q`` with 1 or ``B`` rows and drafts ``(B, k)`` give a
:class:`Verdict` of arrays. The batched path runs numba kernels, the one-row path plain
numpy; both consume the same uniforms the same way, so ``uniforms=`` reproduces a call
exactly. ``output_law``, ``acceptance_rate`` and ``draft_law`` take ``Fraction`` vectors
too and then compute in exact rational arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Verdict:
    """What a verifier decided.

    Attributes
    ----------
    token : int or ndarray of int64, shape (B,)
        The output token ``Y``; distributed exactly as the target ``p``.
    index : int or ndarray of int64, shape (B,)
        Position of the accepted draft in the ordered tuple, or ``-1`` when ``token`` was
        sampled from a residual distribution.
    """

    token: int | np.ndarray
    index: int | np.ndarray

    @property
    def accepted(self) -> bool | np.ndarray:
        """True where a draft was accepted (``index >= 0``)."""
        return self.index >= 0


class Scheme(Protocol):
    """Structural type of a scheme module (see the module docstring)."""

    NAME: str
    MAX_K: int | None

    def draft(self, q, k: int, *, rng=None, uniforms=None, size=None) -> np.ndarray: ...

    def verify(self, p, q, drafts, *, rng=None, uniforms=None) -> Verdict: ...

    def draft_law(self, q, k: int) -> dict: ...

    def output_law(self, p, q, drafts) -> np.ndarray: ...

    def acceptance_rate(self, p, q, k: int): ...
