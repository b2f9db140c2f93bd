"""``didtrust registry verify``: check a registry answer offline; remember the log.

::

    didtrust registry verify ANSWER --registry DID [--registry-key MULTIKEY]
                             [--state FILE] [--server URL] [--offline] [--json]

ANSWER is a file holding a registry answer as served (JSON, or the compact JWS
of ``Accept: application/jwt``), ``-`` for standard input, or an http(s) URL
to fetch one from (asked for as a signed answer; ``--server`` then defaults
to the URL's origin).

The registry key comes from the registry's did:key itself, from
``--registry-key`` (a multibase Multikey; needed for a did:web registry when
``--offline``), or from the registry's did:web document, fetched through the
hardened fetcher. Authorities' statements are checked with keys resolved by
the project's resolver: did:key and did:jwk offline, did:web only when not
``--offline`` (otherwise those checks are reported as not run).

The last verified checkpoint of each registry is kept in ``--state`` (default
``$XDG_CONFIG_HOME/didtrust/checkpoints.json``, else
``~/.config/didtrust/checkpoints.json``). A later answer must prove that its
log extends that one: with the consistency proof in its evidence (query with
``consistency_from=<size>``) or one fetched from ``--server``.

Exit codes: 0 verified; 1 not verified (or the answer could not be fetched or
read); 2 bad usage, settings or checkpoint file; 3 security error: the
registry's log was rolled back or forked (keep the checkpoint file: it holds
the signed checkpoint that proves it).

See ``registry.answercheck`` for the checks themselves, ``registry.history``
for the checkpoints kept.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from didtrust.settings import Settings
from didtrust.wiring import open_resolver
from registry.answercheck import (
    MAX_ANSWER_BYTES,
    VerificationReport,
    parse_answer_text,
    verify_answer_document,
)
from registry.client import RegistryClient
from registry.errors import (
    AnswerFormatError,
    CheckpointStoreError,
    ConsistencyUnavailableError,
    RegistryFetchError,
)
from registry.history import CheckpointStore, check_history
from resolver.checks import CheckStatus
from resolver.did import DID, parse_did
from resolver.errors import ResolutionError
from resolver.keys import decode_multikey
from resolver.service import Resolver
from resolver.timefmt import format_time, parse_time

__all__ = [
    "EXIT_NOT_VERIFIED",
    "EXIT_SECURITY",
    "EXIT_USAGE",
    "EXIT_VERIFIED",
    "add_arguments",
    "default_state_path",
    "run",
]

EXIT_VERIFIED: Final = 0
EXIT_NOT_VERIFIED: Final = 1
EXIT_USAGE: Final = 2
EXIT_SECURITY: Final = 3

_ENTITY_PATH: Final = "/registry/v1/entities/"
_KEY_TYPES: Final = frozenset({"Multikey", "Ed25519VerificationKey2020"})


class _UsageError(Exception):
    """Bad arguments, an unreadable file: exit 2."""


class _CannotVerifyError(Exception):
    """The answer or the registry key could not be had: exit 1."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``registry verify`` arguments to its subparser."""
    parser.add_argument(
        "answer",
        metavar="ANSWER",
        help="answer file (JSON or signed JWS), - for stdin, or an http(s) URL",
    )
    parser.add_argument(
        "--registry", required=True, metavar="DID", help="the registry's DID"
    )
    parser.add_argument(
        "--registry-key",
        metavar="MULTIKEY",
        help="the registry's Ed25519 key as a multibase Multikey "
        "(for a did:web registry; default: from its DID)",
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="checkpoints seen so far (default: ~/.config/didtrust/checkpoints.json)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="registry base URL for consistency proofs (default: ANSWER's origin)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="use no network: did:web authorities are not checked",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def default_state_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where checkpoints are kept unless ``--state`` says otherwise."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "didtrust" / "checkpoints.json"


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``didtrust registry verify``; return the exit code.

    Side effects: reads ANSWER (or fetches it), may fetch did:web documents
    and a consistency proof, prints the report on stdout, and on success
    records the checkpoint in the state file.
    """
    try:
        report, key_source = await _verify(args, settings)
    except _UsageError as exc:
        print(f"didtrust: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CheckpointStoreError as exc:
        print(f"didtrust: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (_CannotVerifyError, RegistryFetchError, AnswerFormatError) as exc:
        print(f"didtrust: {exc}", file=sys.stderr)
        print("NOT VERIFIED")
        return EXIT_NOT_VERIFIED
    if args.json:
        body = report.to_json()
        body["registryKey"] = key_source
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        _print_report(report, key_source)
    error = report.security_error
    if error is not None and not isinstance(error, ConsistencyUnavailableError):
        print(f"didtrust: security error: {error}", file=sys.stderr)
        return EXIT_SECURITY
    return EXIT_VERIFIED if report.ok else EXIT_NOT_VERIFIED


async def _verify(
    args: argparse.Namespace, settings: Settings
) -> tuple[VerificationReport, str]:
    registry = _registry_did(args.registry)
    source: str = args.answer
    is_url = source.startswith(("http://", "https://"))
    if args.offline and is_url:
        raise _UsageError("--offline cannot fetch an answer from a url")
    if args.offline and args.server:
        raise _UsageError("--offline and --server exclude each other")
    server = args.server or (_origin(source) if is_url else None)
    if server is not None:
        _check_server(server)
    given_key = _multikey(args.registry_key) if args.registry_key else None
    store = CheckpointStore(Path(args.state) if args.state else default_state_path())
    answer = None if is_url else _read_answer(source)

    async with (
        open_resolver(settings, offline=args.offline) as resolver,
        RegistryClient() as client,
    ):
        key, key_source = await _registry_key(
            registry, given_key, resolver, offline=args.offline
        )
        if answer is None:
            answer = await client.answer(source, accept_jwt=True)

        async def resolve_document(did: DID) -> dict[str, Any]:
            return (await resolver.resolve(did)).document

        report = await verify_answer_document(
            answer,
            registry_did=str(registry),
            registry_key=key,
            now=datetime.now(UTC),
            resolve_document=resolve_document,
        )
        if is_url:
            _check_requested(report, source)
        proofs = None if args.offline or server is None else client.proofs_from(server)
        await check_history(report, store, proofs=proofs)
    return report, key_source


def _registry_did(text: str) -> DID:
    try:
        did = parse_did(text)
    except ResolutionError as exc:
        raise _UsageError(f"--registry: {exc.detail}") from None
    if did.method not in ("key", "web"):
        raise _UsageError(
            f"--registry must be a did:key or did:web, not did:{did.method}"
        )
    return did


def _multikey(text: str) -> bytes:
    try:
        key = decode_multikey(text)
    except ResolutionError as exc:
        raise _UsageError(f"--registry-key: {exc.detail}") from None
    if key.key_type != "ed25519-pub":
        raise _UsageError(f"--registry-key is a {key.key_type} key, not ed25519")
    return key.raw


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _check_server(server: str) -> None:
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _UsageError(f"--server must be an http(s) url, not {server[:200]!r}")


def _read_answer(source: str) -> dict[str, Any] | str:
    try:
        if source == "-":
            text = sys.stdin.read(MAX_ANSWER_BYTES + 1)
        else:
            with Path(source).open(encoding="utf-8") as fh:
                text = fh.read(MAX_ANSWER_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise _UsageError(f"cannot read {source}: {exc}") from exc
    if len(text) > MAX_ANSWER_BYTES:
        raise _UsageError(f"{source} is over {MAX_ANSWER_BYTES} bytes")
    return parse_answer_text(text)


async def _registry_key(
    registry: DID, given: bytes | None, resolver: Resolver, *, offline: bool
) -> tuple[bytes, str]:
    """The registry's Ed25519 key and where it came from."""
    if registry.method == "key":
        try:
            own = decode_multikey(registry.method_specific_id)
        except ResolutionError as exc:
            raise _UsageError(f"--registry: {exc.detail}") from None
        if own.key_type != "ed25519-pub":
            raise _UsageError("--registry is not an ed25519 did:key")
        if given is not None and given != own.raw:
            raise _UsageError("--registry-key is not the key of the registry did:key")
        return own.raw, "from the did:key"
    if given is not None:
        return given, "from --registry-key"
    if offline:
        raise _UsageError("a did:web registry needs --registry-key with --offline")
    try:
        document = (await resolver.resolve(registry)).document
    except ResolutionError as exc:
        raise _CannotVerifyError(
            f"cannot resolve the registry {registry}: {exc.error_type}: {exc.detail}"
        ) from exc
    return _key_in(registry, document), f"from the DID document of {registry}"


def _key_in(registry: DID, document: Mapping[str, Any]) -> bytes:
    """The registry's Ed25519 key among its ``assertionMethod`` keys."""
    methods = {
        vm.get("id"): vm
        for vm in document.get("verificationMethod", [])
        if isinstance(vm, dict)
    }
    found: dict[str, bytes] = {}
    for ref in document.get("assertionMethod", []):
        vm = ref if isinstance(ref, dict) else methods.get(ref)
        if vm is None and isinstance(ref, str) and ref.startswith("#"):
            vm = methods.get(f"{registry}{ref}")
        if not isinstance(vm, dict) or vm.get("type") not in _KEY_TYPES:
            continue
        try:
            key = decode_multikey(vm.get("publicKeyMultibase", ""))
        except ResolutionError:
            continue
        if key.key_type == "ed25519-pub" and vm.get("controller") == str(registry):
            found[str(vm.get("id"))] = key.raw
    preferred = found.get(f"{registry}#registry-key")
    if preferred is not None:
        return preferred
    if len(found) == 1:
        return next(iter(found.values()))
    raise _CannotVerifyError(
        f"{registry} lists {len(found)} ed25519 assertion keys: "
        "say which with --registry-key"
    )


def _check_requested(report: VerificationReport, url: str) -> None:
    """An answer fetched from an entity URL must be about that entity."""
    answer = report.answer
    parts = urlsplit(url)
    if answer is None or _ENTITY_PATH not in parts.path:
        return
    name = "requested entity"
    # As the server reads it (registry.http): the raw last path segment, since
    # percent-encoding is DID syntax; a fully encoded DID is decoded once.
    asked = parts.path.rpartition("/")[2]
    if asked[:6].lower() == "did%3a":
        asked = unquote(asked)
    if answer.get("entity") != asked:
        report.failed(name, f"asked about {asked}, the answer is about another DID")
        return
    at = parse_qs(parts.query).get("at")
    if at:
        try:
            wanted = format_time(parse_time(at[0]))
        except ValueError:
            wanted = at[0]
        if answer.get("at") != wanted:
            report.failed(
                name, f"asked at {at[0]}, the answer is at {answer.get('at')}"
            )
            return
    report.passed(name, f"the answer is about {asked}, as asked")


_MARKS: Final = {
    CheckStatus.PASSED: ("\u2713", "ok"),
    CheckStatus.FAILED: ("\u2717", "FAIL"),
    CheckStatus.SKIPPED: ("\u2013", "skip"),
}


def _print_report(report: VerificationReport, key_source: str) -> None:
    encoding = sys.stdout.encoding or "ascii"
    try:
        "\u2713\u2717\u2013".encode(encoding)
        fancy = True
    except (UnicodeEncodeError, LookupError):
        fancy = False
    lines = []
    if report.question:
        lines.append(f"answer:     {report.question}")
    lines.append(f"registry:   {report.registry} (key {key_source})")
    if report.checkpoint is not None:
        lines.append(f"checkpoint: size {report.checkpoint.size}")
    for check in report.checks:
        mark = _MARKS[check.status][0 if fancy else 1]
        lines.append(f"  {mark} {check.name}: {check.detail}")
    skipped = sum(c.status is CheckStatus.SKIPPED for c in report.checks)
    if report.ok:
        verdict = "VERIFIED"
        if skipped:
            verdict += f" ({skipped} check{'s' if skipped > 1 else ''} not run)"
    else:
        verdict = "NOT VERIFIED"
    lines.append(verdict)
    print("\n".join(lines))
