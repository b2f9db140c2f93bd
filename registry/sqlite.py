"""The registry store on one SQLite file, through aiosqlite: a ``registry.store.Store``.

Usage::

    async with await SqliteStore.open(path) as store:
        async with store.write() as tx:
            added = await tx.append(leaves)
            size, root = await tx.size(), await tx.root()
            await tx.put_checkpoint(size, root, sign(size, root))

What this module does:

- **Schema** (``MIGRATIONS``): ``meta(key, value)``; ``leaf(idx, data)``;
  ``merkle_node(level, idx, hash)``, one immutable row per perfect subtree as
  ``registry.merkle`` recommends (level 0 holds the leaf hashes);
  ``checkpoint(size, root, note)``; ``jti(jti, idx)``. Triggers refuse any
  UPDATE or DELETE of leaves, nodes and jti rows, and any change of a
  checkpoint's size or root. The file is marked with ``PRAGMA application_id``
  and its schema version is ``PRAGMA user_version``.
- **Migrations**: an ordered list of steps, each applied in its own
  ``BEGIN IMMEDIATE`` transaction together with the new ``user_version``, so a
  crash leaves the file at one version or the next. A file whose version is
  newer than the code knows is refused (:class:`SchemaVersionError`), as is a
  SQLite file of another application.
- **Durability** (https://sqlite.org/wal.html, https://sqlite.org/pragma.html):
  ``journal_mode=WAL`` and ``synchronous=FULL``, so a commit returns only
  after the WAL is synced; a crash at any moment keeps every committed
  transaction and none of an uncommitted one. Leaves, their nodes, their jti
  rows and the checkpoint go into one transaction.
- **Concurrency**: each store holds two connections. Reads use one with
  ``query_only`` on, in autocommit mode: each statement sees the latest
  commit of any process, and never waits for a writer (WAL). Writes use the
  other: ``BEGIN IMMEDIATE`` takes SQLite's write lock, which serialises
  writers across processes (waiting up to ``busy_timeout``); an
  ``asyncio.Lock`` serialises the tasks of this process first. Since the log
  only grows and its rows never change, a read that spans several statements
  still sees a consistent log.
- **Errors**: every ``sqlite3.Error`` is wrapped in a ``StorageError``
  (``StorageBusyError`` for a busy database), with the original as cause.

Proof nodes are fetched in one statement, ``WHERE (level = ? AND idx = ?) OR
...``, which SQLite runs as one primary-key search per node. The row-value
form ``(level, idx) IN (VALUES ...)`` scans the whole table instead (SQLite
3.40), and a join on a ``VALUES`` CTE takes half again as long.

It does not sign or parse checkpoints or leaves, and does not retry.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import (
    AsyncIterator,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from registry.errors import ConsistencyProofError, InclusionProofError, ProofError
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
from registry.store import (
    MAX_READ_ENTRIES,
    AppendedLeaf,
    CheckpointMismatchError,
    DuplicateJtiError,
    EntryNotFoundError,
    SchemaVersionError,
    StorageBusyError,
    StorageError,
    StoredCheckpoint,
    WriteTransaction,
)

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SqliteStore",
    "migrate",
]

APPLICATION_ID = 0x64747267
"""``PRAGMA application_id`` of a registry database (ASCII ``dtrg``)."""

_NODES_PER_QUERY = 400  # two parameters each, far below SQLite's 32766
_KEYS_PER_QUERY = 500


# --- migrations ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: the statements that bring ``version - 1`` to ``version``.

    Attributes:
        version: The ``user_version`` after the step (1 for the first).
        description: What the step changes, for people.
        statements: SQL statements, run in order in one transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


def _immutable(table: str, what: str) -> tuple[str, ...]:
    """Triggers that refuse UPDATE and DELETE on ``table``."""
    return tuple(
        f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{what} are append-only'); END"
        for op in ("UPDATE", "DELETE")
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "log leaves, merkle nodes, checkpoints, jti index, metadata",
        (
            """CREATE TABLE meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE leaf (
                idx  INTEGER PRIMARY KEY CHECK (idx >= 0),
                data BLOB NOT NULL CHECK (typeof(data) = 'blob')
            )""",
            """CREATE TABLE merkle_node (
                level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
                idx   INTEGER NOT NULL CHECK (idx >= 0),
                hash  BLOB    NOT NULL
                      CHECK (typeof(hash) = 'blob' AND length(hash) = 32),
                PRIMARY KEY (level, idx)
            ) WITHOUT ROWID""",
            """CREATE TABLE checkpoint (
                size INTEGER PRIMARY KEY CHECK (size >= 0),
                root BLOB NOT NULL CHECK (typeof(root) = 'blob' AND length(root) = 32),
                note BLOB NOT NULL CHECK (typeof(note) = 'blob')
            )""",
            """CREATE TABLE jti (
                jti TEXT PRIMARY KEY NOT NULL CHECK (length(jti) > 0),
                idx INTEGER NOT NULL REFERENCES leaf (idx)
            ) WITHOUT ROWID""",
            *_immutable("leaf", "leaves"),
            *_immutable("merkle_node", "merkle nodes"),
            *_immutable("jti", "jti rows"),
            # A checkpoint's note may gain cosignatures; its size and root are fixed.
            "CREATE TRIGGER checkpoint_no_rewrite BEFORE UPDATE OF size, root "
            "ON checkpoint BEGIN SELECT RAISE(ABORT, 'checkpoint size and root "
            "are immutable'); END",
            "CREATE TRIGGER checkpoint_no_delete BEFORE DELETE ON checkpoint "
            "BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END",
            f"PRAGMA application_id = {APPLICATION_ID}",
        ),
    ),
)
"""Every schema step, in order; append new steps, never edit a released one."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The ``user_version`` this code writes and reads."""


