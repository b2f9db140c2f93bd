"""The registry's store: the transparency log, its checkpoints, a jti index.

Two layers, the way Go's ``sumdb/tlog`` computes every root and proof over a
``HashReader`` it does not implement:

- **Primitives** (:class:`Backend`, :class:`BackendTransaction`): what a
  storage backend implements, and all it implements. Rows of leaf data and of
  subtree hashes appended by index, read back by range or by key; checkpoints
  by size; the ``jti`` index; metadata; a write lock with commit and rollback;
  a consistent copy (for backups). A backend checks nothing about the log.
- **Guarantees** (:class:`LogStore`, over any backend): range rules, the Merkle
  nodes of each appended leaf (``registry.merkle.appended_nodes``), every root
  and proof (``registry.merkle``, from O(log n) stored nodes), and the rules
  below. They are written once, here, and one contract suite
  (``tests/contract/test_store.py``) runs them over every backend.

Backends: ``registry.sqlite.SqliteStore`` (SQLite through aiosqlite, a file)
and ``registry.memory.InMemoryStore`` (a process's memory, for tests and
benchmarks); ``registry.database`` opens the one a URL names. A PostgreSQL
backend would implement the same primitives; its ``begin()`` would take the
lock with ``LOCK TABLE ... IN EXCLUSIVE MODE`` or an advisory lock.

:class:`Store` is what the registry service reads and writes through. Reads see
committed data only, including what other processes sharing the store have
committed. Writes happen in :meth:`Store.write`, an async context manager
around one :class:`WriteTransaction`: it takes the store's write lock on entry
(across processes, where the backend is shared), commits durably on a clean
exit, and rolls back on an exception. :class:`LogStore` guarantees:

1. a transaction is atomic and, once :meth:`Store.write` returns, durable (as
   durable as its backend: a file's commit is synced, memory's is not);
2. a failed transaction stays failed: after any error inside it (even one the
   caller caught) every later call raises and it rolls back; ``write()``
   nested in one task is refused rather than waiting for itself;
3. a checkpoint never disagrees with the leaves: :meth:`WriteTransaction.put_checkpoint`
   refuses a size or root other than the tree's in that transaction, and a
   transaction that appended leaves commits only with a checkpoint at its final
   size, so the latest checkpoint always covers every leaf;
4. the root check: before a transaction extends the tree it checks that every
   leaf has its leaf hash, that the latest checkpoint is at the log's size, and
   that the stored nodes it extends from hash to that checkpoint's root, so
   damaged nodes (or leaves no checkpoint covers) are never signed over;
5. a ``jti`` is recorded once (:class:`DuplicateJtiError` otherwise);
6. leaves, subtree hashes and ``jti`` rows are never changed or removed.

This module does not sign checkpoints (``registry.checkpoint`` does, for the
caller), does not parse leaf data and knows nothing of statements.

Errors::

    RegistryError                        (registry.errors)
    ├── StorageError                     the store failed or refused a write
    │   ├── StorageBusyError             another writer kept the lock too long
    │   ├── SchemaVersionError           the database is newer than this code
    │   ├── DuplicateJtiError            the jti is already in the log
    │   └── CheckpointMismatchError      size or root differ from the tree
    └── EntryNotFoundError               no leaf at that index (also LookupError)

Asking for a proof or root at a tree size beyond the log raises the proof
errors of ``registry.errors``, as :class:`registry.merkle.MemoryTree` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from registry.errors import (
    CheckpointMismatchError,
    ConsistencyProofError,
    DuplicateJtiError,
    EntryNotFoundError,
    InclusionProofError,
    MerkleProofError,
    StorageError,
)
from registry.merkle import (
    Node,
    NodeHashes,
    appended_nodes,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    root_hash,
    root_nodes,
)

__all__ = [
    "MAX_READ_ENTRIES",
    "AppendedLeaf",
    "Backend",
    "BackendTransaction",
    "LogReader",
    "LogRows",
    "LogStore",
    "Store",
    "StoredCheckpoint",
    "WriteTransaction",
]

log = logging.getLogger(__name__)

MAX_READ_ENTRIES = 1000
"""Most leaves one ``entries`` or ``leaf_hashes`` call returns."""


# --- values -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A signed checkpoint as stored: its tree size, root hash and note bytes.

    Attributes:
        size: Tree size the checkpoint commits to.
        root_hash: RFC 9162 root hash of the tree at ``size`` (32 bytes).
        note: The signed note (c2sp.org/tlog-checkpoint), byte for byte as put.
    """

    size: int
    root_hash: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class AppendedLeaf:
    """Where a leaf went: its index in the log and its RFC 9162 leaf hash."""

    index: int
    leaf_hash: bytes


