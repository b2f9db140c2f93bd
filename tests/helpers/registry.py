"""Shared helpers for registry tests: fixed authorities, statements, init, a clock.

- ``ROOT``, ``ACCREDITOR``, ``UNIVERSITY``, ``STRANGER``: authorities with keys
  from fixed seeds (Ed25519, except the university's P-256), each a did:key;
  ``P384_ROOT`` and ``SECP256K1_ROOT`` for the other two statement algorithms;
- ``make_statement``: a signed statement (``registry.statements.sign_statement``)
  with the usual claims filled in;
- ``init_registry``: what ``didtrust registry init`` does to a data directory
  (key file, genesis leaf, first checkpoint), with an explicit genesis instant;
- ``resolve_did``: resolves did:key and did:jwk with the project's own drivers,
  for services built without the app.

Nothing here touches the network.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from didtrust.settings import Settings
from drivers.jwk import JwkDriver
from drivers.key import KeyDriver
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.identity import RegistryIdentity, create_key_file
from registry.models import MAX_DEPTH, GovernanceFramework
from registry.service import genesis_leaf
from registry.statements import sign_statement
from resolver.did import DID
from resolver.keys import encode_multikey
from resolver.models import ResolutionOptions
from tests.helpers.clock import T2021

GOVERNANCE_TEXT = b"# Diploma trust framework\n\nAccreditors accredit universities.\n"
GOVERNANCE = GovernanceFramework(
    uri="https://example.org/gov",
    sha256=hashlib.sha256(GOVERNANCE_TEXT).hexdigest(),
)


@dataclass(frozen=True)
class Authority:
    """An authority with a private key and its did:key."""

    name: str
    private_key: Ed25519PrivateKey | ec.EllipticCurvePrivateKey

    @property
    def did(self) -> str:
        public = self.private_key.public_key()
        if isinstance(self.private_key, Ed25519PrivateKey):
            raw = public.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            return "did:key:" + encode_multikey("ed25519-pub", raw)
        raw = public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        codec = _EC_CODECS[self.private_key.curve.name]
        return "did:key:" + encode_multikey(codec, raw)

    @property
    def kid(self) -> str:
        return f"{self.did}#{self.did.removeprefix('did:key:')}"

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _ed25519(label: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"didtrust test " + label.encode()).digest()
    )


_EC_CODECS = {
    "secp256r1": "p256-pub",
    "secp384r1": "p384-pub",
    "secp256k1": "secp256k1-pub",
}


def _ec(label: str, curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    secret = int.from_bytes(hashlib.sha256(b"didtrust test " + label.encode()).digest())
    return ec.derive_private_key(secret, curve)


ROOT = Authority("root", _ed25519("root"))
ACCREDITOR = Authority("accreditor", _ed25519("accreditor"))
UNIVERSITY = Authority("university", _ec("university", ec.SECP256R1()))
STRANGER = Authority("stranger", _ed25519("stranger"))
P384_ROOT = Authority("p-384 root", _ec("p-384 root", ec.SECP384R1()))
SECP256K1_ROOT = Authority("secp256k1 root", _ec("secp256k1 root", ec.SECP256K1()))


def make_statement(
    signer: Authority,
    *,
    aud: str,
    sub: str,
    act: str = "accredit",
    iat: int,
    role: str | None = None,
    actions: tuple[str, ...] | None = None,
    resources: tuple[str, ...] | None = None,
    jurisdictions: tuple[str, ...] | None = None,
    jti: str | None = None,
    kid: str | None = None,
    iss: str | None = None,
    **extra: Any,
) -> str:
    """A statement signed by ``signer``.

    ``role`` defaults to accreditor/issuer for an ``accredit`` (from whether
    the actions include ``accredit``); ``actions``/``resources`` default to an
    issuer of Diplomas. ``extra`` adds claims by wire name (``validFrom``,
    ``reason``, ``subject``…).
    """
    claims: dict[str, Any] = {
        "iss": iss or signer.did,
        "sub": sub,
        "act": act,
        "aud": aud,
        "iat": iat,
        "jti": jti or f"jti-{uuid.uuid4()}",
    }
    if act == "accredit":
        actions = actions or ("issue",)
        resources = resources or ("Diploma",)
        claims["role"] = role or ("accreditor" if "accredit" in actions else "issuer")
    elif role is not None:
        claims["role"] = role
    if actions is not None or resources is not None:
        scope: dict[str, Any] = {
            "actions": list(actions or ("issue",)),
            "resources": list(resources or ("Diploma",)),
        }
        if jurisdictions is not None:
            scope["jurisdictions"] = list(jurisdictions)
        claims["scope"] = scope
    claims.update(extra)
    return sign_statement(claims, private_key=signer.private_key, kid=kid or signer.kid)


async def init_registry(
    data_dir: Path,
    *,
    root: str = ROOT.did,
    now: datetime = T2021,
    did: str | None = None,
    max_depth: int = MAX_DEPTH,
) -> RegistryIdentity:
    """Initialise a registry in ``data_dir`` as ``didtrust registry init`` does.

    Creates the key file (mode 0600), the database with the genesis leaf at
    index 0 and the checkpoint of size 1. ``did``: a did:web for the registry
    (default: the did:key of its new key).
    """
    settings = Settings(data_dir=str(data_dir))
    identity = create_key_file(settings.registry_key_file, did=did)
    leaf = genesis_leaf(
        identity=identity,
        root=DID(root),
        governance=GOVERNANCE,
        max_depth=max_depth,
        now=now,
    )
    async with (
        await settings.database().open() as store,
        store.write() as tx,
    ):
        await tx.append([leaf])
        root_hash = await tx.root()
        note = sign_checkpoint(
            Checkpoint(origin=identity.origin, size=1, root_hash=root_hash),
            identity.note_signer(),
        )
        await tx.put_checkpoint(1, root_hash, note)
    return identity


class DidResolver:
    """Resolves did:key and did:jwk with the project's drivers; counts calls."""

    def __init__(self) -> None:
        self._drivers: dict[str, KeyDriver | JwkDriver] = {
            "key": KeyDriver(),
            "jwk": JwkDriver(),
        }
        self.calls = 0

    async def __call__(self, did: DID) -> dict[str, Any]:
        self.calls += 1
        result = await self._drivers[did.method].resolve(did, ResolutionOptions())
        document: dict[str, Any] = result.document
        return document


def years(n: float) -> timedelta:
    return timedelta(days=365 * n)
