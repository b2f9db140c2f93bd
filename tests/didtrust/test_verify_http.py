"""POST /credentials/verify through the whole application (issue 5).

Every app is built with ``create_app`` exactly as ``didtrust serve`` builds it,
with a clock injected (the verifier and the registry share it): the official
vc-di-eddsa and vc-di-ecdsa vectors, the project's own signed Open Badge 3.0
fixtures (``tests/helpers/verifier.py``) for did:key, did:jwk and did:web
issuers, a registry initialised in the data directory that accredits them, and
status lists served over real HTTPS (trustme) behind a loopback DNS server.

Tampering tests name the check that must fail; bad input must give a clear
failed check or a 400/413 problem, never a 500.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base58
import pytest
import rfc8785
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from didtrust.app import create_app
from didtrust.settings import Settings
from tests.helpers.clock import Clock
from tests.helpers.encoding import b64, unb64
from tests.helpers.https_server import ClientFactory, serve_app
from tests.helpers.issuers import (
    ATTACKER,
    ED25519_JWK,
    ED25519_KEY,
    VC_V2,
    Issuer,
    forge,
)
from tests.helpers.paths import VECTORS
from tests.helpers.registry import ACCREDITOR
from tests.helpers.verifier import (
    BADGE_TYPE,
    DATA_INTEGRITY_FIXTURES,
    JWT_FIXTURES,
    STATUS_LIST_PATH,
    VALID_FROM,
    badge,
    eddsa_rdfc,
    enveloped,
    secure,
    status_entry,
    status_list_credential,
    vc_jwt,
    vc_jwt_v1,
    web_badge,
    web_issuer,
)
from tests.helpers.verify_app import (
    DOCS,
    VERIFY_AT,
    document_app,
    result,
    settings_for,
)

VERIFY = "/credentials/verify"
JSON_TYPE = {"Content-Type": "application/json"}
REVOKED_AT = datetime(2024, 5, 1, tzinfo=UTC)
ALL_CHECKS = {
    "format",
    "proof",
    "issuer resolved",
    "method bound to issuer",
    "validity",
    "status",
    "accredited at issuance",
    "accredited now",
}

VECTOR_FILES = {
    "eddsa-rdfc-2022": "vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json",
    "eddsa-rdfc-2022-employ": "vc-di-eddsa/eddsa-rdfc-2022/employ/signedDataInt.json",
    "eddsa-jcs-2022": "vc-di-eddsa/eddsa-jcs-2022/signedJCS.json",
    "ed25519signature2020": "vc-di-eddsa/Ed25519Signature2020/signedEdSig.json",
    "ecdsa-rdfc-2019-p256": "vc-di-ecdsa/ecdsa-rdfc-2019-p256/signedECDSAP256.json",
    "ecdsa-rdfc-2019-p256-employ": (
        "vc-di-ecdsa/ecdsa-rdfc-2019-p256/employ/signedECDSAP256.json"
    ),
    "ecdsa-rdfc-2019-p384": "vc-di-ecdsa/ecdsa-rdfc-2019-p384/signedECDSAP384.json",
    "ecdsa-rdfc-2019-p384-employ": (
        "vc-di-ecdsa/ecdsa-rdfc-2019-p384/employ/signedECDSAP384.json"
    ),
    "ecdsa-jcs-2019-p256": "vc-di-ecdsa/ecdsa-jcs-2019-p256/signedJCSECDSAP256.json",
    "ecdsa-jcs-2019-p384": "vc-di-ecdsa/ecdsa-jcs-2019-p384/signedJCSECDSAP384.json",
}


def vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / VECTOR_FILES[name]).read_text())
    return data


# -- reading reports ---------------------------------------------------------------


def statuses(report: dict[str, Any]) -> dict[str, set[str]]:
    """Check name → the statuses it was reported with."""
    out: dict[str, set[str]] = {}
    for check in report["results"]:
        out.setdefault(check["name"], set()).add(check["status"])
    return out


def failed(report: dict[str, Any]) -> set[str]:
    return {c["name"] for c in report["results"] if c["status"] == "failed"}


def assert_consistent(report: dict[str, Any]) -> None:
    """The VC API summary agrees with the per-check results."""
    assert set(report["checks"]) == {
        c["name"] for c in report["results"] if c["status"] == "passed"
    }
    assert len(report["errors"]) == len(failed_results(report))
    for check, error in zip(failed_results(report), report["errors"], strict=True):
        assert error == f"{check['name']}: {check['detail']}"
    assert set(statuses(report)) <= ALL_CHECKS


def failed_results(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in report["results"] if c["status"] == "failed"]


async def post(client: TestClient[Any, Any], credential: Any) -> dict[str, Any]:
    """Verify ``credential`` in a VC API body; the answer must be a 200 report."""
    resp = await client.post(
        VERIFY, json={"verifiableCredential": credential, "options": {}}
    )
    body: dict[str, Any] = await resp.json()
    assert resp.status == 200, body
    assert resp.headers["Cache-Control"] == "no-store"
    assert_consistent(body)
    return body


async def assert_problem(resp: ClientResponse, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json(content_type=None)
    assert body["status"] == status
    assert body["title"]
    assert "Traceback" not in json.dumps(body)
    return body


# -- servers -----------------------------------------------------------------------


@pytest.fixture
async def plain(aiohttp_client: ClientFactory, tmp_path: Path) -> TestClient[Any, Any]:
    """The app without a registry (trust checks skipped), its clock at VERIFY_AT."""
    settings = Settings(data_dir=str(tmp_path / "data"))
    return await aiohttp_client(create_app(settings, clock=Clock(VERIFY_AT)))


# -- the official vectors ---------------------------------------------------------


@pytest.mark.parametrize("name", list(VECTOR_FILES))
async def test_official_vector_proof_verifies_but_key_is_not_the_issuers(plain, name):
    report = await post(plain, vector(name))
    assert report["verified"] is False
    assert statuses(report) == {
        "format": {"passed"},
        "issuer resolved": {"passed"},
        "proof": {"passed"},
        "method bound to issuer": {"failed"},
        "validity": {"passed"},
        "accredited at issuance": {"skipped"},
        "accredited now": {"skipped"},
    }
    assert report["errors"] == [
        "method bound to issuer: " + result(report, "method bound to issuer")["detail"]
    ]
    assert report["format"] == "data-integrity"


# -- own fixtures, end to end with registry trust ---------------------------------


def _enveloped_vc_jwt() -> dict[str, Any]:
    return enveloped(vc_jwt())


OWN: dict[str, tuple[Issuer, Callable[[], dict[str, Any] | str]]] = {
    **DATA_INTEGRITY_FIXTURES,
    **JWT_FIXTURES,
    "did-jwk-enveloped-vc+jwt": (ED25519_JWK, _enveloped_vc_jwt),
}
"""Every own fixture that verifies: the issuer and the builder."""


def assert_all_passed(report: dict[str, Any]) -> None:
    assert report["verified"] is True, report["errors"]
    assert report["errors"] == []
    assert report["warnings"] == []
    named = statuses(report)
    assert all(s == {"passed"} for s in named.values()), named
    assert {
        "format",
        "proof",
        "issuer resolved",
        "method bound to issuer",
        "validity",
        "accredited at issuance",
        "accredited now",
    } <= set(named)


@pytest.mark.parametrize("name", list(OWN))
async def test_own_fixture_verifies_with_registry_trust(trusted, name):
    issuer, build = OWN[name]
    await trusted.accredit(str(issuer.did))
    trusted.clock.set(VERIFY_AT)

    report = await post(trusted.client, build())

    assert_all_passed(report)
    assert report["issuer"] == {"id": str(issuer.did), "name": "Example University"}
    assert report["types"] == ["VerifiableCredential", BADGE_TYPE]
    assert report["issued"] == VALID_FROM
    assert report["format"] == (
        "data-integrity"
        if name in DATA_INTEGRITY_FIXTURES
        else "vc-1.1"
        if "1.1" in name
        else "vc+jwt"
    )
    for check in ("accredited at issuance", "accredited now"):
        assert result(report, check)["resource"] == BADGE_TYPE
    trusted.check_answer(report, "accredited at issuance", VALID_FROM, authorized=True)
    trusted.check_answer(
        report, "accredited now", "2024-06-01T12:00:00Z", authorized=True
    )


async def test_did_web_issuer_verifies_with_status_and_registry_trust(trusted):
    site = trusted.site
    issuer = web_issuer(site.server.port)
    site.publish("/.well-known/did.json", issuer.document, "application/did+json")
    list_url = site.url(STATUS_LIST_PATH)
    site.publish(
        STATUS_LIST_PATH,
        status_list_credential(issuer, list_url, revoked=[7]),
        "application/vc+ld+json",
    )
    await trusted.accredit(str(issuer.did))
    trusted.clock.set(VERIFY_AT)

    report = await post(
        trusted.client, web_badge(issuer, credentialStatus=status_entry(list_url, 8))
    )

    assert_all_passed(report)
    status = result(report, "status")
    assert (status["statusListCredential"], status["statusListIndex"]) == (list_url, 8)
    trusted.check_answer(
        report, "accredited now", "2024-06-01T12:00:00Z", authorized=True
    )
    # The DID document and the list were fetched over HTTPS, once each.
    assert sorted(site.server.requests) == ["/.well-known/did.json", STATUS_LIST_PATH]


async def test_issuer_revoked_in_2024_was_accredited_at_issuance_in_2022(trusted):
    await trusted.accredit(ED25519_KEY.did)
    trusted.clock.set(REVOKED_AT)
    await trusted.submit(ACCREDITOR, sub=ED25519_KEY.did, act="revoke", reason="fraud")
    trusted.clock.set(VERIFY_AT)

    report = await post(trusted.client, eddsa_rdfc())

    assert report["verified"] is False
    assert failed(report) == {"accredited now"}
    assert result(report, "accredited at issuance")["status"] == "passed"
    assert "revoked" in result(report, "accredited now")["detail"]
    assert report["errors"] == [
        "accredited now: " + result(report, "accredited now")["detail"]
    ]
    trusted.check_answer(report, "accredited at issuance", VALID_FROM, authorized=True)
    trusted.check_answer(
        report, "accredited now", "2024-06-01T12:00:00Z", authorized=False
    )


async def test_issuer_never_accredited_fails_both_trust_checks(trusted):
    trusted.clock.set(VERIFY_AT)
    report = await post(trusted.client, eddsa_rdfc())
    assert report["verified"] is False
    assert failed(report) == {"accredited at issuance", "accredited now"}
    trusted.check_answer(report, "accredited at issuance", VALID_FROM, authorized=False)


async def test_issuer_accredited_for_another_credential_type_is_not_trusted(trusted):
    await trusted.submit(
        ACCREDITOR, sub=ED25519_KEY.did, actions=("issue",), resources=("Diploma",)
    )
    trusted.clock.set(VERIFY_AT)
    report = await post(trusted.client, eddsa_rdfc())
    assert failed(report) == {"accredited at issuance", "accredited now"}


# -- tampering --------------------------------------------------------------------


def _set_subject(doc: dict[str, Any]) -> None:
    doc["credentialSubject"]["id"] = "did:example:mallory"


def _swap_issuer(doc: dict[str, Any]) -> None:
    if isinstance(doc["issuer"], dict):
        doc["issuer"]["id"] = ATTACKER.did
    else:
        doc["issuer"] = "https://vc.example/issuers/9999"


def _drop_issuer(doc: dict[str, Any]) -> None:
    del doc["issuer"]


def _shift_valid_from(doc: dict[str, Any]) -> None:
    doc["validFrom"] = doc["validFrom"].replace(":00Z", ":01Z")


def _unknown_context(doc: dict[str, Any]) -> None:
    doc["@context"][1] = "https://example.com/evil/v1"


def _first_context(doc: dict[str, Any]) -> None:
    doc["@context"][0] = "https://www.w3.org/ns/did/v1"


def _flip_proof_value_byte(doc: dict[str, Any]) -> None:
    raw = bytearray(base58.b58decode(doc["proof"]["proofValue"][1:]))
    raw[10] ^= 0x01
    doc["proof"]["proofValue"] = "z" + base58.b58encode(bytes(raw)).decode()


def _shift_created(doc: dict[str, Any]) -> None:
    doc["proof"]["created"] = (
        doc["proof"]["created"].replace(":38Z", ":39Z").replace(":00Z", ":01Z")
    )


def _attacker_method(doc: dict[str, Any]) -> None:
    doc["proof"]["verificationMethod"] = ATTACKER.kid


def _unresolvable_method(doc: dict[str, Any]) -> None:
    # A did:key whose multibase value is no key: syntactically a DID URL.
    doc["proof"]["verificationMethod"] = "did:key:z6MkBogus#z6MkBogus"


@dataclass(frozen=True)
class Tamper:
    change: Callable[[dict[str, Any]], None]
    fails: frozenset[str]
    """Checks that fail because of the change."""
    binding_checked: bool = True
    """Whether "method bound to issuer" is still reached (vectors fail it)."""


TAMPERS = {
    "credentialSubject-id": Tamper(_set_subject, frozenset({"proof"})),
    "issuer-swapped": Tamper(
        _swap_issuer, frozenset({"proof", "method bound to issuer"})
    ),
    "issuer-removed": Tamper(_drop_issuer, frozenset({"format"}), False),
    "validFrom": Tamper(_shift_valid_from, frozenset({"proof"})),
    "context-entry-unknown": Tamper(_unknown_context, frozenset({"proof"})),
    "context-first-not-vc": Tamper(_first_context, frozenset({"format"}), False),
    "proofValue-one-byte": Tamper(_flip_proof_value_byte, frozenset({"proof"})),
    "proof-created": Tamper(_shift_created, frozenset({"proof"})),
    "proof-verificationMethod-attacker": Tamper(
        _attacker_method, frozenset({"proof", "method bound to issuer"})
    ),
    "proof-verificationMethod-unresolvable": Tamper(
        _unresolvable_method, frozenset({"issuer resolved"}), False
    ),
}

TAMPER_TARGETS: dict[str, Callable[[], dict[str, Any]]] = {
    **{
        f"vector-{n}": functools.partial(vector, n)
        for n in (
            "eddsa-rdfc-2022",
            "eddsa-jcs-2022",
            "ed25519signature2020",
            "ecdsa-rdfc-2019-p256",
            "ecdsa-jcs-2019-p384",
        )
    },
    **{f"own-{n}": build for n, (_, build) in DATA_INTEGRITY_FIXTURES.items()},
}


def _tamper_cases() -> Iterator[Any]:
    for target in TAMPER_TARGETS:
        for tamper in TAMPERS:
            yield pytest.param(target, tamper, id=f"{target}-{tamper}")


@pytest.mark.parametrize(("target", "tamper"), list(_tamper_cases()))
async def test_tampered_credential_fails_the_named_check(plain, target, tamper):
    case = TAMPERS[tamper]
    original = TAMPER_TARGETS[target]()
    doc = copy.deepcopy(original)
    case.change(doc)
    assert doc != original

    report = await post(plain, doc)

    assert report["verified"] is False
    expected = set(case.fails)
    if target.startswith("vector-") and case.binding_checked:
        # The vectors' issuer is a URL, never the signing key's DID.
        expected.add("method bound to issuer")
    assert failed(report) == expected
    if "format" in case.fails:
        assert "proof" not in statuses(report)  # nothing else is looked at
    if "issuer resolved" in case.fails:
        assert statuses(report)["proof"] == {"skipped"}
    if tamper == "context-entry-unknown" and "jcs" not in target:
        assert "https://example.com/evil/v1" in result(report, "proof")["detail"]


def _string_leaves(
    value: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _string_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_leaves(item, (*path, index))
    elif isinstance(value, str):
        yield path, value


def _with_leaf(doc: dict[str, Any], path: tuple[Any, ...], text: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = text
    return out


def _one_char_changed(text: str) -> str:
    """The text with one character changed, keeping it the same kind of value."""
    i = len(text) - 2 if len(text) > 1 else 0
    for replacement in "xy01":
        if text[i] != replacement:
            return text[:i] + replacement + text[i + 1 :]
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.mark.parametrize(
    "target",
    [
        "vector-eddsa-rdfc-2022",
        "vector-ecdsa-jcs-2019-p384",
        "own-did-key-eddsa-rdfc-2022",
    ],
)
async def test_every_one_field_change_of_a_signed_credential_fails(plain, target):
    doc = TAMPER_TARGETS[target]()
    leaves = list(_string_leaves(doc))
    assert len(leaves) > 10
    for path, text in leaves:
        report = await post(plain, _with_leaf(doc, path, _one_char_changed(text)))
        assert report["verified"] is False, path
        assert failed(report) & {"format", "proof", "issuer resolved"}, (
            path,
            report["errors"],
        )


@pytest.mark.parametrize(
    "target", ["vector-eddsa-rdfc-2022", "vector-ecdsa-rdfc-2019-p256"]
)
async def test_every_one_byte_change_of_the_signature_fails_proof(plain, target):
    doc = TAMPER_TARGETS[target]()
    signature = base58.b58decode(doc["proof"]["proofValue"][1:])
    for i in range(len(signature)):
        flipped = bytearray(signature)
        flipped[i] ^= 0x80
        tampered = copy.deepcopy(doc)
        tampered["proof"]["proofValue"] = (
            "z" + base58.b58encode(bytes(flipped)).decode()
        )
        report = await post(plain, tampered)
        assert result(report, "proof")["status"] == "failed", i


def _replace_payload(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    change(claims)
    return f"{header}.{b64(rfc8785.dumps(claims))}.{signature}"


def _jwt_subject(claims: dict[str, Any]) -> None:
    vc = claims.get("vc", claims)
    vc["credentialSubject"]["achievement"]["name"] = "Forged Stewardship"


def _jwt_flip_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(unb64(signature))
    raw[0] ^= 0x01
    return f"{header}.{payload}.{b64(bytes(raw))}"


@pytest.mark.parametrize("name", list(JWT_FIXTURES))
@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: _replace_payload(token, _jwt_subject),
        _jwt_flip_signature,
    ],
    ids=["payload-subject", "signature-one-byte"],
)
async def test_tampered_jwt_fails_proof(plain, name, tamper):
    _, build = JWT_FIXTURES[name]
    report = await post(plain, tamper(build()))
    assert report["verified"] is False
    assert failed(report) == {"proof"}
    assert "does not verify" in result(report, "proof")["detail"]


async def test_proof_by_another_issuers_key_fails_binding_even_if_valid(plain):
    # A credential naming ED25519_KEY as issuer, correctly signed by ATTACKER.
    doc = secure(badge(ED25519_KEY.did), ATTACKER, "eddsa-rdfc-2022")
    report = await post(plain, doc)
    assert result(report, "proof")["status"] == "passed"
    assert failed(report) == {"method bound to issuer"}
    assert report["verified"] is False


# -- status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "verified"), [(42, False), (41, True)], ids=["revoked", "not-revoked"]
)
async def test_status_list_bit_decides_status(
    aiohttp_client, tmp_path, issuer_dns, issuer_site, index, verified
):
    list_url = issuer_site.url(STATUS_LIST_PATH)
    issuer_site.publish(
        STATUS_LIST_PATH,
        status_list_credential(ED25519_KEY, list_url, revoked=[42]),
        "application/vc+ld+json",
    )
    app = create_app(
        settings_for(tmp_path, issuer_dns, issuer_site), clock=Clock(VERIFY_AT)
    )
    client = await aiohttp_client(app)

    doc = eddsa_rdfc(credentialStatus=status_entry(list_url, index))
    report = await post(client, doc)

    assert report["verified"] is verified
    status = result(report, "status")
    assert status["statusListIndex"] == index
    if verified:
        assert status["status"] == "passed"
        assert failed(report) == set()
    else:
        assert status["status"] == "failed"
        assert status["detail"] == "revocation bit is set"
        assert failed(report) == {"status"}


async def test_status_list_signed_by_someone_else_fails_status(
    aiohttp_client, tmp_path, issuer_dns, issuer_site
):
    list_url = issuer_site.url(STATUS_LIST_PATH)
    issuer_site.publish(
        STATUS_LIST_PATH,
        status_list_credential(ATTACKER, list_url),
        "application/vc+ld+json",
    )
    app = create_app(
        settings_for(tmp_path, issuer_dns, issuer_site), clock=Clock(VERIFY_AT)
    )
    client = await aiohttp_client(app)
    report = await post(client, eddsa_rdfc(credentialStatus=status_entry(list_url, 3)))
    assert failed(report) == {"status"}
    assert report["verified"] is False


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"verifiableCredential": {', "application/json"),
        (b'{"verifiableCredential": {"a": 1}', "application/json"),
        (b"{'verifiableCredential': {}}", "application/json"),
        (b"verifiableCredential=x", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b"12", "application/json"),
        (b'{"verifiableCredential": 5}', "application/json"),
        (b'{"verifiableCredential": null}', "application/json"),
        (b'{"verifiableCredential": {"x": ' + b"1" * 5000 + b"}}", "application/json"),
        (b"", "application/json"),
    ],
    ids=[
        "truncated",
        "unclosed-object",
        "single-quotes",
        "form-encoded",
        "null",
        "array",
        "number",
        "credential-number",
        "credential-null",
        "huge-integer",
        "empty",
    ],
)
async def test_malformed_json_is_a_400_problem(plain, body, content_type):
    resp = await plain.post(VERIFY, data=body, headers={"Content-Type": content_type})
    await assert_problem(resp, 400)


async def test_body_that_is_not_utf8_is_a_400_problem(plain):
    resp = await plain.post(
        VERIFY,
        data=b'{"verifiableCredential": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    body = await assert_problem(resp, 400)
    assert "utf-8" in body["detail"].lower()


@pytest.mark.parametrize(
    "where", ["issuer", "type", "credentialSubject"], ids=["issuer", "type", "subject"]
)
async def test_lone_surrogate_in_a_credential_is_a_400_problem(trusted, where):
    # With a registry: the issuer and types reach its (JCS-hashed) queries.
    trusted.clock.set(VERIFY_AT)
    doc = eddsa_rdfc()
    marker = "LONE-SURROGATE"
    if where == "issuer":
        doc["issuer"]["id"] = f"did:key:{marker}"
    elif where == "type":
        doc["type"].append(marker)
    else:
        doc["credentialSubject"]["id"] = marker
    # JSON can spell an unpaired surrogate; no UTF-8 text can hold one.
    body = json.dumps({"verifiableCredential": doc}).replace(marker, "\\ud800")
    resp = await trusted.client.post(
        VERIFY, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    problem = await assert_problem(resp, 400)
    assert "surrogate" in problem["detail"]


async def test_giant_document_is_refused_with_413(plain):
    doc = eddsa_rdfc()
    doc["credentialSubject"]["image"] = "data:image/png;base64," + "A" * (2 << 20)
    body = json.dumps({"verifiableCredential": doc}).encode()
    assert len(body) > 2 << 20
    resp = await plain.post(
        VERIFY, data=io.BytesIO(body), headers={"Content-Type": "application/json"}
    )
    await assert_problem(resp, 413)


@pytest.mark.parametrize("depth", [100, 10_000], ids=["100-deep", "10000-deep"])
@pytest.mark.parametrize("kind", ["objects", "arrays"])
async def test_deeply_nested_document_is_a_400_problem(plain, depth, kind):
    opening, closing = ('{"a":', "}") if kind == "objects" else ("[", "]")
    nested = opening * depth + "1" + closing * depth
    doc = json.dumps(eddsa_rdfc())
    body = doc[:-1] + ', "evidence": ' + nested + "}"
    resp = await plain.post(
        VERIFY,
        data=('{"verifiableCredential": ' + body + "}").encode(),
        headers={"Content-Type": "application/json"},
    )
    await assert_problem(resp, 400)


async def test_proof_without_verification_method_fails_proof(plain):
    doc = eddsa_rdfc()
    del doc["proof"]["verificationMethod"]
    report = await post(plain, doc)
    assert failed(report) == {"proof"}
    assert "verificationMethod" in result(report, "proof")["detail"]
    assert report["verified"] is False


@pytest.mark.parametrize(
    ("proof_type", "suite"),
    [("DataIntegrityProof", "eddsa-rdfc-2099"), ("BbsBlsSignature2020", None)],
    ids=["unknown-cryptosuite", "unknown-proof-type"],
)
async def test_unsupported_cryptosuite_fails_proof_naming_it(plain, proof_type, suite):
    doc = eddsa_rdfc()
    doc["proof"]["type"] = proof_type
    if suite is None:
        del doc["proof"]["cryptosuite"]
    else:
        doc["proof"]["cryptosuite"] = suite
    report = await post(plain, doc)
    assert failed(report) == {"proof"}
    assert (suite or proof_type) in result(report, "proof")["detail"]


async def test_unknown_context_fails_proof_and_is_never_fetched(
    aiohttp_client, tmp_path
):
    # A context that any loader could fetch: a real server on loopback.
    app = document_app()
    async with serve_app(app) as contexts:
        url = contexts.url("127.0.0.1", "/evil/v1")
        app[DOCS]["/evil/v1"] = (
            "application/ld+json",
            {"@context": {"@vocab": "https://evil.example/#"}},
        )
        client = await aiohttp_client(
            create_app(Settings(data_dir=str(tmp_path / "d")), clock=Clock(VERIFY_AT))
        )
        doc = badge(ED25519_KEY.did)
        doc["@context"] = [VC_V2, url]
        report = await post(client, secure_unchecked(doc))
        assert failed(report) == {"proof"}
        assert url in result(report, "proof")["detail"]
        assert "never fetched" in result(report, "proof")["detail"]
        assert contexts.requests == []


def secure_unchecked(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with a proof whose members are right (its signature cannot be)."""
    signed = eddsa_rdfc()
    return {**doc, "proof": signed["proof"]}


