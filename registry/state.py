"""The registry's state: who is accredited for what, when — replayed from the log.

``RegistryState`` is a deterministic function of the log's entries: leaf 0 (the
``GenesisEntry``) names the root authority and the depth cap, and every later
leaf is an accepted statement that ``apply`` folds in, in index order. The state
answers time-travel queries (``entity``, ``authorized``, ``recognized``,
``can_accredit``, ``list_entities``) for any instant ``at``; every answer names
the leaf indices it rests on, so the service can attach inclusion proofs.

Semantics (docs/adr/0004-registry-rules.md):

- An *accreditation* is keyed by (authority, subject) = (``iss``, ``sub``) of
  the ``accredit`` statement. A revoked pair may be accredited again; that opens
  a new record and keeps the old one (history is never erased).
- A record is *active* at ``t`` when ``validFrom <= t < validUntil``, no
  suspension window covers ``t`` and no revocation took effect at or before
  ``t``. It is *effective* when, besides, its authority is the root or is itself
  effectively accredited as an accreditor at ``t``, through a chain of at most
  ``max_depth`` links (the chain rule). Authorization, recognition and the
  power to accredit also check the scope at every link of the chain, so
  narrowing an accreditor narrows everything under it from then on.
- ``update`` patches scope, ``validUntil`` and subject metadata from its
  effective time on; each field at ``t`` comes from the latest patch (by
  effective time, then leaf) in force at ``t``.

This module is pure and synchronous: no I/O, no clock (every query takes an
explicit instant), no signature checking (``apply`` reads stored JWS payloads
with ``unverified_claims``: they were verified when accepted). Whether a
statement *may* be accepted — audience, replay, freshness, the issuer's
authority — is ``registry.rules``; this module only refuses entries that
cannot be applied to the state at all (``InconsistentEntryError``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from registry.errors import (
    EntryOrderError,
    InconsistentEntryError,
    InvalidCursorError,
    RefusalKind,
)
from registry.models import (
    Act,
    GenesisEntry,
    Role,
    Scope,
    StatementClaims,
    StatementEntry,
    SubjectInfo,
    unverified_claims,
)
from resolver.multibase import b64url_decode, b64url_encode
from resolver.timefmt import format_time

__all__ = [
    "GRANT_ACTION",
    "AccreditationStatus",
    "AccreditationView",
    "ChainLink",
    "Decision",
    "EntityView",
    "HistoryEvent",
    "Plan",
    "RegistryState",
    "effective_time",
    "scope_text",
]

GRANT_ACTION = "accredit"
"""The scope action an accreditor needs to accredit (or act on) anyone."""

_MAX_REASONS = 8
"""At most this many reasons per chain level in a refusal message."""

_MAX_EXPLAINED = 32
"""At most this many DIDs are explained in one refusal message."""


class AccreditationStatus(StrEnum):
    """The status of one accreditation record at an instant (chain not considered)."""

    PENDING = "pending"
    """Before its ``validFrom``."""
    ACTIVE = "active"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    """At or after its ``validUntil``."""
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One statement in an accreditation's history."""

    act: Act
    at: datetime
    """When it takes effect (see ``effective_time``)."""
    leaf: int
    """The log index of the statement."""
    recorded_at: datetime
    """When the registry integrated the statement."""
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One accreditation on a chain to the root, as it stood at the query instant."""

    authority: str
    subject: str
    role: Role
    scope: Scope
    leaf: int
    """The leaf of the ``accredit`` statement that created it."""
    leaves: tuple[int, ...]
    """Every leaf of its history (accredit, updates, suspensions, …)."""


@dataclass(frozen=True, slots=True)
class AccreditationView:
    """One accreditation of an entity, as it stood at the query instant."""

    authority: str
    subject: str
    role: Role
    scope: Scope
    """The scope in force at the instant."""
    valid_from: datetime
    """As claimed by the authority (may precede ``recorded_at``)."""
    valid_until: datetime | None
    """In force at the instant; ``None`` means open-ended."""
    recorded_at: datetime
    """When the registry integrated the ``accredit`` statement."""
    leaf: int
    status: AccreditationStatus
    status_since: datetime | None
    """Start of the suspension or revocation, ``validFrom`` or ``validUntil``."""
    reason: str | None
    """The reason given for a suspension or revocation in force."""
    history: tuple[HistoryEvent, ...]
    """Every statement about this record, in leaf order."""
    chain: tuple[ChainLink, ...]
    """This accreditation, then its authority's, … up to one granted by the
    root; empty when the record is not effective at the instant."""

    @property
    def effective(self) -> bool:
        """True when active and chained to the root at the instant."""
        return bool(self.chain)


@dataclass(frozen=True, slots=True)
class EntityView:
    """Everything the registry says about one DID at one instant."""

    did: str
    at: datetime
    is_root: bool
    roles: tuple[Role, ...]
    """Roles of the accreditations effective at the instant."""
    accreditations: tuple[AccreditationView, ...]
    """Every accreditation record of the DID (also past ones), by leaf."""
    subject: SubjectInfo | None
    """The latest subject metadata in force at the instant."""
    leaves: tuple[int, ...]
    """Every leaf the answer depends on, sorted."""


@dataclass(frozen=True, slots=True)
class Decision:
    """A yes/no answer with a precise message and the leaves it rests on."""

    authorized: bool
    message: str
    leaves: tuple[int, ...]
    chain: tuple[ChainLink, ...] = ()
    """The chain that grants it, entity first (empty when refused or root)."""

    def __bool__(self) -> bool:
        return self.authorized


@dataclass(frozen=True, slots=True)
class Plan:
    """What applying a statement would do (see ``RegistryState.plan``)."""

    act: Act
    effective_at: datetime
    """The statement's effective time (a reinstatement is further clamped to
    the start of the suspension it ends, per record)."""
    targets: tuple[tuple[str, str], ...]
    """The (authority, subject) accreditations it applies to."""


def _instant(iat: int) -> datetime:
    return datetime.fromtimestamp(iat, UTC)


def effective_time(claims: StatementClaims) -> datetime:
    """When a statement takes effect.

    ``validFrom`` or else ``iat``. Accreditations may be backdated (recording
    an accreditation that began in 2015). Suspensions, revocations and updates
    may not: their effective time is never before ``iat``, so a backdated
    revocation cannot silently invalidate what was issued in between.

    Raises:
        OverflowError: ``iat`` is beyond the year 9999.
    """
    iat = _instant(claims.iat)
    eff = claims.valid_from or iat
    if claims.act in (Act.SUSPEND, Act.REVOKE, Act.UPDATE):
        return max(eff, iat)
    return eff


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("an instant needs a time zone, e.g. UTC")
    return at.astimezone(UTC)


def _quote(values: tuple[str, ...] | None) -> str:
    return "*" if values is None else ",".join(values)


def scope_text(scope: Scope) -> str:
    """A short rendering of a scope for messages."""
    return (
        f"actions={_quote(scope.actions)} resources={_quote(scope.resources)} "
        f"jurisdictions={_quote(scope.jurisdictions)}"
    )


def _grants(scope: Scope) -> bool:
    return "*" in scope.actions or GRANT_ACTION in scope.actions


@dataclass(slots=True)
class _Patch:
    at: datetime
    leaf: int
    scope: Scope | None
    valid_until: datetime | None
    subject: SubjectInfo | None


@dataclass(slots=True)
class _Suspension:
    start: HistoryEvent
    end: HistoryEvent | None = None


@dataclass(slots=True)
class _Record:
    """One accreditation: mutable inside the state, never handed out."""

    authority: str
    subject: str
    role: Role
    scope: Scope
    valid_from: datetime
    valid_until: datetime | None
    info: SubjectInfo | None
    recorded_at: datetime
    leaf: int
    events: list[HistoryEvent]
    # Most records are never updated or suspended: no empty lists for them
    # (fewer objects for the garbage collector to track at 100,000 records).
    patches: list[_Patch] | None = None
    suspensions: list[_Suspension] | None = None
    revoked: HistoryEvent | None = None
    latest_scope: Scope | None = None
    """The last scope set, in leaf order (updates may only narrow it)."""

    def scope_now(self) -> Scope:
        return self.latest_scope or self.scope

    def open_suspension(self) -> _Suspension | None:
        """The suspension not yet ended by a reinstatement, if any."""
        if self.suspensions is None or self.suspensions[-1].end is not None:
            return None
        return self.suspensions[-1]

    def scope_at(self, t: datetime) -> Scope:
        best, key = self.scope, (self.valid_from, -1)
        for p in self.patches or ():
            if p.scope is not None and p.at <= t and (p.at, p.leaf) > key:
                best, key = p.scope, (p.at, p.leaf)
        return best

    def valid_until_at(self, t: datetime) -> datetime | None:
        best, key = self.valid_until, (self.valid_from, -1)
        for p in self.patches or ():
            if p.valid_until is not None and p.at <= t and (p.at, p.leaf) > key:
                best, key = p.valid_until, (p.at, p.leaf)
        return best

    def status_at(
        self, t: datetime
    ) -> tuple[AccreditationStatus, datetime | None, str | None]:
        """The record's own status at ``t``, when it began, and the reason."""
        if self.revoked is not None and self.revoked.at <= t:
            return AccreditationStatus.REVOKED, self.revoked.at, self.revoked.reason
        if t < self.valid_from:
            return AccreditationStatus.PENDING, self.valid_from, None
        until = self.valid_until_at(t)
        if until is not None and t >= until:
            return AccreditationStatus.EXPIRED, until, None
        for s in reversed(self.suspensions or ()):
            if s.start.at <= t and (s.end is None or t < s.end.at):
                return AccreditationStatus.SUSPENDED, s.start.at, s.start.reason
        return AccreditationStatus.ACTIVE, self.valid_from, None

    def leaves(self) -> tuple[int, ...]:
        return tuple(e.leaf for e in self.events)

    def link(self, t: datetime) -> ChainLink:
        return ChainLink(
            authority=self.authority,
            subject=self.subject,
            role=self.role,
            scope=self.scope_at(t),
            leaf=self.leaf,
            leaves=self.leaves(),
        )


