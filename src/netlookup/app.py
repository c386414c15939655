"""The app factory and its lifespan (engine and services made on start, disposed on stop)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from netlookup import __version__
from netlookup.api import data, health, lookup
from netlookup.api.middleware import BodySizeLimitMiddleware, LoadSheddingMiddleware, RequestContextMiddleware
from netlookup.api.responses import install_error_handlers
from netlookup.config import Settings, get_settings
from netlookup.container import Services, open_services
from netlookup.logs import configure_logging
from netlookup.realtime.notify import Notifier
from netlookup.realtime.readiness import RedisProbe
from netlookup.realtime.server import create_socket_server, start_manager, stop_manager

log = logging.getLogger(__name__)

DESCRIPTION = """
**What touches this address?** Given an IPv4/IPv6 address or CIDR, netlookup finds the router/firewall ACL
entries (`acl`), cloud security-group rules (`sg`), load balancers (`lb`) and F5 BIG-IP virtual servers (`f5`)
that refer to it, most specific first.

Reads are open unless `NETLOOKUP_READ_AUTH=true`; imports and deletes need `Authorization: Bearer <key>`.
Errors are JSON `{"detail": ...}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_services(settings, memory_index=True) as services,
            RedisProbe(settings.redis_url) as redis_probe,
        ):
            configure_logging(settings.log_level)
            app.state.services = services
            app.state.redis_probe = redis_probe
            if services.indexes is not None:
                services.indexes.start()
                notifier.on_change = services.indexes.invalidate
                if hasattr(sio.manager, "on_data_changed"):
                    sio.manager.on_data_changed = services.indexes.invalidate
            start_manager(sio)
            log.info(
                "netlookup started database=%s redis=%s",
                services.engine.url.render_as_string(hide_password=True),
                "on" if settings.redis_url else "off",
            )
            try:
                yield
            finally:
                await stop_manager(sio)

    app = FastAPI(title="netlookup", version=__version__, description=DESCRIPTION, lifespan=lifespan)

    def current_services() -> Services:
        services: Services = app.state.services
        return services

    sio = create_socket_server(settings, current_services)
    app.state.sio = sio
    notifier = Notifier(sio)
    app.state.notifier = notifier
    install_error_handlers(app)

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(
        LoadSheddingMiddleware, max_inflight=settings.max_inflight, max_queue_seconds=settings.max_queue_seconds
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # Outermost: every response, including 413s and CORS answers, gets a request id and is counted.
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(lookup.router)
    app.include_router(data.read_router)
    app.include_router(data.write_router)
    return app


def create_asgi_app(settings: Settings | None = None) -> socketio.ASGIApp:
    """FastAPI with Socket.IO beside it at /socket.io, one process and port; FastAPI's lifespan still runs
    (the Socket.IO wrapper forwards lifespan events to it)."""
    app = create_app(settings)
    return socketio.ASGIApp(app.state.sio, other_asgi_app=app, socketio_path="socket.io")
