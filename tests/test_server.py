"""A real uvicorn process: start, serve HTTP, stop cleanly; the server's batched accepts."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn
import uvloop

from netlookup.migrations import upgrade
from netlookup.server import ConnectionAcceptor, Server
from tests.conftest import AUTH
from tests.processes import Node


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    upgrade(url)
    node = Node("served", url, tmp_path).start()
    try:
        yield node.url
    finally:
        code = node.stop()
        assert code == 0, node.log()
        assert "Traceback" not in node.log(), node.log()


def test_served_app_imports_and_looks_up(server: str) -> None:
    with httpx.Client(base_url=server, timeout=10) as http:
        body = b'{"cidr": "10.0.0.0/8", "line": 1}\n{"cidr": "10.1.0.0/16", "line": 2}\n'
        imported = http.post("/api/v1/import/acl", params={"source": "fw"}, content=body, headers=AUTH)
        assert imported.status_code == 200, imported.text
        found = http.get("/api/v1/lookup", params={"q": "10.1.0.9"}).json()
        assert [m["line"] for m in found["results"]["acl"]["matches"]] == [2, 1]
        assert http.get("/readyz").status_code == 200
        assert "swagger" in http.get("/docs").text.lower()
        assert http.get("/api/v1/lookup", params={"q": "nope"}).status_code == 422


@pytest.mark.parametrize("access_log", ["true", "false"])
def test_access_log_follows_the_setting(tmp_path: Path, access_log: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'logged.db'}"
    upgrade(url)
    node = Node("logged", url, tmp_path, NETLOOKUP_ACCESS_LOG=access_log).start()
    try:
        assert httpx.get(f"{node.url}/api/v1/lookup", params={"q": "10.0.0.1"}, timeout=10).status_code == 200
    finally:
        assert node.stop() == 0, node.log()
    logged = '"GET /api/v1/lookup?q=10.0.0.1 HTTP/1.1" 200' in node.log()
    assert logged is (access_log == "true"), node.log()
    assert "netlookup started" in node.log()  # the service's own log lines stay either way
    assert "accepting up to 256 connections per event-loop pass" in node.log()  # `netlookup serve` batches accepts


def test_worker_processes_share_one_socket_with_uvicorns_own_accept(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}"
    upgrade(url)
    node = Node("workers", url, tmp_path, serve_args=("--workers", "2")).start()
    try:
        with httpx.Client(base_url=node.url, timeout=10) as http:
            assert {http.get("/api/v1/lookup", params={"q": "10.0.0.1"}).status_code for _ in range(20)} == {200}
    finally:
        assert node.stop() == 0, node.log()
    assert node.log().count("netlookup started") == 2, node.log()
    assert "accepting up to" not in node.log()  # processes sharing a socket take one connection at a time


LOOPS = {"uvloop": uvloop.new_event_loop, "asyncio": asyncio.new_event_loop}


def run_on(loop: str, scenario: Coroutine[Any, Any, None]) -> None:
    """Run ``scenario`` on a fresh event loop of the kind named (a key of ``LOOPS``)."""
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(scenario)


class Greeter(asyncio.Protocol):
    """Says hello on connection: a client that reads it knows its connection was handed to the loop."""

    made = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Greeter.made += 1
        cast(asyncio.WriteTransport, transport).write(b"hello")  # uvloop's transports do not subclass asyncio's


def _listener() -> socket.socket:
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    listener.setblocking(False)
    return listener


@pytest.mark.parametrize("loop", LOOPS)
def test_one_pass_takes_every_waiting_connection_up_to_the_batch(loop: str) -> None:
    async def scenario() -> None:
        Greeter.made = 0
        listener = _listener()
        acceptor = ConnectionAcceptor(asyncio.get_running_loop(), listener, Greeter, batch=64)
        clients = [socket.create_connection(listener.getsockname()) for _ in range(100)]  # queued by the kernel
        try:
            assert [acceptor.accept_waiting(), acceptor.accept_waiting(), acceptor.accept_waiting()] == [64, 36, 0]
            await asyncio.sleep(0.2)
            assert Greeter.made == 100
            for client in clients:
                client.settimeout(5)
                assert client.recv(5) == b"hello"
        finally:
            acceptor.close()
            await acceptor.wait_closed()
            for client in clients:
                client.close()

    run_on(loop, scenario())


@pytest.mark.parametrize("loop", LOOPS)
def test_closed_acceptor_takes_no_more_connections(loop: str) -> None:
    async def scenario() -> None:
        listener = _listener()
        address = listener.getsockname()
        acceptor = ConnectionAcceptor(asyncio.get_running_loop(), listener, Greeter)
        acceptor.start()
        reader, writer = await asyncio.open_connection(*address)
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"hello"  # served while it listens
        writer.close()
        acceptor.close()
        await acceptor.wait_closed()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(*address)

    run_on(loop, scenario())


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


def test_server_serves_a_burst_of_new_connections_and_stops() -> None:
    """The uvicorn ``Server`` with batched accepts: every connection of a burst is served; stopping it closes the
    listening socket and lets the connections' requests finish."""

    async def scenario() -> None:
        listener = _listener()
        address = listener.getsockname()
        server = Server(uvicorn.Config(hello_app, lifespan="off", log_level="warning"))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        for _ in range(500):  # started: lifespan off, so within a few loop passes
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert [type(listening).__name__ for listening in server.servers] == ["ConnectionAcceptor"]
        async with httpx.AsyncClient(
            base_url=f"http://{address[0]}:{address[1]}", limits=httpx.Limits(max_connections=200), timeout=10
        ) as http:
            answers = await asyncio.gather(*(http.get("/") for _ in range(200)))
        assert {(answer.status_code, answer.text) for answer in answers} == {(200, "hello")}
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection(*address)

    run_on("uvloop", scenario())


