"""Builds the driver registry: built-in drivers plus allow-listed entry points.

Third-party drivers register under the ``didtrust.drivers`` entry-point group,
but are loaded only when named in the ``drivers`` setting: a trust service must
not run every package that happens to be installed (see STYLE.md §5).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points

from didtrust.settings import Settings, SettingsError
from drivers.jwk import JwkDriver
from drivers.key import KeyDriver
from resolver.driver import Driver, DriverRegistry

__all__ = ["ENTRY_POINT_GROUP", "build_registry", "load_entry_point_drivers"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "didtrust.drivers"


def builtin_drivers(settings: Settings) -> list[Driver]:
    """The drivers that need no outbound I/O (did:web is added by the app)."""
    return [
        KeyDriver(
            enable_encryption_key_derivation=settings.did_key_encryption_key_derivation
        ),
        JwkDriver(),
    ]


def load_entry_point_drivers(
    names: Iterable[str],
    *,
    settings: Settings,
    available: Callable[[], Iterable[EntryPoint]] | None = None,
) -> list[Driver]:
    """Load the named drivers from the ``didtrust.drivers`` entry-point group.

    An entry point must name a callable taking the settings and returning a
    Driver (a driver class with such a constructor does).

    Raises:
        SettingsError: a named driver is not installed, fails to load, or does
            not satisfy the Driver protocol.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    found = {
        ep.name: ep
        for ep in (available() if available else entry_points(group=ENTRY_POINT_GROUP))
    }
    out: list[Driver] = []
    for name in wanted:
        ep = found.get(name)
        if ep is None:
            raise SettingsError(
                f"driver {name!r} is not installed in {ENTRY_POINT_GROUP}"
            )
        try:
            factory = ep.load()
            driver = factory(settings)
        except Exception as exc:
            raise SettingsError(f"driver {name!r} failed to load: {exc}") from exc
        if not isinstance(driver, Driver):
            raise SettingsError(
                f"driver {name!r} does not implement the Driver protocol"
            )
        log.info(
            "loaded driver %s from %s for %s",
            driver.name,
            ep.value,
            sorted(driver.methods),
        )
        out.append(driver)
    return out


def build_registry(settings: Settings, *extra: Driver) -> DriverRegistry:
    """Register the built-in drivers, then ``extra``, then allow-listed plugins.

    Raises:
        SettingsError: a plugin cannot be loaded or claims a taken method.
    """
    registry = DriverRegistry()
    for driver in [*builtin_drivers(settings), *extra]:
        registry.register(driver)
    for driver in load_entry_point_drivers(settings.drivers, settings=settings):
        try:
            registry.register(driver)
        except ValueError as exc:
            raise SettingsError(str(exc)) from exc
    return registry
