"""The JSON forms the registry serves and its clients read back.

Both sides use these: the service renders an entity view with
:func:`entity_json`, and a client replaying an answer's evidence renders its
own view the same way and compares (``registry.answercheck``); a leaf as
served is read back with :func:`parse_entry`. Pure: no I/O, no service state.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from registry.models import GenesisEntry, LogEntry, StatementEntry
from registry.state import AccreditationView, ChainLink, EntityView, HistoryEvent
from resolver.timefmt import format_time

__all__ = ["entity_json", "parse_entry"]

_ENTRY = TypeAdapter[GenesisEntry | StatementEntry](LogEntry)


def _chain_json(link: ChainLink) -> dict[str, Any]:
    return {
        "authority": link.authority,
        "subject": link.subject,
        "role": str(link.role),
        "scope": link.scope.model_dump(mode="json", exclude_none=True),
        "leaf": link.leaf,
        "leaves": list(link.leaves),
    }


def _event_json(event: HistoryEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "act": str(event.act),
        "at": format_time(event.at),
        "leaf": event.leaf,
        "recordedAt": format_time(event.recorded_at),
    }
    if event.reason:
        out["reason"] = event.reason
    return out


def _accreditation_json(acc: AccreditationView) -> dict[str, Any]:
    out: dict[str, Any] = {
        "authority": acc.authority,
        "role": str(acc.role),
        "scope": acc.scope.model_dump(mode="json", exclude_none=True),
        "validFrom": format_time(acc.valid_from),
        "recordedAt": format_time(acc.recorded_at),
        "status": str(acc.status),
        "effective": acc.effective,
        "leaf": acc.leaf,
        "history": [_event_json(e) for e in acc.history],
        "chain": [_chain_json(link) for link in acc.chain],
    }
    if acc.valid_until is not None:
        out["validUntil"] = format_time(acc.valid_until)
    if acc.status_since is not None:
        out["statusSince"] = format_time(acc.status_since)
    if acc.reason:
        out["reason"] = acc.reason
    return out


def entity_json(view: EntityView) -> dict[str, Any]:
    """An entity view as served (the client replays evidence and compares)."""
    out: dict[str, Any] = {
        "entity": view.did,
        "at": format_time(view.at),
        "isRoot": view.is_root,
        "roles": [str(r) for r in view.roles],
        "accreditations": [_accreditation_json(a) for a in view.accreditations],
    }
    if view.subject is not None:
        out["subject"] = view.subject.model_dump(mode="json", exclude_none=True)
    return out


def parse_entry(raw: bytes) -> GenesisEntry | StatementEntry:
    """Parse one stored leaf.

    Raises:
        ValueError: not a log entry.
    """
    try:
        return _ENTRY.validate_json(raw)
    except ValidationError as exc:
        raise ValueError(f"not a log entry: {exc.errors()[0]['msg']}") from None