# --- protocols ----------------------------------------------------------------


class LogReader(Protocol):
    """Reads shared by a :class:`Store` and a :class:`WriteTransaction`.

    On a store they see committed data; in a transaction, the transaction's own
    writes as well.
    """

    async def size(self) -> int:
        """Return the number of leaves in the log.

        Raises:
            StorageError: The store failed.
        """
        ...

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Return the data of leaves ``start`` up to ``end`` (exclusive), in order.

        Returns fewer than asked when the log ends first or the range is longer
        than :data:`MAX_READ_ENTRIES`, and ``[]`` when ``start`` is at or past
        the end of the log; the caller asks again from where the list ended.

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        ...

    async def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the RFC 9162 leaf hashes of leaves ``start`` up to ``end``.

        The same range rules as :meth:`entries`.

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        ...

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """Return the checkpoint of the largest tree size, or ``None`` if none.

        Raises:
            StorageError: The store failed.
        """
        ...

    async def jti_index(self, jti: str) -> int | None:
        """Return the index of the leaf recorded with ``jti``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        ...

    async def jti_indices(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the leaf index of each of ``jtis`` that is recorded (one query).

        Raises:
            StorageError: The store failed.
        """
        ...

    async def get_meta(self, key: str) -> str | None:
        """Return the metadata value stored under ``key``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        ...


class WriteTransaction(LogReader, Protocol):
    """One atomic write to the log, holding the store's write lock.

    Nobody else appends while it is open, so :meth:`size` is stable apart from
    this transaction's own appends. After any of its methods raises a
    :class:`StorageError`, the transaction is doomed: later calls raise
    ``StorageError`` and :meth:`Store.write` rolls back, even if the caller
    caught the error. After the ``async with`` block ends, every call raises
    ``StorageError``.
    """

    async def append(self, leaves: Sequence[bytes]) -> list[AppendedLeaf]:
        """Append ``leaves`` (their data, in order) and their Merkle nodes.

        Returns:
            One :class:`AppendedLeaf` per leaf, indices counting up from the
            size before the call.

        Raises:
            StorageError: The store failed.
        """
        ...

    async def root(self) -> bytes:
        """Return the root hash of the tree as it stands in the transaction.

        Raises:
            StorageError: The store failed or its nodes are inconsistent.
        """
        ...

    async def put_checkpoint(self, size: int, root_hash: bytes, note: bytes) -> None:
        """Store the signed checkpoint ``note`` of the current tree.

        A checkpoint already stored at ``size`` is replaced, so a note can gain
        cosignatures or be re-signed after a key rotation; its root cannot
        change.

        Raises:
            CheckpointMismatchError: ``size`` is not the transaction's tree size,
                or ``root_hash`` is not the tree's root at that size.
            StorageError: The store failed.
        """
        ...

    async def add_jti(self, jti: str, index: int) -> None:
        """Record that leaf ``index`` carries the statement ``jti``.

        Check with :meth:`jti_indices` first: a duplicate dooms the transaction.

        Raises:
            ValueError: ``jti`` is empty or ``index`` is not a leaf of the tree.
            DuplicateJtiError: ``jti`` is already recorded.
            StorageError: The store failed.
        """
        ...

    async def add_jtis(self, items: Iterable[tuple[str, int]]) -> None:
        """Record several ``(jti, index)`` pairs at once, as :meth:`add_jti` does.

        Raises:
            ValueError: A ``jti`` is empty or an index is not a leaf of the tree.
            DuplicateJtiError: A ``jti`` is already recorded, or given twice.
            StorageError: The store failed.
        """
        ...

    async def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier value.

        Raises:
            ValueError: ``key`` is empty.
            StorageError: The store failed.
        """
        ...


