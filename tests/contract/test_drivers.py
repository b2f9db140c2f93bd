"""One contract, every registered driver: each example DID resolves, over HTTP too.

The registry is the one the server builds from its settings, so a driver added
there (or loaded from an entry point) is covered without writing a new test.
"""

from __future__ import annotations

import json
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from didtrust.plugins import build_registry, load_entry_point_drivers
from didtrust.settings import Settings, SettingsError
from resolver.did import parse_did
from resolver.driver import Driver
from resolver.service import Resolver

REGISTRY = build_registry(Settings())
CASES = [
    pytest.param(driver, did, id=f"{driver.name}:{did[:40]}")
    for driver in REGISTRY.drivers()
    for did in driver.example_dids
]
OFFLINE_DRIVERS = [d for d in REGISTRY.drivers() if d.name in ("did-key", "did-jwk")]


def test_every_builtin_driver_satisfies_the_protocol_and_has_examples():
    assert {"key", "jwk"} <= set(REGISTRY.methods)
    for driver in REGISTRY.drivers():
        assert isinstance(driver, Driver)
        assert driver.methods
        assert set(driver.traits) >= {"updateable", "deactivatable"}
    for driver in OFFLINE_DRIVERS:
        assert driver.example_dids, driver.name


@pytest.mark.parametrize(("driver", "did"), CASES)
async def test_example_did_resolves_to_a_document_with_its_id(driver, did):
    parsed = parse_did(did)
    assert parsed.method in driver.methods
    res = await Resolver(drivers=REGISTRY).resolve(parsed)
    doc = res.document
    assert doc["id"] == did
    for vm in doc.get("verificationMethod", []):
        assert vm["controller"] == did
        assert vm["id"].startswith(did + "#")
    json.loads(res.document_bytes)


@pytest.mark.parametrize(("driver", "did"), CASES)
async def test_example_did_resolves_over_http(client, driver, did):
    resp = await client.get(
        "/1.0/identifiers/" + did, headers={"Accept": "application/did+json"}
    )
    assert resp.status == 200
    assert (await resp.json(content_type=None))["id"] == did


async def test_test_identifiers_route_lists_every_example(client):
    listed = await (await client.get("/1.0/testIdentifiers")).json()
    for driver in REGISTRY.drivers():
        for did in driver.example_dids:
            assert did in listed[parse_did(did).method]


# -- entry points --------------------------------------------------------------

PLUGIN = textwrap.dedent(
    """
    from resolver.models import ResolutionResult


    class EchoDriver:
        name = "echo"
        methods = frozenset({"echo"})
        options = frozenset()
        example_dids = ("did:echo:hello",)
        traits = {"updateable": False, "deactivatable": False}

        def __init__(self, settings):
            self.settings = settings

        async def resolve(self, did, options):
            return ResolutionResult(document={"id": str(did)})


    class KeyClaimer(EchoDriver):
        name = "key-claimer"
        methods = frozenset({"key"})


    def not_a_driver(settings):
        return object()
    """
)


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A real distribution on sys.path declaring didtrust.drivers entry points."""
    (tmp_path / "echo_driver.py").write_text(PLUGIN)
    dist = tmp_path / "echo_driver-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: echo-driver\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[didtrust.drivers]\n"
        "echo = echo_driver:EchoDriver\n"
        "broken = echo_driver:not_a_driver\n"
        "keyclaimer = echo_driver:KeyClaimer\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("echo_driver", None)


def test_installed_plugin_is_not_loaded_unless_allow_listed(installed_plugin):
    assert "echo" not in build_registry(Settings()).methods


async def test_allow_listed_plugin_is_loaded_and_resolves(installed_plugin):
    registry = build_registry(Settings(drivers=("echo",)))
    assert "echo" in registry.methods
    for did in registry.get("echo").example_dids:
        res = await Resolver(drivers=registry).resolve(did)
        assert res.document["id"] == did


def test_allow_listed_but_missing_plugin_is_a_settings_error(installed_plugin):
    with pytest.raises(SettingsError, match="'ghost' is not installed"):
        build_registry(Settings(drivers=("ghost",)))


def test_plugin_that_is_not_a_driver_is_refused(installed_plugin):
    with pytest.raises(SettingsError, match="does not implement the Driver protocol"):
        build_registry(Settings(drivers=("broken",)))


def test_plugin_claiming_a_builtin_method_is_refused(installed_plugin):
    with pytest.raises(SettingsError, match="already registered: key"):
        build_registry(Settings(drivers=("keyclaimer",)))


def test_plugin_that_fails_to_import_is_a_settings_error():
    ep = EntryPoint(
        name="ghost", value="no_such_module_here:Driver", group="didtrust.drivers"
    )
    with pytest.raises(SettingsError, match="failed to load"):
        load_entry_point_drivers(["ghost"], settings=Settings(), available=lambda: [ep])
