"""The registry service (registry.service) on a real SQLite file.

Statements are really signed (tests/helpers/registry.py) and their keys
resolved with the project's did:key and did:jwk drivers; the clock is a
``Clock`` the tests move, so years of accreditations replay in milliseconds.
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from registry.checkpoint import open_checkpoint
from registry.errors import (
    NotAuthorizedError,
    NotInitializedError,
    RegistryError,
    ReplayError,
    ScopeWideningError,
    ServiceUnavailableError,
    StorageError,
    UnknownEntityError,
    UnknownKeyError,
    WrongAudienceError,
)
from registry.identity import RegistryIdentity
from registry.memory import InMemoryStore
from registry.merkle import leaf_hash, verify_inclusion
from registry.service import Receipt, RegistryService
from registry.sqlite import SqliteStore
from registry.state import RegistryState
from registry.views import parse_entry
from resolver.did import DID
from tests.helpers.clock import T2021, Clock
from tests.helpers.registry import (
    ACCREDITOR,
    ROOT,
    STRANGER,
    UNIVERSITY,
    DidResolver,
    init_registry,
    make_statement,
)
from tests.helpers.registry_service import (
    ACCREDIT_DIPLOMAS,
    DB_NAME,
    Registry,
    close_service,
    open_service,
)


def verify_receipt(receipt: Receipt, identity: RegistryIdentity) -> None:
    """The receipt's proof leads to the root of its own signed checkpoint."""
    checkpoint = open_checkpoint(
        receipt.checkpoint.note, identity.note_verifier(), origin=identity.origin
    )
    assert checkpoint.size == receipt.checkpoint.size
    assert checkpoint.root_hash == receipt.checkpoint.root_hash
    verify_inclusion(
        receipt.leaf_hash,
        receipt.index,
        checkpoint.size,
        receipt.inclusion_proof,
        checkpoint.root_hash,
    )


async def accredit_accreditor(reg: Registry) -> Receipt:
    return await reg.service.submit(
        reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    )


# -- submit --------------------------------------------------------------------


async def test_submit_returns_a_receipt_that_verifies_against_its_checkpoint(
    registry,
):
    jws = registry.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    receipt = await registry.service.submit(jws)

    assert receipt.index == 1
    assert receipt.checkpoint.size == 2
    assert receipt.integrated_time == registry.clock.instant
    verify_receipt(receipt, registry.identity)
    # The leaf is the statement verbatim, and the receipt names its hash.
    stored = await registry.store.entry(1)
    assert leaf_hash(stored) == receipt.leaf_hash
    entry = parse_entry(stored)
    assert entry.type == "statement"
    assert entry.jws == jws
    latest = await registry.store.latest_checkpoint()
    assert latest == receipt.checkpoint
    served = receipt.to_json()
    assert served["index"] == 1
    assert served["treeSize"] == 2
    assert served["checkpoint"] == receipt.checkpoint.note.decode()


async def test_submit_through_an_accreditor_chain_and_a_p256_key(registry):
    await accredit_accreditor(registry)
    registry.clock.advance(60)
    receipt = await registry.service.submit(
        registry.statement(ACCREDITOR, sub=UNIVERSITY.did)
    )
    verify_receipt(receipt, registry.identity)
    # The university signs with ES256 (P-256): it may not accredit anyone.
    with pytest.raises(NotAuthorizedError, match="may not accredit"):
        await registry.service.submit(registry.statement(UNIVERSITY, sub=STRANGER.did))
    answer = await registry.service.entity(UNIVERSITY.did)
    chain = answer["accreditations"][0]["chain"]
    assert [(c["subject"], c["authority"]) for c in chain] == [
        (UNIVERSITY.did, ACCREDITOR.did),
        (ACCREDITOR.did, ROOT.did),
    ]


