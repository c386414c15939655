"""Redis stopped and restarted under the nodes: HTTP and same-node Socket.IO keep working, /readyz says degraded,
cross-node delivery comes back by itself; and connection auth and origins."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
import socketio

from netlookup.migrations import upgrade
from tests.processes import API_KEY, Node, restart_redis
from tests.realtime.conftest import Topology, connect
from tests.realtime.test_topology import import_rows

pytestmark = pytest.mark.slow


async def test_redis_outage_degrades_then_recovers_without_restart(topology: Topology) -> None:
    on_a = await connect(topology.a.url)
    on_b = await connect(topology.b.url)
    try:
        for client in (on_a, on_b):
            await client.sio.call("subscribe", {"categories": ["acl"]}, timeout=5)
        topology.redis.stop()
        result = await import_rows(topology.a.url, "acl", "outage.cfg", [{"cidr": "10.90.0.0/16"}])
        await on_a.wait_for(lambda e, d: e == "data:changed" and d["checksum"] == result["checksum"], within=5)
        await asyncio.sleep(1)
        assert [d for d in on_b.named("data:changed") if d["source"] == "outage.cfg"] == []
        async with httpx.AsyncClient(timeout=10) as http:
            ready = await http.get(f"{topology.a.url}/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "degraded"
            assert ready.json()["checks"]["database"] == "ok"
            assert ready.json()["checks"]["redis"]["status"].startswith("unreachable")
            # No event reaches node B now; its version poll (every 2 s) notices the import instead.
            for _ in range(50):
                lookup = await http.get(f"{topology.b.url}/api/v1/lookup", params={"q": "10.90.1.1"})
                if lookup.json()["results"]["acl"]["total"] == 1:
                    break
                await asyncio.sleep(0.1)
            assert lookup.json()["results"]["acl"]["total"] == 1
        ack = await on_b.sio.call("lookup", {"q": "10.90.1.1", "categories": ["acl"]}, timeout=5)
        await on_b.wait_for(lambda e, d: e == "lookup:done" and d["request_id"] == ack["request_id"])

        restarted_at = time.monotonic()
        topology.redis = restart_redis(topology.redis)
        await on_b.wait_for(lambda e, _d: e == "resync", within=15)
        delivered = None
        for attempt in range(30):
            source = f"after-{attempt}.cfg"
            await import_rows(topology.a.url, "acl", source, [{"cidr": "10.91.0.0/16"}])
            try:
                await on_b.wait_for(lambda e, d, s=source: e == "data:changed" and d["source"] == s, within=0.5)
                delivered = time.monotonic()
                break
            except AssertionError:
                continue
        assert delivered is not None, "cross-node delivery did not come back"
        assert delivered - restarted_at < 10
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(f"{topology.a.url}/readyz")).status_code == 200
    finally:
        await on_a.close()
        await on_b.close()


@pytest.fixture(scope="module")
def guarded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    workdir = tmp_path_factory.mktemp("guarded")
    url = f"sqlite+aiosqlite:///{workdir / 'guarded.db'}"
    upgrade(url)
    node = Node(
        "guarded", url, workdir, NETLOOKUP_READ_AUTH="true", NETLOOKUP_CORS_ORIGINS="https://spa.example.net"
    ).start()
    yield node
    node.stop()
    assert "Traceback" not in node.log()


async def test_connect_needs_a_token_when_reads_need_a_key(guarded_node: Node) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError, match="authentication required"):
        await connect(guarded_node.url)
    with pytest.raises(socketio.exceptions.ConnectionError, match="authentication failed"):
        await connect(guarded_node.url, auth={"token": "not-the-key-not-the-key"})
    client = await connect(guarded_node.url, auth={"token": API_KEY})
    try:
        ack = await client.sio.call("lookup", {"q": "10.0.0.1"}, timeout=5)
        await client.wait_for(lambda e, d: e == "lookup:done" and d["request_id"] == ack["request_id"])
    finally:
        await client.close()


async def test_connect_from_a_foreign_origin_is_refused(guarded_node: Node) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(guarded_node.url, auth={"token": API_KEY}, headers={"Origin": "https://evil.example.com"})
    client = await connect(guarded_node.url, auth={"token": API_KEY}, headers={"Origin": "https://spa.example.net"})
    await client.close()
