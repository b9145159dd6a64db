"""An exact verifier whose acceptance equals the optimal-transport optimum, i.i.d. drafts.

``k`` drafts i.i.d. from ``q`` (``k <= 8``: :data:`MAX_K`). The best acceptance any exact
verifier can reach with this draft law is the min cut (SpecTr, arXiv 2310.15141; ``proofs/ot_mincut.md``,
``proofs/ot_prefix.md``)

.. math::

    \\alpha^* = \\min_{0 \\le j \\le V} \\Bigl[ p(T_j) + 1 - q(T_j)^k \\Bigr],

``T_j`` the first ``j`` tokens in ascending order of ``p/q``. This verifier reaches it
(``THEORY.md`` section 7; Khisti et al., arXiv 2410.18234, for the select-then-accept form):

Step A
    with ``T`` the minimising prefix and ``U`` the rest, the selected token gets the law
    ``x = max(p, c' q)`` on ``T`` (``x(T) = q(T)^k``) and ``x = min(p, c q)`` on ``U``.
Step B
    the interval [0, 1] is cut into pieces, ``q(y)`` of them owned by token ``y``, so that
    ``integral over y's pieces of k t^(k-1) dt = x(y)`` (a left-curtain sweep); each draft
    draws a position uniformly on its token's pieces and the highest position is selected.
Step C
    single-draft speculative sampling of the selected token ``y`` against ``p`` with
    proposal ``x``: accept with probability ``min(1, p(y)/x(y))``, else sample
    ``norm((p - x)_+)``.

The output law is exactly ``p`` and ``P(output is a draft) = alpha*``; a residual sample is
never one of the drafts. Proofs: ``proofs/opt_iid.md``, ``proofs/opt_sweep.md``.

Cost: per (p, q) pair one sort of the ratio keys and a few passes over the vocabulary
(the *table*, built once per pair and shared by every tuple of a batch with one ``p`` and
one ``q`` row); per draft tuple ``O(k)`` piece lookups and, after a rejection, one binary
search. Uniforms: ``u[j]`` places draft ``j``, ``u[k]`` decides acceptance and, rescaled,
the residual draw. ``k = 1`` is single-draft sampling.

On ``Fraction`` input the laws are exact. For ``k >= 3`` an irrational piece endpoint is
replaced by a rational mixture of rounded partitions whose selection law is exactly ``x``
(:mod:`specsample.optimal._exact`), so the exact path's output law is exactly ``p`` and its
acceptance exactly ``alpha*``; its per-tuple laws differ from the float path's by about
``2**-64``.
"""

from __future__ import annotations

import numpy as np

from specsample import _api, _laws, _sampling
from specsample.optimal import _build, _scheme
from specsample.scheme import Verdict

NAME = "opt_iid"
#: The construction is proven for every k (``proofs/opt_iid.md``); the library takes k <= 8,
#: the ks its tests cover: the exact path on small instances (its enumeration grows as V^k),
#: and the float tables at V = 151936, whose pieces realise ``x`` to ~4e-12 at k = 8 (the
#: sweep's Newton steps and ``t^k`` lose a little accuracy as k grows).
MAX_K: int | None = 8


def _min_support(k: int) -> int:
    return 1


def draft(q, k: int, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw ``k`` tokens i.i.d. from ``q``: shape (k,), or (n, k) for a batch.

    ``q`` is (V,) or (B, V); ``size=n`` draws n tuples from one row. Randomness comes from
    ``rng`` (a ``numpy.random.Generator``) or from ``uniforms`` of shape (k,) / (n, k).
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.batched:
        return _sampling.draft_iid_rows(call.q, call.u)
    return _sampling.np_draft_iid(call.q[0], call.u[0])


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """Select one of the i.i.d. drafts by position, then accept it against ``p``.

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1). With one ``p`` and one ``q`` row the pair's table is built once
    for the whole batch; with B rows, once per row.
    """
    call = _api.prepare_verify(p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K)
    return _scheme.run_verify(call, _build.IID)


def draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j)`` over ordered tuples of the support (Fractions in, out)."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.iid_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered draft tuple: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K)
    t = _scheme.law_table(p, q, d.shape[0], _build.IID, inputs)
    return _scheme.output_law(t, p, inputs, d)


def acceptance_rate(p, q, k: int):
    """``alpha*``: the optimal-transport optimum of ``k`` i.i.d. drafts, which this verifier
    reaches (a Fraction on the exact path)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _scheme.acceptance(_scheme.law_table(p, q, k, _build.IID, inputs), inputs)


def selection_law(p, q, k: int) -> np.ndarray:
    """Law ``x`` of the selected draft token (Step A): shape (V,), Fractions on the exact
    path. ``sum_y min(p(y), x(y)) = alpha*``."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _scheme.selection_law(_scheme.law_table(p, q, k, _build.IID, inputs), inputs,
                                 inputs.q.shape[0])