@pytest.mark.parametrize(
    "token",
    [
        lambda: (
            forge(
                {"alg": "none", "kid": ED25519_JWK.kid, "typ": "vc+jwt"},
                badge(ED25519_JWK.did),
                ED25519_JWK.key,
            ).rsplit(".", 1)[0]
            + "."
        ),
        lambda: forge(
            {"alg": "none", "kid": ED25519_JWK.kid, "typ": "vc+jwt"},
            badge(ED25519_JWK.did),
            ED25519_JWK.key,
        ),
        lambda: forge(
            {"alg": "HS256", "kid": ED25519_JWK.kid, "typ": "vc+jwt"},
            badge(ED25519_JWK.did),
            ED25519_JWK.key,
        ),
    ],
    ids=["alg-none-unsigned", "alg-none-with-signature", "alg-hs256"],
)
async def test_jwt_with_alg_none_or_hmac_fails_proof(plain, token):
    report = await post(plain, token())
    assert failed(report) == {"proof"}
    assert report["verified"] is False
    alg = json.loads(unb64(token().split(".")[0]))["alg"]
    assert repr(alg) in result(report, "proof")["detail"]


async def test_enveloped_credential_with_another_media_type_is_a_400(plain):
    envelope = enveloped(vc_jwt())
    envelope["id"] = envelope["id"].replace("application/vc+jwt", "text/plain")
    resp = await plain.post(VERIFY, json={"verifiableCredential": envelope})
    await assert_problem(resp, 400)


