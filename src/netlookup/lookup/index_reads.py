"""Reading a category's rows from the database into an index segment: in one transaction with the category's
data version, streamed in chunks, built on the event loop (start-up) or in worker threads (refreshes), or in a
build worker process for one shard of a large category's sources."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import heapq
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from netlookup import tables
from netlookup.categories import SPECS, Category
from netlookup.config import Settings
from netlookup.db import make_engine, make_sessionmaker
from netlookup.lookup.memory import NetSegmentBuilder, Segment, build_address_segment

T = TypeVar("T")

BUILD_CHUNK = 5000

# A read's result: (the category's data version it was made at, the segment, the sources it covered).
Read = tuple[int, Segment, set[str]]


class Stopping(Exception):
    """The process is shutting down: a build leaves off between two chunks."""


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


def paused(step: Callable[..., T], *args: Any) -> T:
    with gc_paused():
        return step(*args)


def release_freed_memory() -> None:
    """Hand the transient build garbage back to the OS (glibc keeps it otherwise: ~2x the index in RSS)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
# Blocks from this size up get pages of their own, given back to the system when freed.
MMAP_THRESHOLD = 1 << 20


def map_large_blocks() -> None:
    """Have glibc give every block of 1 MiB or more pages of its own. By default the threshold grows to the
    size of the largest block freed (up to 32 MiB), after which the index's arrays (megabytes each, made anew by
    every refresh and merge) come from the heap, and what they leave between long-lived blocks is kept."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def read_in_worker(settings: Settings, category: Category, sources: frozenset[str]) -> Read:
    """``read_segment`` of ``sources`` in a build worker process, over its own connection; the segment comes back
    pickled (flat arrays and one buffer: it pickles at the speed of a copy)."""

    async def read() -> Read:
        engine = make_engine(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0}))
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await read_segment(session, category, set(sources), inline=True)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def worker_start() -> None:
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
) -> Read:
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
) -> Read:
    s = tables.sources
    version = await data_version(session, category)
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
                    await asyncio.to_thread(paused, builder.add, chunk)
        finally:  # a read cancelled at shutdown leaves no half-read result behind
            await result.close()
        segment = builder.finish() if inline else await asyncio.to_thread(paused, builder.finish)
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
            segment = await asyncio.to_thread(paused, build_address_segment, category, rows, points)
    return version, segment, covered


async def data_version(session: AsyncSession, category: Category) -> int:
    versions = tables.data_versions
    return int((await session.execute(select(versions.c.version).where(versions.c.category == category))).scalar() or 0)


async def per_source(session: AsyncSession, category: Category, column: str) -> dict[str, int]:
    """``sources.<column>`` (``version`` or ``count``) of each of the category's sources, by name."""
    s = tables.sources
    query = select(s.c.name, s.c[column]).where(s.c.category == category)
    return {name: int(value) for name, value in (await session.execute(query)).all()}
