"""Keeping the in-memory indexes coherent with the database, per category.

- Each index remembers the data version (``data_versions``) it was read at, in one transaction with its rows.
- ``invalidate(category)`` drops the index at once, so no lookup on this node answers from older data; lookups go
  to the database until the rebuild (in the background, built in a worker thread) is installed. It is called
  before this node emits ``data:changed`` for its own writes, and when another node's ``data:changed`` arrives
  through Redis, before it is handed to this node's clients.
- A poll of ``data_versions`` every few seconds catches what no event announced (Redis down, a CLI import without
  Redis).
- A build that fails is logged with its traceback (once per distinct error) and retried with a growing delay,
  capped at a minute; ``status()`` (shown by ``/readyz``) says the last error and how many attempts failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup import tables
from netlookup.categories import CATEGORIES, SPECS, Category
from netlookup.changes import DataChange
from netlookup.lookup.memory import AddressIndex, CategoryIndex, NetworkIndex

log = logging.getLogger(__name__)

BUILD_CHUNK = 5000
MAX_RETRY_DELAY = 60.0
# On shutdown, how long builds get to stop between two chunks before they are cancelled mid-read.
STOP_GRACE = 10.0


class Stopping(Exception):
    """The process is shutting down: a build leaves off between two chunks."""


@dataclass(slots=True)
class BuildFailure:
    """The last failed build of one category: what went wrong and how often in a row."""

    error: str
    attempts: int

    def as_status(self) -> dict[str, Any]:
        return {"state": "building", "last_error": self.error, "failed_attempts": self.attempts}


def _release_freed_memory() -> None:
    """Hand the transient build garbage back to the OS (glibc keeps it otherwise: ~2x the index in RSS)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


async def load_index(
    session: AsyncSession, category: Category, stopping: asyncio.Event | None = None
) -> tuple[int, CategoryIndex]:
    """Read one category's version and rows (call inside one transaction) and build its index in a thread.
    Raises Stopping between two chunks once ``stopping`` is set: a build cancelled in the middle of a fetch
    leaves the driver's cursor half-read, which the pool then logs as a traceback while it closes."""
    versions = tables.data_versions
    version = (await session.execute(select(versions.c.version).where(versions.c.category == category))).scalar()
    spec = SPECS[category]
    t = spec.table
    columns = [t.c[name] for name in spec.public_fields]
    if spec.network:
        extra = [t.c.family, t.c.prefix_len, t.c.net_start, t.c.port_lo, t.c.port_hi]
        network_index = NetworkIndex(category)
        # Streamed in chunks: the rows of 150,000 rules never sit in memory all at once.
        result = await session.stream(select(*columns, *extra).execution_options(yield_per=BUILD_CHUNK))
        try:
            async for chunk in result.partitions(BUILD_CHUNK):
                if stopping is not None and stopping.is_set():
                    raise Stopping
                await asyncio.to_thread(network_index.add, chunk)
        finally:  # a rebuild cancelled at shutdown or by a newer change leaves no half-read result behind
            await result.close()
        index: CategoryIndex = await asyncio.to_thread(network_index.finish)
    else:
        a = spec.address_table
        assert a is not None, category
        rows = (await session.execute(select(*columns))).all()
        columns_of_points = (a.c.record_id, a.c.family, a.c.addr, a.c.role, a.c.prefix_len, a.c.addr_end)
        points = (await session.execute(select(*columns_of_points))).all()
        index = await asyncio.to_thread(AddressIndex.build, category, rows, points)
    return int(version or 0), index


