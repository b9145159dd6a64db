"""SpecHub: drafts built around hubs, the draft model's most likely tokens.

Sun, Zhou, Chen & Sun, EMNLP 2024, arXiv 2411.05289 (``k = 2``, the rule as in the authors'
code), and its generalisation to ``k >= 3`` drafts (THEORY.md section 4; ours).

Hubs. ``A = (a_1, ..., a_{k-1})`` are the ``k - 1`` most likely tokens of ``q`` in
descending order of ``q``, **ties to the smallest token id** (for ``k = 2`` the hub ``a`` is
the first argmax of ``q``). ``R = 1 - q(A)`` is always computed as the sum of the other
entries of ``q``, never by a subtraction from 1, and ``q'(x) = q(x) / R`` for ``x`` not in
``A``.

Draft law (every ``k >= 2``). ``x ~ q``; if ``x`` is not a hub the drafts are
``(x, a_1, ..., a_{k-1})``; if ``x = a_j`` they are ``(a_j, the other hubs in hub order, y)``
with ``y ~ q'``:

.. code-block:: text

    Q(z, a_1, ..., a_{k-1})               = q(z)
    Q(a_j, a_1..a_{k-1} without a_j, z)   = q(a_j) q(z) / R        for z not in A, q(z) > 0

The first draft's marginal is ``q`` (so ``k = 1`` is plain single-draft sampling), and as a
*set* the drafts are ``A`` plus one token ``z ~ q'``. For ``k = 2`` this is the paper's law
``Q(i, a) = q(i)``, ``Q(a, i) = q(a) q(i) / (1 - q(a))``.

Verifier for ``k = 2`` (the paper's; fresh uniforms at every call). With, for ``x != a``,

.. code-block:: text

    w(x)  = q(a) q(x) / (1 - q(a))          S_ia = sum_{x != a} (q(x) - p(x))+
    p1(x) = (p(x) - q(x))+                  S_ai = sum_{x != a} (w(x) - p1(x))+
    p2(x) = (p1(x) - w(x))+

    pair (i, a): accept i w.p. min(1, p(i)/q(i));  else a w.p. min(1, (p(a) - S_ai)+ / S_ia)
    pair (a, i): accept i w.p. min(1, p1(i)/w(i)); else a w.p. min(1, p(a) / S_ai)
    otherwise:   sample norm(p2 on x != a, ((p(a) - S_ai)+ - S_ia)+ on a)

Verifier for ``k >= 3`` (the hub-set verifier; ``z`` is the one non-hub draft):

.. code-block:: text

    accept z w.p. min(1, p(z) / q'(z));
    else sample Y ~ norm(p on A, (p - q')+ outside A); a Y in A is the hub draft at its
    position (index >= 0), a Y outside A is a residual token (index -1, never z).

(The draw inverts the weights listed hubs first, in ascending id, then the other tokens in
id order: a hub costs O(k) once the normaliser is summed.)

Both are exact and accept with probability

.. math::

    \\alpha_{\\mathrm{hub}} = \\min\\Bigl(1,\\; p(A) + \\sum_{x \\notin A}
        \\min\\bigl(p(x), \\tfrac{q(x)}{1 - q(A)}\\bigr)\\Bigr),

the optimal-transport optimum of this draft law (no exact verifier of these drafts accepts
more). ``k`` drafts need at least ``k`` tokens with ``q > 0``; there is no upper limit on
``k`` (``MAX_K = None``) beyond the library-wide :data:`specsample._checks.MAX_DRAFTS`.

Uniforms. ``draft`` consumes ``u[0]`` (the first draft) and, when the first draft is a hub,
``u[k-1]`` (the non-hub token ``y``, drawn last); ``u[1..k-2]`` are unused. ``verify`` for
``k = 2``: ``u[0]`` tests the non-hub draft, ``u[1]`` the hub, ``u[2]`` the residual draw;
for ``k >= 3``: ``u[0]`` tests the non-hub draft, ``u[k]`` draws the hub or residual token,
``u[1..k-1]`` are unused.

Unlike the authors' code this module has no shortcut that accepts ``a`` outright when
``p(a)`` is close to 1 (biased), draws fresh uniforms at every call, and forms every
residual in float64 (inputs of lower precision are upcast first). Sums over the vocabulary
are computed only after a rejection (except ``R`` for ``k >= 3``, one lane sum per row of
``q``). Rounding guard as in :mod:`specsample._chain`: a zero normaliser reached by rounding
draws the output from the target itself with the residual uniform. Proofs:
``proofs/spechub.md`` (``k = 2``), ``proofs/spechub_k.md`` (``k >= 3``), ``proofs/ot_hub.md``.
"""

