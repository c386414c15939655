"""Real processes for the topology tests and the benchmarks: uvicorn nodes, a private Redis, nginx, a private
MariaDB, a database on the shared one. Loopback only; all stop themselves. Free of pytest: a missing program or
server raises ServiceMissing, which the tests turn into a skip (a failure in CI) and the benchmarks into an exit."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "test-key-0123456789abcdef"
MARIADB_SERVER = os.environ.get("NETLOOKUP_TEST_MARIADB_URL", "mysql+asyncmy://root:@127.0.0.1:3306")


class ServiceMissing(RuntimeError):
    """A program or server these processes need is not here."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[..., object], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    raise AssertionError(f"{what} not ready within {timeout} s")


class Node:
    """One `netlookup serve` process on its own port."""

    def __init__(self, name: str, database_url: str, log_dir: Path, serve_args: tuple[str, ...] = (), **env: str):
        self.name = name
        self.serve_args = serve_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.env = {
            **os.environ,
            "NETLOOKUP_DATABASE_URL": database_url,
            "NETLOOKUP_API_KEYS": API_KEY,
            "NETLOOKUP_LOG_LEVEL": "INFO",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Node:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "netlookup",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.serve_args,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, 30, f"node {self.name}")
        return self

    def stop(self) -> int | None:
        """Stop as an operator would (SIGINT: in-flight requests finish); the exit code, None if never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class RedisServer:
    """A Redis of the test's own on a spare port (the shared one is never stopped)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceMissing("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def pong() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        wait_until(pong, 15, "redis")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Nginx:
    """nginx in front of the nodes, from a config rendered by nginx/render.py."""

    def __init__(self, nodes: list[Node], workdir: Path, access_log: str | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.nodes = nodes
        self.access_log = access_log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            raise ServiceMissing("nginx is not installed (apt-get install nginx-light)")
        args = [
            sys.executable,
            str(ROOT / "nginx" / "render.py"),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--prefix",
            str(self.workdir),
            "--workers",
            "1",
        ]
        for node in self.nodes:
            args += ["--node", f"127.0.0.1:{node.port}"]
        if os.geteuid() == 0:
            args += ["--user", "root"]
        if self.access_log:
            args += ["--access-log", self.access_log]
        conf = self.workdir / "nginx.conf"
        conf.write_text(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, 15, "nginx")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def restart_redis(redis: RedisServer) -> RedisServer:
    """Start a new Redis on the stopped one's port (what a restart looks like to the nodes)."""
    fresh = RedisServer(redis.workdir)
    fresh.port, fresh.url = redis.port, redis.url
    return fresh.start()


class MariaDBServer:
    """A MariaDB of the test's own: its own data directory and port, so the shared server is never touched."""

    def __init__(self, workdir: Path, *extra_args: str):
        self.port = free_port()
        self.datadir = workdir / "mariadb-data"
        self.socket = workdir / "mariadb.sock"
        self.extra_args = extra_args
        self.url = f"mysql+asyncmy://root:@127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "mariadb.log"

    def _binary(self, name: str) -> str:
        found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
        if found is None:
            raise ServiceMissing(f"{name} is not installed")
        assert found is not None
        return found

    def install(self) -> MariaDBServer:
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                self._binary("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *user,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return self

    def start(self) -> MariaDBServer:
        user = ["--user=root"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            [
                self._binary("mariadbd"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.socket}",
                "--skip-grant-tables",
                "--innodb-buffer-pool-size=64M",
                f"--pid-file={self.datadir}/mariadb.pid",
                *user,
                *self.extra_args,
            ],
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )

        def accepts() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_until(accepts, 60, "private mariadb")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _mariadb_admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url + "/", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def create_mariadb_database(prefix: str = "netlookup_test", server_url: str = MARIADB_SERVER) -> str:
    """A new empty database on the MariaDB server; returns its URL. ServiceMissing when there is no server."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_mariadb_admin(server_url, f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        raise ServiceMissing(f"MariaDB at {server_url} unreachable: {exc.__class__.__name__}: {exc}") from None
    return f"{server_url}/{name}"


def ensure_mariadb_database(url: str) -> None:
    """Create the database of ``url`` when it does not exist yet (benchmarks keep theirs between runs)."""
    server_url, _, name = url.rpartition("/")
    asyncio.run(_mariadb_admin(server_url, f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4"))


def drop_mariadb_database(url: str) -> None:
    server_url, _, name = url.rpartition("/")
    asyncio.run(_mariadb_admin(server_url, f"DROP DATABASE IF EXISTS {name}"))


def run_cli(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`netlookup ARGS` against ``database_url``, as a user runs it; asserts exit 0 unless ``check`` is off."""
    env = {**os.environ, "NETLOOKUP_DATABASE_URL": database_url, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "netlookup", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result
