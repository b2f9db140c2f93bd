"""Real registry answers to verify, and the registry that serves them.

Only for tests. :func:`build_world` runs two real registries (a SqliteStore
in a temporary directory, a RegistryService with a clock the test moves,
statements signed by did:key authorities with fixed seeds: root → board, an
accreditor → university, an issuer) and keeps their answers in a
:class:`World`: registry A with five leaves, then six; registry B, a fork of
A under the same key. The attacker is a registry: it holds its own key, so it
can re-sign checkpoints over a forged log, but not the authorities' keys.
Every clock value is fixed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import rfc8785
from nacl.signing import SigningKey

from drivers.jwk import build_document as jwk_document
from drivers.key import build_document as key_document
from registry.answercheck import VerificationReport, verify_answer_document
from registry.answers import sign_answer
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.identity import RegistryIdentity
from registry.merkle import MemoryTree
from registry.models import GovernanceFramework
from registry.service import RegistryService, b64, genesis_leaf
from registry.sqlite import SqliteStore
from registry.statements import sign_statement
from resolver.checks import CheckStatus
from resolver.did import DID, parse_did
from resolver.errors import MethodNotSupportedError
from resolver.keys import encode_multikey
from resolver.timefmt import parse_time

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
