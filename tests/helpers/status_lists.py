"""Status lists built for tests: bitstrings, encoded lists, entries, list credentials.

Shared by the tests of the pure decoding (``verifier.statuslist``) and of the
checker (``verifier.status``).
"""

from __future__ import annotations

import gzip
from typing import Any

from tests.helpers.encoding import b64 as b64url
from verifier.statuslist import MIN_ENTRIES, StatusListKind

BITSTRING = StatusListKind.BITSTRING


def bits_with(*indexes: int, n_bits: int = MIN_ENTRIES) -> bytes:
    """A bitstring of ``n_bits`` with the given 1-bit entries set."""
    out = bytearray(n_bits // 8)
    for i in indexes:
        out[i // 8] |= 0x80 >> (i % 8)
    return bytes(out)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def encode(bits: bytes, kind: StatusListKind = BITSTRING) -> str:
    return ("u" if kind is BITSTRING else "") + b64url(gz(bits))


URL = "https://status.example/lists/1"


def entry(index: int | str = 5, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": f"{URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": URL,
    }
    raw.update(overrides)
    return {k: v for k, v in raw.items() if v is not None}


MESSAGES_2BIT = [
    {"status": "0x0", "message": "pending_review"},
    {"status": "0x1", "message": "accepted"},
    {"status": "0x2", "message": "rejected"},
    {"status": "0x3", "message": "undefined"},
]


def list_doc(
    bits: bytes = b"",
    *,
    url: str = URL,
    kind: StatusListKind = BITSTRING,
    purpose: str | list[str] = "revocation",
    issuer: Any = "did:example:issuer",
    subject: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    bits = bits or bits_with()
    v2 = kind is BITSTRING
    doc: dict[str, Any] = {
        "@context": (
            ["https://www.w3.org/ns/credentials/v2"]
            if v2
            else [
                "https://www.w3.org/2018/credentials/v1",
                "https://w3id.org/vc/status-list/2021/v1",
            ]
        ),
        "id": url,
        "type": ["VerifiableCredential", kind.credential_type],
        "issuer": issuer,
        ("validFrom" if v2 else "issuanceDate"): "2025-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{url}#list",
            "type": kind.subject_type,
            "statusPurpose": purpose,
            "encodedList": encode(bits, kind),
            **(subject or {}),
        },
    }
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}
