"""Real fakes: objects that implement the project's interfaces, not mocks."""

from __future__ import annotations

import asyncio
from typing import Any

from resolver.did import DID
from resolver.errors import NotFoundError, ResolutionError
from resolver.models import ResolutionOptions, ResolutionResult


class StaticDriver:
    """A Driver answering from a dict; counts calls; can be slowed or broken.

    ``documents`` maps a DID to its document; a DID not in it is NOT_FOUND.
    ``fail`` (an exception) is raised on every call while set.
    """

    def __init__(
        self,
        documents: dict[str, dict[str, Any]] | None = None,
        *,
        method: str = "example",
        ttl: float | None = None,
        delay: float = 0.0,
        options: frozenset[str] = frozenset({"flavour"}),
        deactivated: frozenset[str] = frozenset(),
    ) -> None:
        self.name = f"static-{method}"
        self.methods = frozenset({method})
        self.options = options
        self.documents = documents or {}
        self.example_dids = tuple(self.documents)
        self.traits = {"updateable": False}
        self.ttl = ttl
        self.delay = delay
        self.deactivated = deactivated
        self.fail: BaseException | None = None
        self.calls = 0
        self.seen_options: list[ResolutionOptions] = []

    async def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        self.calls += 1
        self.seen_options.append(options)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        doc = self.documents.get(str(did))
        if doc is None:
            raise NotFoundError(f"{did} is not known")
        meta: dict[str, Any] = {}
        if str(did) in self.deactivated:
            meta["deactivated"] = True
        return ResolutionResult(document=doc, document_metadata=meta, ttl=self.ttl)


EXAMPLE_DID = "did:example:alice"
"""The DID of the ``static_driver`` fixture (tests/conftest.py), with ``SERVICES``."""
SERVICES = [
    {
        "id": "#files",
        "type": "LinkedDomains",
        "serviceEndpoint": "https://files.example/base/",
    }
]

MULTIKEY = "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
ED25519_DID = f"did:key:{MULTIKEY}"
"""A did:key that resolves with the built-in drivers (an Ed25519 key)."""


def example_document(
    did: str, *, services: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A small well-formed DID document for ``did``."""
    vm = f"{did}#key-1"
    doc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": vm,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": MULTIKEY,
            }
        ],
        "assertionMethod": [vm],
        "authentication": ["#key-1"],
    }
    if services is not None:
        doc["service"] = services
    return doc


__all__ = [
    "ED25519_DID",
    "EXAMPLE_DID",
    "SERVICES",
    "ResolutionError",
    "StaticDriver",
    "example_document",
]
