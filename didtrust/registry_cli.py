"""``didtrust registry …`` and ``didtrust key …``: set up and feed a registry.

::

    didtrust registry init --root DID --governance-uri URI
                           (--governance-file FILE | --governance-sha256 HEX)
                           [--did-web HOST[:PORT][/PATH]] [--max-depth N]
    didtrust key generate --out FILE [--type ed25519|p-256|p-384|secp256k1]
    didtrust registry sign --key FILE --aud REGISTRY_DID --sub DID --act ACT
                           [--kid DIDURL] [--role R] [--actions A,B] [--resources R,S]
                           [--jurisdictions J] [--valid-from T] [--valid-until T]
                           [--name N] [--url U] [--domain D] [--country CC]
                           [--reason TEXT] [--out FILE]
    didtrust registry submit FILE.jws [--server URL]
    didtrust registry verify ANSWER --registry DID …   (see registry_verify.py)

Exit codes: 0 done; 1 refused or failed (the reason on stderr); 2 bad usage.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from didtrust.settings import Settings, SettingsError
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.errors import KeyFileError, RegistryError
from registry.identity import create_key_file, web_did
from registry.models import MAX_DEPTH, GovernanceFramework
from registry.service import genesis_leaf
from registry.statements import sign_statement
from resolver import strictjson
from resolver.did import parse_did
from resolver.errors import ResolutionError
from resolver.keys import encode_multikey
from resolver.timefmt import parse_time

__all__ = ["add_key_parser", "add_registry_parser", "run_key", "run_registry"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_CURVES: dict[str, tuple[ec.EllipticCurve, str]] = {
    "p-256": (ec.SECP256R1(), "p256-pub"),
    "p-384": (ec.SECP384R1(), "p384-pub"),
    "secp256k1": (ec.SECP256K1(), "secp256k1-pub"),
}


def add_registry_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``registry`` and its subcommands to the CLI's subparsers."""
    registry: argparse.ArgumentParser = sub.add_parser(
        "registry", help="set up, feed and check the trust registry"
    )
    cmds = registry.add_subparsers(dest="registry_command", metavar="COMMAND")

    init = cmds.add_parser("init", help="create the registry key, DID and log")
    init.add_argument("--root", required=True, help="DID of the root authority")
    init.add_argument(
        "--governance-uri", required=True, help="URI of the governance framework"
    )
    digest = init.add_mutually_exclusive_group(required=True)
    digest.add_argument("--governance-file", help="the framework document, to hash")
    digest.add_argument(
        "--governance-sha256", help="hex SHA-256 of the framework document"
    )
    init.add_argument(
        "--did-web",
        metavar="HOST[:PORT][/PATH]",
        help="give the registry a did:web served by this server (default: a did:key)",
    )
    init.add_argument(
        "--max-depth", type=int, default=MAX_DEPTH, help="authority chain cap"
    )

    sign = cmds.add_parser("sign", help="sign a statement with a local key")
    sign.add_argument(
        "--key", required=True, help="PEM private key (see `didtrust key generate`)"
    )
    sign.add_argument("--kid", help="DID URL of the key (default: its did:key)")
    sign.add_argument("--aud", required=True, help="the registry's DID")
    sign.add_argument("--sub", required=True, help="the subject's DID")
    sign.add_argument(
        "--act",
        required=True,
        choices=["accredit", "suspend", "reinstate", "revoke", "update"],
    )
    sign.add_argument("--role", choices=["accreditor", "issuer"])
    sign.add_argument("--actions", help="comma-separated, e.g. issue or issue,accredit")
    sign.add_argument("--resources", help="comma-separated credential types")
    sign.add_argument("--jurisdictions", help="comma-separated ISO 3166 codes")
    sign.add_argument("--valid-from", help="RFC 3339")
    sign.add_argument("--valid-until", help="RFC 3339")
    sign.add_argument("--name")
    sign.add_argument("--url")
    sign.add_argument("--domain")
    sign.add_argument("--country")
    sign.add_argument("--reason")
    sign.add_argument("--out", help="write the JWS here (default: stdout)")

    submit = cmds.add_parser("submit", help="submit a signed statement to a server")
    submit.add_argument("file", metavar="FILE.jws")
    submit.add_argument(
        "--server", help="base URL (default: http://HOST:PORT from settings)"
    )

    backup = cmds.add_parser(
        "backup", help="copy the log to a new file and check the copy"
    )
    backup.add_argument(
        "destination", metavar="DEST", help="a file that must not exist"
    )

    verify = cmds.add_parser("verify", help="check a registry answer offline")
    from didtrust.registry_verify import add_arguments

    add_arguments(verify)
    return registry


