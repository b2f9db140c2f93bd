"""The ``didtrust`` command line.

::

    didtrust serve [--host H] [--port P] [--workers N] [--config FILE]
    didtrust resolve DID_OR_DID_URL [--accept TYPE] [--option k=v ...]
    didtrust --version

Exit codes: 0 success; 1 the resolution failed (the error type is printed on
stderr, the error result as JSON on stdout); 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from didtrust import __version__
from didtrust.settings import Settings, SettingsError
from didtrust.supervisor import PortInUseError
from registry.errors import KeyFileError
from resolver.errors import ResolutionError

__all__ = ["main"]

log = logging.getLogger("didtrust")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="didtrust",
        description="DID resolver and signed registry of accredited issuers.",
    )
    parser.add_argument(
        "--version", action="version", version=f"didtrust {__version__}"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML settings file (default: $DIDTRUST_CONFIG)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1)")

    resolve = sub.add_parser("resolve", help="resolve a DID or dereference a DID URL")
    resolve.add_argument("identifier", metavar="DID_OR_DID_URL")
    resolve.add_argument(
        "--accept",
        default=None,
        help="media type (default: application/did-resolution)",
    )
    resolve.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="K=V",
        help="a resolution option, e.g. publicKeyFormat=JsonWebKey2020 (repeatable)",
    )
    from didtrust.registry_cli import add_key_parser, add_registry_parser
    from didtrust.verify_cli import add_verify_parser

    add_registry_parser(sub)
    add_key_parser(sub)
    add_verify_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "serve":
            settings = Settings.load(
                config=args.config, host=args.host, port=args.port, workers=args.workers
            )
            _setup_logging(settings)
            return serve(settings)
        if args.command == "key":
            from didtrust.registry_cli import run_key

            return run_key(args)
        settings = Settings.load(config=args.config)
        _setup_logging(settings, quiet=True)
        if args.command == "registry":
            from didtrust.registry_cli import run_registry

            return asyncio.run(run_registry(args, settings))
        if args.command == "verify":
            from didtrust.verify_cli import run_verify

            return asyncio.run(run_verify(args, settings))
        options = _parse_options(args.option)
        return asyncio.run(
            resolve_command(settings, args.identifier, args.accept, options)
        )
    except (SettingsError, KeyFileError, PortInUseError) as exc:
        print(f"didtrust: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _setup_logging(settings: Settings, *, quiet: bool = False) -> None:
    """JSON lines for the server (one per request, with its id); text for commands.

    The server's handlers drop repeats past a budget (``RepeatFilter``): a
    failure that anyone can make recur must not become a log flood.
    """
    if not quiet and settings.log_format == "json":
        from didtrust.observability import configure_json_logging

        configure_json_logging(settings.log_level.upper())
    else:
        level = (
            logging.WARNING if quiet else getattr(logging, settings.log_level.upper())
        )
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    if not quiet:
        from didtrust.serving import RepeatFilter

        repeats = RepeatFilter()
        for handler in logging.getLogger().handlers:
            handler.addFilter(repeats)


def _parse_options(pairs: Sequence[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SettingsError(f"--option needs NAME=VALUE, not {pair!r}")
        if name in options:
            raise SettingsError(f"--option {name} given twice")
        options[name] = value
    return options


# -- serve -------------------------------------------------------------------


def _run_worker(
    settings: Settings, reuse_port: bool, parent: Connection | None = None
) -> None:
    from didtrust.app import create_app
    from didtrust.serving import run

    _setup_logging(settings)
    if parent is not None:
        from didtrust.supervisor import exit_with_parent

        exit_with_parent(parent)
    app = create_app(settings)
    run(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        shutdown_timeout=settings.shutdown_timeout,
        max_connections=settings.max_connections,
        on_shed=lambda: log.warning("connection limit reached: a connection shed"),
    )


def serve(settings: Settings) -> int:
    """Serve HTTP with ``settings.workers`` processes sharing the port.

    The address must be free: a server (or orphaned workers) already listening
    there is refused with one line and exit code 2. With several workers a
    supervisor replaces a worker that dies and the workers stop when the
    supervisor does (see :mod:`didtrust.supervisor`).

    On SIGTERM or SIGINT each worker closes its listening socket at once (new
    connections are refused), lets the requests in flight finish for up to
    ``settings.shutdown_timeout`` seconds (cancelling those still running),
    then commits the registry statements still queued and closes the store;
    the exit code is then 0.

    Raises:
        KeyFileError: the registry key file exists but cannot be used (checked
            here, once, rather than as a traceback in every worker).
        PortInUseError: the address is taken.
    """
    from didtrust.supervisor import check_port_free
    from registry.identity import load_key_file

    if settings.registry_key_file.exists():
        load_key_file(settings.registry_key_file)
    check_port_free(settings.host, settings.port)
    log.info(
        "didtrust %s serving on http://%s:%d with %d worker(s)",
        __version__,
        settings.host,
        settings.port,
        settings.workers,
    )
    if settings.workers == 1:
        _run_worker(settings, reuse_port=False)
        return EXIT_OK
    from didtrust.observability import multiprocess_metrics_dir, worker_exited
    from didtrust.supervisor import Supervisor

    # Workers share one port, so a scrape reaches any one of them: metrics are
    # kept in a shared directory and summed (ADR 0006).
    with multiprocess_metrics_dir() as metrics_dir:
        supervisor = Supervisor(
            _run_worker,
            (settings, True),
            settings.workers,
            on_exit=lambda pid: worker_exited(pid, metrics_dir),
        )
        signal.signal(signal.SIGTERM, supervisor.stop)
        signal.signal(signal.SIGINT, supervisor.stop)
        supervisor.run()
    failed = [
        code for code in supervisor.final_exit_codes if code not in (0, -signal.SIGTERM)
    ]
    if supervisor.gave_up or failed:
        log.error("workers exited abnormally: exit codes %s", failed)
        return EXIT_FAILED
    return EXIT_OK


# -- resolve -----------------------------------------------------------------


async def resolve_command(
    settings: Settings, identifier: str, accept: str | None, options: dict[str, str]
) -> int:
    """Resolve or dereference ``identifier`` and print the answer as JSON."""
    from didtrust.problems import resolution_problem
    from didtrust.wiring import open_resolver
    from resolver.did import parse_did_url
    from resolver.http import RESOLUTION_CONTEXT, error_result, negotiate

    answer: dict[str, Any]
    dereferencing = False
    async with open_resolver(settings) as resolver:
        try:
            url = parse_did_url(identifier)
            dereferencing = not url.is_bare_did
            kind, ctype = negotiate(accept, dereferencing=dereferencing)
            if accept:
                options.setdefault("accept", ctype)
            if not dereferencing:
                res = await resolver.resolve(url.did, options)
                if kind == "doc":
                    answer = res.document
                else:
                    answer = {
                        "@context": RESOLUTION_CONTEXT,
                        "didDocument": res.document,
                        "didResolutionMetadata": res.resolution_metadata(
                            "application/did+ld+json"
                        ),
                        "didDocumentMetadata": res.result.document_metadata,
                    }
            else:
                deref = await resolver.dereference(url, options)
                if deref.redirect is not None:
                    answer = {"redirect": deref.redirect}
                elif kind == "doc":
                    answer = deref.content or {}
                else:
                    answer = {
                        "@context": RESOLUTION_CONTEXT,
                        "content": deref.content,
                        "dereferencingMetadata": deref.resolution.resolution_metadata(
                            "application/did+ld+json"
                        ),
                        "contentMetadata": deref.content_metadata,
                    }
        except ResolutionError as exc:
            # The error result the server would answer, status included.
            _status, problem = resolution_problem(exc)
            error = error_result(problem, dereferencing=dereferencing)
            print(json.dumps(error, indent=2))
            print(f"didtrust: {exc.error_type}: {exc.detail}", file=sys.stderr)
            return EXIT_FAILED
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return EXIT_OK
