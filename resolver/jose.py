"""JOSE for every package: strict compact JWS, ``alg`` bound to the key, signing.

Statements (``registry.statements``), signed registry answers
(``registry.answers``) and VC-JOSE credentials (``verifier.jose``) are all a
JWS Compact Serialization (RFC 7515 §7.1) signed with one of four algorithms.
This module holds what they share; each caller passes its own header policy
(which members, which ``typ``, which size caps) and its own error classes
(``JoseErrors``), so a refusal is raised as the caller's domain error.

- ``ALGORITHMS``: ``EdDSA`` (Ed25519 only, RFC 8037), ``ES256`` (P-256),
  ``ES384`` (P-384, RFC 7518 §3.4) and ``ES256K`` (secp256k1, RFC 8812), each
  bound to exactly one key type. ``none``, HMAC, RSA and anything else are
  refused before a key is looked at (RFC 8725 §3.1, §3.2): an ``HS256`` token
  whose "secret" is a public key never reaches a verifier.
- ``parse_compact``: the whole token within a size cap, exactly three strict,
  unpadded, canonical base64url segments (``resolver.multibase``), a header
  that is a JSON object without duplicate members (``resolver.strictjson``;
  RFC 7515 §4 lets parsers disagree on duplicates), checked by the caller's
  policy *before* the payload is decoded (so ``alg: none`` is reported as such
  whatever follows), a non-empty payload (no detached content) and a
  non-empty signature.
- ``find_method`` and ``method_key``: the verification method a ``kid`` names
  (W3C DID Core 1.0 §5.2-§5.3: defined once, referenced from an allowed
  relationship, controlled by the DID) and its key:

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

  X25519 keys cannot sign and are refused; BLS12-381 keys and older types
  (``Ed25519VerificationKey2018`` with ``publicKeyBase58``) are not supported.
- ``check_key``: the header's ``alg`` must be the one algorithm of the key's
  curve, and a JWK that names its ``use``, ``key_ops`` or ``alg`` binds them
  (RFC 7517 §4.2-§4.4).
- ``verify_compact``: the signature length for the ``alg``, then joserfc's
  check over the exact bytes received, never a re-serialization.
- ``sign_compact``: the ``alg`` follows from the key (Ed25519 from
  ``cryptography`` or PyNaCl, EC keys on the three curves).
- ``restricted_registry``: joserfc's registry narrowed to ``ALGORITHMS`` and
  the caller's header members. joserfc flags ``EdDSA`` with a
  ``SecurityWarning`` because RFC 9864 deprecates that name in favour of the
  fully specified ``Ed25519``; the wire formats here (DESIGN, VC-JOSE-COSE)
  still say ``EdDSA``, and accepting it for Ed25519 keys only is what RFC
  9864 §2 asks of a polymorphic name, so this registry emits no warning.

Pure: no I/O, no DID resolution; what a token *means* (claims, audience,
expiry) is the caller's. ECDSA signatures are malleable (``(r, s)`` and
``(r, n - s)`` both verify), so a token string is not a unique name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from joserfc import errors as jose_errors
from joserfc import jwk as jose_jwk
from joserfc import jws as jose_jws
from joserfc.jwa import JWSAlgModel
from joserfc.jws import JWSRegistry
from joserfc.registry import HeaderParameter, HeaderRegistryDict
from nacl.signing import SigningKey

from resolver import strictjson
from resolver.did import DIDURL
from resolver.document import method_definitions
from resolver.errors import ResolutionError
from resolver.jwk import validate_public_jwk
from resolver.keys import decode_multikey
from resolver.multibase import b64url_decode

__all__ = [
    "ALGORITHMS",
    "JWK_METHOD_TYPES",
    "MULTIBASE_METHOD_TYPES",
    "SIGNATURE_BYTES",
    "CompactJws",
    "JoseErrors",
    "PrivateKey",
    "SigningPublicKey",
    "alg_for_key",
    "check_alg_allowed",
    "check_jwk_use",
    "check_key",
    "find_method",
    "header_object",
    "key_curve",
    "method_key",
    "parse_compact",
    "restricted_registry",
    "show",
    "sign_compact",
    "signing_key",
    "verify_compact",
]

ALGORITHMS: Final[Mapping[str, str]] = {
    "EdDSA": "Ed25519",
    "ES256": "P-256",
    "ES256K": "secp256k1",
    "ES384": "P-384",
}
"""Each accepted ``alg`` and the one key type (JWK ``crv``) it may be used with."""

SIGNATURE_BYTES: Final[Mapping[str, int]] = {
    "EdDSA": 64,
    "ES256": 64,
    "ES256K": 64,
    "ES384": 96,
}
"""Raw signature length per alg: Ed25519 (RFC 8032 §5.1.6), ECDSA R || S
(RFC 7518 §3.4), each half the size of the curve order."""

_CRV_ALG: Final = {crv: alg for alg, crv in ALGORITHMS.items()}
_EC_CRV: Final[Mapping[str, str]] = {
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "secp256k1",
}
"""cryptography's curve names → JWK ``crv``."""

