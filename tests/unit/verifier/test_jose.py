"""VC-JOSE / VC-JWT credential verification (verifier.jose).

Issuers are did:key and did:jwk DIDs built by the real drivers from fixed keys
(``issuers.py``); credentials are Open Badge 3.0-shaped, on the VC Data Model
2.0 (``vc+jwt``) and 1.1 (``vc`` claim). Each positive test runs the whole
flow a service runs: ``peek`` → the issuer's DID document →
``find_verification_method`` → ``verify``. Attack tokens are assembled by hand
(``forge``: the exact header and payload bytes, signed with ``cryptography``),
so each carries exactly the flaw its test names.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from resolver.did import parse_did_url
from tests.helpers.encoding import b64, unb64
from tests.helpers.issuers import (
    ALL_ISSUERS,
    ATTACKER,
    ED25519_JWK,
    ED25519_KEY,
    EXPIRES,
    ISSUED,
    ISSUER_SEED,
    K256_KEY,
    LEARNER,
    P256_JWK,
    P256_KEY,
    P384_KEY,
    Issuer,
    did_jwk,
    forge,
    open_badge_v1,
    open_badge_v2,
    p256,
    public_jwk,
)
from verifier import jose
from verifier.errors import (
    InvalidSignatureError,
    KeyBindingError,
    MalformedCredentialError,
    ProofError,
    UnsupportedCryptosuiteError,
    VerificationError,
)
from verifier.jose import (
    MAX_HEADER_BYTES,
    MAX_JSON_DEPTH,
    MAX_TOKEN_BYTES,
    JoseCredential,
    JoseCredentialHeader,
    peek,
    sign,
    verify,
)
from verifier.keys import find_verification_method

ISSUERS = [pytest.param(issuer, id=name) for name, issuer in ALL_ISSUERS.items()]
FORMS = [pytest.param("vc+jwt", id="vc2-vc+jwt"), pytest.param("vc-1.1", id="vc1.1")]


def badge(issuer: Issuer, form: str = "vc+jwt", /, **changes: Any) -> dict[str, Any]:
    if form == "vc+jwt":
        return open_badge_v2(issuer.did, **changes)
    return open_badge_v1(issuer.did, **changes)


def run_flow(token: str, documents: dict[str, dict[str, Any]]) -> JoseCredential:
    """What the service does: peek, resolve kid's DID, find the method, verify."""
    header = peek(token)
    vm = find_verification_method(documents[header.kid.did], header.kid)
    return verify(token, verification_method=vm)


def documents_of(*issuers: Issuer) -> dict[str, dict[str, Any]]:
    return {str(issuer.did): issuer.document for issuer in issuers}


def header(issuer: Issuer, **extra: Any) -> dict[str, Any]:
    members: dict[str, Any] = {"alg": issuer.alg, "kid": issuer.kid, "typ": "vc+jwt"}
    members.update(extra)
    return {name: value for name, value in members.items() if value is not None}


def v1_claims(issuer: Issuer, vc: dict[str, Any] | None = None, **claims: Any):
    out: dict[str, Any] = {
        "iss": str(issuer.did),
        "nbf": ISSUED,
        "exp": EXPIRES,
        "jti": "urn:uuid:0b8d4e2a-1c3f-4d5e-8a7b-6c9d0e1f2a3b",
        "sub": LEARNER,
        "vc": open_badge_v1(issuer.did) if vc is None else vc,
    }
    out.update(claims)
    return {name: value for name, value in out.items() if value is not None}


def with_payload_changed(token: str, change) -> str:
    head, payload, signature = token.split(".")
    return ".".join((head, b64(change(unb64(payload))), signature))


# --- positive: both forms, every key type ---------------------------------------------


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("issuer", ISSUERS)
def test_credential_verifies_with_issuer_assertion_key(issuer: Issuer, form) -> None:
    credential = badge(issuer, form)
    token = sign(credential, private_key=issuer.key, kid=issuer.kid, form=form)

    head = peek(token)
    assert head == JoseCredentialHeader(
        alg=issuer.alg,
        kid=parse_did_url(issuer.kid),
        typ="vc+jwt" if form == "vc+jwt" else "JWT",
        cty=None,
        form=form,
    )
    result = run_flow(token, documents_of(issuer))
    assert result.form == form
    assert result.credential == credential
    assert result.issuer == issuer.did
    assert str(result.kid) == issuer.kid
    assert result.alg == issuer.alg
    assert result.iat is None


def test_vc2_token_payload_is_exactly_the_jcs_credential() -> None:
    credential = open_badge_v2(ED25519_KEY.did)
    token = sign(credential, private_key=ED25519_KEY.key, kid=ED25519_KEY.kid)
    head, payload, _ = token.split(".")
    assert json.loads(unb64(head)) == {
        "alg": "EdDSA",
        "kid": ED25519_KEY.kid,
        "typ": "vc+jwt",
    }
    assert unb64(payload) == rfc8785.dumps(credential)
    result = run_flow(token, documents_of(ED25519_KEY))
    assert result.claims == credential
    assert (result.nbf, result.exp) == (None, None)


def test_vc11_token_carries_registered_claims_in_addition_to_vc() -> None:
    credential = open_badge_v1(P256_KEY.did)
    token = sign(credential, private_key=P256_KEY.key, kid=P256_KEY.kid, form="vc-1.1")
    claims = json.loads(unb64(token.split(".")[1]))
    assert claims == v1_claims(P256_KEY)
    result = run_flow(token, documents_of(P256_KEY))
    assert result.nbf == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    assert result.exp == datetime(2029, 6, 1, 9, 30, tzinfo=UTC)