async def test_compact_jwt_sent_as_the_body_verifies(plain):
    resp = await plain.post(
        VERIFY, data=vc_jwt(), headers={"Content-Type": "application/vc+jwt"}
    )
    report = await resp.json()
    assert resp.status == 200
    assert report["verified"] is True


async def test_bare_credential_without_wrapper_verifies(plain):
    resp = await plain.post(VERIFY, json=eddsa_rdfc())
    assert (await resp.json())["verified"] is True


async def test_duplicate_member_in_credential_body_refused(plain):
    # A fake issuer first and the signed one last: a parser that keeps the
    # last value verifies the credential as the real issuer's while another
    # reader of the same bytes shows the fake one.
    doc = eddsa_rdfc()
    text = json.dumps({"verifiableCredential": doc})
    forged = text.replace(
        '{"verifiableCredential": {',
        '{"verifiableCredential": {"issuer": "did:example:fake", ',
        1,
    )
    assert forged != text
    resp = await plain.post(VERIFY, data=forged.encode(), headers=JSON_TYPE)
    problem = await assert_problem(resp, 400)
    assert "duplicate member 'issuer'" in problem["detail"]
    # The same credential, each member once, verifies.
    resp = await plain.post(VERIFY, data=text.encode(), headers=JSON_TYPE)
    assert (await resp.json())["verified"] is True


