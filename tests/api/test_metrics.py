"""/metrics exposes the named series and they move with traffic; every response carries a request id."""

from __future__ import annotations

import re

import httpx
import orjson

from tests.conftest import AUTH


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the series of ``name`` whose labels include ``labels`` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_move_when_traffic_flows(client: httpx.AsyncClient) -> None:
    before = (await client.get("/metrics")).text
    for series in (
        "netlookup_http_requests_total",
        "netlookup_db_pool_connections",
        "netlookup_db_gate",
        "netlookup_socketio_connected_clients",
        "netlookup_memory_index_records",
    ):
        assert series in before, series
    body = b"".join(orjson.dumps({"cidr": f"10.{i}.0.0/16"}) + b"\n" for i in range(30))
    assert (await client.post("/api/v1/import/acl", params={"source": "m"}, content=body, headers=AUTH)).is_success
    for _ in range(3):
        assert (await client.get("/api/v1/lookup", params={"q": "10.1.2.3"})).status_code == 200
    assert (await client.get("/api/v1/lookup", params={"q": "bad"})).status_code == 422
    after = (await client.get("/metrics")).text
    route = "/api/v1/lookup"
    assert (
        sample(after, "netlookup_http_requests_total", route=route, status="200")
        - sample(before, "netlookup_http_requests_total", route=route, status="200")
        == 3
    )
    assert sample(after, "netlookup_http_requests_total", route=route, status="422") >= 1
    assert sample(after, "netlookup_http_request_duration_seconds_count", route=route, status="200") >= 3
    assert sample(after, "netlookup_lookup_duration_seconds_count", category="acl") >= 3
    assert (
        sample(after, "netlookup_import_rows_total", category="acl")
        - sample(before, "netlookup_import_rows_total", category="acl")
        == 30
    )
    assert sample(after, "netlookup_db_gate", state="capacity") >= 1


async def test_responses_carry_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{16}", generated.headers["x-request-id"])
    echoed = await client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    assert echoed.headers["x-request-id"] == "trace-me-42"


async def test_requests_that_queued_too_long_are_shed(client: httpx.AsyncClient) -> None:
    import time

    stale = await client.get(
        "/api/v1/lookup", params={"q": "10.0.0.1"}, headers={"X-Request-Start": f"t={time.time() - 30:.3f}"}
    )
    assert stale.status_code == 503
    assert stale.headers["retry-after"] == "1"
    assert "queued too long" in stale.json()["detail"]
    fresh = await client.get(
        "/api/v1/lookup", params={"q": "10.0.0.1"}, headers={"X-Request-Start": f"t={time.time():.3f}"}
    )
    assert fresh.status_code == 200
    health = await client.get("/healthz", headers={"X-Request-Start": f"t={time.time() - 30:.3f}"})
    assert health.status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'netlookup_shed_requests_total{reason="queued too long"}' in metrics
