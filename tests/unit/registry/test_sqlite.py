"""The SQLite registry store (registry.sqlite) on real files.

Checked against ``registry.merkle.MemoryTree`` (the model it mirrors), and for
what a store must refuse: checkpoints that disagree with the leaves, replayed
jtis, half-done transactions, files from the future or of another program.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from registry.errors import ConsistencyProofError, InclusionProofError, ProofError
from registry.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from registry.sqlite import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    Migration,
    SqliteStore,
    migrate,
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
    Store,
    StoredCheckpoint,
    WriteTransaction,
)
from tests.helpers.log_check import check_log_file, expected_nodes, stored_nodes

TABLES = {"meta", "leaf", "merkle_node", "checkpoint", "jti"}


def as_store(store: SqliteStore) -> Store:
    """Typed: mypy checks that SqliteStore implements the Store protocol."""
    return store


def note(size: int, root: bytes) -> bytes:
    return b"test note %d\n" % size + root


async def commit_batch(
    store: Store, leaves: list[bytes], jtis: list[str] | None = None
) -> int:
    """Append ``leaves`` (with their jtis) and a checkpoint in one transaction."""
    async with store.write() as tx:
        added = await tx.append(leaves)
        if jtis is not None:
            await tx.add_jtis(zip(jtis, (a.index for a in added), strict=True))
        size, root = await tx.size(), await tx.root()
        await tx.put_checkpoint(size, root, note(size, root))
    return size


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
    for conn in (store._reader, store._writer):
        pragmas = [
            (await (await conn.execute(f"PRAGMA {name}")).fetchone() or [None])[0]
            for name in ("journal_mode", "synchronous", "foreign_keys")
        ]
        assert pragmas == ["wal", 2, 1]  # 2 is FULL
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await store._reader.execute("INSERT INTO meta VALUES ('k', 'v')")


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


# --- the log against MemoryTree -----------------------------------------------


async def test_appends_and_proofs_agree_with_memory_tree(
    db: Path, store: SqliteStore
) -> None:
    rng = random.Random(6962)  # noqa: S311 -- a reproducible test sequence
    tree = MemoryTree()
    roots: dict[int, bytes] = {0: EMPTY_ROOT}
    while tree.size < 3000:
        leaves = [rng.randbytes(rng.randint(0, 64)) for _ in range(rng.randint(1, 300))]
        async with store.write() as tx:
            added = await tx.append(leaves)
            assert added == [
                AppendedLeaf(tree.size + i, leaf_hash(d)) for i, d in enumerate(leaves)
            ]
            for d in leaves:
                tree.append(d)
            size, root = await tx.size(), await tx.root()
            assert (size, root) == (tree.size, tree.root())
            await tx.put_checkpoint(size, root, note(size, root))
        roots[size] = root

    n = tree.size
    assert await store.size() == n
    assert stored_nodes(db) == expected_nodes(tree)
    for size, root in roots.items():
        assert await store.root(size) == root
        if size:
            assert await store.checkpoint_at(size) == StoredCheckpoint(
                size, root, note(size, root)
            )
    assert await store.latest_checkpoint() == StoredCheckpoint(
        n, roots[n], note(n, roots[n])
    )

    sizes = sorted(roots)
    for _ in range(200):
        size = rng.choice(sizes[1:])
        index = rng.randrange(size)
        proof = await store.inclusion_proof(index, size)
        assert proof == tree.inclusion_proof(index, size)
        verify_inclusion(tree.leaf_hash(index), index, size, proof, roots[size])
    for _ in range(100):
        first, second = sorted(rng.sample(sizes, 2))
        proof = await store.consistency_proof(first, second)
        assert proof == tree.consistency_proof(first, second)
        verify_consistency(first, second, roots[first], roots[second], proof)

    indices = [0, 1, n // 2, n - 2, n - 1]
    assert await store.inclusion_proofs(indices, n) == [
        tree.inclusion_proof(i, n) for i in indices
    ]
    hashes: list[bytes] = []
    while len(hashes) < n:
        hashes += await store.leaf_hashes(len(hashes), n)
    assert hashes == [tree.leaf_hash(i) for i in range(n)]


async def test_entries_are_paged_and_clamped_to_the_log(store: SqliteStore) -> None:
    leaves = [b"%d" % i for i in range(MAX_READ_ENTRIES + 500)]
    await commit_batch(store, leaves)
    first = await store.entries(0, len(leaves))
    assert first == leaves[:MAX_READ_ENTRIES]
    assert await store.entries(MAX_READ_ENTRIES, 10**9) == leaves[MAX_READ_ENTRIES:]
    assert await store.entries(len(leaves), len(leaves) + 5) == []
    assert await store.entries(7, 7) == []
    assert await store.entry(1234) == b"1234"


@pytest.mark.parametrize(
    ("start", "end"), [(-1, 3), (5, 4)], ids=["negative", "inverted"]
)
async def test_entries_reject_bad_ranges(
    store: SqliteStore, start: int, end: int
) -> None:
    with pytest.raises(ValueError, match="start"):
        await store.entries(start, end)


@pytest.mark.parametrize("index", [-1, 3, 10**6], ids=["negative", "at-size", "far"])
async def test_entry_beyond_log_is_not_found(store: SqliteStore, index: int) -> None:
    await commit_batch(store, [b"a", b"b", b"c"])
    with pytest.raises(
        EntryNotFoundError, match=f"no entry {index} in a log of size 3"
    ):
        await store.entry(index)


# A log of 5 leaves. The first case is the subtle one: the inclusion path of
# the last leaf of a tree of 6 never reads leaf 5, so only an explicit size
# check stops a "proof" for a leaf that does not exist.
BEYOND: list[tuple[str, Callable[[Store], Awaitable[Any]], type[ProofError]]] = [
    (
        "inclusion-of-unwritten-last-leaf",
        lambda s: s.inclusion_proof(5, 6),
        InclusionProofError,
    ),
    (
        "inclusion-in-larger-tree",
        lambda s: s.inclusion_proof(0, 8),
        InclusionProofError,
    ),
    (
        "consistency-to-larger-tree",
        lambda s: s.consistency_proof(2, 6),
        ConsistencyProofError,
    ),
    (
        "consistency-trivial-beyond",
        lambda s: s.consistency_proof(6, 6),
        ConsistencyProofError,
    ),
    (
        "consistency-from-empty-beyond",
        lambda s: s.consistency_proof(0, 9),
        ConsistencyProofError,
    ),
    ("root-of-larger-tree", lambda s: s.root(6), ProofError),
]


@pytest.mark.parametrize(
    ("call", "error"), [(c, e) for _, c, e in BEYOND], ids=[i for i, _, _ in BEYOND]
)
async def test_proofs_refuse_tree_size_beyond_log(
    store: SqliteStore,
    call: Callable[[Store], Awaitable[Any]],
    error: type[ProofError],
) -> None:
    await commit_batch(store, [b"%d" % i for i in range(5)])
    with pytest.raises(error, match="exceeds log size 5"):
        await call(store)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.inclusion_proof(5, 5), InclusionProofError),
        (lambda s: s.inclusion_proof(-1, 5), InclusionProofError),
        (lambda s: s.consistency_proof(4, 3), ConsistencyProofError),
        (lambda s: s.root(-1), ProofError),
    ],
    ids=["index-at-size", "negative-index", "rollback", "negative-size"],
)
async def test_proofs_refuse_bad_arguments(
    store: SqliteStore,
    call: Callable[[Store], Awaitable[Any]],
    error: type[ProofError],
) -> None:
    await commit_batch(store, [b"%d" % i for i in range(5)])
    with pytest.raises(error):
        await call(store)


# --- checkpoints --------------------------------------------------------------


async def test_checkpoint_of_empty_log(store: SqliteStore) -> None:
    async with store.write() as tx:
        await tx.put_checkpoint(0, EMPTY_ROOT, b"empty")
    assert await store.latest_checkpoint() == StoredCheckpoint(0, EMPTY_ROOT, b"empty")


@pytest.mark.parametrize(
    "wrong",
    [
        lambda size, root: (size - 1, root),
        lambda size, root: (size + 1, root),
        lambda size, root: (size, bytes(32)),
        lambda size, root: (size, root[:-1] + bytes([root[-1] ^ 1])),
    ],
    ids=["size-too-small", "size-too-large", "zero-root", "one-flipped-bit"],
)
async def test_put_checkpoint_refuses_size_or_root_not_of_the_tree(
    store: SqliteStore, wrong: Callable[[int, bytes], tuple[int, bytes]]
) -> None:
    await commit_batch(store, [b"a", b"b"])
    before = await store.latest_checkpoint()

    async def put_wrong_checkpoint() -> None:
        async with store.write() as tx:
            await tx.append([b"c", b"d", b"e"])
            size, root = wrong(await tx.size(), await tx.root())
            await tx.put_checkpoint(size, root, note(size, root))

    with pytest.raises(CheckpointMismatchError, match="not the"):
        await put_wrong_checkpoint()
    assert await store.size() == 2
    assert await store.latest_checkpoint() == before


async def test_append_without_final_checkpoint_is_rolled_back(
    store: SqliteStore,
) -> None:
    async def append_after_checkpoint() -> None:
        async with store.write() as tx:
            await tx.append([b"a", b"b"])
            size, root = await tx.size(), await tx.root()
            await tx.put_checkpoint(size, root, b"n")
            await tx.append([b"c"])  # the checkpoint no longer covers the tree

    with pytest.raises(StorageError, match=r"leaves 0\.\.2 were appended without"):
        await append_after_checkpoint()
    assert await store.size() == 0
    assert await store.latest_checkpoint() is None


async def test_checkpoint_note_can_be_replaced_but_past_sizes_not(
    store: SqliteStore,
) -> None:
    size = await commit_batch(store, [b"a", b"b", b"c"])
    root = await store.root(size)
    async with store.write() as tx:
        await tx.put_checkpoint(size, root, b"cosigned note")
    assert await store.checkpoint_at(size) == StoredCheckpoint(
        3, root, b"cosigned note"
    )
    await commit_batch(store, [b"d"])
    with pytest.raises(CheckpointMismatchError, match="size 3 is not the tree size 4"):
        async with store.write() as tx:
            await tx.put_checkpoint(size, root, b"late re-signing")


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


# --- transactions -------------------------------------------------------------


async def test_exception_inside_write_rolls_back_everything(
    db: Path, store: SqliteStore
) -> None:
    await commit_batch(store, [b"a"], ["j0"])
    nodes_before = stored_nodes(db)
    cp_before = await store.latest_checkpoint()

    class Boom(Exception):
        pass

    async def write_everything_then_fail() -> None:
        async with store.write() as tx:
            added = await tx.append([b"b", b"c", b"d"])
            await tx.add_jtis([("j1", added[0].index)])
            await tx.set_meta("k", "v")
            size, root = await tx.size(), await tx.root()
            await tx.put_checkpoint(size, root, b"n")
            raise Boom

    with pytest.raises(Boom):
        await write_everything_then_fail()
    assert await store.size() == 1
    assert stored_nodes(db) == nodes_before
    assert await store.latest_checkpoint() == cp_before
    assert await store.jti_index("j1") is None
    assert await store.get_meta("k") is None
    await commit_batch(store, [b"e"])  # the store still works
    assert await store.entries(0, 5) == [b"a", b"e"]


async def test_cancelled_write_rolls_back(store: SqliteStore) -> None:
    started = asyncio.Event()

    async def writer() -> None:
        async with store.write() as tx:
            await tx.append([b"a"])
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.size() == 0
    assert await commit_batch(store, [b"b"]) == 1


async def test_duplicate_jti_rolls_back_the_whole_batch(store: SqliteStore) -> None:
    await commit_batch(store, [b"first"], ["replayed"])
    with pytest.raises(
        DuplicateJtiError, match="'replayed' is already in the log at leaf 0"
    ) as caught:
        await commit_batch(store, [b"x", b"y", b"z"], ["fresh", "replayed", "other"])
    assert (caught.value.jti, caught.value.index) == ("replayed", 0)
    assert await store.size() == 1
    assert await store.jti_indices(["fresh", "other", "replayed"]) == {"replayed": 0}
    cp = await store.latest_checkpoint()
    assert cp is not None
    assert cp.size == 1


async def test_duplicate_jti_within_one_batch_is_refused(store: SqliteStore) -> None:
    with pytest.raises(DuplicateJtiError, match="at the same batch") as caught:
        await commit_batch(store, [b"x", b"y"], ["twice", "twice"])
    assert caught.value.index is None
    assert await store.size() == 0


async def test_caught_error_still_dooms_the_transaction(store: SqliteStore) -> None:
    await commit_batch(store, [b"first"], ["replayed"])

    async def carry_on_after_duplicate() -> None:
        async with store.write() as tx:
            added = await tx.append([b"x"])
            size, root = await tx.size(), await tx.root()
            with pytest.raises(DuplicateJtiError):
                await tx.add_jti("replayed", added[0].index)
            with pytest.raises(StorageError, match="failed earlier"):
                await tx.add_jti("other", added[0].index)
            with pytest.raises(StorageError, match="failed earlier"):
                await tx.put_checkpoint(size, root, b"n")

    with pytest.raises(StorageError, match="rolled back after an error"):
        await carry_on_after_duplicate()
    assert await store.size() == 1


@pytest.mark.parametrize(
    ("jti", "index"),
    [("", 0), ("j", -1), ("j", 1)],
    ids=["empty", "negative", "unwritten-leaf"],
)
async def test_add_jti_rejects_bad_arguments(
    store: SqliteStore, jti: str, index: int
) -> None:
    async with store.write() as tx:
        await tx.append([b"a"])
        with pytest.raises(ValueError, match=r"jti is empty|not in the tree of size 1"):
            await tx.add_jti(jti, index)
        size, root = await tx.size(), await tx.root()
        await tx.put_checkpoint(size, root, b"n")  # a ValueError wrote nothing
    assert await store.size() == 1


async def test_transaction_is_unusable_after_its_block(store: SqliteStore) -> None:
    async with store.write() as tx:
        kept: WriteTransaction = tx
    with pytest.raises(StorageError, match="transaction is closed"):
        await kept.size()
    with pytest.raises(StorageError, match="transaction is closed"):
        await kept.append([b"late"])
    assert await store.size() == 0


async def test_nested_write_in_one_task_is_refused(store: SqliteStore) -> None:
    async with store.write():
        with pytest.raises(StorageError, match="already open in this task"):
            async with store.write():
                pass


async def test_reads_see_only_committed_data(store: SqliteStore) -> None:
    await commit_batch(store, [b"a"])
    async with store.write() as tx:
        await tx.append([b"b", b"c"])
        assert await tx.size() == 3
        assert await tx.entries(0, 10) == [b"a", b"b", b"c"]
        assert await store.size() == 1
        assert await store.entries(0, 10) == [b"a"]
        size, root = await tx.size(), await tx.root()
        await tx.put_checkpoint(size, root, b"n")
        assert (
            await store.latest_checkpoint() or StoredCheckpoint(0, b"", b"")
        ).size == 1
    assert await store.size() == 3


async def test_meta_is_stored_and_replaced(store: SqliteStore) -> None:
    async with store.write() as tx:
        await tx.set_meta("origin", "a")
        await tx.set_meta("origin", "b")
        assert await tx.get_meta("origin") == "b"
    assert await store.get_meta("origin") == "b"
    assert await store.get_meta("missing") is None


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


async def test_close_lets_a_write_in_progress_finish(db: Path) -> None:
    store = await SqliteStore.open(db)
    in_tx = asyncio.Event()

    async def slow_writer() -> None:
        async with store.write() as tx:
            in_tx.set()
            await asyncio.sleep(0.05)
            await tx.append([b"a"])
            size, root = await tx.size(), await tx.root()
            await tx.put_checkpoint(size, root, b"n")

    task = asyncio.create_task(slow_writer())
    await in_tx.wait()
    await store.close()
    await task  # committed, not cut off
    async with await SqliteStore.open(db) as again:
        assert await again.size() == 1


async def test_close_inside_write_rolls_it_back(db: Path) -> None:
    store = await SqliteStore.open(db)

    async def close_midway() -> None:
        async with store.write() as tx:
            await tx.append([b"a"])
            await store.close()
            await tx.root()

    with pytest.raises(StorageError, match="store was closed during the write"):
        await close_midway()
    async with await SqliteStore.open(db) as again:
        assert await again.size() == 0


async def test_closed_store_raises_storage_error(db: Path) -> None:
    store = await SqliteStore.open(db)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StorageError, match="is closed"):
        await store.size()
    with pytest.raises(StorageError, match="is closed"):
        async with store.write():
            pass
