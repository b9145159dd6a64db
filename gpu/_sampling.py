"""Torch sums and inverse-CDF draws in the floating-point order of the numpy core.

The core (:mod:`specsample._sampling`) fixes two summation orders, and the functions here
reproduce both, vectorised over rows:

* **Prefix sums for sampling** are sequential (left to right). A token is drawn from
  weights ``w`` with one uniform ``u`` by inversion: with prefix sums ``C``, the first ``i``
  with ``C[i] > u * total``, and the last token with positive weight when rounding makes the
  threshold reach ``C[-1]`` (:func:`invert`). ``total`` is ``C[-1]`` for the draft draws and
  the scheme's own mass (a lane sum) for residual draws.
* **Every other sum over the vocabulary** (row sums, residual masses, SpecHub's hub sums,
  K-SEQ's fixed sums and residual total) is a *lane sum* (:func:`lane_sums`): with
  ``L = specsample._sampling.LANES`` (32), the first ``V - V % L`` entries are viewed as
  (V // L, L) and each column is summed top to bottom; the L column totals are added in order
  starting from 0.0, then the ``V % L`` leftover entries one by one.

Sequential sums are written as the last entry of ``torch.cumsum``, never ``torch.sum`` (which
reduces in a blocked, vectorised order): on CPU, ``torch.cumsum`` in float64 accumulates
each slice in order, like ``numpy.cumsum`` and the core's numba loops, so on the same
uniforms the torch verifiers return the core's tokens bit for bit (``tests/gpu/
test_gpu_verify_parity.py``). Adding ``0.0`` for a masked-out entry is exact, so masks stand
in for the core's compactions.

Residual risk on CUDA: a ``torch.cumsum`` along the last dimension is a parallel scan there,
so a sum can differ from the core's in the last bit, and a token can then differ from the
core's when a uniform lands within about ``1e-16`` (relative) of a boundary between two
tokens or of an accept threshold. The formulas are the same on every device.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from specsample import _sampling as core_sampling

#: Number of lanes of a lane sum, the core's (:data:`specsample._sampling.LANES`).
LANES = core_sampling.LANES


def sequential_sums(w: torch.Tensor) -> torch.Tensor:
    """Left-to-right sum of each row of ``w`` (N, m): shape (N,); 0.0 for an empty row."""
    if w.shape[-1] == 0:
        return w.new_zeros(w.shape[0])
    return torch.cumsum(w, dim=-1)[:, -1]


def lane_sums(w: torch.Tensor) -> torch.Tensor:
    """Sum of each row of ``w`` (N, V) in the core's lane order (module docstring): (N,).

    Bit for bit :func:`specsample._sampling.lane_sum` of each row (on CPU).
    """
    rows, vocab = w.shape
    body = vocab - vocab % LANES
    pieces = [w.new_zeros(rows, 1)]  # the lanes are added starting from 0.0
    if body:
        blocks = w[:, :body].reshape(rows, body // LANES, LANES)  # (N, V // L, L), a view
        pieces.append(torch.cumsum(blocks, dim=1)[:, -1])  # (N, L): each lane top to bottom
    pieces.append(w[:, body:])  # (N, V % L): the leftover tokens, after the lanes
    return sequential_sums(torch.cat(pieces, dim=1))


def last_positive(w: torch.Tensor) -> torch.Tensor:
    """Index of the last positive entry of each row of ``w`` (N, V); -1 for a row with none."""
    position = torch.arange(w.shape[-1], device=w.device)
    return torch.where(w > 0.0, position, -1).amax(dim=-1)


def invert(w: torch.Tensor, u: torch.Tensor, total: torch.Tensor | None = None) -> torch.Tensor:
    """Draw from each row of the non-negative weights ``w`` (N, V) at the uniforms ``u``.

    ``u`` is (N,) (one draw per row) or (N, m) (m draws per row, each from the whole row).
    Returns int64 tokens of the shape of ``u``: the first ``i`` with ``C[i] > u * total``
    (``C`` the sequential prefix sums of the row), or the last positive token if there is
    none (the core's rounding fallback). ``total`` (N,) defaults to ``C[-1]`` (the draft
    draws); residual draws pass the mass the core computed (a lane sum).
    """
    one_per_row = u.ndim == 1
    u2 = u[:, None] if one_per_row else u  # (N, m)
    cum = torch.cumsum(w, dim=-1).contiguous()  # (N, V)
    total2 = cum[:, -1:] if total is None else total[:, None]  # (N, 1)
    threshold = (u2 * total2).contiguous()  # (N, m)
    idx = torch.searchsorted(cum, threshold, right=True)  # (N, m)
    idx = torch.where(idx == w.shape[-1], last_positive(w)[:, None], idx)
    return idx[:, 0] if one_per_row else idx


def first_argmax(x: torch.Tensor) -> torch.Tensor:
    """First index of the largest entry of each row (ties to the smallest index): (N,)."""
    # torch.argmax documents that the first maximal index is returned.
    return torch.argmax(x, dim=-1)


def where_needed(need: torch.Tensor, value: torch.Tensor, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """``torch.where(need, compute(), value)``, where ``compute()`` is a fallback (N,) that the
    core evaluates only for the rows that need it (each value is the same whenever computed).

    On CPU a host check costs nothing, so ``compute()`` runs only if some row needs it; on
    other devices it always runs, which keeps the call free of host synchronisation.
    """
    if need.device.type == "cpu" and not bool(need.any()):
        return value
    return torch.where(need, compute(), value)


def reciprocal(s: torch.Tensor) -> torch.Tensor:
    """``1.0 / s``, correctly rounded, as the core's kernels form ``ip = 1.0 / sp``."""
    return torch.div(torch.ones_like(s), s)
