"""The did:key driver: expands a did:key into its DID document.

Implements "Read" of the did:key Method v0.9 (W3C CCG), which is the
"Document Creation Algorithm" with its "Signature Method Creation",
"Encryption Method Creation" and "Context Creation" steps. The document is a
pure function of the DID and two options, so results are cached forever
(``ttl=None``).

Options (did:key resolution options, as strings or JSON values):

- ``publicKeyFormat``: the verification method type. ``Multikey`` (the
  default), ``JsonWebKey2020``, or the 2020 suites ``Ed25519VerificationKey2020``
  (Ed25519 keys; the derived key agreement key then becomes
  ``X25519KeyAgreementKey2020``, as in the spec's example document) and
  ``X25519KeyAgreementKey2020`` (X25519 keys).
- ``enableEncryptionKeyDerivation``: add an X25519 ``keyAgreement`` method
  derived from an Ed25519 key. Off by default: see
  ``docs/adr/0002-did-key-encryption-key-derivation.md``. It has no effect on
  other key types, for which the spec defines no derivation.

Verification relationships: a signing key is in ``authentication``,
``assertionMethod``, ``capabilityInvocation`` and ``capabilityDelegation``; an
X25519 key only in ``keyAgreement``. The spec's older test vectors also put
EC keys under ``keyAgreement``; the current algorithm does not, and nor do we.

This module does not decode keys (``resolver.keys`` does), dereference DID
URLs, or support ``enableExperimentalPublicKeyTypes``: the experimental formats
(``Ed25519VerificationKey2018``, ``Bls12381G2Key2020``, …) are unknown here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from resolver.did import DID
from resolver.errors import (
    FeatureNotSupportedError,
    InvalidDIDError,
    InvalidOptionsError,
    MethodNotSupportedError,
    UnsupportedPublicKeyTypeError,
)
from resolver.keys import PublicKey, decode_multikey, ed25519_to_x25519
from resolver.models import (
    JSONObject,
    ResolutionOptions,
    ResolutionResult,
    parse_bool_option,
)

__all__ = [
    "DEFAULT_PUBLIC_KEY_FORMAT",
    "DID_CONTEXT",
    "PUBLIC_KEY_FORMATS",
    "KeyDriver",
    "build_document",
]

DID_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
"""The first ``@context`` entry (the spec's ``defaultContext``)."""

PUBLIC_KEY_FORMATS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "Multikey": "https://w3id.org/security/multikey/v1",
        "JsonWebKey2020": "https://w3id.org/security/suites/jws-2020/v1",
        "Ed25519VerificationKey2020": "https://w3id.org/security/suites/ed25519-2020/v1",
        "X25519KeyAgreementKey2020": "https://w3id.org/security/suites/x25519-2020/v1",
    }
)
"""Each supported ``publicKeyFormat`` and the JSON-LD context its type needs
(the spec's "Context Creation Algorithm" table)."""

DEFAULT_PUBLIC_KEY_FORMAT: Final = "Multikey"
"""Used when the caller gives no ``publicKeyFormat``; the spec suggests
``Multikey`` or ``JsonWebKey2020``."""

SIGNING_RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)

_VERSION_RE: Final = re.compile(r"[1-9][0-9]{0,8}")
_SUPPORTED_VERSION: Final = 1


def _multibase_value(did: DID) -> str:
    """Split the method-specific id into its optional version and multibase value.

    Document Creation Algorithm steps 2 and 3: ``did:key:<mb>`` is version 1;
    ``did:key:<version>:<mb>`` needs a positive integer version.

    Raises:
        InvalidDIDError: more than one ``:`` in the method-specific id, or a
            version that is not a positive integer.
        FeatureNotSupportedError: a positive version other than 1, which no
            spec defines yet.
    """
    parts = did.method_specific_id.split(":")
    if len(parts) == 1:
        return parts[0]
    if len(parts) > 2:
        raise InvalidDIDError(
            f"a did:key holds one multibase value after an optional version, "
            f"not {len(parts)} ':'-separated parts"
        )
    version, value = parts
    if not _VERSION_RE.fullmatch(version):
        raise InvalidDIDError(f"did:key version {version!r} is not a positive integer")
    if int(version) != _SUPPORTED_VERSION:
        # NOTE: the spec only asks for a positive integer, but defines nothing
        # beyond version 1; guessing what a later version means is worse than
        # saying we do not know it.
        raise FeatureNotSupportedError(
            f"did:key version {version} is not supported; only version 1 is defined"
        )
    return value


