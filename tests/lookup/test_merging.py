"""Merging an index's segments (``lookup/merging.py``) over random sequences of refreshes and deletes: a merge
started at a random point, its steps interleaved with later refreshes, never changes an answer, never serves a
source twice or not at all, and makes the segment a fresh build of the same records would make."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from netlookup.lookup.memory import (
    AddrSegment,
    CategoryIndex,
    NetSegment,
    Segment,
)
from netlookup.lookup.merging import merge_steps, run_merge
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from tests.datasets import address, network
from tests.lookup.support import Records, category_rows, segment_of
from tests.oracle import expected

SOURCES = ("a.cfg", "b.cfg", "c/d.cfg", "e.cfg", "f.cfg", "g.cfg")


def _answers(index: CategoryIndex, queries: list[tuple[str, LookupOptions]]) -> list[bytes]:
    return [orjson.dumps(index.lookup(parse_query(q), options)) for q, options in queries]


def _queries(rng: random.Random, count: int) -> list[tuple[str, LookupOptions]]:
    queries = []
    for _ in range(count):
        q = address(rng) if rng.random() < 0.5 else network(rng)
        options = LookupOptions(
            mode=rng.choice(list(Mode)),
            best=rng.random() < 0.3,
            limit=rng.choice([1, 3, 1000]),
            port=rng.choice([None, None, 22, 80, 443]),
            protocol=rng.choice([None, None, "tcp", "udp"]),
        )
        queries.append((q, options))
    return queries


def _check_against_oracle(category: str, index: CategoryIndex, records: Records, rng: random.Random) -> None:
    stored = records.public()
    assert index.size == len(stored)
    assert sorted(index.serves()) == sorted(records.held)
    for q, options in _queries(rng, 10):
        got = orjson.loads(orjson.dumps(index.lookup(parse_query(q), options)))
        want = expected(
            category,
            stored,
            q,
            mode=options.mode.value,
            best=options.best,
            limit=options.limit,
            port=options.port,
            protocol=options.protocol,
        )
        assert got == orjson.loads(orjson.dumps(want)), (q, options)


def _served_once(index: CategoryIndex) -> None:
    served = [name for part in index.parts for name in part.served()]
    assert len(served) == len(set(served)), served


@pytest.mark.parametrize("category", ["acl", "sg", "lb", "f5"])
@pytest.mark.parametrize("seed", range(4))
def test_merges_at_random_points_never_change_an_answer(category: str, seed: int) -> None:
    rng = random.Random(f"{category}:{seed}")
    records = Records(category)
    index = CategoryIndex.of(category, (), {}, 0)  # type: ignore[arg-type]
    version = 0
    merge: tuple[Any, list[Segment]] | None = None  # steps under way, and the segments they merge
    merges = 0
    for _step in range(60):
        roll = rng.random()
        if merge is None and roll < 0.25 and index.parts:
            merge = (merge_steps(category, index.parts), [part.segment for part in index.parts])  # type: ignore[arg-type]
        elif merge is not None and roll < 0.5:
            steps, merged_from = merge
            segment = run_merge(steps)  # its last steps, after whatever refreshes came meanwhile
            before = _answers(index, queries := _queries(rng, 20))
            index = index.merged(segment, merged_from)
            merge, merges = None, merges + 1
            assert _answers(index, queries) == before
        else:
            source = rng.choice(SOURCES)
            if merge is not None:
                next(merge[0], None)  # a step of the merge between two refreshes
            rows = [] if rng.random() < 0.2 else category_rows(rng, category, rng.randint(1, 30))
            version += 1
            made = records.replace(source, rows)
            index = index.replaced(segment_of(category, made) if made else None, {source}, version, full=False)
        _served_once(index)
        _check_against_oracle(category, index, records, rng)
    assert merges > 3
    # Everything merged at the end: one segment, serving every source whole.
    if index.needs_merge():
        index = index.merged(run_merge(merge_steps(category, index.parts)), [p.segment for p in index.parts])  # type: ignore[arg-type]
    assert len(index.parts) <= 1
    assert all(part.live is None for part in index.parts)
    _check_against_oracle(category, index, records, rng)


def _net_layout(segment: NetSegment) -> dict[str, Any]:
    """A network segment as its lookups see it: codes resolved to what they stand for."""
    return {
        "sources": segment.sources,
        "source_sizes": segment.source_sizes,
        "json": [bytes(segment.json(i)) for i in range(segment.size)],
        "src": list(segment.src),
        "line": list(segment.line),
        "rid": list(segment.rid),
        "ports": list(zip(segment.port_lo, segment.port_hi, strict=True)),
        "protocols": [segment.protocols[code] for code in segment.proto],
        "groups": [segment.group(i) for i in range(segment.size)],
        "starts": {family: list(map(s.__getitem__, range(len(s)))) for family, s in segment.starts.items()},
        "first": segment.first,
        "bounds": segment.bounds,
    }


def _address_layout(segment: AddrSegment) -> dict[str, Any]:
    records = {
        segment.rid[i]: (segment.sources[segment.src[i]], bytes(segment.head(i)), segment.port[i])
        for i in range(segment.size)
    }
    points = {
        family: sorted((addrs[j], segment.rid[index[j]], roles[j]) for j in range(len(addrs)))
        for family, (addrs, index, roles) in segment.points.items()
    }
    for family, (addrs, _index, _roles) in segment.points.items():
        assert list(map(addrs.__getitem__, range(len(addrs)))) == sorted(map(addrs.__getitem__, range(len(addrs)))), (
            family
        )
    networks = {
        family: sorted((start, end, length, segment.rid[i]) for start, end, length, i in found)
        for family, found in segment.networks.items()
    }
    return {
        "sources": segment.sources,
        "sizes": segment.source_sizes,
        "records": records,
        "points": points,
        "networks": networks,
    }


@pytest.mark.parametrize("category", ["acl", "sg", "lb", "f5"])
def test_a_merge_makes_the_segment_a_fresh_build_makes(category: str) -> None:
    rng = random.Random(category)
    records = Records(category)
    start = [item for source in SOURCES for item in records.replace(source, category_rows(rng, category, 50))]
    index = CategoryIndex.of(category, (), {}, 0).replaced(segment_of(category, start), SOURCES, 1, full=True)  # type: ignore[arg-type]
    for version in range(2, 12):
        source = rng.choice(SOURCES[:4])  # the start's segment keeps serving the others
        made = records.replace(source, category_rows(rng, category, rng.randint(0, 60)))
        index = index.replaced(segment_of(category, made) if made else None, {source}, version, full=False)
    assert len(index.parts) > 2
    assert any(part.live is not None for part in index.parts)
    merged = run_merge(merge_steps(category, index.parts))  # type: ignore[arg-type]
    fresh = segment_of(category, [item for source in sorted(records.held) for item in records.held[source]])
    if isinstance(fresh, NetSegment):
        assert isinstance(merged, NetSegment)
        assert _net_layout(merged) == _net_layout(fresh)
    else:
        assert isinstance(merged, AddrSegment)
        assert _address_layout(merged) == _address_layout(fresh)


def test_a_merge_of_nothing_served_is_empty() -> None:
    records = Records("sg")
    made = records.replace("a.cfg", category_rows(random.Random(1), "sg", 5))
    index = CategoryIndex.of("sg", (), {}, 0).replaced(segment_of("sg", made), {"a.cfg"}, 1, full=False)
    gone = index.replaced(None, {"a.cfg"}, 2, full=False)
    assert gone.parts == ()
    merged = run_merge(merge_steps("sg", index.parts))
    after = gone.merged(merged, [part.segment for part in index.parts])
    assert after.parts == ()
    assert after.serves() == set()
