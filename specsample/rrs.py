"""RRS: recursive rejection sampling with k drafts drawn i.i.d. from q.

SpecInfer, Miao et al., arXiv 2305.09781.

.. code-block:: text

    draft:  x_1..x_k i.i.d. ~ q
    verify: r = p
            for j in 1..k:
                accept x_j with probability min(1, r(x_j) / q(x_j))
                r = norm((r - q)+)
            return a sample of r

A rejected token has zero mass in every later residual, so a residual sample is never a
draft. Since each draft is fresh and the residual after a rejection does not depend on the
rejected token, step ``j`` accepts with ``a_j = sum_y min(r_{j-1}(y), q(y))`` and

.. math:: \\alpha_{\\mathrm{RRS}} = 1 - \\prod_{j=1}^{k} (1 - a_j).

Proof of exactness and of this formula: ``proofs/rrs.md``.
"""

from __future__ import annotations

import numpy as np

from specsample import _api, _chain, _laws, _sampling
from specsample.scheme import Verdict

NAME = "rrs"
MAX_K: int | None = None


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
    """Recursive rejection sampling of the ordered drafts against ``p``.

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1) -- one per draft test, then the residual draw.
    """
    call = _api.prepare_verify(p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K)
    return _chain.verdict(call, without_replacement=False)


def draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j)`` over ordered tuples of the support (Fractions in, out)."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.iid_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered draft tuple: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K)
    return _api.as_law_output(_chain.chain_output_law(inputs, d, without_replacement=False), inputs)


def acceptance_rate(p, q, k: int):
    """``1 - prod_j (1 - sum_y min(r_{j-1}(y), q(y)))``, O(kV)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return inputs.rate(_chain.rrs_acceptance(inputs, k))
