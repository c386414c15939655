"""uvicorn's server, taking every waiting connection off the listening socket in one event-loop pass.

libuv (under uvloop) accepts one connection each time the listening socket is reported readable (libuv PR #3696,
"don't accept() connections in a loop"). On an idle node that costs nothing; on a node whose event-loop passes take
milliseconds, a burst of new connections (nginx opening upstream connections when a wave of users arrives) waits in
the kernel's accept queue for one pass each: 300 new connections took a busy node over a second to take in, and a
request that would have been refused in a millisecond waited that long before the node saw it. ``ConnectionAcceptor``
takes up to ``ACCEPT_BATCH`` connections per pass instead and hands each to the loop as an accepted socket; everything
after the accept (the protocol, keep-alive, graceful shutdown) is uvicorn's own.

Only the single-process server uses it: with ``--workers`` several processes share one listening socket, and there
taking one connection at a time is what spreads them between the processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import sys
from collections.abc import Callable
from typing import Final

import uvicorn
from uvicorn.config import STARTUP_FAILURE

logger = logging.getLogger(__name__)

# Connections taken per readiness of the listening socket: enough for a wave of upstream connections from nginx, few
# enough that one pass of the event loop stays short (accept and hand-over measured ~15 us each under uvloop, before
# uvicorn's protocol sets up: a full batch is a few milliseconds).
ACCEPT_BATCH: Final = 256
# How long to stop accepting when the process is out of file descriptors (asyncio's own loop waits as long).
_PAUSE_WHEN_OUT_OF_FILES: Final = 1.0
_OUT_OF_FILES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class ConnectionAcceptor:
    """Accepts connections on a listening socket in batches and gives each to ``protocol_factory`` on the loop.

    Has the two methods uvicorn's shutdown calls on the servers it started: ``close`` (stop accepting, close the
    listening socket) and ``wait_closed``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        batch: int = ACCEPT_BATCH,
    ) -> None:
        self._loop = loop
        self._listener = listener
        self._protocol_factory = protocol_factory
        self._batch = batch
        self._handovers: set[asyncio.Task[object]] = set()
        self._serving = False

    def start(self) -> None:
        self._listener.setblocking(False)
        self._loop.add_reader(self._listener.fileno(), self.accept_waiting)
        self._serving = True

    def close(self) -> None:
        if self._serving:
            self._loop.remove_reader(self._listener.fileno())
            self._serving = False
        self._listener.close()

    async def wait_closed(self) -> None:
        if self._handovers:
            await asyncio.gather(*self._handovers, return_exceptions=True)

    def accept_waiting(self) -> int:
        """Take up to ``batch`` connections waiting on the listener and hand each to the loop; return how many were
        taken. The loop calls it whenever the listener is readable; what is left waits for the next pass."""
        taken = 0
        for _ in range(self._batch):
            try:
                connection, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except ConnectionAbortedError:
                continue  # the client gave up while it waited in the queue; take the next one
            except OSError as exc:
                if exc.errno not in _OUT_OF_FILES:
                    raise
                logger.error("out of file descriptors, not accepting for %.0f s: %s", _PAUSE_WHEN_OUT_OF_FILES, exc)
                self._loop.remove_reader(self._listener.fileno())
                self._loop.call_later(_PAUSE_WHEN_OUT_OF_FILES, self._resume)
                break
            self._hand_over(connection)
            taken += 1
        return taken

    def _resume(self) -> None:
        if self._serving:
            self._loop.add_reader(self._listener.fileno(), self.accept_waiting)

    def _hand_over(self, connection: socket.socket) -> None:
        if connection.family in (socket.AF_INET, socket.AF_INET6):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = self._loop.create_task(self._connect(connection))
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    async def _connect(self, connection: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(self._protocol_factory, connection)
        except OSError as exc:  # the peer went away between accept and hand-over
            logger.debug("accepted connection lost before it was served: %s", exc)
            connection.close()


class Server(uvicorn.Server):
    """uvicorn's ``Server`` whose listening sockets are served by ``ConnectionAcceptor``.

    Binds as uvicorn does (``Config.bind_socket``: host and port, a Unix socket or an inherited descriptor), but
    before the application's lifespan starts: an address in use (or not ours) ends the process before the app has
    opened the database, started building its indexes or connected to Redis, with nothing left to shut down.
    Connections are refused until the lifespan has started (the socket listens only then), so a proxy sends them
    to another node meanwhile.

    Relies on uvicorn's internals (``Server._serve`` making ``lifespan`` and calling ``startup``, ``shutdown``
    closing ``servers``, the protocol's constructor): ``pyproject.toml`` pins the releases it is tested with and
    ``tests/test_server.py`` fails when those internals change.
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        listeners = sockets if sockets is not None else [self.config.bind_socket()]  # exits 1 when it cannot bind
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            if sockets is None:
                for listener in listeners:
                    listener.close()
            sys.exit(STARTUP_FAILURE)
        loop = asyncio.get_running_loop()
        acceptors = []
        for listener in listeners:
            listener.listen(self.config.backlog)
            acceptor = ConnectionAcceptor(loop, listener, self._create_protocol)
            acceptor.start()
            acceptors.append(acceptor)
        self.servers = acceptors  # type: ignore[assignment]  # uvicorn calls close() and wait_closed() on them
        logger.info("accepting up to %d connections per event-loop pass", ACCEPT_BATCH)
        self.started = True

    def _create_protocol(self) -> asyncio.Protocol:
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )
        return protocol


def run(config: uvicorn.Config) -> None:
    """Run one server process (``config.workers`` must be 1) until it is told to stop; exit non-zero if it never
    started."""
    config.load_app()
    server = Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises the signal it stopped on again once it has stopped
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
