"""registry.answercheck: offline verification of registry answers.

The answers are real (``tests.helpers.registry_answers``); every attack is a
registry re-signing what it serves with its own key.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import rfc8785

from registry.answercheck import parse_answer_text
from registry.answers import sign_answer
from registry.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from registry.errors import AnswerFormatError
from registry.identity import RegistryIdentity
from registry.statements import sign_statement
from resolver.checks import CheckStatus
from resolver.did import DID
from resolver.errors import InvalidDIDError, MethodNotSupportedError, NotFoundError
from resolver.timefmt import format_time, parse_time
from tests.helpers.encoding import b64 as b64url
from tests.helpers.registry_answers import (
    BOARD,
    IDENTITY,
    REGISTRY,
    ROOT,
    SCHOOL,
    TTL,
    UNI,
    World,
    check,
    entity_query,
    failed,
    jws_of,
    reforge,
    signing_key,
    trqp,
    verify,
    with_jws,
)

# -- answers that verify --------------------------------------------------------


async def test_verify_accepts_entity_answer_and_checks_every_leaf(world: World) -> None:
    report = await verify(world, world.copy("entity5"))
    assert report.ok, failed(report)
    assert check(report, "signed answer")[0] is CheckStatus.SKIPPED
    assert check(report, "query")[0] is CheckStatus.SKIPPED
    for name in (
        "format",
        "checkpoint",
        "tree size",
        "inclusion proofs",
        "completeness",
        "genesis",
        "answer matches statements",
    ):
        assert check(report, name)[0] is CheckStatus.PASSED, name
    statements = [c for c in report.checks if c.leaf is not None]
    assert [c.leaf for c in statements] == [1, 2, 3, 4]
    assert all(c.status is CheckStatus.PASSED for c in statements)
    assert "suspend of " + UNI.did in statements[2].detail
    assert report.checkpoint is not None
    assert report.checkpoint.size == 5
    assert report.question == f"entity {UNI.did} at {world.entity5['at']}"


async def test_verify_accepts_signed_entity_answer_bound_to_its_query(
    world: World,
) -> None:
    report = await verify(world, world.entity5_jws)
    assert report.ok, failed(report)
    status, detail = check(report, "signed answer")
    assert status is CheckStatus.PASSED
    assert "valid until" in detail
    status, detail = check(report, "query")
    assert status is CheckStatus.PASSED
    assert UNI.did in detail
    assert report.answer == world.entity5


async def test_verify_accepts_signed_answer_for_the_query_asked(world: World) -> None:
    query = entity_query(world.entity5)
    report = await verify(world, world.entity5_jws, query=query)
    assert report.ok, failed(report)
    assert check(report, "query") == (
        CheckStatus.PASSED,
        f"answers the query asked: entity {UNI.did} at {world.entity5['at']}",
    )


@pytest.mark.parametrize(
    ("name", "proof_says"),
    [
        ("authorized", "the statements prove it"),
        ("refused", "a refusal cannot be proven offline"),
        ("recognized", "the statements prove it"),
        ("root_entity", "follows from the 1 leaves"),
    ],
    ids=["authorized", "refused", "recognized", "root-authority"],
)
async def test_verify_accepts_trqp_and_root_answers(
    world: World, name: str, proof_says: str
) -> None:
    report = await verify(world, world.copy(name))
    assert report.ok, failed(report)
    status, detail = check(report, "answer matches statements")
    assert status is CheckStatus.PASSED
    assert proof_says in detail


async def test_verify_accepts_signed_trqp_answer(world: World) -> None:
    query = {"type": "authorization", **trqp(UNI)}
    report = await verify(world, world.authorized_jws, query=query)
    assert report.ok, failed(report)


async def test_verify_reads_answer_text(world: World) -> None:
    report = await verify(world, json.dumps(world.entity5))
    assert report.ok, failed(report)


async def test_verify_skips_statement_signatures_offline(world: World) -> None:
    report = await verify(world, world.copy("entity5"), resolve_document=None)
    assert report.ok, failed(report)
    statements = [c for c in report.checks if c.leaf is not None]
    assert len(statements) == 4
    assert all(c.status is CheckStatus.SKIPPED for c in statements)
    assert all("not checked offline" in c.detail for c in statements)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("gone"), CheckStatus.SKIPPED),
        (MethodNotSupportedError("offline"), CheckStatus.SKIPPED),
        (OSError("network down"), CheckStatus.SKIPPED),
        (InvalidDIDError("not a did"), CheckStatus.FAILED),
    ],
    ids=["not-found", "method-offline", "crash", "invalid-kid"],
)
async def test_verify_statement_check_when_resolution_fails(
    world: World, error: Exception, status: CheckStatus
) -> None:
    async def failing(did: DID) -> dict[str, Any]:
        raise error

    report = await verify(world, world.copy("entity5"), resolve_document=failing)
    statements = [c for c in report.checks if c.leaf is not None]
    assert {c.status for c in statements} == {status}
    assert report.ok is (status is CheckStatus.SKIPPED)


# -- the evidence ----------------------------------------------------------------


async def test_verify_rejects_tampered_leaf_entry(world: World) -> None:
    answer = world.copy("entity5")
    leaf = answer["evidence"]["leaves"]["2"]
    leaf["entry"] = leaf["entry"].replace(
        "2026-01-15T12:02:00Z", "2020-01-01T00:00:00Z"
    )
    assert leaf["entry"] != world.entity5["evidence"]["leaves"]["2"]["entry"]
    report = await verify(world, answer)
    assert not report.ok
    assert "leaf 2 does not lead to the root" in failed(report)["inclusion proofs"]


async def test_verify_rejects_truncated_inclusion_proof(world: World) -> None:
    answer = world.copy("entity5")
    answer["evidence"]["leaves"]["3"]["inclusionProof"].pop()
    report = await verify(world, answer)
    assert not report.ok
    assert (
        "inclusion proof has 2 hashes, expected 3" in failed(report)["inclusion proofs"]
    )


async def test_verify_rejects_evidence_whose_tree_size_is_not_the_checkpoints(
    world: World,
) -> None:
    answer = world.copy("entity5")
    answer["evidence"]["treeSize"] = 4
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {
        "tree size": "the evidence says tree size 4, the checkpoint 5"
    }


async def test_verify_rejects_checkpoint_from_another_origin(world: World) -> None:
    answer = world.copy("entity5")
    cp = report_checkpoint(world)
    # Signed by the registry's key under its own key name, for another log.
    note = sign_checkpoint(
        Checkpoint("did:web:other.example", cp.size, cp.root_hash),
        NoteSigner(REGISTRY, signing_key(100)),
    )
    answer["evidence"]["checkpoint"] = note.decode()
    report = await verify(world, answer)
    assert not report.ok
    assert report.checkpoint is None
    assert "origin 'did:web:other.example'" in failed(report)["checkpoint"]


async def test_verify_rejects_checkpoint_signed_by_another_key(world: World) -> None:
    answer = world.copy("entity5")
    cp = report_checkpoint(world)
    note = sign_checkpoint(cp, NoteSigner(REGISTRY, signing_key(99)))
    answer["evidence"]["checkpoint"] = note.decode()
    report = await verify(world, answer)
    assert not report.ok
    assert "none of 1 signatures is by a known key" in failed(report)["checkpoint"]


def report_checkpoint(world: World) -> Checkpoint:
    lines = world.entity5["evidence"]["checkpoint"].split("\n")
    return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2]))


@pytest.mark.parametrize(
    ("where", "leaf"),
    [
        (lambda a: a["accreditations"][0]["chain"][1], "1"),
        (lambda a: a["accreditations"][0]["history"][1], "3"),
        (None, "0"),
    ],
    ids=["chain-link", "history-event", "genesis"],
)
async def test_verify_rejects_answer_omitting_a_referenced_leaf(
    world: World, where: Any, leaf: str
) -> None:
    answer = world.copy("entity5")
    if where is not None:
        assert str(where(answer)["leaf"]) == leaf
    del answer["evidence"]["leaves"][leaf]
    report = await verify(world, answer)
    assert not report.ok
    problems = failed(report)
    if leaf == "0":
        assert problems["genesis"] == "leaf 0 (the genesis) is not in the evidence"
    assert problems["completeness"] == (
        f"the answer names leaves without evidence: {leaf}"
    )


async def test_verify_rejects_genesis_of_another_registry(world: World) -> None:
    genesis = json.loads(world.entries5[0])
    genesis["registry"] = genesis["origin"] = "did:web:other.example"
    answer = reforge(world, world.entity5, {0: rfc8785.dumps(genesis)})
    report = await verify(world, answer)
    assert not report.ok
    assert 'genesis of "did:web:other.example"' in failed(report)["genesis"]


# -- statements ------------------------------------------------------------------


def forged_signature_from_another_statement(world: World) -> bytes:
    head, payload, _ = jws_of(world.entries5[2]).split(".")
    other = jws_of(world.entries5[3]).split(".")[2]
    return with_jws(world.entries5[2], f"{head}.{payload}.{other}")


def widened_payload_under_old_signature(world: World) -> bytes:
    head, payload, signature = jws_of(world.entries5[2]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = {"actions": ["*"], "resources": ["*"]}
    forged = b64url(rfc8785.dumps(claims))
    return with_jws(world.entries5[2], f"{head}.{forged}.{signature}")


@pytest.mark.parametrize(
    "forge",
    [forged_signature_from_another_statement, widened_payload_under_old_signature],
    ids=["signature-swapped", "payload-widened"],
)
async def test_verify_rejects_statement_with_forged_signature(
    world: World, forge: Any
) -> None:
    answer = reforge(world, world.entity5, {2: forge(world)})
    report = await verify(world, answer)
    assert not report.ok
    # The registry re-signed everything: only the authority's signature tells.
    assert check(report, "checkpoint")[0] is CheckStatus.PASSED
    assert check(report, "inclusion proofs")[0] is CheckStatus.PASSED
    status, detail = check(report, "statement (leaf 2)")
    assert status is CheckStatus.FAILED
    assert detail == f"signature does not verify with key {BOARD.kid}"


async def test_verify_rejects_statement_meant_for_another_registry(
    world: World,
) -> None:
    claims = json.loads(
        base64.urlsafe_b64decode(jws_of(world.entries5[2]).split(".")[1] + "==")
    )
    claims["aud"] = "did:web:other-registry.example"
    jws = sign_statement(claims, private_key=BOARD.key, kid=BOARD.kid)
    answer = reforge(world, world.entity5, {2: with_jws(world.entries5[2], jws)})
    report = await verify(world, answer)
    assert not report.ok
    status, detail = check(report, "statement (leaf 2)")
    assert status is CheckStatus.FAILED
    assert detail == 'addressed to "did:web:other-registry.example", not this registry'


@pytest.mark.parametrize(
    ("lie", "expected"),
    [
        (
            lambda a: a["accreditations"][0].update(status="revoked"),
            'accreditations[0].status: the answer says "revoked", '
            'the statements say "active"',
        ),
        (
            lambda a: a["accreditations"][0].update(effective=False),
            "accreditations[0].effective: the answer says false, "
            "the statements say true",
        ),
        (
            lambda a: a["accreditations"][0]["chain"][1].update(authority=SCHOOL.did),
            "accreditations[0].chain[1].authority",
        ),
        (
            lambda a: a["accreditations"][0]["history"].pop(1),
            "accreditations[0].history has 2 items, the statements give 3",
        ),
        (
            lambda a: a["accreditations"][0]["scope"].update(resources=["*"]),
            "accreditations[0].scope.resources[0]",
        ),
        (lambda a: a.update(roles=["accreditor"]), "roles[0]"),
        (lambda a: a.update(isRoot=True), "isRoot"),
        (
            lambda a: a.update(invented="claim"),
            "invented does not follow from any statement",
        ),
    ],
    ids=[
        "status",
        "effective",
        "chain-authority",
        "history-dropped",
        "scope-widened",
        "role",
        "is-root",
        "extra-claim",
    ],
)
async def test_verify_rejects_answer_contradicting_its_statements(
    world: World, lie: Any, expected: str
) -> None:
    answer = world.copy("entity5")
    lie(answer)
    report = await verify(world, answer)
    assert not report.ok
    assert expected in failed(report)["answer matches statements"]


@pytest.mark.parametrize(
    ("name", "member", "says"),
    [
        (
            "refused",
            "authorized",
            "authorized=true, the statements in the evidence say false",
        ),
        (
            "authorized",
            "authorized",
            "authorized=false, the statements in the evidence say true",
        ),
        (
            "recognized",
            "recognized",
            "recognized=false, the statements in the evidence say true",
        ),
    ],
    ids=["refusal-turned-grant", "grant-turned-refusal", "recognition-denied"],
)
async def test_verify_rejects_trqp_decision_contradicting_its_statements(
    world: World, name: str, member: str, says: str
) -> None:
    answer = world.copy(name)
    answer[member] = not answer[member]
    report = await verify(world, answer)
    assert not report.ok
    assert says in failed(report)["answer matches statements"]


async def test_verify_rejects_grant_whose_chain_is_not_in_the_evidence(
    world: World,
) -> None:
    answer = world.copy("authorized")
    assert sorted(answer["evidence"]["leaves"], key=int) == ["0", "1", "2", "3", "4"]
    del answer["evidence"]["leaves"]["1"]  # the board's own accreditation
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {
        "answer matches statements": (
            "the answer says authorized=true, the statements in the evidence say "
            f"false: {UNI.did} is not authorized for 'issue' on 'Diploma' at "
            f"{answer['time_evaluated']}: accreditation by {BOARD.did} rests on: "
            f"{BOARD.did} holds no accreditation"
        )
    }


async def test_verify_rejects_evidence_leaf_that_is_a_second_genesis(
    world: World,
) -> None:
    answer = reforge(world, world.entity5, {3: world.entries5[0]})
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report)["statement (leaf 3)"] == "a second genesis entry"
    assert "cannot be replayed" in failed(report)["answer matches statements"]


# -- signed answers --------------------------------------------------------------


async def test_verify_rejects_expired_signed_answer(world: World) -> None:
    later = world.now + TTL + timedelta(seconds=1)
    report = await verify(world, world.entity5_jws, now=later)
    assert not report.ok
    assert failed(report) == {"signed answer": "signed answer has expired"}


async def test_verify_rejects_signed_answer_for_another_query(world: World) -> None:
    query = {"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]}
    report = await verify(world, world.entity5_jws, query=query)
    assert not report.ok
    assert failed(report) == {"signed answer": "signed answer is for another query"}


async def test_verify_rejects_signed_answer_by_another_key(world: World) -> None:
    impostor = RegistryIdentity.for_key(signing_key(99))
    token = sign_answer(
        world.entity5,
        identity=impostor,
        query=entity_query(world.entity5),
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 5,
            "note": world.entity5["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert "signed answer does not verify" in failed(report)["signed answer"]


async def test_verify_rejects_signed_answer_bound_to_another_checkpoint(
    world: World,
) -> None:
    # Signed by the registry itself, but the payload's checkpoint is not the
    # one the evidence's proofs lead to.
    token = sign_answer(
        world.entity5,
        identity=IDENTITY,
        query=entity_query(world.entity5),
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 6,
            "note": world.entity6["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert failed(report) == {
        "signed checkpoint": "the signed checkpoint is not the one in the evidence"
    }


async def test_verify_rejects_signed_answer_whose_hash_is_for_another_question(
    world: World,
) -> None:
    token = sign_answer(
        world.entity5,
        identity=IDENTITY,
        query={"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]},
        at=parse_time(world.entity5["at"]),
        evaluated=world.now,
        ttl=TTL,
        checkpoint={
            "origin": REGISTRY,
            "size": 5,
            "note": world.entity5["evidence"]["checkpoint"],
        },
    )
    report = await verify(world, token)
    assert not report.ok
    assert failed(report) == {
        "query": "signed for another query than the one it answers"
    }


async def test_verify_rejects_unsigned_answer_for_another_query(world: World) -> None:
    query = {"type": "entity", "entity_id": BOARD.did, "at": world.entity5["at"]}
    report = await verify(world, world.copy("entity5"), query=query)
    assert not report.ok
    assert failed(report) == {
        "query": f"answers another query: entity {UNI.did} at {world.entity5['at']}"
    }


async def test_verify_rejects_answer_from_another_registry(world: World) -> None:
    answer = world.copy("entity5")
    answer["registry"] = "did:web:other.example"
    report = await verify(world, answer)
    assert not report.ok
    assert failed(report) == {"format": 'the answer is from "did:web:other.example"'}


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda a: a.pop("evidence"), "evidence"),
        (lambda a: a["evidence"].update(treeSize="5"), "evidence.treeSize"),
        (
            lambda a: a["evidence"]["leaves"]["1"].update(inclusionProof="x"),
            "evidence.leaves.1.inclusionProof",
        ),
        (lambda a: a.pop("accreditations"), "not an entity, authorization"),
    ],
    ids=["no-evidence", "size-as-text", "proof-not-list", "unknown-answer"],
)
async def test_verify_rejects_malformed_answer(
    world: World, mangle: Any, expected: str
) -> None:
    answer = world.copy("entity5")
    mangle(answer)
    report = await verify(world, answer)
    assert not report.ok
    assert expected in failed(report)["format"]


@pytest.mark.parametrize(
    "text",
    ["", "[1, 2]", "{not json", "a.b", "a b.c.d"],
    ids=["empty", "json-array", "broken-json", "two-parts", "spaces"],
)
def test_parse_answer_text_rejects_what_is_no_answer(text: str) -> None:
    with pytest.raises(AnswerFormatError):
        parse_answer_text(text)


def test_duplicate_member_in_json_answer_refused() -> None:
    # Two "authorized" members: one reader of the text sees false, a parser
    # keeping the last value sees true.
    text = '{"authorized": false, "entity_id": "did:example:a", "authorized": true}'
    with pytest.raises(AnswerFormatError, match="duplicate member 'authorized'"):
        parse_answer_text(text)


def test_deeply_nested_json_answer_is_a_format_error() -> None:
    with pytest.raises(AnswerFormatError, match="not valid json"):
        parse_answer_text('{"a":' * 100_000)


def test_verify_refuses_bad_registry_key_as_programming_error(world: World) -> None:
    with pytest.raises(ValueError, match="not 32"):
        asyncio.run(verify(world, world.copy("entity5"), registry_key=b"short"))


def test_world_answers_are_what_the_service_serves(world: World) -> None:
    # Guards the fixtures the attacks start from.
    uni = world.entity5["accreditations"][0]
    assert [e["act"] for e in uni["history"]] == ["accredit", "suspend", "reinstate"]
    assert [link["authority"] for link in uni["chain"]] == [BOARD.did, ROOT.did]
    assert sorted(world.entity5["evidence"]["leaves"], key=int) == [
        "0",
        "1",
        "2",
        "3",
        "4",
    ]
    assert world.entity6_proof["evidence"]["consistency"]["from"] == 5
    assert world.authorized["authorized"] is True
    assert world.refused["authorized"] is False
    assert format_time(world.now) >= world.entity5["at"]
