"""Redis health for /readyz: reachable, and how many nodes listen on the Socket.IO channel (PUBSUB NUMSUB)."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import redis.asyncio as aioredis

from netlookup.realtime.manager import CHANNEL

CHECK_TIMEOUT = 1.0


class RedisProbe:
    """A small client of its own (not the pub/sub one), made and closed by the lifespan."""

    def __init__(self, url: str | None):
        self._url = url
        self._client: aioredis.Redis | None = None

    async def __aenter__(self) -> RedisProbe:
        if self._url:
            self._client = aioredis.Redis.from_url(
                self._url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
            )
        return self

    async def __aexit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def check(self) -> dict[str, Any]:
        """``{"status": "ok", "channel_subscribers": n}`` or ``{"status": "unreachable: ..."}``."""
        if self._client is None:
            return {"status": "not configured"}
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self._client.ping()
                counts = await self._client.pubsub_numsub(CHANNEL)
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", with its kind
            return {"status": f"unreachable: {exc.__class__.__name__}"}
        subscribers = int(counts[0][1]) if counts else 0
        return {"status": "ok", "channel_subscribers": subscribers}
