"""Acceptance rules: may this (signature-checked) statement enter the log now?

``check_statement`` is the registry's gate, in the style of python-tuf's
``TrustedMetadataSet``: pure, synchronous, no I/O, the clock passed in as
``now``. It takes claims whose signature ``registry.statements`` has already
verified and either returns the ``Plan`` of what applying them will do, or
raises one of the errors below and changes nothing. The service then appends
the entry to the log and calls ``RegistryState.apply``.

Checks, in order (docs/adr/0004-registry-rules.md):

1. ``aud`` is this registry (``WrongAudienceError``);
2. the ``jti`` was never used (``ReplayError``);
3. ``iat`` is at most ``max_skew`` ahead of ``now`` and at most ``max_age``
   behind it (``FutureStatementError``, ``ExpiredStatementError``);
4. the statement makes sense (``InvalidStatementError``): no self-accreditation,
   ``accredit`` has a role and a scope, ``validUntil`` after ``validFrom``, …;
5. the issuer is the root, or at both the statement's effective time and
   ``now`` holds an effective accreditor accreditation with the action
   ``accredit`` whose chain covers any scope it grants (``NotAuthorizedError``,
   ``ScopeWideningError``), and the new subject stays within the depth cap
   (``DepthExceededError``);
6. the transition is possible in the current state (``ConflictError``; acting
   on an accreditation made by someone else is ``NotAuthorizedError``; an
   update that widens the scope it replaces is ``ScopeWideningError``).

::

    RegistryError                    (registry.errors)
    └── RejectedStatementError       nothing was written
        ├── WrongAudienceError       aud is another registry
        ├── ReplayError              jti already used
        ├── ExpiredStatementError    iat older than max_age
        ├── FutureStatementError     iat beyond the allowed clock skew
        ├── InvalidStatementError    semantic nonsense
        ├── ConflictError            impossible state transition
        └── NotAuthorizedError       the issuer lacks the authority
            ├── ScopeWideningError   it would grant more than it holds
            └── DepthExceededError   the chain would exceed max_depth

The composition root maps ``NotAuthorizedError`` (and subclasses) to 403,
``ReplayError`` and ``ConflictError`` to 409, the others to 422; this module
knows nothing of HTTP and checks no signature.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from registry.errors import (
    ConflictError,
    DepthExceededError,
    ExpiredStatementError,
    FutureStatementError,
    InconsistentEntryError,
    InvalidStatementError,
    NotAuthorizedError,
    RefusalKind,
    RejectedStatementError,
    ReplayError,
    ScopeWideningError,
    WrongAudienceError,
)
from registry.models import Act, StatementClaims
from registry.state import Plan, RegistryState, effective_time
from resolver.timefmt import format_time

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_SKEW",
    "check_statement",
]

DEFAULT_MAX_SKEW = timedelta(seconds=300)
"""How far in the future ``iat`` may be (clock skew between signer and registry)."""

DEFAULT_MAX_AGE = timedelta(hours=24)
"""How old a statement may be when submitted."""


_BY_KIND: dict[RefusalKind, type[RejectedStatementError]] = {
    RefusalKind.INVALID: InvalidStatementError,
    RefusalKind.CONFLICT: ConflictError,
    RefusalKind.NOT_AUTHORIZED: NotAuthorizedError,
    RefusalKind.SCOPE_WIDENING: ScopeWideningError,
}


def check_statement(
    state: RegistryState,
    claims: StatementClaims,
    *,
    now: datetime,
    registry_did: str,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> Plan:
    """Decide whether verified ``claims`` may be accepted into the log at ``now``.

    Args:
        state: The registry state replayed from the log so far.
        claims: The payload of a statement whose signature was verified.
        now: The acceptance instant (aware).
        registry_did: This registry's DID, which ``aud`` must equal.
        max_skew: How far ``iat`` may lie after ``now``.
        max_age: How far ``iat`` may lie before ``now``.

    Returns:
        What applying the statement will do: its effective time and targets.

    Raises:
        WrongAudienceError: ``aud`` is not ``registry_did``.
        ReplayError: the ``jti`` was already used.
        FutureStatementError: ``iat`` is more than ``max_skew`` after ``now``.
        ExpiredStatementError: ``iat`` is more than ``max_age`` before ``now``.
        InvalidStatementError: the statement makes no sense.
        NotAuthorizedError: the issuer may not act on this subject at the
            effective time or at ``now``.
        ScopeWideningError: it would grant more than its issuer holds, or than
            the scope an update replaces.
        DepthExceededError: the new subject would be deeper than ``max_depth``.
        ConflictError: the transition is impossible in this state.
        ValueError: ``now`` has no time zone.
        EntryOrderError: the state has no genesis yet.
    """
    if now.tzinfo is None:
        raise ValueError("now needs a time zone, e.g. UTC")
    now = now.astimezone(UTC)
    # (1) audience, (2) replay
    if claims.aud != registry_did:
        raise WrongAudienceError(
            f"statement is for audience {claims.aud!r}, not this registry"
            f" {registry_did!r}"
        )
    if state.seen_jti(claims.jti):
        raise ReplayError(f"jti {claims.jti!r} was already used")
    # (3) freshness, on integers first: a huge iat must not reach datetime.
    ahead = claims.iat - now.timestamp()
    if ahead > max_skew.total_seconds():
        raise FutureStatementError(
            f"statement iat is {ahead:.0f} s in the future,"
            f" over the {max_skew.total_seconds():.0f} s allowed skew"
        )
    if -ahead > max_age.total_seconds():
        raise ExpiredStatementError(
            f"statement iat is {-ahead:.0f} s old,"
            f" over the {max_age.total_seconds():.0f} s allowed age"
        )
    # (4) shape, and (6) held back: authority is judged before the transition,
    # so a stranger learns nothing about others' accreditations from a 409.
    held: InconsistentEntryError | None = None
    plan: Plan | None = None
    try:
        plan = state.plan(claims)
    except InconsistentEntryError as e:
        if e.kind is RefusalKind.INVALID:
            raise InvalidStatementError(str(e)) from e
        held = e
    # (5) the issuer's authority, at the effective time and now
    if str(claims.iss) != state.root:
        eff = effective_time(claims)
        for t in sorted({eff, now}):
            _check_authority(state, claims, t)
    if held is not None:
        raise _BY_KIND[held.kind](str(held)) from held
    assert plan is not None  # noqa: S101 -- set whenever nothing was held
    return plan


def _check_authority(
    state: RegistryState, claims: StatementClaims, t: datetime
) -> None:
    """Refuse unless a non-root issuer may make this statement at ``t``."""
    iss, sub, act = str(claims.iss), str(claims.sub), claims.act
    power = state.can_accredit(iss, t)
    if not power:
        raise NotAuthorizedError(f"{iss} may not {act.value} {sub}: {power.message}")
    if claims.scope is None:
        return
    grant = state.can_accredit(iss, t, claims.scope)
    if not grant:
        raise ScopeWideningError(f"{iss} may not grant that scope: {grant.message}")
    depth = len(grant.chain) + 1
    if act is Act.ACCREDIT and depth > state.max_depth:
        raise DepthExceededError(
            f"{sub} would be at depth {depth} under {iss} at {format_time(t)},"
            f" over the cap of {state.max_depth}"
        )
