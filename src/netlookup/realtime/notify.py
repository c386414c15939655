"""Change and import events, emitted to rooms: ``data:<category>`` subscribers and the ``imports`` room."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

IMPORTS_ROOM = "imports"


def data_room(category: str) -> str:
    return f"data:{category}"


def changes_records(added: object, removed: object, checksum: object) -> bool:
    """Whether a data:changed announces different records: a re-import of the same content (nothing added or
    removed) leaves the records and their ids as they were, so no index needs rebuilding. A delete (null
    checksum) always changes them."""
    return bool(added) or bool(removed) or checksum is None


class Emitter(Protocol):
    async def emit(self, event: str, data: Any, *, to: str | None = None, namespace: str | None = None) -> Any: ...


class Notifier:
    """Emits through a Socket.IO server or a write-only manager; an emit failure is logged, never raised (the
    data is already committed; clients re-query on ``resync``)."""

    def __init__(self, emitter: Emitter | None, on_change: Callable[[str], None] | None = None):
        self._emitter = emitter
        # Called before data:changed leaves this process (the in-memory index drops its stale copy first).
        self.on_change = on_change

    async def _emit(self, event: str, data: dict[str, Any], room: str) -> None:
        if self._emitter is None:
            return
        try:
            await self._emitter.emit(event, data, to=room, namespace="/")
        except Exception:  # noqa: BLE001 - a lost notification must not fail the committed write
            log.exception("could not emit event=%s room=%s", event, room)

    async def data_changed(self, category: str, source: str, added: int, removed: int, checksum: str | None) -> None:
        if self.on_change is not None and changes_records(added, removed, checksum):
            self.on_change(category)
        payload = {"category": category, "source": source, "added": added, "removed": removed, "checksum": checksum}
        await self._emit("data:changed", payload, data_room(category))

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
    from netlookup.realtime.manager import ResilientRedisManager

    manager = ResilientRedisManager(redis_url, write_only=True)
    try:
        yield manager
    finally:
        redis = getattr(manager, "redis", None)
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()
