"""The credential verifier: one call, every check, an honest report.

For a Verifiable Credential (JSON-LD with Data Integrity proofs, or a compact
VC-JOSE/VC-JWT), it checks and reports one by one:

- ``format``: a credential the verifier can read (contexts, types, issuer);
- ``proof``: each proof (a proof set needs all of them) verifies over the
  credential as given;
- ``issuer resolved``: the verification method's DID resolves (through the
  project's resolver) and names the method under ``assertionMethod``;
- ``method bound to issuer``: the method belongs to the credential's issuer;
- ``validity``: ``validFrom``/``validUntil`` (1.1: ``issuanceDate``/
  ``expirationDate``; JWT ``nbf``/``exp``) hold now;
- ``status``: each ``credentialStatus`` entry (Bitstring Status List,
  StatusList2021), fetched through the hardened fetcher;
- ``accredited at issuance`` and ``accredited now``: the trust registry
  authorizes the issuer to issue this credential type, with the registry's
  signed answer attached.

A check fails with a message; it never raises for a bad credential. Only
input that is not a credential at all raises ``MalformedCredentialError``.
This module does no I/O of its own: resolution, the registry and status lists
are injected.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from resolver.checks import Check, CheckStatus
from resolver.did import DID
from resolver.errors import ResolutionError
from resolver.timefmt import format_time, parse_time
from verifier import jose
from verifier.dataintegrity import (
    check_proof_shape,
    proofs_of,
    public_key_for_suite,
    verify_proof,
)
from verifier.errors import MalformedCredentialError, VerificationError
from verifier.keys import find_verification_method
from verifier.status import StatusResult

__all__ = [
    "CredentialVerifier",
    "TrustRegistry",
    "VerificationReport",
]

ResolveDocument = Callable[[DID], Awaitable[dict[str, Any]]]
"""Resolves a DID to its document (raises ``ResolutionError``)."""

CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1"
CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
MAX_CREDENTIAL_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_TYPES = 32
"""Most entries of a ``type``, ``@type`` or ``@context`` array, anywhere in a
credential: real credentials name a handful; 7,101 of them in 63 KB once cost
0.26 s of CPU before any proof was looked at."""
_BOUNDED_ARRAYS = ("type", "@type", "@context")


@dataclass
class VerificationReport:
    """Every check made on one credential."""

    checks: list[Check] = field(default_factory=list)
    issuer: str | None = None
    issuer_name: str | None = None
    types: list[str] = field(default_factory=list)
    format: str = ""
    issued: str | None = None

    def add(
        self,
        name: str,
        status: CheckStatus,
        detail: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a check."""
        self.checks.append(Check(name, status, detail, data=data))

    @property
    def verified_proofs(self) -> bool:
        """True when at least one proof passed and none failed."""
        proofs = [c for c in self.checks if c.name == "proof"]
        return bool(proofs) and all(c.status is CheckStatus.PASSED for c in proofs)

    @property
    def verified(self) -> bool:
        """True when no check failed and at least one proof passed."""
        return not any(c.status is CheckStatus.FAILED for c in self.checks) and any(
            c.name == "proof" and c.status is CheckStatus.PASSED for c in self.checks
        )

    def to_json(self) -> dict[str, Any]:
        """The report in the VC API shape, plus the verdict and each check.

        ``checks`` names the checks that passed, ``warnings`` those skipped and
        ``errors`` those that failed (W3C VC API).
        """
        return {
            "verified": self.verified,
            "checks": sorted(
                {c.name for c in self.checks if c.status is CheckStatus.PASSED}
            ),
            "warnings": [
                f"{c.name}: {c.detail}"
                for c in self.checks
                if c.status is CheckStatus.SKIPPED
            ],
            "errors": [
                f"{c.name}: {c.detail}"
                for c in self.checks
                if c.status is CheckStatus.FAILED
            ],
            "format": self.format,
            "issuer": {"id": self.issuer, "name": self.issuer_name},
            "types": self.types,
            "issued": self.issued,
            "results": [c.to_json() for c in self.checks],
        }


