"""The registry's HTTP routes (registry.http) through the real application.

Every app is built with ``create_app`` over a data directory initialised as
``didtrust registry init`` does, with the registry's clock injected so a test
can accredit in 2021 and revoke in 2024. Statements are really signed and their
keys resolved by the app's own resolver (did:key, did:jwk). Refusals are named
after the attack or mistake they catch, and each checks that nothing was
written (the checkpoint is unchanged).

TRQP requests and answers are checked against the TRQP v2 JSON Schemas copied
into tests/vectors/trqp-v2/ (see its README) with ``jsonschema``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ec
from jsonschema import Draft202012Validator, FormatChecker
from yarl import URL

from didtrust.app import create_app
from didtrust.appkeys import REGISTRY
from didtrust.settings import Settings
from drivers.jwk import encode_did_jwk
from drivers.key import KeyDriver
from registry.answers import verify_answer
from registry.checkpoint import Checkpoint, open_checkpoint
from registry.errors import AnswerSignatureError
from registry.identity import RegistryIdentity
from registry.merkle import (
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from registry.models import STATEMENT_TYP
from registry.state import RegistryState
from registry.views import parse_entry
from resolver.driver import DriverRegistry
from resolver.timefmt import format_time, parse_time
from tests.helpers.clock import Clock
from tests.helpers.encoding import b64, std_unb64
from tests.helpers.fakes import StaticDriver, example_document
from tests.helpers.https_server import ClientFactory
from tests.helpers.paths import VECTORS
from tests.helpers.registry import (
    ACCREDITOR,
    P384_ROOT,
    ROOT,
    SECP256K1_ROOT,
    STRANGER,
    UNIVERSITY,
    Authority,
    init_registry,
    make_statement,
)

JOSE = {"Content-Type": "application/jose"}
PROBLEM = "urn:didtrust:problem:"
V1 = "/registry/v1"
ACCREDIT_DIPLOMAS = ("issue", "accredit")


@dataclass
class Registry:
    """A served registry: its client, identity and clock."""

    client: TestClient[Any, Any]
    identity: RegistryIdentity
    clock: Clock

    @property
    def aud(self) -> str:
        return str(self.identity.did)

    def statement(self, signer: Authority = ROOT, **kwargs: Any) -> str:
        kwargs.setdefault("iat", self.clock.iat)
        kwargs.setdefault("aud", self.aud)
        return make_statement(signer, **kwargs)

    async def post(
        self, jws: str | bytes, headers: dict[str, str] | None = None
    ) -> ClientResponse:
        data = jws.encode() if isinstance(jws, str) else jws
        return await self.client.post(
            f"{V1}/statements", data=data, headers=JOSE if headers is None else headers
        )

    async def submit(self, jws: str) -> dict[str, Any]:
        resp = await self.post(jws)
        body: dict[str, Any] = await resp.json()
        assert resp.status == 201, body
        return body

    async def checkpoint(self) -> bytes:
        resp = await self.client.get(f"{V1}/log/checkpoint")
        assert resp.status == 200
        return await resp.read()

    def open(self, note: bytes | str) -> Checkpoint:
        raw = note.encode() if isinstance(note, str) else note
        return open_checkpoint(
            raw, self.identity.note_verifier(), origin=self.identity.origin
        )

    async def accredit_accreditor(self) -> dict[str, Any]:
        return await self.submit(
            self.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
        )

    async def accredit_university(self) -> dict[str, Any]:
        return await self.submit(self.statement(ACCREDITOR, sub=UNIVERSITY.did))


async def serve(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    *,
    did: str | None = None,
    root: Authority = ROOT,
    max_depth: int = 3,
) -> Registry:
    data = tmp_path / "data"
    identity = await init_registry(data, did=did, root=root.did, max_depth=max_depth)
    clock = Clock()
    client = await aiohttp_client(create_app(Settings(data_dir=str(data)), clock=clock))
    return Registry(client, identity, clock)


@pytest.fixture
async def reg(aiohttp_client: ClientFactory, tmp_path: Path) -> Registry:
    return await serve(aiohttp_client, tmp_path)


async def assert_problem(
    resp: ClientResponse, status: int, kind: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and type)."""
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json(content_type=None)
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    if kind is not None:
        assert body["type"] == PROBLEM + kind
    assert "Traceback" not in json.dumps(body)
    return body


# -- the TRQP v2 JSON Schemas, checked with jsonschema --------------------------

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema checks "date-time" only with an optional extra installed:
    # check it here, strictly (RFC 3339, as TRQP requires).
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    parse_time(value)
    return True


def schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (VECTORS / "trqp-v2" / f"{name}.schema.json").read_text()
    )
    return data


def validate(instance: Any, spec: dict[str, Any]) -> None:
    """Assert that ``instance`` conforms to the JSON Schema ``spec``."""
    validator = Draft202012Validator(spec, format_checker=_FORMATS)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("trqp_authorization_request", {"entity_id": "a", "action": "x"}),
        (
            "trqp_authorization_request",
            {
                "entity_id": "a",
                "authority_id": "b",
                "action": "c",
                "resource": "d",
                "context": {"time": "yesterday"},
            },
        ),
        (
            "trqp_recognition_response",
            {
                "entity_id": "a",
                "authority_id": "b",
                "action": "c",
                "resource": "d",
                "time_evaluated": "2024-01-01T00:00:00Z",
                "recognized": "yes",
            },
        ),
        (
            "trqp_authorization_request",
            {
                "entity_id": "a",
                "authority_id": "b",
                "action": "c",
                "resource": "d",
                "context": {"region": 1},
            },
        ),
    ],
    ids=["missing-fields", "bad-time", "string-boolean", "non-string-context"],
)
def test_schema_validator_catches_invalid_documents(name, instance):
    with pytest.raises(AssertionError):
        validate(instance, schema(name))


