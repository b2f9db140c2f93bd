"""The registry's vocabulary: statement payloads and log entries.

A *statement* is a compact JWS signed by an authority; its payload is a
``StatementClaims``. An *entry* is what the log stores as one Merkle leaf: the
JCS-canonical JSON of a ``LogEntry`` — either the genesis facts written at
``didtrust registry init`` or an accepted statement (its JWS verbatim) with the
instant the registry integrated it. The registry's state is a deterministic
replay of the entries (``registry.state``).

Wire format (JSON member names) is camelCase where the DESIGN names it so
(``validFrom``, ``validUntil``), otherwise JWT claim names (``iss``, ``sub``,
``act``, ``iat``, ``jti``, ``aud``).

This module does no I/O and no signature checking.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from resolver.did import DID
from resolver.multibase import b64url_decode
from resolver.timefmt import MAX_NUMERIC_DATE

__all__ = [
    "MAX_DEPTH",
    "STATEMENT_TYP",
    "Act",
    "GenesisEntry",
    "GovernanceFramework",
    "LogEntry",
    "Role",
    "Scope",
    "StatementClaims",
    "StatementEntry",
    "SubjectInfo",
    "Timestamp",
    "entry_json",
    "unverified_claims",
]

STATEMENT_TYP = "didtrust-statement+jwt"
"""The JWS ``typ`` header every statement must carry (explicit typing, RFC 8725)."""

MAX_DEPTH = 3
"""Default cap on the authority chain: root → accreditor → … → issuer."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("an instant needs an offset, e.g. Z")
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]
"""An aware instant, normalised to UTC."""

Token = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s]+$")
]
"""A non-empty identifier without white space (action, resource, jurisdiction)."""


class Act(StrEnum):
    """What a statement does to its subject's accreditation by its issuer."""

    ACCREDIT = "accredit"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REVOKE = "revoke"
    UPDATE = "update"


class Role(StrEnum):
    """What an accredited subject is: an accreditor may accredit others."""

    ACCREDITOR = "accreditor"
    ISSUER = "issuer"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Scope(_Frozen):
    """What a subject is accredited for. Scopes only narrow down a chain."""

    actions: tuple[Token, ...] = Field(min_length=1, max_length=50)
    """e.g. ``("issue",)`` for an issuer; an accreditor's actions are what it grants."""
    resources: tuple[Token, ...] = Field(min_length=1, max_length=200)
    """Credential types, e.g. ``("OpenBadgeCredential",)``; ``"*"`` means any."""
    jurisdictions: tuple[Token, ...] | None = Field(default=None, max_length=200)
    """ISO 3166 codes where the accreditation applies; ``None`` means anywhere."""

    def covers(self, other: Scope) -> bool:
        """True when every grant in ``other`` is within this scope."""

        def within(
            mine: tuple[str, ...] | None, theirs: tuple[str, ...] | None
        ) -> bool:
            if mine is None or "*" in mine:
                return True
            if theirs is None or "*" in theirs:
                return False
            return set(theirs) <= set(mine)

        return (
            within(self.actions, other.actions)
            and within(self.resources, other.resources)
            and within(self.jurisdictions, other.jurisdictions)
        )

    def allows(
        self, action: str, resource: str, jurisdiction: str | None = None
    ) -> bool:
        """True when ``action`` on ``resource`` (in ``jurisdiction``) is granted."""
        if "*" not in self.actions and action not in self.actions:
            return False
        if "*" not in self.resources and resource not in self.resources:
            return False
        if jurisdiction is None or self.jurisdictions is None:
            return True
        return "*" in self.jurisdictions or jurisdiction in self.jurisdictions


class SubjectInfo(_Frozen):
    """Public metadata about an accredited subject."""

    name: str | None = Field(default=None, max_length=300)
    url: str | None = Field(default=None, max_length=2000)
    domain: str | None = Field(default=None, max_length=253)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class StatementClaims(_Frozen):
    """The payload of a statement JWS, as signed by its issuing authority."""

    iss: DID
    """The authority making the statement; ``kid`` must be one of its keys."""
    sub: DID
    """The subject the statement is about."""
    act: Act
    aud: str = Field(min_length=1, max_length=2000)
    """The registry's DID: a statement for another registry is refused."""
    # Bounded at parse time, so no later arithmetic (float conversion,
    # datetime) can overflow on a number the signer chose ("iat": 10**400
    # once broke a whole write batch with an OverflowError).
    iat: int = Field(ge=0, le=MAX_NUMERIC_DATE)
    """Issued-at, seconds since the epoch (JWT NumericDate), before year 10000."""
    jti: str = Field(min_length=8, max_length=200)
    """Unique statement id: a replayed ``jti`` is refused."""
    role: Role | None = None
    """Required for ``accredit``."""
    scope: Scope | None = None
    """Required for ``accredit``; for ``update`` it replaces the scope (narrowing)."""
    valid_from: Timestamp | None = Field(default=None, alias="validFrom")
    """When the act takes effect (default: ``iat``)."""
    valid_until: Timestamp | None = Field(default=None, alias="validUntil")
    """When an accreditation ends by itself (``accredit``/``update`` only)."""
    subject: SubjectInfo | None = None
    """Subject metadata (``accredit``/``update``)."""
    reason: str | None = Field(default=None, max_length=1000)
    """Why (``suspend``/``revoke``/``reinstate``)."""


class GovernanceFramework(_Frozen):
    """The rules the registry operates under, pinned by digest."""

    uri: str = Field(min_length=1, max_length=2000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class GenesisEntry(_Frozen):
    """Leaf 0: who the registry is, who its root authority is, under which rules."""

    type: Literal["genesis"] = "genesis"
    v: Literal[1] = 1
    registry: str
    """The registry's DID."""
    origin: str
    """The checkpoint origin line (C2SP tlog-checkpoint)."""
    root: DID
    """The root authority, which holds every scope."""
    governance: GovernanceFramework
    max_depth: int = Field(default=MAX_DEPTH, ge=1, le=10, alias="maxDepth")
    integrated_time: Timestamp = Field(alias="integratedTime")


class StatementEntry(_Frozen):
    """An accepted statement: the JWS exactly as submitted, and when it was logged."""

    type: Literal["statement"] = "statement"
    v: Literal[1] = 1
    jws: str = Field(max_length=64 * 1024)
    """The compact JWS, verbatim (verify over these bytes, never a re-rendering)."""
    integrated_time: Timestamp = Field(alias="integratedTime")


LogEntry = Annotated[GenesisEntry | StatementEntry, Field(discriminator="type")]
"""One leaf of the log."""


def entry_json(entry: GenesisEntry | StatementEntry) -> dict[str, Any]:
    """The JSON object of an entry, by wire names (before JCS canonicalisation)."""
    return entry.model_dump(mode="json", by_alias=True, exclude_none=True)


def unverified_claims(jws: str) -> StatementClaims:
    """Read the claims of a compact JWS *without* checking its signature.

    For replaying the registry's own log, whose statements were verified when
    they were accepted. Anything that must trust a statement calls
    ``registry.statements.verify_statement`` instead.

    Raises:
        ValueError: not a compact JWS with a valid claims payload (pydantic's
            ``ValidationError`` is a ``ValueError``).
    """
    parts = jws.split(".")
    if len(parts) != 3:
        raise ValueError("a compact JWS has three parts")
    payload = parts[1]
    if not payload:
        raise ValueError("the payload is not base64url")
    try:
        raw = b64url_decode(payload)
    except ValueError as err:
        raise ValueError(f"the payload is not base64url: {err}") from None
    return StatementClaims.model_validate_json(raw)
