"""A bounded queue in front of the database connection pool.

A lookup on the database path needs one connection per category at the same time; taking them one by one lets
concurrent requests each hold part of what they need and wait on each other. The gate hands out all of a
request's connections at once, or none, and a request that cannot get them within ``timeout`` seconds is shed with
503 + Retry-After instead of waiting on the pool for its full timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from netlookup.errors import ServiceUnavailable
from netlookup.metrics import SHED_REQUESTS


class DbGate:
    def __init__(self, capacity: int, timeout: float):
        self.capacity = max(1, capacity)
        self.timeout = timeout
        self.available = self.capacity
        self.waiting = 0
        self._condition = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slots(self, wanted: int, *, reason: str = "database busy") -> AsyncIterator[None]:
        """Hold ``wanted`` connections' worth of the pool (capped at capacity) for the block."""
        wanted = max(1, min(wanted, self.capacity))
        async with self._condition:
            self.waiting += 1
            try:
                await asyncio.wait_for(self._condition.wait_for(lambda: self.available >= wanted), self.timeout)
            except TimeoutError:
                SHED_REQUESTS.labels(reason=reason).inc()
                raise ServiceUnavailable(
                    f"the database is busy (waited {self.timeout:g} s for a connection); retry shortly", retry_after=1
                ) from None
            finally:
                self.waiting -= 1
            self.available -= wanted
        try:
            yield
        finally:
            async with self._condition:
                self.available += wanted
                self._condition.notify_all()