from __future__ import annotations

import numba
import numpy as np

from specsample import _api, _chain, _checks, _laws, _sampling
from specsample.scheme import Verdict

NAME = "spechub"
MAX_K: int | None = None


def _min_support(k: int) -> int:
    return k


# ---------------------------------------------------------------- hubs
@numba.njit(cache=True, inline="always")
def _insert(q, out, count, n, i):
    """Insert token ``i`` into the running top list ``out[:count]`` (descending ``q``, equal
    values in ascending id: ``i`` goes after every entry it does not exceed); return the new
    count (at most ``n``: the last entry drops out of a full list)."""
    v = q[i]
    j = count if count < n else n - 1
    while j > 0 and q[out[j - 1]] < v:
        out[j] = out[j - 1]
        j -= 1
    out[j] = i
    return min(count + 1, n)


@numba.njit(cache=True)
def _top_rows(q, n):
    """Kernel: (R, n) ids of the ``n`` largest entries of each row of ``q`` (R, V), in
    descending order of ``q``, ties to the smallest id (``1 <= n <= V``).

    The first ``n`` tokens fill the list; after that a token enters only if strictly larger
    than the current ``n``-th value ``t``, so an earlier id wins every tie. Blocks of
    ``LANES`` tokens are first scanned with a vectorisable count of entries above ``t``;
    only the rare blocks holding one are walked token by token.
    """
    rows, vocab = q.shape
    lanes = _sampling.LANES
    out = np.empty((rows, n), np.int64)
    for r in range(rows):
        row = q[r]
        top = out[r]
        count = 0
        for i in range(n):
            count = _insert(row, top, count, n, i)
        t = row[top[n - 1]]
        b = n
        while b < vocab:
            e = b + lanes
            if e <= vocab:
                above = 0
                for lane in range(lanes):  # fixed trip count: vectorises
                    above += row[b + lane] > t
                if above == 0:
                    b = e
                    continue
            else:
                e = vocab
            for i in range(b, e):
                if row[i] > t:
                    _insert(row, top, n, n, i)
                    t = row[top[n - 1]]
            b = e
    return out


def _hub_set(q: np.ndarray, n: int) -> list[int]:
    """The ``n`` hubs of one row (float or Fraction), in hub order."""
    if q.dtype == object:
        return sorted(range(q.shape[0]), key=lambda i: (-q[i], i))[:n]
    return [int(i) for i in _top_rows(np.ascontiguousarray(q, dtype=np.float64)[None, :], n)[0]]


def _hub_table(q2: np.ndarray, n: int) -> np.ndarray:
    """(R, n) hubs of every row of ``q2``, in hub order.

    Float rows use :func:`_top_rows` on the one-row path too: the hubs are a selection with a
    single right answer, not a draw, so there is nothing for a numpy twin to reproduce
    (``tests/test_spechub_k.py`` checks the kernel against a full sort, ties included).
    """
    if q2.dtype == object:
        return np.array([_hub_set(row, n) for row in q2], dtype=np.int64).reshape(-1, n)
    return _top_rows(q2, n)


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
    """Raise for a tuple outside the draft law; return the hubs of each row of ``q2``:
    shape (R,) for ``k = 2``, (R, k - 1) in hub order for ``k >= 3``."""
    k = d2.shape[1]
    if k == 1:
        return None
    if k == 2:
        return _check_pairs(q2, d2)
    hubs = _hub_table(q2, k - 1)
    table = np.broadcast_to(hubs, (d2.shape[0], k - 1)) if hubs.shape[0] == 1 else hubs
    first, middle, last = d2[:, 0], d2[:, 1:-1], d2[:, -1]
    first_is = first[:, None] == table  # (B, k - 1)
    last_is_hub = np.any(last[:, None] == table, axis=1)
    # (z, a_1, ..., a_{k-1}): the first draft is no hub, the rest are the hubs in order
    hub_last = ~np.any(first_is, axis=1) & np.all(d2[:, 1:] == table, axis=1)
    # (a_j, the other hubs in order, z): drop column j of the table
    j = np.argmax(first_is, axis=1)
    cols = np.arange(k - 2)[None, :]
    cols = cols + (cols >= j[:, None])
    others = np.take_along_axis(table, cols, axis=1)
    hub_first = np.any(first_is, axis=1) & np.all(middle == others, axis=1) & ~last_is_hub
    bad = np.flatnonzero(~(hub_last | hub_first))
    if bad.size:
        b = int(bad[0])
        raise ValueError(
            f"draft tuple {tuple(int(t) for t in d2[b])} is outside SpecHub's draft law: with "
            f"k={k} the drafts are the hubs A={tuple(int(a) for a in table[b])} (the k-1 most "
            "likely tokens of q, ties to the smallest index) and one other token z, ordered "
            "(z, a_1, ..., a_{k-1}) or (a_j, the other hubs in order, z)"
        )
    return hubs


