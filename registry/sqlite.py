"""The registry store on one SQLite file, through aiosqlite (a store ``Backend``).

:class:`SqliteBackend` implements the store's primitives (rows in, rows out,
a lock, a copy); :class:`SqliteStore` is ``registry.store.LogStore`` over it,
which adds every guarantee, root and proof (they are not written here).

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

It does not sign or parse checkpoints or leaves, does not compute hashes or
proofs (``registry.store`` does, over these rows), and does not retry.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from registry.errors import SchemaVersionError, StorageBusyError, StorageError
from registry.merkle import Node
from registry.store import LogStore, StoredCheckpoint

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SqliteBackend",
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


# --- the rows, over one connection --------------------------------------------


class _SqliteRows:
    """The :class:`registry.store.LogRows` primitives over one connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def leaf_count(self) -> int:
        """Return one past the highest leaf index."""
        with _errors("reading the log size"):
            row = await _one(self._conn, "SELECT coalesce(max(idx) + 1, 0) FROM leaf")
        return int(row[0])

    async def leaf_hash_count(self) -> int:
        """Return one past the highest leaf hash index."""
        with _errors("reading the log size"):
            row = await _one(
                self._conn,
                "SELECT coalesce(max(idx) + 1, 0) FROM merkle_node WHERE level = 0",
            )
        return int(row[0])

    async def node_count(self) -> int:
        """Return the number of ``merkle_node`` rows."""
        with _errors("counting merkle nodes"):
            row = await _one(self._conn, "SELECT count(*) FROM merkle_node")
        return int(row[0])

    async def read_leaves(self, start: int, end: int) -> list[bytes]:
        """Return the data of leaves ``start <= idx < end``."""
        with _errors(f"reading entries {start}..{end}"):
            rows = await self._conn.execute_fetchall(
                "SELECT data FROM leaf WHERE idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
        return [bytes(row[0]) for row in rows]

    async def read_leaf_hashes(self, start: int, end: int) -> list[bytes]:
        """Return the level-0 nodes ``start <= idx < end``."""
        with _errors(f"reading leaf hashes {start}..{end}"):
            rows = await self._conn.execute_fetchall(
                "SELECT hash FROM merkle_node "
                "WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx",
                (start, end),
            )
        return [bytes(row[0]) for row in rows]

    async def read_nodes(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """Return the stored hashes of ``nodes``, in one statement per 400."""
        with _errors(f"reading {len(nodes)} merkle nodes"):
            return await _fetch_nodes(self._conn, nodes)

    async def read_checkpoint(self, size: int | None) -> StoredCheckpoint | None:
        """Return the checkpoint at ``size``, or the latest for ``None``."""
        if size is None:
            what = "the latest checkpoint"
            sql = "SELECT size, root, note FROM checkpoint ORDER BY size DESC LIMIT 1"
            params: tuple[int, ...] = ()
        else:
            what = f"the checkpoint at size {size}"
            sql = "SELECT size, root, note FROM checkpoint WHERE size = ?"
            params = (size,)
        with _errors(f"reading {what}"):
            rows = list(await self._conn.execute_fetchall(sql, params))
        return StoredCheckpoint(*rows[0]) if rows else None

    async def read_jtis(self, jtis: Collection[str]) -> dict[str, int]:
        """Return the index of each recorded jti, 500 per statement."""
        wanted = list(jtis)
        found: dict[str, int] = {}
        with _errors(f"looking up {len(wanted)} jtis"):
            for at in range(0, len(wanted), _KEYS_PER_QUERY):
                chunk = wanted[at : at + _KEYS_PER_QUERY]
                marks = ", ".join(["?"] * len(chunk))
                sql = f"SELECT jti, idx FROM jti WHERE jti IN ({marks})"  # noqa: S608 -- placeholders only
                for jti, idx in await self._conn.execute_fetchall(sql, chunk):
                    found[jti] = idx
        return found

    async def read_meta(self, key: str) -> str | None:
        """Return the value under ``key``."""
        with _errors(f"reading meta {key!r}"):
            rows = list(
                await self._conn.execute_fetchall(
                    "SELECT value FROM meta WHERE key = ?", (key,)
                )
            )
        return str(rows[0][0]) if rows else None


class _SqliteTransaction(_SqliteRows):
    """A :class:`registry.store.BackendTransaction` inside ``BEGIN IMMEDIATE``."""

    async def write_leaves(
        self, leaves: Sequence[tuple[int, bytes]], nodes: Sequence[tuple[Node, bytes]]
    ) -> None:
        """Insert the leaf and node rows with two ``executemany``."""
        what = f"appending leaves {leaves[0][0]}..{leaves[-1][0]}" if leaves else "-"
        with _errors(what):
            await self._conn.executemany(
                "INSERT INTO leaf (idx, data) VALUES (?, ?)", leaves
            )
            await self._conn.executemany(
                "INSERT INTO merkle_node (level, idx, hash) VALUES (?, ?, ?)",
                [(node.level, node.idx, h) for node, h in nodes],
            )

    async def write_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Insert the checkpoint or replace its note (never its root)."""
        size = checkpoint.size
        with _errors(f"storing the checkpoint at size {size}"):
            cursor = await self._conn.execute(
                "INSERT INTO checkpoint (size, root, note) VALUES (?, ?, ?) "
                "ON CONFLICT (size) DO UPDATE SET note = excluded.note "
                "WHERE checkpoint.root = excluded.root",
                (size, checkpoint.root_hash, checkpoint.note),
            )
        if cursor.rowcount != 1:
            raise StorageError(f"the stored checkpoint at size {size} has another root")

    async def write_jtis(self, rows: Sequence[tuple[str, int]]) -> None:
        """Insert the jti rows with one ``executemany``."""
        with _errors(f"recording {len(rows)} jtis"):
            await self._conn.executemany(
                "INSERT INTO jti (jti, idx) VALUES (?, ?)", rows
            )

    async def write_meta(self, key: str, value: str) -> None:
        """Upsert one meta row."""
        with _errors(f"writing meta {key!r}"):
            await self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def commit(self) -> None:
        """``COMMIT`` (synced: ``synchronous=FULL``)."""
        with _errors("committing"):
            await self._conn.execute("COMMIT")

    async def rollback(self) -> None:
        """``ROLLBACK``, whatever state the connection is in."""
        await _rollback(self._conn)


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


def _copy(source: Path, target: Path) -> str:
    """Copy ``source`` into ``target`` with SQLite's online backup API, and check it.

    One consistent snapshot, taken while writers may append (they are not
    blocked for long); the copy is one self-contained file (no ``-wal``).

    Returns:
        The URI that opens the copy read-only.
    """
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=1024)
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                raise StorageError(f"the copy fails sqlite's integrity check: {result}")
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    return f"{target.resolve().as_uri()}?mode=ro"


class SqliteBackend(_SqliteRows):
    """The :class:`registry.store.Backend` primitives on one SQLite file.

    Reads go through a ``query_only`` connection in autocommit mode; writes
    through a second one, in ``BEGIN IMMEDIATE`` transactions. A backend made
    by :meth:`copy_to` has no writer (it is read-only).
    """

    persistent = True

    def __init__(
        self,
        path: Path,
        reader: aiosqlite.Connection,
        writer: aiosqlite.Connection | None,
    ) -> None:
        super().__init__(reader)
        self.path = path
        self.name = str(path)
        self._reader = reader
        self._writer = writer

    async def begin(self) -> _SqliteTransaction:
        """``BEGIN IMMEDIATE`` on the writer connection.

        Raises:
            StorageBusyError: The lock stayed busy past the busy timeout.
            StorageError: SQLite failed, or the backend is a read-only copy.
        """
        if self._writer is None:
            raise StorageError(f"{self.path} is opened read-only")
        with _errors("starting a write transaction"):
            await _begin(self._writer)
        return _SqliteTransaction(self._writer)

    async def copy_to(self, target: Path) -> SqliteBackend:
        """Copy the file into ``target`` (see :func:`_copy`); open the copy read-only.

        Raises:
            StorageError: The copy failed or fails ``integrity_check``.
        """
        with _errors(f"copying {self.path}"):
            uri = await asyncio.to_thread(_copy, self.path, target)
            reader = await aiosqlite.connect(uri, uri=True, isolation_level=None)
        return SqliteBackend(target, reader, None)

    async def close(self) -> None:
        """Close both connections (both are tried).

        Raises:
            StorageError: A connection failed to close.
        """
        failure: sqlite3.Error | None = None
        for conn in (self._reader, self._writer):
            if conn is None:
                continue
            try:
                await conn.close()
            except sqlite3.Error as e:
                failure = failure or e
        if failure is not None:
            raise _storage_error(f"closing {self.path}", failure) from failure


class SqliteStore(LogStore):
    """The registry store on one SQLite file; see the module docstring.

    Open with :meth:`open` and close with :meth:`close`, or use the opened
    store as an async context manager: ``async with await
    SqliteStore.open(path) as store: ...``. Several stores (in this process
    or others) may share one file.
    """

    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__(backend)
        self._sqlite = backend

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
        return cls(SqliteBackend(db, reader, writer))

    @property
    def backend(self) -> SqliteBackend:
        """The SQLite backend (its connections)."""
        return self._sqlite

    @property
    def path(self) -> Path:
        """The database file."""
        return self._sqlite.path
