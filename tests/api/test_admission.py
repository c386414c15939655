"""Admission before parsing: a single lookup the database gate would refuse is refused (503 + Retry-After) by the
middleware before its route runs, so a flood of them costs next to nothing; what the memory index answers, what
asks for other categories, and whatever is not a single lookup pass on to the routes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
from prometheus_client import REGISTRY
from starlette.types import Scope

from netlookup.api.middleware import lookup_categories
from netlookup.app import create_app, serve_both
from netlookup.config import Settings
from netlookup.lookup.request import LookupOptions, parse_query
from netlookup.runtime import AppState
from tests.conftest import reset_database
from tests.gates import saturated

SHED_SAMPLE = "netlookup_shed_requests_total"


def _scope(path: str, query: bytes = b"", method: str = "GET") -> Scope:
    return {"type": "http", "method": method, "path": path, "query_string": query}


def test_the_categories_of_a_single_lookup_are_read_from_the_raw_request() -> None:
    assert lookup_categories(_scope("/api/v1/lookup", b"q=10.0.0.1")) == ("acl", "sg", "lb", "f5")
    assert lookup_categories(_scope("/api/v1/lookup", b"q=10.0.0.1&categories=sg,ACL")) == ("acl", "sg")
    assert lookup_categories(_scope("/api/v1/lookup", b"categories=lb&categories=f5")) == ("f5",)  # the last wins
    assert lookup_categories(_scope("/api/v1/sg/lookup", b"q=10.0.0.1")) == ("sg",)
    # Not a valid lookup, or not a single lookup: the routes answer it (422, 404, the batch).
    assert lookup_categories(_scope("/api/v1/lookup", b"categories=bogus")) is None
    assert lookup_categories(_scope("/api/v1/bogus/lookup")) is None
    assert lookup_categories(_scope("/api/v1/lookup/batch", method="POST")) is None
    assert lookup_categories(_scope("/api/v1/lookup", method="POST")) is None
    assert lookup_categories(_scope("/api/v1/sources")) is None


@contextlib.asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, AppState]]:
    await reset_database(settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state: AppState = app.state.netlookup
        transport = httpx.ASGITransport(app=serve_both(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, state


@contextlib.contextmanager
def _counted_sheds() -> Iterator[Callable[[], float]]:
    """How many requests were shed as "database busy" since the block began."""
    before = REGISTRY.get_sample_value(SHED_SAMPLE, {"reason": "database busy"}) or 0.0
    yield lambda: (REGISTRY.get_sample_value(SHED_SAMPLE, {"reason": "database busy"}) or 0.0) - before


def _served_503() -> float:
    sample = "netlookup_http_requests_total"
    return REGISTRY.get_sample_value(sample, {"route": "/api/v1/lookup", "method": "GET", "status": "503"}) or 0.0


async def test_a_lookup_the_gate_would_refuse_is_refused_before_its_route(settings: Settings) -> None:
    no_index = settings.model_copy(update={"memory_index": False, "cors_origins": ["https://ui.example"]})
    async with _app(no_index) as (http, state):
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200
        served_before = _served_503()
        with _counted_sheds() as sheds:
            async with saturated(state.services.gate):
                # Not even validated: the route would have answered 422 for this address.
                for path in ("/api/v1/lookup", "/api/v1/sg/lookup"):
                    refused = await http.get(path, params={"q": "not-an-address"})
                    assert refused.status_code == 503, refused.text
                    assert refused.headers["retry-after"] == "1"
                    assert "the database is busy" in refused.json()["detail"]
                    assert len(refused.headers["x-request-id"]) == 16
                    assert "access-control-allow-origin" not in refused.headers
                # The client's request id comes back; an allowed origin gets its CORS headers.
                tagged = await http.get(
                    "/api/v1/lookup",
                    params={"q": "10.0.0.1"},
                    headers={"X-Request-ID": "trace-42", "Origin": "https://ui.example"},
                )
                assert (tagged.status_code, tagged.headers["x-request-id"]) == (503, "trace-42")
                assert tagged.headers["access-control-allow-origin"] == "https://ui.example"
                # What is not a valid single lookup reaches its route.
                bad = await http.get("/api/v1/lookup", params={"q": "10.0.0.1", "categories": "bogus"})
                assert bad.status_code == 422
                batch = await http.post("/api/v1/lookup/batch", json={"queries": []})
                assert batch.status_code == 422
                assert (await http.get("/healthz")).status_code == 200
        assert sheds() == 3
        assert _served_503() - served_before == 2  # counted by route: the sg one under its own
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200


async def test_lookups_the_memory_index_answers_are_admitted_whatever_the_gate(settings: Settings) -> None:
    async with _app(settings) as (http, state):
        indexes = state.services.indexes
        assert indexes is not None
        for _ in range(200):
            if not indexes.building():
                break
            await asyncio.sleep(0.05)
        assert indexes.building() == []
        async with saturated(state.services.gate):
            answered = await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})
            assert answered.status_code == 200, answered.text
            assert (await http.get("/api/v1/acl/lookup", params={"q": "10.0.0.1"})).status_code == 200


async def test_a_refused_lookup_is_answered_after_the_refusal_wait(settings: Settings) -> None:
    """A lookup the gate refuses gets its 503 ``DB_REFUSAL_WAIT`` after the node read it (a refused client's next
    request comes that much later), and is served if room was made meanwhile."""
    no_index = settings.model_copy(update={"memory_index": False, "db_refusal_wait": 0.3})
    async with _app(no_index) as (http, state):
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200
        gate = state.services.gate
        async with saturated(gate):
            started = time.monotonic()
            refused = await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})
            assert refused.status_code == 503, refused.text
            assert 0.3 <= time.monotonic() - started < 1.0
            assert refused.headers["retry-after"] == "1"
        # Saturated again, but freed while the lookup waits to be asked again: it is served.
        async with saturated(gate) as release:
            lookup = asyncio.create_task(http.get("/api/v1/lookup", params={"q": "10.0.0.1"}))
            await asyncio.sleep(0.1)
            release.set()
            assert (await lookup).status_code == 200


async def test_the_refusal_wait_counts_from_when_the_proxy_received_the_request(settings: Settings) -> None:
    """Behind nginx (``X-Request-Start``) the wait counts from when nginx received the request: one that already
    waited that long is refused at once, one that waited part of it waits the rest."""
    no_index = settings.model_copy(update={"memory_index": False, "db_refusal_wait": 0.3})
    async with _app(no_index) as (http, state):
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200
        async with saturated(state.services.gate):
            timings = {}
            stamps: list[tuple[str, float | str]] = [
                ("stamped 0.2 s ago", 0.2),
                ("stamped 5 s ago", 5.0),
                ("stamp not a time", "soon"),
            ]
            for label, stamp in stamps:
                # Stamped just before it is sent: the earlier requests took their own time.
                value = f"t={time.time() - stamp:.3f}" if isinstance(stamp, float) else f"t={stamp}"
                started = time.monotonic()
                refused = await http.get("/api/v1/lookup", params={"q": "10.0.0.1"}, headers={"X-Request-Start": value})
                assert refused.status_code == 503, (label, refused.text)
                timings[label] = time.monotonic() - started
        assert 0.05 <= timings["stamped 0.2 s ago"] < 0.25, timings
        assert timings["stamped 5 s ago"] < 0.1, timings
        assert 0.3 <= timings["stamp not a time"] < 0.8, timings  # read as no stamp: from when the node read it


async def test_a_lookup_admitted_on_arrival_is_served_when_the_gate_fills_before_it_queues(settings: Settings) -> None:
    """Admitted by the outermost layer, a lookup is not refused when it reaches the gate after its route ran,
    even when newcomers are refused by then: the refusal would come late. (The service, in the admission's
    block, as the middleware runs the app in it.)"""
    no_index = settings.model_copy(update={"memory_index": False, "db_refusal_wait": 0.3})
    async with _app(no_index) as (http, state):
        services = state.services
        gate = services.gate
        async with services.lookups.database_admission() as refused:
            assert refused is None
            async with saturated(gate) as release:  # another request's hold
                assert gate.refusal(1) is not None  # a newcomer would be refused now
                asyncio.get_running_loop().call_later(0.05, release.set)
                started = time.monotonic()
                answer = await services.lookups.lookup(parse_query("10.0.0.1"), LookupOptions())
                assert time.monotonic() - started < 0.25  # queued and served, not asked again after 0.3 s
                assert set(answer["results"]) == {"acl", "sg", "lb", "f5"}


async def test_lookups_that_leave_before_the_gate_give_their_places_back(settings: Settings) -> None:
    """A lookup admitted on arrival that never queues (its query does not validate) gives its place up: places
    that leaked would make the gate refuse everything in the end."""
    no_index = settings.model_copy(update={"memory_index": False})
    async with _app(no_index) as (http, state):
        gate = state.services.gate
        for _ in range(gate.capacity + 5):
            assert (await http.get("/api/v1/lookup", params={"q": "not-an-address"})).status_code == 422
        gate.mean_hold = 1.0
        assert gate.expected_wait(1) == 0
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200
        assert gate.expected_wait(1) == 0
