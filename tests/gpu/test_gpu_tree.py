"""Token tree shapes, spellings and masks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from specsample.gpu.tree import Tree  # noqa: E402


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_binary_tree_of_depth_d_has_2_to_the_d_plus_1_minus_1_nodes(depth):
    tree = Tree.parse(f"binary:{depth}")
    assert tree.size == 2 ** (depth + 1) - 1
    assert tree.depth == depth
    assert all(len(c) in (0, 2) for c in tree.children)


def test_spellings_build_the_expected_parent_arrays():
    assert Tree.parse("chain:3").parents == (-1, 0, 1, 2)
    assert Tree.parse("binary:2").parents == (-1, 0, 0, 1, 1, 2, 2)
    assert Tree.parse("kary:3:1").parents == (-1, 0, 0, 0)
    assert Tree.parse([2, 1]).parents == (-1, 0, 0, 1, 2)
    uneven = Tree.from_parents([-1, 0, 0, 1, 1, 1, 3])
    assert uneven.children == ((1, 2), (3, 4, 5), (), (6,), (), (), ())
    assert uneven.levels == ((0,), (1, 2), (3, 4, 5), (6,))
    assert uneven.depths == (0, 1, 1, 2, 2, 2, 3)


def test_ancestors_mask_marks_each_node_its_ancestors_and_itself():
    tree = Tree.parse("binary:2")
    mask = tree.ancestors_mask()
    for i in range(tree.size):
        seen = {j for j in range(tree.size) if mask[i, j]}
        chain, j = set(), i
        while j >= 0:
            chain.add(j)
            j = tree.parents[j]
        assert seen == chain


@pytest.mark.parametrize(
    ("spec", "kind", "words"),
    [
        ("binary", ValueError, "is not one of"),
        ("binary:x", ValueError, "is not one of"),
        ("chain:0", ValueError, "at least 1"),
        ("kary:2", ValueError, "is not one of"),
        ([2, 0], ValueError, r"children_per_level\[1\]"),
        (3, TypeError, "tree must be"),
        ("binary:12", ValueError, "MAX_NODES"),
    ],
)
def test_bad_tree_spellings_raise(spec, kind, words):
    with pytest.raises(kind, match=words):
        Tree.parse(spec)


@pytest.mark.parametrize(
    ("parents", "words"),
    [
        ([0, 0], r"parents\[0\] must be -1"),
        ([-1, 1], r"parents\[1\] = 1 must lie in"),
        ([-1, 0, 1, 0], "breadth-first"),
    ],
)
def test_bad_parent_arrays_raise(parents, words):
    with pytest.raises(ValueError, match=words):
        Tree.from_parents(parents)
