"""The baseline for ``bench.resolve``: the smallest useful aiohttp server.

One handler that answers ``GET /hello`` with a small JSON body; no middleware,
no access log. It measures what aiohttp and the load generator cost on this
machine, so the resolver's figures can be read as a ratio against it. It is not
part of didtrust and does nothing else.

Usage: ``python -m bench.hello --port P`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse

from aiohttp import web

BODY = {"status": "ok", "hello": "world"}


async def hello(request: web.Request) -> web.Response:
    """Answer with a fixed small JSON body."""
    return web.json_response(BODY)


def main() -> None:
    """Serve on loopback until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m bench.hello", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_get("/hello", hello)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