def _method_type(public_key_format: str, key: PublicKey, *, derived: bool) -> str:
    """The verification method type for ``key`` in the requested format.

    Raises:
        UnsupportedPublicKeyTypeError: the format is unknown, or cannot express
            this type of key.
    """
    # Error choice: the spec raises `unsupportedPublicKeyType` for a format
    # "not known to the implementation", and `invalidPublicKeyType` for a
    # format outside its standard list. We have no class for the latter, and a
    # format that cannot express the key (Ed25519VerificationKey2020 for a
    # P-256 key) is, for that key, a format we do not support: both raise
    # UnsupportedPublicKeyTypeError.
    if public_key_format not in PUBLIC_KEY_FORMATS:
        known = ", ".join(PUBLIC_KEY_FORMATS)
        raise UnsupportedPublicKeyTypeError(
            f"publicKeyFormat {public_key_format!r} is not supported; "
            f"use one of {known}"
        )
    if public_key_format == "Multikey":
        return public_key_format
    if public_key_format == "JsonWebKey2020":
        if key.jwk is None:
            raise UnsupportedPublicKeyTypeError(
                f"{key.key_type} keys have no JWK form for publicKeyFormat "
                f"'JsonWebKey2020'"
            )
        return public_key_format
    if public_key_format == "Ed25519VerificationKey2020":
        if key.key_type == "ed25519-pub":
            return public_key_format
        if derived:
            # The 2020 suites pair up, as in the spec's example document.
            return "X25519KeyAgreementKey2020"
    elif (
        public_key_format == "X25519KeyAgreementKey2020"
        and key.key_type == "x25519-pub"
    ):
        return public_key_format
    raise UnsupportedPublicKeyTypeError(
        f"publicKeyFormat {public_key_format!r} cannot express {key.key_type} keys"
    )


def _verification_method(
    did: DID, key: PublicKey, public_key_format: str, *, derived: bool = False
) -> JSONObject:
    """Signature/Encryption Method Creation: one verification method for ``key``.

    Raises:
        UnsupportedPublicKeyTypeError: the format cannot express ``key``.
    """
    method_type = _method_type(public_key_format, key, derived=derived)
    method: JSONObject = {
        # The spec's step writes "multicodecValue" here; its examples, test
        # vectors and every implementation use the multibase value.
        "id": f"{did}#{key.multibase}",
        "type": method_type,
        "controller": str(did),
    }
    if method_type == "JsonWebKey2020":
        method["publicKeyJwk"] = key.jwk_dict()
    else:
        method["publicKeyMultibase"] = key.multibase
    return method


def build_document(
    did: DID, *, public_key_format: str, enable_encryption_key_derivation: bool
) -> JSONObject:
    """Expand ``did`` into its DID document (the Document Creation Algorithm).

    Args:
        did: A did:key DID without path, query or fragment.
        public_key_format: One of ``PUBLIC_KEY_FORMATS``.
        enable_encryption_key_derivation: Add the X25519 key derived from an
            Ed25519 key under ``keyAgreement``. Ignored for other key types.

    Returns:
        A new JSON object; the caller may change it.

    Raises:
        MethodNotSupportedError: ``did`` is not a did:key.
        InvalidDIDError: the method-specific id is not one version and one
            base58btc multibase value (wrong prefix, bad alphabet, empty).
        FeatureNotSupportedError: a did:key version other than 1.
        InvalidPublicKeyError: malformed multicodec varint or key material
            that is not a key of its type (for example a point off the curve).
        InvalidPublicKeyLengthError: the key has the wrong length for its type.
        UnsupportedPublicKeyTypeError: the key type is not supported, or
            ``public_key_format`` is unknown or cannot express the key.
    """
    if did.method != "key":
        raise MethodNotSupportedError(
            f"the did:key driver cannot resolve did:{did.method}"
        )
    key = decode_multikey(_multibase_value(did))
    method = _verification_method(did, key, public_key_format)
    methods = [method]
    document: JSONObject = {"@context": [DID_CONTEXT], "id": str(did)}
    if key.key_agreement_only:
        relationships: dict[str, list[str]] = {"keyAgreement": [method["id"]]}
    else:
        relationships = {name: [method["id"]] for name in SIGNING_RELATIONSHIPS}
        if enable_encryption_key_derivation and key.key_type == "ed25519-pub":
            derived = _verification_method(
                did, ed25519_to_x25519(key), public_key_format, derived=True
            )
            methods.append(derived)
            relationships["keyAgreement"] = [derived["id"]]
    # Context Creation Algorithm: the context of each method type, once, in order.
    for m in methods:
        context = PUBLIC_KEY_FORMATS[m["type"]]
        if context not in document["@context"]:
            document["@context"].append(context)
    document["verificationMethod"] = methods
    document.update(relationships)
    return document