# -- statements: accepted -----------------------------------------------------


async def test_statement_accepted_with_a_receipt_that_verifies(reg):
    before = reg.open(await reg.checkpoint())
    resp = await reg.post(
        reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    )
    assert resp.status == 201
    receipt = await resp.json()
    assert resp.headers["Location"] == f"{V1}/log/entries?start=1&end=2"

    checkpoint = reg.open(receipt["checkpoint"])
    assert receipt["index"] == 1
    assert checkpoint.size == receipt["treeSize"] == before.size + 1
    verify_inclusion(
        std_unb64(receipt["leafHash"]),
        receipt["index"],
        checkpoint.size,
        [std_unb64(h) for h in receipt["inclusionProof"]],
        checkpoint.root_hash,
    )
    assert receipt["integratedTime"] == format_time(reg.clock.instant)
    # The checkpoint served afterwards is the receipt's.
    assert (await reg.checkpoint()).decode() == receipt["checkpoint"]


@pytest.mark.parametrize(
    "content_type", ["application/jose", "application/jwt", "text/plain"]
)
async def test_statement_accepted_in_each_compact_media_type(reg, content_type):
    resp = await reg.post(
        reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS) + "\n",
        headers={"Content-Type": content_type},
    )
    assert resp.status == 201


@pytest.mark.parametrize(
    ("root", "alg"),
    [
        (ROOT, "EdDSA"),
        (UNIVERSITY, "ES256"),
        (SECP256K1_ROOT, "ES256K"),
        (P384_ROOT, "ES384"),
    ],
    ids=["EdDSA", "ES256", "ES256K", "ES384"],
)
async def test_statement_accepted_for_each_algorithm(
    aiohttp_client, tmp_path, root, alg
):
    reg = await serve(aiohttp_client, tmp_path, root=root)
    jws = reg.statement(root, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    assert json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))["alg"] == alg
    receipt = await reg.submit(jws)
    assert receipt["index"] == 1


async def test_concurrent_statements_share_checkpoints(reg):
    statements = [reg.statement(ROOT, sub=f"did:example:u{i}") for i in range(40)]
    responses = await asyncio.gather(*(reg.post(jws) for jws in statements))
    assert [r.status for r in responses] == [201] * 40
    receipts = [await r.json() for r in responses]
    assert sorted(r["index"] for r in receipts) == list(range(1, 41))
    sizes = {r["treeSize"] for r in receipts}
    assert len(sizes) < 40
    for receipt in receipts:
        checkpoint = reg.open(receipt["checkpoint"])
        verify_inclusion(
            std_unb64(receipt["leafHash"]),
            receipt["index"],
            checkpoint.size,
            [std_unb64(h) for h in receipt["inclusionProof"]],
            checkpoint.root_hash,
        )


# -- statements: refused, and nothing written ---------------------------------


def forged(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    return ".".join(
        [
            b64(json.dumps(header).encode()),
            b64(json.dumps(claims).encode()),
            b64(signature),
        ]
    )


def claims_for(reg: Registry, signer: Authority, sub: str) -> dict[str, Any]:
    return {
        "iss": signer.did,
        "sub": sub,
        "act": "accredit",
        "aud": reg.aud,
        "iat": reg.clock.iat,
        "jti": "jti-forged-0001",
        "role": "issuer",
        "scope": {"actions": ["issue"], "resources": ["Diploma"]},
    }


async def refused(
    reg: Registry,
    jws: str | bytes,
    status: int,
    kind: str | None,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Submit, check the problem, and check the log did not move."""
    before = await reg.checkpoint()
    resp = await reg.post(jws, headers)
    body = await assert_problem(resp, status, kind)
    assert await reg.checkpoint() == before
    return body


async def test_statement_refused_alg_none(reg):
    header = {"alg": "none", "kid": ROOT.kid, "typ": STATEMENT_TYP}
    payload = b64(json.dumps(claims_for(reg, ROOT, ACCREDITOR.did)).encode())
    jws = f"{b64(json.dumps(header).encode())}.{payload}."
    body = await refused(reg, jws, 400, "unsupported-algorithm")
    assert "'none' is not allowed" in body["detail"]


async def test_statement_refused_hs256_with_public_key_secret(reg):
    """HS256 'signed' with the root's public key, which anybody can read."""
    public = ROOT.did.removeprefix("did:key:")
    header = {"alg": "HS256", "kid": ROOT.kid, "typ": STATEMENT_TYP}
    claims = claims_for(reg, ROOT, ACCREDITOR.did)
    signing_input = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    )
    mac = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    body = await refused(reg, f"{signing_input}.{b64(mac)}", 400, None)
    assert body["type"] == PROBLEM + "unsupported-algorithm"
    assert "HS256" in body["detail"]


async def test_statement_refused_key_not_in_document(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, kid=ROOT.did + "#not-my-key")
    body = await refused(reg, jws, 401, "unknown-key")
    assert "is not a verification method" in body["detail"]


async def test_statement_refused_key_only_in_key_agreement(reg):
    """A did:jwk whose key is marked for encryption may not sign statements."""
    key = UNIVERSITY.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
        "use": "enc",
    }
    did = str(encode_did_jwk(jwk))
    jws = reg.statement(UNIVERSITY, iss=did, kid=f"{did}#0", sub=STRANGER.did)
    body = await refused(reg, jws, 401, "unknown-key")
    assert "only in keyAgreement" in body["detail"]


