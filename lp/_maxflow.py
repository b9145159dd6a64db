"""Exact max-flow / min-cut on the draft-set graph, and the coupling built from a flow.

Network (``proofs/ot_mincut.md``)::

    source --Q(s)--> draft set s --inf--> member token y --p(y)--> sink

A flow is a partial coupling of draft sets and tokens that only moves mass along
"the output is one of the drafts" edges; its value is the acceptance it achieves. The max
flow equals the OTM optimum ``alpha*`` and the min cut is
``min_B p(B) + Q(all) - Q(members inside B)``.

:func:`max_flow` runs Dinic's algorithm in exact rational arithmetic (``Fraction``), so the
flow it returns and the cut read off its residual graph have *exactly* equal values: a
certificate of optimality with zero gap. It is meant for small graphs (pure Python).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Flow:
    """An exact maximum flow and the minimum cut that proves it optimal.

    ``edge_flow[e]`` is the flow on the e-th (set, token) edge; ``value`` its total;
    ``cut`` the tokens on the source side of the cut (the set ``B`` of the min-cut formula);
    ``cut_value = p(B) + sum of Q(s) over sets with a member outside B`` equals ``value``.
    """

    edge_flow: list
    value: Fraction
    cut: frozenset
    cut_value: Fraction


class _Graph:
    def __init__(self, n: int):
        self.head: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list = []  # residual capacities; math.inf for uncapacitated edges

    def add(self, a: int, b: int, cap, flow=Fraction(0)) -> int:
        e = len(self.to)
        self.to += [b, a]
        self.cap += [cap - flow, flow]
        self.head[a].append(e)
        self.head[b].append(e + 1)
        return e

    def levels(self, s: int, t: int) -> list[int] | None:
        level = [-1] * len(self.head)
        level[s] = 0
        todo = deque([s])
        while todo:
            a = todo.popleft()
            for e in self.head[a]:
                b = self.to[e]
                if level[b] < 0 and self.cap[e] > 0:
                    level[b] = level[a] + 1
                    todo.append(b)
        return level if level[t] >= 0 else None

    def blocking(self, s: int, t: int, level: list[int]) -> Fraction:
        """Push a blocking flow along level-increasing paths (iterative DFS)."""
        pushed_total = Fraction(0)
        it = [0] * len(self.head)
        while True:
            path: list[int] = []  # edge ids from s
            a = s
            while a != t:
                advanced = False
                while it[a] < len(self.head[a]):
                    e = self.head[a][it[a]]
                    b = self.to[e]
                    if self.cap[e] > 0 and level[b] == level[a] + 1:
                        path.append(e)
                        a = b
                        advanced = True
                        break
                    it[a] += 1
                if not advanced:
                    if a == s:
                        return pushed_total
                    level[a] = -1  # dead end: never visit again in this phase
                    e = path.pop()
                    a = self.to[e ^ 1]
                    it[a] += 1
            delta = min(self.cap[e] for e in path)
            for e in path:
                self.cap[e] -= delta
                self.cap[e ^ 1] += delta
            pushed_total += delta

    def reachable(self, s: int) -> list[bool]:
        seen = [False] * len(self.head)
        seen[s] = True
        todo = [s]
        while todo:
            a = todo.pop()
            for e in self.head[a]:
                b = self.to[e]
                if not seen[b] and self.cap[e] > 0:
                    seen[b] = True
                    todo.append(b)
        return seen


def max_flow(set_mass, p, edge_set: np.ndarray, edge_token: np.ndarray, start=None) -> Flow:
    """Exact maximum flow on the draft-set graph.

    ``set_mass`` and ``p`` are sequences of ``Fraction``; ``start`` is an optional feasible
    flow (one ``Fraction`` per edge) to begin from, e.g. a repaired LP solution, so that only
    the last augmenting paths are searched.
    """
    n_sets = len(set_mass)
    tokens = sorted({int(y) for y in edge_token})
    node_of = {y: n_sets + 1 + i for i, y in enumerate(tokens)}
    source, sink = 0, n_sets + len(tokens) + 1
    g = _Graph(sink + 1)
    flow0 = list(start) if start is not None else [Fraction(0)] * len(edge_set)
    out = [Fraction(0)] * n_sets
    into = dict.fromkeys(tokens, Fraction(0))
    for e, (s, y) in enumerate(zip(edge_set, edge_token, strict=True)):
        out[int(s)] += flow0[e]
        into[int(y)] += flow0[e]
    for s in range(n_sets):
        g.add(source, 1 + s, set_mass[s], out[s])
    middle = [
        g.add(1 + int(s), node_of[int(y)], math.inf, flow0[e])
        for e, (s, y) in enumerate(zip(edge_set, edge_token, strict=True))
    ]
    for y in tokens:
        g.add(node_of[y], sink, p[y], into[y])
    value = sum(out, Fraction(0))
    while (level := g.levels(source, sink)) is not None:
        value += g.blocking(source, sink, level)
    edge_flow = [Fraction(g.cap[e ^ 1]) for e in middle]
    seen = g.reachable(source)
    cut = frozenset(y for y in tokens if seen[node_of[y]])
    outside = sum(
        (set_mass[s] for s in range(n_sets) if not seen[1 + s]), Fraction(0)
    )
    cut_value = outside + sum((p[y] for y in cut), Fraction(0))
    return Flow(edge_flow=edge_flow, value=value, cut=cut, cut_value=cut_value)


def cut_value(set_mass, p, sets, cut: frozenset):
    """``p(B) + Q(sets with a member outside B)``: the capacity of the cut ``B``."""
    zero = set_mass[0] * 0 if set_mass else 0
    outside = sum((m for m, s in zip(set_mass, sets, strict=True) if not set(s) <= cut), zero)
    return outside + sum((p[y] for y in cut), zero)