class TrustRegistry(Protocol):
    """What the verifier asks the trust registry (a RegistryService fits)."""

    @property
    def root_authority(self) -> str:
        """The DID of the registry's root authority."""
        ...

    async def authorization(
        self, query: dict[str, Any], *, consistency_from: int | None = None
    ) -> dict[str, Any]:
        """A TRQP v2 authorization answer with evidence."""
        ...

    def sign_answer(
        self, answer: Mapping[str, Any], query: Mapping[str, Any], at: datetime
    ) -> str:
        """The answer as a JWS by the registry key."""
        ...


class StatusCheck(Protocol):
    """What the verifier asks the status list checker (a StatusChecker fits)."""

    async def check(
        self, credential_status: Any, *, now: datetime, issuer: str | None = None
    ) -> list[StatusResult]:
        """Each status entry's result."""
        ...


def _check_shape(document: Mapping[str, Any], *, max_depth: int | None) -> None:
    """Bound nesting and ``type``-like arrays in one walk over a credential.

    Nesting within ``max_depth`` (if given); no ``type``, ``@type`` or
    ``@context`` array over ``MAX_TYPES``, anywhere.

    Raises:
        MalformedCredentialError: the credential nests too deeply or such an
            array is longer.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        if max_depth is not None and depth > max_depth:
            raise MalformedCredentialError(f"credential nests deeper than {max_depth}")
        if isinstance(item, dict):
            for name in _BOUNDED_ARRAYS:
                value = item.get(name)
                if isinstance(value, list) and len(value) > MAX_TYPES:
                    raise MalformedCredentialError(
                        f"a {name!r} array has {len(value)} entries, over the"
                        f" limit of {MAX_TYPES}"
                    )
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _utf8_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON.

    Raises:
        MalformedCredentialError: a string holds a lone surrogate (an
            escaped U+D800 to U+DFFF parses as JSON but is no Unicode text;
            RFC 7493 §2.1). Left in, it would fail later where the
            credential's values are hashed (JCS of the registry query), far
            from the input.
    """
    try:
        return len(
            json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        )
    except UnicodeEncodeError:
        raise MalformedCredentialError(
            "the credential holds a lone surrogate (u+d800 to u+dfff), not text"
        ) from None


def _issuer_of(credential: Mapping[str, Any]) -> tuple[str | None, str | None]:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer, None
    if isinstance(issuer, dict):
        ident = issuer.get("id")
        name = issuer.get("name")
        return (ident if isinstance(ident, str) else None), (
            name if isinstance(name, str) else None
        )
    return None, None


def _types(credential: Mapping[str, Any]) -> list[str]:
    value = credential.get("type")
    items = value if isinstance(value, list) else [value]
    return [t for t in items if isinstance(t, str)]


