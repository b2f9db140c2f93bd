"""Signed checkpoints of the transparency log: C2SP signed-note and tlog-checkpoint.

What this module does, pure and without I/O:

- :class:`Checkpoint`, the body of a c2sp.org/tlog-checkpoint (v1.0.0): the
  origin line, the tree size in decimal without leading zeros, the base64 root
  hash, then optional extension lines, each ending in a newline;
- c2sp.org/signed-note (v1.0.0) with Ed25519 (signature type ``0x01``): a note is
  its text, a blank line, then signature lines of an em dash (U+2014), a space,
  the key name, a space, ``base64(key ID || signature)`` and a newline; the
  4-byte key ID is ``SHA-256(key name || 0x0A || 0x01 || public key)[:4]``, and
  a verifier key is shared as
  ``"<name>+<hex key ID>+<base64(0x01 || public key)>"``, the format of
  ``golang.org/x/mod/sumdb/note``;
- :func:`sign_checkpoint` and :func:`open_checkpoint`, which parses strictly,
  verifies the signature before it reads the body, and checks the origin.

Signature lines by keys other than the verifier's are ignored, as the spec
requires (they may be witness cosignatures or a rotated key); a line whose key
name *and* key ID are the verifier's must verify, or the whole note is refused.

It does not check that a checkpoint is consistent with an earlier one (that is
``registry.merkle.verify_consistency``, called by the caller that remembers
the earlier one), nor does it store keys or checkpoints.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from registry.errors import (
    InvalidKeyError,
    MalformedCheckpointError,
    OriginMismatchError,
    SignatureError,
)
from resolver.multibase import b64_decode, b64_encode

__all__ = [
    "ED25519_SIGNATURE_TYPE",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "NoteSigner",
    "NoteVerifier",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
]

ED25519_SIGNATURE_TYPE = 0x01
"""Signature type byte of Ed25519 in c2sp.org/signed-note."""

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (the spec asks for at least 16)."""

MAX_NOTE_SIZE = 1 << 20
"""Most bytes a note may have; room for 100 post-quantum signatures of ~5 kB."""

MAX_TREE_SIZE = (1 << 64) - 1
"""Largest tree size a checkpoint may state (an unsigned 64-bit integer)."""

_SIG_PREFIX = "\u2014 "  # em dash, space
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII digits only, unlike \d
_HEX_ID_RE = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")  # below U+0020, except \n
_ROOT_B64_LEN = 44  # base64 of 32 bytes, with one "=" of padding


def _b64decode_strict(text: str) -> bytes | None:
    """Decode standard, padded, canonical base64, or return ``None``."""
    try:
        return b64_decode(text)
    except ValueError:
        return None


def _first_control_char(text: str) -> str | None:
    """Return the first ASCII control character other than newline, if any."""
    found = _CONTROL_RE.search(text)
    return found.group() if found else None