async def test_statement_refused_key_of_a_deactivated_did(aiohttp_client, tmp_path):
    """A deactivated accreditor's key, still in its last document, signs nothing."""
    board = "did:example:board"
    document = example_document(board)
    document["verificationMethod"][0]["publicKeyMultibase"] = ACCREDITOR.did[8:]
    drivers = DriverRegistry()
    drivers.register(KeyDriver())
    drivers.register(StaticDriver({board: document}, deactivated=frozenset({board})))
    identity = await init_registry(tmp_path / "data")
    clock = Clock()
    client = await aiohttp_client(
        create_app(
            Settings(data_dir=str(tmp_path / "data")), registry=drivers, clock=clock
        )
    )
    reg = Registry(client, identity, clock)
    await reg.submit(reg.statement(ROOT, sub=board, actions=ACCREDIT_DIPLOMAS))

    jws = reg.statement(ACCREDITOR, iss=board, kid=f"{board}#key-1", sub=UNIVERSITY.did)
    body = await refused(reg, jws, 401, "unknown-key")
    assert "deactivated" in body["detail"]


async def test_statement_refused_tampered_signature(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    head, payload, signature = jws.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    await refused(reg, f"{head}.{payload}.{flipped}", 401, "statement-signature")


async def test_statement_refused_payload_swapped_under_a_valid_signature(reg):
    """A signature by the root moved onto another payload does not verify."""
    good = reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    other = reg.statement(ROOT, sub=STRANGER.did, actions=ACCREDIT_DIPLOMAS)
    head, _, signature = good.split(".")
    _, payload, _ = other.split(".")
    await refused(reg, f"{head}.{payload}.{signature}", 401, "statement-signature")


async def test_statement_refused_scope_widening(reg):
    await reg.accredit_accreditor()
    jws = reg.statement(
        ACCREDITOR, sub=UNIVERSITY.did, resources=("Diploma", "Transcript")
    )
    body = await refused(reg, jws, 403, "scope-widening")
    assert "Transcript" in body["detail"]


async def test_statement_refused_stranger_accrediting(reg):
    body = await refused(
        reg, reg.statement(STRANGER, sub=UNIVERSITY.did), 403, "not-authorized"
    )
    assert STRANGER.did in body["detail"]


async def test_statement_refused_accreditor_after_own_revocation(reg):
    await reg.accredit_accreditor()
    reg.clock.advance(3600)
    await reg.submit(
        reg.statement(ROOT, sub=ACCREDITOR.did, act="revoke", reason="fraud")
    )
    reg.clock.advance(60)
    body = await refused(
        reg, reg.statement(ACCREDITOR, sub=UNIVERSITY.did), 403, "not-authorized"
    )
    assert "revoked" in body["detail"]


async def test_statement_refused_depth_beyond_cap(aiohttp_client, tmp_path):
    """With a cap of 2, an accreditor of an accreditor cannot accredit anyone."""
    reg = await serve(aiohttp_client, tmp_path, max_depth=2)
    await reg.accredit_accreditor()
    await reg.submit(
        reg.statement(ACCREDITOR, sub=STRANGER.did, actions=ACCREDIT_DIPLOMAS)
    )
    body = await refused(
        reg, reg.statement(STRANGER, sub=UNIVERSITY.did), 403, "depth-exceeded"
    )
    assert "over the cap of 2" in body["detail"]


@pytest.mark.parametrize(
    "alg", ["RS256", "ES512", "PS256", "HS512", "Ed25519"], ids=str
)
async def test_statement_refused_alg_outside_the_allow_list(reg, alg):
    header = {"alg": alg, "kid": ROOT.kid, "typ": STATEMENT_TYP}
    jws = forged(header, claims_for(reg, ROOT, ACCREDITOR.did), b"\x01" * 64)
    body = await refused(reg, jws, 400, "unsupported-algorithm")
    assert alg in body["detail"]


async def test_statement_refused_alg_confusion_eddsa_header_on_p256_key(reg):
    """An EdDSA header naming the university's P-256 key: alg does not fit."""
    header = {"alg": "EdDSA", "kid": UNIVERSITY.kid, "typ": STATEMENT_TYP}
    jws = forged(header, claims_for(reg, UNIVERSITY, ACCREDITOR.did), b"\x01" * 64)
    await refused(reg, jws, 401, "statement-signature")


async def test_statement_refused_replayed_jti(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    await reg.submit(jws)
    body = await refused(reg, jws, 409, "replay")
    assert "already used" in body["detail"]


async def test_statement_refused_accrediting_twice_is_a_conflict(reg):
    await reg.accredit_accreditor()
    again = reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS)
    await refused(reg, again, 409, "conflict")


async def test_statement_refused_wrong_audience(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, aud="did:web:other-registry.example")
    body = await refused(reg, jws, 422, "wrong-audience")
    assert "other-registry" in body["detail"]


async def test_statement_refused_expired(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, iat=reg.clock.iat - 2 * 86400)
    body = await refused(reg, jws, 422, "expired-statement")
    assert "172800 s old" in body["detail"]


async def test_statement_refused_future_iat(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did, iat=reg.clock.iat + 3600)
    body = await refused(reg, jws, 422, "future-statement")
    assert "3600 s in the future" in body["detail"]


async def test_statement_refused_self_accreditation(reg):
    await refused(reg, reg.statement(ROOT, sub=ROOT.did), 422, "invalid-statement")


async def test_statement_refused_wrong_content_type(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did)
    await refused(reg, jws, 415, None, headers={"Content-Type": "application/json"})


async def test_statement_refused_non_ascii_body(reg):
    jws = reg.statement(ROOT, sub=ACCREDITOR.did)
    body = await refused(
        reg, ("\u00e9" + jws).encode("utf-8"), 400, "malformed-statement"
    )
    assert "ascii" in body["detail"].lower()


@pytest.mark.parametrize(
    "body",
    [b"", b"not-a-jws", b"a.b", b"....", b"a.b.c"],
    ids=["empty", "one-part", "two-parts", "five-parts", "not-base64-json"],
)
async def test_statement_refused_malformed_compact_jws(reg, body):
    await refused(reg, body, 400, "malformed-statement")


async def test_statement_refused_oversized_body(reg):
    body = await refused(reg, b"x" * (64 * 1024 + 1), 413, None)
    assert "65536" in body["detail"]


# -- every row of the status table --------------------------------------------


async def test_unknown_entity_is_404(reg):
    resp = await reg.client.get(f"{V1}/entities/did:example:nobody")
    await assert_problem(resp, 404, "unknown-entity")


async def test_server_without_registry_init_answers_503(aiohttp_client, tmp_path):
    client = await aiohttp_client(create_app(Settings(data_dir=str(tmp_path))))
    requests = [
        ("POST", f"{V1}/statements"),
        ("GET", f"{V1}/log/checkpoint"),
        ("GET", f"{V1}/log/entries?start=0"),
        ("GET", f"{V1}/log/proof/inclusion?index=0"),
        ("GET", f"{V1}/log/proof/consistency?first=0"),
        ("GET", f"{V1}/entities"),
        ("GET", f"{V1}/entities/{ROOT.did}"),
        ("POST", "/trqp/authorization"),
        ("POST", "/trqp/recognition"),
    ]
    for method, path in requests:
        resp = await client.request(method, path, data=b"{}", headers=JOSE)
        body = await assert_problem(resp, 503, "not-initialized")
        assert "didtrust registry init" in body["detail"]
    resp = await client.get("/.well-known/did.json")
    assert resp.status == 404
    ready = await (await client.get("/ready")).json()
    assert ready["registry"] is None


async def test_stopped_registry_answers_503_and_writes_nothing(reg):
    before = await reg.checkpoint()
    await reg.client.app[REGISTRY].stop()
    resp = await reg.post(reg.statement(ROOT, sub=ACCREDITOR.did))
    await assert_problem(resp, 503, "service-unavailable")
    assert await reg.checkpoint() == before


async def test_failed_store_answers_503_without_revealing_paths(reg):
    await reg.client.app[REGISTRY].store.close()
    resp = await reg.client.get(f"{V1}/log/entries?start=0")
    body = await assert_problem(resp, 503, "storage")
    assert "sqlite" not in body.get("detail", "")
    assert "/" not in body.get("detail", "")


# -- log routes ---------------------------------------------------------------


async def test_log_entries_rebuild_the_checkpoint_and_the_state(reg):
    first = reg.open(await reg.checkpoint())
    await reg.accredit_accreditor()
    reg.clock.advance(3600)
    await reg.accredit_university()
    reg.clock.set(datetime(2024, 5, 1, tzinfo=UTC))
    await reg.submit(
        reg.statement(ROOT, sub=ACCREDITOR.did, act="revoke", reason="fraud")
    )
    checkpoint = reg.open(await reg.checkpoint())
    assert checkpoint.size == 4

    resp = await reg.client.get(f"{V1}/log/entries?start=0&end=10")
    assert resp.status == 200
    body = await resp.json()
    assert body["treeSize"] == 4
    entries = body["entries"]
    assert [e["index"] for e in entries] == [0, 1, 2, 3]
    hashes = [leaf_hash(e["entry"].encode()) for e in entries]
    assert [std_unb64(e["leafHash"]) for e in entries] == hashes
    assert root_from_leaf_hashes(hashes) == checkpoint.root_hash

    # The state is a replay of those entries alone.
    state = RegistryState.from_entries(
        parse_entry(e["entry"].encode()) for e in entries
    )
    for at in ("2021-03-01T09:00:00Z", "2022-01-01T00:00:00Z", "2024-05-02T00:00:00Z"):
        resp = await reg.client.get(f"{V1}/entities/{UNIVERSITY.did}?at={at}")
        served = await resp.json()
        view = state.entity(UNIVERSITY.did, parse_time(at))
        assert view is not None
        assert served["roles"] == [str(r) for r in view.roles]
        assert [a["status"] for a in served["accreditations"]] == [
            str(a.status) for a in view.accreditations
        ]
        assert [a["effective"] for a in served["accreditations"]] == [
            a.effective for a in view.accreditations
        ]

    # Inclusion of every leaf, and consistency with the first checkpoint.
    for index, h in enumerate(hashes):
        resp = await reg.client.get(
            f"{V1}/log/proof/inclusion?index={index}&tree_size=4"
        )
        proof = await resp.json()
        assert std_unb64(proof["leafHash"]) == h
        verify_inclusion(
            h, index, 4, [std_unb64(p) for p in proof["proof"]], checkpoint.root_hash
        )
    resp = await reg.client.get(f"{V1}/log/proof/consistency?first=1&second=4")
    proof = await resp.json()
    verify_consistency(
        first.size,
        4,
        first.root_hash,
        checkpoint.root_hash,
        [std_unb64(p) for p in proof["proof"]],
    )
    # Defaults: tree_size and second are the current size.
    resp = await reg.client.get(f"{V1}/log/proof/consistency?first=2")
    assert (await resp.json())["second"] == 4
    resp = await reg.client.get(f"{V1}/log/proof/inclusion?index=3")
    assert (await resp.json())["treeSize"] == 4


async def test_log_checkpoint_is_a_signed_note(reg):
    resp = await reg.client.get(f"{V1}/log/checkpoint")
    assert resp.content_type == "text/plain"
    assert resp.headers["Cache-Control"] == "no-cache"
    checkpoint = reg.open(await resp.read())
    assert checkpoint.origin == reg.aud
    assert checkpoint.size == 1


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("entries", None),
        ("entries?start=abc", None),
        ("entries?start=-1", None),
        ("entries?start=1e3", None),
        ("entries?start=%EF%BC%91", None),
        ("entries?start=2", None),
        ("entries?start=1&end=1", None),
        ("entries?start=0&end=x", None),
        ("proof/inclusion", None),
        ("proof/inclusion?index=2", "inclusion-proof"),
        ("proof/inclusion?index=0&tree_size=0", "inclusion-proof"),
        ("proof/inclusion?index=0&tree_size=3", None),
        ("proof/consistency", None),
        ("proof/consistency?first=2&second=1", "consistency-proof"),
        ("proof/consistency?first=1&second=3", None),
        ("proof/consistency?first=one", None),
    ],
    ids=[
        "entries-no-start",
        "entries-start-not-a-number",
        "entries-negative-start",
        "entries-exponent",
        "entries-fullwidth-digit",
        "entries-start-beyond-size",
        "entries-empty-range",
        "entries-end-not-a-number",
        "inclusion-no-index",
        "inclusion-index-beyond-size",
        "inclusion-empty-tree",
        "inclusion-tree-beyond-size",
        "consistency-no-first",
        "consistency-rollback",
        "consistency-second-beyond-size",
        "consistency-first-not-a-number",
    ],
)
async def test_log_routes_refuse_bad_parameters(reg, query, kind):
    await reg.accredit_accreditor()  # size 2
    resp = await reg.client.get(f"{V1}/log/{query}")
    await assert_problem(resp, 400, kind)


