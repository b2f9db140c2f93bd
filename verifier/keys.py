"""Issuer keys: find a verification method in a DID document and load its key.

Every proof suite of the verifier (VC-JOSE/JWT, Data Integrity) names the key
that signed a credential by a DID URL and must then answer the same two
questions before it checks a signature:

1. ``find_verification_method``: is this DID URL a verification method of the
   issuer's DID document (W3C DID Core 1.0 §5.2), referenced from the
   verification relationship the proof claims (§5.3; ``assertionMethod`` for
   credentials, VC Data Model 2.0 §4.12 and VC-JOSE-COSE §4.3), and controlled
   by the issuer itself? A method defined twice, a key listed only under
   ``keyAgreement`` or a method whose ``controller`` is another DID is refused.
2. ``public_key_of``: what public key does the method hold? Supported method
   types (W3C Controlled Identifiers 1.0 §2.2, the 2020 suites):

   ===============================  =======================  ==================
   ``type``                         key material             keys
   ===============================  =======================  ==================
   ``Multikey``                     ``publicKeyMultibase``   Ed25519, P-256,
                                                             P-384, P-521,
                                                             secp256k1, RSA
   ``Ed25519VerificationKey2020``   ``publicKeyMultibase``   Ed25519 only
   ``JsonWebKey``,                  ``publicKeyJwk``         OKP Ed25519, EC
   ``JsonWebKey2020``                                        P-256/P-384/P-521/
                                                             secp256k1, RSA
   ===============================  =======================  ==================

   Key material is decoded and checked by ``resolver.keys.decode_multikey``
   and ``resolver.jwk.validate_public_jwk`` (points on their curves, no private
   members). X25519 keys cannot sign and are refused; BLS12-381 keys, and
   older types such as ``Ed25519VerificationKey2018`` with
   ``publicKeyBase58``, are not supported.

``key_curve`` names a key's curve the way JWK ``crv`` does, so that each suite
can check its algorithm against the key (RFC 8725 §3.1).

This module is pure: it does not resolve DIDs (the caller passes the resolved
document), verify signatures, or decide which algorithm a suite accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519

from resolver.did import DIDURL, parse_did_url
from resolver.document import VERIFICATION_RELATIONSHIPS, method_definitions
from resolver.errors import ResolutionError
from resolver.jwk import validate_public_jwk
from resolver.keys import decode_multikey
from verifier.errors import KeyBindingError

__all__ = [
    "JWK_METHOD_TYPES",
    "MULTIBASE_METHOD_TYPES",
    "SigningPublicKey",
    "find_verification_method",
    "key_curve",
    "parse_key_id",
    "public_key_of",
]

SigningPublicKey = (
    ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
)
"""The ``cryptography`` public key types ``public_key_of`` returns: keys that
can verify a signature (X25519 keys cannot)."""

JWK_METHOD_TYPES: Final = frozenset({"JsonWebKey", "JsonWebKey2020"})
"""Verification method types whose key is a ``publicKeyJwk``."""
MULTIBASE_METHOD_TYPES: Final = frozenset({"Multikey", "Ed25519VerificationKey2020"})
"""Verification method types whose key is a ``publicKeyMultibase``."""

_EC_CRV: Final[Mapping[str, str]] = {
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "secp256k1",
}
"""cryptography's curve names → JWK ``crv``."""


def parse_key_id(text: object) -> DIDURL:
    """Parse an absolute key id: a DID and a ``#fragment``, no path or query.

    Raises:
        KeyBindingError: ``text`` is not a string of that form.
    """
    if not isinstance(text, str):
        raise KeyBindingError("a key id must be a string")
    try:
        url = parse_did_url(text)
    except ResolutionError as err:
        raise KeyBindingError(f"key id is not a did url: {err}") from None
    if url.path or url.query is not None or not url.fragment:
        raise KeyBindingError(
            f"key id {_show(text)} must be a did and a #fragment, without path or query"
        )
    return url