def _is_valid_key_name(name: str) -> bool:
    """Non-empty, no Unicode space, no plus, no control character (signed-note)."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and _first_control_char(name) is None
    )


def _key_id(name: str, public_key: bytes) -> bytes:
    material = name.encode("utf-8") + b"\n" + bytes([ED25519_SIGNATURE_TYPE])
    return hashlib.sha256(material + public_key).digest()[:4]


# --- checkpoint body ----------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The signed state of a log: origin, tree size, root hash (tlog-checkpoint).

    Attributes:
        origin: Unique name of the log, e.g. ``"registry.example/log"``.
        size: Number of leaves in the tree.
        root_hash: RFC 9162 root hash of the tree at ``size`` (32 bytes).
        extensions: Opaque extra lines, each non-empty (NOT RECOMMENDED by the
            spec, since monitors cannot audit them).

    Raises:
        MalformedCheckpointError: A field cannot be written in the format.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpointError(
                f"tree size {self.size} is outside 0..{MAX_TREE_SIZE}"
            )
        if len(self.root_hash) != 32:
            raise MalformedCheckpointError(
                f"root hash is {len(self.root_hash)} bytes, not 32"
            )
        for i, line in enumerate(self.extensions):
            _check_line(line, f"extension line {i}")

    def body(self) -> bytes:
        """Return the note text: one line per field, each ending in a newline."""
        lines = [
            self.origin,
            str(self.size),
            b64_encode(self.root_hash),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @classmethod
    def from_body(cls, text: bytes) -> Checkpoint:
        """Parse a checkpoint body (a note's text) strictly.

        Raises:
            MalformedCheckpointError: The text breaks c2sp.org/tlog-checkpoint:
                not UTF-8, a control character, no final newline, fewer than
                three lines, an empty line, a size that is not canonical
                decimal, or a root that is not canonical base64 of 32 bytes.
        """
        decoded = _decode_note_text(text, "checkpoint")
        if not decoded.endswith("\n"):
            raise MalformedCheckpointError("checkpoint does not end in a newline")
        lines = decoded[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpointError(
                f"checkpoint has {len(lines)} lines, needs at least 3"
            )
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_RE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
            raise MalformedCheckpointError(
                f"tree size {size_text[:24]!r} is not a canonical decimal uint64"
            )
        root = _b64decode_strict(root_text) if len(root_text) == _ROOT_B64_LEN else None
        if root is None or len(root) != 32:
            raise MalformedCheckpointError(
                "root hash is not the canonical base64 of 32 bytes"
            )
        return cls(origin, int(size_text), root, tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if not line:
        raise MalformedCheckpointError(f"{what} is empty")
    if "\n" in line:
        raise MalformedCheckpointError(f"{what} contains a newline")
    ch = _first_control_char(line)
    if ch is not None:
        raise MalformedCheckpointError(f"{what} contains control character {ch!r}")


def _decode_note_text(text: bytes, what: str) -> str:
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedCheckpointError(f"{what} is not valid UTF-8") from e
    ch = _first_control_char(decoded)
    if ch is not None:
        raise MalformedCheckpointError(f"{what} contains control character {ch!r}")
    return decoded


# --- keys ---------------------------------------------------------------------


@dataclass(frozen=True)
class NoteVerifier:
    """A known Ed25519 note key: a key name and a public key.

    Attributes:
        name: The key name signature lines must carry.
        public_key: The 32-byte Ed25519 public key.
        key_id: ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]`` (derived).

    Raises:
        InvalidKeyError: The name is not a valid key name or the key is not
            32 bytes long.
    """

    name: str
    public_key: bytes
    key_id: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not _is_valid_key_name(self.name):
            raise InvalidKeyError(f"invalid key name {self.name!r}")
        if len(self.public_key) != 32:
            raise InvalidKeyError(
                f"ed25519 public key is {len(self.public_key)} bytes, not 32"
            )
        object.__setattr__(self, "key_id", _key_id(self.name, self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``"<name>+<hex key ID>+<base64(0x01 || key)>"``.

        Raises:
            InvalidKeyError: The string is malformed, names another signature
                type than Ed25519, or its key ID does not match the key.
        """
        parts = vkey.split("+", 2)  # base64 may itself contain "+"
        if len(parts) != 3 or not _HEX_ID_RE.fullmatch(parts[1]):
            raise InvalidKeyError("verifier key is not <name>+<8 hex>+<base64>")
        name, hex_id, key_text = parts
        raw = _b64decode_strict(key_text)
        if not raw:
            raise InvalidKeyError("verifier key data is not canonical base64")
        if raw[0] != ED25519_SIGNATURE_TYPE:
            raise InvalidKeyError(f"unsupported signature type 0x{raw[0]:02x}")
        verifier = cls(name, raw[1:])
        if verifier.key_id != bytes.fromhex(hex_id):
            raise InvalidKeyError(
                f"verifier key id {hex_id.lower()} does not match its key "
                f"({verifier.key_id.hex()})"
            )
        return verifier

    def vkey(self) -> str:
        """Return the verifier key string to give to verifiers."""
        key = b64_encode(bytes([ED25519_SIGNATURE_TYPE]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{key}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``text``."""
        if len(signature) != 64:
            return False
        try:
            VerifyKey(self.public_key).verify(text, signature)
        except BadSignatureError:
            return False
        return True


class NoteSigner:
    """Signs notes with one Ed25519 key under a key name (c2sp.org/signed-note).

    The tlog-checkpoint spec recommends that the log's key name be its origin.

    Raises:
        InvalidKeyError: ``name`` is not a valid key name.
    """

    def __init__(self, name: str, signing_key: SigningKey) -> None:
        self._key = signing_key
        self._verifier = NoteVerifier(name, bytes(signing_key.verify_key))

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> NoteSigner:
        """Return the signer for the Ed25519 key derived from a 32-byte seed.

        Raises:
            InvalidKeyError: ``seed`` is not 32 bytes or ``name`` is invalid.
        """
        if len(seed) != 32:
            raise InvalidKeyError(f"ed25519 seed is {len(seed)} bytes, not 32")
        return cls(name, SigningKey(seed))

    def __repr__(self) -> str:
        # Never the private key.
        return f"NoteSigner({self.name!r}, key_id={self.key_id.hex()})"

    @property
    def name(self) -> str:
        """The key name written in signature lines."""
        return self._verifier.name

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier (public half)."""
        return self._verifier

    def signature_line(self, text: bytes) -> str:
        """Return the signature line for note text ``text``, newline included."""
        signature = self._key.sign(text).signature
        payload = b64_encode(self.key_id + signature)
        return f"{_SIG_PREFIX}{self.name} {payload}\n"


# --- notes --------------------------------------------------------------------


def sign_note(text: bytes, signer: NoteSigner, *more: NoteSigner) -> bytes:
    """Return the signed note: ``text``, a blank line, one line per signer.

    Raises:
        MalformedCheckpointError: ``text`` is not UTF-8, holds a control
            character, or does not end in a newline.
    """
    _decode_note_text(text, "note text")
    if not text.endswith(b"\n"):
        raise MalformedCheckpointError("note text does not end in a newline")
    lines = "".join(s.signature_line(text) for s in (signer, *more))
    return text + b"\n" + lines.encode("utf-8")


def open_note(note: bytes, verifiers: Sequence[NoteVerifier]) -> bytes:
    """Verify a signed note and return its text.

    Lines by keys that are not among ``verifiers`` (by key name *and* key ID)
    are ignored. Every line by a known key must verify, and at least one must.

    Raises:
        InvalidKeyError: Two verifiers share a key name and key ID.
        MalformedCheckpointError: The note breaks c2sp.org/signed-note syntax
            or is larger than :data:`MAX_NOTE_SIZE`.
        SignatureError: A known key's signature fails, or none is present.
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for v in verifiers:
        if (v.name, v.key_id) in known:
            raise InvalidKeyError(f"two verifiers for key {v.name}+{v.key_id.hex()}")
        known[(v.name, v.key_id)] = v
    if len(note) > MAX_NOTE_SIZE:
        raise MalformedCheckpointError(
            f"note is {len(note)} bytes, more than {MAX_NOTE_SIZE}"
        )
    decoded = _decode_note_text(note, "note")
    # The text ends at the last blank line; it keeps its final newline.
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedCheckpointError("note has no blank line before signatures")
    text, sig_block = decoded[: split + 1], decoded[split + 2 :]
    if not sig_block:
        raise MalformedCheckpointError("note has no signature lines")
    if not sig_block.endswith("\n"):
        raise MalformedCheckpointError("note does not end in a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedCheckpointError(
            f"note has {len(lines)} signatures, more than {MAX_SIGNATURES}"
        )
    text_bytes = text.encode("utf-8")
    verified = 0
    for n, line in enumerate(lines, 1):
        name, key_id, signature = _parse_signature_line(line, n)
        verifier = known.get((name, key_id))
        if verifier is None:
            continue  # unknown key, even if it shares a name or an ID
        if not verifier.verify(text_bytes, signature):
            raise SignatureError(
                f"signature {n} by key {name}+{key_id.hex()} does not verify"
            )
        verified += 1
    if not verified:
        names = ", ".join(f"{v.name}+{v.key_id.hex()}" for v in known.values())
        raise SignatureError(
            f"none of {len(lines)} signatures is by a known key ({names})"
        )
    return text_bytes


def _parse_signature_line(line: str, n: int) -> tuple[str, bytes, bytes]:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedCheckpointError(
            f"signature line {n} does not start with an em dash and a space"
        )
    name, sep, payload = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep or not _is_valid_key_name(name):
        raise MalformedCheckpointError(f"signature line {n} has an invalid key name")
    raw = _b64decode_strict(payload)
    if raw is None or len(raw) < 5:
        raise MalformedCheckpointError(
            f"signature line {n} is not canonical base64 of a key ID and signature"
        )
    return name, raw[:4], raw[4:]


# --- checkpoints --------------------------------------------------------------


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> bytes:
    """Return ``cp`` as a note signed by ``signer``."""
    return sign_note(cp.body(), signer)


def open_checkpoint(note: bytes, verifier: NoteVerifier, *, origin: str) -> Checkpoint:
    """Verify a signed checkpoint of the log ``origin`` and return it.

    The signature is checked over the exact bytes before the body is parsed.

    Args:
        note: The signed note, as received.
        verifier: The log's key; signatures by other keys are ignored.
        origin: The origin line the caller expects (the log it asked).

    Raises:
        MalformedCheckpointError: The note or its body is malformed.
        SignatureError: No valid signature by ``verifier``, or an invalid one.
        OriginMismatchError: The checkpoint is for another origin.
    """
    text = open_note(note, [verifier])
    cp = Checkpoint.from_body(text)
    if cp.origin != origin:
        raise OriginMismatchError(
            f"checkpoint origin {cp.origin!r} is not the expected {origin!r}"
        )
    return cp
