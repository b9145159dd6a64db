"""Single-draft speculative sampling (k = 1).

Leviathan, Kalman & Matias, arXiv 2211.17192; Chen et al., arXiv 2302.01318.

.. math::

    x \\sim q, \\qquad \\text{accept } x \\text{ w.p. } \\min\\Bigl(1, \\frac{p(x)}{q(x)}\\Bigr),
    \\qquad \\text{else } Y \\sim \\frac{(p - q)_+}{\\sum_y (p(y) - q(y))_+}.

Acceptance is :math:`\\sum_y \\min(p(y), q(y)) = 1 - \\mathrm{TV}(p, q)`, the best any exact
verifier can do with one draft. A deterministic draft (Jacobi iterate, n-gram guess) is the
case ``q = onehot(x)``. Proof: ``proofs/single.md``.
"""

from __future__ import annotations

import numpy as np

from specsample import _api, _chain, _laws, _sampling
from specsample.scheme import Verdict

NAME = "single"
MAX_K: int | None = 1


def _min_support(k: int) -> int:
    return 1


def draft(q, k: int = 1, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw the draft token from ``q``: shape (1,), or (n, 1) for a batch.

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
    """Accept the draft with probability ``min(1, p(x)/q(x))``, else sample ``norm((p - q)+)``.

    ``p``, ``q``: (V,) with drafts (1,), or 1 or B rows with drafts (B, 1). Uniforms: (2,)
    or (B, 2) -- the accept test, then the residual draw.
    """
    call = _api.prepare_verify(p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K)
    return _chain.verdict(call, without_replacement=False)


def draft_law(q, k: int = 1) -> dict[tuple[int, ...], object]:
    """``{(x,): q(x)}`` over the support of ``q`` (Fractions in, Fractions out)."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.iid_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the draft ``(x,)``: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K)
    return _api.as_law_output(_chain.chain_output_law(inputs, d, without_replacement=False), inputs)


def acceptance_rate(p, q, k: int = 1):
    """``sum_y min(p(y), q(y))`` (a Fraction on the exact path, else a float)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return inputs.rate(np.minimum(inputs.p, inputs.q).sum())