# -- entity queries -----------------------------------------------------------


async def accredited_2021_revoked_2024(reg: Registry) -> None:
    """Accreditor and university accredited in 2021; the accreditor revoked in 2024."""
    await reg.accredit_accreditor()
    reg.clock.set(datetime(2021, 6, 1, tzinfo=UTC))
    await reg.submit(
        reg.statement(
            ACCREDITOR,
            sub=UNIVERSITY.did,
            subject={"name": "University of Testing", "country": "NL"},
        )
    )
    reg.clock.set(datetime(2024, 5, 1, tzinfo=UTC))
    await reg.submit(
        reg.statement(ROOT, sub=ACCREDITOR.did, act="revoke", reason="fraud")
    )


def check_evidence(reg: Registry, answer: dict[str, Any]) -> set[int]:
    """Every leaf of the answer is proven included in its signed checkpoint."""
    evidence = answer["evidence"]
    checkpoint = reg.open(evidence["checkpoint"])
    assert checkpoint.size == evidence["treeSize"]
    for index, leaf in evidence["leaves"].items():
        verify_inclusion(
            leaf_hash(leaf["entry"].encode()),
            int(index),
            checkpoint.size,
            [std_unb64(p) for p in leaf["inclusionProof"]],
            checkpoint.root_hash,
        )
    return {int(i) for i in evidence["leaves"]}


