"""The registry store in a process's memory: a ``registry.store.Backend``.

:class:`MemoryBackend` keeps the rows in dicts; :class:`InMemoryStore` is
``registry.store.LogStore`` over it, so it has every guarantee of the SQLite
store (the contract suite runs over both) except durability: nothing outlives
the process, nothing is shared with another process, and it cannot be copied to
a file (``registry backup`` refuses it). Meant for tests and benchmarks, and
chosen with ``DIDTRUST_DATABASE_URL=memory:``.

A transaction writes into an overlay of its own; a commit merges it (in time
proportional to what it wrote), a rollback drops it, so readers never see a
write before its commit. The store's ``asyncio.Lock`` serialises writers
(there is no other process to wait for).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from registry.errors import StorageError
from registry.merkle import Node
from registry.store import LogStore, StoredCheckpoint

__all__ = ["InMemoryStore", "MemoryBackend"]

K = TypeVar("K")
V = TypeVar("V")


class _Rows:
    """Rows, and the :class:`registry.store.LogRows` reads over them.

    With a ``base``, these rows are an overlay: reads see them and the base's.
    """

    def __init__(self, base: _Rows | None = None) -> None:
        self.base = base
        self.leaves: dict[int, bytes] = {}
        self.nodes: dict[Node, bytes] = {}
        self.checkpoints: dict[int, StoredCheckpoint] = {}
        self.jtis: dict[str, int] = {}
        self.meta: dict[str, str] = {}
        self.leaf_end = 0  # one past the highest leaf index
        self.leaf_hash_end = 0  # one past the highest level-0 node
        if base is not None:
            self.leaf_end, self.leaf_hash_end = base.leaf_end, base.leaf_hash_end

    def _layers(self) -> list[_Rows]:
        """These rows and the base's, newest first."""
        return [self] if self.base is None else [self, *self.base._layers()]

    def _get(
        self, table: Callable[[_Rows], Mapping[K, V]], keys: Iterable[K]
    ) -> dict[K, V]:
        """Look ``keys`` up in one table of every layer, the newest winning."""
        found: dict[K, V] = {}
        layers = [table(rows) for rows in self._layers()]
        for key in keys:
            for rows in layers:
                if key in rows:
                    found[key] = rows[key]
                    break
        return found

    async def leaf_count(self) -> int:
        """Return one past the highest leaf index."""
        return self.leaf_end

    async def leaf_hash_count(self) -> int:
        """Return one past the highest leaf hash index."""
        return self.leaf_hash_end

    async def node_count(self) -> int:
        """Return the number of stored nodes."""
        base = await self.base.node_count() if self.base is not None else 0
        return base + len(self.nodes)

    async def read_leaves(self, start: int, end: int) -> list[bytes]:
        """Return the data of leaves ``start <= index < end``."""
        return list(self._get(_leaves, range(start, min(end, self.leaf_end))).values())

    async def read_leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the level-0 nodes ``start <= index < end``."""
        return list(
            (
                await self.read_nodes(
                    [Node(0, i) for i in range(start, min(end, self.leaf_hash_end))]
                )
            ).values()
        )

    async def read_nodes(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """Return the stored hashes of ``nodes``."""
        return self._get(_nodes, nodes)

    async def read_checkpoint(self, size: int | None) -> StoredCheckpoint | None:
        """Return the checkpoint at ``size``, or the latest for ``None``."""
        if size is None:
            size = max(self._sizes(), default=-1)
        return self._get(_checkpoints, [size]).get(size)

    def _sizes(self) -> list[int]:
        return [size for rows in self._layers() for size in rows.checkpoints]

    async def read_jtis(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the index of each recorded jti."""
        return self._get(_jtis, jtis)

    async def read_meta(self, key: str) -> str | None:
        """Return the value under ``key``."""
        return self._get(_meta, [key]).get(key)


def _leaves(rows: _Rows) -> dict[int, bytes]:
    return rows.leaves


def _nodes(rows: _Rows) -> dict[Node, bytes]:
    return rows.nodes


