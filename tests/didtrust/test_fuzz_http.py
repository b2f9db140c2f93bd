"""Property tests: whatever arrives in the path, the HTTP API never answers 5xx.

Random strings, random bytes behind a valid multicodec prefix, and random JWKs
go through the real app with its real drivers.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import base58
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from tests.helpers.encoding import b64

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

CODECS = [
    b"\xed\x01",
    b"\xec\x01",
    b"\xe7\x01",
    b"\x80\x24",
    b"\x81\x24",
    b"\x82\x24",
    b"\x85\x24",
    b"\xea\x01",
    b"\xeb\x01",
    b"",
]


async def get_status(client, identifier: str) -> tuple[int, dict]:
    path = "/1.0/identifiers/" + quote(identifier, safe="")
    url = URL(str(client.make_url("/")).rstrip("/") + path, encoded=True)
    async with client.session.get(url) as resp:
        body = await resp.read()
        return resp.status, json.loads(body) if body else {}


def assert_clean(status: int, body: dict) -> None:
    assert status < 500, body
    if status >= 400:
        error = body["didResolutionMetadata"]["error"]
        assert error["type"].startswith("https://www.w3.org/ns/did#")


@FUZZ
@given(text=st.text(max_size=200))
async def test_random_identifiers_never_5xx(client, text):
    status, body = await get_status(client, text)
    if status >= 400:
        assert status < 500, body


@FUZZ
@given(prefix=st.sampled_from(CODECS), key=st.binary(max_size=300))
async def test_random_did_key_material_never_5xx(client, prefix, key):
    did = "did:key:z" + base58.b58encode(prefix + key).decode()
    status, body = await get_status(client, did)
    assert_clean(status, body)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
JWK_MEMBERS = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["OKP", "EC", "RSA", "oct", "x"]) | JSON_SCALARS,
        "crv": st.sampled_from(
            ["Ed25519", "X25519", "P-256", "P-384", "P-521", "secp256k1"]
        )
        | JSON_SCALARS,
        "x": st.binary(max_size=70).map(b64) | JSON_SCALARS,
        "y": st.binary(max_size=70).map(b64) | JSON_SCALARS,
        "n": st.text(max_size=50),
        "e": st.sampled_from(["AQAB", "AQ", ""]),
        "use": st.sampled_from(["sig", "enc", "other"]) | JSON_SCALARS,
        "d": st.text(max_size=10),
    },
)


@FUZZ
@given(
    jwk=JWK_MEMBERS
    | st.recursive(JSON_SCALARS, lambda c: st.lists(c, max_size=3), max_leaves=8)
)
async def test_random_jwks_never_5xx(client, jwk):
    encoded = b64(json.dumps(jwk).encode())
    status, body = await get_status(client, "did:jwk:" + encoded)
    assert_clean(status, body)
