"""Change and import events, emitted to rooms: ``data:<category>`` subscribers and the ``imports`` room."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from netlookup.changes import ChangeListener, DataChange
from netlookup.realtime.manager import ResilientRedisManager
from netlookup.realtime.rooms import IMPORTS_ROOM, data_room

log = logging.getLogger(__name__)


class Emitter(Protocol):
    async def emit(self, event: str, data: Any, *, to: str | None = None, namespace: str | None = None) -> Any: ...


class Notifier:
    """The import service's events, emitted through a Socket.IO server or a write-only manager (None: nobody
    to tell). An emit failure is logged, never raised: the data is already committed, and clients re-query on
    ``resync``. ``on_change`` hears of every change this process makes before the event leaves it."""

    def __init__(self, emitter: Emitter | None, on_change: ChangeListener | None = None):
        self._emitter = emitter
        self._on_change = on_change

    async def _emit(self, event: str, data: dict[str, Any], room: str) -> None:
        if self._emitter is None:
            return
        try:
            await self._emitter.emit(event, data, to=room, namespace="/")
        except Exception:  # noqa: BLE001 - a lost notification must not fail the committed write
            log.exception("could not emit event=%s room=%s", event, room)

    async def data_changed(self, change: DataChange) -> None:
        if self._on_change is not None:
            await self._on_change(change)
        await self._emit("data:changed", change.as_payload(), data_room(change.category))

    async def import_progress(self, job_id: str, category: str, source: str, rows_done: int) -> None:
        payload = {"job_id": job_id, "category": category, "source": source, "rows_done": rows_done}
        await self._emit("import:progress", payload, IMPORTS_ROOM)

    async def import_done(self, result: dict[str, Any]) -> None:
        await self._emit("import:done", result, IMPORTS_ROOM)

    async def import_failed(self, job_id: str, category: str, source: str, status: int, detail: Any) -> None:
        payload = {"job_id": job_id, "category": category, "source": source, "status": status, "detail": detail}
        await self._emit("import:failed", payload, IMPORTS_ROOM)


@contextlib.asynccontextmanager
async def write_only_emitter(redis_url: str | None) -> AsyncIterator[Emitter | None]:
    """For processes without a Socket.IO server (the CLI): a write-only Redis manager that reaches the clients of
    every node, or None without Redis (nobody to tell)."""
    if not redis_url:
        yield None
        return
    manager = ResilientRedisManager(redis_url, write_only=True)
    try:
        yield manager
    finally:
        await manager.close()
