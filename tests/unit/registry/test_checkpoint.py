"""C2SP signed-note and tlog-checkpoint (registry.checkpoint).

Pinned against the published golang.org/x/mod/sumdb/note example, the
c2sp.org/tlog-checkpoint example body, and an independent re-implementation of
the signature check written here from the spec.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from nacl.signing import VerifyKey

from registry.checkpoint import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    MAX_TREE_SIZE,
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from registry.errors import (
    CheckpointError,
    InvalidKeyError,
    MalformedCheckpointError,
    OriginMismatchError,
    RegistryError,
    SignatureError,
)

EM_DASH = "\u2014"

# --- published vectors --------------------------------------------------------
# golang.org/x/mod/sumdb/note, package documentation ("Example" section of
# note.go): a signer key, its verifier key, a text and its signed note, and the
# same note cosigned by a second key ("EnochRoot") whose key is not published.
GO_SKEY = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
GO_SIG_LINE = (
    f"{EM_DASH} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFY"
    "C2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()
GO_COSIG_LINE = (
    f"{EM_DASH} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aG"
    "rQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
).encode()
GO_NOTE = GO_TEXT + b"\n" + GO_SIG_LINE

# c2sp.org/tlog-checkpoint, the example at the top of the spec (its signing key
# is not published, so only the body is used).
C2SP_BODY = (
    b"example.com/behind-the-sofa\n"
    b"20852163\n"
    b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

# --- our deterministic fixtures -----------------------------------------------
ORIGIN = "registry.example/log"
LOG_SEED = hashlib.sha256(b"didtrust tests: registry log key").digest()
OTHER_SEED = hashlib.sha256(b"didtrust tests: some other key").digest()
ROOT = bytes(range(32))
CP = Checkpoint(ORIGIN, 8, ROOT)
# Regression pin: Ed25519 is deterministic, so this is what sign_checkpoint must
# keep producing for CP with the LOG_SEED key.
GOLDEN_VKEY = (
    "registry.example/log+a07d5e58+AS/LTlFXbxVpNdbWjW4QXqEdwTcQp9sS62JUMCM/fe5F"
)
GOLDEN_NOTE = (
    b"registry.example/log\n8\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n"
    + f"{EM_DASH} registry.example/log oH1eWBinyB7kqgQ3CcbRE/Ks8Ftkx2Sr7vhrrCqaytCy5a"
    "onQVR+6/PGKY0UcgDiii8VNVQMaoWLoF4g9erhAMePOwY=\n".encode()
)


@pytest.fixture
def signer() -> NoteSigner:
    return NoteSigner.from_seed(ORIGIN, LOG_SEED)


@pytest.fixture
def verifier(signer: NoteSigner) -> NoteVerifier:
    return signer.verifier


def go_signer() -> NoteSigner:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])  # the key data may hold "+"
    assert raw[0] == 0x01  # Ed25519, then the 32-byte seed
    return NoteSigner.from_seed("PeterNeumann", raw[1:])


def independent_open(note: bytes, name: str, public_key: bytes) -> bytes:
    """Check a note's signature by hand, from the signed-note spec alone."""
    text, sep, sig_block = note.rpartition(b"\n\n")
    assert sep
    text += b"\n"  # the text keeps its final newline, not the blank line
    key_id = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + public_key).digest()[:4]
    for line in sig_block.decode("utf-8").splitlines():
        dash, line_name, payload = line.split(" ")
        raw = base64.b64decode(payload, validate=True)
        if dash == EM_DASH and line_name == name and raw[:4] == key_id:
            VerifyKey(public_key).verify(text, raw[4:])  # raises if bad
            return text
    raise AssertionError("no signature line by that key")


# --- interoperability ---------------------------------------------------------


def test_signer_reproduces_go_sumdb_note_example():
    signer = go_signer()
    assert signer.key_id.hex() == "c74f20a3"
    assert signer.verifier.vkey() == GO_VKEY
    assert sign_note(GO_TEXT, signer) == GO_NOTE


def test_open_note_accepts_go_sumdb_note_example():
    verifier = NoteVerifier.from_vkey(GO_VKEY)
    assert verifier.name == "PeterNeumann"
    assert verifier.key_id == bytes.fromhex("c74f20a3")
    assert open_note(GO_NOTE, [verifier]) == GO_TEXT


