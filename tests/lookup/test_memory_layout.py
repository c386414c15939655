"""The compact segment layout on its own: every record's JSON is exactly its row, whatever its strings hold."""

from __future__ import annotations

import gc
import ipaddress
import random
from typing import Any

import orjson
import pytest

from netlookup.categories import SPECS
from netlookup.lookup.index_reads import gc_paused, shards_of
from netlookup.lookup.memory import NetSegmentBuilder

# Strings a record's JSON could be mistaken at: the separator the builder splits on, quotes, backslashes,
# braces, control characters and non-ASCII text.
AWKWARD = [
    ',{"id":',
    '"},{"id":1,',
    "\\",
    '\\",{"id":',
    "}{",
    "line\nbreak\ttab",
    "zürich – 東京",
    "",
    None,
]


def sg_rows(count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    rows = []
    for n in range(count):
        network = ipaddress.ip_network(
            f"10.{rng.randrange(4)}.{rng.randrange(256)}.0/{rng.choice((16, 24, 32))}", False
        )
        if rng.random() < 0.2:
            network = ipaddress.ip_network(f"2001:db8:{rng.randrange(16):x}::/{rng.choice((48, 64))}", False)
        text = rng.choice(AWKWARD)
        low = rng.choice((None, 22, 443))
        public = {
            "id": n + 1,
            "source": rng.choice(("b", "a", text or "c")),
            "group_id": f"sg-{rng.randrange(5)}",
            "group_name": text,
            "vpc_id": None,
            "account": "1",
            "region": "r",
            "direction": rng.choice(("ingress", "egress")),
            "protocol": rng.choice(("tcp", "TCP", "-1", None)),
            "from_port": low,
            "to_port": low,
            "cidr": str(network),
            "description": text,
        }
        row = tuple(public[name] for name in SPECS["sg"].public_fields)
        family = network.version
        rows.append((*row, network.prefixlen, family, network.network_address.packed, low, low))
    return rows


@pytest.mark.parametrize("seed", range(3))
def test_every_record_json_is_its_row_in_key_order(seed: int) -> None:
    rng = random.Random(seed)
    rows = sg_rows(3000, rng)
    builder = NetSegmentBuilder("sg")
    for start in range(0, len(rows), 700):  # several chunks, one of a single row
        builder.add(rows[start : start + 700])
    builder.add(rows[:0])
    segment = builder.finish()
    assert segment.size == len(rows)
    names = (*SPECS["sg"].public_fields, "prefix_len")
    expected = {row[0]: dict(zip(names, row, strict=False)) for row in rows}
    seen = set()
    keys = []
    for i in range(segment.size):
        record = orjson.loads(segment.json(i))
        assert record == expected[record["id"]]
        assert segment.rid[i] == record["id"]
        seen.add(record["id"])
        network = ipaddress.ip_network(record["cidr"])
        keys.append(
            (network.version, record["prefix_len"], int(network.network_address), record["source"], record["id"])
        )
    assert seen == set(expected)
    # Sorted by family, prefix length, network start, source and id; the bounds cover each run exactly.
    assert keys == sorted(keys)
    for (family, length), (lo, hi) in segment.bounds.items():
        assert {key[:2] for key in keys[lo:hi]} == {(family, length)}
    assert sum(hi - lo for lo, hi in segment.bounds.values()) == segment.size
    assert dict(zip(segment.sources, segment.source_sizes, strict=True)) == {
        source: sum(1 for row in rows if row[1] == source) for source in {row[1] for row in rows}
    }
    # The buffer holds the records in that order, a comma between two: any run of records is one slice that
    # parses as a JSON list of exactly those records.
    assert segment.blob == b",".join(segment.json(i) for i in range(segment.size))
    for _ in range(50):
        a = rng.randrange(segment.size)
        b = rng.randrange(a, segment.size)
        run = orjson.loads(b"[" + segment.blob[segment.json_start[a] : segment.json_end[b]] + b"]")
        assert [record["id"] for record in run] == list(segment.rid[a : b + 1])


def test_a_single_row_chunk_and_an_empty_builder() -> None:
    rows = sg_rows(1, random.Random(7))
    builder = NetSegmentBuilder("sg")
    builder.add(rows)
    segment = builder.finish()
    assert orjson.loads(segment.json(0))["id"] == rows[0][0]
    assert NetSegmentBuilder("acl").finish().size == 0


def test_gc_pauses_nest_and_restore_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_sources_are_dealt_into_shards_of_about_equal_records_lightest_first() -> None:
    counts = {"a": 50, "b": 49, "c": 51, "d": 10, "e": 40, "f": 1}
    shards = shards_of(counts, 2)
    assert set().union(*shards) == set(counts)
    assert sum(len(shard) for shard in shards) == len(counts)  # each source in one shard
    totals = [sum(counts[name] for name in shard) for shard in shards]
    assert totals == sorted(totals)
    assert totals[1] - totals[0] <= max(counts.values())
    assert shards_of({"only": 5}, 3) == [{"only"}]  # no empty shards
    assert shards_of(counts, 2) == shards  # the same shards every time
