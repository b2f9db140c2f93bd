"""Checks for a DID document obtained from outside (W3C DID Core 1.0, §5 and §6).

``check_document`` accepts a parsed JSON value only if it is a DID document for
the DID that was resolved, and well-formed where the rest of the project relies
on it: the ``id`` equals the DID exactly (DID Resolution: the document must be
the one of the DID asked for), verification methods have a DID URL ``id``, a
``type`` and a DID ``controller`` (§5.2), relationships hold references or
embedded methods (§5.3), services have an ``id``, a ``type`` and an endpoint
(§5.4), ids are unique, and the whole value stays within size and depth limits.

It does not verify keys (``resolver.keys`` does), does not fetch, does not
interpret JSON-LD, and passes unknown properties through untouched: the value
returned is the one given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from resolver.did import DID, parse_did, parse_did_url
from resolver.errors import InvalidDIDDocumentError, InvalidDIDError, InvalidDIDURLError
from resolver.models import JSONObject

__all__ = [
    "MAX_DOCUMENT_DEPTH",
    "MAX_DOCUMENT_NODES",
    "VERIFICATION_RELATIONSHIPS",
    "check_document",
]

MAX_DOCUMENT_DEPTH: Final = 32
"""Deepest nesting of arrays/objects accepted in a DID document."""
MAX_DOCUMENT_NODES: Final = 10_000
"""Most JSON values (objects, arrays, scalars) accepted in a DID document."""
VERIFICATION_RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
"""The verification relationships of DID Core §5.3."""

# JWK members of the private class (RFC 7517/7518): a DID document must never
# carry them (DID Core §5.2.1).
_PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_VERIFICATION_MATERIAL: Final = ("publicKeyJwk", "publicKeyMultibase")
# An absolute URI (RFC 3986 §3: scheme ":" …) without whitespace or controls.
_URI_RE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f]+")


def _fail(where: str, problem: str) -> InvalidDIDDocumentError:
    return InvalidDIDDocumentError(f"{where} {problem}")


def _check_size(doc: JSONObject) -> None:
    """Walk the value once, iteratively, counting nodes and depth."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_DOCUMENT_NODES:
            raise InvalidDIDDocumentError(
                f"document has over {MAX_DOCUMENT_NODES} values"
            )
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DOCUMENT_DEPTH:
            raise InvalidDIDDocumentError(
                f"document nests deeper than {MAX_DOCUMENT_DEPTH} levels"
            )
        stack.extend((child, depth + 1) for child in children)


def _did(value: Any, where: str) -> DID:
    if not isinstance(value, str):
        raise _fail(where, "is not a string")
    try:
        return parse_did(value)
    except InvalidDIDError as e:
        raise _fail(where, f"{value!r} is not a DID: {e.detail}") from None


def _did_url(value: Any, did: DID, where: str) -> str:
    """Return ``value`` as an absolute DID URL (``#frag`` is relative to ``did``)."""
    if not isinstance(value, str):
        raise _fail(where, "is not a string")
    absolute = did + value if value.startswith("#") else value
    try:
        parse_did_url(absolute)
    except (InvalidDIDError, InvalidDIDURLError) as e:
        raise _fail(where, f"{value!r} is not a DID URL: {e.detail}") from None
    return absolute