def test_open_note_ignores_unknown_cosigner_from_go_example():
    cosigned = GO_NOTE + GO_COSIG_LINE
    assert open_note(cosigned, [NoteVerifier.from_vkey(GO_VKEY)]) == GO_TEXT


def test_checkpoint_parses_c2sp_example_body():
    cp = Checkpoint.from_body(C2SP_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode(
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    )
    assert cp.extensions == ()
    assert cp.body() == C2SP_BODY


def test_signed_checkpoint_verifies_with_independent_check(signer):
    note = sign_checkpoint(CP, signer)
    text = independent_open(note, ORIGIN, signer.verifier.public_key)
    assert text == CP.body()
    assert text == (
        b"registry.example/log\n8\n" + base64.b64encode(ROOT) + b"\n"
    )  # the body layout, byte for byte


def test_signed_checkpoint_matches_golden_bytes(signer):
    assert signer.verifier.vkey() == GOLDEN_VKEY
    assert sign_checkpoint(CP, signer) == GOLDEN_NOTE


def test_key_id_is_truncated_sha256_of_name_type_and_key(signer):
    public_key = bytes(signer.verifier.public_key)
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + public_key).digest()[:4]
    assert signer.key_id == expected
    assert GOLDEN_VKEY.split("+")[1] == expected.hex()


# --- round trips --------------------------------------------------------------


def test_open_checkpoint_round_trips(signer, verifier):
    assert open_checkpoint(sign_checkpoint(CP, signer), verifier, origin=ORIGIN) == CP


def test_open_checkpoint_round_trips_extensions_and_extreme_sizes(signer, verifier):
    for cp in (
        Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()),
        Checkpoint(ORIGIN, MAX_TREE_SIZE, ROOT, ("ext one", "ext\u00e9 two")),
    ):
        assert (
            open_checkpoint(sign_checkpoint(cp, signer), verifier, origin=ORIGIN) == cp
        )


def test_open_checkpoint_accepts_extra_unknown_signatures(signer, verifier):
    other = NoteSigner.from_seed("witness.example", OTHER_SEED)
    note = sign_note(CP.body(), other, signer)
    assert open_checkpoint(note, verifier, origin=ORIGIN) == CP


def test_vkey_round_trips(verifier):
    assert NoteVerifier.from_vkey(verifier.vkey()) == verifier


def test_signer_repr_hides_the_private_key(signer):
    assert repr(signer) == "NoteSigner('registry.example/log', key_id=a07d5e58)"


# --- attacks: signatures and origin -------------------------------------------


def test_checkpoint_rejects_other_origin(signer, verifier):
    note = sign_checkpoint(Checkpoint("evil.example/log", 8, ROOT), signer)
    with pytest.raises(OriginMismatchError, match=r"'evil\.example/log'"):
        open_checkpoint(note, verifier, origin=ORIGIN)


@pytest.mark.parametrize("position", [4, 10, 40, 67], ids=lambda p: f"sig-byte-{p}")
def test_checkpoint_rejects_flipped_signature_byte(signer, verifier, position):
    note = sign_checkpoint(CP, signer)
    text, _, line = note.rpartition(b"\n\n")
    prefix, payload = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[position] ^= 0x01  # position 4.. is the signature, past the key ID
    tampered = text + b"\n\n" + prefix + b" " + base64.b64encode(bytes(raw)) + b"\n"
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(tampered, verifier, origin=ORIGIN)


def test_checkpoint_rejects_flipped_key_id_byte_as_unknown_key(signer, verifier):
    note = sign_checkpoint(CP, signer)
    text, _, line = note.rpartition(b"\n\n")
    prefix, payload = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[0] ^= 0x01
    tampered = text + b"\n\n" + prefix + b" " + base64.b64encode(bytes(raw)) + b"\n"
    with pytest.raises(SignatureError, match="none of 1 signatures is by a known key"):
        open_checkpoint(tampered, verifier, origin=ORIGIN)


def test_checkpoint_rejects_tampered_body(signer, verifier):
    note = sign_checkpoint(CP, signer).replace(b"\n8\n", b"\n9\n", 1)
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_unknown_key_only(verifier):
    other = NoteSigner.from_seed("witness.example", OTHER_SEED)
    with pytest.raises(SignatureError, match="none of 1 signatures"):
        open_checkpoint(sign_checkpoint(CP, other), verifier, origin=ORIGIN)