H = TypeVar("H")

SigningPublicKey = (
    ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
)
"""The ``cryptography`` public key types ``method_key`` returns: keys that can
verify a signature (X25519 keys cannot)."""

JWK_METHOD_TYPES: Final = frozenset({"JsonWebKey", "JsonWebKey2020"})
"""Verification method types whose key is a ``publicKeyJwk``."""
MULTIBASE_METHOD_TYPES: Final = frozenset({"Multikey", "Ed25519VerificationKey2020"})
"""Verification method types whose key is a ``publicKeyMultibase``."""

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | SigningKey
"""Keys ``sign_compact`` signs with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JoseErrors:
    """The caller's exception class for each kind of refusal."""

    malformed: type[Exception]
    """Not a string, over the cap, not three strict segments, a header that is
    not a JSON object, an empty payload; the caller's header policy raises
    its own errors."""
    algorithm: type[Exception]
    """An ``alg`` outside ``ALGORITHMS`` (``none``, HMAC, RSA…)."""
    unsigned: type[Exception]
    """An empty signature segment (RFC 7518 §3.6's unsecured JWS)."""
    mismatch: type[Exception]
    """The ``alg`` does not fit the key's curve, or the JWK's own ``alg``."""
    key_use: type[Exception]
    """The JWK restricts itself to another ``use`` or to ``key_ops`` without
    ``verify``."""
    signature: type[Exception]
    """The signature has the wrong length or does not verify."""

    @classmethod
    def every(cls, error: type[Exception]) -> JoseErrors:
        """One class for every kind of refusal."""
        return cls(
            malformed=error,
            algorithm=error,
            unsigned=error,
            mismatch=error,
            key_use=error,
            signature=error,
        )


@dataclass(frozen=True, slots=True)
class CompactJws(Generic[H]):
    """A compact JWS split and decoded; nothing verified."""

    header: dict[str, Any]
    """The protected header, as decoded."""
    checked: H
    """What the caller's header policy returned for it."""
    payload: bytes
    """The payload bytes, exactly as signed."""
    signature: bytes
    """The raw signature."""


def show(value: object) -> str:
    """``repr`` of an untrusted value, cut short for an error message."""
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# -- parsing ---------------------------------------------------------------------