async def test_concurrent_submits_are_batched_under_fewer_checkpoints(registry):
    statements = [
        registry.statement(ROOT, sub=f"did:example:university-{i:03d}")
        for i in range(200)
    ]

    receipts = await asyncio.gather(*(registry.service.submit(s) for s in statements))

    assert sorted(r.index for r in receipts) == list(range(1, 201))
    assert await registry.store.size() == 201
    checkpoints = [await registry.store.checkpoint_at(n) for n in range(1, 202)]
    count = sum(cp is not None for cp in checkpoints)
    # One checkpoint for init, then one per batch: strictly fewer than 200.
    assert 2 <= count < 1 + 200
    assert checkpoints[-1] is not None
    for receipt in receipts:
        verify_receipt(receipt, registry.identity)
    # Every receipt names a checkpoint that was stored for its tree size.
    for receipt in receipts:
        assert await registry.store.checkpoint_at(receipt.checkpoint.size) == (
            receipt.checkpoint
        )


async def test_statements_of_one_batch_see_each_other(registry):
    """An accreditor accredited earlier in the same batch may accredit."""
    first = registry.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    second = registry.statement(ACCREDITOR, sub=UNIVERSITY.did)
    replay = first  # the same jti, queued in the same batch

    results = await asyncio.gather(
        registry.service.submit(first),
        registry.service.submit(second),
        registry.service.submit(replay),
        return_exceptions=True,
    )

    assert isinstance(results[0], Receipt)
    assert isinstance(results[1], Receipt)
    assert isinstance(results[2], ReplayError)
    assert await registry.store.size() == 3


# -- refusals write nothing ------------------------------------------------------


async def test_refused_statement_writes_nothing(registry):
    await accredit_accreditor(registry)
    before_size = await registry.store.size()
    before = await registry.store.latest_checkpoint()

    refusals = [
        (
            WrongAudienceError,
            registry.statement(ROOT, sub=UNIVERSITY.did, aud="did:web:other.example"),
        ),
        (
            ScopeWideningError,
            registry.statement(
                ACCREDITOR, sub=UNIVERSITY.did, resources=("Diploma", "Transcript")
            ),
        ),
        (NotAuthorizedError, registry.statement(STRANGER, sub=UNIVERSITY.did)),
        (
            UnknownKeyError,
            registry.statement(ROOT, sub=UNIVERSITY.did, kid=ROOT.did + "#other-key"),
        ),
    ]
    for error, jws in refusals:
        with pytest.raises(error):
            await registry.service.submit(jws)

    assert await registry.store.size() == before_size
    assert await registry.store.latest_checkpoint() == before
    assert registry.service.state.size == before_size
    with pytest.raises(UnknownEntityError):
        await registry.service.entity(UNIVERSITY.did)


async def test_replayed_statement_is_refused_and_not_written_twice(registry):
    jws = registry.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    await registry.service.submit(jws)
    with pytest.raises(ReplayError, match="already used"):
        await registry.service.submit(jws)
    assert await registry.store.size() == 2


# -- the state is a replay of the log ----------------------------------------------


async def test_state_rebuilt_from_store_entries_equals_live_state(registry):
    clock, service = registry.clock, registry.service
    await accredit_accreditor(registry)
    clock.advance(3600)
    await service.submit(
        registry.statement(
            ACCREDITOR,
            sub=UNIVERSITY.did,
            subject={"name": "University of Testing", "country": "NL"},
        )
    )
    clock.advance(86400 * 200)
    await service.submit(
        registry.statement(
            ACCREDITOR, sub=UNIVERSITY.did, act="suspend", reason="audit"
        )
    )
    clock.advance(86400 * 30)
    await service.submit(
        registry.statement(ACCREDITOR, sub=UNIVERSITY.did, act="reinstate")
    )
    clock.advance(86400 * 365)
    await service.submit(
        registry.statement(ROOT, sub=ACCREDITOR.did, act="revoke", reason="fraud")
    )
    end = clock.instant

    raw = await registry.store.entries(0, await registry.store.size())
    rebuilt = RegistryState.from_entries(parse_entry(data) for data in raw)

    live = service.state
    assert rebuilt.size == live.size == 6
    instants = [T2021 + timedelta(days=d) for d in (-1, 0, 1, 100, 215, 240, 600)]
    instants.append(end)
    for at in instants:
        for did in (ROOT.did, ACCREDITOR.did, UNIVERSITY.did, STRANGER.did):
            assert rebuilt.entity(did, at) == live.entity(did, at), (did, at)
        assert rebuilt.authorized(
            UNIVERSITY.did, ROOT.did, "issue", "Diploma", at
        ) == live.authorized(UNIVERSITY.did, ROOT.did, "issue", "Diploma", at)
    # The replay is not trivially equal: the university's status changes.
    suspended = rebuilt.entity(UNIVERSITY.did, T2021 + timedelta(days=215))
    assert suspended is not None
    assert suspended.accreditations[0].status == "suspended"
    assert not rebuilt.authorized(UNIVERSITY.did, ROOT.did, "issue", "Diploma", end)
    assert rebuilt.authorized(
        UNIVERSITY.did, ROOT.did, "issue", "Diploma", T2021 + timedelta(days=100)
    )


