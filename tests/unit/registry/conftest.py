"""Fixtures shared by the registry unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.clock import Clock
from tests.helpers.registry import DidResolver, init_registry
from tests.helpers.registry_answers import World, build_world
from tests.helpers.registry_service import (
    DB_NAME,
    Registry,
    close_service,
    open_service,
)


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Real answers of two registries (built once for the package)."""
    return asyncio.run(build_world(tmp_path_factory.mktemp("registry")))


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[Registry]:
    """An initialised registry in ``tmp_path``, its service running."""
    identity = await init_registry(tmp_path)
    clock = Clock()
    resolver = DidResolver()
    service = await open_service(tmp_path / DB_NAME, identity, clock, resolver)
    yield Registry(tmp_path / DB_NAME, identity, clock, resolver, service)
    await close_service(service)
