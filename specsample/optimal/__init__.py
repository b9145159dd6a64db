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
``Fraction`` path), ``_work`` (scratch memory). Proofs: ``proofs/opt_*.md``.

Memory: table builds take their scratch from a workspace that each thread keeps for the
vocabulary size it last built for (about 43 MB reserved at V = 151936, half of it resident
after i.i.d. builds); :func:`release_workspace` drops the calling thread's.
"""

from specsample.optimal import iid, wor
from specsample.optimal._work import release as release_workspace

__all__ = ["iid", "release_workspace", "wor"]
