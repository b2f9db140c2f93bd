"""The registry's storage interface: the transparency log, its checkpoints, a jti index.

What this module defines, without any I/O or database code:

- :class:`Store`, what the registry service reads and writes through. Reads see
  committed data only, including what other processes sharing the store have
  committed. Writes happen in :meth:`Store.write`, an async context manager
  around one :class:`WriteTransaction`: it takes the store's write lock on
  entry (across processes), commits durably on a clean exit, and rolls back on
  an exception;
- the small frozen values they exchange (:class:`StoredCheckpoint`,
  :class:`AppendedLeaf`) and the errors a store raises.

The log is an RFC 9162 Merkle tree (see ``registry.merkle``). A store keeps the
leaf data (the bytes the caller hands in, JCS JSON of a ``LogEntry``), the hash
of every perfect subtree, the signed checkpoints and a ``jti`` index, and
guarantees:

1. a transaction is atomic and, once :meth:`Store.write` returns, durable;
2. a checkpoint never disagrees with the leaves: :meth:`WriteTransaction.put_checkpoint`
   refuses a size or root other than the tree's in that transaction, and a
   transaction that appended leaves commits only with a checkpoint at its final
   size, so the latest checkpoint always covers every leaf;
3. leaves, subtree hashes and ``jti`` rows are never changed or removed.

Implementations: ``registry.sqlite.SqliteStore`` (SQLite through aiosqlite).
A PostgreSQL store would implement the same protocols; its ``write()`` would
take the lock with ``LOCK TABLE ... IN EXCLUSIVE MODE`` or an advisory lock.

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

from collections.abc import Collection, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from registry.errors import RegistryError

__all__ = [
    "MAX_READ_ENTRIES",
    "AppendedLeaf",
    "CheckpointMismatchError",
    "DuplicateJtiError",
    "EntryNotFoundError",
    "LogReader",
    "SchemaVersionError",
    "StorageBusyError",
    "StorageError",
    "Store",
    "StoredCheckpoint",
    "WriteTransaction",
]

MAX_READ_ENTRIES = 1000
"""Most leaves one ``entries`` or ``leaf_hashes`` call returns."""


# --- errors -------------------------------------------------------------------


class StorageError(RegistryError):
    """The store failed, or refused a write that would break its guarantees.

    Errors of the database driver are wrapped in this (``raise ... from e``);
    the original is the ``__cause__``. A write transaction in which one was
    raised is rolled back.
    """


class StorageBusyError(StorageError):
    """The write lock (or the database) stayed busy past the busy timeout.

    Transient: another writer held the lock; retrying later may succeed.
    """


class SchemaVersionError(StorageError):
    """The database schema is newer than any this code knows; it is not opened."""


class DuplicateJtiError(StorageError):
    """A statement's ``jti`` is already in the log (a replay).

    Attributes:
        jti: The duplicate ``jti``.
        index: The leaf index already holding it, or ``None`` when the
            duplicate is within the rows being added.
    """

    def __init__(self, jti: str, index: int | None) -> None:
        where = f"leaf {index}" if index is not None else "the same batch"
        super().__init__(f"jti {jti!r} is already in the log at {where}")
        self.jti = jti
        self.index = index


class CheckpointMismatchError(StorageError):
    """A checkpoint's size or root is not the tree's in the transaction."""


class EntryNotFoundError(RegistryError, LookupError):
    """No leaf at that index (the log is smaller)."""


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
            ProofError: ``tree_size`` is negative or exceeds the log size.
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
