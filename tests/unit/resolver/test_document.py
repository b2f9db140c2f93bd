"""check_document: a DID document from outside is the DID's own, and well-formed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from resolver.did import DID
from resolver.document import MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES, check_document
from resolver.errors import InvalidDIDDocumentError

DID_WEB = DID("did:web:example.edu")
KEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def good_doc() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            {"@vocab": "https://example.edu#"},
        ],
        "id": "did:web:example.edu",
        "controller": "did:web:example.edu",
        "alsoKnownAs": ["https://example.edu"],
        "verificationMethod": [
            {
                "id": "did:web:example.edu#key-1",
                "type": "Multikey",
                "controller": "did:web:example.edu",
                "publicKeyMultibase": KEY,
            },
            {
                "id": "#key-2",
                "type": "JsonWebKey2020",
                "controller": "did:web:accreditor.example",
                "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "11qY"},
            },
        ],
        "authentication": ["#key-1"],
        "assertionMethod": [
            "did:web:example.edu#key-1",
            {
                "id": "#key-3",
                "type": "Multikey",
                "controller": "did:web:example.edu",
                "publicKeyMultibase": KEY,
            },
        ],
        "service": [
            {
                "id": "#registry",
                "type": "LinkedDomains",
                "serviceEndpoint": "https://example.edu",
            },
            {
                "id": "did:web:example.edu#hub",
                "type": ["A", "B"],
                "serviceEndpoint": [
                    {"origins": ["https://a.example"]},
                    "https://b.example",
                ],
            },
        ],
        "unknownProperty": {"kept": True},
    }


def test_check_document_accepts_and_returns_the_same_document():
    doc = good_doc()
    before = copy.deepcopy(doc)
    assert check_document(doc, DID_WEB) is doc
    assert doc == before


def test_check_document_accepts_minimal_document():
    assert check_document({"id": "did:web:example.edu"}, DID_WEB) == {
        "id": "did:web:example.edu"
    }


def _with(path: str, value: Any) -> dict[str, Any]:
    """good_doc() with the value at a dotted path (list indices as numbers) set."""
    doc = good_doc()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def _without(path: str) -> dict[str, Any]:
    doc = good_doc()
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[last]
    return doc


REJECTED = {
    "foreign-id": (
        _with("id", "did:web:evil.example"),
        "document id 'did:web:evil.example'",
    ),
    "id-with-fragment": (
        _with("id", "did:web:example.edu#x"),
        "is not did:web:example.edu",
    ),
    "id-case-differs": (
        _with("id", "did:web:EXAMPLE.edu"),
        "is not did:web:example.edu",
    ),
    "missing-id": (_without("id"), "document id missing"),
    "id-not-string": (_with("id", ["did:web:example.edu"]), "is not did:web"),
    "bad-context": (_with("@context", 5), "@context"),
    "controller-not-did": (_with("controller", "https://example.edu"), "controller"),
    "controller-list-item": (
        _with("controller", ["did:web:a.example", "x"]),
        r"controller\[1\]",
    ),
    "also-known-as-not-strings": (_with("alsoKnownAs", [1]), "alsoKnownAs"),
    "vm-list-not-array": (
        _with("verificationMethod", {}),
        "verificationMethod is not an array",
    ),
    "vm-not-object": (
        _with("verificationMethod.0", "#key-1"),
        r"verificationMethod\[0\] is not",
    ),
    "vm-missing-id": (
        _without("verificationMethod.0.id"),
        r"\[0\]\.id is not a string",
    ),
    "vm-id-not-did-url": (
        _with("verificationMethod.0.id", "https://example.edu#k"),
        "is not a DID URL",
    ),
    "vm-id-relative-path": (
        _with("verificationMethod.0.id", "key-1"),
        "is not a DID URL",
    ),
    "vm-missing-type": (_without("verificationMethod.0.type"), r"\[0\]\.type"),
    "vm-missing-controller": (
        _without("verificationMethod.0.controller"),
        "controller",
    ),
    "vm-controller-is-did-url": (
        _with("verificationMethod.0.controller", "did:web:example.edu#key-1"),
        "is not a DID",
    ),
    "vm-controller-malformed": (
        _with("verificationMethod.1.controller", "did:Web:x"),
        r"verificationMethod\[1\]\.controller",
    ),
    "vm-duplicate-id": (
        _with("verificationMethod.1.id", "did:web:example.edu#key-1"),
        "repeats id 'did:web:example.edu#key-1'",
    ),
    "vm-relative-duplicates-absolute": (
        _with("verificationMethod.1.id", "#key-1"),
        "repeats id",
    ),
    "vm-two-keys": (
        _with("verificationMethod.0.publicKeyJwk", {"kty": "OKP", "x": "a"}),
        "more than one key",
    ),
    "jwk-with-private-key": (
        _with(
            "verificationMethod.1.publicKeyJwk", {"kty": "OKP", "x": "a", "d": "secret"}
        ),
        "private key members",
    ),
    "jwk-without-kty": (_with("verificationMethod.1.publicKeyJwk", {"x": "a"}), "kty"),
    "multibase-not-string": (
        _with("verificationMethod.0.publicKeyMultibase", 7),
        "multibase",
    ),
    "relationship-not-array": (
        _with("authentication", "#key-1"),
        "authentication is not",
    ),
    "relationship-bad-reference": (
        _with("authentication.0", "key-1"),
        "is not a DID URL",
    ),
    "relationship-number": (
        _with("authentication.0", 1),
        r"authentication\[0\] is not",
    ),
    "embedded-vm-duplicates-vm": (
        _with("assertionMethod.1.id", "#key-2"),
        r"assertionMethod\[1\] repeats id",
    ),
    "embedded-vm-malformed": (_without("assertionMethod.1.controller"), "controller"),
    "service-not-object": (
        _with("service.0", "https://x"),
        r"service\[0\] is not an object",
    ),
    "service-missing-id": (_without("service.0.id"), r"service\[0\]\.id"),
    "service-id-not-uri": (_with("service.0.id", "registry"), "not an absolute uri"),
    "service-missing-type": (_without("service.0.type"), "type"),
    "service-empty-type-list": (_with("service.0.type", []), "type"),
    "service-missing-endpoint": (
        _without("service.0.serviceEndpoint"),
        "serviceEndpoint",
    ),
    "service-endpoint-with-space": (
        _with("service.0.serviceEndpoint", "https://exa mple.edu"),
        "not an absolute uri",
    ),
    "service-endpoint-empty-list": (
        _with("service.1.serviceEndpoint", []),
        "empty array",
    ),
    "service-endpoint-list-item": (
        _with("service.1.serviceEndpoint", ["https://a.example", 5]),
        r"serviceEndpoint\[1\]",
    ),
    "service-duplicate-id": (_with("service.1.id", "#registry"), "repeats id"),
    "service-reuses-vm-id": (_with("service.0.id", "#key-1"), "repeats id"),
}


@pytest.mark.parametrize(("doc", "message"), REJECTED.values(), ids=REJECTED.keys())
def test_check_document_rejects(doc, message):
    with pytest.raises(InvalidDIDDocumentError, match=message) as info:
        check_document(doc, DID_WEB)
    assert info.value.error_type == "INVALID_DID_DOCUMENT"


@pytest.mark.parametrize("value", [None, [], "did:web:example.edu", 1], ids=repr)
def test_check_document_rejects_non_object(value):
    with pytest.raises(InvalidDIDDocumentError, match="not a json object"):
        check_document(value, DID_WEB)


def test_check_document_rejects_deep_nesting():
    deep: Any = "leaf"
    for _ in range(MAX_DOCUMENT_DEPTH):
        deep = {"n": deep}
    with pytest.raises(
        InvalidDIDDocumentError, match=f"deeper than {MAX_DOCUMENT_DEPTH}"
    ):
        check_document({"id": "did:web:example.edu", "x": deep}, DID_WEB)


def test_check_document_accepts_nesting_at_the_limit():
    deep: Any = "leaf"
    for _ in range(MAX_DOCUMENT_DEPTH - 1):
        deep = {"n": deep}
    check_document({"id": "did:web:example.edu", "x": deep}, DID_WEB)


def test_check_document_rejects_too_many_values():
    doc = {"id": "did:web:example.edu", "x": list(range(MAX_DOCUMENT_NODES))}
    with pytest.raises(
        InvalidDIDDocumentError, match=f"over {MAX_DOCUMENT_NODES} values"
    ):
        check_document(doc, DID_WEB)


def test_check_document_resolves_relative_ids_against_the_did_being_resolved():
    # The same relative id is fine in another DID's document.
    other = DID("did:web:other.example")
    doc = {
        "id": "did:web:other.example",
        "controller": ["did:web:other.example", "did:key:z6Mk"],
        "verificationMethod": [
            {"id": "#k", "type": "Multikey", "controller": "did:web:other.example"},
        ],
        "authentication": ["#k", "did:web:other.example#k"],
    }
    assert check_document(doc, other) is doc


def test_method_definitions_finds_relative_and_embedded_methods_and_references():
    from resolver.document import method_definitions

    did = "did:example:abc"
    doc = {
        "id": did,
        "verificationMethod": [{"id": "#k1", "type": "Multikey"}],
        "assertionMethod": ["#k1", {"id": f"{did}#k2", "type": "Multikey"}],
        "keyAgreement": [f"{did}#k1"],
    }
    defs, refs = method_definitions(doc, f"{did}#k1")
    assert [d["id"] for d in defs] == ["#k1"]
    assert refs == ["assertionMethod", "keyAgreement"]
    defs, refs = method_definitions(doc, f"{did}#k2")
    assert [d["id"] for d in defs] == [f"{did}#k2"]
    assert refs == ["assertionMethod"]
    assert method_definitions(doc, f"{did}#nope") == ([], [])


def test_method_definitions_refuses_a_relationship_that_is_not_an_array():
    from resolver.document import method_definitions

    with pytest.raises(ValueError, match="assertionMethod is not an array"):
        method_definitions(
            {"id": "did:example:a", "assertionMethod": "#k"}, "did:example:a#k"
        )
