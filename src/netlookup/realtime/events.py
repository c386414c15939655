"""Socket.IO event handlers, as one namespace: streaming lookups and subscriptions. They call the same lookup
service as HTTP, with the same request model, and open a short database session per event, never one held for a
connection's life."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlookup.activity import Activity
from netlookup.auth import key_is_valid
from netlookup.categories import Category
from netlookup.config import Settings
from netlookup.container import Services
from netlookup.errors import BadInput, NetlookupError
from netlookup.lookup.request import LookupRequest
from netlookup.realtime.rooms import IMPORTS_ROOM, data_room

log = logging.getLogger(__name__)

# Built into python-socketio: not events a client sends.
_LIFECYCLE_EVENTS = ("connect", "disconnect")


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[Category] = Field(default_factory=list, max_length=4)
    imports: bool = False


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors(include_url=False)
    )


class LookupNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """The default namespace: the events docs/api.md's Socket.IO section lists, and an ``error`` reply to any
    other event name."""

    def __init__(self, settings: Settings, services: Callable[[], Services], activity: Activity):
        super().__init__("/")
        self._settings = settings
        self._services = services
        self._activity = activity

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in _LIFECYCLE_EVENTS or hasattr(self, f"on_{event}"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        detail = f"unknown event {event[:64]!r}: use lookup, subscribe or unsubscribe"
        await self._reply(sid, "error", {"detail": detail})
        return {"error": detail}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not self._settings.read_auth:
            return
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "authentication required: connect with auth={'token': KEY}"
            )
        if not key_is_valid(token, self._settings.api_keys):
            raise socketio.exceptions.ConnectionRefusedError("authentication failed: the token is not a valid key")

    async def _reply(self, sid: str, event: str, data: dict[str, Any]) -> None:
        # Replies go to one client on this node: no need to cross Redis.
        await self.emit(event, data, to=sid, ignore_queue=True)

    async def on_lookup(self, sid: str, payload: Any = None) -> dict[str, str]:
        request_id = uuid.uuid4().hex
        self.server.start_background_task(self._stream_lookup, sid, request_id, payload)
        return {"request_id": request_id}

    async def _stream_lookup(self, sid: str, request_id: str, payload: Any) -> None:
        with self._activity.request():
            await self._answer_lookup(sid, request_id, payload)

    async def _answer_lookup(self, sid: str, request_id: str, payload: Any) -> None:
        started = time.perf_counter()
        try:
            if not isinstance(payload, dict):
                raise BadInput('lookup payload must be an object such as {"q": "10.1.2.3"}')
            request = LookupRequest.model_validate(payload)
            prefix = request.prefix()
        except ValidationError as exc:
            await self._reply(sid, "lookup:error", {"request_id": request_id, "detail": _validation_detail(exc)})
            return
        except NetlookupError as exc:
            await self._reply(sid, "lookup:error", {"request_id": request_id, "detail": exc.detail})
            return
        lookups = self._services().lookups

        async def one(category: Category) -> tuple[Category, dict[str, Any]]:
            return category, (await lookups.category_results(category, [prefix], request))[0]

        try:
            for finished in asyncio.as_completed([one(category) for category in request.categories]):
                category, result = await finished
                await self._reply(
                    sid, "lookup:partial", {"request_id": request_id, "category": category, "result": result}
                )
        except NetlookupError as exc:  # shed (503): the client may retry
            await self._reply(sid, "lookup:error", {"request_id": request_id, "detail": exc.detail})
            return
        except Exception:  # noqa: BLE001 - report to the client, log with the traceback, keep the server going
            log.exception("socket lookup failed request_id=%s q=%s", request_id, request.q)
            await self._reply(sid, "lookup:error", {"request_id": request_id, "detail": "lookup failed; retry shortly"})
            return
        took_ms = round((time.perf_counter() - started) * 1000, 3)
        await self._reply(sid, "lookup:done", {"request_id": request_id, "query": prefix.text, "took_ms": took_ms})

    async def _change_rooms(self, sid: str, payload: Any, join: bool) -> dict[str, Any]:
        if not isinstance(payload, dict):
            return {"error": 'payload must be an object such as {"categories": ["acl"], "imports": true}'}
        try:
            subscription = Subscription.model_validate(payload)
        except ValidationError as exc:
            return {"error": _validation_detail(exc)}
        rooms = [data_room(category) for category in subscription.categories]
        rooms += [IMPORTS_ROOM] if subscription.imports else []
        for room in rooms:
            await (self.enter_room(sid, room) if join else self.leave_room(sid, room))
        return {"ok": True, "rooms": sorted(r for r in self.rooms(sid) if r != sid)}

    async def on_subscribe(self, sid: str, payload: Any = None) -> dict[str, Any]:
        return await self._change_rooms(sid, payload, join=True)

    async def on_unsubscribe(self, sid: str, payload: Any = None) -> dict[str, Any]:
        return await self._change_rooms(sid, payload, join=False)
