"""The rate-limit protocol: a budget of requests per client key.

:class:`Limiter` is what request handling awaits before it serves a limited
request. The in-process implementation is ``didtrust.ratelimit.TokenBuckets``
(a token bucket per key, bounded in keys). A shared implementation (Redis, so
that N workers share one budget instead of N) implements the same coroutine,
e.g. the same token-bucket arithmetic in one atomic server-side script per
call, keyed by the client key, with the key expiring once its bucket would be
full again (``burst / rate`` seconds).

This module does no I/O and knows nothing of HTTP: the caller finds the key
(``didtrust.ratelimit.client_key``) and renders a refusal.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Limiter"]


@runtime_checkable
class Limiter(Protocol):
    """A budget of ``rate`` requests per second, in bursts of ``burst``, per key."""

    @property
    def rate(self) -> float:
        """Requests per second a key may sustain."""
        ...

    @property
    def burst(self) -> float:
        """Requests a key may send at once, after being idle."""
        ...

    async def acquire(self, key: str) -> float:
        """Take one request from ``key``'s budget.

        Returns:
            0.0 if the request may go ahead (it was counted), else the seconds
            until one will be allowed (nothing was counted, so waiting that long
            is enough).
        """
        ...