def test_eddsa_tokens_are_deterministic() -> None:
    credential = open_badge_v2(ED25519_KEY.did)
    first = sign(credential, private_key=ED25519_KEY.key, kid=ED25519_KEY.kid)
    again = sign(
        copy.deepcopy(credential),
        private_key=SigningKey(ISSUER_SEED),
        kid=ED25519_KEY.kid,
    )
    assert first == again


def test_vc11_instead_of_form_maps_claims_into_the_credential() -> None:
    # VC 1.1 §6.3.1.2: iss → issuer, nbf → issuanceDate, exp → expirationDate,
    # jti → id, sub → credentialSubject.id.
    vc = open_badge_v1(K256_KEY.did)
    for name in ("issuer", "issuanceDate", "expirationDate", "id"):
        del vc[name]
    del vc["credentialSubject"]["id"]
    token = forge(
        header(K256_KEY, typ="JWT"),
        v1_claims(K256_KEY, vc, iat=ISSUED),
        K256_KEY.key,
    )
    result = run_flow(token, documents_of(K256_KEY))
    assert result.form == "vc-1.1"
    expected = open_badge_v1(K256_KEY.did)
    expected["issuer"] = str(K256_KEY.did)
    assert result.credential == expected
    assert result.iat == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("form", FORMS)
def test_string_issuer_verifies(form) -> None:
    credential = badge(P256_JWK, form, issuer=str(P256_JWK.did))
    token = sign(credential, private_key=P256_JWK.key, kid=P256_JWK.kid, form=form)
    result = run_flow(token, documents_of(P256_JWK))
    assert result.credential == credential
    assert result.issuer == P256_JWK.did


def test_vc11_with_only_iss_and_vc_keeps_the_credential() -> None:
    vc = open_badge_v1(ED25519_KEY.did)
    del vc["id"]
    del vc["credentialSubject"]["id"]
    token = sign(vc, private_key=ED25519_KEY.key, kid=ED25519_KEY.kid, form="vc-1.1")
    claims = json.loads(unb64(token.split(".")[1]))
    assert sorted(claims) == ["exp", "iss", "nbf", "vc"]
    bare = forge(
        header(ED25519_KEY, typ="JWT"),
        {"iss": str(ED25519_KEY.did), "vc": vc},
        ED25519_KEY.key,
    )
    result = run_flow(bare, documents_of(ED25519_KEY))
    assert result.credential == vc
    assert (result.nbf, result.exp, result.iat) == (None, None, None)


def test_vc11_issuer_object_without_id_gets_iss() -> None:
    vc = open_badge_v1(ED25519_KEY.did)
    del vc["issuer"]["id"]
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    result = run_flow(token, documents_of(ED25519_KEY))
    assert result.credential["issuer"] == open_badge_v1(ED25519_KEY.did)["issuer"]


def test_vc11_sub_creates_missing_credential_subject() -> None:
    vc = open_badge_v1(ED25519_KEY.did)
    del vc["credentialSubject"]
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    assert run_flow(token, documents_of(ED25519_KEY)).credential[
        "credentialSubject"
    ] == {"id": LEARNER}


@pytest.mark.parametrize(
    "subjects",
    [
        pytest.param([{"name": "only"}], id="one-subject-in-array"),
        pytest.param([{"id": "did:example:other"}, {"id": LEARNER}], id="one-of-two"),
    ],
)
def test_vc11_sub_maps_into_subject_arrays(subjects) -> None:
    vc = open_badge_v1(ED25519_KEY.did, credentialSubject=subjects)
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    mapped = run_flow(token, documents_of(ED25519_KEY)).credential["credentialSubject"]
    assert LEARNER in [subject.get("id") for subject in mapped]


def test_vc11_dates_agree_to_the_second() -> None:
    # nbf counts whole seconds; a fractional issuanceDate in the same second,
    # or an offset time zone naming the same instant, is the same date.
    vc = open_badge_v1(
        ED25519_KEY.did,
        issuanceDate="2024-06-01T11:30:00.750+02:00",
        expirationDate="2029-06-01T09:30:00",
    )
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    assert run_flow(token, documents_of(ED25519_KEY)).credential == vc


def test_vc11_fractional_nbf_sets_fractional_issuance_date() -> None:
    vc = open_badge_v1(ED25519_KEY.did)
    del vc["issuanceDate"]
    claims = v1_claims(ED25519_KEY, vc, nbf=ISSUED + 0.5)
    token = forge(header(ED25519_KEY, typ="JWT"), claims, ED25519_KEY.key)
    result = run_flow(token, documents_of(ED25519_KEY))
    assert result.credential["issuanceDate"] == "2024-06-01T09:30:00.500000Z"


@pytest.mark.parametrize(
    ("typ", "payload", "form"),
    [
        pytest.param(None, "v2", "vc+jwt", id="no-typ-vc2"),
        pytest.param(None, "v1", "vc-1.1", id="no-typ-vc1.1"),
        pytest.param("application/vc+jwt", "v2", "vc+jwt", id="typ-with-application"),
        pytest.param("VC+JWT", "v2", "vc+jwt", id="typ-upper-case"),
        pytest.param("jwt", "v1", "vc-1.1", id="typ-jwt-lower-case"),
    ],
)
def test_form_follows_typ_and_payload(typ, payload, form) -> None:
    claims = open_badge_v2(P256_JWK.did) if payload == "v2" else v1_claims(P256_JWK)
    token = forge(header(P256_JWK, typ=typ), claims, P256_JWK.key)
    assert peek(token).form == form
    assert run_flow(token, documents_of(P256_JWK)).form == form


