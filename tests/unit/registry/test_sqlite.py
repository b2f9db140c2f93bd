"""What is SQLite's own in the registry store (registry.sqlite), on real files.

The guarantees every backend shares (proofs, checkpoints, jtis, transactions,
ranges) are in the contract suite, ``tests/contract/test_store.py``, which runs
over this backend too. Here: the file, its schema and migrations, durable
connections, triggers against rewriting history, several processes on one
file, and SQLite errors at the boundary.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from registry.errors import SchemaVersionError, StorageBusyError, StorageError
from registry.merkle import EMPTY_ROOT, MemoryTree
from registry.sqlite import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Migration,
    SqliteStore,
    migrate,
)
from registry.store import Store
from tests.helpers.log_check import check_log_file
from tests.helpers.store_ops import commit_batch, note

TABLES = {"meta", "leaf", "merkle_node", "checkpoint", "jti"}


def as_store(store: SqliteStore) -> Store:
    """Typed: mypy checks that SqliteStore implements the Store protocol."""
    return store


def raw(path: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(path))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "log.db"


@pytest.fixture
async def store(db: Path) -> AsyncIterator[SqliteStore]:
    async with await SqliteStore.open(db) as s:
        yield s


# --- opening and migrations ---------------------------------------------------


async def test_open_creates_private_file_with_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "log.db"
    async with await SqliteStore.open(path) as store:
        assert await store.size() == 0
        assert await store.latest_checkpoint() is None
        assert await store.root(0) == EMPTY_ROOT
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert names >= TABLES


async def test_connections_are_durable_and_readers_cannot_write(
    store: SqliteStore,
) -> None:
    # PRAGMA synchronous and foreign_keys are per connection: invisible in the
    # file and to a crash test (a SIGKILL spares the OS cache), so read them.
    for conn in (store.backend._reader, store.backend._writer):
        assert conn is not None
        pragmas = [
            (await (await conn.execute(f"PRAGMA {name}")).fetchone() or [None])[0]
            for name in ("journal_mode", "synchronous", "foreign_keys")
        ]
        assert pragmas == ["wal", 2, 1]  # 2 is FULL
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await store.backend._reader.execute("INSERT INTO meta VALUES ('k', 'v')")


async def test_reopen_keeps_data_and_schema_version(db: Path) -> None:
    async with await SqliteStore.open(db) as store:
        await commit_batch(store, [b"a", b"b"], ["j1", "j2"])
        async with store.write() as tx:
            await tx.set_meta("origin", "registry.example/log")
    async with await SqliteStore.open(db) as store:
        assert await store.entries(0, 10) == [b"a", b"b"]
        assert await store.jti_index("j2") == 1
        assert await store.get_meta("origin") == "registry.example/log"
        cp = await store.latest_checkpoint()
        assert cp is not None
        assert cp.size == 2
    with raw(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


async def test_open_refuses_database_from_newer_schema(db: Path) -> None:
    await (await SqliteStore.open(db)).close()
    with raw(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match="newer than"):
        await SqliteStore.open(db)
    with raw(db) as conn:  # left as it was
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)


@pytest.mark.parametrize(
    "setup",
    [
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY)",
        "PRAGMA application_id = 1234",
        "PRAGMA user_version = 1",
    ],
    ids=["foreign-tables", "foreign-application-id", "foreign-user-version"],
)
async def test_open_refuses_sqlite_file_of_another_application(
    db: Path, setup: str
) -> None:
    with raw(db) as conn:
        conn.execute(setup)
    with pytest.raises(StorageError, match="not a didtrust registry database"):
        await SqliteStore.open(db)
    with raw(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not names & TABLES


STEP1 = Migration(1, "one", ("CREATE TABLE one (x)",))
STEP2 = Migration(2, "two", ("CREATE TABLE two (x)", "INSERT INTO two VALUES (2)"))
BROKEN3 = Migration(
    3, "broken", ("CREATE TABLE three (x)", "INSERT INTO nowhere VALUES (1)")
)


async def test_migrate_applies_pending_steps_once_in_order(db: Path) -> None:
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        assert await migrate(conn, [STEP1]) == 1
        assert await migrate(conn, [STEP1, STEP2]) == 2
        assert await migrate(conn, [STEP1, STEP2]) == 2  # nothing to do
        assert list(await conn.execute_fetchall("SELECT x FROM two")) == [(2,)]


async def test_failed_migration_step_rolls_back_to_previous_version(db: Path) -> None:
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        await migrate(conn, [STEP1, STEP2])
        with pytest.raises(StorageError, match="schema version 3: no such table"):
            await migrate(conn, [STEP1, STEP2, BROKEN3])
        assert list(await conn.execute_fetchall("PRAGMA user_version")) == [(2,)]
        names = await conn.execute_fetchall("SELECT name FROM sqlite_master")
        assert "three" not in {r[0] for r in names}


@pytest.mark.parametrize(
    "steps",
    [[STEP2], [STEP1, STEP1], [STEP2, STEP1]],
    ids=["gap", "repeated", "out-of-order"],
)
async def test_migrate_rejects_misnumbered_steps(
    db: Path, steps: list[Migration]
) -> None:
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        with pytest.raises(ValueError, match=r"not 1\.\."):
            await migrate(conn, steps)


async def test_concurrent_first_opens_migrate_once(db: Path) -> None:
    stores = await asyncio.gather(*(SqliteStore.open(db) for _ in range(4)))
    try:
        await commit_batch(stores[0], [b"x"])
        assert [await s.size() for s in stores] == [1, 1, 1, 1]
    finally:
        for s in stores:
            await s.close()


REWRITES = [
    "UPDATE leaf SET data = x'00' WHERE idx = 0",
    "DELETE FROM leaf WHERE idx = 1",
    "UPDATE merkle_node SET hash = zeroblob(32) WHERE level = 0 AND idx = 0",
    "DELETE FROM merkle_node WHERE level = 1",
    "UPDATE jti SET idx = 0 WHERE jti = 'j1'",
    "DELETE FROM jti",
    "UPDATE checkpoint SET root = zeroblob(32)",
    "UPDATE checkpoint SET size = 7",
    "DELETE FROM checkpoint",
]


@pytest.mark.parametrize("sql", REWRITES, ids=[s.split(" WHERE")[0] for s in REWRITES])
async def test_schema_refuses_rewriting_history(
    db: Path, store: SqliteStore, sql: str
) -> None:
    await commit_batch(store, [b"a", b"b"], ["j0", "j1"])
    with (
        raw(db) as conn,
        pytest.raises(sqlite3.IntegrityError, match=r"append-only|immutable"),
    ):
        conn.execute(sql)
    check_log_file(db)


# --- several processes on one file --------------------------------------------


async def test_two_stores_on_one_file_catch_up_on_each_others_appends(db: Path) -> None:
    async with await SqliteStore.open(db) as a, await SqliteStore.open(db) as b:
        tree = MemoryTree()
        known = {id(a): 0, id(b): 0}
        for turn in range(6):
            store = (a, b)[turn % 2]
            async with store.write() as tx:
                size = await tx.size()
                assert size == tree.size
                missed = await tx.entries(known[id(store)], size)
                assert missed == [
                    d for d in await store.entries(known[id(store)], size)
                ]
                assert len(missed) == size - known[id(store)]
                leaves = [b"turn %d leaf %d" % (turn, i) for i in range(turn + 1)]
                await tx.append(leaves)
                for d in leaves:
                    tree.append(d)
                size, root = await tx.size(), await tx.root()
                assert root == tree.root()
                await tx.put_checkpoint(size, root, note(size, root))
            known[id(store)] = size
        assert await a.size() == await b.size() == tree.size
        assert await a.root(tree.size) == await b.root(tree.size) == tree.root()
    check_log_file(db)


async def test_concurrent_writers_on_one_file_are_serialised(db: Path) -> None:
    async def run(store: SqliteStore, name: bytes) -> None:
        for i in range(15):
            await commit_batch(
                store, [name + b"%d.%d" % (i, k) for k in range(i % 4 + 1)]
            )

    async with await SqliteStore.open(db) as a, await SqliteStore.open(db) as b:
        await asyncio.gather(run(a, b"a"), run(b, b"b"), run(a, b"c"))
        log = check_log_file(db)
        assert log.tree.size == 3 * sum(i % 4 + 1 for i in range(15))
        assert len(log.checkpoints) == 45


async def test_writer_lock_held_elsewhere_times_out_as_busy(db: Path) -> None:
    async with (
        await SqliteStore.open(db) as holder,
        await SqliteStore.open(db, busy_timeout=0.05) as waiter,
    ):
        async with holder.write() as tx:
            await tx.append([b"a"])
            with pytest.raises(StorageBusyError, match="database is busy"):
                async with waiter.write():
                    pass
            size, root = await tx.size(), await tx.root()
            await tx.put_checkpoint(size, root, b"n")
        assert await commit_batch(waiter, [b"b"]) == 2


# --- errors at the boundary ---------------------------------------------------


def write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def trash_pages_after_the_first(db: Path) -> None:
    """Overwrite every page but the first (the schema), as a bad disk would.

    Closing the last connection has folded the WAL into the file.
    """
    with raw(db) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db.read_bytes())
    data[page_size:] = b"\xa5" * (len(data) - page_size)
    db.write_bytes(bytes(data))


async def test_open_wraps_not_a_database(db: Path) -> None:
    write_bytes(db, b"this is not an sqlite file, just some bytes" * 100)
    with pytest.raises(StorageError, match="file is not a database") as caught:
        await SqliteStore.open(db)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


async def test_open_wraps_unopenable_path(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="unable to open database file") as caught:
        await SqliteStore.open(tmp_path)  # a directory
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


async def test_open_wraps_uncreatable_parent(tmp_path: Path) -> None:
    write_bytes(tmp_path / "file", b"")
    with pytest.raises(StorageError, match="cannot create") as caught:
        await SqliteStore.open(tmp_path / "file" / "log.db")
    assert isinstance(caught.value.__cause__, OSError)


async def test_reads_of_corrupted_pages_raise_storage_error(db: Path) -> None:
    async with await SqliteStore.open(db) as store:
        await commit_batch(store, [bytes(200) for _ in range(2000)])
    trash_pages_after_the_first(db)
    with pytest.raises(StorageError, match="malformed") as caught:
        async with await SqliteStore.open(db) as store:
            await store.entries(0, 100)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