def _check_pairs(q2, d2) -> np.ndarray:
    """``k = 2``: exactly one of the two drafts is the hub."""
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
def _draft_rows(q, hubs, u):
    """Kernel: drafts (n, k) from ``q`` (1 or n rows) with hubs (1 or n rows, k - 1)."""
    n, k = u.shape
    out = np.empty((n, k), np.int64)
    cum = np.empty(q.shape[1])
    last = -1
    for b in range(n):
        r = 0 if q.shape[0] == 1 else b
        if b == 0 or q.shape[0] > 1:
            last = _sampling.prefix_sums(q[r], cum)
        first = _sampling.draw_from_prefix(cum, last, u[b, 0])
        out[b, 0] = first
        j = -1
        for m in range(k - 1):
            if hubs[r, m] == first:
                j = m
        if j < 0:  # (z, a_1, ..., a_{k-1})
            for m in range(k - 1):
                out[b, m + 1] = hubs[r, m]
        else:  # (a_j, the other hubs, y), y ~ q outside the hubs
            c = 1
            for m in range(k - 1):
                if m != j:
                    out[b, c] = hubs[r, m]
                    c += 1
            out[b, k - 1] = _sampling.draw_excluding(q[r], hubs[r], k - 1, u[b, k - 1])
    return out


def _draft_row_numpy(q, hubs, u) -> np.ndarray:
    k = u.shape[0]
    first = _sampling.np_draw(q, u[0])
    hubs = [int(a) for a in hubs]
    if first not in hubs:
        return np.array([first, *hubs], dtype=np.int64)
    others = [a for a in hubs if a != first]
    last = _sampling.np_draw_excluding(q, hubs, u[k - 1])
    return np.array([first, *others, last], dtype=np.int64)


def draft(q, k: int = 2, *, rng=None, uniforms=None, size: int | None = None) -> np.ndarray:
    """Draw SpecHub's ordered drafts: shape (k,), or (n, k) for a batch.

    ``x ~ q``; if ``x`` is not a hub the drafts are ``(x, a_1, ..., a_{k-1})``, if
    ``x = a_j`` they are ``(a_j, the other hubs in hub order, y)`` with
    ``y ~ q( . | not a hub)``. For ``k = 2``: ``x_1 ~ q``; if ``x_1`` is the hub ``a``,
    ``x_2 ~ q(. | x != a)``, else ``x_2 = a``. ``k = 1``: one draft from ``q``.

    Parameters
    ----------
    q : array_like, shape (V,) or (n, V)
        Draft distribution(s), with ``q > 0`` on at least ``k`` tokens.
    k : int
        Number of drafts (``>= 1``).
    rng : numpy.random.Generator, optional
    uniforms : array_like, shape (k,) or (n, k), optional
        Exactly one of ``rng`` and ``uniforms``. ``u[0]`` draws the first draft; ``u[k-1]``
        draws the non-hub token when the first draft is a hub; the others are unused.
    size : int, optional
        Number of tuples to draw from a single row ``q``.

    Returns
    -------
    ndarray of int64, shape (k,) or (n, k)
    """
    call = _api.prepare_draft(
        q, k, rng, uniforms, size, scheme=NAME, max_k=MAX_K, min_support=_min_support
    )
    if call.k == 1:
        if call.batched:
            return _sampling.draft_iid_rows(call.q, call.u)
        return _sampling.np_draft_iid(call.q[0], call.u[0])
    hubs = _hub_table(call.q, call.k - 1)
    if call.batched:
        return _draft_rows(call.q, hubs, call.u)
    return _draft_row_numpy(call.q[0], hubs[0], call.u[0])


# ---------------------------------------------------------------- verifying, k = 2
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


# ---------------------------------------------------------------- verifying, k >= 3
_REST, _RESIDUAL = 0, 1