async def _header(conn: aiosqlite.Connection) -> tuple[int, int, int]:
    """Return ``(application_id, user_version, number of schema objects)``."""
    row = await _one(
        conn,
        "SELECT (SELECT application_id FROM pragma_application_id), "
        "(SELECT user_version FROM pragma_user_version), "
        "(SELECT count(*) FROM sqlite_master)",
    )
    return int(row[0]), int(row[1]), int(row[2])


def _check_ours(header: tuple[int, int, int]) -> None:
    """Refuse a SQLite file that is neither empty nor marked as ours."""
    app_id, version, objects = header
    ours = app_id == APPLICATION_ID or (app_id == 0 and version == 0 and not objects)
    if not ours:
        raise StorageError(
            f"not a didtrust registry database (application id {app_id:#x}, "
            f"schema version {version}, {objects} schema objects)"
        )


def _check_version(version: int, known: int) -> None:
    if version > known:
        raise SchemaVersionError(
            f"database schema version {version} is newer than {known}, "
            "the latest this code knows"
        )


async def migrate(
    conn: aiosqlite.Connection, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the database of ``conn`` up to the last of ``migrations``.

    Each pending step runs in its own ``BEGIN IMMEDIATE`` transaction, which
    also sets ``user_version``; the version is read again under the lock, so
    processes opening one file at once apply each step exactly once.
    ``conn`` must be in autocommit mode (``isolation_level=None``).

    Returns:
        The schema version of the database afterwards.

    Raises:
        ValueError: ``migrations`` are not numbered 1, 2, 3, ... in order.
        SchemaVersionError: The database is newer than the last step.
        StorageError: A step failed (the database stays at the version
            before that step).
    """
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migration versions {versions} are not 1..{len(versions)}")
    known = len(migrations)
    with _errors("reading the schema version"):
        version = (await _header(conn))[1]
    _check_version(version, known)
    while version < known:
        step = migrations[version]
        with _errors(f"migrating to schema version {step.version}"):
            await _begin(conn)
            try:
                # Another process may have migrated since the first look.
                version = (await _header(conn))[1]
                _check_version(version, known)
                if version < step.version:
                    for statement in step.statements:
                        await conn.execute(statement)
                    await conn.execute(f"PRAGMA user_version = {step.version}")
                    version = step.version
                await conn.execute("COMMIT")
            except BaseException:
                await _rollback(conn)
                raise
    return version


# --- helpers ------------------------------------------------------------------


def _storage_error(what: str, e: sqlite3.Error) -> StorageError:
    code = getattr(e, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ):
        return StorageBusyError(f"{what}: database is busy ({e})")
    return StorageError(f"{what}: {e}")


@contextmanager
def _errors(what: str) -> Iterator[None]:
    """Wrap ``sqlite3.Error`` in ``StorageError`` (the module's one boundary)."""
    try:
        yield
    except sqlite3.Error as e:
        raise _storage_error(what, e) from e


async def _one(
    conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()
) -> sqlite3.Row:
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0]


async def _begin(conn: aiosqlite.Connection) -> None:
    """``BEGIN IMMEDIATE``, undone if the caller is cancelled while it waits."""
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except BaseException:
        # Cancelled while the connection's thread waited for the lock, the
        # BEGIN may still succeed there; the ROLLBACK queued after it undoes it
        # (and fails harmlessly when the BEGIN failed).
        await _rollback(conn)
        raise


async def _rollback(conn: aiosqlite.Connection) -> None:
    # Fails only when no transaction is open (SQLite may already have rolled
    # back after an I/O error): either way none is open afterwards.
    with suppress(sqlite3.Error, ValueError):
        await conn.execute("ROLLBACK")


def _check_range(start: int, end: int) -> int:
    """Return ``end`` capped to :data:`MAX_READ_ENTRIES` leaves from ``start``."""
    if start < 0:
        raise ValueError(f"start {start} is negative")
    if end < start:
        raise ValueError(f"end {end} is smaller than start {start}")
    return min(end, start + MAX_READ_ENTRIES)


async def _fetch_nodes(
    conn: aiosqlite.Connection, nodes: Collection[Node]
) -> dict[Node, bytes]:
    """Return the stored hashes of ``nodes`` (missing ones are left out)."""
    wanted = list(nodes)
    found: dict[Node, bytes] = {}
    for at in range(0, len(wanted), _NODES_PER_QUERY):
        chunk = wanted[at : at + _NODES_PER_QUERY]
        where = " OR ".join(["(level = ? AND idx = ?)"] * len(chunk))
        sql = f"SELECT level, idx, hash FROM merkle_node WHERE {where}"  # noqa: S608 -- placeholders only
        params = [v for node in chunk for v in node]
        for level, idx, value in await conn.execute_fetchall(sql, params):
            found[Node(level, idx)] = value
    return found


def _missing(nodes: Iterable[Node], found: dict[Node, bytes]) -> list[Node]:
    return [n for n in nodes if n not in found]


# --- reads shared by the store and a transaction ------------------------------


class _LogReads:
    """The :class:`registry.store.LogReader` methods, over one connection."""

    def _connection(self) -> aiosqlite.Connection:
        """Return the connection to read through, or raise if unusable.

        Raises:
            StorageError: The store or transaction is closed.
        """
        raise NotImplementedError

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        with _errors(what):
            yield

    async def size(self) -> int:
        """Return the number of leaves in the log.

        Raises:
            StorageError: The store failed.
        """
        with self._guard("reading the log size"):
            row = await _one(
                self._connection(), "SELECT coalesce(max(idx) + 1, 0) FROM leaf"
            )
        return int(row[0])

    async def entries(self, start: int, end: int) -> list[bytes]:
        """Return the data of leaves ``start`` up to ``end`` (see ``LogReader``).

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        end = _check_range(start, end)
        with self._guard(f"reading entries {start}..{end}"):
            rows = await self._connection().execute_fetchall(
                "SELECT data FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
        return [bytes(row[0]) for row in rows]

    async def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the leaf hashes of leaves ``start`` up to ``end``.

        Raises:
            ValueError: ``start`` is negative or ``end`` is smaller than ``start``.
            StorageError: The store failed.
        """
        end = _check_range(start, end)
        with self._guard(f"reading leaf hashes {start}..{end}"):
            rows = await self._connection().execute_fetchall(
                "SELECT hash FROM merkle_node "
                "WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
        return [bytes(row[0]) for row in rows]

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        """Return the checkpoint of the largest tree size, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        with self._guard("reading the latest checkpoint"):
            rows = list(
                await self._connection().execute_fetchall(
                    "SELECT size, root, note FROM checkpoint ORDER BY size DESC LIMIT 1"
                )
            )
        return StoredCheckpoint(*rows[0]) if rows else None

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
        wanted = list(dict.fromkeys(jtis))
        found: dict[str, int] = {}
        with self._guard(f"looking up {len(wanted)} jtis"):
            conn = self._connection()
            for at in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[at : at + _KEYS_PER_QUERY]
                marks = ", ".join(["?"] * len(chunk))
                sql = f"SELECT jti, idx FROM jti WHERE jti IN ({marks})"  # noqa: S608 -- placeholders only
                for jti, idx in await conn.execute_fetchall(sql, chunk):
                    found[jti] = idx
        return found

    async def get_meta(self, key: str) -> str | None:
        """Return the metadata value stored under ``key``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        with self._guard(f"reading meta {key!r}"):
            rows = list(
                await self._connection().execute_fetchall(
                    "SELECT value FROM meta WHERE key = ?", (key,)
                )
            )
        return str(rows[0][0]) if rows else None


# --- the write transaction ----------------------------------------------------


class _SqliteTransaction(_LogReads):
    """A :class:`registry.store.WriteTransaction` inside ``BEGIN IMMEDIATE``.

    It knows the tree size (nobody else can append while it holds the lock)
    and, once needed, the hashes of the perfect subtrees that make the root
    (the "frontier"): appending needs only those, so a batch costs one SELECT
    of O(log n) rows plus two ``executemany``.
    """

    def __init__(
        self, conn: aiosqlite.Connection, size: int, closed: Callable[[], bool]
    ) -> None:
        self._conn = conn
        self._store_closed = closed
        self._start_size = size
        self._size = size
        self._frontier_hashes: dict[Node, bytes] | None = None
        self._checkpoint_size: int | None = None
        self._failed = False
        self._ended = False

    @classmethod
    async def begin(
        cls, conn: aiosqlite.Connection, closed: Callable[[], bool]
    ) -> _SqliteTransaction:
        """Take the write lock and read the log size.

        ``closed`` tells whether the store has been closed since.

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: The store failed or its leaves and leaf hashes differ.
        """
        with _errors("starting a write transaction"):
            await _begin(conn)
        try:
            with _errors("reading the log size"):
                row = await _one(
                    conn,
                    "SELECT (SELECT coalesce(max(idx) + 1, 0) FROM leaf), "
                    "(SELECT coalesce(max(idx) + 1, 0) FROM merkle_node "
                    "WHERE level = 0)",
                )
            leaves, hashes = int(row[0]), int(row[1])
            if leaves != hashes:
                raise StorageError(
                    f"store is inconsistent: {leaves} leaves, {hashes} leaf hashes"
                )
        except BaseException:
            await _rollback(conn)
            raise
        return cls(conn, leaves, closed)

    # -- state --

    def _connection(self) -> aiosqlite.Connection:
        if self._ended:
            raise StorageError("write transaction is closed")
        if self._store_closed():
            raise StorageError("store was closed during the write transaction")
        if self._failed:
            raise StorageError("write transaction failed earlier and will roll back")
        return self._conn

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        # Any failure dooms the transaction: SQLite may have rolled it back
        # already (after an I/O error), and a half-done write must not commit.
        self._connection()
        try:
            with _errors(what):
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

    async def commit(self) -> None:
        """Commit, or roll back if the transaction may not commit.

        Raises:
            StorageError: The transaction failed earlier, appended leaves
                without a checkpoint at its final size, or COMMIT failed.
        """
        try:
            if self._failed:
                raise StorageError("write transaction rolled back after an error")
            if self._store_closed():
                raise StorageError("store was closed during the write transaction")
            if self._size != self._start_size and self._checkpoint_size != self._size:
                raise StorageError(
                    f"leaves {self._start_size}..{self._size - 1} were appended "
                    f"without a checkpoint at size {self._size}; rolled back"
                )
            with _errors("committing"):
                await self._conn.execute("COMMIT")
        except BaseException:
            await _rollback(self._conn)
            raise

    async def _frontier(self) -> dict[Node, bytes]:
        """Return the stored hashes of :func:`root_nodes` at the current size."""
        if self._frontier_hashes is None:
            wanted = root_nodes(self._size)
            with self._guard("reading merkle nodes"):
                found = await _fetch_nodes(self._conn, wanted)
            missing = _missing(wanted, found)
            if missing:
                raise self._fail(
                    StorageError(
                        f"merkle nodes {missing} of tree size {self._size} are missing"
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
        self._connection()
        return self._size

    async def root(self) -> bytes:
        """Return the root hash of the tree as it stands in the transaction.

        Raises:
            StorageError: The transaction is closed or failed, or nodes are missing.
        """
        self._connection()
        return root_hash(self._size, NodeHashes(await self._frontier()))

    # -- writes --

    async def append(self, leaves: Sequence[bytes]) -> list[AppendedLeaf]:
        """Append ``leaves`` and their Merkle nodes (see ``WriteTransaction``).

        Raises:
            StorageError: The store failed, or the transaction is closed or failed.
        """
        self._connection()
        if not leaves:
            return []
        hashes = dict(await self._frontier())
        source = NodeHashes(hashes)  # sees the nodes added below as they come
        first = index = self._size
        leaf_rows: list[tuple[int, bytes]] = []
        node_rows: list[tuple[int, int, bytes]] = []
        added: list[AppendedLeaf] = []
        for data in leaves:
            value = bytes(data)
            lh = leaf_hash(value)
            for node, h in appended_nodes(index, lh, source):
                hashes[node] = h
                node_rows.append((node.level, node.idx, h))
            leaf_rows.append((index, value))
            added.append(AppendedLeaf(index, lh))
            index += 1
        with self._guard(f"appending leaves {first}..{index - 1}"):
            await self._conn.executemany(
                "INSERT INTO leaf (idx, data) VALUES (?, ?)", leaf_rows
            )
            await self._conn.executemany(
                "INSERT INTO merkle_node (level, idx, hash) VALUES (?, ?, ?)",
                node_rows,
            )
        self._size = index
        self._frontier_hashes = {n: hashes[n] for n in root_nodes(index)}
        return added

    async def put_checkpoint(self, size: int, root_hash: bytes, note: bytes) -> None:
        """Store the checkpoint ``note`` of the current tree (see ``WriteTransaction``).

        Raises:
            CheckpointMismatchError: ``size`` or ``root_hash`` is not the tree's.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        self._connection()
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
        with self._guard(f"storing the checkpoint at size {size}"):
            cursor = await self._conn.execute(
                "INSERT INTO checkpoint (size, root, note) VALUES (?, ?, ?) "
                "ON CONFLICT (size) DO UPDATE SET note = excluded.note "
                "WHERE checkpoint.root = excluded.root",
                (size, root, bytes(note)),
            )
            if cursor.rowcount != 1:
                raise StorageError(
                    f"the stored checkpoint at size {size} has another root"
                )
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
        """Record several ``(jti, index)`` pairs with one ``executemany``.

        Raises:
            ValueError: A ``jti`` is empty or an index is not a leaf of the tree.
            DuplicateJtiError: A ``jti`` is already recorded, or given twice.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        self._connection()
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
        with self._guard(f"recording {len(rows)} jtis"):
            await self._conn.executemany(
                "INSERT INTO jti (jti, idx) VALUES (?, ?)", rows
            )

    async def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier value.

        Raises:
            ValueError: ``key`` is empty.
            StorageError: The store failed, or the transaction is closed or failed.
        """
        if not key:
            raise ValueError("meta key is empty")
        with self._guard(f"writing meta {key!r}"):
            await self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


# --- the store ----------------------------------------------------------------


async def _connect(path: Path, busy_timeout: float) -> aiosqlite.Connection:
    # isolation_level=None: autocommit mode, transactions only where we BEGIN.
    proxy = aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        conn = await proxy
    except BaseException:
        # When sqlite3.connect fails, aiosqlite 0.22 stops its worker thread
        # without awaiting it; the thread then reports to this event loop, and
        # raises if the loop has closed meanwhile (omnilib/aiosqlite#241).
        # Wait for it here, while the loop still runs.
        thread = getattr(proxy, "_thread", None)
        if isinstance(thread, threading.Thread) and thread.is_alive():
            await asyncio.to_thread(thread.join, 5.0)
        raise
    try:
        await conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        await conn.close()
        raise
    return conn


async def _enable_wal(conn: aiosqlite.Connection, busy_timeout: float) -> Any:
    """Switch to WAL, retrying while other connections hold the file.

    Changing the journal mode needs an exclusive lock, and SQLite may answer
    SQLITE_BUSY at once, without its busy handler, when several processes open
    a new file together; so wait here, up to the busy timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + busy_timeout
    while True:
        try:
            return await _one(conn, "PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as e:
            busy = "locked" in str(e) or "busy" in str(e)
            if not busy or loop.time() >= deadline:
                raise
            await asyncio.sleep(0.01)


def _create_private(path: Path) -> None:
    """Create the parent directory and an empty file readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the mode of the database file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class SqliteStore(_LogReads):
    """The registry store on one SQLite file; see the module docstring.

    Open with :meth:`open` and close with :meth:`close`, or use the opened
    store as an async context manager: ``async with await
    SqliteStore.open(path) as store: ...``. Several stores (in this process
    or others) may share one file.
    """

    def __init__(
        self, path: Path, reader: aiosqlite.Connection, writer: aiosqlite.Connection
    ) -> None:
        self._path = path
        self._reader = reader
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._write_task: asyncio.Task[Any] | None = None
        self._closed = False

    @classmethod
    async def open(
        cls, path: str | os.PathLike[str], *, busy_timeout: float = 5.0
    ) -> SqliteStore:
        """Open (creating if needed) and migrate the registry database at ``path``.

        A new file and its missing parent directories are created readable by
        the owner only (0600 and 0700).

        Args:
            path: The database file.
            busy_timeout: Seconds to wait for another writer's lock before a
                write (or a migration) fails with :class:`StorageBusyError`.

        Raises:
            ValueError: ``busy_timeout`` is negative.
            SchemaVersionError: The file's schema is newer than this code.
            StorageError: The file cannot be created or opened, is not a
                registry database, cannot use WAL, or a migration failed.
        """
        if busy_timeout < 0:
            raise ValueError(f"busy timeout {busy_timeout} is negative")
        db = Path(path)
        try:
            _create_private(db)
        except OSError as e:
            raise StorageError(f"cannot create {db}: {e.strerror or e}") from e
        opened: list[aiosqlite.Connection] = []
        try:
            with _errors(f"opening {db}"):
                writer = await _connect(db, busy_timeout)
                opened.append(writer)
                # Refuse a foreign or future file before WAL mode changes it.
                header = await _header(writer)
                _check_ours(header)
                _check_version(header[1], SCHEMA_VERSION)
                row = await _enable_wal(writer, busy_timeout)
                if str(row[0]).lower() != "wal":
                    raise StorageError(f"{db} cannot use WAL (journal mode {row[0]})")
                await migrate(writer)
                reader = await _connect(db, busy_timeout)
                opened.append(reader)
                await reader.execute("PRAGMA query_only = ON")
        except BaseException:
            for conn in opened:
                with suppress(sqlite3.Error, ValueError):
                    await conn.close()
            raise
        return cls(db, reader, writer)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def __repr__(self) -> str:
        return f"SqliteStore({str(self._path)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _is_closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        """Close both connections; idempotent.

        A write transaction in progress in another task ends (commits or rolls
        back) first; one open in the calling task is rolled back.

        Raises:
            StorageError: A connection failed to close (both are tried).
        """
        if self._closed:
            return
        if self._write_task is None or self._write_task is not asyncio.current_task():
            async with self._write_lock:
                self._closed = True
        self._closed = True
        failure: sqlite3.Error | None = None
        for conn in (self._reader, self._writer):
            try:
                await conn.close()
            except sqlite3.Error as e:
                failure = failure or e
        if failure is not None:
            raise _storage_error(f"closing {self._path}", failure) from failure

    def _connection(self) -> aiosqlite.Connection:
        if self._closed:
            raise StorageError(f"store {self._path} is closed")
        return self._reader

    # -- reads --

    async def entry(self, index: int) -> bytes:
        """Return the data of leaf ``index``.

        Raises:
            EntryNotFoundError: ``index`` is negative or not below the log size.
            StorageError: The store failed.
        """
        rows: list[sqlite3.Row] = []
        if index >= 0:
            with self._guard(f"reading entry {index}"):
                rows = list(
                    await self._connection().execute_fetchall(
                        "SELECT data FROM leaf WHERE idx = ?", (index,)
                    )
                )
        if not rows:
            raise EntryNotFoundError(
                f"no entry {index} in a log of size {await self.size()}"
            )
        return bytes(rows[0][0])

    async def checkpoint_at(self, size: int) -> StoredCheckpoint | None:
        """Return the checkpoint stored for tree size ``size``, or ``None``.

        Raises:
            StorageError: The store failed.
        """
        with self._guard(f"reading the checkpoint at size {size}"):
            rows = list(
                await self._connection().execute_fetchall(
                    "SELECT size, root, note FROM checkpoint WHERE size = ?", (size,)
                )
            )
        return StoredCheckpoint(*rows[0]) if rows else None

    async def _nodes_for(
        self, tree_size: int, nodes: Collection[Node], error: type[ProofError]
    ) -> NodeHashes:
        """Fetch ``nodes`` of the tree of ``tree_size`` in one query.

        The tree's last leaf is fetched too: a proof for the last leaf never
        reads it, and its presence is what shows the log is that large.
        """
        wanted = set(nodes)
        if tree_size > 0:
            wanted.add(Node(0, tree_size - 1))
        with self._guard(f"reading merkle nodes of tree size {tree_size}"):
            found = await _fetch_nodes(self._connection(), wanted)
        missing = _missing(sorted(wanted), found)
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
            ProofError: ``tree_size`` is negative or exceeds the log size.
            StorageError: The store failed or its nodes are inconsistent.
        """
        nodes = root_nodes(tree_size)
        return root_hash(tree_size, await self._nodes_for(tree_size, nodes, ProofError))

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
        """Return the inclusion proofs of ``indices`` in one tree, from one query.

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

    # -- writes --

    @asynccontextmanager
    async def write(self) -> AsyncIterator[WriteTransaction]:
        """Open a write transaction (see ``registry.store.Store.write``).

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: The store failed or is closed, the transaction failed
                earlier or appended leaves without a final checkpoint, or
                ``write()`` is nested in one task (it would wait for itself).
        """
        self._connection()
        task = asyncio.current_task()
        if task is not None and task is self._write_task:
            raise StorageError("write() is already open in this task")
        async with self._write_lock:
            if self._closed:
                raise StorageError(f"store {self._path} is closed")
            self._write_task = task
            try:
                tx = await _SqliteTransaction.begin(self._writer, self._is_closed)
                try:
                    yield tx
                except BaseException:
                    tx.end()
                    await _rollback(self._writer)
                    raise
                tx.end()
                await tx.commit()
            finally:
                self._write_task = None