def _list(doc: JSONObject, key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise _fail(key, "is not an array")
    return value


def _claim(seen: set[str], node_id: str, where: str) -> None:
    if node_id in seen:
        raise _fail(where, f"repeats id {node_id!r}")
    seen.add(node_id)


def _check_method(vm: Any, did: DID, seen: set[str], where: str) -> None:
    """A verification method (DID Core §5.2)."""
    if not isinstance(vm, dict):
        raise _fail(where, "is not an object")
    _claim(seen, _did_url(vm.get("id"), did, f"{where}.id"), where)
    vm_type = vm.get("type")
    if not isinstance(vm_type, str) or not vm_type:
        raise _fail(f"{where}.type", "is missing or not a string")
    _did(vm.get("controller"), f"{where}.controller")
    material = [key for key in _VERIFICATION_MATERIAL if key in vm]
    if len(material) > 1:
        # Two keys in one method: a verifier could check against either.
        raise _fail(where, f"has more than one key: {', '.join(material)}")
    if "publicKeyJwk" in vm:
        jwk = vm["publicKeyJwk"]
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
            raise _fail(f"{where}.publicKeyJwk", "is not a jwk object with a kty")
        private = sorted(_PRIVATE_JWK_MEMBERS.intersection(jwk))
        if private:
            raise _fail(f"{where}.publicKeyJwk", f"holds private key members {private}")
    if "publicKeyMultibase" in vm:
        mb = vm["publicKeyMultibase"]
        if not isinstance(mb, str) or len(mb) < 2:
            raise _fail(f"{where}.publicKeyMultibase", "is not a multibase string")


def _uri(value: Any, did: DID, where: str) -> str:
    """Return ``value`` as an absolute URI, resolving ``#fragment`` against ``did``."""
    if isinstance(value, str) and value.startswith("#"):
        return _did_url(value, did, where)
    if not isinstance(value, str) or not _URI_RE.fullmatch(value):
        raise _fail(where, f"{value!r} is not an absolute uri")
    return value


def _check_service(service: Any, did: DID, seen: set[str], where: str) -> None:
    """A service (DID Core §5.4)."""
    if not isinstance(service, dict):
        raise _fail(where, "is not an object")
    _claim(seen, _uri(service.get("id"), did, f"{where}.id"), where)
    types = service.get("type")
    if isinstance(types, str):
        types = [types]
    if (
        not isinstance(types, list)
        or not types
        or not all(isinstance(t, str) and t for t in types)
    ):
        raise _fail(f"{where}.type", "is not a string or an array of strings")
    endpoint = service.get("serviceEndpoint")
    where = f"{where}.serviceEndpoint"
    if isinstance(endpoint, list):
        if not endpoint:
            raise _fail(where, "is an empty array")
        labelled = [(f"{where}[{i}]", ep) for i, ep in enumerate(endpoint)]
    else:
        labelled = [(where, endpoint)]
    for label, ep in labelled:
        if not isinstance(ep, dict):  # a map's members are its service type's business
            _uri(ep, did, label)


def check_document(doc: object, did: DID) -> JSONObject:
    """Accept ``doc`` as the DID document of ``did``, or say precisely why not.

    Returns:
        ``doc`` itself, unchanged.

    Raises:
        InvalidDIDDocumentError: ``doc`` is not a JSON object, its ``id`` is not
            ``did``, a verification method, relationship entry or service is
            malformed, an id repeats, or it is too large or too deep.
    """
    if not isinstance(doc, dict):
        raise InvalidDIDDocumentError("document is not a json object")
    _check_size(doc)
    doc_id = doc.get("id")
    if not isinstance(doc_id, str) or doc_id != did:
        shown = repr(doc_id) if doc_id is not None else "missing"
        raise InvalidDIDDocumentError(f"document id {shown} is not {did}")
    if "@context" in doc:
        ctx = doc["@context"]
        items = ctx if isinstance(ctx, list) else [ctx]
        if not all(isinstance(c, str | dict) for c in items):
            raise _fail("@context", "is not a string, object or array of them")
    if "controller" in doc:
        controllers = doc["controller"]
        if isinstance(controllers, list):
            for i, c in enumerate(controllers):
                _did(c, f"controller[{i}]")
        else:
            _did(controllers, "controller")
    if not all(isinstance(a, str) for a in _list(doc, "alsoKnownAs")):
        raise _fail("alsoKnownAs", "is not an array of strings")

    seen: set[str] = set()
    for i, vm in enumerate(_list(doc, "verificationMethod")):
        _check_method(vm, did, seen, f"verificationMethod[{i}]")
    for rel in VERIFICATION_RELATIONSHIPS:
        for i, entry in enumerate(_list(doc, rel)):
            if isinstance(entry, str):
                _did_url(entry, did, f"{rel}[{i}]")
            else:
                _check_method(entry, did, seen, f"{rel}[{i}]")
    for i, service in enumerate(_list(doc, "service")):
        _check_service(service, did, seen, f"service[{i}]")
    return doc


def method_definitions(
    document: Mapping[str, Any], kid: str
) -> tuple[list[Mapping[str, Any]], list[str]]:
    """Where a DID document defines and references the verification method ``kid``.

    ``kid`` is an absolute DID URL; ids in the document may be absolute or
    ``#fragment`` (relative to the document's ``id``). Definitions are looked
    for in ``verificationMethod`` and embedded in the relationships.

    Returns:
        The objects that define ``kid`` (the caller refuses none, or several),
        and the relationships that list it, in DID Core's order.

    Raises:
        ValueError: ``verificationMethod`` or a relationship is not an array.
    """
    base = document.get("id")
    base = base if isinstance(base, str) else ""

    def absolute(ref: object) -> str | None:
        if not isinstance(ref, str):
            return None
        return base + ref if ref.startswith("#") else ref

    def entries(name: str) -> list[Any]:
        value = document.get(name, [])
        if not isinstance(value, list):
            raise ValueError(f"document {name} is not an array")
        return value

    definitions: list[Mapping[str, Any]] = [
        vm
        for vm in entries("verificationMethod")
        if isinstance(vm, Mapping) and absolute(vm.get("id")) == kid
    ]
    referenced_from: list[str] = []
    for name in VERIFICATION_RELATIONSHIPS:
        for entry in entries(name):
            if isinstance(entry, Mapping):
                if absolute(entry.get("id")) != kid:
                    continue
                definitions.append(entry)
            elif absolute(entry) != kid:
                continue
            if name not in referenced_from:
                referenced_from.append(name)
    return definitions, referenced_from
