"""The Driver protocol and the registry the Resolver finds drivers in.

A driver resolves the DIDs of one or more methods. Drivers inherit nothing: any
object with these attributes and this coroutine is a driver (structural typing).
The composition root (``didtrust``) builds the ``DriverRegistry`` from the
built-in drivers plus entry points it was told to load; this module never
imports a driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from resolver.did import DID
from resolver.errors import MethodNotSupportedError
from resolver.models import ResolutionOptions, ResolutionResult

__all__ = ["Driver", "DriverRegistry"]


@runtime_checkable
class Driver(Protocol):
    """Resolves DIDs of one or more methods.

    ``resolve`` must raise nothing but ``ResolutionError`` subclasses; the
    Resolver wraps anything else in ``DriverError``. It receives a DID whose
    method is one of ``methods`` and options already checked against
    ``options``.
    """

    name: str
    """A short, stable name reported in resolution metadata, e.g. ``"did-key"``."""
    methods: frozenset[str]
    """The DID method names this driver resolves, e.g. ``{"key"}``."""
    options: frozenset[str]
    """Method-specific resolution options it understands (wire names)."""
    example_dids: tuple[str, ...]
    """DIDs that resolve successfully, for ``/1.0/testIdentifiers`` and the
    contract test that runs over every registered driver."""
    traits: dict[str, bool]
    """Universal Resolver method traits (``updateable``, ``deactivatable``, …)."""

    async def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Resolve ``did`` to its document and metadata."""
        ...


class DriverRegistry:
    """Maps DID method names to the driver that resolves them.

    A method has exactly one driver: registering a second one for the same
    method is an error, not an override.
    """

    def __init__(self) -> None:
        self._by_method: dict[str, Driver] = {}

    def register(self, driver: Driver) -> None:
        """Add ``driver`` for each of its methods.

        Raises:
            ValueError: another driver already resolves one of the methods, or
                the driver declares no methods.
        """
        if not driver.methods:
            raise ValueError(f"driver {driver.name!r} declares no methods")
        taken = sorted(m for m in driver.methods if m in self._by_method)
        if taken:
            others = ", ".join(f"{m} ({self._by_method[m].name})" for m in taken)
            raise ValueError(
                f"driver {driver.name!r}: methods already registered: {others}"
            )
        for method in driver.methods:
            self._by_method[method] = driver

    def get(self, method: str) -> Driver:
        """Return the driver for ``method``.

        Raises:
            MethodNotSupportedError: no driver resolves ``method``.
        """
        try:
            return self._by_method[method]
        except KeyError:
            raise MethodNotSupportedError(f"no driver for did:{method}") from None

    @property
    def methods(self) -> list[str]:
        """The supported method names, sorted."""
        return sorted(self._by_method)

    def drivers(self) -> Iterator[Driver]:
        """Each registered driver once, in order of first method name."""
        seen: set[int] = set()
        for method in self.methods:
            driver = self._by_method[method]
            if id(driver) not in seen:
                seen.add(id(driver))
                yield driver

    def __contains__(self, method: object) -> bool:
        return method in self._by_method

    def __len__(self) -> int:
        return len(self._by_method)
