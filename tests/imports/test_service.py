"""Pure helpers of the atomic replace: what changed between two record sets, and their checksum."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from netlookup.container import Services
from netlookup.imports.diff import OldRecords
from netlookup.imports.service import content_checksum
from netlookup.lookup.request import LookupOptions, parse_query

_fingerprints = st.lists(st.integers(-5, 5) | st.integers(-(2**63), 2**63 - 1), max_size=60)


@given(_fingerprints, _fingerprints)
def test_old_records_claimed_like_multiset_differences(old: list[int], new: list[int]) -> None:
    records = OldRecords(sorted((fingerprint, 100 + i) for i, fingerprint in enumerate(old)))
    inserted = sum(not records.keep(fingerprint) for fingerprint in new)
    assert inserted == sum((Counter(new) - Counter(old)).values())
    assert records.removed == sum((Counter(old) - Counter(new)).values())
    assert len(records.removed_ids()) == records.removed
    assert records.removed_ids() == sorted(records.removed_ids())
    assert records.max_id == (99 + len(old) if old else 0)


def test_old_records_must_come_sorted() -> None:
    with pytest.raises(ValueError, match="sorted"):
        OldRecords([(5, 1), (3, 2)])


@given(_fingerprints, st.randoms())
def test_checksum_ignores_order(values: list[int], rng: object) -> None:
    shuffled = list(values)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert content_checksum(values) == content_checksum(shuffled)
    assert content_checksum(values) != content_checksum([*values, 1])


async def test_a_parser_that_trips_is_a_refusal_at_its_position_not_a_crash() -> None:
    from collections.abc import Iterator

    from netlookup.imports.rows import ParsedRow
    from netlookup.imports.validate import validated_batches

    def tripping() -> Iterator[Any]:
        for number in range(1, 4):
            yield ParsedRow(number, {"cidr": f"10.0.{number}.0/24"})
        raise TypeError("'int' object is not iterable")

    async with validated_batches("acl", tripping(), size=2) as batches:
        first = await batches.next()
        second = await batches.next()
    assert [len(first.rows), first.errors] == [2, []]
    assert second.finished
    [error] = second.errors
    assert error.line == 4
    assert "past item 3" in error.reason
    assert "TypeError" in error.reason


async def _import(services: Services, category: str, source: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
    result = await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]
    return result.as_dict()


async def _ids(services: Services, category: str, source: str) -> dict[Any, list[int]]:
    page = await services.records.list_records(category, source, 1000, None)  # type: ignore[arg-type]
    ids: dict[Any, list[int]] = {}
    for record in page["items"]:
        ids.setdefault(record.get("cidr") or record.get("vip"), []).append(record["id"])
    return ids


async def _acl_version(services: Services) -> int:
    async with services.engine.connect() as conn:
        return int(
            (await conn.exec_driver_sql("SELECT version FROM data_versions WHERE category = 'acl'")).scalar_one()
        )


async def test_reimport_keeps_unchanged_records_and_their_ids(services: Services) -> None:
    a, b, d = ({"cidr": "10.1.0.0/16", "line": 1}, {"cidr": "10.2.0.0/16", "line": 2}, {"cidr": "10.4.0.0/16"})
    first = await _import(services, "acl", "fw.cfg", [a, b, b])
    assert (first["added"], first["removed"]) == (3, 0)
    ids, version = await _ids(services, "acl", "fw.cfg"), await _acl_version(services)
    same = await _import(services, "acl", "fw.cfg", [b, a, b])
    assert (same["added"], same["removed"], same["checksum"]) == (0, 0, first["checksum"])
    assert await _ids(services, "acl", "fw.cfg") == ids
    assert await _acl_version(services) == version  # nothing changed: no node rebuilds its index
    changed = await _import(services, "acl", "fw.cfg", [a, b, d])
    assert (changed["added"], changed["removed"], changed["count"]) == (1, 1, 3)
    after = await _ids(services, "acl", "fw.cfg")
    assert after["10.1.0.0/16"] == ids["10.1.0.0/16"]
    assert len(after["10.2.0.0/16"]) == 1
    assert after["10.2.0.0/16"][0] in ids["10.2.0.0/16"]
    assert after["10.4.0.0/16"][0] > max(ids["10.2.0.0/16"])
    assert await _acl_version(services) == version + 1
    found = await services.lookups.lookup(parse_query("10.4.1.1"), LookupOptions(categories=("acl",)))
    assert [m["cidr"] for m in found["results"]["acl"]["matches"]] == ["10.4.0.0/16"]


async def test_reimport_drops_the_address_points_of_removed_balancers(services: Services) -> None:
    one = {"name": "one", "vip": "10.9.0.1", "members": [{"ip": "10.9.1.1", "port": 80}]}
    two = {"name": "two", "vip": "10.9.0.2", "members": [{"ip": "10.9.1.2", "port": 80}]}
    await _import(services, "lb", "lbs", [one, two])
    kept = await _import(services, "lb", "lbs", [one])
    assert (kept["added"], kept["removed"]) == (0, 1)
    options = LookupOptions(categories=("lb",))
    member_of_two = await services.lookups.lookup(parse_query("10.9.1.2"), options)
    assert member_of_two["results"]["lb"]["matches"] == []
    member_of_one = await services.lookups.lookup(parse_query("10.9.1.1"), options)
    assert [m["name"] for m in member_of_one["results"]["lb"]["matches"]] == ["one"]
    other = {"name": "three", "vip": "10.9.0.3", "members": []}
    replaced = await _import(services, "lb", "lbs", [other])  # nothing kept: the whole-source delete
    assert (replaced["added"], replaced["removed"]) == (1, 1)
    assert (await services.lookups.lookup(parse_query("10.9.1.1"), options))["results"]["lb"]["matches"] == []
    vip = await services.lookups.lookup(parse_query("10.9.0.3"), options)
    assert [m["name"] for m in vip["results"]["lb"]["matches"]] == ["three"]