async def test_entity_time_travel_accredited_2021_revoked_2024(reg):
    await accredited_2021_revoked_2024(reg)

    resp = await reg.client.get(
        f"{V1}/entities/{UNIVERSITY.did}?at=2022-09-01T00:00:00Z"
    )
    assert resp.status == 200
    in_2022 = await resp.json()
    assert in_2022["at"] == "2022-09-01T00:00:00Z"
    assert in_2022["timeEvaluated"] == "2024-05-01T00:00:00Z"
    assert in_2022["roles"] == ["issuer"]
    assert in_2022["subject"] == {"name": "University of Testing", "country": "NL"}
    (acc,) = in_2022["accreditations"]
    assert acc["authority"] == ACCREDITOR.did
    assert acc["scope"] == {"actions": ["issue"], "resources": ["Diploma"]}
    assert acc["status"] == "active"
    assert acc["effective"] is True
    assert acc["validFrom"] == "2021-06-01T00:00:00Z"
    assert [(c["subject"], c["authority"], c["leaf"]) for c in acc["chain"]] == [
        (UNIVERSITY.did, ACCREDITOR.did, 2),
        (ACCREDITOR.did, ROOT.did, 1),
    ]
    assert check_evidence(reg, in_2022) == {0, 1, 2, 3}

    resp = await reg.client.get(f"{V1}/entities/{UNIVERSITY.did}")
    now = await resp.json()
    assert now["at"] == "2024-05-01T00:00:00Z"
    assert now["roles"] == []
    (acc,) = now["accreditations"]
    # The university's own record is untouched; its chain to the root is gone.
    assert acc["status"] == "active"
    assert acc["effective"] is False
    assert acc["chain"] == []
    assert check_evidence(reg, now) >= {0, 1, 2, 3}
    assert now["evidence"]["checkpoint"] == in_2022["evidence"]["checkpoint"]

    resp = await reg.client.get(f"{V1}/entities/{ACCREDITOR.did}")
    accreditor = await resp.json()
    (acc,) = accreditor["accreditations"]
    assert acc["status"] == "revoked"
    assert acc["reason"] == "fraud"
    assert acc["statusSince"] == "2024-05-01T00:00:00Z"
    assert [(h["act"], h["leaf"]) for h in acc["history"]] == [
        ("accredit", 1),
        ("revoke", 3),
    ]


