"""Plain-numpy batched verifiers: the baseline the numba kernels are measured against.

Each function is the straightforward way to write the verifier in numpy for a batch:
vectorised over rows, so every residual is formed (and normalised) for every row whether or
not a rejection needs it -- numpy cannot stop early per row. Same algorithms, same uniform
layout as :mod:`specsample`; the arithmetic order differs (pairwise sums), so a token can
differ from the kernel's only when a uniform lands within rounding of a boundary. The
benchmark reports the agreement.

Inputs: ``p``, ``q`` (B, V) probability rows, ``drafts`` (B, k) int64, ``u`` (B, k + 1).
Outputs: ``tokens`` (B,) int64.
"""

from __future__ import annotations

import numpy as np


def _normalised(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=1, keepdims=True)
    return np.divide(x, total, out=np.zeros_like(x), where=total > 0)


def _sample_rows(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    cum = np.cumsum(weights, axis=1)
    idx = (cum <= (u * cum[:, -1])[:, None]).sum(axis=1)
    return np.minimum(idx, weights.shape[1] - 1)


def chain(p, q, drafts, u, *, without_replacement: bool) -> np.ndarray:
    rows = np.arange(p.shape[0])
    r = _normalised(p)
    s = _normalised(q)
    tokens = np.full(p.shape[0], -1, np.int64)
    done = np.zeros(p.shape[0], bool)
    for j in range(drafts.shape[1]):
        x = drafts[:, j]
        accept = ~done & (u[:, j] * s[rows, x] < r[rows, x])
        tokens[accept] = x[accept]
        done |= accept
        r = _normalised(np.maximum(r - s, 0.0))
        if without_replacement:
            s = s.copy()
            s[rows, x] = 0.0
            s = _normalised(s)
    rest = ~done
    tokens[rest] = _sample_rows(r[rest], u[rest, -1])
    return tokens


def spechub(p, q, drafts, u) -> np.ndarray:
    if drafts.shape[1] >= 3:
        return spechub_set(p, q, drafts, u)
    rows = np.arange(p.shape[0])
    p = _normalised(p)
    q = _normalised(q)
    a = np.argmax(q, axis=1)
    qa = q[rows, a]
    others = np.ones_like(p, dtype=bool)
    others[rows, a] = False
    w = np.where(others, q * (qa / (1.0 - qa))[:, None], 0.0)
    p1 = np.where(others, np.maximum(p - q, 0.0), 0.0)
    s_ia = np.where(others, np.maximum(q - p, 0.0), 0.0).sum(axis=1)
    s_ai = np.where(others, np.maximum(w - p1, 0.0), 0.0).sum(axis=1)
    p2 = np.where(others, np.maximum(p1 - w, 0.0), 0.0)
    pa = p[rows, a]
    head = np.maximum(pa - s_ai, 0.0)
    hub_second = drafts[:, 1] == a
    i = np.where(hub_second, drafts[:, 0], drafts[:, 1])
    first = np.where(hub_second, p[rows, i] / q[rows, i], p1[rows, i] / np.maximum(w[rows, i], 1e-300))
    with np.errstate(divide="ignore", invalid="ignore"):
        second = np.where(hub_second, head / s_ia, pa / s_ai)
    tokens = np.where(u[:, 0] < first, i, -1)
    hub_taken = (tokens < 0) & (u[:, 1] < second)
    tokens[hub_taken] = a[hub_taken]
    rest = tokens < 0
    p2[rows, a] = np.maximum(head - s_ia, 0.0)
    tokens[rest] = _sample_rows(p2[rest], u[rest, -1])
    return tokens


def spechub_set(p, q, drafts, u) -> np.ndarray:
    """SpecHub for k >= 3: hubs = top k - 1 of q (by argpartition, then ordered; an exact tie
    at the (k-1)-th value may pick another id than the library's smallest-id rule)."""
    rows = np.arange(p.shape[0])
    k = drafts.shape[1]
    p = _normalised(p)
    q = _normalised(q)
    hubs = np.argpartition(-q, k - 2, axis=1)[:, : k - 1]
    outside = np.ones_like(p, dtype=bool)
    outside[rows[:, None], hubs] = False
    rest = np.where(outside, q, 0.0).sum(axis=1)
    q_prime = np.where(outside, q / rest[:, None], 0.0)
    first_is_hub = np.any(drafts[:, :1] == hubs, axis=1)
    z = np.where(first_is_hub, drafts[:, -1], drafts[:, 0])
    accept = u[:, 0] * q_prime[rows, z] < p[rows, z]
    hubs = np.sort(hubs, axis=1)  # the draw takes the hubs first (ascending ids), as the kernel
    residual = np.concatenate(
        [p[rows[:, None], hubs], np.where(outside, np.maximum(p - q_prime, 0.0), 0.0)], axis=1)
    tokens = np.where(accept, z, -1)
    rest_rows = np.flatnonzero(~accept)
    pick = _sample_rows(residual[rest_rows], u[rest_rows, -1])
    from_hubs = pick < k - 1
    tokens[rest_rows] = np.where(
        from_hubs, hubs[rest_rows, np.minimum(pick, k - 2)], pick - (k - 1))
    return tokens


def kseq(p, q, drafts, u, *, iterations: int = 45) -> np.ndarray:
    rows = np.arange(p.shape[0])
    k = drafts.shape[1]
    p = _normalised(p)
    q = _normalised(q)

    def beta(rho):
        return np.minimum(q, p / rho[:, None]).sum(axis=1)

    lo = np.ones(p.shape[0])
    hi = np.full(p.shape[0], float(k))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        b = beta(mid)
        feasible = 1.0 - (1.0 - b) ** k <= mid * b
        hi = np.where(feasible, mid, hi)
        lo = np.where(feasible, lo, mid)
    b1 = beta(np.ones(p.shape[0]))
    rho = np.where(1.0 - (1.0 - b1) ** k <= b1, 1.0, hi)
    b = beta(rho)
    tokens = np.full(p.shape[0], -1, np.int64)
    for j in range(k):
        x = drafts[:, j]
        accept = (tokens < 0) & (u[:, j] < p[rows, x] / (rho * q[rows, x]))
        tokens[accept] = x[accept]
    scale = np.where(b > 0, (1.0 - (1.0 - b) ** k) / np.maximum(b, 1e-300), 0.0)
    residual = np.maximum(p - np.minimum(q, p / rho[:, None]) * scale[:, None], 0.0)
    rest = tokens < 0
    tokens[rest] = _sample_rows(residual[rest], u[rest, -1])
    return tokens


BASELINES = {
    "single": lambda p, q, d, u: chain(p, q, d, u, without_replacement=False),
    "rrs": lambda p, q, d, u: chain(p, q, d, u, without_replacement=False),
    "rrsw": lambda p, q, d, u: chain(p, q, d, u, without_replacement=True),
    "spechub": spechub,
    "kseq": kseq,
}
