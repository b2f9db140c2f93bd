"""The page at ``/``: paste a DID, a DID URL or a credential and see the answer.

Three static files from ``didtrust/web`` (HTML, one script, one style sheet),
read once when the routes are built and served from memory with an ETag
(``apidocs.static_handler``, as ``/docs`` is). The page has no build step and
no third-party code; its script calls only this
server's API (``/1.0/identifiers/…``, ``/credentials/verify``,
``/registry/v1/entities/…``). The Content-Security-Policy allows nothing else:
scripts, styles and connections from this origin only, no inline script, no
framing.

This module does not render anything on the server and keeps no state per
request.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from aiohttp import web

from didtrust.apidocs import static_handler

__all__ = ["PAGE_CSP", "page_routes"]

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


_HEADERS: Final = {
    # Revalidate each time: an upgrade changes the files under the same names,
    # and a 304 costs next to nothing.
    "Cache-Control": "no-cache",
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def page_routes() -> list[web.RouteDef]:
    """GET routes for the page and its two assets.

    Raises:
        OSError: a file of the page is missing from the installation.
    """
    folder = resources.files("didtrust") / "web"
    return [
        web.get(path, static_handler((folder / name).read_bytes(), ctype, _HEADERS))
        for path, (name, ctype) in _FILES.items()
    ]
