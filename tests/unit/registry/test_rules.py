"""Acceptance rules (registry.rules.check_statement): each refusal, by attack.

Claims are built directly (signatures are registry.statements' business); the
clock is fixed and passed in as ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from registry.errors import (
    ConflictError,
    DepthExceededError,
    ExpiredStatementError,
    FutureStatementError,
    InvalidStatementError,
    NotAuthorizedError,
    RegistryError,
    RejectedStatementError,
    ReplayError,
    ScopeWideningError,
    WrongAudienceError,
)
from registry.models import Act, Role, Scope, StatementClaims
from registry.rules import DEFAULT_MAX_AGE, check_statement
from registry.state import AccreditationStatus
from tests.helpers.registry_log import (
    ACCREDIT_ALL,
    ISSUE_DIPLOMA,
    REGISTRY,
    ROOT,
    Log,
    did,
    t,
)

BOARD = did("board")
UNI = did("university")
NOW = t("2026-01-15T12:00:00Z")
DAY = timedelta(days=1)


def check(log: Log, claims: StatementClaims, now: datetime = NOW) -> None:
    check_statement(log.state, claims, now=now, registry_did=REGISTRY)


@pytest.fixture
def log() -> Log:
    """root → board (accreditor for Diploma and Badge, since 2025)."""
    log = Log()
    log.accredit(
        ROOT, BOARD, "2025-01-01T00:00:00Z", role=Role.ACCREDITOR, scope=ACCREDIT_ALL
    )
    return log


def accredit(
    log: Log,
    iss: str,
    sub: str,
    *,
    when: datetime = NOW,
    role: Role = Role.ISSUER,
    scope: Scope = ISSUE_DIPLOMA,
    **fields: object,
) -> StatementClaims:
    return log.claims(
        iss,
        sub,
        Act.ACCREDIT,
        when,
        role=role.value,
        scope=scope.model_dump(),
        **fields,
    )


# --- accepted ----------------------------------------------------------------------


def test_rules_accept_accreditor_accrediting_within_its_scope(log: Log) -> None:
    claims = accredit(log, BOARD, UNI)
    plan = check_statement(log.state, claims, now=NOW, registry_did=REGISTRY)
    assert plan.act is Act.ACCREDIT
    assert plan.effective_at == NOW
    assert plan.targets == ((BOARD, UNI),)
    log.append(claims, NOW)
    assert log.state.authorized(UNI, ROOT, "issue", "Diploma", NOW)


def test_rules_check_changes_nothing(log: Log) -> None:
    claims = accredit(log, BOARD, UNI)
    check(log, claims)
    assert log.state.size == 2
    assert not log.state.seen_jti(claims.jti)
    assert log.state.entity(UNI, NOW) is None


def test_rules_accept_backdated_accreditation_by_root(log: Log) -> None:
    claims = accredit(log, ROOT, UNI, validFrom="2015-09-01T00:00:00Z")
    plan = check_statement(log.state, claims, now=NOW, registry_did=REGISTRY)
    assert plan.effective_at == t("2015-09-01T00:00:00Z")


def test_rules_accept_issuer_at_max_depth(log: Log) -> None:
    mid = did("mid")
    log.submit(accredit(log, BOARD, mid, role=Role.ACCREDITOR, scope=ACCREDIT_ALL))
    log.submit(accredit(log, mid, UNI))  # depth 3 == MAX_DEPTH
    assert log.state.authorized(UNI, ROOT, "issue", "Diploma", NOW)


def test_rules_accept_reaccreditation_after_revocation(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - 2 * DAY), NOW - 2 * DAY)
    log.submit(log.claims(BOARD, UNI, Act.REVOKE, NOW - DAY), NOW - DAY)
    log.submit(accredit(log, BOARD, UNI))
    view = log.state.entity(UNI, NOW)
    assert view is not None
    assert [a.status for a in view.accreditations] == [
        AccreditationStatus.REVOKED,
        AccreditationStatus.ACTIVE,
    ]


def test_rules_accept_root_revoking_an_accreditation_it_did_not_make(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    plan = check_statement(
        log.state,
        log.claims(ROOT, UNI, Act.REVOKE, NOW, reason="diploma mill"),
        now=NOW,
        registry_did=REGISTRY,
    )
    assert plan.targets == ((BOARD, UNI),)


def test_rules_accept_narrowing_update(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    narrower = Scope(actions=("issue",), resources=("Diploma",), jurisdictions=("FR",))
    log.submit(log.claims(BOARD, UNI, Act.UPDATE, NOW, scope=narrower.model_dump()))
    assert not log.state.authorized(UNI, ROOT, "issue", "Diploma", NOW, "DE")


# --- refused: envelope -------------------------------------------------------------


def test_rules_reject_wrong_audience(log: Log) -> None:
    claims = accredit(log, BOARD, UNI).model_copy(
        update={"aud": "did:web:other.example"}
    )
    with pytest.raises(
        WrongAudienceError,
        match=r"^statement is for audience 'did:web:other.example', not this registry"
        r" 'did:web:registry.example'$",
    ):
        check(log, claims)


def test_rules_reject_replayed_jti(log: Log) -> None:
    first = accredit(log, BOARD, UNI)
    log.submit(first, NOW)
    replay = accredit(log, BOARD, did("other")).model_copy(update={"jti": first.jti})
    with pytest.raises(ReplayError, match=rf"^jti '{first.jti}' was already used$"):
        check(log, replay)


def test_rules_reject_expired_statement(log: Log) -> None:
    claims = accredit(
        log, BOARD, UNI, when=NOW - DEFAULT_MAX_AGE - timedelta(seconds=1)
    )
    with pytest.raises(
        ExpiredStatementError,
        match=r"^statement iat is 86401 s old, over the 86400 s allowed age$",
    ):
        check(log, claims)


def test_rules_accept_statement_exactly_at_max_age(log: Log) -> None:
    check(log, accredit(log, BOARD, UNI, when=NOW - DEFAULT_MAX_AGE))


def test_rules_reject_future_iat(log: Log) -> None:
    claims = accredit(log, BOARD, UNI, when=NOW + timedelta(seconds=301))
    with pytest.raises(
        FutureStatementError,
        match=r"^statement iat is 301 s in the future, over the 300 s allowed skew$",
    ):
        check(log, claims)


def test_rules_reject_absurd_iat_without_crashing(log: Log) -> None:
    claims = accredit(log, BOARD, UNI).model_copy(update={"iat": 10**15})
    with pytest.raises(FutureStatementError):
        check(log, claims)


def test_rules_refuse_naive_now(log: Log) -> None:
    with pytest.raises(ValueError, match="time zone"):
        check_statement(
            log.state,
            accredit(log, BOARD, UNI),
            now=datetime(2026, 1, 15),
            registry_did=REGISTRY,
        )


# --- refused: semantics ------------------------------------------------------------


def test_rules_reject_self_accreditation(log: Log) -> None:
    with pytest.raises(
        InvalidStatementError,
        match=rf"^iss and sub are both {BOARD}: no self-accreditation$",
    ):
        check(log, accredit(log, BOARD, BOARD))


@pytest.mark.parametrize(
    ("act", "fields", "message"),
    [
        (Act.ACCREDIT, {"role": "issuer"}, "accredit needs a role and a scope"),
        (
            Act.ACCREDIT,
            {"scope": {"actions": ["issue"], "resources": ["Diploma"]}},
            "accredit needs a role and a scope",
        ),
        (
            Act.ACCREDIT,
            {
                "role": "issuer",
                "scope": {"actions": ["issue"], "resources": ["Diploma"]},
                "validFrom": "2026-01-01T00:00:00Z",
                "validUntil": "2026-01-01T00:00:00Z",
            },
            "validUntil 2026-01-01T00:00:00Z is not after"
            " validFrom 2026-01-01T00:00:00Z",
        ),
        (Act.UPDATE, {}, "update changes nothing: give scope, validUntil or subject"),
        (
            Act.UPDATE,
            {"role": "accreditor"},
            "update cannot change the role: revoke and accredit",
        ),
        (
            Act.SUSPEND,
            {"scope": {"actions": ["issue"], "resources": ["Diploma"]}},
            "suspend takes no scope",
        ),
        (
            Act.REVOKE,
            {"role": "issuer", "validUntil": "2027-01-01T00:00:00Z"},
            "revoke takes no role, validUntil",
        ),
    ],
    ids=[
        "accredit-without-scope",
        "accredit-without-role",
        "empty-validity",
        "update-nothing",
        "update-role",
        "suspend-with-scope",
        "revoke-with-role",
    ],
)
def test_rules_reject_nonsense(
    log: Log, act: Act, fields: dict[str, object], message: str
) -> None:
    claims = log.claims(BOARD, UNI, act, NOW, **fields)
    with pytest.raises(InvalidStatementError, match=f"^{message}$"):
        check(log, claims)


def test_rules_reject_accrediting_the_root(log: Log) -> None:
    with pytest.raises(
        InvalidStatementError, match=r"^the root authority cannot be accredited$"
    ):
        check(log, accredit(log, BOARD, ROOT))


def test_rules_reject_update_ending_before_validity(log: Log) -> None:
    log.submit(
        accredit(log, BOARD, UNI, validFrom="2025-06-01T00:00:00Z"),
    )
    claims = log.claims(BOARD, UNI, Act.UPDATE, NOW, validUntil="2025-05-01T00:00:00Z")
    with pytest.raises(
        InvalidStatementError,
        match=r"^validUntil 2025-05-01T00:00:00Z is not after validFrom"
        r" 2025-06-01T00:00:00Z$",
    ):
        check(log, claims)


# --- refused: authority ------------------------------------------------------------


def test_rules_reject_stranger_revoking_someone_elses_accreditation(log: Log) -> None:
    stranger = did("stranger-board")
    log.submit(
        accredit(
            log,
            ROOT,
            stranger,
            role=Role.ACCREDITOR,
            scope=ACCREDIT_ALL,
            when=NOW - DAY,
        ),
        NOW - DAY,
    )
    log.submit(accredit(log, BOARD, UNI))
    with pytest.raises(
        NotAuthorizedError,
        match=rf"^{stranger} holds no accreditation of {UNI} to revoke$",
    ):
        check(log, log.claims(stranger, UNI, Act.REVOKE, NOW))


def test_rules_reject_unaccredited_stranger_revoking(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI))
    nobody = did("nobody")
    with pytest.raises(
        NotAuthorizedError,
        match=rf"^{nobody} may not revoke {UNI}: not registered$",
    ):
        check(log, log.claims(nobody, UNI, Act.REVOKE, NOW))


def test_rules_reject_issuer_accrediting_anyone(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    with pytest.raises(
        NotAuthorizedError,
        match=rf"accreditation by {BOARD} grants the role issuer, not accreditor$",
    ):
        check(log, accredit(log, UNI, did("department")))


def test_rules_reject_accreditor_without_accredit_action(log: Log) -> None:
    lister = did("lister")
    log.submit(
        accredit(
            log,
            ROOT,
            lister,
            role=Role.ACCREDITOR,
            scope=Scope(actions=("issue",), resources=("*",)),
            when=NOW - DAY,
        ),
        NOW - DAY,
    )
    with pytest.raises(
        NotAuthorizedError, match="does not include the action 'accredit'"
    ):
        check(log, accredit(log, lister, UNI))


def test_rules_reject_accreditor_accrediting_after_its_own_revocation(log: Log) -> None:
    log.submit(
        log.claims(ROOT, BOARD, Act.REVOKE, NOW - DAY, reason="charter lost"), NOW - DAY
    )
    with pytest.raises(
        NotAuthorizedError,
        match=rf"^{BOARD} may not accredit {UNI}: {BOARD} is not authorized for"
        rf" accrediting at 2026-01-15T12:00:00Z: accreditation by {ROOT} was revoked"
        r" at 2026-01-14T12:00:00Z: charter lost$",
    ):
        check(log, accredit(log, BOARD, UNI))


def test_rules_reject_revoked_accreditor_backdating_its_accreditation(log: Log) -> None:
    # Backdated to when it still was accredited, but made after its revocation:
    # the issuer must hold its authority now as well.
    log.submit(log.claims(ROOT, BOARD, Act.REVOKE, NOW - DAY), NOW - DAY)
    claims = accredit(log, BOARD, UNI, validFrom="2025-06-01T00:00:00Z")
    with pytest.raises(
        NotAuthorizedError, match="at 2026-01-15T12:00:00Z: accreditation by"
    ):
        check(log, claims)


def test_rules_reject_accreditation_backdated_before_accreditor_existed(
    log: Log,
) -> None:
    claims = accredit(log, BOARD, UNI, validFrom="2024-06-01T00:00:00Z")
    with pytest.raises(
        NotAuthorizedError,
        match=rf"accreditation by {ROOT} is not valid before 2025-01-01T00:00:00Z$",
    ):
        check(log, claims)


def test_rules_reject_suspended_accreditor(log: Log) -> None:
    log.submit(
        log.claims(ROOT, BOARD, Act.SUSPEND, NOW - DAY, reason="audit"), NOW - DAY
    )
    with pytest.raises(NotAuthorizedError, match=r"was suspended at .*: audit$"):
        check(log, accredit(log, BOARD, UNI))


def test_rules_reject_revoked_accreditor_revoking_its_issuers(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - 2 * DAY), NOW - 2 * DAY)
    log.submit(log.claims(ROOT, BOARD, Act.REVOKE, NOW - DAY), NOW - DAY)
    with pytest.raises(NotAuthorizedError, match=rf"^{BOARD} may not revoke {UNI}"):
        check(log, log.claims(BOARD, UNI, Act.REVOKE, NOW))


def test_rules_reject_scope_widening(log: Log) -> None:
    wider = Scope(actions=("issue",), resources=("Diploma", "Transcript"))
    with pytest.raises(
        ScopeWideningError,
        match=rf"^{BOARD} may not grant that scope: .*does not cover"
        r" actions=issue resources=Diploma,Transcript jurisdictions=\*",
    ):
        check(log, accredit(log, BOARD, UNI, scope=wider))


def test_rules_reject_update_widening_the_scope_it_replaces(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    wider = Scope(actions=("issue",), resources=("Diploma", "Badge"))
    claims = log.claims(BOARD, UNI, Act.UPDATE, NOW, scope=wider.model_dump())
    with pytest.raises(ScopeWideningError, match=f"^update widens the scope of {UNI}"):
        check(log, claims)


def test_rules_reject_wildcard_grant_by_bounded_accreditor(log: Log) -> None:
    anything = Scope(actions=("issue",), resources=("*",))
    with pytest.raises(ScopeWideningError):
        check(log, accredit(log, BOARD, UNI, scope=anything))


def test_rules_reject_grant_beyond_a_narrowed_chain(log: Log) -> None:
    # board's sub-accreditor keeps a Badge grant, but board itself was narrowed
    # to Diplomas: scopes only narrow down the chain.
    sub_board = did("sub-board")
    log.submit(
        accredit(
            log,
            BOARD,
            sub_board,
            role=Role.ACCREDITOR,
            scope=ACCREDIT_ALL,
            when=NOW - 2 * DAY,
        ),
        NOW - 2 * DAY,
    )
    narrowed = Scope(actions=("accredit", "issue"), resources=("Diploma",))
    log.submit(
        log.claims(ROOT, BOARD, Act.UPDATE, NOW - DAY, scope=narrowed.model_dump()),
        NOW - DAY,
    )
    badge = Scope(actions=("issue",), resources=("Badge",))
    with pytest.raises(ScopeWideningError, match=rf"accreditation by {BOARD} rests on"):
        check(log, accredit(log, sub_board, UNI, scope=badge))


def test_rules_reject_depth_over_cap(log: Log) -> None:
    mid, low = did("mid"), did("low")
    log.submit(accredit(log, BOARD, mid, role=Role.ACCREDITOR, scope=ACCREDIT_ALL))
    log.submit(accredit(log, mid, low, role=Role.ACCREDITOR, scope=ACCREDIT_ALL))
    with pytest.raises(
        DepthExceededError,
        match=rf"^{UNI} would be at depth 4 under {low} at 2026-01-15T12:00:00Z,"
        r" over the cap of 3$",
    ):
        check(log, accredit(log, low, UNI))


def test_rules_errors_form_the_documented_tree() -> None:
    for narrower in (ScopeWideningError, DepthExceededError):
        assert issubclass(narrower, NotAuthorizedError)
    for error in (
        WrongAudienceError,
        ReplayError,
        ExpiredStatementError,
        FutureStatementError,
        InvalidStatementError,
        ConflictError,
        NotAuthorizedError,
    ):
        assert issubclass(error, RejectedStatementError)
    assert issubclass(RejectedStatementError, RegistryError)


# --- refused: transitions ----------------------------------------------------------


def test_rules_reject_double_accredit(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    with pytest.raises(
        ConflictError,
        match=rf"^{UNI} is already accredited by {BOARD} \(leaf 2\); use update$",
    ):
        check(log, accredit(log, BOARD, UNI))


def test_rules_reject_suspend_of_revoked(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - 2 * DAY), NOW - 2 * DAY)
    log.submit(log.claims(BOARD, UNI, Act.REVOKE, NOW - DAY, reason="fraud"), NOW - DAY)
    with pytest.raises(
        ConflictError,
        match=rf"^cannot suspend: the accreditation of {UNI} by {BOARD} was revoked at"
        r" 2026-01-14T12:00:00Z \(leaf 3\)$",
    ):
        check(log, log.claims(BOARD, UNI, Act.SUSPEND, NOW))


@pytest.mark.parametrize(
    ("history", "act", "message"),
    [
        ([Act.SUSPEND], Act.SUSPEND, "cannot suspend: .* is suspended since"),
        ([], Act.REINSTATE, "cannot reinstate: .* is not suspended"),
        ([Act.REVOKE], Act.REVOKE, "cannot revoke: .* was revoked at"),
        ([Act.REVOKE], Act.UPDATE, "cannot update: .* was revoked at"),
        ([Act.SUSPEND, Act.REINSTATE], Act.REINSTATE, "cannot reinstate"),
    ],
    ids=[
        "suspend-twice",
        "reinstate-active",
        "revoke-twice",
        "update-revoked",
        "reinstate-twice",
    ],
)
def test_rules_reject_impossible_transition(
    log: Log, history: list[Act], act: Act, message: str
) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - 9 * DAY), NOW - 9 * DAY)
    for n, earlier in enumerate(history):
        when = NOW - (5 - n) * DAY
        log.submit(log.claims(BOARD, UNI, earlier, when), when)
    fields = {"subject": {"name": "U"}} if act is Act.UPDATE else {}
    with pytest.raises(ConflictError, match=message):
        check(log, log.claims(BOARD, UNI, act, NOW, **fields))


def test_rules_reject_root_act_on_subject_without_live_accreditation(log: Log) -> None:
    with pytest.raises(ConflictError, match=f"^{UNI} holds no live accreditation"):
        check(log, log.claims(ROOT, UNI, Act.SUSPEND, NOW))


def test_rules_reject_backdated_revocation_is_clamped(log: Log) -> None:
    # A revocation backdated to 2025-03 would silently invalidate everything
    # the university issued since: its effective time is clamped to iat.
    log.submit(
        accredit(log, BOARD, UNI, when=NOW - DAY, validFrom="2025-02-01T00:00:00Z"),
        NOW - DAY,
    )
    claims = log.claims(
        BOARD, UNI, Act.REVOKE, NOW, validFrom="2025-03-01T00:00:00Z", reason="fraud"
    )
    plan = check_statement(log.state, claims, now=NOW, registry_did=REGISTRY)
    assert plan.effective_at == NOW
    log.append(claims, NOW)
    assert log.state.authorized(
        UNI, ROOT, "issue", "Diploma", t("2025-06-01T00:00:00Z")
    )
    assert log.state.authorized(
        UNI, ROOT, "issue", "Diploma", NOW - timedelta(seconds=1)
    )
    refused = log.state.authorized(UNI, ROOT, "issue", "Diploma", NOW)
    assert not refused
    assert refused.message.endswith(
        f"accreditation by {BOARD} was revoked at 2026-01-15T12:00:00Z: fraud"
    )


def test_rules_allow_future_dated_suspension(log: Log) -> None:
    log.submit(accredit(log, BOARD, UNI, when=NOW - DAY), NOW - DAY)
    claims = log.claims(BOARD, UNI, Act.SUSPEND, NOW, validFrom="2026-02-01T00:00:00Z")
    log.submit(claims)
    assert log.state.authorized(UNI, ROOT, "issue", "Diploma", NOW)
    assert not log.state.authorized(
        UNI, ROOT, "issue", "Diploma", t("2026-02-01T00:00:00Z")
    )


def test_rules_reject_act_scheduled_beyond_the_issuers_own_accreditation(
    log: Log,
) -> None:
    bounded = did("bounded-board")
    log.submit(
        accredit(
            log,
            ROOT,
            bounded,
            role=Role.ACCREDITOR,
            scope=ACCREDIT_ALL,
            when=NOW - DAY,
            validUntil="2026-06-01T00:00:00Z",
        ),
        NOW - DAY,
    )
    claims = accredit(log, bounded, UNI, validFrom="2026-07-01T00:00:00Z")
    with pytest.raises(NotAuthorizedError, match="expired at 2026-06-01T00:00:00Z"):
        check(log, claims)


def test_rules_stamp_every_accepted_statement_with_utc_now(log: Log) -> None:
    # ``now`` in another zone is the same instant.
    paris = NOW.astimezone(ZoneInfo("Europe/Paris"))
    plan = check_statement(
        log.state, accredit(log, BOARD, UNI), now=paris, registry_did=REGISTRY
    )
    assert plan.effective_at == NOW.astimezone(UTC)