class MemoryIndexes:
    """The indexes of one process. ``get`` returns None while a category's index is missing or stale.

    Made before the database is open (the Socket.IO manager and the notifier are handed ``apply_change`` when
    they are built); ``start`` gives it the sessionmaker and builds every index in the background."""

    def __init__(self, *, poll_interval: float = 2.0):
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._poll_interval = poll_interval
        self._indexes: dict[Category, tuple[int, CategoryIndex]] = {}
        self._generation: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)
        self._builders: dict[Category, asyncio.Task[None]] = {}
        self._failures: dict[Category, BuildFailure] = {}
        self._poller: asyncio.Task[None] | None = None
        self._installed = asyncio.Event()
        self._stopping = asyncio.Event()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less when the process stops; True when it stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def get(self, category: Category) -> CategoryIndex | None:
        entry = self._indexes.get(category)
        return entry[1] if entry is not None else None

    def status(self) -> dict[str, Any]:
        """Per category: ``{version, records}`` once built; ``"building"`` meanwhile, or, after a failed build,
        ``{state: "building", last_error, failed_attempts}``."""
        status: dict[str, Any] = {}
        for category in CATEGORIES:
            entry = self._indexes.get(category)
            failure = self._failures.get(category)
            if entry is not None:
                status[category] = {"version": entry[0], "records": entry[1].size}
            else:
                status[category] = failure.as_status() if failure is not None else "building"
        return status

    def apply_change(self, change: DataChange) -> None:
        """The one place a data change reaches the indexes: a change of records (not a re-import of the same
        content) drops its category's index, to be rebuilt."""
        if change.changes_records:
            self.invalidate(change.category)

    def invalidate(self, category: str) -> None:
        """Forget the category's index now and rebuild it in the background."""
        if category not in self._generation:
            return
        cat: Category = category
        self._generation[cat] += 1
        self._indexes.pop(cat, None)
        self._schedule(cat)

    def _schedule(self, category: Category) -> None:
        if self._sessionmaker is None:  # not started: start() builds every category
            return
        running = self._builders.get(category)
        if running is None or running.done():
            # A fresh context: the rebuild is not part of the request that happened to trigger it (log request ids).
            self._builders[category] = asyncio.create_task(
                self._rebuild(category), name=f"index-{category}", context=contextvars.Context()
            )

    async def _rebuild(self, category: Category) -> None:
        assert self._sessionmaker is not None
        while not self._stopping.is_set():
            generation = self._generation[category]
            started = time.perf_counter()
            try:
                async with self._sessionmaker() as session, session.begin():
                    version, index = await load_index(session, category, self._stopping)
            except Stopping:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database path keeps serving; try again later
                if await self._pause(self._build_failed(category, exc)):
                    return
                continue
            if self._generation[category] == generation:
                self._indexes[category] = (version, index)
                self._failures.pop(category, None)
                self._installed.set()
                await asyncio.to_thread(_release_freed_memory)
                log.info(
                    "index ready category=%s version=%d records=%d took_ms=%.0f",
                    category,
                    version,
                    index.size,
                    (time.perf_counter() - started) * 1000,
                )
                return
            # Invalidated while building: what was read may predate the change; read again.

    def _build_failed(self, category: Category, exc: Exception) -> float:
        """Record the failure, log it (with the traceback when the error is new) and say how long to wait."""
        error = f"{type(exc).__name__}: {exc}"[:500]
        previous = self._failures.get(category)
        attempts = previous.attempts + 1 if previous is not None else 1
        self._failures[category] = BuildFailure(error, attempts)
        delay = min(self._poll_interval * float(2 ** min(attempts - 1, 16)), MAX_RETRY_DELAY)
        if previous is None or previous.error != error:
            log.error(
                "index build failed category=%s attempt=%d retry_in_s=%.1f: lookups use the database meanwhile",
                category,
                attempts,
                delay,
                exc_info=exc,
            )
        else:
            log.warning("index build failed again category=%s attempt=%d error=%s", category, attempts, error)
        return delay

    async def _poll(self) -> None:
        assert self._sessionmaker is not None
        sessionmaker = self._sessionmaker
        versions = tables.data_versions
        while not await self._pause(self._poll_interval):
            try:
                async with sessionmaker() as session:
                    current = dict((await session.execute(select(versions.c.category, versions.c.version))).all())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database down: lookups fail over to it anyway
                log.debug("version poll failed: %s", exc.__class__.__name__)
                continue
            for category, (version, _index) in list(self._indexes.items()):
                if current.get(category, version) != version:
                    log.info("index behind the database category=%s: rebuilding", category)
                    self.invalidate(category)

    def start(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Build every index in the background from ``sessionmaker``'s database and start the version poll."""
        self._sessionmaker = sessionmaker
        for category in CATEGORIES:
            self._schedule(category)
        self._poller = asyncio.create_task(self._poll(), name="index-version-poll")

    async def stop(self) -> None:
        """Let builds and the poll leave off at their next chunk or pause (up to STOP_GRACE), then cancel what is
        left."""
        self._stopping.set()
        tasks = [task for task in (*self._builders.values(), self._poller) if task is not None and not task.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
            for task in pending:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def wait_ready(self) -> None:
        """Until every category has an index (tests and benchmarks; wrap in asyncio.timeout)."""
        while any(self.get(category) is None for category in CATEGORIES):
            self._installed.clear()
            await self._installed.wait()
