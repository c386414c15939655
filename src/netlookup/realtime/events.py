"""Socket.IO event handlers: streaming lookups and subscriptions. They call the same services as HTTP and open a
short database session per event, never one held for a connection's life."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import socketio
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlookup.auth import key_is_valid
from netlookup.config import Settings
from netlookup.container import Services
from netlookup.errors import NetlookupError
from netlookup.lookup.params import DEFAULT_LIMIT, MAX_LIMIT, Mode, build_options, parse_query
from netlookup.realtime.notify import IMPORTS_ROOM, data_room
from netlookup.records import Category

log = logging.getLogger(__name__)


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: Annotated[str, Field(max_length=64)]
    categories: list[Category] | str | None = None
    mode: Mode = Mode.covering
    best: bool = False
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT
    port: Annotated[int | None, Field(ge=0, le=65535)] = None
    protocol: Annotated[str | None, Field(min_length=1, max_length=32)] = None


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[Category] = Field(default_factory=list, max_length=4)
    imports: bool = False


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors(include_url=False)
    )


def register_events(sio: socketio.AsyncServer, settings: Settings, get_services: Callable[[], Services]) -> None:
    """Attach the handlers of every event the SPEC names (and a catch-all that answers unknown events)."""

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not settings.read_auth:
            return
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            raise socketio.exceptions.ConnectionRefusedError(
                "authentication required: connect with auth={'token': KEY}"
            )
        if not key_is_valid(token, settings.api_keys):
            raise socketio.exceptions.ConnectionRefusedError("authentication failed: the token is not a valid key")

    async def _emit_to(sid: str, event: str, data: dict[str, Any]) -> None:
        # Replies go to one client on this node: no need to cross Redis.
        await sio.emit(event, data, to=sid, ignore_queue=True)

    async def _stream_lookup(sid: str, request_id: str, payload: Any) -> None:
        started = time.perf_counter()
        try:
            if not isinstance(payload, dict):
                raise NetlookupError('lookup payload must be an object such as {"q": "10.1.2.3"}', status_code=422)
            request = LookupRequest.model_validate(payload)
            prefix = parse_query(request.q)
            options = build_options(
                request.categories, request.mode, request.best, request.limit, request.port, request.protocol
            )
        except ValidationError as exc:
            await _emit_to(sid, "lookup:error", {"request_id": request_id, "detail": _validation_detail(exc)})
            return
        except NetlookupError as exc:
            await _emit_to(sid, "lookup:error", {"request_id": request_id, "detail": exc.detail})
            return
        lookups = get_services().lookups

        async def one(category: Category) -> tuple[Category, dict[str, Any]]:
            return category, (await lookups.category_results(category, [prefix], options))[0]

        try:
            for finished in asyncio.as_completed([one(category) for category in options.categories]):
                category, result = await finished
                await _emit_to(
                    sid, "lookup:partial", {"request_id": request_id, "category": category, "result": result}
                )
        except Exception as exc:  # noqa: BLE001 - report to the client, log once, keep the server going
            log.warning("socket lookup failed request_id=%s error=%s", request_id, exc.__class__.__name__)
            await _emit_to(sid, "lookup:error", {"request_id": request_id, "detail": "lookup failed; retry shortly"})
            return
        took_ms = round((time.perf_counter() - started) * 1000, 3)
        await _emit_to(sid, "lookup:done", {"request_id": request_id, "query": prefix.text, "took_ms": took_ms})

    @sio.on("lookup")
    async def lookup(sid: str, payload: Any = None) -> dict[str, str]:
        request_id = uuid.uuid4().hex
        sio.start_background_task(_stream_lookup, sid, request_id, payload)
        return {"request_id": request_id}

    async def _rooms(payload: Any) -> Subscription | str:
        if not isinstance(payload, dict):
            return 'payload must be an object such as {"categories": ["acl"], "imports": true}'
        try:
            return Subscription.model_validate(payload)
        except ValidationError as exc:
            return _validation_detail(exc)

    async def _change_rooms(sid: str, payload: Any, join: bool) -> dict[str, Any]:
        subscription = await _rooms(payload)
        if isinstance(subscription, str):
            return {"error": subscription}
        rooms = [data_room(category) for category in subscription.categories]
        rooms += [IMPORTS_ROOM] if subscription.imports else []
        for room in rooms:
            await (sio.enter_room(sid, room) if join else sio.leave_room(sid, room))
        return {"ok": True, "rooms": sorted(r for r in sio.rooms(sid) if r != sid)}

    @sio.on("subscribe")
    async def subscribe(sid: str, payload: Any = None) -> dict[str, Any]:
        return await _change_rooms(sid, payload, join=True)

    @sio.on("unsubscribe")
    async def unsubscribe(sid: str, payload: Any = None) -> dict[str, Any]:
        return await _change_rooms(sid, payload, join=False)

    @sio.on("*")
    async def unknown_event(event: str, sid: str, *_args: Any) -> dict[str, str]:
        detail = f"unknown event {event[:64]!r}: use lookup, subscribe or unsubscribe"
        await _emit_to(sid, "error", {"detail": detail})
        return {"error": detail}
