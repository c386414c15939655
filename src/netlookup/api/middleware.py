"""Request ids and request metrics, as plain ASGI middleware (cheap on the hot path)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from netlookup.logs import REQUEST_ID
from netlookup.metrics import HTTP_LATENCY, HTTP_REQUESTS


class RequestContextMiddleware:
    """Tags each HTTP request with ``X-Request-ID`` (the client's, or a new one), logs carry it, and counts the
    request by route template (not raw path: no label explosion), method and status."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        request_id = incoming if incoming.isprintable() and incoming else uuid.uuid4().hex[:16]
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
