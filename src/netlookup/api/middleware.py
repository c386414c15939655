"""Request ids and request metrics, as plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netlookup.activity import Activity
from netlookup.api.responses import error_response_for
from netlookup.categories import CATEGORIES, Category
from netlookup.errors import NetlookupError, PayloadTooLarge, ServiceUnavailable
from netlookup.logs import REQUEST_ID
from netlookup.lookup.request import canonical_categories
from netlookup.metrics import HTTP_LATENCY, HTTP_REQUESTS, SHED_REQUESTS

if TYPE_CHECKING:
    from netlookup.container import Services


def request_id_of(headers: dict[bytes, bytes]) -> str:
    """The client's ``X-Request-ID`` (up to 64 printable characters), or a new one."""
    incoming = headers.get(b"x-request-id", b"").decode("latin-1")[:64]
    return incoming if incoming.isprintable() and incoming else os.urandom(8).hex()


def proxy_wait(headers: dict[bytes, bytes]) -> float | None:
    """Seconds since the proxy received the request, from its ``X-Request-Start: t=<epoch seconds>`` (nginx
    ``$msec``); None without that header or with one that is not a time."""
    stamp = headers.get(b"x-request-start")
    if stamp is None:
        return None
    try:
        return time.time() - float(stamp.removeprefix(b"t="))
    except ValueError:
        return None


def arrival(scope: Scope) -> float | None:
    """When the proxy received this request, on this node's ``time.monotonic()`` clock, when it says so
    (``X-Request-Start``) and that is within the last minute (proxy and node clocks agree); else None."""
    waited = proxy_wait(dict(scope["headers"]))
    if waited is None or not -1 < waited < 60:
        return None
    return time.monotonic() - max(0.0, waited)