class KeyDriver:
    """Resolves did:key DIDs (a ``resolver.driver.Driver``).

    Args:
        enable_encryption_key_derivation: The default for the
            ``enableEncryptionKeyDerivation`` option when a request does not
            set it. ``False``: see docs/adr/0002-did-key-encryption-key-derivation.md.
    """

    name: str = "did-key"
    methods: frozenset[str] = frozenset({"key"})
    options: frozenset[str] = frozenset(
        {"publicKeyFormat", "enableEncryptionKeyDerivation"}
    )
    example_dids: tuple[str, ...] = (
        # One per supported key type, from the w3c-ccg/did-method-key test
        # vectors (tests/vectors/did-key/). The BLS12-381 G1 key is the G1 half
        # of the g1g2 vector, whose combined type (0xee) is not supported.
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:key:z6LSeu9HkTHSfLLeUs2nnzUSNedgDUevfNQgQjQC23ZCit6F",
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
        (
            "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhn"
            "LBn2Kaau9"
        ),
        (
            "did:key:z2J9gaYxrKVpdoG9A4gRnmpnRCcxU6agDtFVVBVdn1JedouoZN7SzcyREXXzWg"
            "t3gGiwpoHq7K68X4m32D8HgzG8wv3sY5j7"
        ),
        (
            "did:key:z4MXj1wBzi9jUstyPMS4jQqB6KdJaiatPkAtVtGc6bQEQEEsKTic4G7Rou3iBf"
            "9vPmT5dbkm9qsZsuVNjq8HCuW1w24nhBFGkRE4cd2Uf2tfrB3N7h4mnyPp1BF3ZttHTYv3"
            "DLUPi1zMdkULiow3M1GfXkoC6DoxDUm1jmN6GBj22SjVsr6dxezRVQc7aj9TxE7JLbMH1w"
            "h5X3kA58H3DFW8rnYMakFGbca5CB2Jf6CnGQZmL7o5uJAdTwXfy2iiiyPxXEGerMhHwhjT"
            "A1mKYobyk2CpeEcmvynADfNZ5MBvcCS7m3XkFCMNUYBS9NQ3fze6vMSUPsNa6GVYmKx2x6"
            "JrdEjCk3qRMMmyjnjCMfR4pXbRMZa3i"
        ),
        "did:key:z3tEEysHYz5kkgpfDAByfDVgAuvtSFLHSqoMWmmSZBU1LZtN2sDsAS6RVQSevfxv39kyty",
        (
            "did:key:zUC7K4ndUaGZgV7Cp2yJy6JtMoUHY6u7tkcSYUvPrEidqBmLCTLmi6d5WvwnUq"
            "ejscAkERJ3bfjEiSYtdPkRSE8kSa11hFBr4sTgnbZ95SJj19PN2jdvJjyzpSZgxkyyxNnB"
            "NnY"
        ),
    )

    def __init__(self, *, enable_encryption_key_derivation: bool = False) -> None:
        self.enable_encryption_key_derivation = enable_encryption_key_derivation
        # A did:key is never updated, deactivated, deleted or listed anywhere.
        self.traits: dict[str, bool] = {
            "updateable": False,
            "deactivatable": False,
            "deletable": False,
            "enumerable": False,
            "historyAvailable": False,
            "humanReadable": False,
        }

    def _options(self, options: ResolutionOptions) -> tuple[str, bool]:
        """Read ``publicKeyFormat`` and ``enableEncryptionKeyDerivation``.

        Raises:
            InvalidOptionsError: an option has a value of the wrong type.
        """
        public_key_format: Any = options.get(
            "publicKeyFormat", DEFAULT_PUBLIC_KEY_FORMAT
        )
        if not isinstance(public_key_format, str):
            raise InvalidOptionsError(
                f"option 'publicKeyFormat' must be a string, not {public_key_format!r}"
            )
        derive = options.get("enableEncryptionKeyDerivation")
        if derive is None:
            return public_key_format, self.enable_encryption_key_derivation
        return public_key_format, parse_bool_option(
            "enableEncryptionKeyDerivation", derive
        )

    async def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Resolve ``did`` to its document; see ``build_document``.

        Raises:
            InvalidOptionsError: an option has a value of the wrong type.
            ResolutionError: whatever ``build_document`` raises.
        """
        public_key_format, derive = self._options(options)
        document = build_document(
            did,
            public_key_format=public_key_format,
            enable_encryption_key_derivation=derive,
        )
        return ResolutionResult(document=document, ttl=None)
