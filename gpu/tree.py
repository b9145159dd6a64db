"""Token trees for speculative decoding (THEORY.md section 8).

A tree is stored as a parent array in breadth-first order. Node 0 is the **root, which is
the last committed token**: the target scores it in the same forward as the drafted nodes,
and its target distribution is the ``p`` against which the root's children are verified.
Every other node is a drafted token; the children of a node are the ``k`` drafts of the
scheme for the next position, in draft order (child ``j`` is draft ``j``).

Spellings accepted by :meth:`Tree.parse`:

``"chain:d"``
    one draft per level, ``d`` levels (``k = 1``): ``d + 1`` nodes.
``"binary:d"``
    full binary tree with ``d`` levels of drafts: ``2**(d + 1) - 1`` nodes including the
    root. SpecHub's "2^D tree" (``2**D - 1`` nodes, e.g. 31 for ``2^5``) is
    ``binary:(D - 1)``.
``"kary:k:d"``
    full ``k``-ary tree with ``d`` levels of drafts.
a sequence of ints
    children per node, level by level: ``(2, 2, 1)`` gives every node at depth 0 two
    children, at depth 1 two, at depth 2 one.
a :class:`Tree`
    e.g. :meth:`Tree.from_parents` for any shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch

#: Largest tree accepted; a tree costs one target forward over all its nodes.
MAX_NODES = 4096


@dataclass(frozen=True)
class Tree:
    """A token tree as a breadth-first parent array.

    Attributes
    ----------
    parents : tuple of int
        ``parents[0] == -1`` (the root); for ``i >= 1``, ``0 <= parents[i] < i`` and
        ``parents[1:]`` is non-decreasing, so nodes are in breadth-first order and the
        children of each node are consecutive (in draft order).
    """

    parents: tuple[int, ...]

    def __post_init__(self) -> None:
        parents = self.parents
        if not isinstance(parents, tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in parents
        ):
            raise TypeError(f"parents must be a tuple of ints; got {parents!r}")
        if not parents or parents[0] != -1:
            raise ValueError(f"parents[0] must be -1 (node 0 is the root); got {parents[:1]}")
        if len(parents) > MAX_NODES:
            raise ValueError(f"a tree may have at most MAX_NODES={MAX_NODES} nodes; got {len(parents)}")
        for i in range(1, len(parents)):
            if not 0 <= parents[i] < i:
                raise ValueError(f"parents[{i}] = {parents[i]} must lie in [0, {i})")
            if i > 1 and parents[i] < parents[i - 1]:
                raise ValueError(
                    f"parents[{i}] = {parents[i]} < parents[{i - 1}] = {parents[i - 1]}: nodes must be "
                    "in breadth-first order with each node's children consecutive"
                )

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_parents(cls, parents: Sequence[int]) -> Tree:
        """A tree from a breadth-first parent array (see the class attributes)."""
        return cls(tuple(int(v) for v in parents))

    @classmethod
    def from_branching(cls, children_per_level: Sequence[int]) -> Tree:
        """Every node at depth ``l`` gets ``children_per_level[l]`` children."""
        counts = list(children_per_level)
        for level, c in enumerate(counts):
            if isinstance(c, bool) or not isinstance(c, int) or c < 1:
                raise ValueError(
                    f"children_per_level[{level}] must be an int >= 1; got {c!r}"
                )
        parents = [-1]
        frontier = [0]
        for c in counts:
            nxt = []
            for node in frontier:
                for _ in range(c):
                    parents.append(node)
                    nxt.append(len(parents) - 1)
                    if len(parents) > MAX_NODES:
                        raise ValueError(
                            f"children_per_level={counts} gives more than MAX_NODES={MAX_NODES} nodes"
                        )
            frontier = nxt
        return cls(tuple(parents))

    @classmethod
    def parse(cls, spec: str | Sequence[int] | Tree) -> Tree:
        """A tree from ``"chain:d"``, ``"binary:d"``, ``"kary:k:d"``, a sequence of children
        counts per level, or a :class:`Tree` (module docstring)."""
        if isinstance(spec, Tree):
            return spec
        if isinstance(spec, str):
            parts = spec.split(":")
            try:
                numbers = [int(v) for v in parts[1:]]
            except ValueError:
                numbers = None
            shapes = {"chain": 1, "binary": 1, "kary": 2}
            if parts[0] not in shapes or numbers is None or len(numbers) != shapes[parts[0]]:
                raise ValueError(
                    f"tree {spec!r} is not one of 'chain:d', 'binary:d', 'kary:k:d' (d, k ints)"
                )
            if any(n < 1 for n in numbers):
                raise ValueError(f"tree {spec!r}: depth and k must be at least 1")
            if parts[0] == "chain":
                return cls.from_branching([1] * numbers[0])
            if parts[0] == "binary":
                return cls.from_branching([2] * numbers[0])
            return cls.from_branching([numbers[0]] * numbers[1])
        if isinstance(spec, Sequence):
            return cls.from_branching(spec)
        raise TypeError(f"tree must be a string, a sequence of ints or a Tree; got {type(spec).__name__}")

    # ------------------------------------------------------------ derived facts
    @property
    def size(self) -> int:
        """Number of nodes, root included."""
        return len(self.parents)

    @cached_property
    def depths(self) -> tuple[int, ...]:
        """Depth of each node (root 0)."""
        depth = [0] * self.size
        for i in range(1, self.size):
            depth[i] = depth[self.parents[i]] + 1
        return tuple(depth)

    @property
    def depth(self) -> int:
        """Number of draft levels: the most drafts one step can accept."""
        return max(self.depths)

    @cached_property
    def children(self) -> tuple[tuple[int, ...], ...]:
        """Children of each node, in draft order."""
        kids: list[list[int]] = [[] for _ in range(self.size)]
        for i in range(1, self.size):
            kids[self.parents[i]].append(i)
        return tuple(tuple(c) for c in kids)

    @cached_property
    def levels(self) -> tuple[tuple[int, ...], ...]:
        """Nodes of each depth, in order."""
        out: list[list[int]] = [[] for _ in range(self.depth + 1)]
        for i, d in enumerate(self.depths):
            out[d].append(i)
        return tuple(tuple(v) for v in out)

    @property
    def max_children(self) -> int:
        """Largest number of drafts at one node."""
        return max(len(c) for c in self.children)

    def ancestors_mask(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Bool (n, n): ``[i, j]`` is true when node ``j`` is node ``i`` or one of its ancestors.

        This is the tree part of the attention mask: each node sees the prefix, its
        ancestors and itself.
        """
        n = self.size
        mask = torch.zeros((n, n), dtype=torch.bool)
        for i in range(n):
            j = i
            while j >= 0:
                mask[i, j] = True
                j = self.parents[j]
        return mask.to(device)

    def __repr__(self) -> str:
        return f"Tree(size={self.size}, depth={self.depth}, parents={self.parents})"
