"""Checks a registry answer and its evidence offline, against the registry key.

A registry answer (``GET /registry/v1/entities/{did}``, TRQP ``POST
/trqp/authorization`` or ``/trqp/recognition``; JSON, or a JWS by the registry
key with ``Accept: application/jwt``) carries its own evidence: the leaves it
rests on, each with an RFC 9162 inclusion proof to one C2SP signed checkpoint.
:func:`verify_answer_document` checks that evidence against nothing but the
registry's DID and key, and records each step as a named :class:`Check`:

1. *signed answer*: a JWS answer verifies with the registry key, has not
   expired, was issued by the registry and names the checkpoint it carries;
2. *query*: the answer is bound to the question asked (or, signed, to the
   question it answers);
3. *checkpoint*: the signed note verifies with the registry key under the key
   name and origin both equal to the registry DID (c2sp.org/tlog-checkpoint);
4. *tree size*: the evidence's ``treeSize`` is the checkpoint's;
5. *inclusion proofs*: every leaf, hashed as ``SHA-256(0x00 || entry)``, is in
   the tree of the checkpoint's root (RFC 9162 §2.1.3.2);
6. *completeness* and *genesis*: every leaf the answer names has evidence, and
   leaf 0 is the genesis of this registry;
7. *statement (leaf N)*: each statement's JWS verifies with its authority's
   key, resolved by the caller, and is addressed to this registry;
8. *answer matches statements*: the state is replayed from the evidence
   leaves alone (``registry.state``, the registry's own rules) and must give
   exactly the answer: every accreditation, status, chain and history of an
   entity answer, the decision of a TRQP answer.

What this does not do: prove that the registry left no statement out. The
evidence proves the leaves it holds are in the log the registry signed; a
revocation the registry omits from both the answer and the evidence goes
unseen here. Keeping checkpoints and demanding consistency proofs
(``registry.history``) makes such a lie permanent and provable (the omitted
leaf stays in the log), which is the transparency log's answer to it, together
with monitors that read the whole log. Statements by authorities whose DID
documents cannot be fetched (did:web while offline) are reported as not
checked, not as verified.

The checks are synchronous and pure; only resolving authorities' DID
documents, through the caller's function, does I/O. Fetching answers is
``registry.client``; remembering checkpoints is ``registry.history``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from registry.answers import query_sha256, verify_answer
from registry.checkpoint import Checkpoint, NoteVerifier, open_checkpoint
from registry.errors import (
    AnswerFormatError,
    AnswerSignatureError,
    CheckpointError,
    MerkleProofError,
    StateError,
    StatementError,
)
from registry.merkle import leaf_hash, verify_inclusion
from registry.models import GenesisEntry, StatementEntry
from registry.state import RegistryState
from registry.statements import peek_header, verify_statement
from registry.views import entity_json, parse_entry
from resolver import strictjson
from resolver.checks import Check, CheckStatus
from resolver.did import DID
from resolver.errors import ResolutionError
from resolver.multibase import b64_decode, b64_encode
from resolver.timefmt import format_time, parse_time

if TYPE_CHECKING:
    # Only for the report's annotation: registry.history imports this module.
    from registry.errors import SecurityError

__all__ = [
    "MAX_ANSWER_BYTES",
    "ConsistencyEvidence",
    "ResolveDocument",
    "VerificationReport",
    "decode_hash",
    "describe_error",
    "encode_hash",
    "parse_answer_text",
    "show_value",
    "verify_answer_document",
]

MAX_ANSWER_BYTES: Final = 8 << 20
"""Largest answer (or proof) body read from a server or a file, in bytes."""

ResolveDocument = Callable[[DID], Awaitable[dict[str, Any]]]
"""Resolves an authority's DID to its DID document."""

_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_HASH_B64_LEN: Final = 44
# Resolution errors that mean "this kid cannot be right", not "cannot look now".
_BAD_KID_ERRORS: Final = frozenset({"INVALID_DID", "INVALID_DID_DOCUMENT"})


# -- the report ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsistencyEvidence:
    """A consistency proof an answer carried (unverified until checked)."""

    first: int
    second: int
    proof: tuple[bytes, ...]


