"""Socket.IO through nginx and across nodes, with real uvicorn nodes, MariaDB and Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import AUTH
from tests.realtime.conftest import Topology, connect

pytestmark = pytest.mark.slow


async def import_rows(url: str, category: str, source: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        response = await http.post(f"/api/v1/import/{category}", params={"source": source}, content=body, headers=AUTH)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_streaming_lookup_through_nginx(topology: Topology, transport: str) -> None:
    await import_rows(topology.a.url, "acl", "stream.cfg", [{"cidr": "10.77.0.0/16", "line": 1}])
    await import_rows(topology.a.url, "lb", "stream-lb", [{"vip": "10.77.1.1", "members": [{"ip": "10.77.1.2"}]}])
    # A browser page served through nginx sends its own origin: the same-origin check must accept it.
    client = await connect(topology.nginx.url, [transport], headers={"Origin": topology.nginx.url})
    try:
        assert client.sio.transport() == transport
        ack = await client.sio.call("lookup", {"q": "10.77.1.1"}, timeout=10)
        request_id = ack["request_id"]
        done = await client.wait_for(lambda e, d: e == "lookup:done" and d["request_id"] == request_id)
        partials = [d for d in client.named("lookup:partial") if d["request_id"] == request_id]
        assert sorted(p["category"] for p in partials) == ["acl", "f5", "lb", "sg"]
        assert done[1]["query"] == "10.77.1.1/32"
        async with httpx.AsyncClient(base_url=topology.nginx.url) as http:
            expected = (await http.get("/api/v1/lookup", params={"q": "10.77.1.1"})).json()["results"]
        assert {p["category"]: p["result"] for p in partials} == expected
        assert expected["acl"]["total"] == 1
        assert expected["lb"]["matches"][0]["matched_on"] == "vip"
    finally:
        await client.close()


async def test_import_on_node_a_reaches_subscriber_on_node_b(topology: Topology) -> None:
    watcher = await connect(topology.b.url)
    bystander = await connect(topology.b.url)
    try:
        ack = await watcher.sio.call("subscribe", {"categories": ["sg"], "imports": True}, timeout=5)
        assert ack["rooms"] == ["data:sg", "imports"]
        await bystander.sio.call("subscribe", {"categories": ["acl"]}, timeout=5)
        rows = [{"cidr": f"10.78.{i // 256}.{i % 256}/32", "group_id": "sg-x"} for i in range(5000)]
        result = await import_rows(topology.a.url, "sg", "cross-node", rows)
        _, changed, _ = await watcher.wait_for(lambda e, d: e == "data:changed" and d["source"] == "cross-node")
        assert changed == {
            "category": "sg",
            "source": "cross-node",
            "added": 5000,
            "removed": 0,
            "checksum": result["checksum"],
            "skipped": 0,
        }
        done = await watcher.wait_for(lambda e, d: e == "import:done" and d["job_id"] == result["job_id"])
        assert done[1]["count"] == 5000
        progress = [d for d in watcher.named("import:progress") if d["job_id"] == result["job_id"]]
        assert progress
        assert progress[-1]["rows_done"] == 5000
        await asyncio.sleep(0.3)
        assert bystander.named("data:changed") == []
        await watcher.sio.call("unsubscribe", {"categories": ["sg"], "imports": True}, timeout=5)
        await import_rows(topology.a.url, "sg", "cross-node", rows[:10])
        await asyncio.sleep(0.5)
        assert len([d for d in watcher.named("data:changed") if d["source"] == "cross-node"]) == 1
    finally:
        await watcher.close()
        await bystander.close()


async def test_failed_import_is_announced_and_changes_nothing(topology: Topology) -> None:
    watcher = await connect(topology.b.url)
    try:
        await watcher.sio.call("subscribe", {"categories": ["acl"], "imports": True}, timeout=5)
        async with httpx.AsyncClient(base_url=topology.a.url) as http:
            response = await http.post(
                "/api/v1/import/acl", params={"source": "bad.cfg"}, content=b'{"cidr": "10.0.0.0/99"}\n', headers=AUTH
            )
        assert response.status_code == 422
        _, failed, _ = await watcher.wait_for(lambda e, d: e == "import:failed" and d["source"] == "bad.cfg")
        assert failed["status"] == 422
        assert failed["detail"]["errors"][0]["field"] == "cidr"
        await asyncio.sleep(0.3)
        assert [d for d in watcher.named("data:changed") if d["source"] == "bad.cfg"] == []
    finally:
        await watcher.close()


async def test_bad_events_get_errors_and_never_break_the_server(topology: Topology) -> None:
    client = await connect(topology.a.url)
    try:
        unknown = await client.sio.call("no-such-event", {"x": 1}, timeout=5)
        assert "unknown event" in unknown["error"]
        for payload, needle in [
            ("10.0.0.1", "payload must be an object"),
            ([1, 2], "payload must be an object"),
            ({}, "q"),
            ({"q": "10.0.0.300"}, "10.0.0.300"),
            ({"q": "10.0.0.1", "limit": 0}, "limit"),
            ({"q": "10.0.0.1", "categories": ["dns"]}, "categories"),
            ({"q": "10.0.0.1", "extra": True}, "extra"),
        ]:
            ack = await client.sio.call("lookup", payload, timeout=5)
            _, error, _ = await client.wait_for(
                lambda e, d, rid=ack["request_id"]: e == "lookup:error" and d["request_id"] == rid
            )
            assert needle in str(error["detail"]), (payload, error)
        bad_subscribe = await client.sio.call("subscribe", {"categories": ["nope"]}, timeout=5)
        assert "categories" in bad_subscribe["error"]
        assert "object" in (await client.sio.call("subscribe", "acl", timeout=5))["error"]
    finally:
        await client.close()
    huge = await connect(topology.a.url)
    await huge.sio.emit("lookup", {"q": "x" * 200_000})
    await huge.wait_for(lambda e, _d: e == "disconnect", within=10)
    assert not huge.sio.connected, "a 200 KB message should close the connection"
    again = await connect(topology.a.url)
    try:
        ack = await again.sio.call("lookup", {"q": "10.0.0.1", "categories": "acl"}, timeout=5)
        await again.wait_for(lambda e, d: e == "lookup:done" and d["request_id"] == ack["request_id"])
    finally:
        await again.close()
    async with httpx.AsyncClient(base_url=topology.a.url) as http:
        assert (await http.get("/readyz")).status_code == 200


async def test_readyz_reports_redis_and_the_listening_nodes(topology: Topology) -> None:
    async with httpx.AsyncClient(base_url=topology.a.url) as http:
        ready = (await http.get("/readyz")).json()
    assert ready["status"] == "ready"
    assert ready["checks"]["redis"]["status"] == "ok"
    assert ready["checks"]["redis"]["channel_subscribers"] >= 2
    assert ready["checks"]["redis"]["listener"] == "connected"


async def run_cli(topology: Topology, *args: str) -> None:
    """``netlookup ARGS`` as its own process against the topology's database and Redis."""
    env = {**os.environ, "NETLOOKUP_DATABASE_URL": topology.database_url, "NETLOOKUP_REDIS_URL": topology.redis.url}
    command = [sys.executable, "-m", "netlookup", *args]
    result = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