class Store(LogReader, Protocol):
    """The registry's persistent log: leaves, Merkle nodes, checkpoints, jti index.

    Reads see only committed data; they never wait for a writer. Every proof
    and root is computed from O(log n) stored subtree hashes, at any past tree
    size up to the current one.
    """

    async def entry(self, index: int) -> bytes:
        """Return the data of leaf ``index``.

        Raises:
            EntryNotFoundError: ``index`` is negative or not below the log size.
            StorageError: The store failed.
        """
        ...

    async def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        """Return the checkpoint stored for tree size ``size``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        ...

    async def root(self, tree_size: int) -> bytes:
        """Return the RFC 9162 root hash of the tree of the first ``tree_size`` leaves.

        Raises:
            MerkleProofError: ``tree_size`` is negative or exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        ...

    async def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """Return the RFC 9162 inclusion proof of leaf ``index`` in tree ``tree_size``.

        Raises:
            InclusionProofError: ``index`` is not a leaf of that tree, or
                ``tree_size`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        ...

    async def inclusion_proofs(
        self, indices: Sequence[int], tree_size: int
    ) -> list[list[bytes]]:
        """Return the inclusion proofs of several leaves in one tree, in order.

        Raises:
            InclusionProofError: An index is not a leaf of that tree, or
                ``tree_size`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        ...

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Return the RFC 9162 consistency proof from tree size ``first`` to ``second``.

        Raises:
            ConsistencyProofError: ``first`` is negative or larger than
                ``second``, or ``second`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        ...

    def write(self) -> AbstractAsyncContextManager[WriteTransaction]:
        """Return a context manager around one write transaction.

        Entering takes the write lock (waiting up to the store's busy timeout
        for other writers, in this process or another). A clean exit commits
        durably; an exception rolls back and propagates.

        Raises:
            StorageBusyError: The lock stayed busy past the timeout (on entry).
            StorageError: The store failed, the transaction was doomed by an
                earlier error, it appended leaves without a checkpoint at its
                final size, or ``write()`` was nested in the same task (on
                entry or exit; nothing is committed).
        """
        ...

    async def close(self) -> None:
        """Release the store's connections; idempotent.

        A write transaction in progress in another task ends first; one open
        in the calling task is rolled back. Every later call raises.

        Raises:
            StorageError: Releasing a connection failed.
        """
        ...


# --- primitives: what a backend implements --------------------------------------


class LogRows(Protocol):
    """The reads a backend answers: rows by range or key, nothing computed.

    On a backend they see committed data; in a :class:`BackendTransaction`,
    its own writes as well. Every failure is a :class:`StorageError`.
    """

    async def leaf_count(self) -> int:
        """Return one past the highest leaf index stored (0 for none)."""
        ...

    async def leaf_hash_count(self) -> int:
        """Return one past the highest level-0 node (leaf hash) stored."""
        ...

    async def node_count(self) -> int:
        """Return how many subtree hashes are stored, at every level."""
        ...

    async def read_leaves(self, start: int, end: int) -> list[bytes]:
        """Return the data of the stored leaves with ``start <= index < end``, in order.

        ``0 <= start <= end`` and ``end - start <= MAX_READ_ENTRIES``.
        """
        ...

    async def read_leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the stored level-0 nodes with ``start <= index < end``, in order."""
        ...

    async def read_nodes(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """Return the stored hashes of ``nodes``; missing ones are left out."""
        ...

    async def read_checkpoint(self, size: int | None) -> StoredCheckpoint | None:
        """Return the checkpoint stored at ``size`` (``None``: the largest size)."""
        ...

    async def read_jtis(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the leaf index stored for each of ``jtis`` that has one."""
        ...

    async def read_meta(self, key: str) -> str | None:
        """Return the metadata value stored under ``key``, or ``None``."""
        ...


class BackendTransaction(LogRows, Protocol):
    """Row writes inside the backend's write lock, until commit or rollback.

    The writes are given in valid order (the :class:`LogStore` checks them);
    the backend stores them as they come.
    """

    async def write_leaves(
        self, leaves: Sequence[tuple[int, bytes]], nodes: Sequence[tuple[Node, bytes]]
    ) -> None:
        """Insert leaf rows ``(index, data)`` and node rows ``(node, hash)``."""
        ...

    async def write_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Insert a checkpoint, or replace the note of the one at its size.

        The caller has checked that a checkpoint at that size has the same root.
        """
        ...

    async def write_jtis(self, rows: Sequence[tuple[str, int]]) -> None:
        """Insert ``(jti, index)`` rows (none of them is stored yet)."""
        ...

    async def write_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier value."""
        ...

    async def commit(self) -> None:
        """Make every write durable and release the lock."""
        ...

    async def rollback(self) -> None:
        """Undo every write and release the lock; never raises."""
        ...


