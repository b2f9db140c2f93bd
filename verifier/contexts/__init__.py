"""JSON-LD context documents shipped with didtrust, as data.

Each ``*.json`` file beside this module is a context document published in an
npm package (credentials v1/v2, Data Integrity, Multikey, Ed25519Signature2020,
Bitstring Status List, Status List 2021, DID v1, security v1/v2, Open Badges
3.0, the CCG citizenship vocabulary and the VC examples contexts). ``SOURCES.md``
names, for every URL, the package, its version, the path inside the package and
the SHA-256 of the shipped file; a test holds the files to those digests.

This module only maps context URLs to file names. It does not read the files
(:mod:`verifier.jsonld` does, once, through :mod:`importlib.resources`) and it
never fetches anything: a URL missing here is an unknown context.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["FILES"]

FILES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # W3C Verifiable Credentials Data Model 1.1 and 2.0
        "https://www.w3.org/2018/credentials/v1": "credentials-v1.json",
        "https://www.w3.org/ns/credentials/v2": "credentials-v2.json",
        "https://www.w3.org/ns/credentials/undefined-terms/v2": (
            "credentials-undefined-terms-v2.json"
        ),
        "https://www.w3.org/2018/credentials/examples/v1": (
            "credentials-examples-v1.json"
        ),
        "https://www.w3.org/ns/credentials/examples/v2": (
            "credentials-examples-v2.json"
        ),
        "https://www.w3.org/ns/odrl.jsonld": "odrl.json",
        # Data Integrity, keys and cryptosuites
        "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.json",
        "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.json",
        "https://w3id.org/security/multikey/v1": "multikey-v1.json",
        "https://w3id.org/security/suites/ed25519-2020/v1": (
            "ed25519-signature-2020-v1.json"
        ),
        "https://w3id.org/security/v1": "security-v1.json",
        "https://w3id.org/security/v2": "security-v2.json",
        # Status lists
        "https://www.w3.org/ns/credentials/status/v1": "bitstring-status-list-v1.json",
        "https://w3id.org/vc/status-list/2021/v1": "status-list-2021-v1.json",
        # DID documents
        "https://www.w3.org/ns/did/v1": "did-v1.json",
        # 1EdTech Open Badges 3.0
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json": (
            "ob-v3p0-context-3.0.0.json"
        ),
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": (
            "ob-v3p0-context-3.0.1.json"
        ),
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": (
            "ob-v3p0-context-3.0.2.json"
        ),
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": (
            "ob-v3p0-context-3.0.3.json"
        ),
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": (
            "ob-v3p0-extensions.json"
        ),
        # W3C CCG citizenship vocabulary (used by the vc-di-* test vectors)
        "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.json",
    }
)
"""Context URL → file name in this package. Exact URLs only: no aliases, no
scheme or trailing-slash variants."""