@dataclass(frozen=True, slots=True)
class _Check:
    """What every link of a chain must satisfy, besides being active.

    Links above the first are always accreditor accreditations.
    """

    leaf_role: Role | None = None
    """Role the first link (the entity's own accreditation) must grant."""
    leaf_grants: bool = False
    """The first link must include the action ``accredit``."""
    allows: tuple[str, str, str | None] | None = None
    """Every link must allow this (action, resource, jurisdiction)."""
    covers: Scope | None = None
    """Every link must cover this scope."""
    resource: str | None = None
    """Every link must name this resource (or ``*``)."""


_STATUS_ONLY = _Check()


def _status_failure(rec: _Record, t: datetime) -> str | None:
    status, since, reason = rec.status_at(t)
    if status is AccreditationStatus.ACTIVE:
        return None
    assert since is not None  # noqa: S101 -- every non-active status has a start
    when = format_time(since)
    why = f": {reason}" if reason else ""
    if status is AccreditationStatus.REVOKED:
        return f"was revoked at {when}{why}"
    if status is AccreditationStatus.SUSPENDED:
        return f"was suspended at {when}{why}"
    if status is AccreditationStatus.PENDING:
        return f"is not valid before {when}"
    return f"expired at {when}"


def _link_failure(rec: _Record, t: datetime, check: _Check, leaf: bool) -> str | None:
    """Why ``rec`` cannot be this link of a chain at ``t`` (``None``: it can)."""
    failure = _status_failure(rec, t)
    if failure is not None:
        return failure
    role = check.leaf_role if leaf else Role.ACCREDITOR
    if role is not None and rec.role is not role:
        return f"grants the role {rec.role.value}, not {role.value}"
    scope = rec.scope_at(t)
    if leaf and check.leaf_grants and not _grants(scope):
        return f"does not include the action '{GRANT_ACTION}'"
    if check.allows is not None:
        action, resource, jurisdiction = check.allows
        if not scope.allows(action, resource, jurisdiction):
            where = f" in '{jurisdiction}'" if jurisdiction is not None else ""
            return f"does not allow '{action}' on '{resource}'{where}"
    if check.covers is not None and not scope.covers(check.covers):
        return f"does not cover {scope_text(check.covers)} (it has {scope_text(scope)})"
    if check.resource is not None and not (
        "*" in scope.resources or check.resource in scope.resources
    ):
        return f"does not cover the resource '{check.resource}'"
    return None