@numba.njit(cache=True, inline="always")
def _set_term(p, q, ip, rest, i, hub, which):
    """Per-token term of the two hub-set sums: ``q`` outside the hubs (``_REST``), or the
    residual weight ``p`` on a hub and ``(p - q / R)+`` elsewhere (``_RESIDUAL``)."""
    if which == _REST:
        return 0.0 if hub else q[i]
    if hub:
        return p[i] * ip
    return max(p[i] * ip - q[i] / rest, 0.0)


@numba.njit(cache=True)
def _set_sum(p, q, ip, rest, hubs, which):
    """Lane sum over the vocabulary of a hub-set term; ``hubs`` sorted ascending."""
    vocab = q.shape[0]
    lanes = _sampling.LANES
    body = vocab - vocab % lanes
    acc = np.zeros(lanes)
    h = 0
    n_hubs = hubs.shape[0]
    for b in range(0, body, lanes):
        if h < n_hubs and hubs[h] < b + lanes:  # a block holding a hub
            for lane in range(lanes):
                i = b + lane
                hub = h < n_hubs and hubs[h] == i
                if hub:
                    h += 1
                acc[lane] += _set_term(p, q, ip, rest, i, hub, which)
        else:
            for lane in range(lanes):
                acc[lane] += _set_term(p, q, ip, rest, b + lane, False, which)
    t = _sampling.finish_lanes(acc)
    for i in range(body, vocab):
        hub = h < n_hubs and hubs[h] == i
        if hub:
            h += 1
        t += _set_term(p, q, ip, rest, i, hub, which)
    return t


@numba.njit(cache=True)
def _rest_rows(q, hubs):
    """Kernel: ``R = sum of q outside the hubs`` for each row (hubs sorted ascending)."""
    out = np.empty(q.shape[0])
    for r in range(q.shape[0]):
        out[r] = _set_sum(q[r], q[r], 1.0, 1.0, hubs[r], _REST)
    return out


def _rest_numpy(q, hubs) -> float:
    others = q.copy()
    others[hubs] = 0.0
    return _sampling.lane_sum(others)


@numba.njit(cache=True)
def _position(drafts, x):
    for j in range(drafts.shape[0]):
        if drafts[j] == x:
            return j
    return -1


@numba.njit(cache=True)
def _verify_set_row(p, q, sp, hubs, rest, d, u):
    """One tuple, ``k >= 3``: ``hubs`` sorted ascending, ``rest`` = R (unnormalised).

    After a rejection the draw inverts ``norm(r)`` at ``u[k]`` with the tokens in the order
    *hubs first* (ascending ids), then the other tokens in id order: a hub (probability
    ``p(A) / Z``) costs O(k) once the lane sum ``Z`` is known, and only a residual token
    outside the hubs walks the vocabulary.
    """
    k = d.shape[0]
    ip = 1.0 / sp
    z_pos = k - 1 if _position(hubs, d[0]) >= 0 else 0
    z = d[z_pos]
    if u[0] < (p[z] * ip) / (q[z] / rest):
        return z, z_pos
    total = _set_sum(p, q, ip, rest, hubs, _RESIDUAL)
    if not total > 0.0:  # rounding guard
        x = _sampling.draw_scaled(p, ip, u[k])
        return x, _position(d, x)
    target = u[k] * total
    cum = 0.0
    last = -1
    for m in range(hubs.shape[0]):
        a = hubs[m]
        v = p[a] * ip
        if v > 0.0:
            cum += v
            last = a
            if cum > target:
                return a, _position(d, a)
    h = 0
    for x in range(p.shape[0]):
        if h < hubs.shape[0] and hubs[h] == x:
            h += 1
            continue
        v = _set_term(p, q, ip, rest, x, False, _RESIDUAL)
        if v > 0.0:
            cum += v
            last = x
            if cum > target:
                return x, _position(d, x)
    return last, _position(d, last)


@numba.njit(cache=True)
def _verify_set_rows(p, q, sp, hubs, rest, drafts, u):
    n = drafts.shape[0]
    tokens = np.empty(n, np.int64)
    index = np.empty(n, np.int64)
    for b in range(n):
        rp = 0 if p.shape[0] == 1 else b
        rq = 0 if q.shape[0] == 1 else b
        tok, idx = _verify_set_row(p[rp], q[rq], sp[rp], hubs[rq], rest[rq], drafts[b], u[b])
        tokens[b] = tok
        index[b] = idx
    return tokens, index


def _index_of(d, x: int) -> int:
    hits = np.flatnonzero(d == x)
    return int(hits[0]) if hits.size else -1


