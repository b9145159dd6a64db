"""Torch SpecHub (k = 2, one draft is the hub); same law and uniforms as
:mod:`specsample.spechub`.

Sun, Zhou, Chen & Sun, EMNLP 2024, arXiv 2411.05289. The hub ``a`` is the argmax of ``q``,
ties to the smallest token id.

.. code-block:: text

    draft:  x_1 ~ q;  if x_1 == a: x_2 ~ q( . | x != a)  else: x_2 = a

    w(x)  = q(a) q(x) / (1 - q(a))          S_ia = sum_{x != a} (q(x) - p(x))+
    p1(x) = (p(x) - q(x))+                  S_ai = sum_{x != a} (w(x) - p1(x))+
    p2(x) = (p1(x) - w(x))+

    pair (i, a): accept i w.p. min(1, p(i)/q(i));  else a w.p. min(1, (p(a) - S_ai)+ / S_ia)
    pair (a, i): accept i w.p. min(1, p1(i)/w(i)); else a w.p. min(1, p(a) / S_ai)
    otherwise:   sample norm(p2 on x != a, ((p(a) - S_ai)+ - S_ia)+ on a)

Uniforms per row: ``u[0]`` tests the non-hub draft, ``u[1]`` the hub, ``u[2]`` the residual.
``k = 1`` is single-draft sampling. Residuals in float64, no shortcut for ``p(a)`` near 1,
rounding guards as in the core. Proof: ``proofs/spechub.md``.
"""

from __future__ import annotations

import torch

from specsample import spechub as core
from specsample.scheme import Verdict

from . import _api, _chain, _sampling

NAME = core.NAME
#: The torch port covers k <= 2; the core's SpecHub takes any k (top-(k-1) hubs), and the
#: decode loop runs k > 2 through the core on the CPU (``verifier="core"``).
MAX_K = 2


def min_support(k: int) -> int:
    """Tokens with ``q > 0`` that drafting ``k`` distinct tokens needs."""
    return k


def outside_hub_law(q: torch.Tensor, drafts: torch.Tensor) -> torch.Tensor:
    """Rows (N,) whose pair does not hold the hub exactly once (outside SpecHub's law)."""
    if drafts.shape[1] != 2:
        return torch.zeros(drafts.shape[0], dtype=torch.bool, device=drafts.device)
    hub = _sampling.first_argmax(q)
    return (drafts[:, 0] == hub) == (drafts[:, 1] == hub)


def draft(q: torch.Tensor, k: int = 2, *, generator: torch.Generator | None = None,
          uniforms=None, validate: bool = True) -> torch.Tensor:
    """SpecHub's ordered drafts for each row of ``q`` (N, V): int64 (N, k), k in {1, 2}."""
    call = _api.prepare_draft(q, k, generator, uniforms, validate, core=core, min_support=min_support,
                               max_k=MAX_K)
    first = _sampling.invert(call.q, call.u[:, 0])
    if call.k == 1:
        return first[:, None]
    hub = _sampling.first_argmax(call.q)
    rows = torch.arange(call.q.shape[0], device=call.q.device)
    without_hub = call.q.clone()
    without_hub[rows, hub] = 0.0
    second = torch.where(first == hub, _sampling.invert(without_hub, call.u[:, 1]), hub)
    return torch.stack([first, second], dim=1)


def verify(p: torch.Tensor, q: torch.Tensor, drafts: torch.Tensor, *,
           generator: torch.Generator | None = None, uniforms=None, validate: bool = True) -> Verdict:
    """SpecHub's verifier for pairs (N, 2) from :func:`draft` (or single-draft for (N, 1)).

    Uniforms (N, k + 1). Returns a :class:`~specsample.scheme.Verdict` of int64 tensors (N,).
    """
    call = _api.prepare_verify(
        p, q, drafts, generator, uniforms, validate, core=core, tuple_rule=outside_hub_law,
        max_k=MAX_K,
    )
    if call.drafts.shape[1] == 1:
        return Verdict(*_chain.chain_verify(call, without_replacement=False))
    return Verdict(*_verify_pairs(call))


