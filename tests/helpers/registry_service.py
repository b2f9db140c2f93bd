"""A RegistryService over a real SqliteStore, as the registry unit tests run it.

``open_service`` starts one on a database file with a clock the test moves and
the project's own did:key / did:jwk drivers; ``Registry`` is what the
``registry`` fixture (tests/unit/registry/conftest.py) gives a test: the
identity, the service, its clock, and a way to sign statements for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.identity import RegistryIdentity
from registry.service import RegistryService
from registry.sqlite import SqliteStore
from tests.helpers.clock import Clock
from tests.helpers.registry import (
    ROOT,
    Authority,
    DidResolver,
    make_statement,
)

DB_NAME = "registry.sqlite3"
ACCREDIT_DIPLOMAS = ("issue", "accredit")


@dataclass
class Registry:
    """An initialised registry: its identity, one running service, its clock."""

    path: Path
    identity: RegistryIdentity
    clock: Clock
    resolver: DidResolver
    service: RegistryService

    @property
    def aud(self) -> str:
        return str(self.identity.did)

    @property
    def store(self) -> SqliteStore:
        store = self.service.store
        assert isinstance(store, SqliteStore)
        return store

    def statement(self, signer: Authority = ROOT, **kwargs: Any) -> str:
        kwargs.setdefault("iat", self.clock.iat)
        kwargs.setdefault("aud", self.aud)
        return make_statement(signer, **kwargs)


async def open_service(
    path: Path,
    identity: RegistryIdentity,
    clock: Clock,
    resolver: DidResolver | None = None,
    **kwargs: Any,
) -> RegistryService:
    store = await SqliteStore.open(path)
    service = RegistryService(
        store=store,
        identity=identity,
        resolve=resolver or DidResolver(),
        clock=clock,
        **kwargs,
    )
    try:
        await service.start()
    except BaseException:
        await store.close()
        raise
    return service


async def close_service(service: RegistryService) -> None:
    await service.stop()
    await service.store.close()