async def test_cli_import_reaches_socket_clients_through_redis(topology: Topology, tmp_path: Path) -> None:
    watcher = await connect(topology.b.url)
    try:
        await watcher.sio.call("subscribe", {"categories": ["f5"], "imports": True}, timeout=5)
        data = tmp_path / "f5.csv"
        data.write_text("partition,name,destination,port,members\nCommon,vs_cli,10.95.0.1,443,10.95.0.2:80\n")
        await run_cli(topology, "import", "f5", str(data), "--source", "cli-f5")
        _, changed, _ = await watcher.wait_for(lambda e, d: e == "data:changed" and d["source"] == "cli-f5")
        assert (changed["category"], changed["added"]) == ("f5", 1)
        await watcher.wait_for(lambda e, d: e == "import:done" and d["source"] == "cli-f5")
    finally:
        await watcher.close()


async def test_demo_data_from_the_cli_is_announced_to_every_node(topology: Topology) -> None:
    """demo-data goes through the one import entry point: each source it loads sends import:done and
    data:changed (through Redis) to the clients of a node that did not write it."""
    watcher = await connect(topology.b.url)
    try:
        await watcher.sio.call("subscribe", {"categories": ["lb"], "imports": True}, timeout=5)
        await run_cli(topology, "demo-data", "--scale", "0.005", "--categories", "lb")
        _, changed, _ = await watcher.wait_for(lambda e, d: e == "data:changed" and d["category"] == "lb")
        assert changed["added"] > 0
        assert changed["checksum"]
        await watcher.wait_for(lambda e, d: e == "import:done" and d["source"] == changed["source"])
    finally:
        await watcher.close()


async def test_no_node_answers_from_older_data_once_data_changed_arrives(topology: Topology) -> None:
    watcher = await connect(topology.b.url)
    try:
        await watcher.sio.call("subscribe", {"categories": ["acl"]}, timeout=5)
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(100):
                status = (await http.get(f"{topology.b.url}/readyz")).json()["checks"]["memory_index"]
                if all(isinstance(v, dict) for v in status.values()):
                    break
                await asyncio.sleep(0.1)
            assert all(isinstance(v, dict) for v in status.values()), status
            for round_number in range(10):
                description = f"round-{round_number}"
                result = await import_rows(
                    topology.a.url, "acl", "coherence.cfg", [{"cidr": "10.96.0.0/16", "description": description}]
                )
                await watcher.wait_for(lambda e, d, c=result["checksum"]: e == "data:changed" and d["checksum"] == c)
                answer = (await http.get(f"{topology.b.url}/api/v1/acl/lookup", params={"q": "10.96.1.1"})).json()
                assert [m["description"] for m in answer["matches"] if m["source"] == "coherence.cfg"] == [description]
    finally:
        await watcher.close()


async def test_no_answer_mixes_a_sources_old_and_new_records(topology: Topology) -> None:
    """Node b answers lookups back to back while node a re-imports a 40-record source ten times: every answer
    holds the source's 40 records of one import, never some of one and some of the next."""
    networks = [f"10.97.0.0/{length}" for length in range(8, 24)] + [f"10.97.1.{i}/32" for i in range(24)]
    seen: set[str] = set()
    done = asyncio.Event()

    async def read() -> None:
        async with httpx.AsyncClient(base_url=topology.b.url, timeout=10) as http:
            while not done.is_set():
                answer = (await http.get("/api/v1/acl/lookup", params={"q": "10.97.1.0/24", "mode": "overlap"})).json()
                rounds = {m["description"] for m in answer["matches"] if m["source"] == "mixed.cfg"}
                assert len(rounds) <= 1, rounds
                if rounds:
                    assert answer["total"] == len(networks), answer["total"]
                    seen.update(rounds)

    reader = asyncio.create_task(read())
    try:
        for round_number in range(10):
            rows = [{"cidr": cidr, "description": f"round-{round_number}"} for cidr in networks]
            await import_rows(topology.a.url, "acl", "mixed.cfg", rows)
            await asyncio.sleep(0.2)
    finally:
        done.set()
        await reader
    assert len(seen) >= 3, seen