@pytest.mark.parametrize("cty", ["vc", "application/vc"])
def test_vc2_accepts_cty_vc(cty: str) -> None:
    token = forge(header(P384_KEY, cty=cty), open_badge_v2(P384_KEY.did), P384_KEY.key)
    assert run_flow(token, documents_of(P384_KEY)).form == "vc+jwt"


def test_unknown_header_members_are_ignored() -> None:
    # VC-JOSE-COSE §3.1.1: members that are not understood MUST be ignored.
    token = forge(
        header(ED25519_KEY, x_trace="abc", cnf={"kid": "x"}),
        open_badge_v2(ED25519_KEY.did),
        ED25519_KEY.key,
    )
    assert run_flow(token, documents_of(ED25519_KEY)).issuer == ED25519_KEY.did


def test_vc2_jwt_claims_that_agree_are_accepted_and_returned() -> None:
    credential = open_badge_v2(
        ED25519_KEY.did,
        iss=str(ED25519_KEY.did),
        sub=LEARNER,
        jti="urn:uuid:6f1c3b52-7d4e-4a7b-9c1e-2a5d8e0b4c31",
        nbf=ISSUED,
        exp=EXPIRES,
        iat=ISSUED,
    )
    token = forge(
        header(ED25519_KEY, iss=str(ED25519_KEY.did)), credential, ED25519_KEY.key
    )
    result = run_flow(token, documents_of(ED25519_KEY))
    assert result.credential == credential
    assert result.nbf == result.iat == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    assert result.exp == datetime(2029, 6, 1, 9, 30, tzinfo=UTC)


def test_relative_kid_resolves_against_iss() -> None:
    fragment = "#" + P256_KEY.kid.split("#", 1)[1]
    credential = open_badge_v2(P256_KEY.did, iss=str(P256_KEY.did))
    token = forge(header(P256_KEY, kid=fragment), credential, P256_KEY.key)
    assert str(peek(token).kid) == P256_KEY.kid
    assert str(run_flow(token, documents_of(P256_KEY)).kid) == P256_KEY.kid


def test_vc11_relative_kid_resolves_against_iss() -> None:
    token = forge(
        header(ED25519_JWK, kid="#0", typ="JWT"),
        v1_claims(ED25519_JWK),
        ED25519_JWK.key,
    )
    assert str(run_flow(token, documents_of(ED25519_JWK)).kid) == ED25519_JWK.kid


# --- attacks: algorithm ---------------------------------------------------------------


def test_rejects_alg_none() -> None:
    head = b64(json.dumps({"alg": "none", "kid": ED25519_KEY.kid}).encode())
    payload = b64(json.dumps(open_badge_v2(ED25519_KEY.did)).encode())
    for token in (f"{head}.{payload}.", f"{head}.{payload}.AAAA"):
        with pytest.raises(
            UnsupportedCryptosuiteError, match="alg 'none' is not allowed"
        ):
            peek(token)
        with pytest.raises(UnsupportedCryptosuiteError):
            verify(token, verification_method=ED25519_KEY.method)