def _verify_set_row_numpy(p, q, sp, hubs, rest, d, u) -> tuple[int, int]:
    """One-row plain-numpy form of :func:`_verify_set_row` (same arithmetic, same order)."""
    k = d.shape[0]
    ip = 1.0 / float(sp)
    rest = float(rest)
    z_pos = k - 1 if int(d[0]) in set(hubs.tolist()) else 0
    z = int(d[z_pos])
    if u[0] < (float(p[z]) * ip) / (float(q[z]) / rest):
        return z, z_pos
    outside = np.ones(q.shape[0], dtype=bool)
    outside[hubs] = False
    q_prime = np.divide(q, rest, out=np.zeros_like(q), where=outside)  # never q(a) / R
    weights = np.maximum(p * ip - q_prime, 0.0)
    weights[hubs] = p[hubs] * ip
    total = _sampling.lane_sum(weights)
    if not total > 0.0:
        x = _sampling.np_draw(p * ip, u[k])
        return x, _index_of(d, x)
    order = np.concatenate([hubs, np.flatnonzero(outside)])  # hubs first, as the kernel
    ordered = weights[order]
    cum = np.cumsum(ordered)
    i = int(np.searchsorted(cum, u[k] * total, side="right"))
    if i == p.shape[0]:
        i = int(np.flatnonzero(ordered > 0.0)[-1])
    x = int(order[i])
    return x, _index_of(d, x)


def verify(p, q, drafts, *, rng=None, uniforms=None) -> Verdict:
    """SpecHub's verifier for drafts from :func:`draft` (``k = 1`` is single-draft).

    Parameters
    ----------
    p, q : array_like, shape (V,) or (1 or B, V)
        Target and draft distributions (``p`` always the target).
    drafts : array_like of int, shape (k,) or (B, k)
        Ordered drafts of :func:`draft`. A tuple outside the draft law raises
        ``ValueError`` naming it.
    rng : numpy.random.Generator, optional
    uniforms : array_like, shape (k + 1,) or (B, k + 1), optional
        Exactly one of ``rng`` and ``uniforms``. ``k = 2``: the draft test, the hub test,
        the residual draw. ``k >= 3``: ``u[0]`` tests the non-hub draft, ``u[k]`` draws
        the hub or residual token; ``u[1..k-1]`` are unused.

    Returns
    -------
    Verdict
        ``token`` distributed exactly as ``p``; ``index`` the position of the output
        among the drafts (a hub output by the ``k >= 3`` draw counts as accepted), or -1.
    """
    call = _api.prepare_verify(
        p, q, drafts, rng, uniforms, scheme=NAME, max_k=MAX_K, check_tuples=_check_tuples
    )
    k = call.drafts.shape[1]
    if k == 1:
        return _chain.verdict(call, without_replacement=False)
    if k == 2:
        hub, rest = _checks.hub_and_rest(call.q, call.sq, call.extra)
        if call.batched:
            tok, idx = _verify_rows(
                call.p, call.q, call.sp, call.sq, hub, rest, call.drafts, call.u
            )
        else:
            tok, idx = _verify_row_numpy(
                call.p[0], call.q[0], call.sp[0], call.sq[0], int(hub[0]), rest[0],
                call.drafts[0, 0], call.drafts[0, 1], call.u[0],
            )
        return call.verdict(tok, idx)
    hubs = np.sort(call.extra, axis=1)  # (R, k - 1), ascending ids for the lane sums
    if call.batched:
        rest = _rest_rows(call.q, hubs)
        tok, idx = _verify_set_rows(call.p, call.q, call.sp, hubs, rest, call.drafts, call.u)
    else:
        rest = _rest_numpy(call.q[0], hubs[0])
        tok, idx = _verify_set_row_numpy(
            call.p[0], call.q[0], call.sp[0], hubs[0], rest, call.drafts[0], call.u[0]
        )
    return call.verdict(tok, idx)


