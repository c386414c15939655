"""The Socket.IO server: made with the app, its manager started and stopped by the app's lifespan."""

from __future__ import annotations

import logging
from collections.abc import Callable

import socketio

from netlookup.activity import Activity
from netlookup.changes import ChangeListener
from netlookup.config import Settings
from netlookup.container import Services
from netlookup.realtime.events import LookupNamespace
from netlookup.realtime.manager import OrjsonModule, ResilientRedisManager, make_client_manager

log = logging.getLogger(__name__)

# Engine.IO closes a client that sends a larger message: a lookup request is a few hundred bytes.
MAX_MESSAGE_BYTES = 64 * 1024


def create_socket_server(
    settings: Settings,
    services: Callable[[], Services],
    activity: Activity,
    on_remote_change: ChangeListener | None = None,
) -> socketio.AsyncServer:
    """An ASGI-mode AsyncServer with the Redis manager when NETLOOKUP_REDIS_URL is set; ``on_remote_change``
    hears of the changes other nodes announce; lookups are counted in ``activity``."""
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=make_client_manager(settings.redis_url, on_remote_change),
        # None: same origin only; otherwise exactly the configured origins.
        cors_allowed_origins=settings.cors_origins or None,
        json=OrjsonModule,
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    sio.register_namespace(LookupNamespace(settings, services, activity))
    return sio


def start_manager(sio: socketio.AsyncServer) -> None:
    """Start the cross-node listener now, not at the first connection, so events reach this node at once."""
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def stop_manager(sio: socketio.AsyncServer) -> None:
    """Stop the Redis listener and close its connection (the in-process manager holds nothing to close)."""
    if isinstance(sio.manager, ResilientRedisManager):
        await sio.manager.close()