def add_key_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``key generate``."""
    key: argparse.ArgumentParser = sub.add_parser(
        "key", help="make keys for authorities"
    )
    cmds = key.add_subparsers(dest="key_command", metavar="COMMAND")
    gen = cmds.add_parser("generate", help="create a private key and print its did:key")
    gen.add_argument("--out", required=True, help="PEM file to create (mode 0600)")
    gen.add_argument(
        "--type", default="ed25519", choices=["ed25519", "p-256", "p-384", "secp256k1"]
    )
    return key


# -- key generate --------------------------------------------------------------


def _did_key_of(private_key: Any) -> str:
    public = private_key.public_key()
    if isinstance(private_key, Ed25519PrivateKey):
        raw = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "did:key:" + encode_multikey("ed25519-pub", raw)
    for curve, codec in _CURVES.values():
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and (
            private_key.curve.name == curve.name
        ):
            raw = public.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
            return "did:key:" + encode_multikey(codec, raw)
    raise KeyFileError("unsupported key type")


def run_key(args: argparse.Namespace) -> int:
    """Run ``didtrust key …``."""
    if args.key_command != "generate":
        print("didtrust key: say `generate`", file=sys.stderr)
        return EXIT_USAGE
    if args.type == "ed25519":
        private_key: Any = Ed25519PrivateKey.generate()
    else:
        private_key = ec.generate_private_key(_CURVES[args.type][0])
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = Path(args.out)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"didtrust: {path} exists: refusing to overwrite a key", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"didtrust: cannot create {path}: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    did = _did_key_of(private_key)
    print(
        json.dumps({"did": did, "kid": f"{did}#{did.split(':')[2]}", "key": str(path)})
    )
    return EXIT_OK


# -- registry ------------------------------------------------------------------


async def run_registry(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``didtrust registry …``."""
    command = args.registry_command
    try:
        if command == "init":
            return await _init(args, settings)
        if command == "sign":
            return _sign(args)
        if command == "submit":
            return await _submit(args, settings)
        if command == "backup":
            return await _backup(args, settings)
        if command == "verify":
            from didtrust.registry_verify import run

            code: int = await run(args, settings)
            return code
    except (RegistryError, ResolutionError) as exc:
        print(f"didtrust: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        "didtrust registry: say init, sign, submit, verify or backup", file=sys.stderr
    )
    return EXIT_USAGE


async def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from didtrust.registry_backup import backup_registry

    summary = await backup_registry(
        settings.database(),
        settings.registry_key_file,
        Path(args.destination),
    )
    print(
        f"backed up {summary.size} log entries to {summary.path}; "
        f"checkpoint of size {summary.checkpoint_size} verified, "
        f"root {summary.root_hash}"
    )
    return EXIT_OK