# ---------------------------------------------------------------- exact laws
def draft_law(q, k: int = 2) -> dict[tuple[int, ...], object]:
    """Exact law of the ordered drafts, ``{tuple: probability}`` (Fractions on Fraction input).

    .. math::

        Q(z, a_1, \\dots, a_{k-1}) = q(z), \\qquad
        Q(a_j, A \\setminus a_j, z) = \\frac{q(a_j)\\, q(z)}{1 - q(A)}

    for every ``z`` outside the hubs ``A`` with ``q(z) > 0``; for ``k = 2``,
    ``{(i, a): q(i), (a, i): q(a) q(i) / (1 - q(a))}``. ``k = 1``: ``{(x,): q(x)}``.
    """
    inputs = _api.law_inputs(_api.NO_TARGET, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    if k == 1:
        return _laws.iid_law(inputs, 1)
    q = inputs.q
    hubs = _hub_set(q, k - 1)
    hub_ids = set(hubs)
    outside = [int(i) for i in np.flatnonzero(q > 0) if int(i) not in hub_ids]
    if k * len(outside) > _checks.MAX_LAW_TUPLES:
        raise ValueError(
            f"k={k} SpecHub drafts over q's {len(outside) + k - 1} tokens with q > 0 give "
            f"more than MAX_LAW_TUPLES={_checks.MAX_LAW_TUPLES} tuples"
        )
    rest = sum((q[i] for i in range(q.shape[0]) if i not in hub_ids), inputs.zero)
    orders = [(a, *(b for b in hubs if b != a)) for a in hubs]  # a_j first, the others after
    law = {}
    for z in outside:
        law[(z, *hubs)] = inputs.scalar(q[z])
        for order in orders:
            law[(*order, z)] = inputs.scalar(q[order[0]] * q[z] / rest)
    return law


def _pieces(inputs: _api.LawInputs):
    """Hub, pair weights and residual pieces of the k = 2 verifier (float or Fraction)."""
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
    """Exact law of the output token given the ordered drafts: shape (V,).

    Float64 on float input, an object array of ``Fraction`` on Fraction input.
    """
    inputs = _api.law_inputs(p, q)
    d = _api.law_drafts(drafts, inputs, NAME, MAX_K, _check_tuples)
    if d.shape[0] == 1:
        return _api.as_law_output(_chain.chain_output_law(inputs, d, without_replacement=False), inputs)
    if d.shape[0] >= 3:
        return _api.as_law_output(_set_output_law(inputs, d), inputs)
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


def _set_output_law(inputs: _api.LawInputs, d: np.ndarray) -> np.ndarray:
    """``k >= 3``: accept the non-hub draft ``z`` w.p. ``min(1, p(z)/q'(z))``, else the law
    ``norm(p on A, (p - q')+ outside A)``."""
    p, q, zero, one = inputs.p, inputs.q, inputs.zero, inputs.one
    hubs = _hub_set(q, d.shape[0] - 1)
    others = np.ones(q.shape[0], dtype=bool)
    others[hubs] = False
    rest = q[others].sum()
    z = int(d[-1]) if int(d[0]) in hubs else int(d[0])
    law = np.array([zero] * p.shape[0], dtype=p.dtype)
    first = min(one, inputs.scalar(p[z]) / inputs.scalar(q[z] / rest))
    law[z] += first
    reach = one - first
    if reach == 0:
        return law
    q_prime = np.array([zero] * q.shape[0], dtype=q.dtype)
    q_prime[others] = q[others] / rest  # never q(a) / R, which overflows for R tiny
    residual = np.where(others, np.maximum(p - q_prime, zero), p)
    total = residual.sum()
    if not total > 0:  # rounding guard, as in the kernel
        return law + reach * p
    return law + reach * (residual / total)


def acceptance_rate(p, q, k: int = 2):
    """Exact ``P(output token is one of the drafts)``, in closed form.

    .. math::

        \\alpha_{\\mathrm{hub}} = \\min\\Bigl(1,\\; p(A) + \\sum_{x \\notin A}
            \\min\\bigl(p(x), \\tfrac{q(x)}{1 - q(A)}\\bigr)\\Bigr)

    for ``k >= 2`` with hubs ``A`` (``A = {a}`` for ``k = 2``): the optimal-transport
    optimum of the draft law (``proofs/spechub.md``, ``proofs/spechub_k.md``,
    ``proofs/ot_hub.md``); ``sum min(p, q)`` for ``k = 1``. A float, or a ``Fraction`` on
    Fraction input.
    """
    inputs = _api.law_inputs(p, q)
    k = _api.check_law_k(k, inputs, NAME, MAX_K, _min_support)
    p, q = inputs.p, inputs.q
    if k == 1:
        return inputs.rate(np.minimum(p, q).sum())
    hubs = _hub_set(q, k - 1)
    others = np.ones(p.shape[0], dtype=bool)
    others[hubs] = False
    rest = q[others].sum()
    inside = np.minimum(p[others], q[others] / rest).sum()
    return inputs.rate(min(inputs.one, p[hubs].sum() + inside))
