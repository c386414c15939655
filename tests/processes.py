"""Real processes for topology tests: uvicorn nodes, a private Redis, nginx. Loopback only; all stop themselves."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import API_KEY, service_missing

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check, timeout: float, what: str, interval: float = 0.1) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(interval)
    raise AssertionError(f"{what} not ready within {timeout} s")


class Node:
    """One `netlookup serve` process on its own port."""

    def __init__(self, name: str, database_url: str, log_dir: Path, **env: str):
        self.name = name
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
            [sys.executable, "-m", "netlookup", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, 30, f"node {self.name}")
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

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
            service_missing("redis-server is not installed")
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

    def __init__(self, nodes: list[Node], workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.nodes = nodes
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if binary is None:
            service_missing("nginx is not installed (apt-get install nginx-light)")
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
            service_missing(f"{name} is not installed")
        return found  # type: ignore[return-value]

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
