"""SpecHub: two drafts, one of them the hub (the draft's most likely token).

Sun, Zhou, Chen & Sun, EMNLP 2024, arXiv 2411.05289 (rule as in the authors' code).

Draft law. The hub ``a`` is the argmax of ``q``; **ties go to the smallest token id**.

.. code-block:: text

    x_1 ~ q;  if x_1 == a: x_2 ~ q( . | x != a)  else: x_2 = a
    Q(i, a) = q(i),   Q(a, i) = q(a) q(i) / (1 - q(a))   for i != a;  0 otherwise

The first draft's marginal is ``q``, so ``k = 1`` is plain single-draft sampling.

Verifier (fresh uniforms at every call). With, for ``x != a``,

.. code-block:: text

    w(x)  = q(a) q(x) / (1 - q(a))          S_ia = sum_{x != a} (q(x) - p(x))+
    p1(x) = (p(x) - q(x))+                  S_ai = sum_{x != a} (w(x) - p1(x))+
    p2(x) = (p1(x) - w(x))+

    pair (i, a): accept i w.p. min(1, p(i)/q(i));  else a w.p. min(1, (p(a) - S_ai)+ / S_ia)
    pair (a, i): accept i w.p. min(1, p1(i)/w(i)); else a w.p. min(1, p(a) / S_ai)
    otherwise:   sample norm(p2 on x != a, ((p(a) - S_ai)+ - S_ia)+ on a)

.. math::

    \\alpha_{\\mathrm{hub}} = \\min\\Bigl(1,\\; p(a) + \\sum_{x \\ne a}
        \\min\\bigl(p(x), \\tfrac{q(x)}{1 - q(a)}\\bigr)\\Bigr),

the optimal-transport optimum of this draft law. ``k = 2`` needs at least two tokens with
``q > 0``; any ``k > 2`` raises until the k-draft generalisation exists.

Unlike the authors' code this module has no shortcut that accepts ``a`` outright when
``p(a)`` is close to 1 (biased), draws fresh uniforms at every call, and forms every
residual in float64 (inputs of lower precision are upcast first). Sums over the vocabulary
are computed only after a rejection. Rounding guard as in :mod:`specsample._chain`: a zero
normaliser reached by rounding draws the output from the target itself with the residual
uniform. Proof: ``proofs/spechub.md``.
"""

from __future__ import annotations

import numba
import numpy as np

from specsample import _api, _chain, _checks, _laws, _sampling
from specsample.scheme import Verdict

NAME = "spechub"
MAX_K: int | None = 2


def _min_support(k: int) -> int:
    return k


def _hubs(q2) -> np.ndarray:
    """First argmax of each row (exact comparisons, so Fraction rows work too)."""
    if q2.dtype == object:
        return np.array([_api.hub_of(row) for row in q2], dtype=np.int64)
    return np.argmax(q2, axis=1).astype(np.int64)


@numba.njit(cache=True)
def _first_pair_outside(hubs, d2):
    """First row whose pair does not hold exactly one hub (-1 if none); ``hubs`` has one
    entry, or one per row of ``d2``."""
    for b in range(d2.shape[0]):
        a = hubs[0] if hubs.shape[0] == 1 else hubs[b]
        if (d2[b, 0] == a) == (d2[b, 1] == a):
            return b
    return -1


def _check_tuples(q2, d2) -> np.ndarray | None:
    """Raise for a tuple outside the draft law; return the hub of each row of ``q2``."""
    if d2.shape[1] != 2:
        return None
    hubs = _hubs(q2)
    b = _first_pair_outside(hubs, d2)
    if b >= 0:
        a = int(hubs[0] if hubs.shape[0] == 1 else hubs[b])
        raise ValueError(
            f"draft tuple {(int(d2[b, 0]), int(d2[b, 1]))} is outside SpecHub's draft law: "
            f"exactly one of the two drafts must be the hub a={a} (argmax of q, "
            "smallest index on ties)"
        )
    return hubs