@pytest.mark.parametrize("alg", ["NONE", "None", "nOnE"])
def test_rejects_alg_none_in_any_case(alg: str) -> None:
    token = forge(
        header(ED25519_KEY, alg=alg), open_badge_v2(ED25519_KEY.did), ED25519_KEY.key
    )
    with pytest.raises(UnsupportedCryptosuiteError):
        peek(token)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(
            lambda i: json.dumps(i.method["publicKeyJwk"]).encode(), id="jwk-json"
        ),
        pytest.param(lambda i: i.method["publicKeyJwk"]["x"].encode(), id="jwk-x"),
        pytest.param(lambda i: unb64(i.method["publicKeyJwk"]["x"]), id="raw-key"),
    ],
)
def test_rejects_hs256_with_public_key_as_secret(secret) -> None:
    issuer = ED25519_JWK
    signing_input = ".".join(
        (
            b64(json.dumps(header(issuer, alg="HS256")).encode()),
            b64(json.dumps(open_badge_v2(issuer.did)).encode()),
        )
    )
    mac = hmac.new(secret(issuer), signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{b64(mac)}"
    with pytest.raises(UnsupportedCryptosuiteError, match="alg 'HS256'"):
        peek(token)
    with pytest.raises(UnsupportedCryptosuiteError):
        verify(token, verification_method=issuer.method)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES512", "Ed25519", "HS512", ""])
def test_rejects_algorithms_outside_the_allowlist(alg: str) -> None:
    token = forge(header(P256_KEY, alg=alg), open_badge_v2(P256_KEY.did), P256_KEY.key)
    with pytest.raises(UnsupportedCryptosuiteError, match="not allowed"):
        peek(token)


@pytest.mark.parametrize(
    ("issuer", "alg"),
    [
        pytest.param(ED25519_KEY, "ES256", id="es256-over-ed25519-key"),
        pytest.param(P256_KEY, "EdDSA", id="eddsa-over-p256-key"),
        pytest.param(P256_KEY, "ES256K", id="es256k-over-p256-key"),
        pytest.param(P256_KEY, "ES384", id="es384-over-p256-key"),
        pytest.param(K256_KEY, "ES256", id="es256-over-secp256k1-key"),
        pytest.param(P384_KEY, "ES256", id="es256-over-p384-key"),
    ],
)
def test_rejects_alg_that_does_not_fit_the_key(issuer: Issuer, alg: str) -> None:
    token = forge(header(issuer, alg=alg), open_badge_v2(issuer.did), issuer.key)
    assert peek(token).alg == alg  # the header alone cannot tell
    with pytest.raises(ProofError, match=f"alg {alg} is for"):
        run_flow(token, documents_of(issuer))


def test_rejects_alg_other_than_the_jwk_declares() -> None:
    issuer = did_jwk(p256(), alg="ES384")
    token = forge(header(issuer, alg="ES256"), open_badge_v2(issuer.did), issuer.key)
    with pytest.raises(ProofError, match="key is for alg 'ES384', not ES256"):
        run_flow(token, documents_of(issuer))


# --- attacks: key binding -------------------------------------------------------------


def test_rejects_kid_of_another_did_than_the_issuer() -> None:
    # The attacker signs with its own key and names it, but claims the
    # university as issuer: a valid signature, by the wrong party.
    token = forge(header(ATTACKER), open_badge_v2(ED25519_KEY.did), ATTACKER.key)
    with pytest.raises(KeyBindingError, match="but the issuer is"):
        peek(token)
    with pytest.raises(KeyBindingError, match="but the issuer is"):
        verify(token, verification_method=ATTACKER.method)


def test_rejects_issuer_key_id_signed_by_another_key() -> None:
    token = forge(header(ED25519_KEY), open_badge_v2(ED25519_KEY.did), ATTACKER.key)
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        run_flow(token, documents_of(ED25519_KEY))


def test_rejects_kid_only_in_key_agreement() -> None:
    document = copy.deepcopy(ED25519_KEY.document)
    for name in ("assertionMethod", "authentication", "capabilityInvocation"):
        del document[name]
    document["capabilityDelegation"] = []
    document["keyAgreement"] = [ED25519_KEY.kid]
    token = sign(
        open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
    )
    with pytest.raises(KeyBindingError, match="only in keyAgreement"):
        run_flow(token, {str(ED25519_KEY.did): document})


def test_rejects_kid_only_in_authentication() -> None:
    document = copy.deepcopy(P256_JWK.document)
    del document["assertionMethod"]
    token = sign(
        open_badge_v2(P256_JWK.did), private_key=P256_JWK.key, kid=P256_JWK.kid
    )
    with pytest.raises(KeyBindingError, match="not in assertionMethod"):
        run_flow(token, {str(P256_JWK.did): document})


def test_verify_rejects_method_other_than_the_kid() -> None:
    # The issuer's own key, passed for a kid naming another method: the method
    # must be the one the token names.
    other = {**ED25519_KEY.method, "id": f"{ED25519_KEY.did}#other"}
    token = sign(
        open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
    )
    with pytest.raises(KeyBindingError, match="is not the kid"):
        verify(token, verification_method=other)


def test_verify_rejects_method_controlled_by_another_did() -> None:
    foreign = {**ED25519_KEY.method, "controller": str(ATTACKER.did)}
    token = sign(
        open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
    )
    with pytest.raises(KeyBindingError, match="not the issuer"):
        verify(token, verification_method=foreign)


def test_verify_rejects_key_agreement_method() -> None:
    raw = x25519.X25519PrivateKey.from_private_bytes(bytes(32)).public_key()
    method = {
        **ED25519_KEY.method,
        "type": "JsonWebKey2020",
        "publicKeyJwk": {
            "kty": "OKP",
            "crv": "X25519",
            "x": b64(raw.public_bytes_raw()),
        },
    }
    del method["publicKeyMultibase"]
    token = sign(
        open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
    )
    with pytest.raises(KeyBindingError, match="cannot sign"):
        verify(token, verification_method=method)


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param(None, id="missing"),
        pytest.param(
            "did:key:z6MkneMkZqwqRiU5mJzSG3kDwzt9P8C59N4NGTfBLfSGE7c7", id="bare-did"
        ),
        pytest.param("key-1", id="not-a-url"),
        pytest.param("did:example:uni/keys#1", id="path"),
        pytest.param("did:example:uni?v=1#1", id="query"),
        pytest.param("https://university.example/keys#1", id="https-url"),
    ],
)
def test_rejects_kid_that_does_not_name_a_did_method(kid) -> None:
    token = forge(
        header(ED25519_KEY, kid=kid), open_badge_v2(ED25519_KEY.did), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match="kid"):
        peek(token)


def test_rejects_relative_kid_without_iss() -> None:
    # VC-JOSE-COSE §4.3: without iss, kid MUST be an absolute URL.
    token = forge(
        header(ED25519_KEY, kid="#0"), open_badge_v2(ED25519_KEY.did), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match="relative, but there is no iss"):
        peek(token)


def test_rejects_https_issuer_whose_keys_cannot_be_resolved() -> None:
    credential = open_badge_v2("https://university.example/issuers/14")
    token = forge(header(ED25519_KEY), credential, ED25519_KEY.key)
    with pytest.raises(KeyBindingError, match="but the issuer is https://"):
        peek(token)


# --- attacks: issuer and claims conflicts ---------------------------------------------


def test_rejects_iss_and_issuer_disagreeing() -> None:
    credential = open_badge_v2(ED25519_KEY.did, iss=str(ATTACKER.did))
    token = forge(header(ED25519_KEY), credential, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match="does not match issuer"):
        peek(token)
    with pytest.raises(MalformedCredentialError, match="does not match issuer"):
        verify(token, verification_method=ED25519_KEY.method)


def test_rejects_header_iss_and_issuer_disagreeing() -> None:
    token = forge(
        header(ED25519_KEY, iss=str(ATTACKER.did)),
        open_badge_v2(ED25519_KEY.did),
        ED25519_KEY.key,
    )
    with pytest.raises(MalformedCredentialError, match="does not match issuer"):
        peek(token)


