"""registry.history: checkpoints remembered, rollbacks and forks refused.

Answers are real (``tests.helpers.registry_answers``); the checkpoint file is
in the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from registry.answercheck import VerificationReport
from registry.checkpoint import Checkpoint
from registry.client import RegistryClient
from registry.errors import (
    CheckpointStoreError,
    ConsistencyUnavailableError,
    ForkError,
    RegistryError,
    RollbackError,
    SecurityError,
)
from registry.history import (
    CheckpointStore,
    TrustedCheckpoint,
    check_consistency,
    check_history,
)
from registry.merkle import MemoryTree
from registry.service import b64
from resolver.checks import CheckStatus
from tests.helpers.registry_answers import (
    REGISTRY,
    World,
    check,
    failed,
    verify,
)

# -- history: rollback, forks, consistency ----------------------------------------


async def verified(world: World, name: str) -> VerificationReport:
    report = await verify(world, world.copy(name))
    assert report.ok, failed(report)
    return report


async def test_check_history_trusts_first_checkpoint_and_remembers_it(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "conf" / "checkpoints.json")
    report = await verified(world, "entity5")
    await check_history(report, store)
    status, detail = check(report, "consistency")
    assert status is CheckStatus.SKIPPED
    assert "size 5 is trusted from now on" in detail
    assert report.ok
    kept = await store.get(REGISTRY)
    assert kept is not None
    assert (kept.size, kept.note) == (5, world.entity5["evidence"]["checkpoint"])
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert json.loads(store.path.read_text())[REGISTRY]["size"] == 5


async def test_check_history_accepts_same_checkpoint_again(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    report = await verified(world, "authorized")
    await check_history(report, store)
    assert check(report, "consistency") == (
        CheckStatus.PASSED,
        "same checkpoint as seen before (size 5)",
    )


async def test_check_history_accepts_extension_proven_by_the_answer(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    report = await verified(world, "entity6_proof")
    await check_history(report, store)
    assert report.ok
    assert check(report, "consistency") == (
        CheckStatus.PASSED,
        "size 6 extends size 5 seen before (proof from the answer)",
    )
    kept = await store.get(REGISTRY)
    assert kept is not None
    assert kept.size == 6


async def test_verify_demands_consistency_proof_offline(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    report = await verified(world, "entity6")
    await check_history(report, store)
    assert not report.ok
    assert isinstance(report.security_error, ConsistencyUnavailableError)
    assert "re-query with consistency_from=5 or pass --server" in str(
        report.security_error
    )
    kept = await store.get(REGISTRY)
    assert kept is not None
    assert kept.size == 5


async def test_check_history_fetches_missing_proof_from_server(
    world: World, tmp_path: Path, aiohttp_server: Any
) -> None:
    asked: list[dict[str, str]] = []

    async def consistency(request: web.Request) -> web.Response:
        asked.append(dict(request.query))
        return web.json_response(
            {"first": 5, "second": 6, "proof": [b64(h) for h in world.proof_5_6]}
        )

    app = web.Application()
    app.router.add_get("/registry/v1/log/proof/consistency", consistency)
    server = await aiohttp_server(app)
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    report = await verified(world, "entity6")
    base = str(server.make_url("/"))
    async with RegistryClient() as client:
        await check_history(report, store, proofs=client.proofs_from(base))
    assert report.ok, failed(report)
    assert asked == [{"first": "5", "second": "6"}]
    assert check(report, "consistency")[1].endswith(f"(proof from {base})")


async def test_verify_rejects_rollback(world: World, tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    await check_history(await verified(world, "entity6_proof"), store)
    report = await verified(world, "entity5")
    await check_history(report, store)
    assert not report.ok
    assert isinstance(report.security_error, RollbackError)
    assert failed(report) == {
        "consistency": "the registry log was rolled back: checkpoint size 5 is "
        "smaller than size 6 seen before"
    }
    kept = await store.get(REGISTRY)
    assert kept is not None
    assert kept.size == 6


async def test_verify_rejects_fork_same_size(world: World, tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    report = await verified(world, "fork5")  # validly signed by the same key
    await check_history(report, store)
    assert not report.ok
    assert isinstance(report.security_error, ForkError)
    assert "two checkpoints of size 5 with different roots" in str(
        report.security_error
    )
    kept = await store.get(REGISTRY)
    assert kept is not None
    assert kept.note == world.entity5["evidence"]["checkpoint"]


async def test_verify_rejects_fork_bad_consistency_proof(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    # B's proof from its own size 5 to its size 6: valid for B, not from A.
    report = await verified(world, "fork6_proof")
    await check_history(report, store)
    assert not report.ok
    assert isinstance(report.security_error, ForkError)
    assert "size 6 is not an extension of size 5" in str(report.security_error)


async def test_check_history_does_not_remember_a_failed_answer(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    answer = world.copy("entity5")
    answer["accreditations"][0]["status"] = "revoked"
    report = await verify(world, answer)
    await check_history(report, store)
    assert not report.ok
    assert await store.get(REGISTRY) is None
    assert not store.path.exists()


async def test_check_history_fork_detected_even_when_answer_fails(
    world: World, tmp_path: Path
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await check_history(await verified(world, "entity5"), store)
    answer = world.copy("fork5")
    answer["isRoot"] = True
    report = await verify(world, answer)
    await check_history(report, store)
    assert isinstance(report.security_error, ForkError)


def memory_tree(leaves: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for leaf in leaves:
        tree.append(leaf)
    return tree


LOG = [f"leaf {i}".encode() for i in range(8)]
OTHER = [*LOG[:3], b"forged", *LOG[4:]]


def trusted(tree: MemoryTree, size: int) -> TrustedCheckpoint:
    return TrustedCheckpoint("log.example", size, tree.root(size))


def cp_of(tree: MemoryTree, size: int) -> Checkpoint:
    return Checkpoint("log.example", size, tree.root(size))


@pytest.mark.parametrize(
    ("old", "new", "proof_from", "error", "match"),
    [
        (5, 8, "good", None, None),
        (5, 5, None, None, None),
        (6, 5, None, RollbackError, "rolled back: checkpoint size 5 is smaller"),
        (5, 5, "other-root", ForkError, "two checkpoints of size 5"),
        (4, 8, "other-root", ForkError, "size 8 is not an extension of size 4"),
        (5, 8, "short", ForkError, "not an extension"),
        (5, 8, None, ConsistencyUnavailableError, "consistency_from=5"),
    ],
    ids=[
        "extension",
        "same",
        "rollback",
        "fork-same-size",
        "fork-after-prefix",
        "truncated-proof",
        "no-proof",
    ],
)
def test_check_consistency(
    old: int,
    new: int,
    proof_from: str | None,
    error: type[SecurityError] | None,
    match: str | None,
) -> None:
    honest, forked = memory_tree(LOG), memory_tree(OTHER)
    newer = forked if proof_from == "other-root" else honest
    proof: list[bytes] | None = None
    if proof_from is not None and old < new:
        proof = newer.consistency_proof(old, new)
        if proof_from == "short":
            proof = proof[:-1]
    if error is None:
        check_consistency(trusted(honest, old), cp_of(newer, new), proof)
        return
    with pytest.raises(error, match=match):
        check_consistency(trusted(honest, old), cp_of(newer, new), proof)


def test_check_consistency_refuses_checkpoints_of_two_logs() -> None:
    tree = memory_tree(LOG)
    with pytest.raises(ValueError, match="checkpoints of"):
        check_consistency(
            trusted(tree, 3), Checkpoint("elsewhere.example", 4, tree.root(4)), None
        )


def test_security_errors_are_registry_errors() -> None:
    for error in (RollbackError, ForkError, ConsistencyUnavailableError):
        assert issubclass(error, SecurityError)
    assert issubclass(SecurityError, RegistryError)


# -- the checkpoint store ---------------------------------------------------------


async def test_checkpoint_store_never_moves_backwards(tmp_path: Path) -> None:
    tree = memory_tree(LOG)
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await store.remember(cp_of(tree, 6), "note 6")
    await store.remember(cp_of(tree, 4), "note 4")
    kept = await store.get("log.example")
    assert kept == TrustedCheckpoint("log.example", 6, tree.root(6), "note 6")


async def test_checkpoint_store_refuses_same_size_other_root(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await store.remember(cp_of(memory_tree(LOG), 5))
    with pytest.raises(ForkError):
        await store.remember(cp_of(memory_tree(OTHER), 5))


async def test_checkpoint_store_keeps_other_origins(tmp_path: Path) -> None:
    tree = memory_tree(LOG)
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await store.remember(Checkpoint("a.example", 2, tree.root(2)))
    await store.remember(Checkpoint("b.example", 3, tree.root(3)))
    assert set(json.loads(store.path.read_text())) == {"a.example", "b.example"}
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


async def test_checkpoint_store_refuses_file_others_can_write(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    await store.remember(cp_of(memory_tree(LOG), 5))
    os.chmod(store.path, 0o666)  # noqa: S103 -- the mistake under test
    with pytest.raises(CheckpointStoreError, match="writable by other users"):
        await store.get("log.example")


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"log.example": {"size": "5", "root": ""}}',
        '{"log.example": {"size": 5, "root": "AAAA"}}',
        '{"log.example": {"size": -1, "root": "' + "A" * 43 + '="}}',
        "{not json",
    ],
    ids=["list", "size-text", "short-root", "negative-size", "broken"],
)
async def test_checkpoint_store_rejects_malformed_file(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "checkpoints.json"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(CheckpointStoreError, match="malformed"):
        await CheckpointStore(path).get("log.example")


async def test_checkpoint_store_missing_file_is_empty(tmp_path: Path) -> None:
    assert await CheckpointStore(tmp_path / "none.json").get("log.example") is None


async def test_waiting_for_the_store_lock_does_not_block_the_event_loop(
    tmp_path: Path,
) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    tree = memory_tree(LOG)
    # Another holder of the file lock (flock locks conflict between open files,
    # so a second descriptor in this process contends like another process).
    lock_fd = os.open(tmp_path / "checkpoints.json.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    release = threading.Event()
    released = threading.Event()

    def holder() -> None:
        # Released when the test says so; a loop blocked by remember() cannot
        # say so, and the fallback then frees it so the test fails, not hangs.
        release.wait(timeout=10)
        released.set()
        os.close(lock_fd)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        remembering = asyncio.create_task(store.remember(cp_of(tree, 6), "note 6"))
        progress = 0
        for _ in range(50):
            await asyncio.sleep(0)
            progress += 1
        # This coroutine ran while the lock was held and remember() waited.
        assert not released.is_set(), "the event loop was blocked by the lock"
        assert progress == 50
        assert not remembering.done()
        assert await store.get("log.example") is None
        release.set()
        await asyncio.wait_for(remembering, timeout=10)
    finally:
        release.set()
        thread.join()
    assert await store.get("log.example") == TrustedCheckpoint(
        "log.example", 6, tree.root(6), "note 6"
    )