class RequestContextMiddleware:
    """Tags each HTTP request with ``X-Request-ID`` (the client's, or a new one), logs carry it, and counts the
    request by route template (not raw path: no label explosion), method and status."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(dict(scope["headers"]))
        token = REQUEST_ID.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            labels = (template, scope["method"], str(status))
            HTTP_REQUESTS.labels(*labels).inc()
            HTTP_LATENCY.labels(*labels).observe(time.perf_counter() - started)
            REQUEST_ID.reset(token)


class BodySizeLimitMiddleware:
    """413 for a declared Content-Length over the limit before the body is read (streamed bodies are counted by
    the import route itself); 400 for a Content-Length that is not a number."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            problem: NetlookupError | None = None
            if length is not None and not length.isdigit():
                problem = NetlookupError("Content-Length is not a number", status_code=400)
            elif length is not None and int(length) > self.max_bytes:
                problem = PayloadTooLarge(f"request body is larger than {self.max_bytes // (1024 * 1024)} MB")
            if problem is not None:
                await error_response_for(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class LoadSheddingMiddleware:
    """Sheds API requests with 503 + Retry-After instead of letting a flood queue until everything times out:
    beyond ``max_inflight`` requests in progress on this node, or when the proxy's ``X-Request-Start: t=<epoch
    seconds>`` (nginx ``$msec``) shows the request already waited more than ``max_queue_seconds`` before this node
    read it. Health and metrics are never shed. The API requests it lets in are counted in ``activity`` (work
    in the background gives way to them)."""

    def __init__(self, app: ASGIApp, max_inflight: int, max_queue_seconds: float, activity: Activity):
        self.app = app
        self.max_inflight = max_inflight
        self.max_queue_seconds = max_queue_seconds
        self.activity = activity

    def _shed_reason(self, scope: Scope) -> str | None:
        if self.max_inflight > 0 and self.activity.in_progress >= self.max_inflight:
            return "too many requests in flight"
        if self.max_queue_seconds > 0:
            waited = proxy_wait(dict(scope["headers"]))
            if waited is not None and waited > self.max_queue_seconds:
                return "queued too long"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        reason = self._shed_reason(scope)
        if reason is not None:
            SHED_REQUESTS.labels(reason=reason).inc()
            detail = f"the service is busy ({reason}); retry shortly"
            await error_response_for(ServiceUnavailable(detail, retry_after=1))(scope, receive, send)
            return
        with self.activity.request():
            await self.app(scope, receive, send)


LOOKUP_PATH = "/api/v1/lookup"


def category_route(path: str) -> Category | None:
    """The category of a one-category lookup path (``/api/v1/{category}/lookup``), or None."""
    if path.startswith("/api/v1/") and path.endswith("/lookup") and path[8:-7] in CATEGORIES:
        return cast(Category, path[8:-7])
    return None


def lookup_categories(scope: Scope) -> tuple[Category, ...] | None:
    """The categories a single lookup (``GET /api/v1/lookup``, ``GET /api/v1/{category}/lookup``) asks for, read
    from the raw path and query string; None for any other request, or when ``categories`` is not valid (the
    route then answers it with its own 422)."""
    if scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if path == LOOKUP_PATH:
        query: bytes = scope["query_string"]
        if b"categories" not in query:
            return CATEGORIES
        values = parse_qs(query.decode("latin-1")).get("categories")
        try:
            return cast(tuple[Category, ...], canonical_categories(values[-1] if values else None))
        except ValueError:
            return None
    category = category_route(path)
    return (category,) if category is not None else None


class DatabaseAdmissionMiddleware:
    """Refuses (503 + Retry-After) a single lookup that needs the database when the database gate would refuse
    it on arrival anyway: the outermost layer of the app, before Socket.IO, FastAPI, routing or validation see
    the request. Under a flood of lookups on the database path (a node still building its index, or running
    without one) refusals come by the thousand per second: each must cost next to nothing, or refusing takes the
    CPU the admitted lookups need and goodput collapses. So the refusal is one fixed answer, sent as is; it still
    carries ``X-Request-ID``, CORS headers for an allowed origin, and is counted in the request metrics and
    ``netlookup_shed_requests_total``. It is sent when the gate's refusal wait has passed since the request reached
    nginx (``X-Request-Start``; else since this node read it) and the gate, asked again then, still refuses (see
    ``DbGate.admission``). A lookup admitted here is decided for good: it holds its place in the gate while its
    route runs and queues without being asked again (``DbGate.admitted``), so it is refused now or not at all
    (short of the queue timeout). Lookups the memory index answers, and everything else, pass straight on."""

    BODY = orjson.dumps({"detail": "the database is busy (more is queued than it can answer in time); retry shortly"})
    HEADERS = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
        (b"retry-after", b"1"),
    ]

    def __init__(self, app: ASGIApp, services: Callable[[], Services | None], cors_origins: Sequence[str] = ()):
        self.app = app
        self.services = services
        self.cors_origins = {origin.encode("latin-1") for origin in cors_origins}
        self.any_origin = "*" in cors_origins

    def _headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        request_headers = dict(scope["headers"])
        headers = [*self.HEADERS, (b"x-request-id", request_id_of(request_headers).encode("latin-1"))]
        origin = request_headers.get(b"origin")
        if origin is not None and (self.any_origin or origin in self.cors_origins):
            headers += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin"),
            ]
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            started = time.perf_counter()
            services = self.services()
            categories = lookup_categories(scope)
            # The memory index's lookups pass at once; the others are admitted (and then not refused later) or
            # refused here.
            if services is not None and categories is not None and not services.lookups.in_memory(categories):
                async with services.lookups.database_admission(arrival(scope)) as refused:
                    if refused is None:
                        await self.app(scope, receive, send)
                        return
                await send({"type": "http.response.start", "status": 503, "headers": self._headers(scope)})
                await send({"type": "http.response.body", "body": self.BODY})
                route = LOOKUP_PATH if scope["path"] == LOOKUP_PATH else "/api/v1/{category}/lookup"
                SHED_REQUESTS.labels(reason="database busy").inc()
                HTTP_REQUESTS.labels(route, "GET", "503").inc()
                HTTP_LATENCY.labels(route, "GET", "503").observe(time.perf_counter() - started)
                return
        await self.app(scope, receive, send)