_Chain = tuple[_Record, ...]
_MemoKey = tuple[str, int, str | None, bool]


class RegistryState:
    """The accreditations replayed from the log, queried at explicit instants.

    Build it with ``from_entries`` or ``apply`` entries one by one in index
    order. Not thread-safe; cheap to query (dicts keyed by DID): an entity
    query costs O(chain depth * records * history), ``apply`` O(1) amortised
    (a root act on a DID with no root accreditation touches that DID's
    records). ``list_entities`` scans a DID index sorted lazily on first use
    after new subjects arrived.
    """

    def __init__(self) -> None:
        self._genesis: GenesisEntry | None = None
        self._size = 0
        self._jti: set[str] = set()
        self._current: dict[tuple[str, str], _Record] = {}
        self._by_subject: dict[str, list[_Record]] = {}
        self._sorted: list[str] = []
        self._unsorted: list[str] = []
        self._scopes: dict[Scope, Scope] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def from_entries(
        cls, entries: Iterable[GenesisEntry | StatementEntry]
    ) -> RegistryState:
        """Replay a log from leaf 0.

        Raises:
            EntryOrderError: the first entry is not a genesis, or a later one is.
            InconsistentEntryError: an entry cannot be applied (a corrupt log).
        """
        state = cls()
        for index, entry in enumerate(entries):
            state.apply(index, entry)
        return state

    @property
    def size(self) -> int:
        """Number of entries applied (the genesis included)."""
        return self._size

    @property
    def genesis(self) -> GenesisEntry:
        """Leaf 0.

        Raises:
            EntryOrderError: no entry was applied yet.
        """
        if self._genesis is None:
            raise EntryOrderError("the registry has no genesis entry yet")
        return self._genesis

    @property
    def root(self) -> str:
        """The root authority's DID.

        Raises:
            EntryOrderError: no entry was applied yet.
        """
        return str(self.genesis.root)

    @property
    def max_depth(self) -> int:
        """The cap on chain length (the root is depth 0).

        Raises:
            EntryOrderError: no entry was applied yet.
        """
        return self.genesis.max_depth

    def seen_jti(self, jti: str) -> bool:
        """True when an applied statement carried this ``jti``."""
        return jti in self._jti

    def apply(self, index: int, entry: GenesisEntry | StatementEntry) -> None:
        """Fold the accepted entry at log ``index`` into the state.

        Signatures are not checked (the entry was verified when accepted). On
        any error the state is left unchanged.

        Raises:
            EntryOrderError: ``index`` is not ``size`` (a gap or a repeat), or
                a genesis is not at index 0, or index 0 is not a genesis.
            InconsistentEntryError: the statement cannot be applied: its
                payload is unreadable, its ``jti`` was seen, or its transition
                is impossible in this state.
        """
        if index != self._size:
            raise EntryOrderError(f"entry {index} applied, expected entry {self._size}")
        if isinstance(entry, GenesisEntry):
            if index != 0:
                raise EntryOrderError(f"a genesis entry at index {index}, not 0")
            self._genesis = entry
            self._size = 1
            return
        if index == 0:
            raise EntryOrderError("entry 0 must be the genesis entry")
        try:
            claims = unverified_claims(entry.jws)
        except ValueError as e:
            raise InconsistentEntryError(
                f"entry {index}: unreadable statement: {e}", RefusalKind.INVALID
            ) from e
        if claims.jti in self._jti:
            raise InconsistentEntryError(
                f"entry {index}: jti {claims.jti!r} was already used",
                RefusalKind.CONFLICT,
            )
        try:
            plan, records = self._plan(claims)
        except OverflowError as e:
            raise InconsistentEntryError(
                f"entry {index}: iat {claims.iat} is out of range", RefusalKind.INVALID
            ) from e
        self._commit(index, entry.integrated_time, claims, plan, records)

    def plan(self, claims: StatementClaims) -> Plan:
        """What applying these claims would do, without changing anything.

        Checks what the state alone decides: the statement makes sense, the
        transition is possible, the target exists. It does not check who the
        issuer is allowed to act as (``registry.rules`` does).

        Raises:
            InconsistentEntryError: the statement cannot be applied; ``kind``
                says why.
            EntryOrderError: no genesis yet.
            OverflowError: ``iat`` is beyond the year 9999.
        """
        return self._plan(claims)[0]

    def _plan(self, claims: StatementClaims) -> tuple[Plan, list[_Record]]:
        root = self.root
        iss, sub, act = str(claims.iss), str(claims.sub), claims.act
        eff = effective_time(claims)
        self._check_shape(claims, root, eff)
        if act is Act.ACCREDIT:
            current = self._current.get((iss, sub))
            if current is not None and current.revoked is None:
                raise InconsistentEntryError(
                    f"{sub} is already accredited by {iss} (leaf {current.leaf});"
                    " use update",
                    RefusalKind.CONFLICT,
                )
            return Plan(act, eff, ((iss, sub),)), []
        records = self._targets(claims, root)
        if act is Act.UPDATE:
            self._check_update(claims, records)
        return Plan(act, eff, tuple((r.authority, sub) for r in records)), records

    @staticmethod
    def _check_shape(claims: StatementClaims, root: str, eff: datetime) -> None:
        """Refuse statements that make no sense whatever the state."""
        act = claims.act

        def invalid(message: str) -> InconsistentEntryError:
            return InconsistentEntryError(message, RefusalKind.INVALID)

        if claims.iss == claims.sub:
            raise invalid(f"iss and sub are both {claims.iss}: no self-accreditation")
        if act is Act.ACCREDIT:
            if claims.sub == root:
                raise invalid("the root authority cannot be accredited")
            if claims.role is None or claims.scope is None:
                raise invalid("accredit needs a role and a scope")
            if claims.valid_until is not None and claims.valid_until <= eff:
                raise invalid(
                    f"validUntil {format_time(claims.valid_until)} is not after"
                    f" validFrom {format_time(eff)}"
                )
        elif act is Act.UPDATE:
            if claims.role is not None:
                raise invalid("update cannot change the role: revoke and accredit")
            if (claims.scope, claims.valid_until, claims.subject) == (None, None, None):
                raise invalid(
                    "update changes nothing: give scope, validUntil or subject"
                )
        else:
            extra = [
                name
                for name, value in (
                    ("role", claims.role),
                    ("scope", claims.scope),
                    ("validUntil", claims.valid_until),
                    ("subject", claims.subject),
                )
                if value is not None
            ]
            if extra:
                raise invalid(f"{act.value} takes no {', '.join(extra)}")

    def _targets(self, claims: StatementClaims, root: str) -> list[_Record]:
        """The records a suspend/reinstate/revoke/update applies to."""
        iss, sub, act = str(claims.iss), str(claims.sub), claims.act
        own = self._current.get((iss, sub))
        if own is not None and (iss != root or own.revoked is None):
            self._check_transition(act, own)
            return [own]
        if iss != root:
            raise InconsistentEntryError(
                f"{iss} holds no accreditation of {sub} to {act.value}",
                RefusalKind.NOT_AUTHORIZED,
            )
        # The root acts on every live accreditation of sub when it holds none
        # itself: it is the authority of last resort over the whole registry.
        live = [
            r
            for r in self._by_subject.get(sub, ())
            if r.revoked is None and self._current[(r.authority, sub)] is r
        ]
        if not live:
            raise InconsistentEntryError(
                f"{sub} holds no live accreditation to {act.value}",
                RefusalKind.CONFLICT,
            )
        able = [r for r in live if self._transition_failure(act, r) is None]
        if not able:
            failure = self._transition_failure(act, live[0])
            assert failure is not None  # noqa: S101 -- live[0] is not in able
            raise InconsistentEntryError(failure, RefusalKind.CONFLICT)
        return able

    @staticmethod
    def _transition_failure(act: Act, rec: _Record) -> str | None:
        name = f"accreditation of {rec.subject} by {rec.authority}"
        if rec.revoked is not None:
            return (
                f"cannot {act.value}: the {name} was revoked at"
                f" {format_time(rec.revoked.at)} (leaf {rec.revoked.leaf})"
            )
        suspension = rec.open_suspension()
        if act is Act.SUSPEND and suspension is not None:
            start = suspension.start
            return (
                f"cannot suspend: the {name} is suspended since"
                f" {format_time(start.at)} (leaf {start.leaf})"
            )
        if act is Act.REINSTATE and suspension is None:
            return f"cannot reinstate: the {name} is not suspended"
        return None

    def _check_transition(self, act: Act, rec: _Record) -> None:
        failure = self._transition_failure(act, rec)
        if failure is not None:
            raise InconsistentEntryError(failure, RefusalKind.CONFLICT)

    @staticmethod
    def _check_update(claims: StatementClaims, records: list[_Record]) -> None:
        for rec in records:
            if claims.scope is not None and not rec.scope_now().covers(claims.scope):
                raise InconsistentEntryError(
                    f"update widens the scope of {rec.subject} by {rec.authority}:"
                    f" {scope_text(claims.scope)} is not within"
                    f" {scope_text(rec.scope_now())}",
                    RefusalKind.SCOPE_WIDENING,
                )
            if claims.valid_until is not None and claims.valid_until <= rec.valid_from:
                raise InconsistentEntryError(
                    f"validUntil {format_time(claims.valid_until)} is not after"
                    f" validFrom {format_time(rec.valid_from)}",
                    RefusalKind.INVALID,
                )

    def _commit(
        self,
        index: int,
        recorded: datetime,
        claims: StatementClaims,
        plan: Plan,
        records: list[_Record],
    ) -> None:
        """Mutate the state; everything that could fail was checked by ``_plan``."""
        act, eff = plan.act, plan.effective_at
        self._jti.add(claims.jti)
        self._size = index + 1
        if act is Act.ACCREDIT:
            assert claims.role is not None  # noqa: S101 -- checked by _check_shape
            assert claims.scope is not None  # noqa: S101 -- checked by _check_shape
            iss, sub = str(claims.iss), str(claims.sub)
            rec = _Record(
                authority=iss,
                subject=sub,
                role=claims.role,
                scope=self._intern(claims.scope),
                valid_from=eff,
                valid_until=claims.valid_until,
                info=claims.subject,
                recorded_at=recorded,
                leaf=index,
                events=[HistoryEvent(act, eff, index, recorded, claims.reason)],
            )
            self._current[(iss, sub)] = rec
            if sub in self._by_subject:
                self._by_subject[sub].append(rec)
            else:
                self._by_subject[sub] = [rec]
                self._unsorted.append(sub)
            return
        scope = None if claims.scope is None else self._intern(claims.scope)
        for rec in records:
            suspension = rec.open_suspension()
            at = eff
            if act is Act.REINSTATE:
                assert suspension is not None  # noqa: S101 -- checked by _targets
                # A reinstatement never ends a suspension before it began: "reinstate
                # now" then simply cancels a suspension scheduled for later.
                at = max(eff, suspension.start.at)
            event = HistoryEvent(act, at, index, recorded, claims.reason)
            rec.events.append(event)
            if act is Act.SUSPEND:
                if rec.suspensions is None:
                    rec.suspensions = []
                rec.suspensions.append(_Suspension(event))
            elif act is Act.REINSTATE:
                assert suspension is not None  # noqa: S101 -- checked by _targets
                suspension.end = event
            elif act is Act.REVOKE:
                rec.revoked = event
            else:
                patch = _Patch(at, index, scope, claims.valid_until, claims.subject)
                if rec.patches is None:
                    rec.patches = []
                rec.patches.append(patch)
                if scope is not None:
                    rec.latest_scope = scope

    def _intern(self, scope: Scope) -> Scope:
        # 100,000 issuers usually share a handful of scopes: keep one copy each.
        return self._scopes.setdefault(scope, scope)

    # ------------------------------------------------------------------- chains

    def _chain_from(
        self,
        did: str,
        t: datetime,
        check: _Check,
        through: str | None,
        budget: int,
        leaf: bool,
        memo: dict[_MemoKey, _Chain | None],
        seen: set[int],
    ) -> _Chain | None:
        """The shortest chain of records from ``did`` up to the root, if any.

        ``through``: an authority the chain must pass (``None``: any).
        ``budget``: links still allowed. ``seen`` collects every leaf examined.
        The budget strictly decreases, so cycles terminate; memoisation keeps
        the search polynomial when DIDs hold several accreditations.
        """
        key = (did, budget, through, leaf)
        if key in memo:
            return memo[key]
        best: _Chain | None = None
        if budget > 0:
            for rec in self._by_subject.get(did, ()):
                seen.update(rec.leaves())
                if _link_failure(rec, t, check, leaf) is not None:
                    continue
                rest = self._above(rec, t, check, through, budget, memo, seen)
                if rest is not None and (best is None or len(rest) + 1 < len(best)):
                    best = (rec, *rest)
        memo[key] = best
        return best

    def _above(
        self,
        rec: _Record,
        t: datetime,
        check: _Check,
        through: str | None,
        budget: int,
        memo: dict[_MemoKey, _Chain | None],
        seen: set[int],
    ) -> _Chain | None:
        """The chain above ``rec`` (its authority's), ``()`` when granted by root."""
        need = None if through == rec.authority else through
        if rec.authority == self.root:
            return () if need is None else None
        return self._chain_from(
            rec.authority, t, check, need, budget - 1, False, memo, seen
        )

    def _explain(
        self,
        did: str,
        t: datetime,
        check: _Check,
        budget: int,
        leaf: bool,
        visiting: frozenset[str],
        work: list[int],
    ) -> list[str]:
        """Why no chain from ``did`` reaches the root at ``t``, one reason a record.

        ``work`` counts the DIDs explained so far: past ``_MAX_EXPLAINED`` the
        explanation stops, which bounds both the time and the message length
        (each call's text is embedded once in its parent's).
        """
        if work[0] >= _MAX_EXPLAINED:
            return ["(further reasons omitted)"]
        work[0] += 1
        records = self._by_subject.get(did, ())
        if not records:
            return [f"{did} holds no accreditation"]
        reasons: list[str] = []
        for rec in records:
            auth = rec.authority
            failure = _link_failure(rec, t, check, leaf)
            if failure is not None:
                reasons.append(f"accreditation by {auth} {failure}")
            elif auth == self.root:
                continue
            elif budget <= 1:
                reasons.append(
                    f"accreditation by {auth} is past the depth cap of {self.max_depth}"
                )
            elif auth in visiting:
                reasons.append(f"accreditation by {auth} loops back to {auth}")
            else:
                inner = self._explain(
                    auth, t, check, budget - 1, False, visiting | {did}, work
                )
                reasons.append(f"accreditation by {auth} rests on: {_join(inner)}")
        return reasons or [f"{did} has no chain to the root"]

    def _decide(
        self,
        entity: str,
        authority: str,
        at: datetime,
        check: _Check,
        verb: str,
        what: str,
    ) -> Decision:
        t = _aware(at)
        when = format_time(t)
        if entity == self.root:
            return Decision(
                False, f"{entity} is the root authority, not an accredited entity", (0,)
            )
        if entity not in self._by_subject:
            return Decision(False, "not registered", (0,))
        through = None if authority == self.root else authority
        seen: set[int] = {0}
        chain = self._chain_from(
            entity, t, check, through, self.max_depth, True, {}, seen
        )
        if chain is not None:
            leaves = sorted({0, *(n for r in chain for n in r.leaves())})
            path = " ← ".join([entity, *(r.authority for r in chain)])
            return Decision(
                True,
                f"{entity} is {verb} for {what} at {when}: {path}",
                tuple(leaves),
                tuple(r.link(t) for r in chain),
            )
        if through is not None:
            other = self._chain_from(
                entity, t, check, None, self.max_depth, True, {}, seen
            )
            if other is not None:
                path = " ← ".join([entity, *(r.authority for r in other)])
                return Decision(
                    False,
                    f"{entity} is {verb} for {what} at {when} only through {path},"
                    f" not under {authority}",
                    tuple(sorted(seen)),
                )
        reasons = self._explain(
            entity, t, check, self.max_depth, True, frozenset(), [0]
        )
        return Decision(
            False,
            f"{entity} is not {verb} for {what} at {when}: {_join(reasons)}",
            tuple(sorted(seen)),
        )

    # ------------------------------------------------------------------ queries

    def authorized(
        self,
        entity_id: str,
        authority_id: str,
        action: str,
        resource: str,
        at: datetime,
        jurisdiction: str | None = None,
    ) -> Decision:
        """TRQP authorization: may the entity do ``action`` on ``resource`` at ``at``?

        True iff the entity is effectively accredited at ``at`` through a chain
        to the root that passes ``authority_id`` (the root, or any accreditor
        on the chain), every link of which allows ``action`` on ``resource``
        (in ``jurisdiction``, if given). An unknown entity is refused with the
        message ``"not registered"``.

        Raises:
            ValueError: ``at`` has no time zone.
            EntryOrderError: no genesis yet.
        """
        where = f" in '{jurisdiction}'" if jurisdiction is not None else ""
        check = _Check(allows=(action, resource, jurisdiction))
        return self._decide(
            str(entity_id),
            str(authority_id),
            at,
            check,
            "authorized",
            f"'{action}' on '{resource}'{where}",
        )

    def recognized(
        self,
        entity_id: str,
        authority_id: str,
        action: str,
        resource: str,
        at: datetime,
    ) -> Decision:
        """TRQP recognition: is the entity an accreditor recognised under the authority?

        True iff ``entity_id`` holds an accreditor accreditation effective at
        ``at`` through a chain passing ``authority_id``, every link of which
        allows ``action`` on ``resource``.

        Raises:
            ValueError: ``at`` has no time zone.
            EntryOrderError: no genesis yet.
        """
        check = _Check(leaf_role=Role.ACCREDITOR, allows=(action, resource, None))
        return self._decide(
            str(entity_id),
            str(authority_id),
            at,
            check,
            "recognized",
            f"'{action}' on '{resource}'",
        )

    def can_accredit(
        self, authority_id: str, at: datetime, scope: Scope | None = None
    ) -> Decision:
        """May ``authority_id`` accredit (or act on its accreditations) at ``at``?

        True for the root. Otherwise it needs an effective accreditor
        accreditation whose scope includes the action ``accredit`` (or ``*``),
        and, when ``scope`` is given, every link of its chain must cover it.
        ``len(decision.chain)`` is then the authority's depth (shortest chain).

        Raises:
            ValueError: ``at`` has no time zone.
            EntryOrderError: no genesis yet.
        """
        authority = str(authority_id)
        if authority == self.root:
            return Decision(True, f"{authority} is the root authority", (0,))
        what = "accrediting" if scope is None else f"accrediting {scope_text(scope)}"
        check = _Check(leaf_role=Role.ACCREDITOR, leaf_grants=True, covers=scope)
        return self._decide(authority, self.root, at, check, "authorized", what)

    def entity(self, did: str, at: datetime) -> EntityView | None:
        """Everything about ``did`` at ``at``, or ``None`` if it was never accredited.

        Raises:
            ValueError: ``at`` has no time zone.
            EntryOrderError: no genesis yet.
        """
        t = _aware(at)
        did = str(did)
        if did == self.root:
            return EntityView(did, t, True, (), (), None, (0,))
        records = self._by_subject.get(did)
        if records is None:
            return None
        memo: dict[_MemoKey, _Chain | None] = {}
        seen: set[int] = {0}
        views: list[AccreditationView] = []
        roles: set[Role] = set()
        for rec in records:
            seen.update(rec.leaves())
            chain: _Chain = ()
            if _link_failure(rec, t, _STATUS_ONLY, True) is None:
                above = self._above(
                    rec, t, _STATUS_ONLY, None, self.max_depth, memo, seen
                )
                if above is not None:
                    chain = (rec, *above)
                    roles.add(rec.role)
            status, since, reason = rec.status_at(t)
            views.append(
                AccreditationView(
                    authority=rec.authority,
                    subject=did,
                    role=rec.role,
                    scope=rec.scope_at(t),
                    valid_from=rec.valid_from,
                    valid_until=rec.valid_until_at(t),
                    recorded_at=rec.recorded_at,
                    leaf=rec.leaf,
                    status=status,
                    status_since=since,
                    reason=reason,
                    history=tuple(rec.events),
                    chain=tuple(r.link(t) for r in chain),
                )
            )
        return EntityView(
            did=did,
            at=t,
            is_root=False,
            roles=tuple(sorted(roles)),
            accreditations=tuple(views),
            subject=_subject_at(records, t),
            leaves=tuple(sorted(seen)),
        )

    def list_entities(
        self,
        *,
        at: datetime,
        role: Role | None = None,
        resource: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> tuple[list[str], str | None]:
        """DIDs effectively accredited at ``at``, by DID, a page at a time.

        ``role``: only DIDs holding an effective accreditation with that role;
        ``resource``: whose scope (at every link) names it or ``*``. The root
        is not listed. ``next_cursor`` is ``None`` on the last page.

        Raises:
            ValueError: ``at`` has no time zone, or ``limit`` < 1.
            InvalidCursorError: ``cursor`` was not made by this method.
            EntryOrderError: no genesis yet.
        """
        t = _aware(at)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        dids = self._sorted_subjects()
        start = 0 if cursor is None else bisect_right(dids, _decode_cursor(cursor))
        check = _Check(leaf_role=role, resource=resource)
        memo: dict[_MemoKey, _Chain | None] = {}
        seen: set[int] = set()
        page: list[str] = []
        for i in range(start, len(dids)):
            did = dids[i]
            if self._chain_from(did, t, check, None, self.max_depth, True, memo, seen):
                page.append(did)
                if len(page) == limit:
                    more = i + 1 < len(dids)
                    return page, _encode_cursor(did) if more else None
        return page, None

    def _sorted_subjects(self) -> list[str]:
        # Subjects arrive in leaf order; sort lazily. Timsort merges the sorted
        # run with the new tail in about linear time.
        if self._unsorted:
            self._sorted.extend(self._unsorted)
            self._sorted.sort()
            self._unsorted = []
        return self._sorted


def _subject_at(records: list[_Record], t: datetime) -> SubjectInfo | None:
    best: SubjectInfo | None = None
    key: tuple[datetime, int] | None = None
    for rec in records:
        candidates = [(rec.valid_from, rec.leaf, rec.info)]
        candidates += [(p.at, p.leaf, p.subject) for p in rec.patches or ()]
        for when, leaf, info in candidates:
            if info is not None and when <= t and (key is None or (when, leaf) > key):
                best, key = info, (when, leaf)
    return best


def _join(reasons: list[str]) -> str:
    if len(reasons) <= _MAX_REASONS:
        return "; ".join(reasons)
    rest = len(reasons) - _MAX_REASONS
    return "; ".join(reasons[:_MAX_REASONS]) + f"; and {rest} more"


def _encode_cursor(did: str) -> str:
    return b64url_encode(did.encode())


def _decode_cursor(cursor: str) -> str:
    try:
        did = b64url_decode(cursor).decode()
    except ValueError as e:  # UnicodeDecodeError is one
        raise InvalidCursorError("not a cursor from list_entities") from e
    if not did.startswith("did:") or _encode_cursor(did) != cursor:
        raise InvalidCursorError("not a cursor from list_entities")
    return did
