"""The did:web origin for ``bench.web``: loopback DNS and HTTPS in one process.

It runs the test helpers ``tests.helpers.dns_server`` (a UDP DNS server on
127.0.0.1 answering ``NAME → 127.0.0.1``) and ``tests.helpers.https_server``
(an aiohttp HTTPS server on 127.0.0.1 with a certificate for ``NAME`` from a
fresh trustme CA), so that didtrust fetches ``did:web:NAME%3APORT:u<i>``
(did:web spec §3.2: ``https://NAME:PORT/u<i>/did.json``) exactly as it would
fetch a remote document: DNS lookup, TLS, HTTP.

Every ``GET /u<i>/did.json`` builds the same document for ``i`` afresh (an
Ed25519 Multikey from a key derived from ``i``), so every fetch costs the
origin the same: nothing is cached here. The answer carries
``Cache-Control: max-age=3600``. ``GET /stats`` answers how many documents were
served (and the last few), which tells the benchmark whether a "cached" run
really was, and how many DNS queries arrived (one per new connection).

When both servers are up it writes ``{"dns": [ip, port], "port": P, "ca_file":
F, "name": NAME}`` to ``--info`` (atomically) and runs until SIGTERM or SIGINT.
It is not part of didtrust and listens on loopback only.

Usage: ``python -m bench.did_origin --dir DIR --info FILE [--name uni.test]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import signal
from collections import deque
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
)

from resolver.keys import encode_multikey
from tests.helpers.dns_server import serve_dns
from tests.helpers.https_server import TestPKI, serve_app

DOC_PATH = re.compile(r"/(u[0-9]{1,9})/did\.json")
CACHE_CONTROL = "max-age=3600"


class Origin:
    """The documents' state: the HTTPS port (known once bound) and a counter."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.served = 0
        self.recent: deque[str] = deque(maxlen=8)
        self.dns_queries: Callable[[], int] = lambda: 0

    def did(self, segment: str) -> str:
        """The did:web whose document is at ``/<segment>/did.json``."""
        return f"did:web:{self.name}%3A{self.port}:{segment}"


ORIGIN = web.AppKey("origin", Origin)


def document(did: str, segment: str) -> dict[str, object]:
    """A DID document with one Ed25519 Multikey, built from scratch each time."""
    seed = hashlib.sha256(f"didtrust-bench-web:{segment}".encode()).digest()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    vm = f"{did}#key-1"
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": encode_multikey(
                    "ed25519-pub", public.public_bytes_raw()
                ),
            }
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
    }


async def serve_document(request: web.Request) -> web.Response:
    """``/u<i>/did.json``: the document of ``did:web:NAME%3APORT:u<i>``."""
    origin = request.app[ORIGIN]
    match = DOC_PATH.fullmatch(request.path)
    if match is None:
        raise web.HTTPNotFound()
    segment = match.group(1)
    origin.served += 1
    origin.recent.append(segment)
    body = json.dumps(document(origin.did(segment), segment)).encode()
    return web.Response(
        body=body,
        headers={
            "Content-Type": "application/did+json",
            "Cache-Control": CACHE_CONTROL,
        },
    )


async def stats(request: web.Request) -> web.Response:
    """How many documents were served so far."""
    origin = request.app[ORIGIN]
    return web.json_response(
        {
            "served": origin.served,
            "recent": list(origin.recent),
            "dnsQueries": origin.dns_queries(),
        }
    )


async def run(directory: Path, info: Path, name: str) -> None:
    """Serve until SIGTERM or SIGINT."""
    pki = TestPKI(directory)
    origin = Origin(name)
    app = web.Application()
    app[ORIGIN] = origin
    app.router.add_get("/stats", stats)
    app.router.add_get("/{tail:.*}", serve_document)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with (
        serve_dns({name: ["127.0.0.1"]}) as dns,
        serve_app(app, ssl_context=pki.server_context(name)) as site,
    ):
        origin.port = site.port
        origin.dns_queries = lambda: len(dns.queries)
        # serve_app records every path it serves; this process serves a
        # bounded number of documents per benchmark run, so that stays small.
        tmp = info.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "dns": list(dns.address),
                    "port": site.port,
                    "ca_file": pki.ca_file,
                    "name": name,
                }
            )
        )
        os.replace(tmp, info)
        await stop.wait()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.did_origin", description=__doc__
    )
    parser.add_argument("--dir", required=True, help="where to write the CA file")
    parser.add_argument("--info", required=True, help="JSON file written when ready")
    parser.add_argument("--name", default="uni.test", help="host name (uni.test)")
    args = parser.parse_args()
    asyncio.run(run(Path(args.dir), Path(args.info), args.name.lower()))


if __name__ == "__main__":
    main()
