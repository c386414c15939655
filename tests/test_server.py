"""A real uvicorn process: start, serve HTTP, stop cleanly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from netlookup.migrations import upgrade
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
