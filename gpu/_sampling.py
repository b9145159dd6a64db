"""Torch sampling primitives: row sums and inverse-CDF draws that match the numpy core.

The core (:mod:`specsample._sampling`) draws a token from weights ``w`` with one uniform
``u`` by inversion: with sequential prefix sums ``C``, the token is the first ``i`` with
``C[i] > u * C[-1]``, and the last token with positive weight when rounding makes
``u * C[-1]`` reach ``C[-1]``. The functions here do the same operations, row by row and
vectorised over rows:

* every "sum over the vocabulary" is the last entry of ``torch.cumsum``, never
  ``torch.sum``: on CPU ``torch.cumsum`` in float64 accumulates left to right exactly like
  ``numpy.cumsum`` and the core's numba loops (checked bit for bit in
  ``tests/gpu/test_verify_parity.py``), while ``torch.sum`` reduces pairwise;
* "first ``i`` with ``C[i] > t``" is ``torch.searchsorted(C, t, right=True)``.

On CUDA ``torch.cumsum`` is a parallel scan, so sums may differ from the core's in the last
bit; a token can then differ only when a uniform lands within about ``1e-16`` (relative) of
a boundary between two tokens.
"""

from __future__ import annotations

import torch


def row_sums(w: torch.Tensor) -> torch.Tensor:
    """Sequential (left-to-right) sum of each row of ``w`` (N, V): shape (N,)."""
    return torch.cumsum(w, dim=-1)[:, -1]


def last_positive(w: torch.Tensor) -> torch.Tensor:
    """Index of the last positive entry of each row of ``w`` (N, V); -1 for a row with none."""
    position = torch.arange(w.shape[-1], device=w.device)
    return torch.where(w > 0.0, position, -1).amax(dim=-1)


def invert(w: torch.Tensor, u: torch.Tensor, total: torch.Tensor | None = None) -> torch.Tensor:
    """Draw from each row of the non-negative weights ``w`` (N, V) at the uniforms ``u``.

    ``u`` is (N,) (one draw per row) or (N, m) (m draws per row, each from the whole row).
    Returns int64 tokens of the shape of ``u``: the first ``i`` with ``C[i] > u * total``,
    or the last positive token if there is none (the core's rounding fallback). ``total``
    (N,) defaults to the row sum ``C[-1]``; pass it when the core forms the total in
    another order (SpecHub adds the hub's residual last).
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


def sum_without_argmax(x: torch.Tensor) -> torch.Tensor:
    """Sum of every entry of each row except its first argmax, in the core's order.

    The core's validating scan (``specsample._checks._scan_rows``) keeps the running maximum
    aside and adds it to the sum only when a larger entry replaces it, so at step ``i`` it adds
    ``min(x[i], max(x[:i]))``. Reproducing that order keeps SpecHub's ``1 - q(a)`` equal to
    the core's to the last bit.
    """
    running_max = torch.cummax(x, dim=-1).values  # (N, V)
    added = torch.minimum(x[:, 1:], running_max[:, :-1])  # (N, V - 1)
    if added.shape[-1] == 0:
        return torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    return row_sums(added)
