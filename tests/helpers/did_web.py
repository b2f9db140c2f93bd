"""did:web through the app: a DID on a loopback server, its document, one GET.

- ``did_for``: the did:web naming a ``serve_app`` server under a test host name;
- ``web_document``: a one-key (Multikey) DID document for it;
- ``get``: ``GET /1.0/identifiers/{identifier}`` on a test client, sending the
  identifier exactly as given (no re-encoding of ``%3A``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from yarl import URL

from tests.helpers.fakes import MULTIKEY
from tests.helpers.https_server import LocalServer


def did_for(server: LocalServer, host: str) -> str:
    """The did:web of ``server``'s root under ``host`` (port percent-encoded)."""
    return f"did:web:{host}%3A{server.port}"


def web_document(
    did: str, multikey: str = MULTIKEY, *, absolute_refs: bool = False
) -> dict[str, Any]:
    """A document with one Multikey method ``#k1``, also its assertion method.

    ``assertionMethod`` refers to the method relatively (``#k1``) unless
    ``absolute_refs``.
    """
    vm = f"{did}#k1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey,
            }
        ],
        "assertionMethod": [vm if absolute_refs else "#k1"],
    }


async def get(
    client: TestClient[Any, Any], identifier: str, **kwargs: Any
) -> tuple[Any, Any]:
    """Resolve ``identifier`` through the app; the response and its JSON body."""
    url = URL(
        str(client.make_url("/")).rstrip("/") + "/1.0/identifiers/" + identifier,
        encoded=True,
    )
    resp = await client.session.get(url, **kwargs)
    return resp, json.loads(await resp.read())