@dataclass
class VerificationReport:
    """Every check run on one answer, and what the caller needs next.

    Attributes:
        registry: The registry DID the answer was checked against.
        checks: The checks, in the order they ran.
        question: What the answer answers, for people (``None`` if unreadable).
        answer: The answer object (a signed answer's inner ``answer``).
        checkpoint: The checkpoint, once its signature verified.
        note: The signed note text of ``checkpoint``.
        consistency: A consistency proof the evidence carried, if well-formed.
        security_error: Set by :func:`check_history` on a rollback or fork.
    """

    registry: str
    checks: list[Check] = field(default_factory=list)
    question: str | None = None
    answer: dict[str, Any] | None = None
    checkpoint: Checkpoint | None = None
    note: str | None = None
    consistency: ConsistencyEvidence | None = None
    security_error: SecurityError | None = None

    @property
    def ok(self) -> bool:
        """True when the checkpoint verified, no check failed and no security error.

        Skipped checks count as neither: read ``checks`` to see them.
        """
        return (
            self.checkpoint is not None
            and self.security_error is None
            and all(c.status is not CheckStatus.FAILED for c in self.checks)
        )

    def add(
        self, name: str, status: CheckStatus, detail: str, leaf: int | None = None
    ) -> Check:
        """Record a check."""
        check = Check(name, status, detail, leaf)
        self.checks.append(check)
        return check

    def passed(self, name: str, detail: str, leaf: int | None = None) -> None:
        """Record a passed check."""
        self.add(name, CheckStatus.PASSED, detail, leaf)

    def failed(self, name: str, detail: str, leaf: int | None = None) -> None:
        """Record a failed check."""
        self.add(name, CheckStatus.FAILED, detail, leaf)

    def skipped(self, name: str, detail: str, leaf: int | None = None) -> None:
        """Record a check that was not run, and why."""
        self.add(name, CheckStatus.SKIPPED, detail, leaf)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (what ``didtrust registry verify --json`` prints)."""
        checkpoint: dict[str, Any] | None = None
        if self.checkpoint is not None:
            checkpoint = {
                "origin": self.checkpoint.origin,
                "size": self.checkpoint.size,
                "rootHash": encode_hash(self.checkpoint.root_hash),
            }
        return {
            "verified": self.ok,
            "registry": self.registry,
            "question": self.question,
            "checkpoint": checkpoint,
            "checks": [c.to_json() for c in self.checks],
            "securityError": (
                None if self.security_error is None else str(self.security_error)
            ),
        }


# -- parsing -----------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(
        strict=True, frozen=True, populate_by_name=True, extra="ignore"
    )


class _LeafEvidence(_Strict):
    entry: str = Field(max_length=256 * 1024)
    inclusion_proof: list[str] = Field(alias="inclusionProof", max_length=64)


class _ConsistencyEvidence(_Strict):
    first: int = Field(alias="from", ge=0)
    second: int = Field(alias="to", ge=0)
    proof: list[str] = Field(max_length=128)


class _Evidence(_Strict):
    checkpoint: str = Field(max_length=1 << 20)
    tree_size: int = Field(alias="treeSize", ge=0)
    leaves: dict[str, _LeafEvidence]
    consistency: _ConsistencyEvidence | None = None


def parse_answer_text(text: str) -> dict[str, Any] | str:
    """Read an answer as served: a JSON object, or a compact JWS.

    Raises:
        AnswerFormatError: neither.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = strictjson.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise AnswerFormatError(f"the answer is not valid json: {exc}") from None
        if not isinstance(value, dict):
            raise AnswerFormatError("the answer is not a json object")
        return value
    parts = stripped.split(".")
    if len(parts) == 3 and all(parts) and stripped.isascii() and " " not in stripped:
        return stripped
    raise AnswerFormatError("the answer is neither a json object nor a compact jws")


def encode_hash(data: bytes) -> str:
    """A hash in standard base64, as checkpoints and proofs carry it."""
    return b64_encode(data)


def decode_hash(text: object, what: str) -> bytes:
    """Decode a canonical standard-base64 SHA-256 hash, or raise ValueError."""
    if not isinstance(text, str) or len(text) != _HASH_B64_LEN:
        raise ValueError(f"{what} is not the base64 of a 32-byte hash")
    try:
        raw = b64_decode(text)
    except ValueError as err:
        raise ValueError(f"{what} is {err}") from None
    if len(raw) != 32:  # 44 characters without padding are 33 bytes
        raise ValueError(f"{what} is not the canonical base64 of a 32-byte hash")
    return raw