async def test_duplicate_member_in_an_undeclared_json_body_refused(plain):
    text = json.dumps(eddsa_rdfc())
    forged = '{"issuer": "did:example:fake", ' + text[1:]
    resp = await plain.post(VERIFY, data=forged.encode())
    problem = await assert_problem(resp, 400)
    assert "duplicate member 'issuer'" in problem["detail"]


@pytest.mark.parametrize(
    ("valid_from", "fails"),
    [
        ("0001-01-01T00:00:00Z", "accredited at issuance"),
        ("0999-12-31T23:59:59Z", "accredited at issuance"),
        ("9999-12-31T23:59:59Z", "validity"),
    ],
    ids=["year-1", "year-999", "year-9999"],
)
async def test_extreme_dates_are_reported_not_a_500(trusted, valid_from, fails):
    # Years below 1000 once lost their leading zeros on the way to the
    # registry query and came back as a 500.
    await trusted.accredit(ED25519_KEY.did)
    trusted.clock.set(VERIFY_AT)
    report = await post(trusted.client, eddsa_rdfc(validFrom=valid_from))
    assert report["issued"] == valid_from
    assert result(report, "proof")["status"] == "passed"
    assert failed(report) == {fails}
    if fails != "validity":
        trusted.check_answer(report, fails, valid_from, authorized=False)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda text: eddsa_rdfc(validFrom=text), id="data-integrity"),
        pytest.param(lambda text: vc_jwt(validFrom=text), id="vc+jwt"),
        pytest.param(lambda text: vc_jwt_v1(issuanceDate=text), id="vc-1.1-jwt"),
    ],
)
async def test_offset_rule_is_the_same_on_every_path(plain, build):
    # A credential date without an offset is UTC to every check that reads it
    # (the JWT's nbf mapping, the proof, the status list, the validity window):
    # the validity check once demanded an offset the others did not. The
    # registry's own API, RFC 3339, still refuses one without an offset
    # (test_entity_query_refuses_bad_parameters, at-without-offset).
    report = await post(plain, build(VALID_FROM.removesuffix("Z")))
    validity = {c["status"] for c in report["results"] if c["name"] == "validity"}
    assert validity == {"passed"}
    assert report["issued"] == VALID_FROM
    assert report["verified"] is True


