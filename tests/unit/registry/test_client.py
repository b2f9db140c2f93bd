"""registry.client: offline verification of registry answers, and log history.

The answers are real: a SqliteStore in a temporary directory, a RegistryService
with a fixed clock, statements signed by did:key authorities with fixed seeds
(root → board, an accreditor → university, an issuer). The attacker is a
registry: it holds its own key, so it can re-sign checkpoints over a forged
log, but not the authorities' keys. Every clock value is fixed.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from aiohttp import web
from nacl.signing import SigningKey

from drivers.jwk import build_document as jwk_document
from drivers.key import build_document as key_document
from registry.answers import sign_answer
from registry.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from registry.client import (
    AnswerFormatError,
    CheckpointStore,
    CheckpointStoreError,
    CheckStatus,
    ConsistencyUnavailableError,
    FetchError,
    ForkError,
    RollbackError,
    SecurityError,
    TrustedCheckpoint,
    VerificationReport,
    check_consistency,
    check_history,
    fetch_answer,
    fetch_consistency,
    parse_answer_text,
    verify_answer_document,
)
from registry.errors import RegistryError
from registry.identity import RegistryIdentity
from registry.merkle import MemoryTree
from registry.models import GovernanceFramework, format_time, parse_time
from registry.service import RegistryService, b64, genesis_leaf
from registry.sqlite import SqliteStore
from registry.statements import sign_statement
from resolver.did import DID, parse_did
from resolver.errors import InvalidDIDError, MethodNotSupportedError, NotFoundError
from resolver.keys import encode_multikey

T0 = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)
STEP = 60
TTL = timedelta(minutes=5)
GOVERNANCE = GovernanceFramework(
    uri="https://registry.example/governance", sha256="ab" * 32
)
ACCREDITOR_SCOPE = {"actions": ["accredit", "issue"], "resources": ["Diploma", "Badge"]}
ISSUER_SCOPE = {"actions": ["issue"], "resources": ["Diploma"]}


def signing_key(n: int) -> SigningKey:
    return SigningKey(bytes([n]) * 32)


@dataclass(frozen=True)
class Authority:
    key: SigningKey

    @property
    def did(self) -> str:
        return "did:key:" + encode_multikey("ed25519-pub", bytes(self.key.verify_key))

    @property
    def kid(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"


ROOT = Authority(signing_key(1))
BOARD = Authority(signing_key(2))
UNI = Authority(signing_key(3))
COLLEGE = Authority(signing_key(4))
SCHOOL = Authority(signing_key(5))
IDENTITY = RegistryIdentity.for_key(signing_key(100))
REGISTRY = str(IDENTITY.did)


async def resolve(did: DID) -> dict[str, Any]:
    """did:key and did:jwk, the way the CLI resolves offline."""
    if did.method == "key":
        return key_document(
            did, public_key_format="Multikey", enable_encryption_key_derivation=False
        )
    if did.method == "jwk":
        return jwk_document(did)
    raise MethodNotSupportedError(f"did:{did.method} is not resolved offline")


class LiveRegistry:
    """A RegistryService over a real SqliteStore, with a clock the test moves."""

    def __init__(self, path: Path, identity: RegistryIdentity, tag: str) -> None:
        self.path = path
        self.identity = identity
        self.tag = tag
        self.clock = T0.timestamp()
        self.serial = 0

    async def __aenter__(self) -> LiveRegistry:
        self.store = await SqliteStore.open(self.path)
        leaf = genesis_leaf(
            identity=self.identity,
            root=parse_did(ROOT.did),
            governance=GOVERNANCE,
            max_depth=3,
            now=T0,
        )
        async with self.store.write() as tx:
            await tx.append([leaf])
            root = await tx.root()
            note = sign_checkpoint(
                Checkpoint(origin=self.identity.origin, size=1, root_hash=root),
                self.identity.note_signer(),
            )
            await tx.put_checkpoint(1, root, note)
        self.service = RegistryService(
            store=self.store,
            identity=self.identity,
            resolve=resolve,
            clock=lambda: self.clock,
        )
        await self.service.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.service.stop()
        await self.store.close()

    async def submit(
        self, by: Authority, sub: Authority, act: str, **fields: Any
    ) -> int:
        self.clock += STEP
        self.serial += 1
        claims = {
            "iss": by.did,
            "sub": sub.did,
            "act": act,
            "aud": str(self.identity.did),
            "iat": int(self.clock),
            "jti": f"{self.tag}-statement-{self.serial:04d}",
            **fields,
        }
        jws = sign_statement(claims, private_key=by.key, kid=by.kid)
        return (await self.service.submit(jws)).index

    def sign(self, answer: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        at = answer.get("at") or answer.get("time_requested")
        evaluated = self.service.now()
        return sign_answer(
            answer,
            identity=self.identity,
            query=query,
            at=parse_time(at) if at else evaluated,
            evaluated=evaluated,
            ttl=TTL,
            checkpoint={
                "origin": self.identity.origin,
                "size": answer["evidence"]["treeSize"],
                "note": answer["evidence"]["checkpoint"],
            },
        )


def entity_query(answer: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "entity", "entity_id": answer["entity"], "at": answer["at"]}


def trqp(entity: Authority, resource: str = "Diploma") -> dict[str, Any]:
    return {
        "entity_id": entity.did,
        "authority_id": ROOT.did,
        "action": "issue",
        "resource": resource,
    }


@dataclass
class World:
    """Answers of registry A (and of B, a fork of it under the same key)."""

    did: str
    key: bytes
    now: datetime
    entity5: dict[str, Any]
    entity5_jws: str
    authorized: dict[str, Any]
    authorized_jws: str
    refused: dict[str, Any]
    recognized: dict[str, Any]
    root_entity: dict[str, Any]
    entity6: dict[str, Any]
    entity6_proof: dict[str, Any]
    fork5: dict[str, Any]
    fork6_proof: dict[str, Any]
    entries5: list[bytes]
    proof_5_6: list[bytes]
    extra: dict[str, Any] = field(default_factory=dict)

    def copy(self, name: str) -> Any:
        return copy.deepcopy(getattr(self, name))


async def build_world(tmp: Path, identity: RegistryIdentity = IDENTITY) -> World:
    """Registry A: five leaves, then six; registry B: a fork with the same key."""
    async with LiveRegistry(tmp / "a.sqlite", identity, "a") as a:
        await a.submit(
            ROOT, BOARD, "accredit", role="accreditor", scope=ACCREDITOR_SCOPE
        )
        await a.submit(
            BOARD,
            UNI,
            "accredit",
            role="issuer",
            scope=ISSUER_SCOPE,
            subject={"name": "University", "country": "NL"},
        )
        await a.submit(BOARD, UNI, "suspend", reason="audit")
        await a.submit(BOARD, UNI, "reinstate", reason="audit passed")
        a.clock += STEP
        entity5 = await a.service.entity(UNI.did)
        authorized = await a.service.authorization(trqp(UNI))
        refused = await a.service.authorization(trqp(UNI, "Badge"))
        recognized = await a.service.recognition(trqp(BOARD))
        root_entity = await a.service.entity(ROOT.did)
        now = a.service.now()
        entity5_jws = a.sign(entity5, entity_query(entity5))
        authorized_jws = a.sign(authorized, {"type": "authorization", **trqp(UNI)})
        entries5 = await a.store.entries(0, 5)
        await a.submit(ROOT, COLLEGE, "accredit", role="issuer", scope=ISSUER_SCOPE)
        entity6 = await a.service.entity(UNI.did)
        entity6_proof = await a.service.entity(UNI.did, consistency_from=5)
        proof_5_6 = await a.store.consistency_proof(5, 6)
    async with LiveRegistry(tmp / "b.sqlite", identity, "b") as b:
        await b.submit(
            ROOT, BOARD, "accredit", role="accreditor", scope=ACCREDITOR_SCOPE
        )
        await b.submit(BOARD, UNI, "accredit", role="issuer", scope=ISSUER_SCOPE)
        await b.submit(BOARD, COLLEGE, "accredit", role="issuer", scope=ISSUER_SCOPE)
        await b.submit(ROOT, SCHOOL, "accredit", role="issuer", scope=ISSUER_SCOPE)
        fork5 = await b.service.entity(UNI.did)
        await b.submit(BOARD, COLLEGE, "suspend")
        fork6_proof = await b.service.entity(UNI.did, consistency_from=5)
    return World(
        did=str(identity.did),
        key=identity.public_key,
        now=now,
        entity5=entity5,
        entity5_jws=entity5_jws,
        authorized=authorized,
        authorized_jws=authorized_jws,
        refused=refused,
        recognized=recognized,
        root_entity=root_entity,
        entity6=entity6,
        entity6_proof=entity6_proof,
        fork5=fork5,
        fork6_proof=fork6_proof,
        entries5=entries5,
        proof_5_6=proof_5_6,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(build_world(tmp_path_factory.mktemp("registry")))


async def verify(
    world: World, answer: dict[str, Any] | str, **options: Any
) -> VerificationReport:
    kwargs: dict[str, Any] = {
        "registry_did": world.did,
        "registry_key": world.key,
        "now": world.now,
        "resolve_document": resolve,
        **options,
    }
    return await verify_answer_document(answer, **kwargs)


def check(report: VerificationReport, name: str) -> tuple[CheckStatus, str]:
    found = [c for c in report.checks if c.name == name]
    assert found, f"no check {name!r} in {[c.name for c in report.checks]}"
    return found[0].status, found[0].detail


def failed(report: VerificationReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if c.status is CheckStatus.FAILED}


def reforge(
    world: World, answer: dict[str, Any], replace: Mapping[int, bytes]
) -> dict[str, Any]:
    """``answer`` as the registry would serve it over a log with leaves replaced.

    The registry re-signs the checkpoint of the forged tree with its own key
    and recomputes every inclusion proof: all the registry can do.
    """
    leaves = list(world.entries5)
    leaves.extend(b"" for _ in range(max(0, max(replace, default=0) + 1 - len(leaves))))
    for index, raw in replace.items():
        leaves[index] = raw
    tree = MemoryTree()
    for raw in leaves:
        tree.append(raw)
    size = len(leaves)
    note = sign_checkpoint(
        Checkpoint(origin=IDENTITY.origin, size=size, root_hash=tree.root()),
        IDENTITY.note_signer(),
    )
    out = copy.deepcopy(answer)
    evidence = out["evidence"]
    evidence["checkpoint"] = note.decode()
    evidence["treeSize"] = size
    evidence.pop("consistency", None)
    for key in evidence["leaves"]:
        index = int(key)
        evidence["leaves"][key] = {
            "entry": leaves[index].decode(),
            "inclusionProof": [b64(h) for h in tree.inclusion_proof(index, size)],
        }
    return out


def with_jws(raw: bytes, jws: str) -> bytes:
    entry = json.loads(raw)
    entry["jws"] = jws
    return rfc8785.dumps(entry)


def jws_of(raw: bytes) -> str:
    return str(json.loads(raw)["jws"])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# -- answers that verify --------------------------------------------------------


async def test_verify_accepts_entity_answer_and_checks_every_leaf(world: World) -> None:
    report = await verify(world, world.copy("entity5"))
    assert report.ok, failed(report)
    assert check(report, "signed answer")[0] is CheckStatus.SKIPPED
    assert check(report, "query")[0] is CheckStatus.SKIPPED
    for name in (
        "format",
        "checkpoint",
        "tree size",
        "inclusion proofs",
        "completeness",
        "genesis",
        "answer matches statements",
    ):
        assert check(report, name)[0] is CheckStatus.PASSED, name
    statements = [c for c in report.checks if c.leaf is not None]
    assert [c.leaf for c in statements] == [1, 2, 3, 4]
    assert all(c.status is CheckStatus.PASSED for c in statements)
    assert "suspend of " + UNI.did in statements[2].detail
    assert report.checkpoint is not None
    assert report.checkpoint.size == 5
    assert report.question == f"entity {UNI.did} at {world.entity5['at']}"


async def test_verify_accepts_signed_entity_answer_bound_to_its_query(
    world: World,
) -> None:
    report = await verify(world, world.entity5_jws)
    assert report.ok, failed(report)
    status, detail = check(report, "signed answer")
    assert status is CheckStatus.PASSED
    assert "valid until" in detail
    status, detail = check(report, "query")
    assert status is CheckStatus.PASSED
    assert UNI.did in detail
    assert report.answer == world.entity5


async def test_verify_accepts_signed_answer_for_the_query_asked(world: World) -> None:
    query = entity_query(world.entity5)
    report = await verify(world, world.entity5_jws, query=query)
    assert report.ok, failed(report)
    assert check(report, "query") == (
        CheckStatus.PASSED,
        f"answers the query asked: entity {UNI.did} at {world.entity5['at']}",
    )


@pytest.mark.parametrize(
    ("name", "proof_says"),
    [
        ("authorized", "the statements prove it"),
        ("refused", "a refusal cannot be proven offline"),
        ("recognized", "the statements prove it"),
        ("root_entity", "follows from the 1 leaves"),
    ],
    ids=["authorized", "refused", "recognized", "root-authority"],
)
async def test_verify_accepts_trqp_and_root_answers(
    world: World, name: str, proof_says: str
) -> None:
    report = await verify(world, world.copy(name))
    assert report.ok, failed(report)
    status, detail = check(report, "answer matches statements")
    assert status is CheckStatus.PASSED
    assert proof_says in detail


async def test_verify_accepts_signed_trqp_answer(world: World) -> None:
    query = {"type": "authorization", **trqp(UNI)}
    report = await verify(world, world.authorized_jws, query=query)
    assert report.ok, failed(report)


async def test_verify_reads_answer_text(world: World) -> None:
    report = await verify(world, json.dumps(world.entity5))
    assert report.ok, failed(report)


async def test_verify_skips_statement_signatures_offline(world: World) -> None:
    report = await verify(world, world.copy("entity5"), resolve_document=None)
    assert report.ok, failed(report)
    statements = [c for c in report.checks if c.leaf is not None]
    assert len(statements) == 4
    assert all(c.status is CheckStatus.SKIPPED for c in statements)
    assert all("not checked offline" in c.detail for c in statements)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("gone"), CheckStatus.SKIPPED),
        (MethodNotSupportedError("offline"), CheckStatus.SKIPPED),
        (OSError("network down"), CheckStatus.SKIPPED),
        (InvalidDIDError("not a did"), CheckStatus.FAILED),
    ],
    ids=["not-found", "method-offline", "crash", "invalid-kid"],
)
async def test_verify_statement_check_when_resolution_fails(
    world: World, error: Exception, status: CheckStatus
) -> None:
    async def failing(did: DID) -> dict[str, Any]:
        raise error

    report = await verify(world, world.copy("entity5"), resolve_document=failing)
    statements = [c for c in report.checks if c.leaf is not None]
    assert {c.status for c in statements} == {status}
    assert report.ok is (status is CheckStatus.SKIPPED)


# -- the evidence ----------------------------------------------------------------


async def test_verify_rejects_tampered_leaf_entry(world: World) -> None:
    answer = world.copy("entity5")
    leaf = answer["evidence"]["leaves"]["2"]
    leaf["entry"] = leaf["entry"].replace(
        "2026-01-15T12:02:00Z", "2020-01-01T00:00:00Z"
    )
    assert leaf["entry"] != world.entity5["evidence"]["leaves"]["2"]["entry"]
    report = await verify(world, answer)
    assert not report.ok
    assert "leaf 2 does not lead to the root" in failed(report)["inclusion proofs"]


async def test_verify_rejects_truncated_inclusion_proof(world: World) -> None:
    answer = world.copy("entity5")
    answer["evidence"]["leaves"]["3"]["inclusionProof"].pop()
    report = await verify(world, answer)
    assert not report.ok
    assert (
        "inclusion proof has 2 hashes, expected 3" in failed(report)["inclusion proofs"]
    )


async def test_verify_rejects_evidence_whose_tree_size_is_not_the_checkpoints(
    world: World,
) -> None:
    answer = world.copy("entity5")
    answer["evidence"]["treeSize"] = 4
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {
        "tree size": "the evidence says tree size 4, the checkpoint 5"
    }


async def test_verify_rejects_checkpoint_from_another_origin(world: World) -> None:
    answer = world.copy("entity5")
    cp = report_checkpoint(world)
    # Signed by the registry's key under its own key name, for another log.
    note = sign_checkpoint(
        Checkpoint("did:web:other.example", cp.size, cp.root_hash),
        NoteSigner(REGISTRY, signing_key(100)),
    )
    answer["evidence"]["checkpoint"] = note.decode()
    report = await verify(world, answer)
    assert not report.ok
    assert report.checkpoint is None
    assert "origin 'did:web:other.example'" in failed(report)["checkpoint"]


async def test_verify_rejects_checkpoint_signed_by_another_key(world: World) -> None:
    answer = world.copy("entity5")
    cp = report_checkpoint(world)
    note = sign_checkpoint(cp, NoteSigner(REGISTRY, signing_key(99)))
    answer["evidence"]["checkpoint"] = note.decode()
    report = await verify(world, answer)
    assert not report.ok
    assert "none of 1 signatures is by a known key" in failed(report)["checkpoint"]


def report_checkpoint(world: World) -> Checkpoint:
    lines = world.entity5["evidence"]["checkpoint"].split("\n")
    return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2]))


@pytest.mark.parametrize(
    ("where", "leaf"),
    [
        (lambda a: a["accreditations"][0]["chain"][1], "1"),
        (lambda a: a["accreditations"][0]["history"][1], "3"),
        (None, "0"),
    ],
    ids=["chain-link", "history-event", "genesis"],
)
async def test_verify_rejects_answer_omitting_a_referenced_leaf(
    world: World, where: Any, leaf: str
) -> None:
    answer = world.copy("entity5")
    if where is not None:
        assert str(where(answer)["leaf"]) == leaf
    del answer["evidence"]["leaves"][leaf]
    report = await verify(world, answer)
    assert not report.ok
    problems = failed(report)
    if leaf == "0":
        assert problems["genesis"] == "leaf 0 (the genesis) is not in the evidence"
    assert problems["completeness"] == (
        f"the answer names leaves without evidence: {leaf}"
    )


async def test_verify_rejects_genesis_of_another_registry(world: World) -> None:
    genesis = json.loads(world.entries5[0])
    genesis["registry"] = genesis["origin"] = "did:web:other.example"
    answer = reforge(world, world.entity5, {0: rfc8785.dumps(genesis)})
    report = await verify(world, answer)
    assert not report.ok
    assert 'genesis of "did:web:other.example"' in failed(report)["genesis"]


# -- statements ------------------------------------------------------------------


def forged_signature_from_another_statement(world: World) -> bytes:
    head, payload, _ = jws_of(world.entries5[2]).split(".")
    other = jws_of(world.entries5[3]).split(".")[2]
    return with_jws(world.entries5[2], f"{head}.{payload}.{other}")


def widened_payload_under_old_signature(world: World) -> bytes:
    head, payload, signature = jws_of(world.entries5[2]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = {"actions": ["*"], "resources": ["*"]}
    forged = b64url(rfc8785.dumps(claims))
    return with_jws(world.entries5[2], f"{head}.{forged}.{signature}")


@pytest.mark.parametrize(
    "forge",
    [forged_signature_from_another_statement, widened_payload_under_old_signature],
    ids=["signature-swapped", "payload-widened"],
)
async def test_verify_rejects_statement_with_forged_signature(
    world: World, forge: Any
) -> None:
    answer = reforge(world, world.entity5, {2: forge(world)})
    report = await verify(world, answer)
    assert not report.ok
    # The registry re-signed everything: only the authority's signature tells.
    assert check(report, "checkpoint")[0] is CheckStatus.PASSED
    assert check(report, "inclusion proofs")[0] is CheckStatus.PASSED
    status, detail = check(report, "statement (leaf 2)")
    assert status is CheckStatus.FAILED
    assert detail == f"signature does not verify with key {BOARD.kid}"


async def test_verify_rejects_statement_meant_for_another_registry(
    world: World,
) -> None:
    claims = json.loads(
        base64.urlsafe_b64decode(jws_of(world.entries5[2]).split(".")[1] + "==")
    )
    claims["aud"] = "did:web:other-registry.example"
    jws = sign_statement(claims, private_key=BOARD.key, kid=BOARD.kid)
    answer = reforge(world, world.entity5, {2: with_jws(world.entries5[2], jws)})
    report = await verify(world, answer)
    assert not report.ok
    status, detail = check(report, "statement (leaf 2)")
    assert status is CheckStatus.FAILED
    assert detail == 'addressed to "did:web:other-registry.example", not this registry'


@pytest.mark.parametrize(
    ("lie", "expected"),
    [
        (
            lambda a: a["accreditations"][0].update(status="revoked"),
            'accreditations[0].status: the answer says "revoked", '
            'the statements say "active"',
        ),
        (
            lambda a: a["accreditations"][0].update(effective=False),
            "accreditations[0].effective: the answer says false, "
            "the statements say true",
        ),
        (
            lambda a: a["accreditations"][0]["chain"][1].update(authority=SCHOOL.did),
            "accreditations[0].chain[1].authority",
        ),
        (
            lambda a: a["accreditations"][0]["history"].pop(1),
            "accreditations[0].history has 2 items, the statements give 3",
        ),
        (
            lambda a: a["accreditations"][0]["scope"].update(resources=["*"]),
            "accreditations[0].scope.resources[0]",
        ),
        (lambda a: a.update(roles=["accreditor"]), "roles[0]"),
        (lambda a: a.update(isRoot=True), "isRoot"),
        (
            lambda a: a.update(invented="claim"),
            "invented does not follow from any statement",
        ),
    ],
    ids=[
        "status",
        "effective",
        "chain-authority",
        "history-dropped",
        "scope-widened",
        "role",
        "is-root",
        "extra-claim",
    ],
)
async def test_verify_rejects_answer_contradicting_its_statements(
    world: World, lie: Any, expected: str
) -> None:
    answer = world.copy("entity5")
    lie(answer)
    report = await verify(world, answer)
    assert not report.ok
    assert expected in failed(report)["answer matches statements"]


@pytest.mark.parametrize(
    ("name", "member", "says"),
    [
        (
            "refused",
            "authorized",
            "authorized=true, the statements in the evidence say false",
        ),
        (
            "authorized",
            "authorized",
            "authorized=false, the statements in the evidence say true",
        ),
        (
            "recognized",
            "recognized",
            "recognized=false, the statements in the evidence say true",
        ),
    ],
    ids=["refusal-turned-grant", "grant-turned-refusal", "recognition-denied"],
)
async def test_verify_rejects_trqp_decision_contradicting_its_statements(
    world: World, name: str, member: str, says: str
) -> None:
    answer = world.copy(name)
    answer[member] = not answer[member]
    report = await verify(world, answer)
    assert not report.ok
    assert says in failed(report)["answer matches statements"]


async def test_verify_rejects_grant_whose_chain_is_not_in_the_evidence(
    world: World,
) -> None:
    answer = world.copy("authorized")
    assert sorted(answer["evidence"]["leaves"], key=int) == ["0", "1", "2", "3", "4"]
    del answer["evidence"]["leaves"]["1"]  # the board's own accreditation
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {
        "answer matches statements": (
            "the answer says authorized=true, the statements in the evidence say "
            f"false: {UNI.did} is not authorized for 'issue' on 'Diploma' at "
            f"{answer['time_evaluated']}: accreditation by {BOARD.did} rests on: "
            f"{BOARD.did} holds no accreditation"
        )
    }


async def test_verify_rejects_evidence_leaf_that_is_a_second_genesis(
    world: World,
) -> None:
    answer = reforge(world, world.entity5, {3: world.entries5[0]})
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report)["statement (leaf 3)"] == "a second genesis entry"
    assert "cannot be replayed" in failed(report)["answer matches statements"]


# -- signed answers --------------------------------------------------------------


async def test_verify_rejects_expired_signed_answer(world: World) -> None:
    later = world.now + TTL + timedelta(seconds=1)
    report = await verify(world, world.entity5_jws, now=later)
    assert not report.ok
    assert failed(report) == {"signed answer": "signed answer has expired"}


async def test_verify_rejects_signed_answer_for_another_query(world: World) -> None:
    query = {"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]}
    report = await verify(world, world.entity5_jws, query=query)
    assert not report.ok
    assert failed(report) == {"signed answer": "signed answer is for another query"}


async def test_verify_rejects_signed_answer_by_another_key(world: World) -> None:
    impostor = RegistryIdentity.for_key(signing_key(99))
    token = sign_answer(
        world.entity5,
        identity=impostor,
        query=entity_query(world.entity5),
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 5,
            "note": world.entity5["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert "signed answer does not verify" in failed(report)["signed answer"]


async def test_verify_rejects_signed_answer_bound_to_another_checkpoint(
    world: World,
) -> None:
    # Signed by the registry itself, but the payload's checkpoint is not the
    # one the evidence's proofs lead to.
    token = sign_answer(
        world.entity5,
        identity=IDENTITY,
        query=entity_query(world.entity5),
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 6,
            "note": world.entity6["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert failed(report) == {
        "signed checkpoint": "the signed checkpoint is not the one in the evidence"
    }


async def test_verify_rejects_signed_answer_whose_hash_is_for_another_question(
    world: World,
) -> None:
    token = sign_answer(
        world.entity5,
        identity=IDENTITY,
        query={"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]},
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 5,
            "note": world.entity5["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert failed(report) == {
        "query": "signed for another query than the one it answers"
    }


async def test_verify_rejects_unsigned_answer_for_another_query(world: World) -> None:
    query = {"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]}
    report = await verify(world, world.copy("entity5"), query=query)
    assert not report.ok
    assert failed(report) == {
        "query": f"answers another query: entity {UNI.did} at {world.entity5['at']}"
    }


async def test_verify_rejects_answer_from_another_registry(world: World) -> None:
    answer = world.copy("entity5")
    answer["registry"] = "did:web:other.example"
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {"format": 'the answer is from "did:web:other.example"'}


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda a: a.pop("evidence"), "evidence"),
        (lambda a: a["evidence"].update(treeSize="5"), "evidence.treeSize"),
        (
            lambda a: a["evidence"]["leaves"]["1"].update(inclusionProof="x"),
            "evidence.leaves.1.inclusionProof",
        ),
        (lambda a: a.pop("accreditations"), "not an entity, authorization"),
    ],
    ids=["no-evidence", "size-as-text", "proof-not-list", "unknown-answer"],
)
async def test_verify_rejects_malformed_answer(
    world: World, mangle: Any, expected: str
) -> None:
    answer = world.copy("entity5")
    mangle(answer)
    report = await verify(world, answer)
    assert not report.ok
    assert expected in failed(report)["format"]


@pytest.mark.parametrize(
    "text",
    ["", "[1, 2]", "{not json", "a.b", "a b.c.d"],
    ids=["empty", "json-array", "broken-json", "two-parts", "spaces"],
)
def test_parse_answer_text_rejects_what_is_no_answer(text: str) -> None:
    with pytest.raises(AnswerFormatError):
        parse_answer_text(text)


def test_verify_refuses_bad_registry_key_as_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="not 32"):
        asyncio.run(verify(world, world.copy("entity5"), registry_key=b"short"))


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
    kept = store.get(REGISTRY)
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
    kept = store.get(REGISTRY)
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
    kept = store.get(REGISTRY)
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
    await check_history(report, store, server=base)
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
    kept = store.get(REGISTRY)
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
    kept = store.get(REGISTRY)
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
    assert store.get(REGISTRY) is None
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


def test_checkpoint_store_never_moves_backwards(tmp_path: Path) -> None:
    tree = memory_tree(LOG)
    store = CheckpointStore(tmp_path / "checkpoints.json")
    store.remember(cp_of(tree, 6), "note 6")
    store.remember(cp_of(tree, 4), "note 4")
    kept = store.get("log.example")
    assert kept == TrustedCheckpoint("log.example", 6, tree.root(6), "note 6")


def test_checkpoint_store_refuses_same_size_other_root(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    store.remember(cp_of(memory_tree(LOG), 5))
    with pytest.raises(ForkError):
        store.remember(cp_of(memory_tree(OTHER), 5))


def test_checkpoint_store_keeps_other_origins(tmp_path: Path) -> None:
    tree = memory_tree(LOG)
    store = CheckpointStore(tmp_path / "checkpoints.json")
    store.remember(Checkpoint("a.example", 2, tree.root(2)))
    store.remember(Checkpoint("b.example", 3, tree.root(3)))
    assert set(json.loads(store.path.read_text())) == {"a.example", "b.example"}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_checkpoint_store_refuses_file_others_can_write(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "checkpoints.json")
    store.remember(cp_of(memory_tree(LOG), 5))
    os.chmod(store.path, 0o666)  # noqa: S103 -- the mistake under test
    with pytest.raises(CheckpointStoreError, match="writable by other users"):
        store.get("log.example")


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
def test_checkpoint_store_rejects_malformed_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "checkpoints.json"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(CheckpointStoreError, match="malformed"):
        CheckpointStore(path).get("log.example")


def test_checkpoint_store_missing_file_is_empty(tmp_path: Path) -> None:
    assert CheckpointStore(tmp_path / "none.json").get("log.example") is None


# -- fetching ---------------------------------------------------------------------


async def test_fetch_answer_asks_for_a_signed_answer(
    world: World, aiohttp_server: Any
) -> None:
    accepts: list[str] = []

    async def entity(request: web.Request) -> web.Response:
        accepts.append(request.headers.get("Accept", ""))
        if "application/jwt" in request.headers.get("Accept", ""):
            return web.Response(text=world.entity5_jws, content_type="application/jwt")
        return web.json_response(world.entity5)

    app = web.Application()
    app.router.add_get("/registry/v1/entities/{did}", entity)
    server = await aiohttp_server(app)
    url = str(server.make_url(f"/registry/v1/entities/{UNI.did}"))
    assert await fetch_answer(url, accept_jwt=True) == world.entity5_jws
    assert await fetch_answer(url, accept_jwt=False) == world.entity5
    assert accepts == ["application/jwt", "application/json"]


async def test_fetch_answer_refuses_oversized_body(aiohttp_server: Any) -> None:
    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"x" * 1024)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/answer", big)
    server = await aiohttp_server(app)
    with pytest.raises(FetchError, match="over the limit of 4096"):
        await fetch_answer(
            str(server.make_url("/answer")), accept_jwt=True, max_bytes=4096
        )


async def test_fetch_answer_reports_problem_status(aiohttp_server: Any) -> None:
    async def missing(request: web.Request) -> web.Response:
        return web.json_response(
            {"title": "unknown entity", "detail": "not in the registry"}, status=404
        )

    app = web.Application()
    app.router.add_get("/answer", missing)
    server = await aiohttp_server(app)
    with pytest.raises(FetchError, match="status 404: unknown entity: not in the"):
        await fetch_answer(str(server.make_url("/answer")), accept_jwt=False)


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://registry.example/a", "registry.example"],
    ids=["file", "ftp", "no-scheme"],
)
async def test_fetch_answer_refuses_non_http_urls(url: str) -> None:
    with pytest.raises(FetchError, match="not an http"):
        await fetch_answer(url, accept_jwt=True)


async def test_fetch_answer_reports_unreachable_server() -> None:
    with pytest.raises(FetchError, match="cannot fetch"):
        await fetch_answer("http://127.0.0.1:9/answer", accept_jwt=True)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"first": 4, "second": 6, "proof": []}, "for sizes 4 to 6"),
        ({"first": 5, "second": 6, "proof": ["not-a-hash"]}, "proof hash 0"),
        ({"first": 5, "second": 6}, "not a list"),
    ],
    ids=["other-sizes", "bad-hash", "no-proof"],
)
async def test_fetch_consistency_rejects_malformed_proofs(
    aiohttp_server: Any, body: dict[str, Any], match: str
) -> None:
    async def consistency(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/registry/v1/log/proof/consistency", consistency)
    server = await aiohttp_server(app)
    with pytest.raises(FetchError, match=match):
        await fetch_consistency(str(server.make_url("/")), 5, 6)


def test_world_answers_are_what_the_service_serves(world: World) -> None:
    # Guards the fixtures the attacks start from.
    uni = world.entity5["accreditations"][0]
    assert [e["act"] for e in uni["history"]] == ["accredit", "suspend", "reinstate"]
    assert [link["authority"] for link in uni["chain"]] == [BOARD.did, ROOT.did]
    assert sorted(world.entity5["evidence"]["leaves"], key=int) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    assert world.entity6_proof["evidence"]["consistency"]["from"] == 5
    assert world.authorized["authorized"] is True
    assert world.refused["authorized"] is False
    assert format_time(world.now) >= world.entity5["at"]