# -- several workers on one database ---------------------------------------------


async def test_two_services_on_one_file_see_each_others_writes(registry):
    other = await open_service(
        registry.path, registry.identity, registry.clock, sync_interval=0
    )
    try:
        with pytest.raises(UnknownEntityError):
            await other.entity(ACCREDITOR.did)
        await accredit_accreditor(registry)

        answer = await other.entity(ACCREDITOR.did)
        assert answer["roles"] == ["accreditor"]
        assert answer["evidence"]["treeSize"] == 2

        # A write through the second one builds on the first one's entry...
        registry.clock.advance(10)
        receipt = await other.submit(registry.statement(ACCREDITOR, sub=UNIVERSITY.did))
        assert receipt.index == 2
        verify_receipt(receipt, registry.identity)
        # ...and the first one sees it after its sync interval.
        registry.service.sync_interval = 0
        answer = await registry.service.entity(UNIVERSITY.did)
        assert answer["roles"] == ["issuer"]
        # Both refuse a replay of the other's statement.
        with pytest.raises(ReplayError):
            await registry.service.submit(stored_jws(await registry.store.entry(2)))
    finally:
        await close_service(other)


def stored_jws(raw: bytes) -> str:
    entry = parse_entry(raw)
    assert entry.type == "statement"
    return entry.jws


async def test_two_services_interleaving_reads_and_writes_stay_consistent(registry):
    """Reads catching up while the other worker's writer catches up too."""
    other = await open_service(
        registry.path, registry.identity, registry.clock, sync_interval=0
    )
    try:
        await accredit_accreditor(registry)
        failures: list[BaseException] = []

        async def read() -> None:
            for _ in range(5):
                try:
                    await other.entity(ACCREDITOR.did)
                except Exception as exc:  # collected and asserted below
                    failures.append(exc)
                await asyncio.sleep(0)

        for round_ in range(8):
            await asyncio.gather(
                *(
                    registry.service.submit(
                        registry.statement(ROOT, sub=f"did:example:a{round_}-{i}")
                    )
                    for i in range(4)
                )
            )
            await asyncio.gather(
                other.submit(registry.statement(ROOT, sub=f"did:example:b{round_}")),
                read(),
                read(),
            )

        assert failures == []
        assert await registry.store.size() == 1 + 1 + 8 * 5
        assert other.state.size == await registry.store.size()
    finally:
        await close_service(other)


async def test_queries_during_a_commit_never_see_unproven_leaves(registry):
    """A query racing the writer answers from committed, provable entries only."""
    await accredit_accreditor(registry)
    outcomes: list[object] = []

    async def query() -> None:
        for _ in range(40):
            try:
                answer = await registry.service.entity(UNIVERSITY.did)
            except UnknownEntityError:
                outcomes.append("unknown")
            except RegistryError as exc:
                outcomes.append(exc)
            else:
                size = answer["evidence"]["treeSize"]
                assert all(int(i) < size for i in answer["evidence"]["leaves"])
                outcomes.append("known")
            await asyncio.sleep(0)

    submit = registry.service.submit(registry.statement(ACCREDITOR, sub=UNIVERSITY.did))
    await asyncio.gather(query(), submit, query())

    assert [o for o in outcomes if not isinstance(o, str)] == []
    assert "known" in outcomes


