"""Exact check of ``proofs/opt_iid.md``: the optimal verifier for k i.i.d. drafts.

For every ``(p, q)`` of the grid (:mod:`proofs._grid`) and ``k = 1..3``:

1. Step A transcribed: claims 1-4 (well defined, value = the brute-force min cut of the
   enumerated i.i.d. law, ascending means with the cut between the halves, the prefix
   condition on both halves);
2. for ``k = 2`` the stack sweep transcribed (:mod:`proofs._opt`) on the groups, asserted
   equal to the library's exact pieces;
3. for every ``k`` the library's exact partitions (a rational mixture for ``k = 3``): each
   tiles ``[0, 1]`` with ``T``'s groups inside ``[0, A]``, the weights are a probability
   vector, and the mixture gives every group exactly its target;
4. the law of the selected draft given each tuple, by integrating the position densities of
   those partitions (:func:`proofs._opt.highest`), averages over the draft law to ``x``
   (claim 5); Step C transcribed gives an output law averaging to ``p`` (claim 6) and an
   acceptance equal to ``alpha*`` (claim 7), with residuals never a draft;
5. the library's ``draft_law``, ``output_law`` and ``acceptance_rate`` equal the
   transcription exactly;
6. claims B1-B3 (the bucketed float build) for every split of the ratio order into
   buckets, on the grid and on seeded rational instances with 5 to 8 tokens.

Run: ``python -m proofs.check_opt_iid``.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from fractions import Fraction

from proofs import _grid, _opt
from proofs._common import (
    ONE,
    ZERO,
    Tally,
    hit_rate,
    main,
    min_cut,
    mixture,
    require,
    same_draft_law,
    same_law,
)
from specsample.optimal import _exact
from specsample.optimal import iid as opt_iid

MAX_K = 3
GRID = {"max_vocab": _grid.MAX_VOCAB, "denominators": _grid.DENOMINATORS}


# ------------------------------------------------------------ transcription of opt_iid.md
def draft_law(q: Sequence[Fraction], k: int) -> dict:
    law = {}
    for x in itertools.product(_grid.support(q), repeat=k):
        w = ONE
        for t in x:
            w *= q[t]
        law[x] = w
    return law


def step_a(p, q, k: int):
    """Ratio order, ``j*`` (smallest minimiser), ``A``, and ``x`` (claims 1-4 asserted)."""
    order = sorted(range(len(p)), key=lambda i: (q[i] == 0, p[i] / q[i] if q[i] else ZERO, i))
    n = sum(1 for v in q if v > 0)
    cp = [ZERO]
    cq = [ZERO]
    for i in order[:n]:
        cp.append(cp[-1] + p[i])
        cq.append(cq[-1] + q[i])
    value = [cp[j] + 1 - cq[j] ** k for j in range(n + 1)]
    js = min(range(n + 1), key=lambda j: (value[j], j))
    T, U = order[:js], order[js:n]
    A = cq[js]
    require(sum((p[i] for i in T), ZERO) <= A**k, "claim 1: p(T) <= A^k", p, q, k)
    require(sum((p[i] for i in U), ZERO) >= 1 - A**k, "claim 1: p(U \\ Z) >= 1 - A^k", p, q, k)
    x = [ZERO] * len(p)
    if k == 1:
        for i in order[:n]:
            x[i] = q[i]
    else:
        up = _scale_up([p[i] for i in T], [q[i] for i in T], A**k)
        for i in T:
            x[i] = max(p[i], up * q[i])
        down = _scale_down([p[i] for i in U], [q[i] for i in U], 1 - A**k)
        for i in U:
            x[i] = p[i] if down is None else min(p[i], down * q[i])
    require(sum(x, ZERO) == 1 and all(v >= 0 for v in x), "claim 1: x is a law", p, q, k)
    require(sum((x[i] for i in T), ZERO) == A**k, "claim 1: x(T) = A^k", p, q, k)
    means = [x[i] / q[i] for i in order[:n]]
    require(all(a <= b for a, b in itertools.pairwise(means)),
            "claim 3: means ascending along the ratio order", p, q, k)
    X = ZERO
    for j, i in enumerate(order[:n], start=1):
        X += x[i]
        require(X >= cq[j] ** k, "claim 4: prefix condition", p, q, k, j)
    return order, n, js, A, x


def _scale_up(ps, qs, total):
    """c' >= 0 with sum max(p, c' q) = total (the first t tokens lifted)."""
    if total <= sum(ps, ZERO):
        return ZERO
    for t in range(1, len(ps) + 1):
        c = (total - sum(ps[t:], ZERO)) / sum(qs[:t], ZERO)
        if t == len(ps) or c <= ps[t] / qs[t]:
            return c
    raise AssertionError


def _scale_down(ps, qs, total):
    """c with sum min(p, c q) = total, tokens from s on capped; None for c = inf."""
    for s in range(len(ps)):
        c = (total - sum(ps[:s], ZERO)) / sum(qs[s:], ZERO)
        if c <= ps[s] / qs[s]:
            return c
    return None


def groups(order, n, js, x, q):
    """Runs of equal mean inside T and inside U: (group of token, mass, target, halves)."""
    group, mass, target, halves = {}, {}, {}, [[], []]
    for h, ids in enumerate((order[:js], order[js:n])):
        mean = None
        for i in ids:
            if x[i] / q[i] != mean:
                mean = x[i] / q[i]
                g = len(mass)
                mass[g] = target[g] = ZERO
                halves[h].append(g)
            group[i] = g
            mass[g] += q[i]
            target[g] += x[i]
    return group, mass, target, halves


def bucket_claims(p, q, k: int, order, n: int, js: int, x) -> int:
    """Claims B1-B3 (the bucketed float build) for every split of the ratio order into
    consecutive buckets that keeps equal ratios together; each bucket's lower edge is its
    smallest ratio (a lower edge below it only weakens B1). Returns how many splits."""
    ratio = [p[i] / q[i] for i in order[:n]]
    cp, cq = [ZERO], [ZERO]
    for i in order[:n]:
        cp.append(cp[-1] + p[i])
        cq.append(cq[-1] + q[i])
    F = [cp[j] + 1 - cq[j] ** k for j in range(n + 1)]
    cuts = [j for j in range(1, n) if ratio[j] > ratio[j - 1]]  # where a bucket may start
    A, p_t = cq[js], cp[js]
    x_t, x_u = A**k, 1 - A**k
    splits = 0
    for chosen in itertools.product((False, True), repeat=len(cuts)):
        starts = [0] + [j for j, c in zip(cuts, chosen, strict=True) if c]
        ends = [*starts[1:], n]
        # B1: inside a bucket F >= F(start) + min(0, lo Q - ((Cq + Q)^k - Cq^k))
        for a, b in zip(starts, ends, strict=True):
            lo, mass = ratio[a], cq[b] - cq[a]
            bound = F[a] + min(ZERO, lo * mass - ((cq[a] + mass) ** k - cq[a] ** k))
            require(all(F[j] >= bound for j in range(a, b + 1)), "claim B1", p, q, k, starts)
        if k == 1 or n == 0:
            splits += 1
            continue
        # B2: at an edge up to the cut's bucket, lo Cq + p(T) - Cp = sum_T max(p, lo q),
        # non-decreasing; below the last edge where it is <= x(T), every token is capped
        jb = max(a for a in starts if a <= js) if js < n else starts[-1]
        s_lo = 0
        level = []
        for a in (a for a in starts if a <= jb):
            g = ratio[a] * cq[a] + p_t - cp[a]
            require(g == sum((max(p[i], ratio[a] * q[i]) for i in order[:js]), ZERO),
                    "claim B2: the water level at an edge", p, q, k, starts)
            level.append(g)
            if js > 0 and x_t > p_t and g <= x_t:
                s_lo = a
        require(all(u <= v for u, v in itertools.pairwise(level)), "claim B2: monotone", p, q, k)
        if js == 0:
            s_lo = jb
        if s_lo > 0:  # every token below s_lo is capped: r <= c', so x = c' q (one group)
            up = _scale_up([p[i] for i in order[:js]], [q[i] for i in order[:js]], x_t)
            require(all(p[i] <= up * q[i] and x[i] == up * q[i] for i in order[:s_lo]),
                    "claim B2: capped below s_lo", p, q, k, starts)
        # B3: at an edge after the cut's bucket, Cp - p(T) + lo Cs = sum_U min(p, lo q),
        # non-decreasing; above the last edge where it is <= x(U), every token is capped
        s_hi = n
        if js < n:
            s_hi = next((b for a, b in zip(starts, ends, strict=True) if a <= js < b), n)
            level = []
            for a, b in zip(starts, ends, strict=True):
                if a <= js:
                    continue
                h = cp[a] - p_t + ratio[a] * (cq[n] - cq[a])
                require(h == sum((min(p[i], ratio[a] * q[i]) for i in order[js:n]), ZERO),
                        "claim B3: the water level at an edge", p, q, k, starts)
                level.append(h)
                if h <= x_u:
                    s_hi = b
            require(all(u <= v for u, v in itertools.pairwise(level)), "claim B3: monotone",
                    p, q, k)
            if s_hi < n:  # every token above s_hi is capped: r >= c, so x = c q (one group)
                down = _scale_down([p[i] for i in order[js:n]], [q[i] for i in order[js:n]], x_u)
                require(down is not None and all(p[i] >= down * q[i] and x[i] == down * q[i]
                                                 for i in order[s_hi:n]),
                        "claim B3: capped above s_hi", p, q, k, starts)
        splits += 1
    return splits


def selection_given(partitions, group, gmass, drafts) -> dict:
    """P(select token | drafts): the mixture of partitions, positions integrated."""
    out: dict = {}
    for weight, pieces in partitions:
        own = [pieces[group[t]] for t in drafts]
        top = _opt.highest(own, [gmass[group[t]] for t in drafts])
        for t, v in zip(drafts, top, strict=True):
            out[t] = out.get(t, ZERO) + weight * v
    return out


def step_c(p, x, sel: dict) -> list[Fraction]:
    """Accept the selected ``y`` w.p. min(1, p/x), else a sample of ``(p - x)_+``."""
    out = [ZERO] * len(p)
    miss = ZERO
    for y, prob in sel.items():
        a = ONE if x[y] <= p[y] else p[y] / x[y]
        out[y] += prob * a
        miss += prob * (1 - a)
    if miss:
        res = [max(pi - xi, ZERO) for pi, xi in zip(p, x, strict=True)]
        total = sum(res, ZERO)
        require(total > 0, "a possible rejection leaves residual mass", p, x)
        out = [o + miss * r / total for o, r in zip(out, res, strict=True)]
    return out


def check_partitions(partitions, halves, gmass, gtarget, A) -> None:
    """Claim 5's premises on the library's exact partitions."""
    weights = [w for w, _ in partitions]
    require(all(w > 0 for w in weights) and sum(weights, ZERO) == 1,
            "mixture weights form a probability vector", weights)
    for _, pieces in partitions:
        _opt.tiling({g: pieces[g] for g in halves[0]}, ZERO, A)
        _opt.tiling({g: pieces[g] for g in halves[1]}, A, ONE)
        for g, segs in pieces.items():
            require(sum((b - a for a, b in segs), ZERO) == gmass[g], "group mass", g)


# ------------------------------------------------------------ the check
def check(max_vocab: int = GRID["max_vocab"], denominators: Sequence[int] = GRID["denominators"]) -> Tally:
    """Check every claim of ``proofs/opt_iid.md`` on the grid; return what was enumerated."""
    instances = tuples = 0
    for p, q in _grid.pairs(max_vocab, denominators):
        for k in range(1, MAX_K + 1):
            law = draft_law(q, k)
            order, n, js, A, x = step_a(p, q, k)
            alpha = sum((min(a, b) for a, b in zip(p, x, strict=True)), ZERO)
            require(alpha == min_cut(p, law), "claim 2: sum min(p, x) = alpha*", p, q, k)
            group, gmass, gtarget, halves = groups(order, n, js, x, q)
            bucket_claims(p, q, k, order, n, js, x)
            table = _exact.table(p, q, k, _exact.IID)
            require(list(table.x) == x and table.cut.size == js, "library Step A", p, q, k)
            require(table.group == group and table.gmass == gmass, "library groups", p, q, k)
            partitions = list(table.partitions)
            dens = _opt.Density(k)
            if k >= 2:
                check_partitions(partitions, halves, gmass, gtarget, A)
                mixed = {g: sum((w * sum((dens.mu(a, b) for a, b in pieces[g]), ZERO)
                                 for w, pieces in partitions), ZERO) for g in gmass}
                require(mixed == gtarget, "the mixture gives every group its target", p, q, k)
            if k == 2:
                ours: dict = {}
                for lo, hi, items in ((ZERO, A, halves[0]), (A, ONE, halves[1])):
                    if items:
                        ours.update(_opt.stack_sweep(items, lo, hi, gmass, gtarget, dens))
                require(len(partitions) == 1 and all(
                    sorted(partitions[0][1][g]) == sorted(ours[g]) for g in ours),
                    "library pieces = the transcribed stack sweep", p, q)
            selected = [ZERO] * len(p)
            outputs = {}
            for x_tuple, w in law.items():
                sel = ({x_tuple[0]: ONE} if k == 1
                       else selection_given(partitions, group, gmass, list(x_tuple)))
                for y, v in sel.items():
                    selected[y] += w * v
                outputs[x_tuple] = step_c(p, x, sel)
            require(selected == x, "claim 5: the selected token has law x", p, q, k)
            require(mixture(law, outputs, len(p)) == list(p), "claim 6: output law = p", p, q, k)
            require(hit_rate(law, outputs) == alpha, "claim 7: acceptance = alpha*", p, q, k)

            require(same_draft_law(opt_iid.draft_law(q, k), law), "library draft_law", q, k)
            require(opt_iid.acceptance_rate(p, q, k) == alpha, "library acceptance_rate", p, q, k)
            for x_tuple, out in outputs.items():
                require(same_law(opt_iid.output_law(p, q, x_tuple), out),
                        "library opt_iid.output_law", p, q, x_tuple)
            instances += 1
            tuples += len(law)
    for p, q in bucket_instances():  # B1-B3 need more tokens than the grid has to bite
        for k in (2, 3):
            order, n, js, _, x = step_a(p, q, k)
            bucket_claims(p, q, k, order, n, js, x)
            instances += 1
    return Tally(instances, tuples)


def bucket_instances(count: int = 150, seed: int = 0):
    """Seeded rational pairs with 5 to 8 tokens (zeros and ties included) for claims B1-B3."""
    rng = random.Random(seed)
    for _ in range(count):
        v = rng.randint(5, 8)
        w = [[rng.randint(0, 6) for _ in range(v)] for _ in range(2)]
        w[0][0] += 1
        w[1][0] += 1
        w[1][1] += 1
        yield ([Fraction(a, sum(w[0])) for a in w[0]], [Fraction(a, sum(w[1])) for a in w[1]])


if __name__ == "__main__":
    main("opt_iid", check, __doc__.splitlines()[0], GRID)
