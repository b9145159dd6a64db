"""RRSw: recursive rejection sampling with k drafts drawn without replacement from q.

Yang et al. (multi-candidate speculative decoding), arXiv 2401.06706; Jeon et al.
(recursive speculative decoding), arXiv 2402.14160.

.. code-block:: text

    draft:  x_1..x_k without replacement from q   (k <= size of q's support)
    verify: r = p; s = q
            for j in 1..k:
                accept x_j with probability min(1, r(x_j) / s(x_j))
                r = norm((r - s)+)                   # s before the removal
                s(x_j) = 0; s = norm(s)
            return a sample of r

Draws use one uniform each: the j-th inverts the prefix sums of ``q`` with the earlier
drafts removed, the remaining mass summed afresh. Proof: ``proofs/rrsw.md``.
"""

from __future__ import annotations

import numpy as np

from specsample import _api, _chain, _laws, _sampling
from specsample.scheme import Verdict

NAME = "rrsw"
MAX_K: int | None = None


def _min_support(k: int) -> int:
    return k


_distinct = _api.distinct_tuples(NAME)


def draft(q, k: int, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw ``k`` distinct tokens from ``q`` in order: shape (k,), or (n, k) for a batch.

    Needs ``k`` <= the number of tokens with ``q > 0``. Randomness comes from ``rng`` (a
    ``numpy.random.Generator``) or from ``uniforms`` of shape (k,) / (n, k).
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.batched:
        return _sampling.draft_without_replacement_rows(call.q, call.u)
    return _sampling.np_draft_without_replacement(call.q[0], call.u[0])


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """Recursive rejection sampling without replacement of the ordered distinct drafts.

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1) -- one per draft test, then the residual draw.
    """
    call = _api.prepare_verify(
        p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K, check_tuples=_distinct
    )
    return _chain.verdict(call, without_replacement=True)


def draft_law(q, k: int) -> dict[tuple[int, ...], object]:
    """``Q(x) = prod_j q(x_j) / q(V minus {x_1..x_{j-1}})`` over distinct ordered tuples."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return _laws.without_replacement_law(inputs, k)


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered draft tuple: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K, _distinct)
    return _api.as_law_output(_chain.chain_output_law(inputs, d, without_replacement=True), inputs)


def acceptance_rate(p, q, k: int):
    """Exact P(accept) by recursion over rejected prefixes: O(m^(k-2) V log V) for k >= 2,
    with m the number of tokens where ``q > p`` (see ``_chain.rrsw_acceptance``)."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    return inputs.rate(_chain.rrsw_acceptance(inputs, k))
