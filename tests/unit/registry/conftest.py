"""Fixtures shared by the registry unit tests."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers.registry_answers import World, build_world


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Real answers of two registries (built once for the package)."""
    return asyncio.run(build_world(tmp_path_factory.mktemp("registry")))