def parse_compact(
    token: object,
    *,
    errors: JoseErrors,
    max_bytes: int,
    header_policy: Callable[[dict[str, Any]], H],
    max_header_bytes: int | None = None,
    what: str = "token",
) -> CompactJws[H]:
    """Split a compact JWS strictly; run the caller's header policy first.

    Args:
        token: The compact JWS, as received.
        errors: The caller's error classes.
        max_bytes: Largest token accepted, in characters.
        header_policy: Checks the decoded header (allowed members, ``typ``,
            ``kid``, ``alg`` with ``check_alg_allowed``), raising the caller's
            errors, and returns what the caller wants of it (``checked``).
            It runs before the payload is decoded.
        max_header_bytes: Largest decoded header accepted, if capped.
        what: What the token is, for messages ("statement", "token").

    Returns:
        The header, what the policy made of it, the payload and the signature.

    Raises:
        errors.malformed: see ``JoseErrors.malformed``.
        errors.unsigned: the signature segment is empty.
        Exception: whatever ``header_policy`` raises.
    """
    if not isinstance(token, str):
        raise errors.malformed(f"a {what} must be a string")
    if len(token) > max_bytes:
        raise errors.malformed(
            f"{what} is {len(token)} bytes, over the limit of {max_bytes}"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise errors.malformed(
            f"a compact jws has 3 dot-separated parts, not {len(parts)}"
        )
    header_b64, payload_b64, signature_b64 = parts
    header_bytes = _segment("header", header_b64, errors)
    if max_header_bytes is not None and len(header_bytes) > max_header_bytes:
        raise errors.malformed(
            f"header is {len(header_bytes)} bytes, over the limit of {max_header_bytes}"
        )
    header = header_object(header_bytes, errors)
    checked = header_policy(header)
    payload = _segment("payload", payload_b64, errors)
    if not signature_b64:
        raise errors.unsigned("the signature is empty")
    signature = _segment("signature", signature_b64, errors)
    return CompactJws(
        header=header, checked=checked, payload=payload, signature=signature
    )


def _segment(name: str, text: str, errors: JoseErrors) -> bytes:
    if not text:
        # An empty payload would be RFC 7515 Appendix F's detached content.
        raise errors.malformed(f"the {name} is empty")
    try:
        return b64url_decode(text)
    except ValueError as err:
        raise errors.malformed(f"the {name} is not base64url: {err}") from None


def header_object(
    data: bytes, errors: JoseErrors, name: str = "header"
) -> dict[str, Any]:
    """Decode UTF-8 JSON that must be an object without duplicate members.

    Raises:
        errors.malformed: not UTF-8, not strict JSON, not an object, or
            nested too deeply for the parser.
    """
    try:
        return strictjson.loads_object(data, name)
    except ValueError as err:
        raise errors.malformed(str(err)) from None
    except RecursionError:
        raise errors.malformed(f"the {name} nests too deeply") from None


def check_alg_allowed(alg: str, errors: JoseErrors) -> None:
    """Refuse an ``alg`` outside ``ALGORITHMS`` (RFC 8725 §3.1, §3.2).

    Raises:
        errors.algorithm: ``alg`` is ``none``, HMAC, RSA or unknown.
    """
    if alg not in ALGORITHMS:
        raise errors.algorithm(
            f"alg {show(alg)} is not allowed; use one of {', '.join(ALGORITHMS)}"
        )


# -- keys ------------------------------------------------------------------------


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


def check_key(
    alg: str,
    key: object,
    errors: JoseErrors,
    jwk: Mapping[str, Any] | None = None,
) -> None:
    """Bind ``alg`` to the key (RFC 8725 §3.1) and to the JWK's restrictions.

    Args:
        alg: The header's ``alg``, already one of ``ALGORITHMS``.
        key: The ``cryptography`` key of the verification method.
        errors: The caller's error classes.
        jwk: The method's ``publicKeyJwk``, if it has one.

    Raises:
        errors.key_use: the JWK's ``use`` is not ``sig``, or its ``key_ops``
            lack ``verify`` (RFC 7517 §4.2, §4.3).
        errors.mismatch: ``alg`` is not the one of the key's curve, or not the
            JWK's ``alg`` (RFC 7517 §4.4).
    """
    if jwk is not None:
        check_jwk_use(jwk, errors.key_use)
    crv = key_curve(key)
    if ALGORITHMS[alg] != crv:
        raise errors.mismatch(f"alg {alg} is for {ALGORITHMS[alg]} keys, not {crv}")
    key_alg = None if jwk is None else jwk.get("alg")
    if key_alg is not None and key_alg != alg:
        raise errors.mismatch(f"key is for alg {show(key_alg)}, not {alg}")


def check_jwk_use(jwk: Mapping[str, Any], error: type[Exception]) -> None:
    """RFC 7517 §4.2-§4.3: a JWK that names its use or operations binds them.

    Raises:
        error: ``use`` is not ``sig``, or ``key_ops`` lack ``verify``.
    """
    use = jwk.get("use")
    if use is not None and use != "sig":
        raise error(f"key has use {show(use)}, not 'sig'")
    ops = jwk.get("key_ops")
    if ops is not None and "verify" not in ops:
        raise error("key_ops of the key do not include 'verify'")


def alg_for_key(key: object) -> str | None:
    """The one ``alg`` of a key's type, or ``None`` when it has none here."""
    return _CRV_ALG.get(key_curve(key))


def signing_key(
    private_key: object, error: type[Exception]
) -> tuple[ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey, str]:
    """Accept a private key to sign with and find its ``alg``.

    A PyNaCl ``SigningKey`` becomes the equivalent ``cryptography`` key.

    Raises:
        error: not an Ed25519 or EC private key, or on a curve without an
            ``alg`` in ``ALGORITHMS`` (P-521).
    """
    if isinstance(private_key, SigningKey):
        private_key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(private_key))
    if not isinstance(
        private_key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
    ):
        raise error(f"cannot sign with a {type(private_key).__name__}")
    alg = alg_for_key(private_key)
    if alg is None:
        raise error(f"no jose alg for {key_curve(private_key)} keys")
    return private_key, alg


# -- the key of a verification method ---------------------------------------------


