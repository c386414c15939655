"""The app factory and its lifespan (engine and services made on start, disposed on stop)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

from netlookup import __version__
from netlookup.activity import Activity
from netlookup.api import data, health, lookup, metrics, web
from netlookup.api.middleware import (
    BodySizeLimitMiddleware,
    DatabaseAdmissionMiddleware,
    LoadSheddingMiddleware,
    RequestContextMiddleware,
)
from netlookup.api.responses import install_error_handlers
from netlookup.config import Settings, get_settings
from netlookup.container import open_services
from netlookup.gc_tuning import serving_gc
from netlookup.logs import configure_logging
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.realtime.notify import Notifier
from netlookup.realtime.readiness import RedisProbe
from netlookup.realtime.socket_server import create_socket_server, start_manager, stop_manager
from netlookup.runtime import AppState

log = logging.getLogger(__name__)

DESCRIPTION = """
**What touches this address?** Given an IPv4/IPv6 address or CIDR, netlookup finds the router/firewall ACL
entries (`acl`), cloud security-group rules (`sg`), load balancers (`lb`) and F5 BIG-IP virtual servers (`f5`)
that refer to it, most specific first.

Reads are open unless `NETLOOKUP_READ_AUTH=true`; imports and deletes need `Authorization: Bearer <key>`.
Errors are JSON `{"detail": ...}`.
"""


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app; nothing connects until the lifespan starts."""
    settings = settings or get_settings()
    activity = Activity()  # requests in progress: merges of the index give way to them
    indexes = (
        MemoryIndexes(
            activity=activity,
            poll_interval=settings.index_poll_interval,
            build_workers=settings.build_workers,
            snapshot_dir=settings.index_snapshot_dir,
        )
        if settings.memory_index
        else None
    )
    # The indexes hear of every change once: this node's own through the notifier (before it answers the write),
    # other nodes' through the Redis manager.
    on_change = indexes.apply_change if indexes is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            open_services(settings, state.notifier, indexes=indexes) as services,
            RedisProbe(settings.redis_url) as redis_probe,
        ):
            configure_logging(settings.log_level)
            state.started_services, state.started_redis_probe = services, redis_probe
            start_manager(state.sio)
            log.info(
                "netlookup started database=%s redis=%s",
                services.engine.url.render_as_string(hide_password=True),
                "on" if settings.redis_url else "off",
            )
            try:
                with serving_gc():  # last: what the start made is frozen too
                    yield
            finally:
                await stop_manager(state.sio)
                state.started_services = state.started_redis_probe = None

    # /docs and /redoc are netlookup's own routes (api/web.py): their files come from the package, not a CDN.
    app = FastAPI(
        title="netlookup",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Operation ids are the handlers' names (lookup, lookup_batch, import_source...): what generated clients call.
        generate_unique_id_function=_operation_id,
    )
    sio = create_socket_server(settings, lambda: state.services, activity, on_remote_change=on_change)
    state = AppState(settings=settings, sio=sio, notifier=Notifier(sio, on_change=on_change), indexes=indexes)
    app.state.netlookup = state
    install_error_handlers(app)

    # Innermost: single lookups served from memory skip the router (the busiest request; see FastLookups).
    app.add_middleware(lookup.FastLookups, state=state)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(
        LoadSheddingMiddleware,
        max_inflight=settings.max_inflight,
        max_queue_seconds=settings.max_queue_seconds,
        activity=activity,
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
    app.include_router(web.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(lookup.router)
    app.include_router(data.read_router)
    app.include_router(data.write_router)
    return app


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """FastAPI with Socket.IO beside it at /socket.io, one process and port; FastAPI's lifespan still runs
    (the Socket.IO wrapper forwards lifespan events to it)."""
    return serve_both(create_app(settings))


def serve_both(app: FastAPI) -> ASGIApp:
    """Socket.IO beside ``app`` and, outermost, lookups the database gate would refuse refused before anything
    of them is parsed."""
    state: AppState = app.state.netlookup
    both = socketio.ASGIApp(state.sio, other_asgi_app=app, socketio_path="socket.io")
    return DatabaseAdmissionMiddleware(
        both, services=lambda: state.started_services, cors_origins=state.settings.cors_origins
    )