def find_verification_method(
    did_document: Mapping[str, Any],
    kid: str | DIDURL,
    purpose: str = "assertionMethod",
    *,
    issuer: str | None = None,
) -> dict[str, Any]:
    """Find the verification method ``kid`` names and check it may be used.

    Checks, in order: (1) ``kid`` is ``<did>#<fragment>``; (2) if ``issuer``
    is given, ``kid``'s DID is the issuer; (3) the document is the one of
    ``kid``'s DID; (4) exactly one method with that id is defined, in
    ``verificationMethod`` or embedded in a relationship (ids may be absolute
    or ``#fragment``); (5) it is referenced from ``purpose``; (6) its
    ``controller`` is the document's DID.

    Args:
        did_document: The resolved DID document of ``kid``'s DID.
        kid: The absolute DID URL of the method (``<did>#<fragment>``).
        purpose: The verification relationship the proof claims.
        issuer: The credential's issuer, when the caller already knows it.

    Returns:
        A shallow copy of the method with its ``id`` made absolute, ready for
        ``public_key_of``.

    Raises:
        KeyBindingError: ``kid`` is not a DID URL with a fragment; its DID is
            not ``issuer``; the document is not ``kid``'s DID's; ``kid`` names
            no method or several; the method is not referenced from
            ``purpose`` (the message says where it is); or its controller is
            another DID.
        ValueError: ``purpose`` is not a verification relationship of DID Core
            (a programming error).
    """
    if purpose not in VERIFICATION_RELATIONSHIPS:
        raise ValueError(f"{purpose!r} is not a verification relationship")
    url = kid if isinstance(kid, DIDURL) else parse_key_id(kid)
    if url.path or url.query is not None or not url.fragment:
        raise KeyBindingError(f"key id {url} must be a did and a #fragment")
    did, wanted = url.did, str(url)
    if issuer is not None and issuer != did:
        raise KeyBindingError(f"key {wanted} is a key of {did}, not of the issuer")
    if not isinstance(did_document, Mapping):
        raise KeyBindingError("the did document is not a json object")
    doc_id = did_document.get("id")
    if doc_id != did:
        raise KeyBindingError(f"document is for {_show(doc_id)}, not for {did}")
    try:
        definitions, referenced_from = method_definitions(did_document, wanted)
    except ValueError as err:
        raise KeyBindingError(str(err)) from None
    if not definitions:
        raise KeyBindingError(f"{wanted} is not a verification method of {did}")
    if len(definitions) > 1:
        raise KeyBindingError(f"{wanted} names {len(definitions)} verification methods")
    if purpose not in referenced_from:
        where = ", ".join(referenced_from) or "no verification relationship"
        raise KeyBindingError(f"key {wanted} is only in {where}, not in {purpose}")
    vm = dict(definitions[0])
    controller = vm.get("controller")
    if controller != did:
        raise KeyBindingError(
            f"key {wanted} is controlled by {_show(controller)}, not by {did}"
        )
    vm["id"] = wanted
    return vm


def public_key_of(vm: Mapping[str, Any]) -> SigningPublicKey:
    """Load the public key of a verification method (see the module table).

    A ``publicKeyJwk`` that declares ``use`` must say ``"sig"``, and one that
    declares ``key_ops`` must include ``"verify"`` (RFC 7517 §4.2, §4.3). Its
    ``alg``, if any, is the suite's to compare with its own algorithm.

    Raises:
        KeyBindingError: the method is not an object; its type is missing or
            not supported; it holds no key material, both kinds, or the kind
            its type does not use; the key is invalid (off its curve, a
            private JWK, bad encoding), cannot sign (X25519) or is of an
            unsupported type (BLS12-381); or the JWK restricts itself to
            another use.
    """
    if not isinstance(vm, Mapping):
        raise KeyBindingError("the verification method is not a json object")
    vm_type = vm.get("type")
    if not isinstance(vm_type, str):
        raise KeyBindingError("the verification method has no string type")
    material = [name for name in ("publicKeyJwk", "publicKeyMultibase") if name in vm]
    if len(material) != 1:
        raise KeyBindingError(
            f"verification method has {len(material)} public keys, expected 1"
        )
    key: object
    try:
        if vm_type in JWK_METHOD_TYPES and material == ["publicKeyJwk"]:
            jwk = vm["publicKeyJwk"]
            key = validate_public_jwk(jwk).key
            _check_jwk_use(jwk)
        elif vm_type in MULTIBASE_METHOD_TYPES and material == ["publicKeyMultibase"]:
            decoded = decode_multikey(vm["publicKeyMultibase"])
            if vm_type == "Ed25519VerificationKey2020" and (
                decoded.key_type != "ed25519-pub"
            ):
                raise KeyBindingError(
                    f"an Ed25519VerificationKey2020 holds a {decoded.key_type} key"
                )
            key = decoded.to_cryptography()
        else:
            raise KeyBindingError(
                f"verification method type {_show(vm_type)} with {material[0]} "
                "is not supported"
            )
    except ResolutionError as err:
        raise KeyBindingError(f"verification method key is invalid: {err}") from None
    if isinstance(key, x25519.X25519PublicKey):
        raise KeyBindingError(
            "verification method holds an x25519 key, which cannot sign"
        )
    if not isinstance(
        key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    ):  # pragma: no cover - the decoders above return no other type
        raise KeyBindingError(f"verification method holds a {type(key).__name__}")
    return key


def key_curve(key: object) -> str:
    """Name a key's type as JWK does: its ``crv``, or ``"RSA"``.

    Public and private ``cryptography`` keys are both accepted. Anything else
    is named by its class, so the result can go straight into a message.
    """
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return _EC_CRV.get(key.curve.name, key.curve.name)
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, x25519.X25519PublicKey | x25519.X25519PrivateKey):
        return "X25519"
    return type(key).__name__


def _check_jwk_use(jwk: Mapping[str, Any]) -> None:
    """RFC 7517 §4.2-§4.3: a JWK that names its use or operations binds them."""
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise KeyBindingError(f"key has use {_show(use)}, not 'sig'")
    ops = jwk.get("key_ops")
    if ops is not None and "verify" not in ops:
        raise KeyBindingError("key_ops of the key do not include 'verify'")


def _show(value: object) -> str:
    """``repr`` of an untrusted value, cut short for an error message."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
