"""The objects of one running app, typed: made by the app factory (settings, Socket.IO server, notifier, indexes)
or by its lifespan (services, Redis probe). Routes reach them through ``app_state``."""

from __future__ import annotations

from dataclasses import dataclass

import socketio
from starlette.requests import Request

from netlookup.config import Settings
from netlookup.container import Services
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.realtime.notify import Notifier
from netlookup.realtime.readiness import RedisProbe


class NotStarted(RuntimeError):
    """The app's lifespan has not run (or has ended): there is no database to answer from."""


@dataclass
class AppState:
    settings: Settings
    sio: socketio.AsyncServer
    notifier: Notifier
    indexes: MemoryIndexes | None
    started_services: Services | None = None
    started_redis_probe: RedisProbe | None = None

    @property
    def services(self) -> Services:
        if self.started_services is None:
            raise NotStarted("netlookup's lifespan has not started")
        return self.started_services

    @property
    def redis_probe(self) -> RedisProbe:
        if self.started_redis_probe is None:
            raise NotStarted("netlookup's lifespan has not started")
        return self.started_redis_probe


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.netlookup
    return state
