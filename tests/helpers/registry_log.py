"""A registry log built by hand, and the state replayed from it (registry.state).

Entries are ``StatementClaims`` wrapped in an unsigned-looking compact JWS: the
state never checks signatures (``registry.statements`` does, before
acceptance), so nothing here needs keys. ``Log.submit`` runs the rules first,
as the service does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from registry.models import (
    MAX_DEPTH,
    STATEMENT_TYP,
    Act,
    GenesisEntry,
    GovernanceFramework,
    Role,
    Scope,
    StatementClaims,
    StatementEntry,
)
from registry.rules import check_statement
from registry.state import RegistryState
from resolver.timefmt import parse_time
from tests.helpers.encoding import b64

REGISTRY = "did:web:registry.example"
ROOT = "did:example:root"
T0 = datetime(2021, 1, 1, tzinfo=UTC)

ISSUE_DIPLOMA = Scope(actions=("issue",), resources=("Diploma",))
ACCREDIT_ALL = Scope(actions=("accredit", "issue"), resources=("Diploma", "Badge"))


def t(text: str) -> datetime:
    """An instant from RFC 3339 text."""
    return parse_time(text)


def unsigned_jws(claims: StatementClaims) -> str:
    """A compact JWS whose signature is junk: the state never looks at it."""
    header = b64(json.dumps({"alg": "EdDSA", "typ": STATEMENT_TYP}).encode())
    payload = b64(claims.model_dump_json(by_alias=True, exclude_none=True).encode())
    return f"{header}.{payload}.{b64(b'not-a-signature')}"


def genesis(*, max_depth: int = MAX_DEPTH, at: datetime = T0) -> GenesisEntry:
    return GenesisEntry(
        registry=REGISTRY,
        origin="registry.example/log",
        root=ROOT,
        governance=GovernanceFramework(
            uri="https://registry.example/gf", sha256="0" * 64
        ),
        max_depth=max_depth,
        integrated_time=at,
    )


class Log:
    """A log under construction and the state replayed from it."""

    def __init__(self, *, max_depth: int = MAX_DEPTH) -> None:
        self.entries: list[GenesisEntry | StatementEntry] = [
            genesis(max_depth=max_depth)
        ]
        self.state = RegistryState.from_entries(self.entries)
        self._serial = 0

    def claims(
        self, iss: str, sub: str, act: Act, when: datetime | str, **fields: object
    ) -> StatementClaims:
        """Claims issued at ``when`` with a fresh jti; ``fields`` by wire name."""
        self._serial += 1
        issued = t(when) if isinstance(when, str) else when
        return StatementClaims.model_validate(
            {
                "iss": iss,
                "sub": sub,
                "act": act,
                "aud": REGISTRY,
                "iat": int(issued.timestamp()),
                "jti": f"jti-{self._serial:08d}",
                **fields,
            }
        )

    def append(self, claims: StatementClaims, recorded: datetime | None = None) -> int:
        """Apply without acceptance checks; return the leaf index."""
        entry = StatementEntry(
            jws=unsigned_jws(claims),
            integrated_time=recorded or datetime.fromtimestamp(claims.iat, UTC),
        )
        index = len(self.entries)
        self.state.apply(index, entry)
        self.entries.append(entry)
        return index

    def put(
        self, iss: str, sub: str, act: Act, when: datetime | str, **fields: object
    ) -> int:
        return self.append(self.claims(iss, sub, act, when, **fields))

    def submit(self, claims: StatementClaims, now: datetime | None = None) -> int:
        """Check with the rules, then apply, as the service does."""
        now = now or datetime.fromtimestamp(claims.iat, UTC)
        check_statement(self.state, claims, now=now, registry_did=REGISTRY)
        return self.append(claims, now)

    def accredit(
        self,
        iss: str,
        sub: str,
        when: datetime | str,
        *,
        role: Role = Role.ISSUER,
        scope: Scope = ISSUE_DIPLOMA,
        **fields: object,
    ) -> int:
        return self.put(
            iss, sub, Act.ACCREDIT, when, role=role, scope=scope.model_dump(), **fields
        )


def did(name: str) -> str:
    return f"did:example:{name}"