def show_value(value: object) -> str:
    """``value`` for a check's detail: JSON, cut at 100 characters."""
    text = json.dumps(value, ensure_ascii=False) if _is_json(value) else repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


def _is_json(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool | list | dict)


# -- what an answer is -------------------------------------------------------------

_TRQP_KINDS: Final = {"authorized": "authorization", "recognized": "recognition"}
_TRQP_FIELDS: Final = ("entity_id", "authority_id", "action", "resource")
_UNDERIVED_ENTITY_FIELDS: Final = frozenset({"registry", "timeEvaluated", "evidence"})


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: str
    """``entity``, ``authorization`` or ``recognition``."""
    question: str
    queries: tuple[dict[str, Any], ...]
    """The queries the server binds to this answer (``registry.http``)."""


def _shape(answer: Mapping[str, Any]) -> _Shape:
    """What ``answer`` answers, or raise ValueError."""
    if "accreditations" in answer:
        entity, at = answer.get("entity"), answer.get("at")
        if not isinstance(entity, str) or not isinstance(at, str):
            raise ValueError("an entity answer needs 'entity' and 'at' strings")
        if not isinstance(answer.get("accreditations"), list):
            raise ValueError("'accreditations' is not a list")
        query = {"type": "entity", "entity_id": entity, "at": at}
        return _Shape("entity", f"entity {entity} at {at}", (query,))
    for member, kind in _TRQP_KINDS.items():
        if member not in answer:
            continue
        if not isinstance(answer[member], bool):
            raise ValueError(f"{member!r} is not a boolean")
        values = {name: answer.get(name) for name in _TRQP_FIELDS}
        for name, value in values.items():
            if not isinstance(value, str):
                raise ValueError(f"a trqp answer needs a {name!r} string")
        if not isinstance(answer.get("time_evaluated"), str):
            raise ValueError("a trqp answer needs a 'time_evaluated' string")
        base: dict[str, Any] = {"type": kind, **values}
        context = answer.get("context")
        # The server binds the body as sent; an empty context is not echoed.
        queries: tuple[dict[str, Any], ...] = (
            ({**base, "context": context},)
            if context
            else (base, {**base, "context": {}})
        )
        at = answer.get("time_requested") or answer["time_evaluated"]
        question = (
            f"is {values['entity_id']} {member} for '{values['action']}' on "
            f"'{values['resource']}' under {values['authority_id']} at {at}"
        )
        return _Shape(kind, question, queries)
    raise ValueError("not an entity, authorization or recognition answer")


def _referenced_leaves(answer: Mapping[str, Any]) -> set[int]:
    """Every leaf index an entity answer names, or raise ValueError."""
    found: set[int] = set()

    def index(value: object, where: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where} is not a leaf index")
        found.add(value)

    def objects(value: object, where: str) -> list[Mapping[str, Any]]:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise ValueError(f"{where} is not a list of objects")
        return value

    for a, acc in enumerate(
        objects(answer.get("accreditations", []), "accreditations")
    ):
        index(acc.get("leaf"), f"accreditations[{a}].leaf")
        for h, event in enumerate(objects(acc.get("history", []), "history")):
            index(event.get("leaf"), f"accreditations[{a}].history[{h}].leaf")
        for c, link in enumerate(objects(acc.get("chain", []), "chain")):
            index(link.get("leaf"), f"accreditations[{a}].chain[{c}].leaf")
            leaves = link.get("leaves", [])
            if not isinstance(leaves, list):
                raise ValueError(f"accreditations[{a}].chain[{c}].leaves is not a list")
            for n in leaves:
                index(n, f"accreditations[{a}].chain[{c}].leaves")
    return found


# -- the checks --------------------------------------------------------------------


@dataclass
class _Leaf:
    raw: str
    proof: list[str]
    entry: GenesisEntry | StatementEntry | None = None
    error: str | None = None


