"""HTTP lookups: single, batch, per category, and bad input never answered with a 500."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import AUTH


async def seed(client: httpx.AsyncClient) -> None:
    acl = b"\n".join(
        orjson.dumps(r)
        for r in [
            {"cidr": "10.0.0.0/8", "line": 1, "protocol": "tcp", "port": "443", "direction": "in"},
            {"cidr": "10.1.0.0/16", "line": 2, "protocol": "udp", "port": "53", "direction": "in"},
            {"cidr": "10.1.2.0/24", "line": 3, "direction": "in"},
            {"cidr": "2001:db8::/32", "line": 4},
        ]
    )
    sg = b"\n".join(
        orjson.dumps(r)
        for r in [
            {
                "cidr": "10.1.2.3/32",
                "group_id": "sg-1",
                "direction": "ingress",
                "protocol": "tcp",
                "from_port": 22,
                "to_port": 22,
            },
            {"cidr": "0.0.0.0/0", "group_id": "sg-1", "direction": "ingress", "protocol": "-1"},
        ]
    )
    lb = orjson.dumps([{"name": "web", "vip": "10.1.2.3", "port": 443, "members": [{"ip": "10.9.0.1", "port": 8443}]}])
    f5 = b"partition,name,destination,port,members\nCommon,vs1,192.0.2.10,443,10.1.2.3:80;[2001:db8::5]:80\n"
    for category, body, fmt in (
        ("acl", acl, "ndjson"),
        ("sg", sg, "ndjson"),
        ("lb", lb, "json"),
        ("f5", f5, "csv"),
    ):
        response = await client.post(
            f"/api/v1/import/{category}", params={"source": "t", "format": fmt}, content=body, headers=AUTH
        )
        assert response.status_code == 200, response.text


async def test_lookup_returns_all_categories_most_specific_first(client: httpx.AsyncClient) -> None:
    await seed(client)
    response = await client.get("/api/v1/lookup", params={"q": "10.1.2.3"})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "10.1.2.3/32"
    assert set(body["results"]) == {"acl", "sg", "lb", "f5"}
    assert [m["cidr"] for m in body["results"]["acl"]["matches"]] == [
        "10.1.2.0/24",
        "10.1.0.0/16",
        "10.0.0.0/8",
    ]
    assert body["results"]["lb"]["matches"][0]["matched_on"] == "vip"
    f5 = body["results"]["f5"]["matches"][0]
    assert f5["matched_on"] == "member"
    assert f5["members"] == [{"ip": "10.1.2.3", "port": 80}, {"ip": "2001:db8::5", "port": 80}]
    assert isinstance(body["took_ms"], float)


async def test_port_and_protocol_narrow_acl_and_sg(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get("/api/v1/lookup", params={"q": "10.1.2.3", "port": 443, "protocol": "TCP"})).json()
    assert [m["line"] for m in body["results"]["acl"]["matches"]] == [3, 1]
    assert [m["cidr"] for m in body["results"]["sg"]["matches"]] == ["0.0.0.0/0"]
    assert body["results"]["lb"]["total"] == 1
    body = (await client.get("/api/v1/lookup", params={"q": "10.1.2.3", "port": 80})).json()
    assert body["results"]["lb"]["total"] == 0


async def test_best_keeps_longest_per_group(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get("/api/v1/lookup", params={"q": "10.1.2.3", "best": "true", "categories": "acl,sg"})).json()
    assert set(body["results"]) == {"acl", "sg"}
    assert [m["cidr"] for m in body["results"]["acl"]["matches"]] == ["10.1.2.0/24"]
    assert [m["cidr"] for m in body["results"]["sg"]["matches"]] == ["10.1.2.3/32"]


async def test_category_lookup_has_the_shape_of_one_result(client: httpx.AsyncClient) -> None:
    await seed(client)
    body = (await client.get("/api/v1/acl/lookup", params={"q": "10.1.0.0/16", "mode": "within"})).json()
    assert set(body) == {"total", "truncated", "matches"}
    assert [m["cidr"] for m in body["matches"]] == ["10.1.2.0/24", "10.1.0.0/16"]


async def test_batch_answers_in_order_and_matches_single_lookups(client: httpx.AsyncClient) -> None:
    await seed(client)
    queries = ["10.1.2.3", "2001:db8::1", "192.0.2.10", "10.200.0.0/16"]
    batch = await client.post("/api/v1/lookup/batch", json={"queries": queries, "limit": 5})
    assert batch.status_code == 200
    results = batch.json()["results"]
    assert [r["query"] for r in results] == [
        "10.1.2.3/32",
        "2001:db8::1/128",
        "192.0.2.10/32",
        "10.200.0.0/16",
    ]
    for q, r in zip(queries, results, strict=True):
        single = (await client.get("/api/v1/lookup", params={"q": q, "limit": 5})).json()
        assert single["results"] == r["results"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"q": "10.1.2.300"}, "10.1.2.300"),
        ({"q": "10.0.0.0/33"}, "10.0.0.0/33"),
        ({"q": "2001:db8::/129"}, "2001:db8::/129"),
        ({"q": "not-an-ip"}, "not-an-ip"),
        ({"q": ""}, "at least 1 character"),
        ({"q": "10.0.0.0/x"}, "not a number"),
        ({"q": "fe80::1%eth0"}, "zone"),
        ({"q": "10.0.0.1", "limit": 0}, "limit"),
        ({"q": "10.0.0.1", "limit": 1001}, "limit"),
        ({"q": "10.0.0.1", "port": 70000}, "port"),
        ({"q": "10.0.0.1", "mode": "sideways"}, "mode"),
        ({"q": "10.0.0.1", "categories": "acl,dns"}, "dns"),
    ],
)
async def test_bad_lookup_input_is_a_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, Any], needle: str
) -> None:
    response = await client.get("/api/v1/lookup", params=params)
    assert response.status_code == 422, response.text
    assert needle in response.text


async def test_missing_q_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/lookup")
    assert response.status_code == 422
    assert "q" in str(response.json()["detail"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"queries": []}, "queries"),
        ({"queries": ["10.0.0.1"] * 1001}, "queries"),
        ({"queries": ["10.0.0.1", "10.0.0.2", "bogus"]}, "queries[2]"),
        ({"queries": ["10.0.0.1"], "limit": 5000}, "limit"),
        ({"queries": ["10.0.0.1"], "categories": ["xyz"]}, "categories"),
        ({"queries": "10.0.0.1"}, "queries"),
        ({"queries": [1, 2]}, "queries"),
        ({"q": ["10.0.0.1"]}, "q"),
    ],
)
async def test_bad_batch_is_a_422_and_nothing_is_answered(
    client: httpx.AsyncClient, body: dict[str, Any], needle: str
) -> None:
    response = await client.post("/api/v1/lookup/batch", json=body)
    assert response.status_code == 422, response.text
    assert needle in response.text
    assert "results" not in response.json()


async def test_batch_with_broken_json_is_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/lookup/batch", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


async def test_unknown_category_path_is_a_404_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/dns/lookup", params={"q": "10.0.0.1"})
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown category 'dns': use one of acl, sg, lb, f5"}


async def test_openapi_documents_every_route_with_descriptions(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/lookup",
        "/api/v1/lookup/batch",
        "/api/v1/{category}/lookup",
        "/api/v1/{category}",
        "/api/v1/sources",
        "/api/v1/import/acl",
        "/api/v1/import/f5",
        "/api/v1/sources/{category}/{source}",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    assert paths["/api/v1/lookup"]["get"]["description"]
    assert "422" in paths["/api/v1/lookup"]["get"]["responses"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
