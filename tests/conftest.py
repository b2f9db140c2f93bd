"""Shared fixtures: test settings and an app client over a StaticDriver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from didtrust.app import create_app
from didtrust.settings import Settings
from resolver.driver import DriverRegistry
from tests.helpers.fakes import EXAMPLE_DID, SERVICES, StaticDriver, example_document


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"))


@pytest.fixture
def static_driver() -> StaticDriver:
    return StaticDriver(
        {
            EXAMPLE_DID: example_document(EXAMPLE_DID, services=SERVICES),
            "did:example:gone": example_document("did:example:gone"),
        },
        deactivated=frozenset({"did:example:gone"}),
    )


ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def static_client(
    aiohttp_client: ClientFactory, settings: Settings, static_driver
):
    """A client for an app whose only driver is the StaticDriver (did:example)."""
    registry = DriverRegistry()
    registry.register(static_driver)
    return await aiohttp_client(create_app(settings, registry=registry))


@pytest.fixture
async def client(aiohttp_client: ClientFactory, settings: Settings):
    """A client for the app with its built-in drivers, as served."""
    return await aiohttp_client(create_app(settings))
