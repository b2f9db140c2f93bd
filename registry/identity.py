"""The registry's own identity: its Ed25519 key file, its DID and checkpoint origin.

The key file holds the 32-byte Ed25519 seed (PyNaCl) as JSON. It is created
once, with mode 0600, and never overwritten (``O_CREAT | O_EXCL``). The
registry's DID is either ``did:key`` of that key or ``did:web`` of a host it is
served on; for ``did:web`` the server publishes ``registry_did_document()`` at
``/.well-known/did.json`` (or the path the DID names).

The checkpoint origin and the note key name are the registry DID itself: a
string without spaces or ``+`` that names exactly one log.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from registry.checkpoint import NoteSigner, NoteVerifier
from registry.errors import KeyFileError
from resolver.did import DID, parse_did
from resolver.keys import encode_multikey
from resolver.multibase import b64url_decode, b64url_encode

__all__ = [
    "KEY_FILE_NAME",
    "RegistryIdentity",
    "create_key_file",
    "load_key_file",
    "web_did",
]

KEY_FILE_NAME = "registry-key.json"
"""The key file's name inside the data directory."""

_KEY_FILE_TYPE = "didtrust-registry-key"


def web_did(host: str, path: str = "") -> DID:
    """The did:web for ``host`` (port allowed, ``host:8443``) and an optional path.

    Raises:
        InvalidDIDError: the result is not a DID.
    """
    msid = host.replace(":", "%3A")
    if path.strip("/"):
        msid += ":" + ":".join(p for p in path.strip("/").split("/") if p)
    return parse_did("did:web:" + msid)


@dataclass(frozen=True)
class RegistryIdentity:
    """Who the registry is: its DID, its signing key, its checkpoint origin."""

    did: DID
    signing_key: SigningKey

    @classmethod
    def for_key(
        cls, signing_key: SigningKey, *, did: str | None = None
    ) -> RegistryIdentity:
        """The identity for ``signing_key``: its did:key, or the given did:web."""
        public = bytes(signing_key.verify_key)
        own = parse_did("did:key:" + encode_multikey("ed25519-pub", public))
        if did is None:
            return cls(did=own, signing_key=signing_key)
        parsed = parse_did(did)
        if parsed.method == "key" and parsed != own:
            raise KeyFileError("the registry did:key does not match its key")
        if parsed.method not in ("key", "web"):
            raise KeyFileError(
                f"the registry DID must be did:key or did:web, not did:{parsed.method}"
            )
        return cls(did=parsed, signing_key=signing_key)

    def __repr__(self) -> str:
        return f"RegistryIdentity(did={self.did!r})"

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        return bytes(self.signing_key.verify_key)

    @property
    def origin(self) -> str:
        """The checkpoint origin line (and note key name): the registry DID."""
        return str(self.did)

    @property
    def multikey(self) -> str:
        """The public key as a Multikey value."""
        return encode_multikey("ed25519-pub", self.public_key)

    @property
    def key_id(self) -> str:
        """The DID URL of the registry key (``kid`` of its signed answers)."""
        if self.did.method == "key":
            return f"{self.did}#{self.did.method_specific_id}"
        return f"{self.did}#registry-key"

    def note_signer(self) -> NoteSigner:
        """A C2SP signed-note signer for checkpoints."""
        return NoteSigner(self.origin, self.signing_key)

    def note_verifier(self) -> NoteVerifier:
        """The matching verifier (shareable as ``.vkey()``)."""
        return self.note_signer().verifier

    def did_document(self) -> dict[str, Any]:
        """The registry's DID document (served for did:web)."""
        vm = {
            "id": self.key_id,
            "type": "Multikey",
            "controller": str(self.did),
            "publicKeyMultibase": self.multikey,
        }
        return {
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1",
            ],
            "id": str(self.did),
            "verificationMethod": [vm],
            "assertionMethod": [self.key_id],
            "authentication": [self.key_id],
        }


def create_key_file(path: Path, *, did: str | None = None) -> RegistryIdentity:
    """Create a new registry key at ``path`` (mode 0600), refusing to overwrite.

    Raises:
        KeyFileError: the file exists or cannot be written.
    """
    signing_key = SigningKey.generate()
    identity = RegistryIdentity.for_key(signing_key, did=did)
    body = {
        "type": _KEY_FILE_TYPE,
        "v": 1,
        "did": str(identity.did),
        "seed": b64url_encode(bytes(signing_key)),
        "publicKeyMultibase": identity.multikey,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(
            f"{path} exists: refusing to overwrite a registry key"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(body, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    return identity


def load_key_file(path: Path) -> RegistryIdentity:
    """Load the registry identity from its key file.

    Raises:
        KeyFileError: missing, readable by others, or malformed.
    """
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(
            f"no registry key at {path}: run `didtrust registry init`"
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is readable by other users: chmod 600 it")
    try:
        body = json.loads(text)
        if body.get("type") != _KEY_FILE_TYPE or body.get("v") != 1:
            raise ValueError("not a didtrust registry key file")
        seed_text = body["seed"]
        seed = b64url_decode(seed_text)
        if len(seed) != 32:
            raise ValueError("the seed is not 32 bytes")
        identity = RegistryIdentity.for_key(SigningKey(seed), did=body["did"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"{path} is malformed: {exc}") from None
    if body.get("publicKeyMultibase") not in (None, identity.multikey):
        raise KeyFileError(f"{path}: the public key does not match the seed")
    return identity
