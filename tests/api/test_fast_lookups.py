"""Single lookups served from memory skip FastAPI's router (``FastLookups``): the answer must be the route's in
every respect a client sees, and whatever that path cannot answer must reach the routes unchanged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from netlookup.api.lookup import FastLookups
from netlookup.app import create_app
from netlookup.config import Settings
from tests.api.test_lookup_api import seed
from tests.api.test_metrics import sample
from tests.conftest import AUTH, reset_database
from tests.processes import API_KEY


def fast_path(app: FastAPI) -> FastLookups:
    """The FastLookups layer of the app's middleware (built on the first request)."""
    layer: Any = app.middleware_stack
    while not isinstance(layer, FastLookups):
        layer = layer.app
    return layer


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    await reset_database(settings.database_url)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        assert (await http.get("/healthz")).status_code == 200  # builds the middleware stack
        if settings.memory_index:
            async with asyncio.timeout(30):
                await app.state.netlookup.indexes.wait_ready()
        yield http, app


def without_took(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_took(item) for key, item in value.items() if key != "took_ms"}
    return value


# (query string, the same options as a batch body)
QUERIES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"q": "10.1.2.3"}, {}),
    ({"q": " 10.1.2.3\t"}, {}),
    ({"q": "10.1.0.0/16", "mode": "within"}, {"mode": "within"}),
    ({"q": "10.1.0.0/16", "mode": "overlap", "limit": "2"}, {"mode": "overlap", "limit": 2}),
    ({"q": "10.1.2.3", "best": "true"}, {"best": True}),
    ({"q": "10.1.2.3", "port": "443", "protocol": "tcp"}, {"port": 443, "protocol": "tcp"}),
    ({"q": "10.1.2.3", "categories": "sg,ACL"}, {"categories": ["acl", "sg"]}),
    ({"q": "2001:db8::1"}, {}),
    ({"q": "::ffff:10.1.2.3"}, {}),
    ({"q": "10.1.2.3", "unknown": "ignored"}, {}),
]


async def test_lookups_from_memory_skip_the_router_and_answer_as_the_route_does(settings: Settings) -> None:
    async with running(settings) as (http, app):
        await seed(http)
        layer = fast_path(app)
        before = (await http.get("/metrics")).text
        for params, options in QUERIES:
            served = layer.served
            single = await http.get("/api/v1/lookup", params=params)
            assert single.status_code == 200, single.text
            assert layer.served == served + 1, params
            assert single.headers["content-type"] == "application/json"
            assert int(single.headers["content-length"]) == len(single.content)
            assert single.headers["x-request-id"]
            # The batch route (FastAPI all the way) with the same options is the reference.
            batch = await http.post("/api/v1/lookup/batch", json={"queries": [params["q"]], **options})
            assert batch.status_code == 200, batch.text
            reference = batch.json()["results"][0]
            assert without_took(single.json()) == without_took(reference), params
            assert any(result["total"] for result in reference["results"].values()), params  # not all empty
            # One category's route (its category replaces the client's): that category's entry of a batch.
            for category in ("acl", "sg", "lb", "f5"):
                one = await http.get(f"/api/v1/{category}/lookup", params={**params, "categories": "bogus"})
                assert one.status_code == 200, one.text
                body = {"queries": [params["q"]], **options, "categories": [category]}
                batch = await http.post("/api/v1/lookup/batch", json=body)
                assert one.json() == batch.json()["results"][0]["results"][category], (category, params)
        after = (await http.get("/metrics")).text
        # Counted by route template, as the router labels them.
        for route, count in (("/api/v1/lookup", len(QUERIES)), ("/api/v1/{category}/lookup", 4 * len(QUERIES))):
            moved = sample(after, "netlookup_http_requests_total", route=route, status="200") - sample(
                before, "netlookup_http_requests_total", route=route, status="200"
            )
            assert moved == count, route
        assert layer.served == 5 * len(QUERIES)


@pytest.mark.parametrize(
    ("path", "params", "status", "detail"),
    [
        ("/api/v1/lookup", {"q": "bad"}, 422, "'bad' is not an address or CIDR"),
        ("/api/v1/lookup", {}, 422, "Field required"),
        ("/api/v1/lookup", {"q": "10.0.0.1", "limit": "0"}, 422, "greater than or equal to 1"),
        ("/api/v1/lookup", {"q": "10.0.0.1", "categories": "bogus"}, 422, "unknown categories bogus"),
        ("/api/v1/lookup", {"q": "10.0.0.01"}, 422, "not an address or CIDR"),
        ("/api/v1/bogus/lookup", {"q": "10.0.0.1"}, 404, "bogus"),
        ("/api/v1/ACL/lookup", {"q": "10.0.0.1"}, 404, "ACL"),
        ("/api/v1/lookup/", {"q": "10.0.0.1"}, 404, None),
    ],
)
async def test_what_it_cannot_answer_reaches_the_routes(
    settings: Settings, path: str, params: dict[str, str], status: int, detail: str | None
) -> None:
    async with running(settings) as (http, app):
        response = await http.get(path, params=params, follow_redirects=False)
        if path.endswith("/"):  # the router's redirect to the route without the slash
            assert response.status_code == 307
        else:
            assert response.status_code == status, response.text
            assert detail is None or detail in response.text
        assert fast_path(app).served == 0


async def test_read_keys_are_checked_as_the_route_checks_them(database_url: str) -> None:
    settings = Settings(database_url=database_url, api_keys=[API_KEY], read_auth=True, _env_file=None)
    async with running(settings) as (http, app):
        layer = fast_path(app)
        missing = await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})
        assert missing.status_code == 401
        assert "missing API key" in missing.text
        wrong = await http.get("/api/v1/sg/lookup", params={"q": "10.0.0.1"}, headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 403
        assert "not valid" in wrong.text
        assert layer.served == 0
        for path in ("/api/v1/lookup", "/api/v1/sg/lookup"):
            assert (await http.get(path, params={"q": "10.0.0.1"}, headers=AUTH)).status_code == 200
        assert layer.served == 2


async def test_lookups_on_the_database_path_go_to_the_route(database_url: str) -> None:
    settings = Settings(database_url=database_url, api_keys=[API_KEY], memory_index=False, _env_file=None)
    async with running(settings) as (http, app):
        await seed(http)
        response = await http.get("/api/v1/lookup", params={"q": "10.1.2.3"})
        assert response.status_code == 200
        assert [m["cidr"] for m in response.json()["results"]["acl"]["matches"]][0] == "10.1.2.0/24"
        assert fast_path(app).served == 0
