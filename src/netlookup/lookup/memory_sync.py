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
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup import tables
from netlookup.activity import Activity
from netlookup.categories import CATEGORIES, Category
from netlookup.changes import DataChange
from netlookup.config import Settings
from netlookup.lookup.build_workers import SHARD_MIN_RECORDS, SHARE_HERE_MIN_RECORDS, BuildWorkers
from netlookup.lookup.index_reads import (
    Read,
    Stopping,
    map_large_blocks,
    paused,
    per_source,
    read_segment,
    release_freed_memory,
)
from netlookup.lookup.memory import CategoryIndex, Segment
from netlookup.lookup.merging import merge_steps
from netlookup.lookup.snapshots import SnapshotKeeper
from netlookup.metrics import INDEX_LAST_MERGE, INDEX_MERGES

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 60.0
# On shutdown, how long builds get to stop between two chunks before they are cancelled mid-read.
STOP_GRACE = 10.0
# How long a change waits for this node's index to serve it before the category falls back to the database.
REFRESH_TIMEOUT = 30.0
# Snapshots on disk (NETLOOKUP_INDEX_SNAPSHOT_DIR): the first is written this long after a category's index first
# serves (the other categories' builds are done by then), later ones at most once per SNAPSHOT_INTERVAL.
SNAPSHOT_DELAY = 5.0
SNAPSHOT_INTERVAL = 60.0
# A category's segments are merged into one this long after the change that made a second one (or left one
# holding records it no longer serves); the changes of a burst of imports are merged once.
MERGE_DELAY = 1.0
# After a merge whose steps took t seconds, the next one waits at least this many times t: under imports without
# end, merging takes at most about a third of the node's time (lookups over a few segments cost little more
# meanwhile). Its own work, not its length: on a busy node a merge lasts many times its work.
MERGE_COST_FACTOR = 2.0
# Between two steps of a merge, requests first: the merge waits until none has been in progress for a step's
# length, but after a step of t seconds no longer than this many times t, so that under requests without end a
# merge still gets a fifth of the node's time.
MERGE_GIVE_WAY = 4.0


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A category's last merge: when it ended (wall clock, and the monotonic clock), how long it took from start
    to end, the time its steps took (its own work; the rest was requests' and the pauses), and how many
    segments it merged."""

    at: float
    finished: float
    seconds: float
    work: float
    segments: int


@dataclass(slots=True)
class BuildFailure:
    """The last failed build of one category: what went wrong and how often in a row."""

    error: str
    attempts: int

    def as_status(self) -> dict[str, Any]:
        return {"state": "building", "last_error": self.error, "failed_attempts": self.attempts}


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        merge_delay: float | None = MERGE_DELAY,
        activity: Activity | None = None,
    ):
        """``merge_delay`` None leaves segments unmerged (tests of the multi-segment read). ``activity``: the
        requests in progress, which merges give way to (none counted without it)."""
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._workers = BuildWorkers(
            build_workers, shard_min_records=shard_min_records, share_here_min_records=share_here_min_records
        )
        self._poll_interval = poll_interval
        self._refresh_timeout = refresh_timeout
        self._snapshots = (
            SnapshotKeeper(
                snapshot_dir,
                delay=snapshot_delay,
                interval=snapshot_interval,
                current=self.get,
                pause=self._pause,
            )
            if snapshot_dir is not None
            else None
        )
        self._indexes: dict[Category, CategoryIndex] = {}
        self._pending: dict[Category, set[str]] = {category: set() for category in CATEGORIES}
        self._asked: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)  # changes heard of, counted
        self._served: dict[Category, int] = dict.fromkeys(CATEGORIES, 0)  # of those, refreshed and installed
        self._installs: dict[Category, asyncio.Event] = {}
        self._builders: dict[Category, asyncio.Task[None]] = {}
        self._refreshers: dict[Category, asyncio.Task[None]] = {}
        self._mergers: dict[Category, asyncio.Task[None]] = {}
        self._merges: dict[Category, MergeRecord] = {}
        self._merging: set[Category] = set()  # a merge's steps are running
        self._merge_delay = merge_delay
        self._activity = activity or Activity()
        self._failures: dict[Category, BuildFailure] = {}
        self._polled: dict[Category, int] = {}
        self._behind: dict[Category, set[str]] = {category: set() for category in CATEGORIES}  # at the last poll
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
        """Per category: ``{version, records, segments, merging, merged_at}`` once built (``merging``: a merge of
        its segments is running; ``merged_at``: when they were last merged, RFC 3339 UTC, null before the first
        merge); ``"building"`` meanwhile, or,
        after a failed build, ``{state: "building", last_error, failed_attempts}``."""
        status: dict[str, Any] = {}
        for category in CATEGORIES:
            index = self._indexes.get(category)
            failure = self._failures.get(category)
            if index is not None:
                merge = self._merges.get(category)
                status[category] = {
                    "version": index.version,
                    "records": index.size,
                    "segments": len(index.parts),
                    "merging": category in self._merging,
                    "merged_at": None if merge is None else _rfc3339(merge.at),
                }
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
        if index.needs_merge():
            self._schedule_merge(category)

    def _task(self, coro: Any, name: str) -> asyncio.Task[None]:
        # A fresh context: the rebuild is not part of the request that happened to trigger it (log request ids).
        return asyncio.create_task(coro, name=name, context=contextvars.Context())

    def _schedule_build(self, category: Category) -> None:
        if self._sessionmaker is None:  # not started: start() builds every category
            return
        running = self._builders.get(category)
        if running is None or running.done():
            self._builders[category] = self._task(self._build(category), f"index-{category}")

    def _schedule_merge(self, category: Category) -> None:
        if self._sessionmaker is None or self._merge_delay is None:
            return
        running = self._mergers.get(category)
        if running is None or running.done():
            self._mergers[category] = self._task(self._merge(category), f"index-merge-{category}")

    async def _merge(self, category: Category) -> None:
        """Merge the category's segments into one, a step at a time between requests: ``merge_delay`` after
        the change that called for it (a burst of imports is merged once), and no sooner than the last merge's
        cost allows (``MERGE_COST_FACTOR``); again while the index still needs it (changes during a merge)."""
        while True:
            last = self._merges.get(category)
            wait = 0.0 if last is None else last.finished + last.work * MERGE_COST_FACTOR - time.monotonic()
            if await self._pause(max(wait, self._merge_delay or 0.0)):
                return
            index = self._indexes.get(category)
            if index is None or not index.needs_merge() or self._stopping.is_set():
                return
            # Not kept past this point: held through the pause above, the merged-away segments (at 5x the demo
            # data, 300 MB) were freed seconds after the merge, in one pass of the event loop of 50 ms.
            del index
            if not await self._merge_once(category):
                return

    async def _merge_once(self, category: Category) -> bool:
        """Merge the category's segments and install the result; False when the process stops or the category's
        index was dropped meanwhile. Its own call, so that the merged-away segments are freed as it returns."""
        index = self._indexes[category]
        started, clock = time.perf_counter(), time.monotonic()
        steps = merge_steps(category, index.parts)
        count, longest, work = 0, 0.0, 0.0
        self._merging.add(category)
        try:
            while True:
                step = time.perf_counter()
                try:
                    paused(next, steps)
                except StopIteration as done:
                    segment: Segment = done.value
                    break
                took = time.perf_counter() - step
                count, longest, work = count + 1, max(longest, took), work + took
                await self._give_way(took)
                if self._stopping.is_set():
                    return False
        finally:
            self._merging.discard(category)
        current = self._indexes.get(category)
        seconds = time.perf_counter() - started
        record = self._merges[category] = MergeRecord(time.time(), clock + seconds, seconds, work, len(index.parts))
        if current is None:
            return False  # dropped meanwhile: its build starts from the database
        merged = current.merged(segment, [part.segment for part in index.parts])
        self._install(category, merged)
        INDEX_MERGES.labels(category).inc()
        INDEX_LAST_MERGE.labels(category).set(record.at)
        log.info(
            "index segments merged category=%s segments=%d records=%d took_ms=%.0f work_ms=%.0f steps=%d "
            "longest_step_ms=%.1f",
            category,
            record.segments,
            merged.size,
            seconds * 1000,
            work * 1000,
            count,
            longest * 1000,
        )
        self._schedule_trim()
        return True

    async def _give_way(self, took: float) -> None:
        """Between two steps of a merge (the last took ``took`` seconds): what is ready to run runs, then the
        merge waits until no request has been in progress for as long as a step takes, or ``MERGE_GIVE_WAY``
        times ``took`` at most. A request takes several passes of the event loop: one step per pass would add up
        to several steps per request. A step that starts right after a request ended meets the next request of
        a client that sends them back to back; after a quiet step's length it seldom meets one (bench/journal,
        2026-12-08)."""
        await asyncio.sleep(0)
        waited, limit = 0.0, took * MERGE_GIVE_WAY
        while waited < limit:
            quiet = self._activity.quiet_for()
            if quiet >= took:
                return
            pause = min(took - quiet, limit - waited)
            await asyncio.sleep(pause)
            waited += pause

    def _schedule_refresh(self, category: Category) -> None:
        if self._sessionmaker is None:
            return
        running = self._refreshers.get(category)
        if running is None or running.done():
            self._refreshers[category] = self._task(self._refresh(category), f"index-refresh-{category}")

    def _refreshing(self, category: Category) -> bool:
        running = self._refreshers.get(category)
        return bool(self._pending[category]) or (running is not None and not running.done())

    async def _read(self, category: Category, sources: set[str] | None, *, inline: bool | None = None) -> Read:
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
                restored = await self._restored(category)
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
            if index is base and self._snapshots is not None:  # the snapshot as it was saved: nothing new to save
                self._snapshots.holds(category, index)
            self._install(category, index, ticket)
            what = "ready" if base is None else "restored"
            _log_ready(category, what, index.version, index.size, started, len(covered))
            self._schedule_trim()
            if self._pending[category]:
                self._schedule_refresh(category)
            return

    async def _restored(self, category: Category) -> tuple[CategoryIndex, set[str]] | None:
        """A first build's start from the snapshot on disk, when there is a usable one."""
        if self._snapshots is None or category in self._indexes:
            return None
        return await self._snapshots.restored(category)

    def _schedule_snapshot(self, category: Category) -> None:
        if self._snapshots is not None and self._sessionmaker is not None:
            self._snapshots.schedule(category)

    async def _full_reads(self, category: Category) -> list[tuple[int, Segment, set[str], bool, int]]:
        """Every source of the category: one read here, or, for a first build of a large category with build
        workers, one read per shard of its sources (``BuildWorkers``). Shard reads are partial (each at its own
        data version; the version poll catches sources created after the shards were drawn)."""
        assert self._sessionmaker is not None
        plan = await self._workers.plan(self._sessionmaker, category) if category not in self._indexes else None
        if plan is None:
            return [(*(await self._read(category, None)), True, 0)]

        async def read_here(sources: set[str]) -> Read:
            return await self._read(category, sources, inline=True)

        reads = await self._workers.read(category, plan, read_here, self._stopping)
        return [(*read, False, 0) for read in reads]

    def _schedule_trim(self) -> None:
        self._task(asyncio.to_thread(release_freed_memory), "index-trim")

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
                        if self._refreshing(category):
                            # Its refresh may be reading the sources that moved: were they queued again now,
                            # they would be read twice. Looked at again at the next poll.
                            continue
                        moved = index.moved(await per_source(session, category, "version"))
                        # A change is committed a moment before it is announced: only a source behind at two
                        # polls in a row was missed (its announcement lost, or made where this node does not
                        # hear it).
                        missed, self._behind[category] = moved & self._behind[category], moved
                        if missed == moved:
                            self._polled[category] = version
                        if missed and self._indexes.get(category) is index:
                            log.info("index behind the database category=%s sources=%d", category, len(missed))
                            self._pending[category] |= missed
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
        self._workers.settings = settings
        map_large_blocks()
        if self._snapshots is not None:
            self._snapshots.start(sessionmaker)
        for category in CATEGORIES:
            self._schedule_build(category)
        self._poller = asyncio.create_task(self._poll(), name="index-version-poll")

    async def stop(self) -> None:
        """Let builds and the poll leave off at their next chunk or pause (up to STOP_GRACE), then cancel what is
        left."""
        self._stopping.set()
        savers = self._snapshots.tasks() if self._snapshots is not None else []
        running = (
            *self._builders.values(),
            *self._refreshers.values(),
            *self._mergers.values(),
            *savers,
            self._poller,
        )
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
