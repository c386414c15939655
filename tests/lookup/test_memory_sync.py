"""Keeping the in-memory indexes in step with the database: a build that fails is logged with its traceback,
shown in /readyz, retried, and recovers by itself once the database can answer it."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from netlookup.activity import Activity
from netlookup.app import create_app
from netlookup.config import Settings
from netlookup.container import Services
from netlookup.lookup.memory_sync import STOP_GRACE, MemoryIndexes
from tests.conftest import reset_database


class _Records(logging.Handler):
    """The records of one logger (netlookup's loggers do not propagate to the root, where caplog listens)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sync_log() -> Iterator[_Records]:
    handler = _Records()
    logger = logging.getLogger("netlookup.lookup")  # the index modules log under it
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def _rename(url: str, old: str, new: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")
    finally:
        await engine.dispose()


async def _index_status(http: httpx.AsyncClient, category: str) -> Any:
    return (await http.get("/readyz")).json()["checks"]["memory_index"][category]


async def _poll(http: httpx.AsyncClient, done: Callable[[Any], bool], seconds: float) -> Any:
    """The lb index status once ``done`` holds for it, asking /readyz every 50 ms for up to ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        status = await _index_status(http, "lb")
        if done(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"lb index status still {status!r} after {seconds} s")


async def test_a_failing_index_build_is_logged_with_traceback_shown_in_readyz_and_recovers(
    settings: Settings, sync_log: _Records
) -> None:
    await reset_database(settings.database_url)
    fast_retries = settings.model_copy(update={"index_poll_interval": 0.1})
    await _rename(settings.database_url, "lb_address", "lb_address_away")
    renamed = True
    try:
        app = create_app(fast_retries)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                status = await _poll(http, lambda s: isinstance(s, dict), 20)
                assert status["state"] == "building"
                assert status["failed_attempts"] >= 1
                assert "lb_address" in status["last_error"]
                assert "lb" in (await http.get("/readyz")).json()["building"]
                failures = [r for r in sync_log.records if r.levelno == logging.ERROR and r.exc_info]
                assert failures, [r.getMessage() for r in sync_log.records]
                assert "category=lb" in failures[0].getMessage()
                # Lookups meanwhile: the database path, which fails the same way for lb only.
                acl = await http.get("/api/v1/acl/lookup", params={"q": "10.0.0.1"})
                assert acl.status_code == 200

                await _rename(settings.database_url, "lb_address_away", "lb_address")
                renamed = False
                status = await _poll(http, lambda s: isinstance(s, dict) and "version" in s, 30)
                empty = {"records": 0, "segments": 0, "merging": False, "merged_at": None}
                assert status == {"version": status["version"], **empty}
                assert (await http.get("/readyz")).json()["building"] == []
    finally:
        if renamed:
            await _rename(settings.database_url, "lb_address_away", "lb_address")


async def test_stopping_during_a_build_leaves_off_between_chunks_without_a_traceback(services: Services) -> None:
    rows = b"".join(
        orjson.dumps({"cidr": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}/32", "group_id": "sg-1"}) + b"\n"
        for i in range(40_000)
    )
    await services.imports.import_source("sg", "many", io.BytesIO(rows), "ndjson")
    pool_errors = _Records()
    pool_logger = logging.getLogger("sqlalchemy.pool")
    pool_logger.addHandler(pool_errors)
    try:
        for delay in (0.0, 0.05, 0.2):  # stop at different points of the sg build
            indexes = MemoryIndexes(poll_interval=0.1)
            indexes.start(services.sessionmaker)
            await asyncio.sleep(delay)
            async with asyncio.timeout(STOP_GRACE + 5):
                await indexes.stop()
    finally:
        pool_logger.removeHandler(pool_errors)
    assert [r.getMessage() for r in pool_errors.records if r.levelno >= logging.ERROR] == []


async def test_stopping_while_build_workers_read_terminates_them_at_once(services: Services) -> None:
    """A stop during a build that waits on worker processes does not wait for them: they are terminated, and
    none is left running.

    The stop is timed once the other (empty) categories are built: their reads end at their next chunk, which
    takes as long as the database does, and a busy database made them the slow part of the stop."""
    rows = b"".join(
        orjson.dumps({"cidr": f"10.0.{i // 256}.{i % 256}/32", "group_id": "sg-1"}) + b"\n" for i in range(20_000)
    )
    await services.imports.import_source("sg", "many", io.BytesIO(rows), "ndjson")
    loop = asyncio.get_running_loop()
    for delay in (0.0, 0.2):  # while the worker starts, and while it starts or reads
        indexes = MemoryIndexes(poll_interval=3600, build_workers=1, shard_min_records=1)
        indexes.start(services.sessionmaker, services.settings)
        for _ in range(2000):  # 10 s
            if indexes.building() == ["sg"]:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(delay)
        assert indexes.building() == ["sg"]  # a worker's start (a Python interpreter) alone takes longer
        started = loop.time()
        await indexes.stop()
        assert loop.time() - started < 0.5
        for _ in range(100):  # the pool is joined in a thread
            if not multiprocessing.active_children():
                break
            await asyncio.sleep(0.05)
        assert multiprocessing.active_children() == []


async def test_between_merge_steps_requests_in_progress_go_first() -> None:
    """After a step, a merge lets what is ready run; it waits until no request has been in progress for a step's
    length, but no longer than ``MERGE_GIVE_WAY`` times its step, so requests without end never stop it."""
    activity = Activity()
    indexes = MemoryIndexes(activity=activity)
    order: list[str] = []

    async def ready() -> None:
        order.append("ready task")

    asyncio.get_running_loop().call_soon(lambda: order.append("ready callback"))
    task = asyncio.create_task(ready())
    await indexes._give_way(0.001)
    order.append("next step")
    assert order == ["ready callback", "ready task", "next step"]
    await task

    order.clear()

    async def request(passes: int) -> None:
        with activity.request():
            for _ in range(passes):
                await asyncio.sleep(0.001)
            order.append("request answered")

    task = asyncio.create_task(request(5))
    await asyncio.sleep(0)  # the request is in progress
    await indexes._give_way(0.05)  # it waits for the request, then for a step's length of quiet
    order.append("next step")
    assert order == ["request answered", "next step"]
    await task

    order.clear()
    with activity.request():
        pass  # a request that has just ended: the next one of a client sending them back to back is near

    async def soon() -> None:
        await asyncio.sleep(0.01)
        order.append("10 ms later")

    task = asyncio.create_task(soon())
    await indexes._give_way(0.05)
    order.append("next step")
    assert order == ["10 ms later", "next step"]
    await task

    order.clear()
    endless = asyncio.create_task(request(10**6))
    await asyncio.sleep(0)
    async with asyncio.timeout(5):  # a request that never ends holds the merge MERGE_GIVE_WAY steps' time
        await indexes._give_way(0.002)
    assert order == []
    assert activity.busy
    endless.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await endless
    assert not activity.busy