async def verify_answer_document(
    answer: dict[str, Any] | str,
    *,
    registry_did: str,
    registry_key: bytes,
    now: datetime,
    resolve_document: ResolveDocument | None,
    query: Mapping[str, Any] | None = None,
) -> VerificationReport:
    """Check a registry answer and its evidence against the registry's key.

    Everything but resolving authorities' DID documents is pure and offline.

    Args:
        answer: The answer object, or a signed answer (compact JWS), as served.
        registry_did: The registry's DID (its checkpoint origin and key name).
        registry_key: The registry's raw 32-byte Ed25519 public key.
        now: The current instant (a signed answer's ``exp``).
        resolve_document: Resolves an authority's DID to its document, for
            statement signatures; ``None`` skips them ("not checked offline").
            Any exception it raises skips that statement's check, except an
            invalid DID or DID document, which fails it.
        query: The exact query the answer must be bound to, as the server
            binds it (``{"type": "entity", "entity_id", "at"}``, or
            ``{"type": "authorization" | "recognition", **trqp_body}``).

    Returns:
        The report; ``report.ok`` says whether to believe the answer (after
        :func:`check_history`, for the log's history).

    Raises:
        InvalidKeyError: ``registry_did`` cannot be a note key name or
            ``registry_key`` is not 32 bytes (bad arguments, not a bad answer).
    """
    verifier = NoteVerifier(registry_did, registry_key)
    report = VerificationReport(registry=registry_did)
    body = _open_answer(answer, report, registry_did, registry_key, now, query)
    if body is None:
        return report
    document, shape, evidence = body
    leaves = _check_log(document, shape, evidence, report, verifier, registry_did)
    if leaves is None:
        return report
    documents = await _resolve_authorities(leaves, resolve_document)
    _check_statements(leaves, documents, report, registry_did)
    _check_claims(document, shape, leaves, report)
    return report


def _open_answer(
    answer: dict[str, Any] | str,
    report: VerificationReport,
    registry_did: str,
    registry_key: bytes,
    now: datetime,
    query: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], _Shape, _Evidence] | None:
    """Checks (1) and (2): the signed wrapper, the format, the query."""
    payload: dict[str, Any] | None = None
    if isinstance(answer, str):
        try:
            parsed = parse_answer_text(answer)
        except AnswerFormatError as exc:
            report.failed("format", str(exc))
            return None
        if isinstance(parsed, dict):
            answer = parsed
    if isinstance(answer, str):
        payload = _check_signed(answer, report, registry_did, registry_key, now, query)
        if payload is None:
            return None
        document: dict[str, Any] = payload["answer"]
    else:
        report.skipped(
            "signed answer", "unsigned json answer: no expiry and no query binding"
        )
        document = answer
    try:
        shape = _shape(document)
        evidence = _Evidence.model_validate(document.get("evidence"))
    except (ValueError, ValidationError) as exc:
        report.failed("format", _first_error(exc))
        return None
    registry = document.get("registry")
    if registry is not None and registry != registry_did:
        report.failed("format", f"the answer is from {show_value(registry)}")
        return None
    report.question = shape.question
    report.answer = document
    form = "signed jws" if payload is not None else "json"
    report.passed("format", f"{shape.kind} answer ({form})")
    _check_query(shape, payload, query, report)
    if payload is not None and not _signed_matches(payload, document, shape, report):
        return None
    return document, shape, evidence