ACCEPT_WITH_FEW_FILES = """
import asyncio, os, resource, socket, sys
import uvloop
from netlookup.server import ConnectionAcceptor

class Greeter(asyncio.Protocol):
    def connection_made(self, transport):
        transport.write(b"hello")

async def main():
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    acceptor = ConnectionAcceptor(asyncio.get_running_loop(), listener, Greeter)
    acceptor.start()
    spare = int(sys.argv[1])  # descriptors left for connections; each accepted connection takes one
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(int(fd) for fd in os.listdir("/proc/self/fd")) + spare, hard))
    print(listener.getsockname()[1], flush=True)
    await asyncio.sleep(30)

with asyncio.Runner(loop_factory=uvloop.new_event_loop if sys.argv[2] == "uvloop" else None) as runner:
    runner.run(main())
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts its descriptors in /proc (Linux)")
@pytest.mark.parametrize("loop", LOOPS)
def test_out_of_file_descriptors_pauses_accepting_and_then_serves_the_rest(tmp_path: Path, loop: str) -> None:
    """A process out of descriptors stops taking connections for a second, logs it, and takes the waiting ones
    once descriptors are free again: no busy loop, no crash, no connection dropped."""
    script = tmp_path / "few_files.py"
    script.write_text(ACCEPT_WITH_FEW_FILES)
    server = subprocess.Popen(
        [sys.executable, str(script), "10", loop], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(40)]  # more than it can hold
        greeted = []
        for client in clients[:5]:
            client.settimeout(5)
            greeted.append(client.recv(5))
        time.sleep(0.5)
        for client in clients[:35]:  # gives the server its descriptors back (it closes on end of file)
            client.close()
        for client in clients[35:]:  # five waiting: fewer than the ten descriptors (the loop may take one or two)
            client.settimeout(10)
            greeted.append(client.recv(5))
        assert greeted == [b"hello"] * 10
        for client in clients[35:]:
            client.close()
    finally:
        server.kill()
        _, errors = server.communicate(timeout=10)
    assert 1 <= errors.count("out of file descriptors, not accepting for 1 s") <= 10  # paused, not spinning
    assert "Traceback" not in errors


def test_a_port_in_use_ends_the_process_before_the_lifespan_starts(tmp_path: Path) -> None:
    """A node whose address is taken exits non-zero at once, saying so, before it has opened the database,
    started its index builds or its Redis listener (nothing of the lifespan ran, so nothing is left to stop)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'taken.db'}"
    upgrade(url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        node = Node("taken", url, tmp_path)
        result = subprocess.run(
            [sys.executable, "-m", "netlookup", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=node.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "address already in use" in output.lower(), output
    assert "netlookup started" not in output  # the lifespan never began
    assert "index" not in output.lower()
    assert "Traceback" not in output, output


def test_the_uvicorn_internals_the_server_relies_on_are_there() -> None:
    """``netlookup.server.Server`` overrides ``startup`` and uses uvicorn's internals; the pinned releases have
    them. A uvicorn that changes any of these fails here, not in production."""
    import inspect

    import uvicorn.config

    assert uvicorn.__version__.startswith("0.54."), uvicorn.__version__  # pyproject.toml: >=0.54,<0.55
    assert isinstance(uvicorn.config.STARTUP_FAILURE, int)
    serve = inspect.getsource(uvicorn.Server._serve)
    # The lifespan is made before startup runs, and shutdown (which closes what startup opened) runs only once
    # startup has set ``started``.
    assert serve.index("self.lifespan = config.lifespan_class(config)") < serve.index("await self.startup(sockets=")
    assert "if self.started:" in serve
    assert "await self.shutdown(sockets=sockets)" in serve
    assert list(inspect.signature(uvicorn.Server.startup).parameters) == ["self", "sockets"]
    shutdown = inspect.getsource(uvicorn.Server.shutdown)
    assert "for server in self.servers:" in shutdown
    assert "server.close()" in shutdown
    assert "await server.wait_closed()" in inspect.getsource(uvicorn.Server._wait_tasks_to_complete)
    assert "_wait_tasks_to_complete()" in shutdown
    server = uvicorn.Server(uvicorn.Config(hello_app, lifespan="off"))
    assert hasattr(server, "server_state")
    assert server.started is False
    config = uvicorn.Config(hello_app, lifespan="off", http="h11")
    config.load()
    assert isinstance(config.backlog, int)
    assert callable(config.bind_socket)
    accepts = inspect.signature(config.http_protocol_class).parameters
    assert {"config", "server_state", "app_state"} <= set(accepts)