async def test_answers_with_more_leaves_than_the_proof_cache_holds(
    tmp_path: Path,
) -> None:
    identity = await init_registry(tmp_path)
    clock = Clock()
    service = await open_service(
        tmp_path / DB_NAME, identity, clock, proof_cache_size=1
    )
    try:
        aud = str(identity.did)
        await service.submit(
            make_statement(
                ROOT,
                aud=aud,
                sub=ACCREDITOR.did,
                iat=clock.iat,
                actions=ACCREDIT_DIPLOMAS,
            )
        )
        await service.submit(
            make_statement(ACCREDITOR, aud=aud, sub=UNIVERSITY.did, iat=clock.iat)
        )
        for _ in range(2):  # cold, then with one proof cached
            answer = await service.entity(UNIVERSITY.did)
            checkpoint = open_checkpoint(
                answer["evidence"]["checkpoint"].encode(),
                identity.note_verifier(),
                origin=identity.origin,
            )
            for index, leaf in answer["evidence"]["leaves"].items():
                verify_inclusion(
                    leaf_hash(leaf["entry"].encode()),
                    int(index),
                    checkpoint.size,
                    [base64.b64decode(h) for h in leaf["inclusionProof"]],
                    checkpoint.root_hash,
                )
            assert set(answer["evidence"]["leaves"]) == {"0", "1", "2"}
    finally:
        await close_service(service)


# -- lifecycle -------------------------------------------------------------------


async def test_stop_drains_queued_statements(registry):
    service = registry.service
    statements = [
        registry.statement(ROOT, sub=f"did:example:queued-{i}") for i in range(20)
    ]
    tasks = [asyncio.create_task(service.submit(s)) for s in statements]
    # One turn of the loop: each task verifies its statement and queues it.
    await asyncio.sleep(0)
    assert registry.resolver.calls == len(statements)

    await service.stop()

    receipts = await asyncio.gather(*tasks)
    assert sorted(r.index for r in receipts) == list(range(1, 21))
    assert await registry.store.size() == 21
    with pytest.raises(ServiceUnavailableError):
        await service.submit(registry.statement(ROOT, sub="did:example:late"))
    assert await registry.store.size() == 21