def hub_and_rest(q: torch.Tensor, sq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of ``q`` (N, V) with row sums ``sq`` (N,): the hub (first argmax) and the mass
    of every other token, as :func:`specsample._checks.hub_and_rest` forms it.

    The rest is ``sq - q[hub]`` unless that is below ``1e-3 * sq``; then it is the lane sum of
    the row with the hub zeroed.
    """
    rows = torch.arange(q.shape[0], device=q.device)
    hub = _sampling.first_argmax(q)
    rest = sq - q[rows, hub]

    def summed_afresh() -> torch.Tensor:
        others = q.clone()
        others[rows, hub] = 0.0
        return _sampling.lane_sums(others)

    return hub, _sampling.where_needed(rest < 1e-3 * sq, rest, summed_afresh)


def _verify_pairs(call: _api.VerifyCall) -> tuple[torch.Tensor, torch.Tensor]:
    """Every row's verdict; the three hub sums are computed for every row (the core computes
    each only on the branch that needs it, with the same value)."""
    p_hat, q_hat, x, u = call.p_hat, call.q_hat, call.drafts, call.u  # (N, V) (N, V) (N, 2) (N, 3)
    rows = torch.arange(x.shape[0], device=x.device)
    a, rest = hub_and_rest(call.q, call.sq)  # on q as given, as the core
    iq = _sampling.reciprocal(call.sq)
    qa = q_hat[rows, a]
    cw = qa / (rest * iq)  # w(x) = q(a) q(x) / (1 - q(a)) = cw * q_hat(x)
    pa = p_hat[rows, a]

    hub_second = x[:, 1] == a  # pair (i, a); else pair (a, i)
    i = torch.where(hub_second, x[:, 0], x[:, 1])
    hub_index = torch.where(hub_second, 1, 0)
    own_index = 1 - hub_index
    pi, qi = p_hat[rows, i], q_hat[rows, i]
    p1i = torch.clamp(pi - qi, min=0.0)
    first_ratio = torch.where(hub_second, pi / qi, p1i / (cw * qi))
    accept_i = u[:, 0] < first_ratio

    others = torch.arange(p_hat.shape[1], device=x.device)[None, :] != a[:, None]  # (N, V)
    w = cw[:, None] * q_hat  # (N, V)
    p1 = torch.clamp(p_hat - q_hat, min=0.0)
    s_ia = _sampling.lane_sums(torch.where(others, torch.clamp(q_hat - p_hat, min=0.0), 0.0))
    s_ai = _sampling.lane_sums(torch.where(others, torch.clamp(w - p1, min=0.0), 0.0))
    p2 = torch.where(others, torch.clamp(p1 - w, min=0.0), 0.0)  # (N, V), 0.0 at the hub
    z_rest = _sampling.lane_sums(p2)
    head = torch.clamp(pa - s_ai, min=0.0)
    hub_den = torch.where(hub_second, s_ia, s_ai)
    hub_num = torch.where(hub_second, head, pa)
    zero_den = ~(hub_den > 0.0)  # rounding guard: draw from the target itself
    accept_a = u[:, 1] < hub_num / hub_den

    wa = torch.clamp(head - s_ia, min=0.0)
    total = z_rest + wa
    zero_total = ~(total > 0.0)  # rounding guard: draw from the target itself
    p2[rows, a] = wa
    drawn = _sampling.invert(p2, u[:, 2], total)  # the core's threshold: u * (z_rest + wa)
    # the guard's draw from p at the residual uniform, where a guard fires (else `drawn`)
    from_p = _sampling.where_needed(zero_den | zero_total, drawn, lambda: _sampling.invert(p_hat, u[:, 2]))

    token = torch.where(zero_total, from_p, drawn)
    index = torch.full_like(token, -1)
    token = torch.where(accept_a, a, token)
    index = torch.where(accept_a, hub_index, index)
    token = torch.where(zero_den, from_p, token)
    index = torch.where(zero_den, -1, index)
    token = torch.where(accept_i, i, token)
    index = torch.where(accept_i, own_index, index)
    return token, index
