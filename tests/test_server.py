"""A real uvicorn process: start, serve HTTP, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from netlookup.migrations import upgrade
from tests.conftest import API_KEY, AUTH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    upgrade(url)
    port = free_port()
    env = {**os.environ, "NETLOOKUP_DATABASE_URL": url, "NETLOOKUP_API_KEYS": API_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "netlookup", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server died"
            assert time.monotonic() < deadline, "server did not start in 30 s"
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, output
        assert "Traceback" not in output, output


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