def test_rejects_header_iss_and_claim_iss_disagreeing() -> None:
    token = forge(
        header(ED25519_KEY, iss=str(ATTACKER.did)),
        open_badge_v2(ED25519_KEY.did, iss=str(ED25519_KEY.did)),
        ED25519_KEY.key,
    )
    with pytest.raises(MalformedCredentialError, match="header iss"):
        peek(token)


def test_rejects_vc11_iss_and_vc_issuer_disagreeing() -> None:
    claims = v1_claims(ED25519_KEY, open_badge_v1(ATTACKER.did))
    token = forge(header(ED25519_KEY, typ="JWT"), claims, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=r"does not match vc\.issuer"):
        peek(token)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param(
            {"nbf": ISSUED + 86_400}, "nbf .* does not match issuanceDate", id="nbf"
        ),
        pytest.param(
            {"nbf": ISSUED - 1}, "nbf .* does not match issuanceDate", id="nbf-1s"
        ),
        pytest.param(
            {"exp": EXPIRES + 1}, "exp .* does not match expirationDate", id="exp"
        ),
        pytest.param(
            {"jti": "urn:uuid:other"}, "jti .* does not match vc.id", id="jti"
        ),
        pytest.param(
            {"sub": "did:example:other"}, "sub .* credentialSubject.id", id="sub"
        ),
    ],
)
def test_rejects_vc11_claims_conflicting_with_the_credential(claims, message) -> None:
    token = forge(
        header(ED25519_KEY, typ="JWT"),
        v1_claims(ED25519_KEY, **claims),
        ED25519_KEY.key,
    )
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


def test_rejects_vc11_sub_naming_none_of_several_subjects() -> None:
    vc = open_badge_v1(
        ED25519_KEY.did,
        credentialSubject=[{"id": "did:example:a"}, {"id": "did:example:b"}],
    )
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    with pytest.raises(
        MalformedCredentialError, match="none of the 2 credential subjects"
    ):
        peek(token)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"jti": "urn:uuid:other"}, "jti .* does not match id", id="jti"),
        pytest.param(
            {"sub": "did:example:other"}, "sub .* credentialSubject.id", id="sub"
        ),
    ],
)
def test_rejects_vc2_jwt_claims_conflicting_with_the_credential(
    changes, message
) -> None:
    token = forge(
        header(ED25519_KEY), open_badge_v2(ED25519_KEY.did, **changes), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"issuanceDate": "June 1st"}, "not an xml schema datetime", id="words"
        ),
        pytest.param(
            {"issuanceDate": 1717234200}, "not an xml schema datetime", id="number"
        ),
        pytest.param(
            {"issuanceDate": "2024-02-30T00:00:00Z"}, "day is out of range", id="feb-30"
        ),
        pytest.param(
            {"issuanceDate": "2024-06-01T09:30:00+15:00"}, "bad time zone", id="tz"
        ),
    ],
)
def test_rejects_vc11_dates_that_cannot_be_compared(changes, message) -> None:
    claims = v1_claims(ED25519_KEY, open_badge_v1(ED25519_KEY.did, **changes))
    token = forge(header(ED25519_KEY, typ="JWT"), claims, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


def test_non_ascii_digits_in_date_refused() -> None:
    # 2024-06-01T09:30:00Z with an Arabic-Indic year: int() reads it as 2024,
    # so a \d that matched it made one date of two spellings.
    arabic = "\u0662\u0660\u0662\u0664-06-01T09:30:00Z"
    vc = open_badge_v1(ED25519_KEY.did, issuanceDate=arabic)
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match="not an xml schema datetime"):
        peek(token)


# --- attacks: bytes -------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ISSUERS)
def test_verify_fails_on_one_flipped_payload_byte(issuer: Issuer) -> None:
    token = sign(open_badge_v2(issuer.did), private_key=issuer.key, kid=issuer.kid)
    tampered = with_payload_changed(
        token, lambda data: data.replace(b"Data Stewardship", b"Data Stewardshiq", 1)
    )
    assert peek(tampered).kid == peek(token).kid
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        run_flow(tampered, documents_of(issuer))


@pytest.mark.parametrize("issuer", ISSUERS)
def test_verify_fails_on_one_flipped_signature_byte(issuer: Issuer) -> None:
    head, payload, signature = sign(
        open_badge_v2(issuer.did), private_key=issuer.key, kid=issuer.kid
    ).split(".")
    raw = bytearray(unb64(signature))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(InvalidSignatureError, match="does not verify"):
        run_flow(f"{head}.{payload}.{b64(bytes(raw))}", documents_of(issuer))


def test_verify_rejects_signature_of_the_wrong_length() -> None:
    head, payload, signature = sign(
        open_badge_v2(P384_KEY.did), private_key=P384_KEY.key, kid=P384_KEY.kid
    ).split(".")
    short = b64(unb64(signature)[:64])
    with pytest.raises(InvalidSignatureError, match="64 bytes, expected 96 for ES384"):
        run_flow(f"{head}.{payload}.{short}", documents_of(P384_KEY))


def test_rejects_signature_moved_to_another_credential() -> None:
    one = sign(
        open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
    )
    two = sign(
        open_badge_v2(ED25519_KEY.did, name="Other"),
        private_key=ED25519_KEY.key,
        kid=ED25519_KEY.kid,
    )
    spliced = ".".join(two.split(".")[:2] + one.split(".")[2:])
    with pytest.raises(InvalidSignatureError):
        run_flow(spliced, documents_of(ED25519_KEY))