def _first_error(exc: ValueError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "evidence"
        return f"evidence.{where}: {first['msg'][:1].lower()}{first['msg'][1:]}"
    return str(exc)


def _check_signed(
    token: str,
    report: VerificationReport,
    registry_did: str,
    registry_key: bytes,
    now: datetime,
    query: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    name = "signed answer"
    try:
        payload = verify_answer(token, public_key=registry_key, now=now, query=query)
    except AnswerSignatureError as exc:
        report.failed(name, str(exc))
        return None
    if payload.get("iss") != registry_did:
        report.failed(
            name, f"issued by {show_value(payload.get('iss'))}, not the registry"
        )
        return None
    if not isinstance(payload.get("answer"), dict):
        report.failed(name, "the signed payload holds no answer object")
        return None
    exp = datetime.fromtimestamp(payload["exp"], UTC)
    report.passed(name, f"signed by the registry key, valid until {format_time(exp)}")
    return payload


def _signed_matches(
    payload: Mapping[str, Any],
    document: Mapping[str, Any],
    shape: _Shape,
    report: VerificationReport,
) -> bool:
    """The signed payload's checkpoint and instant are the answer's."""
    evidence = document.get("evidence") or {}
    cp = payload.get("checkpoint")
    problem = None
    if not isinstance(cp, dict):
        problem = "the signed payload names no checkpoint"
    elif cp.get("origin") != report.registry:
        problem = f"the signed checkpoint origin is {show_value(cp.get('origin'))}"
    elif cp.get("note") != evidence.get("checkpoint"):
        problem = "the signed checkpoint is not the one in the evidence"
    elif cp.get("size") != evidence.get("treeSize"):
        problem = (
            f"the signed checkpoint size {show_value(cp.get('size'))} is not the "
            f"evidence's tree size {show_value(evidence.get('treeSize'))}"
        )
    elif shape.kind == "entity" and payload.get("at") != document.get("at"):
        problem = (
            f"signed for the instant {show_value(payload.get('at'))}, "
            f"the answer is at {show_value(document.get('at'))}"
        )
    if problem is None:
        return True
    report.failed("signed checkpoint", problem)
    return False


def _check_query(
    shape: _Shape,
    payload: Mapping[str, Any] | None,
    query: Mapping[str, Any] | None,
    report: VerificationReport,
) -> None:
    name = "query"
    answered = {query_sha256(q) for q in shape.queries}
    if query is not None:
        # A signed answer's hash was already compared with query's.
        if query_sha256(query) in answered:
            report.passed(name, f"answers the query asked: {shape.question}")
        else:
            report.failed(name, f"answers another query: {shape.question}")
    elif payload is not None:
        if payload.get("query_sha256") in answered:
            report.passed(name, f"signed for the question it answers: {shape.question}")
        else:
            report.failed(name, "signed for another query than the one it answers")
    else:
        report.skipped(name, "unsigned answer and no query given to compare")


def _check_log(
    document: Mapping[str, Any],
    shape: _Shape,
    evidence: _Evidence,
    report: VerificationReport,
    verifier: NoteVerifier,
    registry_did: str,
) -> dict[int, _Leaf] | None:
    """Checks (3) to (7): checkpoint, tree size, inclusion, completeness, genesis."""
    try:
        cp = open_checkpoint(
            evidence.checkpoint.encode("utf-8"), verifier, origin=registry_did
        )
    except CheckpointError as exc:
        report.failed("checkpoint", str(exc))
        return None
    report.checkpoint = cp
    report.note = evidence.checkpoint
    report.passed(
        "checkpoint",
        f"signed by the registry key ({verifier.key_id.hex()}), origin ok, "
        f"size {cp.size}, root {encode_hash(cp.root_hash)}",
    )
    if evidence.tree_size == cp.size:
        report.passed("tree size", f"the evidence is for tree size {cp.size}")
    else:
        report.failed(
            "tree size",
            f"the evidence says tree size {evidence.tree_size}, "
            f"the checkpoint {cp.size}",
        )
    _read_consistency(evidence, cp, report)
    leaves = _check_inclusion(evidence, cp, report)
    if leaves is None:
        return None
    _check_completeness(document, shape, leaves, report)
    _check_genesis(leaves, report, registry_did)
    return leaves


def _read_consistency(
    evidence: _Evidence, cp: Checkpoint, report: VerificationReport
) -> None:
    consistency = evidence.consistency
    if consistency is None:
        return
    try:
        if consistency.second != cp.size:
            raise ValueError(
                f"it ends at size {consistency.second}, the checkpoint is {cp.size}"
            )
        proof = tuple(
            decode_hash(h, f"hash {i}") for i, h in enumerate(consistency.proof)
        )
    except ValueError as exc:
        report.failed("consistency proof", f"malformed: {exc}")
        return
    report.consistency = ConsistencyEvidence(consistency.first, cp.size, proof)


def _check_inclusion(
    evidence: _Evidence, cp: Checkpoint, report: VerificationReport
) -> dict[int, _Leaf] | None:
    name = "inclusion proofs"
    leaves: dict[int, _Leaf] = {}
    try:
        for key, item in evidence.leaves.items():
            if not _INDEX_RE.fullmatch(key):
                raise ValueError(f"{show_value(key)} is not a leaf index")
            index = int(key)
            proof = [
                decode_hash(h, f"leaf {index} proof hash {i}")
                for i, h in enumerate(item.inclusion_proof)
            ]
            hashed = leaf_hash(item.entry.encode("utf-8"))
            verify_inclusion(hashed, index, cp.size, proof, cp.root_hash)
            leaves[index] = _Leaf(item.entry, item.inclusion_proof)
    except (ValueError, MerkleProofError) as exc:
        report.failed(name, str(exc))
        return None
    if not leaves:
        report.failed(name, "the evidence holds no leaves")
        return None
    report.passed(
        name, f"{len(leaves)} leaves are in the log of size {cp.size} (rfc 9162)"
    )
    for index, leaf in leaves.items():
        try:
            leaf.entry = parse_entry(leaf.raw.encode("utf-8"))
        except ValueError as exc:
            leaf.error = f"leaf {index} is {exc}"
    return leaves


def _check_completeness(
    document: Mapping[str, Any],
    shape: _Shape,
    leaves: Mapping[int, _Leaf],
    report: VerificationReport,
) -> None:
    name = "completeness"
    try:
        named = {0} | (
            _referenced_leaves(document) if shape.kind == "entity" else set()
        )
    except ValueError as exc:
        report.failed(name, str(exc))
        return
    missing = sorted(named - set(leaves))
    if missing:
        shown = ", ".join(str(i) for i in missing[:10])
        report.failed(
            name,
            f"the answer names leaves without evidence: {shown}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""),
        )
        return
    report.passed(name, f"every leaf the answer names has evidence ({len(named)})")


def _check_genesis(
    leaves: Mapping[int, _Leaf], report: VerificationReport, registry_did: str
) -> None:
    name = "genesis"
    leaf = leaves.get(0)
    if leaf is None:
        report.failed(name, "leaf 0 (the genesis) is not in the evidence")
        return
    entry = leaf.entry
    if not isinstance(entry, GenesisEntry):
        report.failed(name, leaf.error or "leaf 0 is not a genesis entry")
        return
    if entry.registry != registry_did or entry.origin != registry_did:
        report.failed(
            name,
            f"leaf 0 is the genesis of {show_value(entry.registry)} "
            f"(origin {show_value(entry.origin)}), not of this registry",
        )
        return
    report.passed(
        name,
        f"leaf 0 founds this registry: root authority {entry.root}, "
        f"max depth {entry.max_depth}",
    )


async def _resolve_authorities(
    leaves: Mapping[int, _Leaf], resolve_document: ResolveDocument | None
) -> dict[str, dict[str, Any] | BaseException]:
    if resolve_document is None:
        return {}
    dids: dict[str, DID] = {}
    for leaf in leaves.values():
        if isinstance(leaf.entry, StatementEntry):
            with contextlib.suppress(StatementError):
                did = peek_header(leaf.entry.jws).kid.did
                dids[str(did)] = did
    results = await asyncio.gather(
        *(resolve_document(did) for did in dids.values()), return_exceptions=True
    )
    return dict(zip(dids, results, strict=True))


def _check_statements(
    leaves: Mapping[int, _Leaf],
    documents: Mapping[str, dict[str, Any] | BaseException],
    report: VerificationReport,
    registry_did: str,
) -> None:
    """Check (7): each statement's signature, by its authority's key."""
    for index in sorted(leaves):
        if index == 0:
            continue
        name = f"statement (leaf {index})"
        leaf = leaves[index]
        entry = leaf.entry
        if not isinstance(entry, StatementEntry):
            report.failed(name, leaf.error or "a second genesis entry", index)
            continue
        try:
            did = str(peek_header(entry.jws).kid.did)
        except StatementError as exc:
            report.failed(name, str(exc), index)
            continue
        document = documents.get(did)
        if document is None:
            report.skipped(name, f"not checked offline: {did} was not resolved", index)
            continue
        if isinstance(document, BaseException):
            if (
                isinstance(document, ResolutionError)
                and document.error_type in _BAD_KID_ERRORS
            ):
                report.failed(name, f"cannot resolve {did}: {document.detail}", index)
            else:
                why = describe_error(document)
                report.skipped(
                    name, f"not checked offline: cannot resolve {did}: {why}", index
                )
            continue
        try:
            verified = verify_statement(entry.jws, did_document=document)
        except StatementError as exc:
            report.failed(name, str(exc), index)
            continue
        claims = verified.claims
        if claims.aud != registry_did:
            report.failed(
                name, f"addressed to {show_value(claims.aud)}, not this registry", index
            )
            continue
        report.passed(
            name, f"{claims.act} of {claims.sub}, signed by {verified.vm_id}", index
        )


def describe_error(error: BaseException) -> str:
    """An error for a check's detail (a resolution error with its type)."""
    if isinstance(error, ResolutionError):
        return f"{error.error_type}: {error.detail}"
    return str(error) or type(error).__name__


def _check_claims(
    document: Mapping[str, Any],
    shape: _Shape,
    leaves: Mapping[int, _Leaf],
    report: VerificationReport,
) -> None:
    """Check (8): replay the evidence leaves and compare with the answer.

    An answer's leaves are every record of every DID its evaluation looked at,
    with their whole histories (``registry.state``), so replaying them alone,
    in log order, evaluates the question exactly as the full log does.
    """
    name = "answer matches statements"
    order = sorted(leaves)
    state = RegistryState()
    try:
        for position, index in enumerate(order):
            leaf = leaves[index]
            if leaf.entry is None:
                raise ValueError(leaf.error or f"leaf {index} is unreadable")
            state.apply(position, leaf.entry)
        if shape.kind == "entity":
            problem = _entity_difference(document, state, order)
            good = (
                "every accreditation, status and chain follows from the "
                f"{len(order)} leaves"
            )
        else:
            problem, good = _decision_difference(document, shape, state)
    except (ValueError, StateError) as exc:
        report.failed(name, f"the evidence cannot be replayed: {exc}")
        return
    if problem is None:
        report.passed(name, good)
    else:
        report.failed(name, problem)


def _entity_difference(
    document: Mapping[str, Any], state: RegistryState, order: Sequence[int]
) -> str | None:
    view = state.entity(document["entity"], parse_time(document["at"]))
    if view is None:
        return f"no statement in the evidence is about {document['entity']}"
    derived = entity_json(view)
    for acc in derived["accreditations"]:
        acc["leaf"] = order[acc["leaf"]]
        for event in acc["history"]:
            event["leaf"] = order[event["leaf"]]
        for link in acc["chain"]:
            link["leaf"] = order[link["leaf"]]
            link["leaves"] = [order[n] for n in link["leaves"]]
    claimed = {k: v for k, v in document.items() if k not in _UNDERIVED_ENTITY_FIELDS}
    return _first_difference(claimed, derived, "")


def _decision_difference(
    document: Mapping[str, Any], shape: _Shape, state: RegistryState
) -> tuple[str | None, str]:
    member = "authorized" if shape.kind == "authorization" else "recognized"
    at = parse_time(document.get("time_requested") or document["time_evaluated"])
    ask = state.authorized if shape.kind == "authorization" else state.recognized
    decision = ask(
        document["entity_id"],
        document["authority_id"],
        document["action"],
        document["resource"],
        at,
    )
    claimed = document[member]
    if bool(decision) != claimed:
        return (
            f"the answer says {member}={str(claimed).lower()}, the statements in "
            f"the evidence say {str(bool(decision)).lower()}: {decision.message}",
            "",
        )
    if decision:
        return None, f"the statements prove it: {decision.message}"
    return None, (
        "no chain in the evidence grants it (a refusal cannot be proven offline: "
        "a registry can leave statements out)"
    )


def _first_difference(claimed: Any, derived: Any, path: str) -> str | None:
    """Where the answer first departs from the replayed one, for people."""
    if isinstance(claimed, dict) and isinstance(derived, dict):
        for key in [*derived, *(k for k in claimed if k not in derived)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in claimed:
                return f"{where} is missing from the answer"
            if key not in derived:
                return f"{where} does not follow from any statement"
            found = _first_difference(claimed[key], derived[key], where)
            if found is not None:
                return found
        return None
    if isinstance(claimed, list) and isinstance(derived, list):
        if len(claimed) != len(derived):
            return (
                f"{path} has {len(claimed)} items, the statements give {len(derived)}"
            )
        for i, (a, b) in enumerate(zip(claimed, derived, strict=True)):
            found = _first_difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if type(claimed) is not type(derived) or claimed != derived:
        return (
            f"{path}: the answer says {show_value(claimed)}, "
            f"the statements say {show_value(derived)}"
        )
    return None
