"""Exact verifiers whose acceptance equals the optimal-transport optimum of their draft law.

Two scheme modules, each keeping the contract of :mod:`specsample.scheme`:

* :mod:`specsample.optimal.iid` (``"opt_iid"``): ``k <= 8`` drafts i.i.d. from ``q``;
* :mod:`specsample.optimal.wor` (``"opt_wor"``): ``k <= 2`` drafts without replacement,
  with a run-time certificate and an exact fallback.

Both follow ``THEORY.md`` section 7: a min cut in ratio order and a water-filled law ``x``
for the selected token (Step A), a *positions* selection rule built by a left-curtain sweep
that realises ``x`` (Step B), and single-draft acceptance of the selected token (Step C).
Private modules: ``_order`` (the exact ratio order), ``_build`` (the per-pair table),
``_sweep`` (Step B), ``_verify`` (Step C kernels and their numpy twins), ``_exact`` (the
``Fraction`` path). Proofs: ``proofs/opt_*.md``.
"""

from specsample.optimal import iid, wor

__all__ = ["iid", "wor"]