def find_method(
    document: object,
    kid: DIDURL,
    relationships: Collection[str],
    error: type[Exception],
) -> dict[str, Any]:
    """Find the verification method ``kid`` names and check it may sign.

    Checks, in order: (1) the document is a JSON object and the one of
    ``kid``'s DID; (2) exactly one method with that id is defined, in
    ``verificationMethod`` or embedded in a relationship (ids absolute or
    ``#fragment``, W3C DID Core 1.0 §5.2); (3) it is referenced from one of
    ``relationships`` (§5.3); (4) its ``controller`` is the document's DID.

    Args:
        document: The resolved DID document of ``kid.did``.
        kid: The absolute DID URL of the method (``<did>#<fragment>``).
        relationships: The verification relationships that may hold it.
        error: The caller's exception class.

    Returns:
        A shallow copy of the method with its ``id`` made absolute.

    Raises:
        error: any check fails; the message says which (and, for (3), where
            the method is referenced instead).
    """
    did, wanted = kid.did, str(kid)
    if not isinstance(document, Mapping):
        raise error("the did document is not a json object")
    doc_id = document.get("id")
    if doc_id != did:
        raise error(f"document is for {show(doc_id)}, not for {did}")
    try:
        definitions, referenced_from = method_definitions(document, wanted)
    except ValueError as err:
        raise error(str(err)) from None
    if not definitions:
        raise error(f"{wanted} is not a verification method of {did}")
    if len(definitions) > 1:
        raise error(f"{wanted} names {len(definitions)} verification methods")
    if not any(name in relationships for name in referenced_from):
        where = ", ".join(referenced_from) or "no verification relationship"
        allowed = " or ".join(relationships)
        raise error(f"key {wanted} is only in {where}, not in {allowed}")
    vm = dict(definitions[0])
    controller = vm.get("controller")
    if controller != did:
        raise error(f"key {wanted} is controlled by {show(controller)}, not by {did}")
    vm["id"] = wanted
    return vm


def method_key(
    vm: object, error: type[Exception]
) -> tuple[SigningPublicKey, Mapping[str, Any] | None]:
    """Load the public key of a verification method (types: see the table).

    ``publicKeyJwk`` is checked by ``resolver.jwk.validate_public_jwk`` and
    ``publicKeyMultibase`` by ``resolver.keys.decode_multikey`` (points on
    their curves, no private members). The JWK's ``use``, ``key_ops`` and
    ``alg`` are left to ``check_key``.

    Returns:
        The key, and the method's ``publicKeyJwk`` when it has one.

    Raises:
        error: the method is not an object; its type is missing or not
            supported; it holds no key material, both kinds, or the kind its
            type does not use; the key is invalid, cannot sign (X25519) or has
            no ``cryptography`` form (BLS12-381).
    """
    if not isinstance(vm, Mapping):
        raise error("the verification method is not a json object")
    vm_type = vm.get("type")
    if not isinstance(vm_type, str):
        raise error("the verification method has no string type")
    material = [name for name in ("publicKeyJwk", "publicKeyMultibase") if name in vm]
    if len(material) != 1:
        raise error(f"verification method has {len(material)} public keys, expected 1")
    jwk: Mapping[str, Any] | None = None
    key: object
    try:
        if vm_type in JWK_METHOD_TYPES and material == ["publicKeyJwk"]:
            jwk = vm["publicKeyJwk"]
            key = validate_public_jwk(jwk).key
        elif vm_type in MULTIBASE_METHOD_TYPES and material == ["publicKeyMultibase"]:
            value = vm["publicKeyMultibase"]
            if not isinstance(value, str):
                raise error("publicKeyMultibase is not a string")
            key = _multibase_key(vm_type, value)
        else:
            raise error(
                f"verification method type {show(vm_type)} with {material[0]} "
                "is not supported"
            )
    except _MultikeyTypeError as err:
        raise error(str(err)) from None
    except ResolutionError as err:
        raise error(f"verification method key is invalid: {err}") from None
    if isinstance(key, x25519.X25519PublicKey):
        raise error("verification method holds an x25519 key, which cannot sign")
    if not isinstance(
        key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    ):  # pragma: no cover - the decoders above return no other type
        raise error(f"verification method holds a {type(key).__name__}")
    return key, jwk


class _MultikeyTypeError(Exception):
    """A Multikey value of a type its method type does not allow."""


@functools.lru_cache(maxsize=4096)
def _multibase_key(vm_type: str, value: str) -> object:
    """Decode and check a Multikey once: the same issuer signs many tokens.

    Raises:
        _MultikeyTypeError: an ``Ed25519VerificationKey2020`` with another key.
        ResolutionError: not a valid Multikey value, or a type without a
            ``cryptography`` form.
    """
    key = decode_multikey(value)
    if vm_type == "Ed25519VerificationKey2020" and key.key_type != "ed25519-pub":
        raise _MultikeyTypeError(
            f"an Ed25519VerificationKey2020 holds a {key.key_type} key"
        )
    return key.to_cryptography()


