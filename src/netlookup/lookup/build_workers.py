"""Build worker processes: the first build of a large category read by several processes at once.

The category's sources are dealt into shards of about equal record counts; each worker (spawned, with its own
database connection) reads one shard and sends its segment back pickled (flat arrays and one buffer: about a
copy's cost), and the index starts with one segment per shard. The serving process keeps none of such a
build's garbage in its heap. From ``share_here_min_records`` records the serving process reads the heaviest
shard itself too, so the build runs on every core. A worker that fails is logged and its shard read in the
serving process; the workers exit once no sharded build is running.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import multiprocessing
import multiprocessing.pool
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup.categories import Category
from netlookup.config import Settings
from netlookup.db import shares_database
from netlookup.lookup.index_reads import Read, Stopping, per_source, read_in_worker, shards_of, worker_start

log = logging.getLogger(__name__)

# A first build of a category holding at least this many records is read by the build workers
# (NETLOOKUP_BUILD_WORKERS), its sources spread over them: below it a worker's start (a Python interpreter and
# its imports) costs more than it saves.
SHARD_MIN_RECORDS = 100_000
# From this many records the serving process reads a shard too (the build is then faster than its workers alone;
# below it, leaving the whole read to the workers keeps the build's garbage out of the serving process's heap).
SHARE_HERE_MIN_RECORDS = 400_000

# (the shards for the workers, the shard read here, maybe empty)
Plan = tuple[list[set[str]], set[str]]


class BuildWorkers:
    """The worker processes of one serving process (none until a sharded build needs them)."""

    def __init__(
        self,
        count: int,
        *,
        shard_min_records: int = SHARD_MIN_RECORDS,
        share_here_min_records: int = SHARE_HERE_MIN_RECORDS,
    ):
        self.count = count
        self.settings: Settings | None = None  # set at start: the workers open their own connection with it
        self._shard_min_records = shard_min_records
        self._share_here_min_records = share_here_min_records
        self._pool: multiprocessing.pool.Pool | None = None
        self._sharded = 0  # sharded builds running (the pool lives while there is one)
        self._exits: set[asyncio.Task[None]] = set()

    async def plan(self, sessionmaker: async_sessionmaker[AsyncSession], category: Category) -> Plan | None:
        """How to spread a first build of ``category``, or None: read it all in the serving process."""
        settings = self.settings
        if not self.count or settings is None or not shares_database(settings):
            return None
        async with sessionmaker() as session:
            counts = await per_source(session, category, "count")
        total = sum(counts.values())
        if total < self._shard_min_records:
            return None
        if total < self._share_here_min_records:
            return shards_of(counts, self.count), set()
        *shards, own = shards_of(counts, self.count + 1)  # the heaviest here: a worker first starts Python
        return shards, own

    async def read(
        self,
        category: Category,
        plan: Plan,
        read_here: Callable[[set[str]], Awaitable[Read]],
        stopping: asyncio.Event,
    ) -> list[Read]:
        """One read per shard: by the workers, the plan's own shard (and any shard whose worker failed) by
        ``read_here``. Stopping as soon as ``stopping`` is set."""
        shards, own = plan
        log.info("index build spread category=%s workers=%d here=%s", category, len(shards), bool(own))
        self._sharded += 1
        try:
            pool = self._worker_pool()
            waiting = [self._in_worker(pool, category, shard) for shard in shards]
            try:
                reads = []
                if own:
                    reads.append(await read_here(own))
                    log.info("index shard read here category=%s records=%d", category, reads[0][1].size)
                for future, shard in zip(waiting, shards, strict=True):
                    try:
                        reads.append(await _unless_stopping(future, stopping))
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
                        reads.append(await read_here(shard))
            finally:
                for future in waiting:
                    future.cancel()
        finally:
            self._sharded -= 1
            if not self._sharded:
                self._close_pool(terminate=stopping.is_set())
        return reads

    def _worker_pool(self) -> multiprocessing.pool.Pool:
        if self._pool is None:
            # spawn, not fork: a forked copy of a running event loop, its threads and its connections is unsafe.
            self._pool = multiprocessing.get_context("spawn").Pool(self.count, initializer=worker_start)
        return self._pool

    def _in_worker(
        self, pool: multiprocessing.pool.Pool, category: Category, sources: set[str]
    ) -> asyncio.Future[Read]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Read] = loop.create_future()

        def settle(result: Any = None, error: BaseException | None = None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        pool.apply_async(
            read_in_worker,
            (self.settings, category, frozenset(sources)),
            callback=lambda result: loop.call_soon_threadsafe(settle, result),
            error_callback=lambda error: loop.call_soon_threadsafe(settle, None, error),
        )
        return future

    def _close_pool(self, *, terminate: bool) -> None:
        """Let the workers exit (at once when the process stops); joined in a thread."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if terminate:
            pool.terminate()
        else:
            pool.close()
        exit_ = asyncio.create_task(
            asyncio.to_thread(pool.join), name="index-workers-exit", context=contextvars.Context()
        )
        self._exits.add(exit_)
        exit_.add_done_callback(self._exits.discard)


async def _unless_stopping(future: asyncio.Future[Read], stopping: asyncio.Event) -> Read:
    """The worker's result, or Stopping as soon as the process stops (the worker is terminated then)."""
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait((future, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not future.done():
        raise Stopping
    return future.result()
