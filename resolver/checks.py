"""One named check and its outcome: the unit of every verification report.

The credential verifier (``verifier.service``) and the registry answer checker
(``registry.client``) both report what they checked as a list of
:class:`Check`, and both serve them with one wire vocabulary for outcomes:
``"passed"``, ``"failed"``, ``"skipped"`` (the one the OpenAPI document of
``POST /credentials/verify`` and the web page already used).

This module holds the values only; what a report concludes from its checks is
each report's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Check", "CheckStatus"]


class CheckStatus(StrEnum):
    """The outcome of one check (its value is the wire form)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Not run (e.g. offline, or a check it depends on failed): neither."""


@dataclass(frozen=True, slots=True)
class Check:
    """One named step of a verification and what it found."""

    name: str
    status: CheckStatus
    detail: str
    leaf: int | None = None
    """The registry log index the check is about, for per-statement checks."""
    data: Mapping[str, Any] | None = None
    """More members served with the check (e.g. a registry's signed answer)."""

    def to_json(self) -> dict[str, Any]:
        """The check as served: name, status, detail, then ``leaf`` and ``data``."""
        out: dict[str, Any] = {
            "name": self.name,
            "status": str(self.status),
            "detail": self.detail,
        }
        if self.leaf is not None:
            out["leaf"] = self.leaf
        if self.data:
            out.update(self.data)
        return out