async def raw_get(client: TestClient[Any, Any], path: str) -> ClientResponse:
    """GET ``path`` exactly as written: no re-encoding by the client library."""
    url = URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)
    return await client.session.get(url)


async def test_entity_did_with_percent_encoding_is_not_confused_with_another(reg):
    """did:web:uni.example%3A8443 (a port) is not did:web:uni.example:8443 (a path)."""
    port_did = "did:web:uni.example%3A8443"
    await reg.submit(reg.statement(ROOT, sub=port_did))

    resp = await raw_get(reg.client, f"{V1}/entities/{port_did}")
    assert resp.status == 200
    assert (await resp.json())["entity"] == port_did
    # The fully encoded form is decoded once (docs/adr/0001).
    resp = await raw_get(reg.client, f"{V1}/entities/did%3Aweb%3Auni.example%253A8443")
    assert (await resp.json())["entity"] == port_did
    resp = await raw_get(reg.client, f"{V1}/entities/did:web:uni.example:8443")
    await assert_problem(resp, 404, "unknown-entity")
    resp = await raw_get(reg.client, f"{V1}/entities/did%3Aweb%3A%FF")
    await assert_problem(resp, 400)


async def test_entity_before_its_accreditation_has_no_role(reg):
    await accredited_2021_revoked_2024(reg)
    resp = await reg.client.get(
        f"{V1}/entities/{UNIVERSITY.did}?at=2021-05-01T00:00:00Z"
    )
    answer = await resp.json()
    assert answer["roles"] == []
    assert answer["accreditations"][0]["status"] == "pending"


async def test_entity_root_is_reported_as_root(reg):
    resp = await reg.client.get(f"{V1}/entities/{ROOT.did}")
    answer = await resp.json()
    assert answer["isRoot"] is True
    assert check_evidence(reg, answer) == {0}


async def test_entity_with_consistency_proof_from_an_older_checkpoint(reg):
    old = reg.open(await reg.checkpoint())
    await accredited_2021_revoked_2024(reg)
    resp = await reg.client.get(
        f"{V1}/entities/{UNIVERSITY.did}?consistency_from={old.size}"
    )
    answer = await resp.json()
    new = reg.open(answer["evidence"]["checkpoint"])
    consistency = answer["evidence"]["consistency"]
    assert (consistency["from"], consistency["to"]) == (old.size, new.size)
    verify_consistency(
        old.size,
        new.size,
        old.root_hash,
        new.root_hash,
        [std_unb64(p) for p in consistency["proof"]],
    )


@pytest.mark.parametrize(
    "query",
    [
        "at=yesterday",
        "at=2024-01-01T00:00:00",
        "at=2024-13-01T00:00:00Z",
        "consistency_from=-1",
        "consistency_from=99",
    ],
    ids=["at-not-a-time", "at-without-offset", "at-month-13", "negative", "beyond"],
)
async def test_entity_query_refuses_bad_parameters(reg, query):
    await reg.accredit_accreditor()
    resp = await reg.client.get(f"{V1}/entities/{ACCREDITOR.did}?{query}")
    await assert_problem(resp, 400)


async def test_entity_signed_answer_verifies_and_is_bound_to_the_query(reg):
    await accredited_2021_revoked_2024(reg)
    at = "2022-09-01T00:00:00Z"
    resp = await reg.client.get(
        f"{V1}/entities/{UNIVERSITY.did}?at={at}",
        headers={"Accept": "application/jwt"},
    )
    assert resp.status == 200
    assert resp.content_type == "application/jwt"
    token = await resp.text()
    query = {"type": "entity", "entity_id": UNIVERSITY.did, "at": at}
    payload = verify_answer(
        token,
        public_key=reg.identity.public_key,
        now=reg.clock.instant,
        query=query,
    )
    assert payload["iss"] == reg.aud
    assert payload["at"] == at
    assert payload["answer"]["roles"] == ["issuer"]
    assert payload["checkpoint"]["note"] == payload["answer"]["evidence"]["checkpoint"]
    assert payload["exp"] == payload["iat"] + 300
    # Not a valid answer to another question, nor after it expires.
    with pytest.raises(AnswerSignatureError, match="another query"):
        verify_answer(
            token,
            public_key=reg.identity.public_key,
            now=reg.clock.instant,
            query={**query, "at": "2024-05-01T00:00:00Z"},
        )
    with pytest.raises(AnswerSignatureError, match="expired"):
        verify_answer(
            token,
            public_key=reg.identity.public_key,
            now=reg.clock.instant + timedelta(minutes=6),
            query=query,
        )


# -- TRQP v2 ------------------------------------------------------------------


