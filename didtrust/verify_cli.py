"""``didtrust verify FILE``: check a credential and print a readable report.

FILE holds a JSON-LD credential (or a VC API body ``{"verifiableCredential":
…}``) or a compact VC-JWT; ``-`` reads standard input. The credential is
checked in this process with the same verifier the server runs, against the
registry in the data directory when there is one. Exit 0 only when verified,
1 when not, 2 when the input is not a credential or the usage is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from didtrust.settings import Settings, SettingsError
from registry.errors import RegistryError
from resolver import strictjson
from resolver.checks import CheckStatus
from resolver.errors import BadRequestError
from verifier.errors import VerificationError
from verifier.service import VerificationReport

__all__ = ["add_verify_parser", "run_verify"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_MARK = {CheckStatus.PASSED: "✓", CheckStatus.FAILED: "✗", CheckStatus.SKIPPED: "-"}


def add_verify_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``verify`` to the CLI's subparsers."""
    verify: argparse.ArgumentParser = sub.add_parser(
        "verify", help="verify a credential: proofs, issuer, status, accreditation"
    )
    verify.add_argument(
        "file", metavar="FILE", help="credential file (JSON or JWT), - for stdin"
    )
    verify.add_argument(
        "--json", action="store_true", help="print the full JSON report"
    )
    return verify


def _read(path: str) -> Any:
    try:
        text = (
            sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        )
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from exc
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            return strictjson.loads(stripped)
        except (ValueError, RecursionError) as exc:
            raise SettingsError(f"{path} is not JSON: {exc}") from exc
    return stripped


def render(report: VerificationReport) -> str:
    """A person's view of the report."""
    lines = [
        f"{'VERIFIED' if report.verified else 'NOT VERIFIED'}"
        f"  ({report.format or 'unknown format'})",
        f"issuer: {report.issuer_name + ' ' if report.issuer_name else ''}"
        f"{report.issuer or '(none)'}",
        f"types:  {', '.join(report.types) or '(none)'}",
    ]
    for check in report.checks:
        lines.append(f"  {_MARK[check.status]} {check.name}: {check.detail}")
    return "\n".join(lines)


async def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``didtrust verify``."""
    from didtrust.wiring import open_services
    from verifier.http import unwrap

    try:
        credential = unwrap(_read(args.file))
    except (BadRequestError, VerificationError) as exc:
        print(f"didtrust: not a credential: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The services the server runs, built from the same settings.
    async with open_services(settings) as services:
        try:
            report = await services.verifier.verify(credential)
        except (VerificationError, RegistryError) as exc:
            print(f"didtrust: not a credential: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(json.dumps(report.to_json(), indent=2) if args.json else render(report))
    return EXIT_OK if report.verified else EXIT_FAILED
