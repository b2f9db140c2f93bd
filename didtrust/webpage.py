"""The page at ``/``: paste a DID, a DID URL or a credential and see the answer.

Three static files from ``didtrust/web`` (HTML, one script, one style sheet),
read once when the routes are built and served from memory with an ETag. The
page has no build step and no third-party code; its script calls only this
server's API (``/1.0/identifiers/…``, ``/credentials/verify``,
``/registry/v1/entities/…``). The Content-Security-Policy allows nothing else:
scripts, styles and connections from this origin only, no inline script, no
framing.

This module does not render anything on the server and keeps no state per
request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Final

from aiohttp import web

__all__ = ["PAGE_CSP", "page_routes"]

Handler = Callable[[web.Request], Awaitable[web.Response]]

PAGE_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_FILES: Final = {
    "/": ("index.html", "text/html"),
    "/ui/app.js": ("app.js", "text/javascript"),
    "/ui/style.css": ("style.css", "text/css"),
}


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    content_type: str
    etag: str


def _load() -> dict[str, _Asset]:
    folder = resources.files("didtrust") / "web"
    assets = {}
    for path, (name, content_type) in _FILES.items():
        body = (folder / name).read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        assets[path] = _Asset(body, content_type, etag)
    return assets


def _handler(asset: _Asset) -> Handler:
    headers = {
        "ETag": asset.etag,
        # Revalidate each time: an upgrade changes the files under the same
        # names, and a 304 costs next to nothing.
        "Cache-Control": "no-cache",
        "Content-Security-Policy": PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }

    async def serve(request: web.Request) -> web.Response:
        if asset.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=asset.body,
            headers=headers,
            content_type=asset.content_type,
            charset="utf-8",
        )

    return serve


def page_routes() -> list[web.RouteDef]:
    """GET routes for the page and its two assets.

    Raises:
        OSError: a file of the page is missing from the installation.
    """
    return [web.get(path, _handler(asset)) for path, asset in _load().items()]