# -- fixtures are deterministic --------------------------------------------------

FIXTURE_DIGESTS = {
    "did-key-eddsa-rdfc-2022": (
        "d3d6dbd5841bcf9e133b43d785633ba1d39f0a61b849b738b47de85facbc90ba"
    ),
    "did-key-eddsa-jcs-2022": (
        "77d1aea3cbdef41131fc9a8a21626307dfdcd369eefdbc8fc38fb97a7d06b944"
    ),
    "did-key-ed25519signature2020": (
        "23529d2824de5549d280e1fb133e17c5c2444a83277367e378466b59a469d754"
    ),
    "did-key-p256-ecdsa-rdfc-2019": (
        "0296f8d421a41e5c9530ba4110a28d3a7a8d643753f3a9f0db5e67d5a35d2124"
    ),
    "did-jwk-vc+jwt": (
        "4c7bd1ce3abbf1df3af79b72d435cd5c8dad5c96bdc461cec1f41b30343ed3e6"
    ),
    "did-jwk-vc-1.1-jwt": (
        "cb7c2acd450edef5e3fc2c2ce97727a3af6f5474f213a76a879cdf13a438429b"
    ),
}
"""SHA-256 of each fixture (JCS for JSON): regenerating must not change them."""


@pytest.mark.parametrize("name", list(FIXTURE_DIGESTS))
def test_own_fixture_regenerates_byte_for_byte(name):
    _, build = OWN[name]
    built = build()
    encoded = built if isinstance(built, str) else rfc8785.dumps(built).decode()
    assert hashlib.sha256(encoded.encode()).hexdigest() == FIXTURE_DIGESTS[name]