class Backend(LogRows, Protocol):
    """A storage backend: :class:`LogRows` over committed data, and a lock.

    Attributes:
        name: What the backend holds, for messages (a path, ``memory``).
        persistent: Whether the data outlives the process (a reopen finds it).
    """

    name: str
    persistent: bool

    async def begin(self) -> BackendTransaction:
        """Take the write lock (across processes, where shared) and begin.

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: The backend failed or is read-only.
        """
        ...

    async def copy_to(self, target: Path) -> Backend:
        """Write one consistent, self-contained copy into the existing ``target``.

        Returns:
            A read-only backend over the copy, for checking it.

        Raises:
            StorageError: The copy failed, its own check failed, or this kind
                of backend cannot be copied to a file.
        """
        ...

    async def close(self) -> None:
        """Release connections; idempotent.

        Raises:
            StorageError: Releasing failed.
        """
        ...


# --- guarantees: the one implementation over any backend ------------------------


def _check_range(start: int, end: int) -> int:
    """Return ``end`` capped to :data:`MAX_READ_ENTRIES` leaves from ``start``."""
    if start < 0:
        raise ValueError(f"start {start} is negative")
    if end < start:
        raise ValueError(f"end {end} is smaller than start {start}")
    return min(end, start + MAX_READ_ENTRIES)


