"""The one hand-moved clock of the tests.

``Clock`` is a callable returning seconds, for every ``clock=``/``monotonic=``
parameter of the project (a wall clock in seconds since the epoch, or a
monotonic one whose start does not matter). The test moves it by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime

T2021 = datetime(2021, 3, 1, 9, 0, tzinfo=UTC)
"""When the test registries are created and first accredit (a fixed instant)."""


class Clock:
    """A clock (seconds) that only the test moves; starts at ``start``."""

    def __init__(self, start: datetime | float = T2021) -> None:
        self.now = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds

    @property
    def instant(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    @property
    def iat(self) -> int:
        return int(self.now)
