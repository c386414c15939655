"""A real topology: MariaDB-backed uvicorn nodes with a private Redis, nginx in front."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio

from netlookup.migrations import upgrade
from tests.processes import Nginx, Node, RedisServer, create_mariadb_database, drop_mariadb_database


@dataclass
class Topology:
    a: Node
    b: Node
    redis: RedisServer
    nginx: Nginx
    database_url: str


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    workdir = tmp_path_factory.mktemp("topology")
    database_url = create_mariadb_database("netlookup_rt")
    redis: RedisServer | None = None
    nodes: list[Node] = []
    nginx: Nginx | None = None
    topology: Topology | None = None
    try:
        upgrade(database_url)
        redis = RedisServer(workdir).start()
        nodes = [Node(name, database_url, workdir, NETLOOKUP_REDIS_URL=redis.url).start() for name in ("a", "b")]
        nginx = Nginx(nodes, workdir).start()
        topology = Topology(nodes[0], nodes[1], redis, nginx, database_url)
        yield topology
    finally:
        # A test may have replaced the Redis (a restart): stop whichever one is current.
        current_redis = topology.redis if topology is not None else redis
        processes: list[Nginx | Node | RedisServer | None] = [nginx, *nodes, current_redis]
        for process in processes:
            if process is not None:
                process.stop()
        drop_mariadb_database(database_url)
    for node in nodes:
        log = node.log()
        assert "Traceback" not in log, f"node {node.name} logged a traceback:\n{log[-4000:]}"


@dataclass
class Client:
    """A python-socketio AsyncClient that records every event it receives."""

    sio: socketio.AsyncClient
    events: list[tuple[str, Any, float]] = field(default_factory=list)

    async def wait_for(self, predicate: Callable[..., bool], within: float = 10) -> tuple[str, Any, float]:
        """The first recorded event matching ``predicate``, waiting up to ``within`` seconds."""
        timeout = within
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if predicate(event[0], event[1]):
                    return event
            await asyncio.sleep(0.01)
        raise AssertionError(f"no matching event within {timeout} s; got {[e[0] for e in self.events]}")

    async def close(self) -> None:
        """Disconnect. A polling client would wait for its pending long-poll (up to the 25 s ping interval)
        before returning, so it aborts instead; the server sees the close packet either way."""
        if self.sio.transport() == "polling":
            await self.sio.eio.disconnect(abort=True)
        else:
            await self.sio.disconnect()

    def named(self, name: str) -> list[Any]:
        return [data for event, data, _ in self.events if event == name]


async def connect(url: str, transports: list[str] | None = None, **kwargs: Any) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio)

    @sio.on("*")
    async def record(event: str, data: Any = None) -> None:
        client.events.append((event, data, time.monotonic()))

    @sio.event
    async def disconnect(reason: Any = None) -> None:
        client.events.append(("disconnect", reason, time.monotonic()))

    @sio.event
    async def connect_error(data: Any = None) -> None:
        client.events.append(("connect_error", data, time.monotonic()))

    try:
        await sio.connect(url, transports=transports or ["websocket"], wait_timeout=10, **kwargs)
    except socketio.exceptions.ConnectionError as exc:
        # The server's reason arrives in the connect_error event; the exception itself only says "failed".
        reasons = client.named("connect_error")
        raise socketio.exceptions.ConnectionError(f"{exc}: {reasons}") from None
    return client