def test_checkpoint_rejects_impostor_key_under_the_log_name(verifier):
    # Same key name, different key: a different key ID, so just an unknown key.
    impostor = NoteSigner.from_seed(ORIGIN, OTHER_SEED)
    with pytest.raises(SignatureError, match="none of 1 signatures"):
        open_checkpoint(sign_checkpoint(CP, impostor), verifier, origin=ORIGIN)


def test_checkpoint_rejects_log_key_id_under_another_name(signer, verifier):
    # The log's own valid signature and key ID, relabelled with another name.
    note = sign_checkpoint(CP, signer).replace(
        f"{EM_DASH} {ORIGIN} ".encode(), f"{EM_DASH} other.example ".encode()
    )
    with pytest.raises(SignatureError, match="none of 1 signatures"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_forged_signature_with_log_name_and_key_id(signer, verifier):
    # Colliding name and key ID but signed by another key: must be verified.
    forger = NoteSigner.from_seed("x", OTHER_SEED)
    forged_sig = forger.signature_line(CP.body()).split(" ")[-1].strip()
    raw = signer.key_id + base64.b64decode(forged_sig)[4:]
    line = f"{EM_DASH} {ORIGIN} {base64.b64encode(raw).decode()}\n".encode()
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(CP.body() + b"\n" + line, verifier, origin=ORIGIN)


def test_checkpoint_rejects_bad_second_signature_by_known_key(signer, verifier):
    good = sign_checkpoint(CP, signer)
    _, _, line = good.rpartition(b"\n\n")
    prefix, payload = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[-1] ^= 0x80
    bad_line = prefix + b" " + base64.b64encode(bytes(raw)) + b"\n"
    with pytest.raises(SignatureError, match=r"signature 2 .* does not verify"):
        open_checkpoint(good + bad_line, verifier, origin=ORIGIN)


def test_open_note_refuses_ambiguous_verifiers(verifier):
    with pytest.raises(InvalidKeyError, match="two verifiers"):
        open_note(GO_NOTE, [verifier, NoteVerifier(verifier.name, verifier.public_key)])


# --- attacks: malformed notes -------------------------------------------------


def _note(signer: NoteSigner) -> bytes:
    return sign_checkpoint(CP, signer)


BASE64_ERROR = "not canonical base64"
NOTE_MANGLINGS = {  # id: (mangle, expected error)
    "hyphen-instead-of-em-dash": (
        lambda n: n.replace(EM_DASH.encode() + b" ", b"- "),
        "does not start with an em dash",
    ),
    "en-dash-instead-of-em-dash": (
        lambda n: n.replace(EM_DASH.encode(), "\u2013".encode()),
        "does not start with an em dash",
    ),
    "no-blank-line": (lambda n: n.replace(b"\n\n", b"\n"), "no blank line"),
    "no-final-newline": (lambda n: n[:-1], "does not end in a newline"),
    "crlf-line-endings": (
        lambda n: n.replace(b"\n", b"\r\n"),
        r"control character '\\r'",  # the repr of a carriage return
    ),
    "nul-byte": (lambda n: n.replace(b"\n8\n", b"\n8\x00\n"), "control character"),
    "tab-in-origin": (lambda n: n.replace(b"example/log\n", b"ex\t\n", 1), "control"),
    "invalid-utf8": (lambda n: b"\xff" + n, "not valid UTF-8"),
    "no-signature-lines": (
        lambda n: n.rpartition(b"\n\n")[0] + b"\n\n",
        "no signature lines",
    ),
    "two-spaces-after-name": (
        lambda n: n.replace(b"/log oH", b"/log  oH"),
        BASE64_ERROR,
    ),
    "bad-base64-signature": (lambda n: n.replace(b"oH1e", b"o!1e"), BASE64_ERROR),
    "unpadded-signature": (lambda n: n.replace(b"=\n", b"\n"), BASE64_ERROR),
    "signature-too-short": (
        lambda n: (
            n.rpartition(b"\n\n")[0]
            + b"\n\n"
            + f"{EM_DASH} {ORIGIN} {base64.b64encode(b'abcd').decode()}\n".encode()
        ),
        BASE64_ERROR,
    ),
    "key-name-with-plus": (
        lambda n: n.replace(b"/log oH", b"/log+x oH"),
        "invalid key name",
    ),
}


@pytest.mark.parametrize(
    ("mangle", "match"), NOTE_MANGLINGS.values(), ids=NOTE_MANGLINGS.keys()
)
def test_checkpoint_rejects_malformed_note(signer, verifier, mangle, match):
    with pytest.raises(MalformedCheckpointError, match=match):
        open_checkpoint(mangle(_note(signer)), verifier, origin=ORIGIN)


def test_checkpoint_rejects_too_many_signatures(signer, verifier):
    other = NoteSigner.from_seed("witness.example", OTHER_SEED)
    note = sign_note(CP.body(), signer, *[other] * MAX_SIGNATURES)
    with pytest.raises(MalformedCheckpointError, match="101 signatures, more than 100"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_oversized_note(signer, verifier):
    huge = Checkpoint(ORIGIN, 8, ROOT, ("x" * MAX_NOTE_SIZE,))
    with pytest.raises(MalformedCheckpointError, match="more than 1048576"):
        open_checkpoint(sign_checkpoint(huge, signer), verifier, origin=ORIGIN)


# --- attacks: malformed bodies, validly signed --------------------------------

ROOT_B64 = base64.b64encode(ROOT).decode()


def _signed_body(signer: NoteSigner, *lines: str) -> bytes:
    return sign_note("".join(line + "\n" for line in lines).encode(), signer)


def test_checkpoint_rejects_non_canonical_size(signer, verifier):
    note = _signed_body(signer, ORIGIN, "007", ROOT_B64)
    with pytest.raises(MalformedCheckpointError, match="'007' is not a canonical"):
        open_checkpoint(note, verifier, origin=ORIGIN)


@pytest.mark.parametrize(
    "size",
    ["00", "-1", "+1", " 1", "1 ", "", "0x10", "1e3", "1_000", "\u0661\u0662"],
    ids=[
        "double-zero",
        "negative",
        "plus-sign",
        "leading-space",
        "trailing-space",
        "empty",
        "hex",
        "exponent",
        "underscore",
        "arabic-indic-digits",
    ],
)
def test_checkpoint_rejects_size_that_is_not_plain_decimal(signer, verifier, size):
    note = _signed_body(signer, ORIGIN, size, ROOT_B64)
    with pytest.raises(MalformedCheckpointError, match="tree size"):
        open_checkpoint(note, verifier, origin=ORIGIN)


@pytest.mark.parametrize(
    "size", [str(MAX_TREE_SIZE + 1), "9" * 30], ids=["2**64", "thirty-nines"]
)
def test_checkpoint_rejects_size_beyond_uint64(signer, verifier, size):
    note = _signed_body(signer, ORIGIN, size, ROOT_B64)
    with pytest.raises(MalformedCheckpointError, match="tree size"):
        open_checkpoint(note, verifier, origin=ORIGIN)


ROOT_MANGLINGS = {
    "31-bytes": base64.b64encode(ROOT[:31]).decode(),
    "33-bytes": base64.b64encode(ROOT + b"\x00").decode(),
    "no-padding": ROOT_B64.rstrip("="),
    # "...Hh9=" decodes to the same bytes as "...Hh8=" but sets the pad bits.
    "non-zero-pad-bits": ROOT_B64[:-2] + "9=",
    "url-safe-alphabet": base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),
    "hex": ROOT.hex(),
    "inner-space": ROOT_B64[:10] + " " + ROOT_B64[11:],
}


@pytest.mark.parametrize("root", ROOT_MANGLINGS.values(), ids=ROOT_MANGLINGS.keys())
def test_checkpoint_rejects_malformed_root_hash(signer, verifier, root):
    note = _signed_body(signer, ORIGIN, "8", root)
    with pytest.raises(MalformedCheckpointError, match="root hash"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_missing_root_line(signer, verifier):
    note = _signed_body(signer, ORIGIN, "8")
    with pytest.raises(MalformedCheckpointError, match="2 lines, needs at least 3"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_empty_extension_line(signer, verifier):
    note = _signed_body(signer, ORIGIN, "8", ROOT_B64, "", "ext")
    with pytest.raises(MalformedCheckpointError, match="extension line 0 is empty"):
        open_checkpoint(note, verifier, origin=ORIGIN)


def test_checkpoint_rejects_empty_origin(signer, verifier):
    note = _signed_body(signer, "", "8", ROOT_B64)
    with pytest.raises(MalformedCheckpointError, match="origin is empty"):
        open_checkpoint(note, verifier, origin="")


# --- constructing and signing -------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"origin": ""}, "origin is empty"),
        ({"origin": "a\nb"}, "origin contains a newline"),
        ({"origin": "a\rb"}, "control character"),
        ({"size": -1}, "outside 0.."),
        ({"size": MAX_TREE_SIZE + 1}, "outside 0.."),
        ({"root_hash": ROOT[:31]}, "31 bytes"),
        ({"extensions": ("",)}, "extension line 0 is empty"),
        ({"extensions": ("ok", "a\nb")}, "extension line 1 contains a newline"),
    ],
    ids=[
        "empty-origin",
        "newline-origin",
        "cr-origin",
        "negative-size",
        "size-2**64",
        "short-root",
        "empty-extension",
        "newline-extension",
    ],
)
def test_checkpoint_constructor_refuses_unwritable_fields(kwargs, match):
    fields = {"origin": ORIGIN, "size": 8, "root_hash": ROOT} | kwargs
    with pytest.raises(MalformedCheckpointError, match=match):
        Checkpoint(**fields)


@pytest.mark.parametrize(
    "text",
    [b"no final newline", b"tab\there\n", b"\xc3\x28\n"],
    ids=["no-final-newline", "control-char", "invalid-utf8"],
)
def test_sign_note_refuses_text_that_cannot_be_a_note(signer, text):
    with pytest.raises(MalformedCheckpointError):
        sign_note(text, signer)


@pytest.mark.parametrize(
    "name", ["", "has space", "a+b", "nbsp\u00a0name", "bell\x07"], ids=repr
)
def test_signer_refuses_invalid_key_name(name):
    with pytest.raises(InvalidKeyError, match="invalid key name"):
        NoteSigner.from_seed(name, LOG_SEED)


def test_signer_refuses_short_seed():
    with pytest.raises(InvalidKeyError, match="seed is 31 bytes"):
        NoteSigner.from_seed(ORIGIN, LOG_SEED[:31])


def _vkey_parts() -> list[str]:
    return GOLDEN_VKEY.split("+")


VKEY_MANGLINGS = {
    "wrong-key-id": "registry.example/log+a07d5e59+" + _vkey_parts()[2],
    "short-key-id": "registry.example/log+a07d5e5+" + _vkey_parts()[2],
    "non-hex-key-id": "registry.example/log+a07d5e5z+" + _vkey_parts()[2],
    "missing-part": "registry.example/log+" + _vkey_parts()[2],
    "extra-part": GOLDEN_VKEY + "+x",
    "ecdsa-type": "registry.example/log+a07d5e58+"
    + base64.b64encode(b"\x02" + base64.b64decode(_vkey_parts()[2])[1:]).decode(),
    "short-key": "registry.example/log+a07d5e58+"
    + base64.b64encode(base64.b64decode(_vkey_parts()[2])[:-1]).decode(),
    "empty-key": "registry.example/log+a07d5e58+",
    "name-with-space": "registry example+a07d5e58+" + _vkey_parts()[2],
}


@pytest.mark.parametrize("vkey", VKEY_MANGLINGS.values(), ids=VKEY_MANGLINGS.keys())
def test_verifier_key_parser_rejects_malformed_vkey(vkey):
    with pytest.raises(InvalidKeyError):
        NoteVerifier.from_vkey(vkey)


def test_error_tree():
    assert issubclass(SignatureError, CheckpointError)
    assert issubclass(CheckpointError, RegistryError)
    assert issubclass(InvalidKeyError, ValueError)


@pytest.mark.parametrize("seed_byte", range(16))
def test_vkey_round_trips_when_its_base64_contains_plus(seed_byte):
    # Standard base64 of the key often holds "+": the parser must split the
    # vkey on its first two "+" only (key names cannot contain "+").
    signer = NoteSigner.from_seed("example.com/log", bytes([seed_byte]) * 32)
    vkey = signer.verifier.vkey()
    assert NoteVerifier.from_vkey(vkey) == signer.verifier