@pytest.mark.parametrize(
    ("member", "value"),
    [
        pytest.param("jwk", "attacker-jwk", id="embedded-jwk"),
        pytest.param("jku", "https://attacker.example/jwks.json", id="jku"),
        pytest.param("x5u", "https://attacker.example/cert.pem", id="x5u"),
        pytest.param("x5c", ["MIIB"], id="x5c"),
        pytest.param("x5t", "abc", id="x5t"),
        pytest.param("x5t#S256", "abc", id="x5t-s256"),
        pytest.param("crit", ["exp"], id="crit"),
        pytest.param("b64", False, id="b64-unencoded-payload"),
        pytest.param("zip", "DEF", id="zip"),
    ],
)
def test_rejects_key_bearing_or_critical_header_members(member, value) -> None:
    # The embedded-key attack: the token brings its own key (here the
    # attacker's JWK) and is signed with it.
    if value == "attacker-jwk":
        value = public_jwk(ATTACKER.key)
    token = forge(
        header(ED25519_KEY, **{member: value}),
        open_badge_v2(ED25519_KEY.did),
        ATTACKER.key,
    )
    with pytest.raises(ProofError, match=f"header member '{member}' is not allowed"):
        peek(token)
    with pytest.raises(ProofError, match="is not allowed"):
        verify(token, verification_method=ED25519_KEY.method)


def test_rejects_duplicate_header_members() -> None:
    raw = (
        f'{{"alg":"EdDSA","kid":"{ED25519_KEY.kid}","typ":"vc+jwt","alg":"none"}}'
    ).encode()
    token = forge(raw, open_badge_v2(ED25519_KEY.did), ED25519_KEY.key)
    with pytest.raises(
        MalformedCredentialError, match="header has a duplicate member 'alg'"
    ):
        peek(token)


def test_rejects_duplicate_payload_members() -> None:
    # Two issuers: one parser would read the first, another the last.
    credential = json.dumps(open_badge_v2(ED25519_KEY.did))
    raw = (credential[:-1] + f', "issuer": "{ATTACKER.did}"}}').encode()
    token = forge(header(ED25519_KEY), raw, ED25519_KEY.key)
    with pytest.raises(
        MalformedCredentialError, match="payload has a duplicate member 'issuer'"
    ):
        peek(token)
    with pytest.raises(MalformedCredentialError, match="duplicate member"):
        verify(token, verification_method=ED25519_KEY.method)


def test_rejects_duplicate_members_nested_in_the_credential() -> None:
    raw = json.dumps(open_badge_v2(ED25519_KEY.did)).replace(
        '"name": "Example University"',
        '"name": "Example University", "name": "Evil University"',
    )
    token = forge(header(ED25519_KEY), raw.encode(), ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match="duplicate member 'name'"):
        run_flow(token, documents_of(ED25519_KEY))


def test_rejects_oversized_token() -> None:
    padding = "x" * MAX_TOKEN_BYTES
    credential = open_badge_v2(ED25519_KEY.did, description=padding)
    token = forge(header(ED25519_KEY), credential, ED25519_KEY.key)
    with pytest.raises(
        MalformedCredentialError, match=f"over the limit of {MAX_TOKEN_BYTES}"
    ):
        peek(token)
    with pytest.raises(MalformedCredentialError, match="over the limit"):
        verify(token, verification_method=ED25519_KEY.method)


def test_sign_refuses_to_make_an_oversized_token() -> None:
    credential = open_badge_v2(ED25519_KEY.did, description="x" * MAX_TOKEN_BYTES)
    with pytest.raises(MalformedCredentialError, match="over the limit"):
        sign(credential, private_key=ED25519_KEY.key, kid=ED25519_KEY.kid)


def test_rejects_oversized_header() -> None:
    token = forge(
        header(ED25519_KEY, note="x" * MAX_HEADER_BYTES),
        open_badge_v2(ED25519_KEY.did),
        ED25519_KEY.key,
    )
    with pytest.raises(MalformedCredentialError, match=f"limit of {MAX_HEADER_BYTES}"):
        peek(token)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 100_000])
def test_rejects_deeply_nested_payload(depth: int) -> None:
    nested = "[" * depth + '"deep"' + "]" * depth
    raw = json.dumps(open_badge_v2(ED25519_KEY.did))[:-1] + f', "extra": {nested}}}'
    token = forge(header(ED25519_KEY), raw.encode(), ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=f"deeper than {MAX_JSON_DEPTH}"):
        peek(token)