async def trqp(
    reg: Registry, kind: str, body: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    validate(body, schema(f"trqp_{kind}_request"))
    resp = await reg.client.post(f"/trqp/{kind}", json=body, **kwargs)
    assert resp.status == 200, await resp.text()
    answer: dict[str, Any] = await resp.json()
    validate(answer, schema(f"trqp_{kind}_response"))
    return answer


def diploma_query(entity: str, time: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "entity_id": entity,
        "authority_id": ROOT.did,
        "action": "issue",
        "resource": "Diploma",
    }
    if time is not None:
        body["context"] = {"time": time}
    return body


async def test_trqp_authorization_as_of_issuance_and_now(reg):
    await accredited_2021_revoked_2024(reg)

    then = await trqp(
        reg, "authorization", diploma_query(UNIVERSITY.did, "2022-09-01T00:00:00Z")
    )
    assert then["authorized"] is True
    assert then["time_requested"] == "2022-09-01T00:00:00Z"
    assert then["time_evaluated"] == "2024-05-01T00:00:00Z"
    assert then["context"] == {"time": "2022-09-01T00:00:00Z"}
    assert {
        k: then[k] for k in ("entity_id", "authority_id", "action", "resource")
    } == (diploma_query(UNIVERSITY.did))
    assert check_evidence(reg, then) == {0, 1, 2, 3}

    now = await trqp(reg, "authorization", diploma_query(UNIVERSITY.did))
    assert now["authorized"] is False
    assert "time_requested" not in now
    assert "revoked at 2024-05-01T00:00:00Z: fraud" in now["message"]
    check_evidence(reg, now)

    # Through the accreditor as the authority asked about, in 2022.
    via = diploma_query(UNIVERSITY.did, "2022-09-01T00:00:00Z")
    via["authority_id"] = ACCREDITOR.did
    assert (await trqp(reg, "authorization", via))["authorized"] is True
    # Not for a resource outside the scope.
    other = diploma_query(UNIVERSITY.did, "2022-09-01T00:00:00Z")
    other["resource"] = "Transcript"
    answer = await trqp(reg, "authorization", other)
    assert answer["authorized"] is False
    assert "Transcript" in answer["message"]


@pytest.mark.parametrize(
    "time",
    ["2022-09-01T00:00:00Z", "2022-09-01T00:00:00z", "2022-09-01T00:00:00+00:00"],
    ids=["Z", "lowercase-z", "plus-zero"],
)
async def test_trqp_time_in_utc_is_accepted_in_each_spelling(reg, time):
    await accredited_2021_revoked_2024(reg)
    answer = await trqp(reg, "authorization", diploma_query(UNIVERSITY.did, time))
    assert answer["authorized"] is True
    assert answer["time_requested"] == time


async def test_trqp_not_registered_is_not_authorized_with_200(reg):
    answer = await trqp(reg, "authorization", diploma_query("did:example:nobody"))
    assert answer["authorized"] is False
    assert answer["message"] == "not registered"
    assert check_evidence(reg, answer) == {0}
    answer = await trqp(reg, "recognition", diploma_query("did:example:nobody"))
    assert answer["recognized"] is False


async def test_trqp_request_members_the_schema_does_not_name_are_ignored(reg):
    # The TRQP v2 request schemas allow additional members.
    await accredited_2021_revoked_2024(reg)
    query = {**diploma_query(UNIVERSITY.did, "2022-01-01T00:00:00Z"), "x-trace": "abc"}
    answer = await trqp(reg, "authorization", query)
    assert answer["authorized"] is True
    assert "x-trace" not in answer


async def test_trqp_recognition_of_the_accreditor(reg):
    await accredited_2021_revoked_2024(reg)
    then = await trqp(
        reg, "recognition", diploma_query(ACCREDITOR.did, "2022-01-01T00:00:00Z")
    )
    assert then["recognized"] is True
    now = await trqp(reg, "recognition", diploma_query(ACCREDITOR.did))
    assert now["recognized"] is False
    # An issuer is not an accreditor.
    issuer = await trqp(
        reg, "recognition", diploma_query(UNIVERSITY.did, "2022-01-01T00:00:00Z")
    )
    assert issuer["recognized"] is False


async def test_trqp_signed_answer_verifies_and_is_bound_to_the_query(reg):
    await accredited_2021_revoked_2024(reg)
    body = diploma_query(UNIVERSITY.did, "2022-09-01T00:00:00Z")
    resp = await reg.client.post(
        "/trqp/authorization", json=body, headers={"Accept": "application/jwt"}
    )
    assert resp.status == 200
    token = await resp.text()
    payload = verify_answer(
        token,
        public_key=reg.identity.public_key,
        now=reg.clock.instant,
        query={"type": "authorization", **body},
    )
    assert payload["at"] == "2022-09-01T00:00:00Z"
    assert payload["answer"]["authorized"] is True
    validate(payload["answer"], schema("trqp_authorization_response"))
    for other in (
        {"type": "recognition", **body},
        {"type": "authorization", **diploma_query(UNIVERSITY.did)},
    ):
        with pytest.raises(AnswerSignatureError, match="another query"):
            verify_answer(
                token,
                public_key=reg.identity.public_key,
                now=reg.clock.instant,
                query=other,
            )
    # Another registry's key does not verify it.
    with pytest.raises(AnswerSignatureError):
        verify_answer(token, public_key=bytes(32), now=reg.clock.instant, query=None)


GOOD = diploma_query("did:example:someone")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"a string"',
        json.dumps({k: v for k, v in GOOD.items() if k != "entity_id"}).encode(),
        json.dumps({**GOOD, "action": 7}).encode(),
        json.dumps({**GOOD, "resource": ""}).encode(),
        json.dumps({**GOOD, "context": "2024"}).encode(),
        json.dumps({**GOOD, "context": {"time": "2024-01-01T00:00:00+01:00"}}).encode(),
        json.dumps({**GOOD, "context": {"time": "next week"}}).encode(),
        json.dumps({**GOOD, "context": {"locator": 3}}).encode(),
        b"\xff\xfe",
        b"[" * 5000,
        b'{"a":' * 5000,
    ],
    ids=[
        "not-json",
        "array",
        "string",
        "no-entity-id",
        "action-not-a-string",
        "empty-resource",
        "context-not-an-object",
        "time-not-utc",
        "time-not-a-time",
        "context-value-not-a-string",
        "not-utf8",
        "nested-arrays",
        "nested-objects",
    ],
)
@pytest.mark.parametrize("kind", ["authorization", "recognition"])
async def test_trqp_malformed_body_is_a_400_problem(reg, kind, body):
    resp = await reg.client.post(
        f"/trqp/{kind}", data=body, headers={"Content-Type": "application/json"}
    )
    await assert_problem(resp, 400)


