"""Glue shared by the two optimal scheme modules: checked calls to tables, kernels and laws."""

from __future__ import annotations

import numpy as np

from specsample import _api, _checks
from specsample.optimal import _build, _exact, _verify
from specsample.scheme import Verdict


def table(p_row: np.ndarray, q_row: np.ndarray, sp: float, sq: float, k: int, law: int):
    """Float table of one row pair; ``k = 1`` is single-draft sampling for either law."""
    if k == 1:
        return _build.build(p_row, q_row, sp, sq, 1, _build.IID)
    return _build.build(p_row, q_row, sp, sq, k, law)


def run_verify(call: _api.VerifyCall, law: int) -> Verdict:
    """Build the table(s) a checked call needs and verify every tuple."""
    k = call.drafts.shape[1]
    if not call.batched:
        t = table(call.p[0], call.q[0], float(call.sp[0]), float(call.sq[0]), k, law)
        tok, idx = _verify.verify_one(t, call.p[0], 1.0 / float(call.sp[0]), call.drafts[0],
                                      call.u[0])
        return call.verdict(tok, idx)
    rows = call.drafts.shape[0]
    tokens = np.empty(rows, np.int64)
    index = np.empty(rows, np.int64)
    shared = call.p.shape[0] == 1 and call.q.shape[0] == 1
    t = None
    for b in range(1 if shared else rows):
        rp = 0 if call.p.shape[0] == 1 else b
        rq = 0 if call.q.shape[0] == 1 else b
        if t is None or not shared:
            t = table(call.p[rp], call.q[rq], float(call.sp[rp]), float(call.sq[rq]), k, law)
        span = slice(0, rows) if shared else slice(b, b + 1)
        _kernel(t, call.p[rp], 1.0 / float(call.sp[rp]), call.drafts, call.u[span], tokens,
                index, span.start, k)
    return call.verdict(tokens, index)


def _kernel(t: _build.Table, p, ip, drafts, u, tokens, index, row0, k) -> None:
    if t.law == _build.IID or k == 1:
        _verify.verify_iid_rows(p, ip, t.x, t.group, t.first, t.count, t.start, t.length,
                                t.cum, t.toklen, t.res_cum, t.res_last, drafts, u, tokens,
                                index, row0)
    else:
        theta = t.theta if t.theta is not None else t.om  # unused when t.fallback
        _verify.verify_wor_rows(p, ip, t.x, t.qh, t.om, theta, t.fallback, t.group, t.first,
                                t.count, t.start, t.length, t.cum, t.toklen, t.res_cum,
                                t.res_last, drafts, u, tokens, index, row0)


# ---------------------------------------------------------------- law functions
def raw_row(x, name: str) -> tuple[np.ndarray, float]:
    """A checked 1-D float row and its sum (the law functions read the raw row so the ratio
    order is that of the exact twin of the same floats)."""
    arr, total = _checks.probs(x, name, ndims=(1,))
    return arr, float(total[0])


def law_table(p, q, k: int, law: int, inputs: _api.LawInputs):
    """Exact table for Fraction inputs, else the float table of the raw rows."""
    if inputs.exact:
        return _exact.table(list(inputs.p), list(inputs.q), k, law)
    p_row, sp = raw_row(p, "p")
    q_row, sq = raw_row(q, "q")
    return table(p_row, q_row, sp, sq, k, law)


def output_law(t, p, inputs: _api.LawInputs, drafts: np.ndarray) -> np.ndarray:
    d = [int(v) for v in drafts]
    if inputs.exact:
        return np.array(_exact.output_law(t, d), dtype=object)
    p_row, sp = raw_row(p, "p")
    return _verify.output_law(t, p_row * (1.0 / sp), d)


def acceptance(t, inputs: _api.LawInputs):
    """The table's ``alpha`` (a float clamped to [0, 1] like every scheme's rate)."""
    return inputs.rate(t.alpha)


def selection_law(t, inputs: _api.LawInputs, vocab: int) -> np.ndarray:
    """Law ``x`` of the selected token (Fractions on the exact path)."""
    if inputs.exact:
        return np.array(list(t.x), dtype=object)
    return np.asarray(t.x, dtype=np.float64).copy()
