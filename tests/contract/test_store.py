"""The store contract: every guarantee of ``registry.store``, over every backend.

Each test runs once per backend in ``BACKENDS``; adding a backend means
implementing the primitives of ``registry.store.Backend`` and adding one
``Kind`` here. Tests that reopen a store run only over persistent backends.

Checked against ``registry.merkle.MemoryTree`` (the reference tree and proofs),
and for what a store must refuse: checkpoints that disagree with the leaves,
damaged nodes, replayed jtis, half-done and nested transactions, bad ranges.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from registry.errors import (
    CheckpointMismatchError,
    ConsistencyProofError,
    DuplicateJtiError,
    EntryNotFoundError,
    InclusionProofError,
    MerkleProofError,
    StorageError,
)
from registry.memory import InMemoryStore, MemoryBackend
from registry.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    Node,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from registry.sqlite import SqliteStore
from registry.store import (
    MAX_READ_ENTRIES,
    AppendedLeaf,
    LogStore,
    Store,
    StoredCheckpoint,
    WriteTransaction,
)
from tests.helpers.log_check import expected_nodes
from tests.helpers.store_ops import commit_batch, note


def as_store(store: LogStore) -> Store:
    """Typed: mypy checks that LogStore implements the Store protocol."""
    return store


@dataclass(frozen=True)
class Kind:
    """One backend: how to open a store on it, and how to damage a stored node."""

    name: str
    persistent: bool
    open: Callable[[Path], Awaitable[LogStore]]
    damage: Callable[[LogStore, Path, Node], None]
    drop_checkpoint: Callable[[LogStore, Path, int], None]


async def open_sqlite(where: Path) -> LogStore:
    return await SqliteStore.open(where / "log.db")


def damage_sqlite(store: LogStore, where: Path, node: Node) -> None:
    # As someone with file access would (dropping the store's guard first).
    with closing(sqlite3.connect(where / "log.db")) as conn, conn:
        conn.execute("DROP TRIGGER merkle_node_no_update")
        conn.execute(
            "UPDATE merkle_node SET hash = zeroblob(32) WHERE level = ? AND idx = ?",
            node,
        )


def drop_sqlite_checkpoint(store: LogStore, where: Path, size: int) -> None:
    with closing(sqlite3.connect(where / "log.db")) as conn, conn:
        conn.execute("DROP TRIGGER checkpoint_no_delete")
        conn.execute("DELETE FROM checkpoint WHERE size = ?", (size,))


async def open_memory(where: Path) -> LogStore:
    return InMemoryStore()


def damage_memory(store: LogStore, where: Path, node: Node) -> None:
    backend = store.backend
    assert isinstance(backend, MemoryBackend)
    backend.rows.nodes[node] = bytes(32)


def drop_memory_checkpoint(store: LogStore, where: Path, size: int) -> None:
    backend = store.backend
    assert isinstance(backend, MemoryBackend)
    del backend.rows.checkpoints[size]


BACKENDS = [
    Kind("sqlite", True, open_sqlite, damage_sqlite, drop_sqlite_checkpoint),
    Kind("memory", False, open_memory, damage_memory, drop_memory_checkpoint),
]
PERSISTENT = [k for k in BACKENDS if k.persistent]


@pytest.fixture(params=BACKENDS, ids=[k.name for k in BACKENDS])
def kind(request: pytest.FixtureRequest) -> Kind:
    value: Kind = request.param
    return value


@pytest.fixture(params=PERSISTENT, ids=[k.name for k in PERSISTENT])
def persistent(request: pytest.FixtureRequest) -> Kind:
    value: Kind = request.param
    return value


@pytest.fixture
async def store(kind: Kind, tmp_path: Path) -> AsyncIterator[LogStore]:
    async with await kind.open(tmp_path) as s:
        yield s


async def all_nodes(store: LogStore) -> dict[Node, bytes]:
    """Every stored node of the tree, asserting that none lies beyond it."""
    size = await store.size()
    wanted = [Node(lv, i) for lv in range(size.bit_length()) for i in range(size >> lv)]
    found = await store.subtree_hashes(wanted)
    assert await store.node_count() == len(found), "nodes beyond the tree"
    return found


# --- the log against MemoryTree -----------------------------------------------


async def test_appends_and_proofs_agree_with_memory_tree(store: LogStore) -> None:
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
    assert await all_nodes(store) == expected_nodes(tree)
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


async def test_entries_are_paged_and_clamped_to_the_log(store: LogStore) -> None:
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
async def test_entries_reject_bad_ranges(store: LogStore, start: int, end: int) -> None:
    with pytest.raises(ValueError, match="start"):
        await store.entries(start, end)


@pytest.mark.parametrize("index", [-1, 3, 10**6], ids=["negative", "at-size", "far"])
async def test_entry_beyond_log_is_not_found(store: LogStore, index: int) -> None:
    await commit_batch(store, [b"a", b"b", b"c"])
    with pytest.raises(
        EntryNotFoundError, match=f"no entry {index} in a log of size 3"
    ):
        await store.entry(index)


# A log of 5 leaves. The first case is the subtle one: the inclusion path of
# the last leaf of a tree of 6 never reads leaf 5, so only an explicit size
# check stops a "proof" for a leaf that does not exist.
BEYOND: list[tuple[str, Callable[[Store], Awaitable[Any]], type[MerkleProofError]]] = [
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
    ("root-of-larger-tree", lambda s: s.root(6), MerkleProofError),
]


@pytest.mark.parametrize(
    ("call", "error"), [(c, e) for _, c, e in BEYOND], ids=[i for i, _, _ in BEYOND]
)
async def test_proofs_refuse_tree_size_beyond_log(
    store: LogStore,
    call: Callable[[Store], Awaitable[Any]],
    error: type[MerkleProofError],
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
        (lambda s: s.root(-1), MerkleProofError),
    ],
    ids=["index-at-size", "negative-index", "rollback", "negative-size"],
)
async def test_proofs_refuse_bad_arguments(
    store: LogStore,
    call: Callable[[Store], Awaitable[Any]],
    error: type[MerkleProofError],
) -> None:
    await commit_batch(store, [b"%d" % i for i in range(5)])
    with pytest.raises(error):
        await call(store)


# --- checkpoints --------------------------------------------------------------


async def test_checkpoint_of_empty_log(store: LogStore) -> None:
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
    store: LogStore, wrong: Callable[[int, bytes], tuple[int, bytes]]
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
    store: LogStore,
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
    store: LogStore,
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


# --- transactions -------------------------------------------------------------


async def test_exception_inside_write_rolls_back_everything(store: LogStore) -> None:
    await commit_batch(store, [b"a"], ["j0"])
    nodes_before = await all_nodes(store)
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
    assert await all_nodes(store) == nodes_before
    assert await store.latest_checkpoint() == cp_before
    assert await store.jti_index("j1") is None
    assert await store.get_meta("k") is None
    await commit_batch(store, [b"e"])  # the store still works
    assert await store.entries(0, 5) == [b"a", b"e"]


async def test_cancelled_write_rolls_back(store: LogStore) -> None:
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


async def test_duplicate_jti_rolls_back_the_whole_batch(store: LogStore) -> None:
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


async def test_duplicate_jti_within_one_batch_is_refused(store: LogStore) -> None:
    with pytest.raises(DuplicateJtiError, match="at the same batch") as caught:
        await commit_batch(store, [b"x", b"y"], ["twice", "twice"])
    assert caught.value.index is None
    assert await store.size() == 0


async def test_caught_error_still_dooms_the_transaction(store: LogStore) -> None:
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
    store: LogStore, jti: str, index: int
) -> None:
    async with store.write() as tx:
        await tx.append([b"a"])
        with pytest.raises(ValueError, match=r"jti is empty|not in the tree of size 1"):
            await tx.add_jti(jti, index)
        size, root = await tx.size(), await tx.root()
        await tx.put_checkpoint(size, root, b"n")  # a ValueError wrote nothing
    assert await store.size() == 1


async def test_transaction_is_unusable_after_its_block(store: LogStore) -> None:
    async with store.write() as tx:
        kept: WriteTransaction = tx
    with pytest.raises(StorageError, match="transaction is closed"):
        await kept.size()
    with pytest.raises(StorageError, match="transaction is closed"):
        await kept.append([b"late"])
    assert await store.size() == 0


async def test_nested_write_in_one_task_is_refused(store: LogStore) -> None:
    async with store.write():
        with pytest.raises(StorageError, match="already open in this task"):
            async with store.write():
                pass


async def test_reads_see_only_committed_data(store: LogStore) -> None:
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


async def test_meta_is_stored_and_replaced(store: LogStore) -> None:
    async with store.write() as tx:
        await tx.set_meta("origin", "a")
        await tx.set_meta("origin", "b")
        assert await tx.get_meta("origin") == "b"
    assert await store.get_meta("origin") == "b"
    assert await store.get_meta("missing") is None


# --- the root check -----------------------------------------------------------


async def test_damaged_merkle_node_is_never_signed_over(
    kind: Kind, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The entries are intact, but the store extends its tree from the stored
    # nodes: a damaged one would make the next checkpoint sign a root the
    # entries do not have.
    async with await kind.open(tmp_path) as store:
        await commit_batch(store, [b"a", b"b", b"c"])
        before = await store.latest_checkpoint()
        kind.damage(store, tmp_path, Node(1, 0))
        with (
            caplog.at_level(logging.CRITICAL),
            pytest.raises(
                CheckpointMismatchError, match="disagrees with the log's entries"
            ),
        ):
            await commit_batch(store, [b"d"])
        assert await store.size() == 3
        assert await store.latest_checkpoint() == before
    assert any(
        r.levelname == "CRITICAL" and "tree mismatch" in r.getMessage()
        for r in caplog.records
    )


async def test_leaves_beyond_the_latest_checkpoint_are_never_extended(
    kind: Kind, tmp_path: Path
) -> None:
    # Leaves no signed checkpoint covers cannot be told from forged ones: the
    # store refuses to build on them rather than sign over them.
    async with await kind.open(tmp_path) as store:
        await commit_batch(store, [b"a"])
        await commit_batch(store, [b"b", b"c"])
        kind.drop_checkpoint(store, tmp_path, 3)
        with pytest.raises(StorageError, match="3 leaves, latest checkpoint at size 1"):
            await commit_batch(store, [b"d"])
        assert await store.size() == 3


# --- persistence --------------------------------------------------------------


async def test_reopen_keeps_every_committed_row(
    persistent: Kind, tmp_path: Path
) -> None:
    async with await persistent.open(tmp_path) as store:
        await commit_batch(store, [b"a", b"b"], ["j1", "j2"])
        async with store.write() as tx:
            await tx.set_meta("origin", "registry.example/log")
        root = await store.root(2)
    async with await persistent.open(tmp_path) as store:
        assert await store.entries(0, 10) == [b"a", b"b"]
        assert await store.jti_index("j2") == 1
        assert await store.get_meta("origin") == "registry.example/log"
        assert await store.latest_checkpoint() == StoredCheckpoint(
            2, root, note(2, root)
        )
        assert await store.inclusion_proof(0, 2) == [leaf_hash(b"b")]
        assert await commit_batch(store, [b"c"]) == 3


# --- closing ------------------------------------------------------------------


async def test_close_lets_a_write_in_progress_finish(
    persistent: Kind, tmp_path: Path
) -> None:
    store = await persistent.open(tmp_path)
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
    async with await persistent.open(tmp_path) as again:
        assert await again.size() == 1


async def test_close_inside_write_rolls_it_back(
    persistent: Kind, tmp_path: Path
) -> None:
    store = await persistent.open(tmp_path)

    async def close_midway() -> None:
        async with store.write() as tx:
            await tx.append([b"a"])
            await store.close()
            await tx.root()

    with pytest.raises(StorageError, match="store was closed during the write"):
        await close_midway()
    async with await persistent.open(tmp_path) as again:
        assert await again.size() == 0


async def test_closed_store_raises_storage_error(kind: Kind, tmp_path: Path) -> None:
    store = await kind.open(tmp_path)
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StorageError, match="is closed"):
        await store.size()
    with pytest.raises(StorageError, match="is closed"):
        async with store.write():
            pass