# ---------------------------------------------------------------- drafting
@numba.njit(cache=True)
def _draft_rows(q, hub, u):
    n = u.shape[0]
    out = np.empty((n, 2), np.int64)
    cum = np.empty(q.shape[1])
    excl = np.empty(1, np.int64)
    last = -1
    for b in range(n):
        r = 0 if q.shape[0] == 1 else b
        if b == 0 or q.shape[0] > 1:
            last = _sampling.prefix_sums(q[r], cum)
        a = hub[r]
        first = _sampling.draw_from_prefix(cum, last, u[b, 0])
        out[b, 0] = first
        if first == a:
            excl[0] = a
            out[b, 1] = _sampling.draw_excluding(q[r], excl, 1, u[b, 1])
        else:
            out[b, 1] = a
    return out


def _draft_row_numpy(q, hub, u) -> np.ndarray:
    first = _sampling.np_draw(q, u[0])
    second = _sampling.np_draw_excluding(q, [hub], u[1]) if first == hub else hub
    return np.array([first, second], dtype=np.int64)


def draft(q, k: int = 2, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw SpecHub's ordered drafts: shape (k,), or (n, k) for a batch (k is 1 or 2).

    ``k = 2``: ``x_1 ~ q``; if ``x_1`` is the hub ``a``, ``x_2 ~ q(. | x != a)``, else
    ``x_2 = a``. ``k = 1``: one draft from ``q``. Randomness comes from ``rng`` (a
    ``numpy.random.Generator``) or from ``uniforms`` of shape (k,) / (n, k).
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.k == 1:
        if call.batched:
            return _sampling.draft_iid_rows(call.q, call.u)
        return _sampling.np_draft_iid(call.q[0], call.u[0])
    hub = _hubs(call.q)
    if call.batched:
        return _draft_rows(call.q, hub, call.u)
    return _draft_row_numpy(call.q[0], int(hub[0]), call.u[0])


# ---------------------------------------------------------------- verifying
_S_IA, _S_AI, _Z_REST = 0, 1, 2


@numba.njit(cache=True, inline="always")
def _hub_term(px, qx, cw, which):
    """Per-token term of the three hub sums (x != a): (q - p)+, (w - p1)+ or (p1 - w)+."""
    if which == _S_IA:
        return max(qx - px, 0.0)
    p1 = max(px - qx, 0.0)
    if which == _S_AI:
        return max(cw * qx - p1, 0.0)
    return max(p1 - cw * qx, 0.0)


@numba.njit(cache=True)
def _hub_sum(p, q, ip, iq, cw, a, which):
    """Lane sum over x != a of a hub term (0.0 is added at a)."""
    vocab = p.shape[0]
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    acc = np.zeros(lanes)
    block_a = a - a % lanes
    for b in range(0, body, lanes):
        if b == block_a:
            for lane in range(lanes):
                i = b + lane
                acc[lane] += 0.0 if i == a else _hub_term(p[i] * ip, q[i] * iq, cw, which)
        else:
            for lane in range(lanes):
                i = b + lane
                acc[lane] += _hub_term(p[i] * ip, q[i] * iq, cw, which)
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        t += 0.0 if i == a else _hub_term(p[i] * ip, q[i] * iq, cw, which)
    return t


@numba.njit(cache=True)
def _verify_row(p, q, sp, sq, a, rest_q, x0, x1, u):
    vocab = p.shape[0]
    ip = 1.0 / sp
    iq = 1.0 / sq
    qa = q[a] * iq
    cw = qa / (rest_q * iq)  # w(x) = q(a) q(x) / (1 - q(a)) = cw * q(x)
    pa = p[a] * ip
    if x1 == a:  # pair (i, a)
        i = x0
        if u[0] < (p[i] * ip) / (q[i] * iq):
            return i, 0
        s_ia = _hub_sum(p, q, ip, iq, cw, a, _S_IA)
        s_ai = _hub_sum(p, q, ip, iq, cw, a, _S_AI)
        if not s_ia > 0.0:  # rounding guard
            return _sampling.draw_scaled(p, ip, u[2]), -1
        if u[1] < max(pa - s_ai, 0.0) / s_ia:
            return a, 1
    else:  # pair (a, i)
        i = x1
        p1i = max(p[i] * ip - q[i] * iq, 0.0)
        if u[0] < p1i / (cw * (q[i] * iq)):
            return i, 1
        s_ai = _hub_sum(p, q, ip, iq, cw, a, _S_AI)
        if not s_ai > 0.0:  # rounding guard
            return _sampling.draw_scaled(p, ip, u[2]), -1
        if u[1] < pa / s_ai:
            return a, 0
        s_ia = _hub_sum(p, q, ip, iq, cw, a, _S_IA)
    wa = max(max(pa - s_ai, 0.0) - s_ia, 0.0)
    total = _hub_sum(p, q, ip, iq, cw, a, _Z_REST) + wa
    if not total > 0.0:  # rounding guard
        return _sampling.draw_scaled(p, ip, u[2]), -1
    target = u[2] * total
    cum = 0.0
    last = -1
    for x in range(vocab):
        v = wa if x == a else _hub_term(p[x] * ip, q[x] * iq, cw, _Z_REST)
        if v > 0.0:
            cum += v
            last = x
            if cum > target:
                return x, -1
    return last, -1


@numba.njit(cache=True)
def _verify_rows(p, q, sp, sq, hub, rest_q, drafts, u):
    n = drafts.shape[0]
    tokens = np.empty(n, np.int64)
    index = np.empty(n, np.int64)
    for b in range(n):
        rp = 0 if p.shape[0] == 1 else b
        rq = 0 if q.shape[0] == 1 else b
        tok, idx = _verify_row(
            p[rp], q[rq], sp[rp], sq[rq], hub[rq], rest_q[rq], drafts[b, 0], drafts[b, 1], u[b]
        )
        tokens[b] = tok
        index[b] = idx
    return tokens, index


def _verify_row_numpy(p, q, sp, sq, a, rest_q, x0, x1, u) -> tuple[int, int]:
    """One-row plain-numpy form of the kernel (same arithmetic, same order)."""
    ip = 1.0 / sp
    iq = 1.0 / sq
    p_hat = p * ip
    q_hat = q * iq
    qa = q[a] * iq
    cw = qa / (rest_q * iq)
    pa = p[a] * ip
    p1 = np.maximum(p_hat - q_hat, 0.0)
    terms = {
        _S_IA: np.maximum(q_hat - p_hat, 0.0),
        _S_AI: np.maximum(cw * q_hat - p1, 0.0),
        _Z_REST: np.maximum(p1 - cw * q_hat, 0.0),
    }
    for v in terms.values():
        v[a] = 0.0

    def hub_sum(which):
        return _sampling.lane_sum(terms[which])

    if x1 == a:
        i = int(x0)
        if u[0] < p_hat[i] / q_hat[i]:
            return i, 0
        s_ia, s_ai = hub_sum(_S_IA), hub_sum(_S_AI)
        if not s_ia > 0.0:
            return _sampling.np_draw(p_hat, u[2]), -1
        if u[1] < max(pa - s_ai, 0.0) / s_ia:
            return int(a), 1
    else:
        i = int(x1)
        if u[0] < p1[i] / (cw * q_hat[i]):
            return i, 1
        s_ai = hub_sum(_S_AI)
        if not s_ai > 0.0:
            return _sampling.np_draw(p_hat, u[2]), -1
        if u[1] < pa / s_ai:
            return int(a), 0
        s_ia = hub_sum(_S_IA)
    wa = max(max(pa - s_ai, 0.0) - s_ia, 0.0)
    total = hub_sum(_Z_REST) + wa
    if not total > 0.0:
        return _sampling.np_draw(p_hat, u[2]), -1
    weights = terms[_Z_REST]
    weights[a] = wa
    cum = np.cumsum(weights)
    x = int(np.searchsorted(cum, u[2] * total, side="right"))
    if x == p.shape[0]:
        x = int(np.flatnonzero(weights > 0.0)[-1])
    return x, -1


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """SpecHub's verifier for drafts from :func:`draft` (``k = 1`` is single-draft).

    ``p``, ``q``: (V,) with drafts (k,), or 1 or B rows with drafts (B, k). Uniforms:
    (k + 1,) or (B, k + 1) -- the draft test, the hub test, then the residual draw.
    A tuple outside the draft law (neither or both drafts the hub) raises ``ValueError``.
    """
    call = _api.prepare_verify(
        p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K, check_tuples=_check_tuples
    )
    if call.drafts.shape[1] == 1:
        return _chain.verdict(call, without_replacement=False)
    hub, rest = _checks.hub_and_rest(call.q, call.sq, call.extra)
    if call.batched:
        tok, idx = _verify_rows(call.p, call.q, call.sp, call.sq, hub, rest, call.drafts, call.u)
    else:
        tok, idx = _verify_row_numpy(
            call.p[0], call.q[0], call.sp[0], call.sq[0], int(hub[0]), rest[0],
            call.drafts[0, 0], call.drafts[0, 1], call.u[0],
        )
    return call.verdict(tok, idx)


# ---------------------------------------------------------------- exact laws
def draft_law(q, k: int = 2) -> dict[tuple[int, ...], object]:
    """``{(i, a): q(i), (a, i): q(a) q(i) / (1 - q(a))}`` for ``i != a`` in the support."""
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    if k == 1:
        return _laws.iid_law(inputs, 1)
    q = inputs.q
    a = _api.hub_of(q)
    rest = sum((q[i] for i in range(q.shape[0]) if i != a), inputs.zero)
    law = {}
    for i in np.flatnonzero(q > 0):
        i = int(i)
        if i == a:
            continue
        law[(i, a)] = inputs.scalar(q[i])
        law[(a, i)] = inputs.scalar(q[a] * q[i] / rest)
    return law


def _pieces(inputs: _api.LawInputs):
    """Hub, pair weights and residual pieces of the verifier (float or Fraction)."""
    p, q, zero = inputs.p, inputs.q, inputs.zero
    a = _api.hub_of(q)
    others = np.arange(p.shape[0]) != a
    rest = q[others].sum()
    w = np.where(others, q * (q[a] / rest), zero)
    p1 = np.where(others, np.maximum(p - q, zero), zero)
    s_ia = np.where(others, np.maximum(q - p, zero), zero).sum()
    s_ai = np.where(others, np.maximum(w - p1, zero), zero).sum()
    residual = np.where(others, np.maximum(p1 - w, zero), zero)
    head = max(p[a] - s_ai, zero)
    residual[a] = max(head - s_ia, zero)
    return a, w, p1, s_ia, s_ai, head, residual


def output_law(p, q, drafts) -> np.ndarray:
    """Exact law of the output token given the ordered drafts: shape (V,)."""
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K, _check_tuples)
    if d.shape[0] == 1:
        return _api.as_law_output(_chain.chain_output_law(inputs, d, without_replacement=False), inputs)
    p, q, zero, one = inputs.p, inputs.q, inputs.zero, inputs.one
    a, w, p1, s_ia, s_ai, head, residual = _pieces(inputs)
    law = np.array([zero] * p.shape[0], dtype=p.dtype)
    if d[1] == a:
        i, first, second = int(d[0]), min(one, p[d[0]] / q[d[0]]), (head, s_ia)
    else:
        i, first, second = int(d[1]), min(one, p1[d[1]] / w[d[1]]), (p[a], s_ai)
    law[i] += first
    reach = one - first
    if reach == 0:
        return _api.as_law_output(law, inputs)
    num, den = second
    if not den > 0:  # rounding guard, as in the kernel
        return _api.as_law_output(law + reach * p, inputs)
    hub_accept = min(one, num / den)
    law[a] += reach * hub_accept
    reach = reach * (one - hub_accept)
    if reach == 0:
        return _api.as_law_output(law, inputs)
    total = residual.sum()
    if not total > 0:  # rounding guard, as in the kernel
        return _api.as_law_output(law + reach * p, inputs)
    return _api.as_law_output(law + reach * (residual / total), inputs)


def acceptance_rate(p, q, k: int = 2):
    """``min(1, p(a) + sum_{x != a} min(p(x), q(x) / (1 - q(a))))`` for k = 2;
    ``sum min(p, q)`` for k = 1."""
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    p, q = inputs.p, inputs.q
    if k == 1:
        return inputs.rate(np.minimum(p, q).sum())
    a = _api.hub_of(q)
    others = np.arange(p.shape[0]) != a
    rest = q[others].sum()
    inside = np.minimum(p[others], q[others] / rest).sum()
    return inputs.rate(min(inputs.one, p[a] + inside))
