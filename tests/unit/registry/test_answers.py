"""Signed registry answers (registry.answers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from nacl.signing import SigningKey

from registry.answers import ANSWER_TYP, query_sha256, sign_answer, verify_answer
from registry.errors import AnswerSignatureError
from registry.identity import RegistryIdentity
from tests.helpers.encoding import b64

NOW = datetime(2025, 6, 1, tzinfo=UTC)
IDENTITY = RegistryIdentity.for_key(SigningKey(bytes(range(32))))
QUERY = {"entity": "did:example:university", "at": "2025-06-01T00:00:00Z"}


def _signed(payload: bytes, **header: str) -> str:
    """A JWS over exactly ``payload`` by the registry key."""
    members = {"alg": "EdDSA", "kid": IDENTITY.key_id, "typ": ANSWER_TYP, **header}
    signing_input = b64(json.dumps(members).encode()) + "." + b64(payload)
    signature = IDENTITY.signing_key.sign(signing_input.encode()).signature
    return signing_input + "." + b64(signature)


def _payload(**changes: object) -> dict[str, object]:
    return {
        "iss": str(IDENTITY.did),
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "query_sha256": query_sha256(QUERY),
        "answer": {"authorized": True},
        **changes,
    }


def test_signed_answer_round_trips():
    token = sign_answer(
        {"authorized": True},
        identity=IDENTITY,
        query=QUERY,
        at=NOW,
        evaluated=NOW,
        ttl=timedelta(minutes=5),
        checkpoint={"origin": "example", "size": 1, "note": "..."},
    )
    payload = verify_answer(token, public_key=IDENTITY.public_key, now=NOW, query=QUERY)
    assert payload["answer"] == {"authorized": True}


def test_hand_signed_answer_verifies():
    token = _signed(json.dumps(_payload()).encode())
    assert verify_answer(token, public_key=IDENTITY.public_key, now=NOW)["iss"]


def test_duplicate_member_in_answer_payload_refused():
    # Read with json.loads, the last "answer" won: a reader with another JSON
    # library could take the first. The signature covers both.
    text = json.dumps(_payload())[:-1] + ', "answer": {"authorized": false}}'
    token = _signed(text.encode())
    with pytest.raises(AnswerSignatureError, match="duplicate member 'answer'"):
        verify_answer(token, public_key=IDENTITY.public_key, now=NOW)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b'{"exp": NaN}', "not json"),
        (b"[1, 2]", "not a json object"),
        (b'{"exp": 1e999}', "out of range"),
    ],
    ids=["nan", "array", "huge-number"],
)
def test_answer_payload_that_is_not_strict_json_refused(payload, match):
    token = _signed(payload)
    with pytest.raises(AnswerSignatureError, match=match):
        verify_answer(token, public_key=IDENTITY.public_key, now=NOW)


def test_answer_with_another_typ_refused():
    token = _signed(json.dumps(_payload()).encode(), typ="didtrust-statement+jwt")
    with pytest.raises(AnswerSignatureError, match="typ/alg"):
        verify_answer(token, public_key=IDENTITY.public_key, now=NOW)
