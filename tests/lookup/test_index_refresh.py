"""Per-source refresh: over random sequences of imports, re-imports and deletes of several sources, the in-memory
index answers what the database path and the brute-force oracle answer, at every step, and it is refreshed (not
dropped) by each change before the change is announced."""

from __future__ import annotations

import asyncio
import io
import logging
import random
import time
import weakref
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from netlookup.config import Settings
from netlookup.container import open_services
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from netlookup.lookup.service import LookupService
from netlookup.realtime.notify import Notifier
from tests.conftest import reset_database
from tests.datasets import address, network
from tests.lookup.support import LogMessages, category_rows
from tests.oracle import expected

CATEGORIES = ("acl", "sg", "lb", "f5")
SOURCES = ("a.cfg", "b.cfg", "c/d.cfg", "e.cfg", "f.cfg", "g.cfg", "h.cfg", "i.cfg")


def _query(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return address(rng)
    return network(rng)


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {seconds} s: {what}")


def _plain(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


@pytest.mark.parametrize(("seed", "merge_delay"), [(1, 0.0), (2, 0.0), (3, None)])
async def test_index_equals_database_and_oracle_over_imports_and_deletes(
    settings: Settings, seed: int, merge_delay: float | None
) -> None:
    """``merge_delay`` 0: segments merged in the background at whatever points the steps leave them time to
    (each step waits a random while); None: never merged, every lookup reading across segments."""
    rng = random.Random(seed)
    await reset_database(settings.database_url)
    # Only the changes' own refreshes, no poll to cover for them.
    indexes = MemoryIndexes(poll_interval=3600, merge_delay=merge_delay)
    async with open_services(settings, Notifier(None, on_change=indexes.apply_change), indexes=indexes) as services:
        async with asyncio.timeout(60):
            await indexes.wait_ready()
        database = LookupService(services.engine, row_values=False)
        held: dict[str, dict[str, list[dict[str, Any]]]] = {category: {} for category in CATEGORIES}
        for step in range(40):
            category = rng.choice(CATEGORIES)
            source = rng.choice(SOURCES)
            rows = held[category].get(source)
            action = rng.random()
            if rows and action < 0.2:
                await services.imports.delete_source(category, source)  # type: ignore[arg-type]
                del held[category][source]
            else:
                if rows and action < 0.4:
                    new = rows  # the same content again: nothing changes
                elif rows and action < 0.6:  # some kept, some new
                    new = rows[: len(rows) // 2] + category_rows(rng, category, rng.randint(1, 8))
                else:
                    new = category_rows(rng, category, rng.randint(1, 40))
                body = b"".join(orjson.dumps(row) + b"\n" for row in new)
                await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]
                held[category][source] = new
            await asyncio.sleep(rng.choice((0.0, 0.0, 0.005, 0.05)))  # a merge may run, or part of one
            # Refreshed, never dropped: every category answers from memory right after the change returned.
            assert indexes.building() == [], (step, indexes.status())
            index = indexes.get(category)  # type: ignore[arg-type]
            assert index is not None
            stored: dict[str, list[dict[str, Any]]] = {}
            for name in CATEGORIES:
                page = await services.records.list_records(name, None, 1000, None)  # type: ignore[arg-type]
                stored[name] = _plain(page["items"])
                assert indexes.get(name).size == len(stored[name]), (step, name)  # type: ignore[arg-type,union-attr]
            for _ in range(12):
                q = _query(rng)
                mode = rng.choice(list(Mode))
                best, limit = rng.random() < 0.3, rng.choice([1, 3, 1000])
                port = rng.choice([None, None, 22, 80, 443])
                protocol = rng.choice([None, None, "tcp", "udp"])
                options = LookupOptions(mode=mode, best=best, limit=limit, port=port, protocol=protocol)
                memory = _plain(await services.lookups.lookup(parse_query(q), options))
                sql = _plain(await database.lookup(parse_query(q), options))
                for name in CATEGORIES:
                    want = expected(
                        name, stored[name], q, mode=mode.value, best=best, limit=limit, port=port, protocol=protocol
                    )
                    assert memory["results"][name] == want, (step, name, q, options)
                    assert sql["results"][name] == want, (step, name, q, options)


async def test_the_poll_refreshes_exactly_the_sources_no_event_announced(settings: Settings) -> None:
    """Writes this process's indexes never hear of (another process without Redis): the poll finds the sources
    whose version moved and refreshes those, the category serving from memory all along."""
    await reset_database(settings.database_url)
    indexes = MemoryIndexes(poll_interval=0.1, merge_delay=None)  # segments as the refreshes left them
    async with open_services(settings, Notifier(None), indexes=indexes) as services:
        body = b"".join(orjson.dumps({"cidr": f"10.30.{i}.0/24", "group_id": "sg-a"}) + b"\n" for i in range(50))
        await services.imports.import_source("sg", "stays", io.BytesIO(body), "ndjson")
        async with asyncio.timeout(60):
            await indexes.wait_ready()
        await _until(lambda: getattr(indexes.get("sg"), "size", 0) == 50, 10, "the first source")
        stays = indexes.get("sg").parts  # type: ignore[union-attr]
        await services.imports.import_source("sg", "new", io.BytesIO(b'{"cidr": "10.31.0.0/16"}\n'), "ndjson")

        def refreshed(size: int) -> bool:
            assert indexes.building() == [], "the category stays in memory"
            return getattr(indexes.get("sg"), "size", 0) == size

        await _until(lambda: refreshed(51), 10, "the new source")
        index = indexes.get("sg")
        assert index is not None
        kept = {part.segment for part in stays}
        assert {part.segment for part in index.parts} >= kept, "the unchanged source's segment is kept, not re-read"
        answer = await services.lookups.lookup(parse_query("10.31.1.1"), LookupOptions(categories=("sg",)))
        assert _plain(answer)["results"]["sg"]["total"] == 1
        await services.imports.delete_source("sg", "new")
        await _until(lambda: refreshed(50), 10, "the deleted source gone")


async def test_an_import_is_read_once_though_the_poll_sees_it_first(settings: Settings) -> None:
    """The version poll runs every few milliseconds, so it sees each import's new version while the import's own
    refresh is still reading the source: it leaves the source to that refresh (each import read once)."""
    await reset_database(settings.database_url)
    log = LogMessages()
    logger = logging.getLogger("netlookup.lookup")
    logger.addHandler(log)
    level = logger.level
    logger.setLevel(logging.INFO)
    indexes = MemoryIndexes(poll_interval=0.005, merge_delay=None)
    try:
        async with open_services(settings, Notifier(None, on_change=indexes.apply_change), indexes=indexes) as services:
            async with asyncio.timeout(60):
                await indexes.wait_ready()
            for n in range(4):
                body = b"".join(
                    orjson.dumps({"cidr": f"10.{40 + n}.{i // 250}.{i % 250}/32", "group_id": "sg-a"}) + b"\n"
                    for i in range(3000)
                )
                await services.imports.import_source("sg", f"src{n}", io.BytesIO(body), "ndjson")
                assert getattr(indexes.get("sg"), "size", 0) == 3000 * (n + 1)
            await asyncio.sleep(0.2)  # polls after the last refresh find nothing behind
    finally:
        logger.removeHandler(log)
        logger.setLevel(level)
    refreshes = [m for m in log.messages if m.startswith("index refreshed category=sg")]
    assert len(refreshes) == 4, log.messages
    assert not [m for m in log.messages if m.startswith("index behind the database")], log.messages


@pytest.mark.parametrize(("worker_reaches_database", "share_here"), [(True, True), (True, False), (False, True)])
async def test_a_build_spread_over_worker_processes_equals_the_database(
    settings: Settings, worker_reaches_database: bool, share_here: bool
) -> None:
    """A first build of a large category reads shards of its sources in worker processes (and, for a very large
    one, one shard here too): the index then answers exactly what the database path and the oracle answer. A
    worker that cannot read its shard (here: a database it cannot reach) is logged and its shard read in the
    serving process instead."""
    rng = random.Random(5)
    await reset_database(settings.database_url)
    held: dict[str, dict[str, list[dict[str, Any]]]] = {category: {} for category in CATEGORIES}
    async with open_services(settings, Notifier(None)) as services:
        for category in CATEGORIES:
            for source in SOURCES[:5]:
                held[category][source] = rows = category_rows(rng, category, rng.randint(5, 30))
                body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
                await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]
    worker_settings = settings
    if not worker_reaches_database:
        broken = "sqlite+aiosqlite:///" if settings.database_url.startswith("sqlite") else settings.database_url
        worker_settings = settings.model_copy(update={"database_url": broken + "-missing/none.db"})
    log = LogMessages()
    logger = logging.getLogger("netlookup.lookup")  # the index modules log under it
    logger.addHandler(log)
    level = logger.level
    logger.setLevel(logging.INFO)
    indexes = MemoryIndexes(
        poll_interval=3600,
        build_workers=2,
        shard_min_records=1,
        share_here_min_records=1 if share_here else 10**9,
        merge_delay=None,  # a segment per shard, as the build made them
    )
    try:
        async with open_services(settings, Notifier(None), indexes=None) as services:
            indexes.start(services.sessionmaker, worker_settings)
            try:
                async with asyncio.timeout(120):
                    await indexes.wait_ready()
                database = LookupService(services.engine, row_values=False)
                memory = LookupService(services.engine, row_values=False, indexes=indexes)
                stored: dict[str, list[dict[str, Any]]] = {}
                for name in CATEGORIES:
                    page = await services.records.list_records(name, None, 1000, None)  # type: ignore[arg-type]
                    stored[name] = _plain(page["items"])
                    index = indexes.get(name)  # type: ignore[arg-type]
                    assert index is not None
                    assert index.size == len(stored[name])
                    assert len(index.parts) == (3 if share_here else 2), indexes.status()  # a part per shard
                    assert index.serves() == set(SOURCES[:5])
                for _ in range(80):
                    q = _query(rng)
                    mode = rng.choice(list(Mode))
                    best, limit = rng.random() < 0.3, rng.choice([1, 3, 1000])
                    port = rng.choice([None, None, 22, 443])
                    options = LookupOptions(mode=mode, best=best, limit=limit, port=port)
                    got = _plain(await memory.lookup(parse_query(q), options))
                    sql = _plain(await database.lookup(parse_query(q), options))
                    assert got["results"] == sql["results"], (q, options)
                    for name in CATEGORIES:
                        want = expected(name, stored[name], q, mode=mode.value, best=best, limit=limit, port=port)
                        assert got["results"][name] == want, (name, q, options)
            finally:
                await indexes.stop()
    finally:
        logger.removeHandler(log)
        logger.setLevel(level)
    read_by_workers = [m for m in log.messages if m.startswith("index shard read by a worker")]
    failed = [m for m in log.messages if m.startswith("index build worker failed")]
    if worker_reaches_database:
        assert len(read_by_workers) == 2 * len(CATEGORIES), log.messages
        assert not failed, log.messages
    else:
        assert len(failed) == 2 * len(CATEGORIES), log.messages
        assert not read_by_workers, log.messages


async def test_lookups_answer_the_same_before_during_and_after_a_merge(settings: Settings) -> None:
    """Sources imported one by one leave a segment each; the background merge makes one of them, its steps
    between lookups that keep answering what the oracle answers; the status and the metrics say when it ran."""
    rng = random.Random(7)
    await reset_database(settings.database_url)
    indexes = MemoryIndexes(poll_interval=3600, merge_delay=0.5)
    async with open_services(settings, Notifier(None, on_change=indexes.apply_change), indexes=indexes) as services:
        async with asyncio.timeout(60):
            await indexes.wait_ready()
        stored: dict[str, list[dict[str, Any]]] = {}
        for category in CATEGORIES:
            for source in SOURCES[:5]:
                rows = category_rows(rng, category, 150 if category in ("acl", "sg") else 40)  # one page
                body = b"".join(orjson.dumps(row) + b"\n" for row in rows)
                await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")  # type: ignore[arg-type]
            page = await services.records.list_records(category, None, 1000, None)  # type: ignore[arg-type]
            stored[category] = _plain(page["items"])
        assert any(indexes.status()[category]["segments"] > 1 for category in CATEGORIES), indexes.status()
        held = [weakref.ref(part.segment) for c in CATEGORIES for part in indexes.get(c).parts]  # type: ignore[arg-type, union-attr]
        queries = []
        for _ in range(40):
            options = LookupOptions(mode=rng.choice(list(Mode)), best=rng.random() < 0.3, limit=rng.choice([1, 1000]))
            queries.append((_query(rng), options))
        checked = during = 0
        merging: set[str] = set()  # the categories seen with a merge running

        def merged() -> bool:
            status = indexes.status()
            merging.update(c for c in CATEGORIES if status[c]["merging"])
            return all(status[c]["segments"] == 1 and status[c]["merged_at"] is not None for c in CATEGORIES)

        async with asyncio.timeout(60):
            while True:
                done = merged()
                q, options = queries[checked % len(queries)]
                answer = _plain(await services.lookups.lookup(parse_query(q), options))
                for name in CATEGORIES:
                    want = expected(
                        name, stored[name], q, mode=options.mode.value, best=options.best, limit=options.limit
                    )
                    assert answer["results"][name] == want, (name, q, options)
                checked += 1
                during += not done
                await asyncio.sleep(0)  # a lookup from memory never waits: let the merge's steps in, as requests do
                if done and checked >= len(queries):
                    break
        assert during > 0
        # The merged-away segments are freed when their merge is installed, not held while the merger waits.
        serving = {id(part.segment) for c in CATEGORIES for part in indexes.get(c).parts}  # type: ignore[arg-type, union-attr]
        assert [ref for ref in held if ref() is not None and id(ref()) not in serving] == []
        assert merging, "/readyz says when a merge is running"
        assert not any(indexes.status()[c]["merging"] for c in CATEGORIES)
        for category in CATEGORIES:
            index = indexes.get(category)  # type: ignore[arg-type]
            assert index is not None
            assert [part.live for part in index.parts] == [None]
            assert index.serves() == set(SOURCES[:5])
            stamp = REGISTRY.get_sample_value(
                "netlookup_memory_index_last_merge_timestamp_seconds", {"category": category}
            )
            assert stamp is not None
            assert abs(stamp - time.time()) < 120
            assert indexes.status()[category]["merged_at"].endswith("Z")
