"""Client managers: in-process for one node, Redis pub/sub across nodes (python-socketio's AsyncRedisManager).

The Redis manager here keeps the listener alive through Redis restarts with a short, capped retry, tells this
node's clients to ``resync`` when the listener comes back (events published meanwhile were lost), and never lets a
hung Redis block an emit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import socketio

from netlookup.changes import ChangeListener, DataChange

log = logging.getLogger(__name__)

CHANNEL = "netlookup"
PUBLISH_TIMEOUT = 2.0
MAX_RETRY_SLEEP = 2.0


class OrjsonModule:
    """A json module for python-socketio: orjson, which also writes stored JSON fragments as they are."""

    @staticmethod
    def dumps(obj: Any, **_kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(text: str | bytes, **_kwargs: Any) -> Any:
        return orjson.loads(text)


def redis_options() -> dict[str, Any]:
    """Options for the pub/sub connection: no read timeout on the idle listener (redis-py 8 sets one by default,
    which makes it reconnect in a loop), TCP keepalive and health checks so a dead connection is noticed."""
    return {
        "socket_timeout": None,
        "socket_connect_timeout": 2,
        "socket_keepalive": True,
        "health_check_interval": 15,
        "retry_on_timeout": True,
    }


class ResilientRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """AsyncRedisManager with a capped reconnect delay, a ``resync`` hint on reconnect and bounded publishes.

    ``on_remote_change`` hears of every ``data:changed`` another node publishes, before this node's clients get
    it; this node's own changes reach the listener through its Notifier instead, before they are published."""

    def __init__(
        self,
        url: str,
        *,
        write_only: bool = False,
        channel: str = CHANNEL,
        on_remote_change: ChangeListener | None = None,
    ):
        super().__init__(url, channel=channel, write_only=write_only, redis_options=redis_options(), json=OrjsonModule)
        self.listener_connected = False
        self._on_remote_change = on_remote_change
        self.thread: asyncio.Task[None] | None = None  # the listener, once initialize() started it
        self._deliveries: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        """Stop the listener (when it runs) and close the Redis connection (when one was made)."""
        if isinstance(self.thread, asyncio.Task):
            self.thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.thread
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        remote = message.get("host_id") != self.host_id
        if self._on_remote_change is not None and remote and message.get("event") == "data:changed":
            change = DataChange.from_payload((message.get("data") or [None])[0])
            if change is not None:
                # Delivered once this node's index serves the change; meanwhile the listener reads on.
                task = asyncio.create_task(self._deliver_change(self._on_remote_change, change, message))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)
                return
        await super()._handle_emit(message)

    async def _deliver_change(self, listener: ChangeListener, change: DataChange, message: dict[str, Any]) -> None:
        try:
            await listener(change)
        except Exception:  # noqa: BLE001 - the clients still hear of it and re-query
            log.exception("index refresh for a remote change failed category=%s", change.category)
        await super()._handle_emit(message)

    async def _publish(self, data: Any) -> Any:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                return await super()._publish(data)
        except TimeoutError:
            self.connected = False
            log.error("redis publish timed out: event not delivered to other nodes event=%s", data.get("event"))
            return None

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        retry_sleep = 0.25
        failed = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                self.listener_connected = True
                retry_sleep = 0.25
                if failed:
                    log.warning("redis listener reconnected: asking this node's clients to resync")
                    await self._emit_local("resync", {"reason": "redis reconnected"})
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any Redis failure: retry shortly
                if not failed or self.listener_connected:
                    log.error("redis listener lost: %s; retrying every %.2f s at most", exc, MAX_RETRY_SLEEP)
                self.listener_connected = False
                failed = True
                await asyncio.sleep(retry_sleep)
                retry_sleep = min(retry_sleep * 2, MAX_RETRY_SLEEP)

    async def _emit_local(self, event: str, data: Any) -> None:
        """Deliver to this node's clients only (never through Redis)."""
        await self.emit(event, data, namespace="/", ignore_queue=True)


def make_client_manager(redis_url: str | None, on_remote_change: ChangeListener | None = None) -> socketio.AsyncManager:
    """The Redis manager when Redis is configured, else python-socketio's in-process manager (one node: no
    other node's changes to hear of)."""
    if redis_url:
        return ResilientRedisManager(redis_url, on_remote_change=on_remote_change)
    return socketio.AsyncManager()