def test_accepts_nesting_up_to_the_cap() -> None:
    nested: Any = "deep"
    for _ in range(MAX_JSON_DEPTH - 2):
        nested = [nested]
    token = forge(
        header(ED25519_KEY),
        open_badge_v2(ED25519_KEY.did, extra=nested),
        ED25519_KEY.key,
    )
    assert run_flow(token, documents_of(ED25519_KEY)).credential["extra"] == nested


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param(b'{"issuer": NaN}', "NaN is not json", id="nan"),
        pytest.param(b'{"nbf": 1e999}', "out of range", id="huge-float"),
        # Refused by the strict parser itself now, before any claim is read.
        pytest.param(b'{"name": "\\ud800"}', "lone surrogate", id="lone-surrogate"),
        pytest.param(b'{"\\udfff": 1}', "lone surrogate", id="lone-surrogate-name"),
        pytest.param(b"\xff\xfe{}", "not utf-8", id="not-utf8"),
        pytest.param(b"[1, 2]", "not a json object", id="array"),
        pytest.param(b'{"a": 1', "not json", id="truncated"),
    ],
)
def test_rejects_payload_that_is_not_strict_json(payload: bytes, message: str) -> None:
    token = forge(header(ED25519_KEY), payload, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


# --- malformed tokens -----------------------------------------------------------------

_GOOD = sign(
    open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid=ED25519_KEY.kid
)
_H, _P, _S = _GOOD.split(".")


@pytest.mark.parametrize(
    ("token", "error", "message"),
    [
        pytest.param(
            42, MalformedCredentialError, "must be a string", id="not-a-string"
        ),
        pytest.param(
            "", MalformedCredentialError, "3 dot-separated parts, not 1", id="empty"
        ),
        pytest.param(f"{_H}.{_P}", MalformedCredentialError, "not 2", id="two-parts"),
        pytest.param(
            f"{_GOOD}.x.y", MalformedCredentialError, "not 5", id="jwe-shaped"
        ),
        pytest.param(
            f"{_H}..{_S}", MalformedCredentialError, "payload is empty", id="detached"
        ),
        pytest.param(
            f"{_H}.{_P}.", ProofError, "signature is empty", id="no-signature"
        ),
        pytest.param(
            f"{_H}=.{_P}.{_S}", MalformedCredentialError, "padded", id="padding"
        ),
        pytest.param(
            f"{_H}.{_P}+.{_S}", MalformedCredentialError, "alphabet", id="base64-std"
        ),
        pytest.param(
            f" {_GOOD}", MalformedCredentialError, "alphabet", id="leading-space"
        ),
        pytest.param(
            f"{b64(b'[]')}.{_P}.{_S}",
            MalformedCredentialError,
            "header is not a json object",
            id="header-array",
        ),
        pytest.param(
            f"{b64(b'{}')}.{_P}.{_S}",
            MalformedCredentialError,
            "no 'alg'",
            id="header-no-alg",
        ),
    ],
)
def test_rejects_malformed_compact_serialization(token, error, message) -> None:
    with pytest.raises(error, match=message):
        peek(token)
    with pytest.raises(error, match=message):
        verify(token, verification_method=ED25519_KEY.method)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param({"alg": 1}, "'alg' is not a string", id="alg-number"),
        pytest.param({"kid": ["a"]}, "'kid' is not a string", id="kid-array"),
        pytest.param({"cty": 5}, "'cty' is not a string", id="cty-number"),
        pytest.param({"iss": {}}, "'iss' is not a string", id="iss-object"),
    ],
)
def test_rejects_header_members_of_the_wrong_type(extra, message) -> None:
    members = {**header(ED25519_KEY), **extra}
    token = forge(
        json.dumps(members).encode(), open_badge_v2(ED25519_KEY.did), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


@pytest.mark.parametrize(
    ("typ", "cty", "payload", "message"),
    [
        pytest.param(
            "vc+ld+jwt",
            None,
            "v2",
            "typ 'vc\\+ld\\+jwt' is neither",
            id="draft-vc+ld+jwt",
        ),
        pytest.param(
            "vc+ld+json+jwt", None, "v2", "is neither", id="draft-vc+ld+json+jwt"
        ),
        pytest.param("vp+jwt", None, "v2", "is neither", id="presentation"),
        pytest.param(
            "didtrust-statement+jwt", None, "v2", "is neither", id="statement"
        ),
        pytest.param("vc+jwt", "vp", "v2", "cty 'vp' is not 'vc'", id="cty-vp"),
        pytest.param("JWT", "JWT", "v1", "nested jwts", id="nested-jwt"),
        pytest.param(
            "vc+jwt",
            None,
            "v1",
            "claim 'vc' must not be present",
            id="vc-claim-in-vc+jwt",
        ),
        pytest.param("JWT", None, "v2", "needs a 'vc' claim", id="jwt-without-vc"),
    ],
)
def test_rejects_typ_cty_and_payload_of_no_supported_form(typ, cty, payload, message):
    claims = (
        open_badge_v2(ED25519_KEY.did) if payload == "v2" else v1_claims(ED25519_KEY)
    )
    token = forge(header(ED25519_KEY, typ=typ, cty=cty), claims, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"vp": {}}, "claim 'vp' must not be present", id="vp-claim"),
        pytest.param(
            {"@context": [jose.VC_V1_CONTEXT]},
            "must be https://www.w3.org/ns/credentials/v2",
            id="v1-context",
        ),
        pytest.param(
            {"@context": "https://example.org/ctx"},
            "first @context",
            id="other-context",
        ),
        pytest.param(
            {"type": "OpenBadgeCredential"}, "no 'VerifiableCredential'", id="type"
        ),
        pytest.param({"issuer": None}, "has no issuer", id="no-issuer"),
        pytest.param(
            {"issuer": {"name": "Example University"}},
            "has no issuer",
            id="issuer-without-id",
        ),
        pytest.param({"issuer": 7}, "issuer is not a string", id="issuer-number"),
        pytest.param(
            {"issuer": {"id": 7}}, "issuer is not a string", id="issuer-id-number"
        ),
        pytest.param({"nbf": "2024-06-01"}, "'nbf' is not a number", id="nbf-string"),
        pytest.param({"exp": True}, "'exp' is not a number", id="exp-bool"),
        pytest.param({"iat": -1}, "outside 0", id="iat-negative"),
        pytest.param({"exp": 10**18}, "outside 0", id="exp-year-3e10"),
        # Past 64 bits the strict parser refuses the number itself.
        pytest.param({"exp": 10**20}, "out of range", id="exp-year-3e12"),
        pytest.param({"sub": 5}, "'sub' is not a string", id="sub-number"),
        pytest.param({"jti": {}}, "'jti' is not a string", id="jti-object"),
        pytest.param(
            {"iss": ["did:example:a"]}, "'iss' is not a string", id="iss-array"
        ),
    ],
)
def test_rejects_vc2_payload_that_is_not_a_credential(changes, message) -> None:
    credential = open_badge_v2(ED25519_KEY.did, **changes)
    credential = {
        name: value for name, value in credential.items() if value is not None
    }
    token = forge(header(ED25519_KEY), credential, ED25519_KEY.key)
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param({"iss": None}, "needs an 'iss' claim", id="no-iss"),
        pytest.param(
            {"vc": "a string"}, "needs a 'vc' claim that is an object", id="vc-string"
        ),
        pytest.param(
            {
                "vc": {
                    "@context": [jose.VC_V2_CONTEXT],
                    "type": ["VerifiableCredential"],
                }
            },
            "must be https://www.w3.org/2018/credentials/v1",
            id="vc2-inside-vc",
        ),
    ],
)
def test_rejects_vc11_payload_that_is_not_a_credential(claims, message) -> None:
    token = forge(
        header(ED25519_KEY, typ="JWT"),
        v1_claims(ED25519_KEY, **claims),
        ED25519_KEY.key,
    )
    with pytest.raises(MalformedCredentialError, match=message):
        peek(token)