class GatedResolver(DidResolver):
    """Resolves only once the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def __call__(self, did: DID) -> dict[str, Any]:
        document = await super().__call__(did)
        await self.gate.wait()
        return document


async def test_statement_resolving_while_the_service_stops_is_refused_not_lost(
    tmp_path: Path,
) -> None:
    identity = await init_registry(tmp_path)
    clock = Clock()
    resolver = GatedResolver()
    service = await open_service(tmp_path / DB_NAME, identity, clock, resolver)
    jws = make_statement(ROOT, aud=str(identity.did), sub=ACCREDITOR.did, iat=clock.iat)
    try:
        task = asyncio.create_task(service.submit(jws))
        await asyncio.sleep(0)
        assert resolver.calls == 1  # the kid is being resolved
        await service.stop()
        resolver.gate.set()
        with pytest.raises(ServiceUnavailableError):
            await asyncio.wait_for(task, timeout=5)
    finally:
        await close_service(service)


async def test_service_refuses_the_database_of_another_registry(registry):
    stranger = RegistryIdentity.for_key(SigningKey(b"\x07" * 32))
    store = await SqliteStore.open(registry.path)
    service = RegistryService(
        store=store, identity=stranger, resolve=DidResolver(), clock=registry.clock
    )
    try:
        with pytest.raises(RegistryError, match="belongs to"):
            await service.start()
        with pytest.raises(ServiceUnavailableError):
            await service.submit(registry.statement(ROOT, sub=ACCREDITOR.did))
    finally:
        await close_service(service)
    assert await registry.store.size() == 1


async def test_service_runs_over_the_in_memory_store(tmp_path: Path) -> None:
    # The seam end to end: the service needs only the Store protocol. The
    # genesis log is copied into memory through the store API.
    identity = await init_registry(tmp_path)
    memory = InMemoryStore()
    async with await SqliteStore.open(tmp_path / DB_NAME) as disk:
        checkpoint = await disk.latest_checkpoint()
        assert checkpoint is not None
        async with memory.write() as tx:
            await tx.append(await disk.entries(0, checkpoint.size))
            await tx.put_checkpoint(
                checkpoint.size, checkpoint.root_hash, checkpoint.note
            )
    clock = Clock()
    service = RegistryService(
        store=memory, identity=identity, resolve=DidResolver(), clock=clock
    )
    await service.start()
    try:
        receipt = await service.submit(
            make_statement(
                ROOT,
                aud=str(identity.did),
                sub=ACCREDITOR.did,
                iat=clock.iat,
                actions=ACCREDIT_DIPLOMAS,
            )
        )
        verify_receipt(receipt, identity)
        assert await memory.size() == 2
        assert await service.log_inclusion(1, 2) == (
            receipt.leaf_hash,
            receipt.inclusion_proof,
        )
    finally:
        await close_service(service)


async def test_service_on_an_empty_database_is_not_initialized(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / DB_NAME)
    identity = RegistryIdentity.for_key(SigningKey(b"\x08" * 32))
    service = RegistryService(store=store, identity=identity, resolve=DidResolver())
    try:
        with pytest.raises(NotInitializedError, match="registry init"):
            await service.start()
    finally:
        await close_service(service)


async def test_time_travel_answers_as_of_the_requested_instant(registry):
    clock, service = registry.clock, registry.service
    await accredit_accreditor(registry)
    clock.advance(86400)
    await service.submit(registry.statement(ACCREDITOR, sub=UNIVERSITY.did))
    accredited_at = clock.instant
    clock.set(datetime(2024, 6, 1, tzinfo=accredited_at.tzinfo))
    await service.submit(
        registry.statement(ROOT, sub=ACCREDITOR.did, act="revoke", reason="fraud")
    )

    then = await service.entity(UNIVERSITY.did, accredited_at + timedelta(days=300))
    now = await service.entity(UNIVERSITY.did)

    assert then["roles"] == ["issuer"]
    assert then["accreditations"][0]["effective"] is True
    assert now["roles"] == []
    assert now["accreditations"][0]["effective"] is False
    assert now["accreditations"][0]["chain"] == []
    # Both carry proofs to the same, current checkpoint.
    assert then["evidence"]["checkpoint"] == now["evidence"]["checkpoint"]
    assert set(now["evidence"]["leaves"]) >= {"0", "1", "2", "3"}


async def test_service_refuses_a_log_whose_leaf_was_rewritten_behind_its_back(
    registry: Registry,
):
    await registry.service.submit(
        registry.statement(
            sub=ACCREDITOR.did,
            act="accredit",
            role="accreditor",
            scope={"actions": list(ACCREDIT_DIPLOMAS), "resources": ["Diploma"]},
        )
    )
    await close_service(registry.service)
    # Someone with file access edits a leaf (dropping the store's guard first).
    # The edit keeps the entry well formed (only its integrated time changes),
    # so only the Merkle root can tell.
    with sqlite3.connect(registry.path) as conn:
        (data,) = conn.execute("SELECT data FROM leaf WHERE idx = 1").fetchone()
        edited = bytes(data).replace(b'"integratedTime":"20', b'"integratedTime":"19')
        assert edited != bytes(data)
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master"
            " WHERE type = 'trigger' AND tbl_name = 'leaf'"
        ).fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE leaf SET data = ? WHERE idx = 1", (edited,))
    with pytest.raises(StorageError, match="disagrees with the stored leaves"):
        await open_service(registry.path, registry.identity, registry.clock)


async def test_service_refuses_to_sign_over_a_damaged_merkle_node_table(
    registry: Registry, caplog: pytest.LogCaptureFixture
):
    # The entries are intact, so a replay at startup agrees with the checkpoint;
    # but the store extends its tree from the stored nodes, and a damaged one
    # would make the next checkpoint sign a root the entries do not have.
    await accredit_accreditor(registry)
    await close_service(registry.service)
    with sqlite3.connect(registry.path) as conn:
        conn.execute("DROP TRIGGER merkle_node_no_update")
        conn.execute(
            "UPDATE merkle_node SET hash = zeroblob(32) WHERE level = 1 AND idx = 0"
        )
    service = await open_service(registry.path, registry.identity, registry.clock)
    try:
        before = await service.checkpoint()
        with pytest.raises(StorageError, match="disagrees with the log's entries"):
            await service.submit(
                registry.statement(ACCREDITOR, sub="did:web:uni.example")
            )
        after = await service.checkpoint()
        assert (after.size, after.root_hash) == (before.size, before.root_hash)
        assert await service.store.size() == before.size
    finally:
        await close_service(service)
    assert any(
        r.levelname == "CRITICAL" and "tree mismatch" in r.getMessage()
        for r in caplog.records
    )