async def _init(args: argparse.Namespace, settings: Settings) -> int:
    root = parse_did(args.root)
    if args.governance_file:
        try:
            # A CLI reading one file before any concurrent work: blocking is fine.
            data = Path(args.governance_file).read_bytes()  # noqa: ASYNC240
            digest = hashlib.sha256(data).hexdigest()
        except OSError as exc:
            raise SettingsError(
                f"cannot read {args.governance_file}: {exc.strerror}"
            ) from exc
    else:
        digest = args.governance_sha256.lower()
    try:
        governance = GovernanceFramework(uri=args.governance_uri, sha256=digest)
    except ValidationError:
        raise SettingsError("--governance-sha256 must be 64 hex digits") from None
    if not 1 <= args.max_depth <= 10:
        raise SettingsError("--max-depth must be 1..10")
    did = None
    if args.did_web:
        host, _, path = args.did_web.partition("/")
        did = str(web_did(host, path))
    database = settings.database()
    if database.path is None:
        raise SettingsError(
            f"database_url {database}: registry init needs a database that "
            "outlives the process (sqlite:///PATH)"
        )
    if database.exists():
        raise KeyFileError(f"{database.path} exists: it already holds a registry")
    identity = create_key_file(settings.registry_key_file, did=did)
    leaf = genesis_leaf(
        identity=identity,
        root=root,
        governance=governance,
        max_depth=args.max_depth,
        now=_utcnow(),
    )
    async with await database.open() as store, store.write() as tx:
        await tx.append([leaf])
        root_hash = await tx.root()
        note = sign_checkpoint(
            Checkpoint(origin=identity.origin, size=1, root_hash=root_hash),
            identity.note_signer(),
        )
        await tx.put_checkpoint(1, root_hash, note)
    print(
        json.dumps(
            {
                "registry": str(identity.did),
                "origin": identity.origin,
                "publicKeyMultibase": identity.multikey,
                "vkey": identity.note_verifier().vkey(),
                "root": str(root),
                "governance": governance.model_dump(),
                "keyFile": str(settings.registry_key_file),
                "database": str(database.path),
            },
            indent=2,
        )
    )
    return EXIT_OK


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _load_private_key(path: str) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{path} is not an unencrypted PEM private key") from exc


def _sign(args: argparse.Namespace) -> int:
    private_key = _load_private_key(args.key)
    kid = args.kid
    if kid is None:
        did = _did_key_of(private_key)
        kid = f"{did}#{did.split(':')[2]}"
    claims: dict[str, Any] = {
        "iss": kid.split("#")[0],
        "sub": args.sub,
        "act": args.act,
        "aud": args.aud,
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
    }
    if args.role:
        claims["role"] = args.role
    if args.actions or args.resources or args.jurisdictions:
        scope: dict[str, Any] = {
            "actions": _split(args.actions) or [],
            "resources": _split(args.resources) or [],
        }
        if args.jurisdictions:
            scope["jurisdictions"] = _split(args.jurisdictions)
        claims["scope"] = scope
    for flag, name in (("valid_from", "validFrom"), ("valid_until", "validUntil")):
        value = getattr(args, flag)
        if value:
            try:
                parse_time(value)
            except ValueError:
                raise SettingsError(
                    f"--{flag.replace('_', '-')} must be RFC 3339"
                ) from None
            claims[name] = value
    subject = {
        k: getattr(args, k)
        for k in ("name", "url", "domain", "country")
        if getattr(args, k)
    }
    if subject:
        claims["subject"] = subject
    if args.reason:
        claims["reason"] = args.reason
    jws = sign_statement(claims, private_key=private_key, kid=kid)
    if args.out:
        try:
            Path(args.out).write_text(jws + "\n", encoding="ascii")
        except OSError as exc:
            print(f"didtrust: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
    else:
        print(jws)
    return EXIT_OK


async def _submit(args: argparse.Namespace, settings: Settings) -> int:
    import aiohttp

    try:
        jws = Path(args.file).read_text(encoding="ascii").strip()  # noqa: ASYNC240
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {args.file}: {exc}") from exc
    server = (args.server or f"http://{settings.host}:{settings.port}").rstrip("/")
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(
                server + "/registry/v1/statements",
                data=jws.encode(),
                headers={"Content-Type": "application/jose"},
            ) as resp,
        ):
            body = await resp.text()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        print(f"didtrust: cannot reach {server}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(body)
    if status != 201:
        try:
            problem = strictjson.loads(body)
        except (ValueError, RecursionError):
            problem = None
        detail = (
            f"{problem.get('title')}: {problem.get('detail')}"
            if isinstance(problem, dict)
            else body[:200]
        )
        print(f"didtrust: refused ({status}) {detail}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