class CredentialVerifier:
    """Verifies credentials: proofs, issuer binding, validity, status, trust.

    Args:
        resolve: Resolves a DID to its document.
        trust: The trust registry, or ``None`` (then trust checks are skipped).
        status: The status list checker, or ``None`` (then status is skipped).
        clock: Wall clock (seconds since the epoch).
    """

    def __init__(
        self,
        *,
        resolve: ResolveDocument,
        trust: TrustRegistry | None = None,
        status: StatusCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._resolve = resolve
        self._trust = trust
        self._status = status
        self._clock = clock
        self.outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
        """Verifications so far by (verdict, first failed check or ""); the
        verdict is ``verified``, ``not_verified`` or ``malformed`` (metrics)."""

    def now(self) -> datetime:
        """The current instant."""
        return datetime.fromtimestamp(self._clock(), UTC)

    async def verify(self, credential: Any) -> VerificationReport:
        """Check ``credential`` (a JSON object, or a compact JWS string).

        Raises:
            MalformedCredentialError: it is neither a JSON object nor a
                compact JWS, or it is too large, too deeply nested or holds
                a lone surrogate.
        """
        try:
            report = await self._verify(credential)
        except MalformedCredentialError:
            self.outcomes["malformed", ""] += 1
            raise
        failed = next(
            (c.name for c in report.checks if c.status is CheckStatus.FAILED), ""
        )
        self.outcomes["verified" if report.verified else "not_verified", failed] += 1
        return report

    async def _verify(self, credential: Any) -> VerificationReport:
        now = self.now()
        report = VerificationReport()
        if isinstance(credential, str):
            document = await self._verify_jose(credential, report, now)
            if document is None:
                return report
        elif isinstance(credential, dict):
            _check_shape(credential, max_depth=MAX_DEPTH)
            size = _utf8_size(credential)
            if size > MAX_CREDENTIAL_BYTES:
                raise MalformedCredentialError(
                    f"credential is {size} bytes, over the limit of "
                    f"{MAX_CREDENTIAL_BYTES}"
                )
            document = credential
            report.format = "data-integrity"
            if not self._check_format(document, report):
                return report
            await self._verify_data_integrity(document, report, now)
        else:
            raise MalformedCredentialError(
                "a credential is a JSON object or a compact JWS"
            )
        self._check_validity(document, report, now)
        if report.verified_proofs:
            await self._check_status(document, report, now)
        elif document.get("credentialStatus") is not None:
            # Only a credential whose proofs hold may make this server fetch
            # anything: otherwise anyone could have it fetch URLs of their choice.
            report.add(
                "status", CheckStatus.SKIPPED, "not checked: the proof did not verify"
            )
        await self._check_trust(report, now)
        return report

    @property
    def status_checker(self) -> StatusCheck | None:
        """The status list checker in use, if any."""
        return self._status

    def use_status(self, status: StatusCheck) -> None:
        """Set the status checker.

        It is built after the verifier, whose ``check_secured`` it uses to
        verify status list credentials.
        """
        self._status = status

    async def check_secured(self, credential: dict[str, Any]) -> None:
        """Require a credential's own proofs and issuer binding to hold.

        For credentials a verification depends on, such as status lists: no
        status, validity or trust checks of their own.

        Raises:
            VerificationError: a proof or the binding does not hold.
        """
        report = VerificationReport(format="data-integrity")
        if self._check_format(credential, report):
            await self._verify_data_integrity(credential, report, self.now())
        failed = [c for c in report.checks if c.status is not CheckStatus.PASSED]
        if failed or not report.verified:
            reasons = "; ".join(f"{c.name}: {c.detail}" for c in failed) or "no proof"
            raise VerificationError(reasons)

    # -- format ----------------------------------------------------------------

    def _check_format(
        self, credential: Mapping[str, Any], report: VerificationReport
    ) -> bool:
        contexts = credential.get("@context")
        first = contexts[0] if isinstance(contexts, list) and contexts else contexts
        problems = []
        if first not in (CONTEXT_V1, CONTEXT_V2):
            problems.append("the first @context is not the VC v1 or v2 context")
        report.types = _types(credential)
        if "VerifiableCredential" not in report.types:
            problems.append("type does not include VerifiableCredential")
        report.issuer, report.issuer_name = _issuer_of(credential)
        if report.issuer is None:
            problems.append("no issuer id")
        if "credentialSubject" not in credential:
            problems.append("no credentialSubject")
        if problems:
            report.add("format", CheckStatus.FAILED, "; ".join(problems))
            return False
        version = "2.0" if first == CONTEXT_V2 else "1.1"
        report.add(
            "format", CheckStatus.PASSED, f"a VC Data Model {version} credential"
        )
        return True

    # -- proofs ----------------------------------------------------------------

    async def _verify_data_integrity(
        self, credential: dict[str, Any], report: VerificationReport, now: datetime
    ) -> None:
        try:
            proofs = proofs_of(credential)
        except VerificationError as exc:
            report.add("proof", CheckStatus.FAILED, str(exc))
            return
        if not proofs:
            report.add("proof", CheckStatus.FAILED, "the credential has no proof")
            return
        for number, proof in enumerate(proofs, start=1):
            label = {"proof": number} if len(proofs) > 1 else None
            await self._verify_one_proof(credential, proof, report, now, label)

    async def _verify_one_proof(
        self,
        credential: dict[str, Any],
        proof: dict[str, Any],
        report: VerificationReport,
        now: datetime,
        label: Mapping[str, Any] | None,
    ) -> None:
        try:
            info = check_proof_shape(proof, expected_purpose="assertionMethod", now=now)
        except VerificationError as exc:
            report.add("proof", CheckStatus.FAILED, str(exc), label)
            return
        kid = info.verification_method_url
        method = await self._method(kid.did, info.verification_method, report, label)
        if method is None:
            report.add(
                "proof", CheckStatus.SKIPPED, "the key could not be obtained", label
            )
            return
        try:
            key = public_key_for_suite(method, info.suite.name)
            verify_proof(credential, proof, public_key=key)
        except VerificationError as exc:
            report.add("proof", CheckStatus.FAILED, f"{info.suite.name}: {exc}", label)
        else:
            report.add(
                "proof",
                CheckStatus.PASSED,
                f"{info.suite.name} signature by {info.verification_method} verifies",
                label,
            )
        self._check_binding(kid.did, report, label)

    async def _method(
        self,
        did: DID,
        kid: str,
        report: VerificationReport,
        label: Mapping[str, Any] | None,
    ) -> dict[str, Any] | None:
        """Resolve ``did`` and find ``kid`` under assertionMethod (records checks)."""
        try:
            document = await self._resolve(did)
        except ResolutionError as exc:
            report.add(
                "issuer resolved",
                CheckStatus.FAILED,
                f"{did} does not resolve: {exc.error_type}: {exc.detail}",
                label,
            )
            return None
        try:
            method = find_verification_method(document, kid, "assertionMethod")
        except VerificationError as exc:
            report.add("issuer resolved", CheckStatus.FAILED, str(exc), label)
            return None
        report.add(
            "issuer resolved",
            CheckStatus.PASSED,
            f"{did} resolved; {kid} is an assertionMethod",
            label,
        )
        return method

    def _check_binding(
        self,
        method_did: DID,
        report: VerificationReport,
        label: Mapping[str, Any] | None,
    ) -> None:
        if report.issuer == method_did:
            report.add(
                "method bound to issuer",
                CheckStatus.PASSED,
                f"the key belongs to the issuer {report.issuer}",
                label,
            )
        else:
            report.add(
                "method bound to issuer",
                CheckStatus.FAILED,
                f"the key belongs to {method_did}, not to the issuer {report.issuer}",
                label,
            )

    async def _verify_jose(
        self, token: str, report: VerificationReport, now: datetime
    ) -> dict[str, Any] | None:
        report.format = "jose"
        try:
            header = jose.peek(token)
        except VerificationError as exc:
            report.add("proof", CheckStatus.FAILED, str(exc))
            return None
        kid = header.kid
        method = await self._method(kid.did, str(kid), report, None)
        if method is None:
            report.add("proof", CheckStatus.SKIPPED, "the key could not be obtained")
            return None
        try:
            verified = jose.verify(token, verification_method=method)
        except VerificationError as exc:
            report.add("proof", CheckStatus.FAILED, f"{header.alg}: {exc}")
            return None
        report.format = verified.form
        report.add(
            "proof",
            CheckStatus.PASSED,
            f"{verified.form} {verified.alg} signature by {kid}",
        )
        credential = verified.credential
        # Depth was bounded when the payload was parsed.
        _check_shape(credential, max_depth=None)
        if not self._check_format(credential, report):
            return None
        if report.issuer != verified.issuer:
            report.add(
                "method bound to issuer",
                CheckStatus.FAILED,
                f"iss {verified.issuer} and issuer {report.issuer} disagree",
            )
            return credential
        self._check_binding(kid.did, report, None)
        self._check_jwt_window(verified.nbf, verified.exp, report, now)
        return credential

    def _check_jwt_window(
        self,
        nbf: datetime | None,
        exp: datetime | None,
        report: VerificationReport,
        now: datetime,
    ) -> None:
        if nbf is None and exp is None:
            return
        if nbf is not None and now < nbf:
            report.add(
                "validity",
                CheckStatus.FAILED,
                f"JWT not valid before {format_time(nbf)}",
            )
        elif exp is not None and now >= exp:
            report.add(
                "validity", CheckStatus.FAILED, f"JWT expired at {format_time(exp)}"
            )
        else:
            report.add("validity", CheckStatus.PASSED, "within the JWT's nbf/exp")

    # -- validity --------------------------------------------------------------

    def _check_validity(
        self, credential: Mapping[str, Any], report: VerificationReport, now: datetime
    ) -> None:
        start_name, end_name = (
            ("validFrom", "validUntil")
            if "validFrom" in credential or "issuanceDate" not in credential
            else ("issuanceDate", "expirationDate")
        )
        try:
            start = _instant(credential.get(start_name), start_name)
            end = _instant(credential.get(end_name), end_name)
        except ValueError as exc:
            report.add("validity", CheckStatus.FAILED, str(exc))
            return
        if start is not None:
            report.issued = format_time(start)
        if start is not None and now < start:
            report.add(
                "validity", CheckStatus.FAILED, f"not valid before {format_time(start)}"
            )
        elif end is not None and now >= end:
            report.add("validity", CheckStatus.FAILED, f"expired at {format_time(end)}")
        else:
            span = (
                f"valid from {format_time(start) if start else 'the start'}"
                f" until {format_time(end) if end else 'further notice'}"
            )
            report.add("validity", CheckStatus.PASSED, span)

    # -- status ----------------------------------------------------------------

    async def _check_status(
        self, credential: Mapping[str, Any], report: VerificationReport, now: datetime
    ) -> None:
        entries = credential.get("credentialStatus")
        if entries is None:
            return
        if self._status is None:
            report.add(
                "status", CheckStatus.SKIPPED, "status lists are not checked here"
            )
            return
        try:
            results = await self._status.check(entries, now=now, issuer=report.issuer)
        except VerificationError as exc:
            report.add("status", CheckStatus.FAILED, str(exc))
            return
        for result in results:
            data = {
                "statusListCredential": result.list_url,
                "statusListIndex": result.index,
            }
            if not result.supported:
                report.add(
                    "status",
                    CheckStatus.SKIPPED,
                    f"status not checked: unsupported type {result.type}",
                    data,
                )
            elif result.set:
                message = f" ({result.message})" if result.message else ""
                report.add(
                    "status",
                    CheckStatus.FAILED,
                    f"{result.purpose} bit is set{message}",
                    data,
                )
            else:
                report.add("status", CheckStatus.PASSED, f"not {result.purpose}", data)

    # -- trust -----------------------------------------------------------------

    async def _check_trust(self, report: VerificationReport, now: datetime) -> None:
        if self._trust is None:
            for name in ("accredited at issuance", "accredited now"):
                report.add(
                    name, CheckStatus.SKIPPED, "no trust registry on this server"
                )
            return
        issuer = report.issuer
        resources = [t for t in report.types if t != "VerifiableCredential"] or [
            "VerifiableCredential"
        ]
        if issuer is None:
            return
        instants = []
        if report.issued is not None:
            instants.append(("accredited at issuance", parse_time(report.issued)))
        else:
            report.add(
                "accredited at issuance",
                CheckStatus.SKIPPED,
                "the credential has no issuance date",
            )
        instants.append(("accredited now", now))
        authority = self._trust.root_authority
        for name, at in instants:
            answer: dict[str, Any] | None = None
            for resource in resources:
                query = {
                    "entity_id": issuer,
                    "authority_id": authority,
                    "action": "issue",
                    "resource": resource,
                    "context": {"time": format_time(at)},
                }
                answer = await self._trust.authorization(query)
                if answer.get("authorized"):
                    break
            if answer is None:  # pragma: no cover - resources is never empty
                continue
            signed = self._trust.sign_answer(
                answer, {"type": "authorization", **query}, at
            )
            status = (
                CheckStatus.PASSED if answer.get("authorized") else CheckStatus.FAILED
            )
            report.add(
                name,
                status,
                str(answer.get("message", "")),
                {"registryAnswer": signed, "resource": query["resource"]},
            )


def _instant(value: Any, name: str) -> datetime | None:
    """A credential date: the credential path reads no offset as UTC."""
    if value is None:
        return None
    try:
        return parse_time(value, grammar="xsd")
    except ValueError:
        raise ValueError(
            f"{name} is not an RFC 3339 date-time: {str(value)[:60]!r}"
        ) from None
