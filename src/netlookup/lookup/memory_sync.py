"""Keeping the in-memory indexes coherent with the database, per category and per source.

- A node builds each category's index once at start (all categories at once, rows streamed in chunks and built
  between chunks, the cyclic collector paused; a large category's sources spread over build worker processes).
  Lookups of a category go to the database until its first index is installed.
- An import or delete of one source re-reads that source only (``apply_change``): the new segment is
  installed in one step, so readers see the source all old or all new; ``apply_change`` returns once it is, so a
  node delivers ``data:changed`` (its own, or another node's through Redis) only when it no longer serves what
  the change replaced. If that takes longer than the refresh timeout, the category's index is dropped (lookups
  go to the database) and rebuilt.
- A poll of ``data_versions`` and ``sources.version`` every few seconds catches what no event announced (Redis
  down, a CLI import without Redis) and refreshes exactly the sources that moved.
- A build that fails is logged with its traceback (once per distinct error) and retried with a growing delay,
  capped at a minute; ``status()`` (shown by ``/readyz``) says the last error and how many attempts failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ctypes
import gc
import heapq
import logging
import multiprocessing
import multiprocessing.pool
import pickle
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup import tables
from netlookup.categories import CATEGORIES, SPECS, Category
from netlookup.changes import DataChange
from netlookup.config import Settings
from netlookup.db import make_engine, make_sessionmaker, shares_database
from netlookup.lookup.memory import CategoryIndex, NetSegmentBuilder, Segment, build_address_segment
from netlookup.lookup.snapshots import SnapshotRefused, load_snapshot, remove_abandoned, save_snapshot

log = logging.getLogger(__name__)
T = TypeVar("T")

BUILD_CHUNK = 5000
MAX_RETRY_DELAY = 60.0
# On shutdown, how long builds get to stop between two chunks before they are cancelled mid-read.
STOP_GRACE = 10.0
# How long a change waits for this node's index to serve it before the category falls back to the database.
REFRESH_TIMEOUT = 30.0
# A first build of a category holding at least this many records is read by the build workers
# (NETLOOKUP_BUILD_WORKERS), its sources spread over them: below it a worker's start (a Python interpreter and
# its imports) costs more than it saves.
SHARD_MIN_RECORDS = 100_000
# From this many records the serving process reads a shard too (the build is then faster than its workers alone;
# below it, leaving the whole read to the workers keeps the build's garbage out of the serving process's heap).
SHARE_HERE_MIN_RECORDS = 400_000
# Snapshots on disk (NETLOOKUP_INDEX_SNAPSHOT_DIR): the first is written this long after a category's index first
# serves (the other categories' builds are done by then), later ones at most once per SNAPSHOT_INTERVAL.
SNAPSHOT_DELAY = 5.0
SNAPSHOT_INTERVAL = 60.0


class Stopping(Exception):
    """The process is shutting down: a build leaves off between two chunks."""


@dataclass(slots=True)
class BuildFailure:
    """The last failed build of one category: what went wrong and how often in a row."""

    error: str
    attempts: int

    def as_status(self) -> dict[str, Any]:
        return {"state": "building", "last_error": self.error, "failed_attempts": self.attempts}


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build step runs. A step makes hundreds of thousands of short-lived
    tuples and dicts (no cycles among them); each collection they trigger walks every live container, which
    cost a fifth of a start-up build. Nested and concurrent pauses share one switch; the collector comes back
    on with the last one, if it was on before the first."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _paused(step: Callable[..., T], *args: Any) -> T:
    with gc_paused():
        return step(*args)


def _release_freed_memory() -> None:
    """Hand the transient build garbage back to the OS (glibc keeps it otherwise: ~2x the index in RSS)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def read_in_worker(settings: Settings, category: Category, sources: frozenset[str]) -> tuple[int, Segment, set[str]]:
    """``read_segment`` of ``sources`` in a build worker process, over its own connection; the segment comes back
    pickled (flat arrays and one buffer: it pickles at the speed of a copy)."""

    async def read() -> tuple[int, Segment, set[str]]:
        engine = make_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await read_segment(session, category, set(sources), inline=True)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _worker_start() -> None:
    """A build worker leaves Ctrl-C to the serving process, which terminates it (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def shards_of(counts: Mapping[str, int], shards: int) -> list[set[str]]:
    """Sources spread over ``shards`` sets of about equal record counts (largest first into the lightest set),
    lightest set first; empty sets left out."""
    bins: list[tuple[int, int, set[str]]] = [(0, n, set()) for n in range(shards)]
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        total, n, names = heapq.heappop(bins)
        names.add(name)
        heapq.heappush(bins, (total + count, n, names))
    return [names for _total, _n, names in sorted(bins) if names]


async def read_segment(
    session: AsyncSession,
    category: Category,
    sources: set[str] | None,
    stopping: asyncio.Event | None = None,
    *,
    inline: bool = False,
) -> tuple[int, Segment, set[str]]:
    """Read the category's version and the rows of ``sources`` (None: every source) in one transaction and build
    their segment in worker threads: (version, segment, the sources the read covered). Raises Stopping between
    two chunks once ``stopping`` is set: a build cancelled in the middle of a fetch leaves the driver's cursor
    half-read, which the pool then logs as a traceback while it closes.

    ``inline`` builds on the event loop's thread, a chunk at a time (no memory lookups to keep fast yet, at
    start-up): a worker thread holding the GIL makes every socket read of the fetch wait for the switch
    interval, which doubled start-up when four categories built at once. An inline read runs with the cyclic
    collector paused throughout, fetch included (the driver's rows are half the garbage); requests meanwhile go
    to the database and make few objects. A read in threads pauses it for each build step."""
    if not inline:
        return await _read_rows(session, category, sources, stopping, inline=False)
    with gc_paused():
        return await _read_rows(session, category, sources, stopping, inline=True)


async def _read_rows(
    session: AsyncSession, category: Category, sources: set[str] | None, stopping: asyncio.Event | None, *, inline: bool
) -> tuple[int, Segment, set[str]]:
    s = tables.sources
    version = await _data_version(session, category)
    if sources is None:
        names = (await session.execute(select(s.c.name).where(s.c.category == category))).scalars().all()
        covered = set(names)
    else:
        covered = set(sources)
    spec = SPECS[category]
    t = spec.table
    columns = [t.c[name] for name in spec.public_fields]
    where = [] if sources is None else [t.c.source.in_(sorted(sources))]
    segment: Segment
    if spec.network:
        extra = [t.c.prefix_len, t.c.family, t.c.net_start, t.c.port_lo, t.c.port_hi]
        builder = NetSegmentBuilder(category)
        query = select(*columns, *extra).where(*where)
        # Streamed in chunks: the rows of 150,000 rules never sit in memory all at once.
        result = await session.stream(query.execution_options(yield_per=BUILD_CHUNK))
        try:
            async for chunk in result.partitions(BUILD_CHUNK):
                if stopping is not None and stopping.is_set():
                    raise Stopping
                if inline:
                    builder.add(chunk)
                    await asyncio.sleep(0)  # let requests in between chunks
                else:
                    await asyncio.to_thread(_paused, builder.add, chunk)
        finally:  # a read cancelled at shutdown leaves no half-read result behind
            await result.close()
        segment = builder.finish() if inline else await asyncio.to_thread(_paused, builder.finish)
    else:
        a = spec.address_table
        assert a is not None, category
        rows = (await session.execute(select(*columns).where(*where))).all()
        point_where = [] if sources is None else [a.c.source.in_(sorted(sources))]
        columns_of_points = (a.c.record_id, a.c.family, a.c.addr, a.c.role, a.c.prefix_len, a.c.addr_end)
        points_query = select(*columns_of_points).where(*point_where).order_by(a.c.family, a.c.addr)
        points = (await session.execute(points_query)).all()
        if inline:
            segment = build_address_segment(category, rows, points)
        else:
            segment = await asyncio.to_thread(_paused, build_address_segment, category, rows, points)
    return version, segment, covered


async def _data_version(session: AsyncSession, category: Category) -> int:
    versions = tables.data_versions
    return int((await session.execute(select(versions.c.version).where(versions.c.category == category))).scalar() or 0)


async def _per_source(session: AsyncSession, category: Category, column: str) -> dict[str, int]:
    """``sources.<column>`` (``version`` or ``count``) of each of the category's sources, by name."""
    s = tables.sources
    query = select(s.c.name, s.c[column]).where(s.c.category == category)
    return {name: int(value) for name, value in (await session.execute(query)).all()}


def _empty(category: Category) -> CategoryIndex:
    return CategoryIndex.of(category, (), {}, 0)


def _log_ready(category: Category, what: str, version: int, records: int, started: float, sources: int) -> None:
    log.info(
        "index %s category=%s version=%d records=%d sources=%d took_ms=%.0f",
        what,
        category,
        version,
        records,
        sources,
        (time.perf_counter() - started) * 1000,
    )


class MemoryIndexes:
    """The indexes of one process. ``get`` returns None while a category has no index yet (or it was dropped).

    Made before the database is open (the Socket.IO manager and the notifier are handed ``apply_change`` when
    they are built); ``start`` gives it the sessionmaker and builds every index in the background."""

    def __init__(
        self,
        *,
        poll_interval: float = 2.0,
        refresh_timeout: float = REFRESH_TIMEOUT,
        build_workers: int = 0,
        shard_min_records: int = SHARD_MIN_RECORDS,
        share_here_min_records: int = SHARE_HERE_MIN_RECORDS,
        snapshot_dir: Path | None = None,
        snapshot_delay: float = SNAPSHOT_DELAY,
        snapshot_interval: float = SNAPSHOT_INTERVAL,
    ):
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._settings: Settings | None = None  # for build workers, which open their own connection
        self._build_workers = build_workers
        self._shard_min_records = shard_min_records
        self._share_here_min_records = share_here_min_records
        self._pool: multiprocessing.pool.Pool | None = None
        self._sharded = 0  # sharded builds running (the worker pool lives while there is one)
        self._poll_interval = poll_interval
        self._refresh_timeout = refresh_timeout
        self._snapshot_dir = snapshot_dir
        self._snapshot_delay = snapshot_delay
        self._snapshot_interval = snapshot_interval
        self._database_id: str | None = None
        self._saved: dict[Category, CategoryIndex] = {}  # the index each category's snapshot holds
        self._last_saved: dict[Category, float] = {}
        self._savers: dict[Category, asyncio.Task[None]] = {}
        self._indexes: dict[Category, CategoryIndex] = {}
        self._pending: dict[Category, set[str]] = {category: set() for category in CATEGORIES}
        self._asked: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)  # changes heard of, counted
        self._served: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)  # of those, refreshed and installed
        self._installs: dict[Category, asyncio.Event] = {}
        self._builders: dict[Category, asyncio.Task[None]] = {}
        self._refreshers: dict[Category, asyncio.Task[None]] = {}
        self._failures: dict[Category, BuildFailure] = {}
        self._polled: dict[Category, int] = {}
        self._poller: asyncio.Task[None] | None = None
        self._installed = asyncio.Event()
        self._stopping = asyncio.Event()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``, or less when the process stops; True when it stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    def get(self, category: Category) -> CategoryIndex | None:
        return self._indexes.get(category)

    def building(self) -> list[Category]:
        """The categories without an index yet (answered from the database meanwhile)."""
        return [category for category in CATEGORIES if category not in self._indexes]

    def status(self) -> dict[str, Any]:
        """Per category: ``{version, records, segments}`` once built; ``"building"`` meanwhile, or, after a
        failed build, ``{state: "building", last_error, failed_attempts}``."""
        status: dict[str, Any] = {}
        for category in CATEGORIES:
            index = self._indexes.get(category)
            failure = self._failures.get(category)
            if index is not None:
                status[category] = {"version": index.version, "records": index.size, "segments": len(index.parts)}
            else:
                status[category] = failure.as_status() if failure is not None else "building"
        return status

    async def apply_change(self, change: DataChange) -> None:
        """The one place a data change reaches the indexes: a change of records (not a re-import of the same
        content) re-reads its source; returns once this node no longer serves the source's replaced records."""
        if not change.changes_records or change.category not in self._pending:
            return
        category: Category = change.category
        self._asked[category] += 1
        ticket = self._asked[category]
        self._pending[category].add(change.source)
        if category not in self._indexes:
            return  # answered from the database; the build reads the source again before it serves
        self._schedule_refresh(category)
        try:
            async with asyncio.timeout(self._refresh_timeout):
                while self._served[category] < ticket and category in self._indexes:
                    await self._install_event(category).wait()
        except TimeoutError:
            log.warning(
                "index refresh slower than %.0f s category=%s source=%s: serving it from the database until rebuilt",
                self._refresh_timeout,
                category,
                change.source,
            )
            self.invalidate(category)

    def _install_event(self, category: Category) -> asyncio.Event:
        event = self._installs.get(category)
        if event is None:
            event = self._installs[category] = asyncio.Event()
        return event

    def _wake(self, category: Category) -> None:
        event = self._installs.pop(category, None)
        if event is not None:
            event.set()

    def invalidate(self, category: str) -> None:
        """Forget the category's index now (lookups go to the database) and rebuild it in the background."""
        if category not in self._pending:
            return
        cat: Category = category
        self._indexes.pop(cat, None)
        self._wake(cat)
        self._schedule_build(cat)

    def _install(self, category: Category, index: CategoryIndex, ticket: int = 0) -> None:
        self._indexes[category] = index
        self._served[category] = max(self._served[category], ticket)
        self._installed.set()
        self._wake(category)
        self._schedule_snapshot(category)
        sources, full = index.compaction()
        if sources:
            log.info("index segments merged category=%s sources=%d", category, len(sources))
            self._pending[category] |= sources
            self._schedule_refresh(category)
        if full:
            self._schedule_build(category)

    def _task(self, coro: Any, name: str) -> asyncio.Task[None]:
        # A fresh context: the rebuild is not part of the request that happened to trigger it (log request ids).
        return asyncio.create_task(coro, name=name, context=contextvars.Context())

    def _schedule_build(self, category: Category) -> None:
        if self._sessionmaker is None:  # not started: start() builds every category
            return
        running = self._builders.get(category)
        if running is None or running.done():
            self._builders[category] = self._task(self._build(category), f"index-{category}")

    def _schedule_refresh(self, category: Category) -> None:
        if self._sessionmaker is None:
            return
        running = self._refreshers.get(category)
        if running is None or running.done():
            self._refreshers[category] = self._task(self._refresh(category), f"index-refresh-{category}")

    async def _read(
        self, category: Category, sources: set[str] | None, *, inline: bool | None = None
    ) -> tuple[int, Segment, set[str]]:
        if inline is None:
            inline = category not in self._indexes and sources is None
        assert self._sessionmaker is not None
        async with self._sessionmaker() as session, session.begin():
            return await read_segment(session, category, sources, self._stopping, inline=inline)

    async def _refresh(self, category: Category) -> None:
        """Re-read the pending sources, all of them in one read, until none is left."""
        while self._pending[category] and category in self._indexes and not self._stopping.is_set():
            sources, ticket = set(self._pending[category]), self._asked[category]
            self._pending[category].clear()
            started = time.perf_counter()
            try:
                version, segment, covered = await self._read(category, sources)
            except Stopping:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - drop to the database path and rebuild
                self._pending[category] |= sources
                log.error("index refresh failed category=%s: rebuilding it", category, exc_info=exc)
                self.invalidate(category)
                return
            index = self._indexes.get(category)
            if index is None:  # dropped meanwhile: the build reads them again
                self._pending[category] |= sources
                return
            self._install(category, index.replaced(segment, covered, version, full=False), ticket)
            _log_ready(category, "refreshed", version, segment.size, started, len(covered))
            self._schedule_trim()

    async def _build(self, category: Category) -> None:
        """A full read of the category; when it had no index, the sources changed meanwhile are read again before
        the new one serves."""
        while not self._stopping.is_set():
            started = time.perf_counter()
            try:
                restored = await self._restored(category) if category not in self._indexes else None
                if restored is None:
                    base, reads = None, await self._full_reads(category)
                else:
                    base, moved = restored
                    reads = [(*(await self._read(category, moved)), False, 0)] if moved else []
                covered = set().union(*(read[2] for read in reads), base.serves() if base is not None else ())
                while self._pending[category] and category not in self._indexes:
                    sources, ticket = set(self._pending[category]), self._asked[category]
                    self._pending[category].clear()
                    reads.append((*(await self._read(category, sources)), False, ticket))
            except Stopping:
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database path keeps serving; try again later
                if await self._pause(self._build_failed(category, exc)):
                    return
                continue
            index = base if base is not None else self._indexes.get(category) or _empty(category)
            ticket = 0
            for read_version, read_segment_, read_covered, full, read_ticket in reads:
                index = index.replaced(read_segment_, read_covered, read_version, full=full)
                ticket = max(ticket, read_ticket)
            self._failures.pop(category, None)
            if index is base:  # the snapshot as it was saved: nothing new to save
                self._saved[category] = index
            self._install(category, index, ticket)
            what = "ready" if base is None else "restored"
            _log_ready(category, what, index.version, index.size, started, len(covered))
            self._schedule_trim()
            if self._pending[category]:
                self._schedule_refresh(category)
            return

    async def _restored(self, category: Category) -> tuple[CategoryIndex, set[str]] | None:
        """The category's snapshot on disk and the sources that moved since it was saved (to re-read before it
        serves); None when there is no usable one: the category is then read whole."""
        if self._snapshot_dir is None:
            return None
        assert self._sessionmaker is not None
        try:
            database_id = await self._database_identity()
            snapshot = await asyncio.to_thread(load_snapshot, self._snapshot_dir, database_id, category)
            if snapshot is None:
                return None
            async with self._sessionmaker() as session:
                current = await _data_version(session, category)
                stored = await _per_source(session, category, "version")
        except (SnapshotRefused, OSError) as exc:
            log.warning("index snapshot not used category=%s: %s", category, exc)
            return None
        if current < snapshot.version:  # the database went back (a restore): what the snapshot holds may be gone
            log.warning(
                "index snapshot not used category=%s: it holds version %d, the database only %d",
                category,
                snapshot.version,
                current,
            )
            return None
        moved = snapshot.moved(stored)
        log.info(
            "index snapshot loaded category=%s version=%d sources_moved=%d",
            category,
            snapshot.version,
            len(moved),
        )
        return snapshot, moved

    async def _database_identity(self) -> str:
        if self._database_id is None:
            assert self._sessionmaker is not None
            async with self._sessionmaker() as session:
                found = (await session.execute(select(tables.database_identity.c.uuid))).scalar()
            if not found:
                raise SnapshotRefused("the database has no identity row (run `netlookup db upgrade`)")
            self._database_id = str(found)
        return self._database_id

    def _schedule_snapshot(self, category: Category) -> None:
        if self._snapshot_dir is None or self._sessionmaker is None:
            return
        running = self._savers.get(category)
        if running is None or running.done():
            self._savers[category] = self._task(self._save_snapshots(category), f"index-snapshot-{category}")

    async def _save_snapshots(self, category: Category) -> None:
        """Save the category's index once it has been serving for a while, and again (at most once per interval)
        while it keeps changing."""
        assert self._snapshot_dir is not None
        while True:
            last = self._last_saved.get(category)
            delay = self._snapshot_delay if last is None else last + self._snapshot_interval - time.monotonic()
            if await self._pause(max(delay, 0.0)):
                return
            index = self._indexes.get(category)
            if index is None or index is self._saved.get(category):
                return
            started = time.perf_counter()
            self._last_saved[category] = time.monotonic()
            try:
                database_id = await self._database_identity()
                size = await asyncio.to_thread(save_snapshot, self._snapshot_dir, database_id, index)
            except (OSError, SnapshotRefused, pickle.PicklingError) as exc:
                log.warning("index snapshot not saved category=%s: %s: %s", category, type(exc).__name__, exc)
                return
            self._saved[category] = index
            log.info(
                "index snapshot saved category=%s version=%d records=%d bytes=%d took_ms=%.0f",
                category,
                index.version,
                index.size,
                size,
                (time.perf_counter() - started) * 1000,
            )

    async def _full_reads(self, category: Category) -> list[tuple[int, Segment, set[str], bool, int]]:
        """Every source of the category: one read here, or, for a first build of a large category with build
        workers, one read per shard of its sources in worker processes (and one here too for a very large
        category). Shard reads are partial (each at its own data version; the version poll catches sources
        created after the shards were drawn)."""
        plan = await self._shards(category) if category not in self._indexes else None
        if plan is None:
            return [(*(await self._read(category, None)), True, 0)]
        shards, own = plan
        log.info("index build spread category=%s workers=%d here=%s", category, len(shards), bool(own))
        self._sharded += 1
        try:
            pool = self._worker_pool()
            waiting = [self._in_worker(pool, category, shard) for shard in shards]
            try:
                reads = []
                if own:
                    reads.append(await self._read(category, own, inline=True))
                    log.info("index shard read here category=%s records=%d", category, reads[0][1].size)
                for future, shard in zip(waiting, shards, strict=True):
                    try:
                        reads.append(await self._unless_stopping(future))
                        log.info("index shard read by a worker category=%s records=%d", category, reads[-1][1].size)
                    except Stopping:
                        raise
                    except Exception as exc:  # noqa: BLE001 - the shard is read here instead
                        log.warning(
                            "index build worker failed category=%s sources=%d: reading them here (%s: %s)",
                            category,
                            len(shard),
                            type(exc).__name__,
                            exc,
                        )
                        reads.append(await self._read(category, shard, inline=True))
            finally:
                for future in waiting:
                    future.cancel()
        finally:
            self._sharded -= 1
            if not self._sharded:
                self._close_pool()
        return [(*read, False, 0) for read in reads]

    async def _unless_stopping(self, future: asyncio.Future[T]) -> T:
        """The worker's result, or Stopping as soon as the process stops (the worker is terminated then)."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((future, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not future.done():
            raise Stopping
        return future.result()

    async def _shards(self, category: Category) -> tuple[list[set[str]], set[str]] | None:
        """(the shards for the workers, the shard read here, maybe empty), or None: read it all here."""
        settings = self._settings
        if not self._build_workers or settings is None or not shares_database(settings):
            return None
        assert self._sessionmaker is not None
        async with self._sessionmaker() as session:
            counts = await _per_source(session, category, "count")
        total = sum(counts.values())
        if total < self._shard_min_records:
            return None
        if total < self._share_here_min_records:
            return shards_of(counts, self._build_workers), set()
        *shards, own = shards_of(counts, self._build_workers + 1)  # the heaviest here: a worker first starts Python
        return shards, own

    def _worker_pool(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            # spawn, not fork: a forked copy of a running event loop, its threads and its connections is unsafe.
            self._pool = multiprocessing.get_context("spawn").Pool(self._build_workers, initializer=_worker_start)
        return self._pool

    def _in_worker(
        self, pool: multiprocessing.pool.Pool, category: Category, sources: set[str]
    ) -> asyncio.Future[tuple[int, Segment, set[str]]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, Segment, set[str]]] = loop.create_future()

        def settle(result: Any = None, error: BaseException | None = None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        pool.apply_async(
            read_in_worker,
            (self._settings, category, frozenset(sources)),
            callback=lambda result: loop.call_soon_threadsafe(settle, result),
            error_callback=lambda error: loop.call_soon_threadsafe(settle, None, error),
        )
        return future

    def _close_pool(self) -> None:
        """Let the workers exit (at once when the process stops); joined in a thread."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._stopping.is_set():
            pool.terminate()
        else:
            pool.close()
        self._task(asyncio.to_thread(pool.join), "index-workers-exit")

    def _schedule_trim(self) -> None:
        self._task(asyncio.to_thread(_release_freed_memory), "index-trim")

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
                    for category, index in list(self._indexes.items()):
                        version = int(current.get(category, 0))
                        if version <= index.floor or self._polled.get(category) == version:
                            continue
                        moved = index.moved(await _per_source(session, category, "version"))
                        self._polled[category] = version
                        if moved and self._indexes.get(category) is index:
                            log.info("index behind the database category=%s sources=%d", category, len(moved))
                            self._pending[category] |= moved
                            self._schedule_refresh(category)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - database down: lookups fail over to it anyway
                log.debug("version poll failed: %s", exc.__class__.__name__)
                continue

    def start(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings | None = None) -> None:
        """Build every index in the background from ``sessionmaker``'s database and start the version poll.
        ``settings`` (the same database) lets build workers connect; without them every build reads here."""
        self._sessionmaker = sessionmaker
        self._settings = settings
        if self._snapshot_dir is not None:
            with contextlib.suppress(OSError):
                for path in remove_abandoned(self._snapshot_dir):
                    log.info("index snapshot: removed an abandoned temporary file %s", path.name)
        for category in CATEGORIES:
            self._schedule_build(category)
        self._poller = asyncio.create_task(self._poll(), name="index-version-poll")

    async def stop(self) -> None:
        """Let builds and the poll leave off at their next chunk or pause (up to STOP_GRACE), then cancel what is
        left."""
        self._stopping.set()
        running = (*self._builders.values(), *self._refreshers.values(), *self._savers.values(), self._poller)
        tasks = [task for task in running if task is not None and not task.done()]
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
