"""The lookup engine against the brute-force oracle, on SQLite and MariaDB, IPv4 and IPv6, every option."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import random
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import event

from netlookup.config import Settings
from netlookup.container import Services, open_services
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from netlookup.lookup.service import LookupService
from netlookup.realtime.notify import Notifier
from tests.conftest import reset_database
from tests.datasets import V4_BASE, V6_BASE, random_dataset
from tests.oracle import expected

CATEGORIES = ("acl", "sg", "lb", "f5")


async def load(services: Services, data: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """Import the dataset and return every stored record (with ids) per category."""
    stored: dict[str, list[dict[str, Any]]] = {}
    for category, sources in data.items():
        for source, rows in sources.items():
            body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
            await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]
        page = await services.records.list_records(category, None, 1000, None)  # type: ignore[arg-type]
        stored[category] = orjson.loads(orjson.dumps(page["items"]))
    return stored


def as_plain(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


queries_v4 = st.builds(
    lambda offset, length: f"{ipaddress.IPv4Address(V4_BASE + offset)}/{length}",
    st.integers(0, (1 << 12) - 1),
    st.integers(0, 32),
)
queries_v6 = st.builds(
    lambda offset, length: f"{ipaddress.IPv6Address(V6_BASE + offset)}/{length}",
    st.integers(0, (1 << 12) - 1),
    st.integers(0, 128),
)
queries_mapped = st.builds(
    lambda offset, length: f"::ffff:{ipaddress.IPv4Address(V4_BASE + offset)}/{96 + length}",
    st.integers(0, (1 << 12) - 1),
    st.integers(0, 32),
)
queries = st.one_of(queries_v4, queries_v4, queries_v6, queries_mapped)


async def memory_lookups(services: Services) -> LookupService:
    """A LookupService answering from freshly built in-memory indexes of what the database holds."""
    indexes = MemoryIndexes()
    indexes.start(services.sessionmaker)
    async with asyncio.timeout(60):
        await indexes.wait_ready()
    await indexes.stop()
    return LookupService(services.engine, row_values=False, indexes=indexes)


@pytest.mark.parametrize("path", ["database", "memory"])
@pytest.mark.parametrize("seed", [1, 2])
def test_lookups_match_the_brute_force_oracle(settings: Settings, seed: int, path: str) -> None:
    runner = asyncio.Runner()
    try:
        runner.run(reset_database(settings.database_url))
        opened = open_services(settings, Notifier(None))
        services = runner.run(opened.__aenter__())
        stored = runner.run(load(services, random_dataset(seed)))
        lookups = services.lookups if path == "database" else runner.run(memory_lookups(services))
        seen_matches: dict[str, int] = dict.fromkeys(CATEGORIES, 0)

        @hypothesis_settings(
            max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
        )
        @given(
            q=queries,
            mode=st.sampled_from(list(Mode)),
            best=st.booleans(),
            limit=st.sampled_from([1, 3, 1000]),
            port=st.one_of(st.none(), st.sampled_from([22, 80, 443, 8050])),
            protocol=st.one_of(st.none(), st.sampled_from(["tcp", "UDP", "6", "icmp"])),
        )
        def check(q: str, mode: Mode, best: bool, limit: int, port: int | None, protocol: str | None) -> None:
            options = LookupOptions(mode=mode, best=best, limit=limit, port=port, protocol=protocol)
            response = runner.run(lookups.lookup(parse_query(q), options))
            for category in CATEGORIES:
                want = expected(
                    category,
                    stored[category],
                    q,
                    mode=mode.value,
                    best=best,
                    limit=limit,
                    port=port,
                    protocol=protocol,
                )
                got = as_plain(response["results"][category])
                assert got == want, f"{category} {q} {options}"
                seen_matches[category] += got["total"] > 0

        check()
        # The data is dense enough that the comparison is about real matches, not empty lists.
        assert all(count >= 5 for count in seen_matches.values()), seen_matches
        runner.run(opened.__aexit__(None, None, None))
    finally:
        runner.close()


async def _import(services: Services, category: str, source: str, rows: list[dict[str, Any]]) -> None:
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]


async def test_covering_orders_longest_prefix_then_source_then_line(services: Services) -> None:
    await _import(services, "acl", "b.cfg", [{"cidr": "10.0.0.0/8", "line": 5}, {"cidr": "10.1.0.0/16", "line": 9}])
    await _import(
        services,
        "acl",
        "a.cfg",
        [
            {"cidr": "10.0.0.0/8", "line": 7},
            {"cidr": "10.0.0.0/8", "line": 3},
            {"cidr": "0.0.0.0/0", "line": 1},
            {"cidr": "10.1.2.3/32", "line": 2},
        ],
    )
    response = await services.lookups.lookup(parse_query("10.1.2.3"), LookupOptions(categories=("acl",)))
    matches = response["results"]["acl"]["matches"]
    assert response["query"] == "10.1.2.3/32"
    assert [(m["prefix_len"], m["source"], m["line"]) for m in matches] == [
        (32, "a.cfg", 2),
        (16, "b.cfg", 9),
        (8, "a.cfg", 3),
        (8, "a.cfg", 7),
        (8, "b.cfg", 5),
        (0, "a.cfg", 1),
    ]


async def test_host_bits_are_cleared_and_reported(services: Services) -> None:
    await _import(services, "acl", "a", [{"cidr": "10.0.0.0/8"}, {"cidr": "10.1.0.0/16"}])
    response = await services.lookups.lookup(parse_query("10.1.2.3/8"), LookupOptions(categories=("acl",)))
    assert response["query"] == "10.0.0.0/8"
    assert [m["cidr"] for m in response["results"]["acl"]["matches"]] == ["10.0.0.0/8"]


async def test_ipv4_and_ipv6_never_match_each_other_but_mapped_ipv4_does(services: Services) -> None:
    await _import(services, "sg", "s", [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}, {"cidr": "10.0.0.0/8"}])
    v4 = await services.lookups.lookup(parse_query("10.9.9.9"), LookupOptions(categories=("sg",)))
    v6 = await services.lookups.lookup(parse_query("2001:db8::1"), LookupOptions(categories=("sg",)))
    mapped = await services.lookups.lookup(parse_query("::ffff:10.9.9.9"), LookupOptions(categories=("sg",)))
    assert sorted(m["cidr"] for m in v4["results"]["sg"]["matches"]) == ["0.0.0.0/0", "10.0.0.0/8"]
    assert [m["cidr"] for m in v6["results"]["sg"]["matches"]] == ["::/0"]
    assert mapped["query"] == "10.9.9.9/32"
    assert mapped["results"]["sg"]["total"] == 2


async def test_limit_reports_total_and_truncated(services: Services) -> None:
    rows = [{"cidr": f"10.0.{i}.0/24"} for i in range(50)] + [{"cidr": "10.0.0.0/8"}] * 5
    await _import(services, "acl", "many", rows)
    options = LookupOptions(categories=("acl",), mode=Mode.within, limit=10)
    result = (await services.lookups.lookup(parse_query("10.0.0.0/16"), options))["results"]["acl"]
    assert (result["total"], result["truncated"], len(result["matches"])) == (50, True, 10)
    overlap = LookupOptions(categories=("acl",), mode=Mode.overlap, limit=1000)
    result = (await services.lookups.lookup(parse_query("10.0.0.0/16"), overlap))["results"]["acl"]
    assert (result["total"], result["truncated"]) == (55, False)


async def test_lb_matched_on_prefers_vip_over_member(services: Services) -> None:
    await _import(
        services,
        "lb",
        "lbs",
        [
            {"name": "both", "vip": "10.0.0.1", "members": [{"ip": "10.0.0.2", "port": 80}]},
            {"name": "member-only", "vip": "192.0.2.1", "members": [{"ip": "10.0.0.3", "port": 80}]},
            {"name": "elsewhere", "vip": "192.0.2.2", "members": []},
        ],
    )
    result = await services.lookups.lookup(parse_query("10.0.0.0/29"), LookupOptions(categories=("lb",)))
    matches = as_plain(result["results"]["lb"]["matches"])
    assert [(m["name"], m["matched_on"], m["prefix_len"]) for m in matches] == [
        ("both", "vip", 32),
        ("member-only", "member", 32),
    ]
    assert matches[0]["members"] == [{"ip": "10.0.0.2", "port": 80}]


async def test_batch_answers_each_query_in_order(services: Services) -> None:
    rng = random.Random(5)
    await _import(services, "acl", "x", [{"cidr": f"10.{rng.randrange(4)}.0.0/16"} for _ in range(30)])
    qs = ["10.0.0.1", "10.1.0.1", "2001:db8::1", "10.3.0.0/16", "10.9.0.1"]
    options = LookupOptions(categories=("acl",))
    batch = await services.lookups.lookup_many([parse_query(q) for q in qs], options)
    singles = [await services.lookups.lookup(parse_query(q), options) for q in qs]
    assert [b["query"] for b in batch] == [s["query"] for s in singles]
    assert [b["results"] for b in batch] == [s["results"] for s in singles]


async def test_a_database_lookup_of_every_category_takes_one_connection(services: Services) -> None:
    """All categories on one connection, in one transaction: one checkout (one ping, one transaction end) per
    lookup, not one per category."""
    await _import(services, "acl", "fw", [{"cidr": "10.0.0.0/8", "line": 1}])
    await _import(services, "sg", "aws", [{"cidr": "10.1.0.0/16", "group_id": "sg-1"}])
    balancer = {"name": "web", "vip": "10.1.2.3", "members": [{"ip": "10.9.9.9", "port": 80}]}
    await _import(services, "lb", "elb", [balancer])
    await _import(services, "f5", "bigip", [{"name": "vs", "destination": "10.1.2.3", "port": 443}])
    checkouts: list[object] = []

    def checked_out(*args: object) -> None:
        checkouts.append(args)

    event.listen(services.engine.sync_engine, "checkout", checked_out)
    try:
        response = await services.lookups.lookup(parse_query("10.1.2.3"), LookupOptions())
    finally:
        event.remove(services.engine.sync_engine, "checkout", checked_out)
    assert {category: result["total"] for category, result in response["results"].items()} == {
        "acl": 1,
        "sg": 1,
        "lb": 1,
        "f5": 1,
    }
    assert len(checkouts) == 1
    assert services.gate.available == services.gate.capacity
