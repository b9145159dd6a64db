"""Scratch memory of the table builds, kept per thread between builds.

A table build at V = 151936 touches some twenty vocabulary-sized scratch arrays (ratio
keys, prefix sums, pieces, holes...). Fresh ones cost a page fault per 4 KiB on first touch,
because the allocator hands memory of that size back to the system after each build; on
the project's machine that was half the time of an i.i.d. build
(``benchmarks/optimal_parts.py``). The builds therefore take their scratch from a
:class:`Workspace` that each thread keeps for the vocabulary size it last built for. Only
scratch lives there: every array a :class:`~specsample.optimal._build.Table` keeps is fresh
(tests check that no table shares memory with the workspace); a table's own arrays are
rows of one fresh allocation (:func:`table_memory`), so that they come in huge pages: about
8.5 MB per i.i.d. table and 11 MB (plus the pieces) per without-replacement table at
V = 151936, resident while the table lives.

A workspace reserves about ``36 V`` doubles (43 MB at V = 151936), of which only the rows
a build touches become resident (an i.i.d. build touches about half);
:func:`release` drops the calling thread's workspace.
"""

from __future__ import annotations

import threading

import numpy as np

#: Rows of ``Workspace.f`` (float64, length ``V + 1`` each).
F_ROWS = 19
#: Rows of ``Workspace.i`` (int64, length ``V + 1`` each).
I_ROWS = 6
#: The bucketed i.i.d. build (:mod:`specsample.optimal._buckets`) buckets tokens by
#: ``ratio key >> BUCKET_SHIFT``; ``BUCKETS`` covers every non-negative ratio key.
BUCKET_SHIFT = 49
BUCKETS = (0x7FF0000000000000 >> BUCKET_SHIFT) + 1


class Workspace:
    """Scratch arrays for tables of one vocabulary size (row-sliced by the builds).

    ``f``: float64 ``(F_ROWS, V + 1)``; ``pieces``: float64 ``(3, 3 V + 4)`` for the
    pieces' starts, lengths and cumulative lengths; ``i``: int64 ``(I_ROWS, V + 1)``;
    ``u``: uint64 ``(2, V)`` for the ratio keys; ``b``: float64 ``(2, BUCKETS)`` and ``bc``:
    int64 ``(BUCKETS,)`` for per-bucket sums and counts.
    """

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab
        self.f = np.empty((F_ROWS, vocab + 1))
        self.pieces = np.empty((3, 3 * vocab + 4))
        self.i = np.empty((I_ROWS, vocab + 1), np.int64)
        self.u = np.empty((2, vocab), np.uint64)
        self.b = np.empty((2, BUCKETS))
        self.bc = np.empty(BUCKETS, np.int64)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.f, self.pieces, self.i, self.u, self.b, self.bc


_local = threading.local()


def get(vocab: int) -> Workspace:
    """The calling thread's workspace for ``vocab`` tokens (replacing one of another size)."""
    ws = getattr(_local, "ws", None)
    if ws is None or ws.vocab != vocab:
        ws = Workspace(vocab)
        _local.ws = ws
    return ws


def table_memory(floats: int, ints: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh memory for one table: ``(floats, length)`` float64 rows and ``(ints, length)``
    int64 rows carved out of ONE numpy allocation. Numpy asks the kernel for transparent
    huge pages on allocations of 4 MiB or more, so a table's 5-11 MB at V = 151936 costs a
    few 2 MiB page faults instead of thousands of 4 KiB ones. The rows stay valid as long
    as any of them is referenced (they share one base array)."""
    buf = np.empty((floats + ints, length))
    return buf[:floats], buf[floats:].view(np.int64)


def release() -> None:
    """Drop the calling thread's workspace (its memory goes back at the next collection)."""
    _local.ws = None
