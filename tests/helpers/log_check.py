"""Check a registry SQLite file against a Merkle tree rebuilt from its own leaves.

Only for tests. Reads the file with the standard library's ``sqlite3``
(read-only), not through ``SqliteStore``, so a bug in the store cannot hide
itself. ``check_log_file`` asserts what must hold after any crash:

- ``PRAGMA integrity_check`` is ``ok``;
- the leaves are ``0..n-1`` without a gap;
- the ``merkle_node`` rows are exactly the perfect subtrees of a
  ``MemoryTree`` of those leaves (no row missing, none extra, none different);
- every checkpoint's root is that tree's root at its size, and the latest
  checkpoint covers every leaf;
- every jti points at a stored leaf.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from registry.merkle import MemoryTree, Node


@dataclass(frozen=True)
class LogFile:
    """What ``check_log_file`` read: the rebuilt tree and the stored rows."""

    tree: MemoryTree
    leaves: list[bytes]
    checkpoints: dict[int, bytes]  # size -> root
    jtis: dict[str, int]


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def stored_nodes(path: Path) -> dict[Node, bytes]:
    """Every ``merkle_node`` row of the file."""
    with closing(_connect(path)) as conn:
        rows = conn.execute("SELECT level, idx, hash FROM merkle_node").fetchall()
    return {Node(level, idx): h for level, idx, h in rows}


def expected_nodes(tree: MemoryTree) -> dict[Node, bytes]:
    """Every perfect subtree hash of ``tree``, as the store should hold them."""
    nodes: dict[Node, bytes] = {}
    level = 0
    while tree.size >> level:
        for idx in range(tree.size >> level):
            nodes[Node(level, idx)] = tree.subtree_hash(level, idx)
        level += 1
    return nodes


def check_log_file(path: Path) -> LogFile:
    """Assert the file's invariants (see the module docstring); return its contents."""
    with closing(_connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT idx, data FROM leaf ORDER BY idx").fetchall()
        checkpoints = dict(conn.execute("SELECT size, root FROM checkpoint"))
        jtis = dict(conn.execute("SELECT jti, idx FROM jti"))
    assert [idx for idx, _ in rows] == list(range(len(rows))), "leaf indices have gaps"
    leaves = [bytes(data) for _, data in rows]
    tree = MemoryTree()
    for data in leaves:
        tree.append(data)
    assert stored_nodes(path) == expected_nodes(tree)
    for size, root in checkpoints.items():
        assert size <= tree.size, f"checkpoint at {size} beyond {tree.size} leaves"
        assert root == tree.root(size), f"checkpoint at {size} has a wrong root"
    if leaves:
        assert max(checkpoints) == tree.size, "leaves beyond the latest checkpoint"
    assert all(0 <= idx < tree.size for idx in jtis.values())
    return LogFile(tree, leaves, checkpoints, jtis)