class _Reads:
    """The :class:`LogReader` methods over the rows :meth:`_rows` returns."""

    def _rows(self) -> LogRows:
        """Return the rows to read, or raise if the reader is unusable.

        Raises:
            StorageError: The store or transaction is closed (or failed).
        """
        raise NotImplementedError

    @contextmanager
    def _guard(self) -> Iterator[None]:
        yield

    async def size(self) -> int:
        """Return the number of leaves in the log.

        Raises:
            StorageError: The store failed.
        """
        rows = self._rows()
        with self._guard():
            return await rows.leaf_count()

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Return the data of leaves ``start`` up to ``end`` (see ``LogReader``).

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        return await self._page(start, end, hashes=False)

    async def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the leaf hashes of leaves ``start`` up to ``end``.

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        return await self._page(start, end, hashes=True)

    async def _page(self, start: int, end: int, *, hashes: bool) -> list[bytes]:
        """Leaf data (or leaf hashes) ``start`` up to ``end``, capped to one page."""
        end = _check_range(start, end)
        rows = self._rows()
        read = rows.read_leaf_hashes if hashes else rows.read_leaves
        with self._guard():
            return await read(start, end)

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """Return the checkpoint of the largest tree size, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        rows = self._rows()
        with self._guard():
            return await rows.read_checkpoint(None)

    async def jti_index(self, jti: str) -> int | None:
        """Return the index of the leaf recorded with ``jti``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        return (await self.jti_indices([jti])).get(jti)

    async def jti_indices(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the leaf index of each of ``jtis`` that is recorded.

        Raises:
            StorageError: The store failed.
        """
        rows = self._rows()
        with self._guard():
            return await rows.read_jtis(list(dict.fromkeys(jtis)))

    async def get_meta(self, key: str) -> str | None:
        """Return the metadata value stored under ``key``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        rows = self._rows()
        with self._guard():
            return await rows.read_meta(key)


class _Transaction(_Reads):
    """A :class:`WriteTransaction` over one :class:`BackendTransaction`.

    It knows the tree size (nobody else can append while it holds the lock)
    and, once needed, the hashes of the perfect subtrees that make the root
    (the "frontier"): appending needs only those.
    """

    def __init__(self, store: LogStore, tx: BackendTransaction, size: int) -> None:
        self._store = store
        self._tx = tx
        self._start_size = size
        self._size = size
        self._frontier_hashes: dict[Node, bytes] | None = None
        self._checkpoint_size: int | None = None
        self._failed = False
        self._ended = False

    @classmethod
    async def begin(cls, store: LogStore, backend: Backend) -> _Transaction:
        """Take the backend's lock and read the log size.

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: The backend failed, or its leaves and leaf hashes differ.
        """
        tx = await backend.begin()
        try:
            leaves, hashes = await tx.leaf_count(), await tx.leaf_hash_count()
            if leaves != hashes:
                raise StorageError(
                    f"store is inconsistent: {leaves} leaves, {hashes} leaf hashes"
                )
        except BaseException:
            await tx.rollback()
            raise
        return cls(store, tx, leaves)

    # -- state --

    def _rows(self) -> BackendTransaction:
        if self._ended:
            raise StorageError("write transaction is closed")
        if self._store.closed:
            raise StorageError("store was closed during the write transaction")
        if self._failed:
            raise StorageError("write transaction failed earlier and will roll back")
        return self._tx

    @contextmanager
    def _guard(self) -> Iterator[None]:
        # Any failure dooms the transaction: the backend may have rolled it
        # back already (SQLite after an I/O error), and a half-done write must
        # not commit.
        try:
            yield
        except BaseException:
            self._failed = True
            raise

    def _fail(self, error: StorageError) -> StorageError:
        self._failed = True
        return error

    def end(self) -> None:
        """Mark the transaction closed: every later call raises."""
        self._ended = True

    async def rollback(self) -> None:
        """Undo everything (never raises)."""
        await self._tx.rollback()

    async def commit(self) -> None:
        """Commit, or roll back if the transaction may not commit.

        Raises:
            StorageError: The transaction failed earlier, appended leaves
                without a checkpoint at its final size, or the commit failed.
        """
        try:
            if self._failed:
                raise StorageError("write transaction rolled back after an error")
            if self._store.closed:
                raise StorageError("store was closed during the write transaction")
            if self._size != self._start_size and self._checkpoint_size != self._size:
                raise StorageError(
                    f"leaves {self._start_size}..{self._size - 1} were appended "
                    f"without a checkpoint at size {self._size}; rolled back"
                )
            await self._tx.commit()
        except BaseException:
            await self._tx.rollback()
            raise

    async def _frontier(self) -> dict[Node, bytes]:
        """Return the stored hashes of :func:`root_nodes`, checked (the root check).

        The nodes every later root is extended from must hash to the root the
        latest checkpoint signed, or a damaged node would be signed over.
        """
        if self._frontier_hashes is None:
            rows = self._rows()
            wanted = root_nodes(self._size)
            with self._guard():
                found = await rows.read_nodes(wanted)
                latest = await rows.read_checkpoint(None)
            missing = [n for n in wanted if n not in found]
            if missing:
                raise self._fail(
                    StorageError(
                        f"merkle nodes {missing} of tree size {self._size} are missing"
                    )
                )
            if self._size and (latest is None or latest.size != self._size):
                raise self._fail(
                    StorageError(
                        f"store is inconsistent: {self._size} leaves, latest "
                        f"checkpoint at size {latest.size if latest else None}"
                    )
                )
            if latest is not None and root_hash(self._size, NodeHashes(found)) != (
                latest.root_hash
            ):
                log.critical(
                    "registry tree mismatch at size %d: the stored merkle nodes "
                    "disagree with the entries' checkpoint; not signing "
                    "(restore from a backup)",
                    self._size,
                )
                raise self._fail(
                    CheckpointMismatchError(
                        "the stored merkle tree disagrees with the log's entries "
                        f"(its nodes at size {self._size} do not hash to the "
                        "checkpoint's root)"
                    )
                )
            self._frontier_hashes = found
        return self._frontier_hashes

    # -- reads --

    async def size(self) -> int:
        """Return the tree size, this transaction's appends included.

        Raises:
            StorageError: The transaction is closed or failed.
        """
        self._rows()
        return self._size

    async def root(self) -> bytes:
        """Return the root hash of the tree as it stands in the transaction.

        Raises:
            StorageError: The transaction is closed or failed, or nodes are
                missing or disagree with the latest checkpoint.
        """
        self._rows()
        return root_hash(self._size, NodeHashes(await self._frontier()))

    # -- writes --

    async def append(self, leaves: Sequence[bytes]) -> list[AppendedLeaf]:
        """Append ``leaves`` and their Merkle nodes (see ``WriteTransaction``).

        Raises:
            StorageError: The store failed, or the transaction is closed or failed.
        """
        rows = self._rows()
        if not leaves:
            return []
        hashes = dict(await self._frontier())
        source = NodeHashes(hashes)  # sees the nodes added below as they come
        index = self._size
        leaf_rows: list[tuple[int, bytes]] = []
        node_rows: list[tuple[Node, bytes]] = []
        added: list[AppendedLeaf] = []
        for data in leaves:
            value = bytes(data)
            lh = leaf_hash(value)
            for node, h in appended_nodes(index, lh, source):
                hashes[node] = h
                node_rows.append((node, h))
            leaf_rows.append((index, value))
            added.append(AppendedLeaf(index, lh))
            index += 1
        with self._guard():
            await rows.write_leaves(leaf_rows, node_rows)
        self._size = index
        self._frontier_hashes = {n: hashes[n] for n in root_nodes(index)}
        return added

    async def put_checkpoint(self, size: int, root_hash: bytes, note: bytes) -> None:
        """Store the checkpoint ``note`` of the current tree (see ``WriteTransaction``).

        Raises:
            CheckpointMismatchError: ``size`` or ``root_hash`` is not the tree's.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        rows = self._rows()
        if size != self._size:
            raise self._fail(
                CheckpointMismatchError(
                    f"checkpoint size {size} is not the tree size {self._size}"
                )
            )
        root = await self.root()
        if root_hash != root:
            raise self._fail(
                CheckpointMismatchError(
                    f"checkpoint root {bytes(root_hash).hex()[:16]}... is not the "
                    f"root of tree size {size}"
                )
            )
        with self._guard():
            stored = await rows.read_checkpoint(size)
            if stored is not None and stored.root_hash != root:
                raise StorageError(
                    f"the stored checkpoint at size {size} has another root"
                )
            await rows.write_checkpoint(StoredCheckpoint(size, root, bytes(note)))
        self._checkpoint_size = size

    async def add_jti(self, jti: str, index: int) -> None:
        """Record that leaf ``index`` carries the statement ``jti``.

        Raises:
            ValueError: ``jti`` is empty or ``index`` is not a leaf of the tree.
            DuplicateJtiError: ``jti`` is already recorded.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        await self.add_jtis([(jti, index)])

    async def add_jtis(self, items: Iterable[tuple[str, int]]) -> None:
        """Record several ``(jti, index)`` pairs at once.

        Raises:
            ValueError: A ``jti`` is empty or an index is not a leaf of the tree.
            DuplicateJtiError: A ``jti`` is already recorded, or given twice.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        tx = self._rows()
        rows = list(items)
        for jti, index in rows:
            if not jti:
                raise ValueError("jti is empty")
            if not 0 <= index < self._size:
                raise ValueError(
                    f"leaf index {index} is not in the tree of size {self._size}"
                )
        if not rows:
            return
        seen: set[str] = set()
        for jti, _ in rows:
            if jti in seen:
                raise self._fail(DuplicateJtiError(jti, None))
            seen.add(jti)
        existing = await self.jti_indices(seen)
        for jti, _ in rows:
            if jti in existing:
                raise self._fail(DuplicateJtiError(jti, existing[jti]))
        with self._guard():
            await tx.write_jtis(rows)

    async def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier value.

        Raises:
            ValueError: ``key`` is empty.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        if not key:
            raise ValueError("meta key is empty")
        tx = self._rows()
        with self._guard():
            await tx.write_meta(key, value)


class LogStore(_Reads):
    """A :class:`Store` over any :class:`Backend`: the guarantees, written once.

    Use the opened store as an async context manager, or call :meth:`close`.
    Backends subclass it only to add a way to open them (``SqliteStore.open``).
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._write_lock = asyncio.Lock()
        self._write_task: asyncio.Task[Any] | None = None
        self._closed = False

    @property
    def backend(self) -> Backend:
        """The backend holding the rows."""
        return self._backend

    @property
    def persistent(self) -> bool:
        """Whether the data outlives the process."""
        return self._backend.persistent

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._backend.name!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the backend; idempotent.

        A write transaction in progress in another task ends (commits or rolls
        back) first; one open in the calling task is rolled back.

        Raises:
            StorageError: The backend failed to close.
        """
        if self._closed:
            return
        if self._write_task is None or self._write_task is not asyncio.current_task():
            async with self._write_lock:
                self._closed = True
        self._closed = True
        await self._backend.close()

    def _rows(self) -> Backend:
        if self._closed:
            raise StorageError(f"store {self._backend.name} is closed")
        return self._backend

    # -- reads --

    async def entry(self, index: int) -> bytes:
        """Return the data of leaf ``index``.

        Raises:
            EntryNotFoundError: ``index`` is negative or not below the log size.
            StorageError: The store failed.
        """
        found = await self._rows().read_leaves(index, index + 1) if index >= 0 else []
        if not found:
            raise EntryNotFoundError(
                f"no entry {index} in a log of size {await self.size()}"
            )
        return found[0]

    async def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        """Return the checkpoint stored for tree size ``size``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        return await self._rows().read_checkpoint(size)

    async def node_count(self) -> int:
        """Return how many Merkle nodes are stored (a backup checks it).

        Raises:
            StorageError: The store failed.
        """
        return await self._rows().node_count()

    async def subtree_hashes(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """Return the stored hashes of ``nodes`` as they are, missing ones left out.

        Raises:
            StorageError: The store failed.
        """
        return await self._rows().read_nodes(nodes)

    async def _nodes_for(
        self, tree_size: int, nodes: Collection[Node], error: type[MerkleProofError]
    ) -> NodeHashes:
        """Fetch ``nodes`` of the tree of ``tree_size`` in one read.

        The tree's last leaf is fetched too: a proof for the last leaf never
        reads it, and its presence is what shows the log is that large.
        """
        wanted = set(nodes)
        if tree_size > 0:
            wanted.add(Node(0, tree_size - 1))
        found = await self._rows().read_nodes(wanted)
        missing = [n for n in sorted(wanted) if n not in found]
        if missing:
            size = await self.size()
            if tree_size > size:
                raise error(f"tree size {tree_size} exceeds log size {size}")
            raise StorageError(
                f"merkle nodes {missing} of tree size {tree_size} are missing"
            )
        return NodeHashes(found)

    async def root(self, tree_size: int) -> bytes:
        """Return the RFC 9162 root hash of the first ``tree_size`` leaves.

        Raises:
            MerkleProofError: ``tree_size`` is negative or exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        nodes = root_nodes(tree_size)
        return root_hash(
            tree_size, await self._nodes_for(tree_size, nodes, MerkleProofError)
        )

    async def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """Return the inclusion proof of leaf ``index`` in tree ``tree_size``.

        Raises:
            InclusionProofError: ``index`` is not a leaf of that tree, or
                ``tree_size`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        return (await self.inclusion_proofs([index], tree_size))[0]

    async def inclusion_proofs(
        self, indices: Sequence[int], tree_size: int
    ) -> list[list[bytes]]:
        """Return the inclusion proofs of ``indices`` in one tree, from one read.

        Raises:
            InclusionProofError: An index is not a leaf of that tree, or
                ``tree_size`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        if not indices:
            return []
        nodes = {n for i in indices for n in inclusion_proof_nodes(i, tree_size)}
        source = await self._nodes_for(tree_size, nodes, InclusionProofError)
        return [inclusion_proof(i, tree_size, source) for i in indices]

    async def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """Return the consistency proof from tree size ``first`` to ``second``.

        Raises:
            ConsistencyProofError: ``first`` is negative or larger than
                ``second``, or ``second`` exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        nodes = consistency_proof_nodes(first, second)
        source = await self._nodes_for(second, nodes, ConsistencyProofError)
        return consistency_proof(first, second, source)

    async def copy_to(self, target: Path) -> LogStore:
        """Copy the committed log into the existing file ``target`` (a backup).

        Returns:
            A read-only store over the copy, to check it through this API.

        Raises:
            StorageError: The copy failed, or the backend cannot be copied.
        """
        return LogStore(await self._rows().copy_to(target))

    # -- writes --

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTransaction]:
        """Open a write transaction (see ``Store.write``).

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: The store failed or is closed, the transaction failed
                earlier or appended leaves without a final checkpoint, or
                ``write()`` is nested in one task (it would wait for itself).
        """
        self._rows()
        task = asyncio.current_task()
        if task is not None and task is self._write_task:
            raise StorageError("write() is already open in this task")
        async with self._write_lock:
            backend = self._rows()
            self._write_task = task
            try:
                tx = await _Transaction.begin(self, backend)
                try:
                    yield tx
                except BaseException:
                    tx.end()
                    await tx.rollback()
                    raise
                tx.end()
                await tx.commit()
            finally:
                self._write_task = None