@pytest.mark.parametrize("kind", ["authorization", "recognition"])
async def test_duplicate_member_in_trqp_body_refused(reg, kind):
    # Two entity_ids: one reader of the bytes asks about the first, a parser
    # that keeps the last value answers (and signs) about the other.
    await reg.accredit_accreditor()
    await reg.accredit_university()
    good = json.dumps(diploma_query(UNIVERSITY.did))
    forged = '{"entity_id": "did:example:someone", ' + good[1:]
    resp = await reg.client.post(
        f"/trqp/{kind}", data=forged, headers={"Content-Type": "application/json"}
    )
    body = await assert_problem(resp, 400)
    assert "duplicate member 'entity_id'" in body["detail"]
    resp = await reg.client.post(
        f"/trqp/{kind}", data=good, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 200, await resp.text()


# -- listing ------------------------------------------------------------------


async def test_list_entities_paginates_with_a_cursor(reg):
    await reg.accredit_accreditor()
    issuers = [f"did:example:university-{i}" for i in range(5)]
    for did in issuers:
        await reg.submit(reg.statement(ROOT, sub=did))

    seen: list[str] = []
    url = f"{V1}/entities?role=issuer&limit=2"
    pages = 0
    while True:
        resp = await reg.client.get(url)
        assert resp.status == 200
        page = await resp.json()
        pages += 1
        assert len(page["entities"]) <= 2
        seen += page["entities"]
        if page["next"] is None:
            break
        url = f"{V1}/entities?role=issuer&limit=2&cursor={page['next']}"
    assert pages == 3
    assert seen == sorted(issuers)

    resp = await reg.client.get(f"{V1}/entities?role=accreditor")
    assert (await resp.json())["entities"] == [ACCREDITOR.did]
    resp = await reg.client.get(f"{V1}/entities")
    assert sorted((await resp.json())["entities"]) == sorted([*issuers, ACCREDITOR.did])
    resp = await reg.client.get(f"{V1}/entities?resource=Transcript")
    assert (await resp.json())["entities"] == []
    resp = await reg.client.get(f"{V1}/entities?at=2020-01-01T00:00:00Z")
    assert (await resp.json())["entities"] == []


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("role=root", None),
        ("limit=0", None),
        ("limit=1001", None),
        ("cursor=not-a-cursor", "invalid-cursor"),
        ("at=soon", None),
    ],
    ids=["unknown-role", "limit-zero", "limit-too-big", "forged-cursor", "bad-at"],
)
async def test_list_entities_refuses_bad_parameters(reg, query, kind):
    resp = await reg.client.get(f"{V1}/entities?{query}")
    await assert_problem(resp, 400, kind)


# -- the registry's own DID ---------------------------------------------------


@pytest.mark.parametrize(
    ("did", "path"),
    [
        ("did:web:registry.example", "/.well-known/did.json"),
        ("did:web:registry.example:trust:v1", "/trust/v1/did.json"),
    ],
    ids=["host", "host-and-path"],
)
async def test_did_web_registry_serves_its_did_document(
    aiohttp_client, tmp_path, did, path
):
    reg = await serve(aiohttp_client, tmp_path, did=did)
    resp = await reg.client.get(path)
    assert resp.status == 200
    assert resp.content_type == "application/did+json"
    document = await resp.json(content_type=None)
    assert document["id"] == did
    (vm,) = document["verificationMethod"]
    assert vm["controller"] == did
    assert vm["publicKeyMultibase"] == reg.identity.multikey
    assert vm["id"] in document["assertionMethod"]
    # Statements addressed to the did:web are accepted; signed answers name it.
    await reg.submit(reg.statement(ROOT, sub=ACCREDITOR.did, actions=ACCREDIT_DIPLOMAS))
    resp = await reg.client.get(
        f"{V1}/entities/{ACCREDITOR.did}", headers={"Accept": "application/jwt"}
    )
    header = json.loads(
        base64.urlsafe_b64decode((await resp.text()).split(".")[0] + "==")
    )
    assert header["kid"] == vm["id"]
    # Only its own path is served.
    other = (
        "/.well-known/did.json" if path != "/.well-known/did.json" else "/x/did.json"
    )
    assert (await reg.client.get(other)).status == 404


async def test_did_key_registry_serves_no_did_document(reg):
    resp = await reg.client.get("/.well-known/did.json")
    assert resp.status == 404


@pytest.mark.parametrize("accept", ["application/json", "application/jwt"])
@pytest.mark.parametrize("where", ["field", "context-key"])
@pytest.mark.parametrize("route", ["authorization", "recognition"])
async def test_lone_surrogate_in_trqp_query_is_a_400_not_a_500(
    reg, accept, where, route
):
    query = diploma_query(UNIVERSITY.did)
    text = json.dumps(query)
    if where == "field":
        text = text.replace(UNIVERSITY.did, UNIVERSITY.did + "\\ud800")
    else:
        text = text[:-1] + ', "context": {"\\udc00x": 1}}'
    resp = await reg.client.post(
        f"/trqp/{route}",
        data=text.encode(),
        headers={"Content-Type": "application/json", "Accept": accept},
    )
    assert resp.status == 400
    assert "application/problem+json" in resp.headers["Content-Type"]