def _checkpoints(rows: _Rows) -> dict[int, StoredCheckpoint]:
    return rows.checkpoints


def _jtis(rows: _Rows) -> dict[str, int]:
    return rows.jtis


def _meta(rows: _Rows) -> dict[str, str]:
    return rows.meta


class _MemoryTransaction(_Rows):
    """A :class:`registry.store.BackendTransaction`: an overlay on committed rows."""

    def __init__(self, backend: MemoryBackend) -> None:
        super().__init__(backend.rows)
        self._backend = backend

    async def write_leaves(
        self, leaves: Sequence[tuple[int, bytes]], nodes: Sequence[tuple[Node, bytes]]
    ) -> None:
        """Add the leaf and node rows."""
        self.leaves.update(leaves)
        self.nodes.update(nodes)
        self.leaf_end = max([self.leaf_end] + [i + 1 for i, _ in leaves])
        self.leaf_hash_end = max(
            [self.leaf_hash_end] + [n.idx + 1 for n, _ in nodes if n.level == 0]
        )

    async def write_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Add or replace the checkpoint at its size."""
        self.checkpoints[checkpoint.size] = checkpoint

    async def write_jtis(self, rows: Sequence[tuple[str, int]]) -> None:
        """Add the jti rows."""
        self.jtis.update(rows)

    async def write_meta(self, key: str, value: str) -> None:
        """Set one meta value."""
        self.meta[key] = value

    async def commit(self) -> None:
        """Merge the overlay into the committed rows."""
        committed = self._backend.rows
        committed.leaves.update(self.leaves)
        committed.nodes.update(self.nodes)
        committed.checkpoints.update(self.checkpoints)
        committed.jtis.update(self.jtis)
        committed.meta.update(self.meta)
        committed.leaf_end, committed.leaf_hash_end = self.leaf_end, self.leaf_hash_end

    async def rollback(self) -> None:
        """Drop the overlay (it was never shared)."""


class MemoryBackend:
    """The :class:`registry.store.Backend` primitives over dicts in memory."""

    name = "memory"
    persistent = False

    def __init__(self) -> None:
        self.rows = _Rows()

    async def leaf_count(self) -> int:
        """Return one past the highest committed leaf index."""
        return await self.rows.leaf_count()

    async def leaf_hash_count(self) -> int:
        """Return one past the highest committed leaf hash index."""
        return await self.rows.leaf_hash_count()

    async def node_count(self) -> int:
        """Return the number of committed nodes."""
        return await self.rows.node_count()

    async def read_leaves(self, start: int, end: int) -> list[bytes]:
        """Return committed leaves ``start <= index < end``."""
        return await self.rows.read_leaves(start, end)

    async def read_leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return committed leaf hashes ``start <= index < end``."""
        return await self.rows.read_leaf_hashes(start, end)

    async def read_nodes(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """Return the committed hashes of ``nodes``."""
        return await self.rows.read_nodes(nodes)

    async def read_checkpoint(self, size: int | None) -> StoredCheckpoint | None:
        """Return the committed checkpoint at ``size`` (``None``: the latest)."""
        return await self.rows.read_checkpoint(size)

    async def read_jtis(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the committed index of each of ``jtis``."""
        return await self.rows.read_jtis(jtis)

    async def read_meta(self, key: str) -> str | None:
        """Return the committed value under ``key``."""
        return await self.rows.read_meta(key)

    async def begin(self) -> _MemoryTransaction:
        """Start an overlay (the store's lock already serialises writers)."""
        return _MemoryTransaction(self)

    async def copy_to(self, target: Path) -> MemoryBackend:
        """Refuse: memory holds nothing worth a file.

        Raises:
            StorageError: Always.
        """
        raise StorageError(
            "the in-memory store (memory:) cannot be backed up: "
            "it keeps nothing beyond this process"
        )

    async def close(self) -> None:
        """Nothing to release."""


class InMemoryStore(LogStore):
    """A registry store in memory, with the guarantees of ``LogStore``."""

    def __init__(self) -> None:
        super().__init__(MemoryBackend())