async def test_forged_credential_cannot_make_the_server_fetch_its_status_list(
    aiohttp_client, tmp_path, issuer_dns, issuer_site
):
    # A credential whose proof fails names a status list URL: fetching it would
    # let anyone make the server send requests where they like.
    list_url = issuer_site.url(STATUS_LIST_PATH)
    issuer_site.publish(
        STATUS_LIST_PATH,
        status_list_credential(ED25519_KEY, list_url, revoked=[]),
        "application/vc+ld+json",
    )
    app = create_app(
        settings_for(tmp_path, issuer_dns, issuer_site), clock=Clock(VERIFY_AT)
    )
    client = await aiohttp_client(app)
    doc = eddsa_rdfc(credentialStatus=status_entry(list_url, 3))
    doc["credentialSubject"]["name"] = "Mallory"

    report = await post(client, doc)

    assert result(report, "proof")["status"] == "failed"
    assert result(report, "status")["status"] == "skipped"
    assert issuer_site.server.requests == []


@pytest.mark.parametrize("where", ["type", "context", "subject-type"])
async def test_long_type_arrays_are_refused_before_any_proof(plain, where):
    doc = eddsa_rdfc()
    many = [f"T{i}" for i in range(7101)]
    if where == "type":
        doc["type"] = doc["type"] + many
    elif where == "context":
        doc["@context"] = doc["@context"] + [
            f"https://x.example/{i}" for i in range(40)
        ]
    else:
        doc["credentialSubject"]["type"] = many
    resp = await plain.post(
        VERIFY,
        data=json.dumps({"verifiableCredential": doc}).encode(),
        headers={"Content-Type": "application/json"},
    )
    problem = await assert_problem(resp, 400)
    assert "over the limit of 32" in problem["detail"]
