"""Exact draft laws shared by several schemes: i.i.d. and ordered without replacement."""

from __future__ import annotations

import itertools
import math
from math import perm

import numpy as np

from specsample import _checks
from specsample._api import LawInputs


def _refuse_if_large(support: int, k: int, count, what: str) -> None:
    """Refuse a law with more than MAX_LAW_TUPLES tuples (sizes compared in logs first, so
    an astronomical count is never formed)."""
    if k * math.log2(max(support, 1)) > math.log2(_checks.MAX_LAW_TUPLES) + 1 or (
        count() > _checks.MAX_LAW_TUPLES
    ):
        raise ValueError(
            f"k={k} {what} drafts over q's {support} tokens with q > 0 give more than "
            f"MAX_LAW_TUPLES={_checks.MAX_LAW_TUPLES} tuples; enumerate draft laws only for "
            "small supports and k"
        )


def iid_law(inputs: LawInputs, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j)`` over the support of ``q``."""
    q = inputs.q
    support = [int(i) for i in np.flatnonzero(q > 0)]
    _refuse_if_large(len(support), k, lambda: len(support) ** k, "i.i.d.")
    law = {}
    for x in itertools.product(support, repeat=k):
        prob = inputs.one
        for t in x:
            prob = prob * q[t]
        law[x] = inputs.scalar(prob)
    return law


def without_replacement_law(inputs: LawInputs, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j) / (1 - q(x_1) - ... - q(x_{j-1}))`` over distinct tokens."""
    q = inputs.q
    support = [int(i) for i in np.flatnonzero(q > 0)]
    _refuse_if_large(len(support), k, lambda: perm(len(support), k), "without-replacement")
    remaining = {}  # q-mass outside a set of drafted tokens, summed (not 1 - subtracted)

    def left(prefix: tuple[int, ...]):
        key = frozenset(prefix)
        if key not in remaining:
            remaining[key] = sum((q[i] for i in support if i not in key), inputs.zero)
        return remaining[key]

    law = {}
    for x in itertools.permutations(support, k):
        prob = inputs.one
        for j, t in enumerate(x):
            prob = prob * q[t] / left(x[:j])
        law[x] = inputs.scalar(prob)
    return law