# -- joserfc ----------------------------------------------------------------------


def _strict_str(value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError("must be a str")


class _RestrictedRegistry(JWSRegistry):
    """joserfc's registry narrowed to ``ALGORITHMS``."""

    def get_alg(self, name: str) -> JWSAlgModel:
        """Return the algorithm model for an allowed ``alg``.

        Overridden so that ``EdDSA`` (restricted to Ed25519 by ``check_key``)
        raises no RFC 9864 ``SecurityWarning``, and so that no other algorithm
        is ever returned, whatever joserfc has registered.

        Raises:
            joserfc.errors.UnsupportedAlgorithmError: ``name`` is not allowed.
        """
        if name not in ALGORITHMS:
            raise jose_errors.UnsupportedAlgorithmError(f"alg {name!r} not allowed")
        return self.algorithms[name]


def restricted_registry(
    *,
    members: Collection[str],
    required: Collection[str],
    strict: bool,
    max_header: int,
    max_payload: int,
) -> JWSRegistry:
    """Build a joserfc registry for one kind of token.

    Defence in depth: ``parse_compact`` and the caller's header policy have
    already checked the header; this registry checks it again inside joserfc.

    Args:
        members: Header members that must be strings when present.
        required: Those of ``members`` that must be present.
        strict: Refuse every member not in ``members``
            (``strict_check_header``).
        max_header: Largest header joserfc accepts, in bytes.
        max_payload: Largest payload and signature, in bytes.
    """
    registry = _RestrictedRegistry(strict_check_header=strict)
    headers: HeaderRegistryDict = {
        name: HeaderParameter(name, _strict_str, required=name in required)
        for name in sorted(members)
    }
    # Only these members: joserfc's own defaults (jwk, jku, x5c, crit, b64…)
    # are left out, so that a strict registry refuses them too.
    registry.header_registry = headers
    registry.max_header_length = max_header
    registry.max_payload_length = max_payload
    registry.max_signature_length = max_payload
    return registry


def _jose_public_key(key: object) -> jose_jwk.Key:
    if not isinstance(key, ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey):
        raise TypeError(f"no jose key for a {type(key).__name__}")
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if isinstance(key, ed25519.Ed25519PublicKey):
        return jose_jwk.import_key(pem, "OKP")
    return jose_jwk.import_key(pem, "EC")


def verify_compact(
    token: str,
    parsed: CompactJws[Any],
    key: object,
    *,
    registry: JWSRegistry,
    errors: JoseErrors,
    signer: str = "the key",
) -> None:
    """Verify a parsed token's signature over the exact bytes received.

    Call it after ``check_key``: the ``alg`` is then known to fit ``key``.

    Args:
        token: The compact JWS, verbatim (what ``parsed`` was parsed from).
        parsed: ``parse_compact``'s result.
        key: The verification method's ``cryptography`` public key.
        registry: The caller's ``restricted_registry``.
        errors: The caller's error classes.
        signer: Who the key is, for the message ("key did:…#key-1").

    Raises:
        errors.signature: the signature has the wrong length for the ``alg``,
            or does not verify.
    """
    alg = parsed.header["alg"]
    expected = SIGNATURE_BYTES[alg]
    if len(parsed.signature) != expected:
        raise errors.signature(
            f"signature is {len(parsed.signature)} bytes, expected {expected} for {alg}"
        )
    try:
        jose_jws.deserialize_compact(token, _jose_public_key(key), registry=registry)
    except jose_errors.BadSignatureError:
        raise errors.signature(f"signature does not verify with {signer}") from None
    except (jose_errors.JoseError, ValueError, TypeError) as err:
        # Not reachable for a token parse_compact accepted; kept so nothing escapes.
        raise errors.signature(f"jws refused by joserfc: {err}") from None


def sign_compact(
    header: Mapping[str, str],
    payload: bytes,
    private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    *,
    registry: JWSRegistry,
) -> str:
    """Sign ``payload`` under ``header`` (whose ``alg`` fits the key).

    Ed25519 signatures are deterministic; ECDSA ones are not.
    """
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jose_key: jose_jwk.Key = (
        jose_jwk.import_key(pem, "OKP")
        if isinstance(private_key, ed25519.Ed25519PrivateKey)
        else jose_jwk.import_key(pem, "EC")
    )
    return jose_jws.serialize_compact(
        dict(header), payload, jose_key, registry=registry
    )