def test_rejects_vc11_credential_subject_of_the_wrong_type() -> None:
    vc = open_badge_v1(ED25519_KEY.did, credentialSubject="did:example:learner")
    token = forge(
        header(ED25519_KEY, typ="JWT"), v1_claims(ED25519_KEY, vc), ED25519_KEY.key
    )
    with pytest.raises(MalformedCredentialError, match="not an object or an array"):
        peek(token)


# --- sign -----------------------------------------------------------------------------


def test_sign_refuses_kid_of_another_did() -> None:
    with pytest.raises(KeyBindingError, match="but the issuer is"):
        sign(open_badge_v2(ED25519_KEY.did), private_key=ATTACKER.key, kid=ATTACKER.kid)


def test_sign_refuses_kid_that_is_not_a_did_url() -> None:
    with pytest.raises(KeyBindingError, match="not a did url"):
        sign(open_badge_v2(ED25519_KEY.did), private_key=ED25519_KEY.key, kid="key-1")


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(ec.derive_private_key(5, ec.SECP521R1()), id="p521"),
        pytest.param(
            x25519.X25519PrivateKey.from_private_bytes(bytes(32)), id="x25519"
        ),
    ],
)
def test_sign_refuses_keys_without_an_allowed_alg(key) -> None:
    with pytest.raises(UnsupportedCryptosuiteError):
        sign(open_badge_v2(ED25519_KEY.did), private_key=key, kid=ED25519_KEY.kid)


@pytest.mark.parametrize(
    ("credential", "form", "message"),
    [
        pytest.param(
            ["not", "an", "object"], "vc+jwt", "not a json object", id="array"
        ),
        pytest.param(
            {"@context": [jose.VC_V2_CONTEXT]}, "vc+jwt", "no issuer", id="no-issuer"
        ),
        pytest.param(
            open_badge_v2(ED25519_KEY.did), "vc-1.1", "first @context", id="v2-as-v1.1"
        ),
        pytest.param(
            open_badge_v1(ED25519_KEY.did, issuanceDate="soon"),
            "vc-1.1",
            "xml schema",
            id="bad-date",
        ),
        pytest.param(
            open_badge_v2(ED25519_KEY.did, score=float("nan")),
            "vc+jwt",
            "not json",
            id="nan",
        ),
    ],
)
def test_sign_refuses_what_is_not_a_credential_of_its_form(credential, form, message):
    with pytest.raises(MalformedCredentialError, match=message):
        sign(credential, private_key=ED25519_KEY.key, kid=ED25519_KEY.kid, form=form)


# --- fuzzing: only VerificationError ever escapes -------------------------------------

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _never_raise_anything_else(token: object) -> None:
    for call in (
        lambda: peek(token),  # type: ignore[arg-type]  # hostile input
        lambda: verify(token, verification_method=ED25519_KEY.method),  # type: ignore[arg-type]  # hostile input
    ):
        with contextlib.suppress(VerificationError):
            call()


@FUZZ
@given(st.text(max_size=300))
def test_random_strings_raise_only_verification_errors(text: str) -> None:
    _never_raise_anything_else(text)


@FUZZ
@given(st.lists(st.text(alphabet="ABCDEFabcdef0123456789-_", max_size=40), max_size=4))
def test_random_base64url_segments_raise_only_verification_errors(parts) -> None:
    _never_raise_anything_else(".".join(parts))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_HEADER_VALUES = (
    st.sampled_from(
        [
            None,
            "EdDSA",
            "ES256",
            "none",
            "HS256",
            "vc+jwt",
            "JWT",
            "#0",
            ED25519_KEY.kid,
        ]
    )
    | _JSON
)
_CLAIM_NAMES = st.sampled_from(
    [
        "iss",
        "sub",
        "jti",
        "nbf",
        "exp",
        "iat",
        "vc",
        "issuer",
        "@context",
        "type",
        "credentialSubject",
        "issuanceDate",
        "id",
    ]
) | st.text(max_size=8)


@FUZZ
@given(
    header_members=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "cty", "iss", "jwk", "crit", "x"]),
        _HEADER_VALUES,
        max_size=6,
    ),
    claims=st.dictionaries(_CLAIM_NAMES, _JSON, max_size=8),
    keep_credential=st.booleans(),
)
def test_random_headers_and_claims_raise_only_verification_errors(
    header_members, claims, keep_credential
) -> None:
    base = open_badge_v2(ED25519_KEY.did) if keep_credential else {}
    payload = json.dumps({**base, **claims}, allow_nan=True).encode()
    token = forge(
        json.dumps(header_members, allow_nan=True).encode(), payload, ED25519_KEY.key
    )
    _never_raise_anything_else(token)
    _never_raise_anything_else(token.rsplit(".", 1)[0] + ".AAAA")
