"""The long-lived objects of one process, made and disposed by the app's lifespan (or by the CLI)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from netlookup.browse import RecordService
from netlookup.config import Settings
from netlookup.db import is_mysql, make_engine, make_sessionmaker
from netlookup.gate import DbGate
from netlookup.imports.service import ImportEvents, ImportService
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.lookup.service import LookupService


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    lookups: LookupService
    imports: ImportService
    records: RecordService
    indexes: MemoryIndexes | None
    gate: DbGate


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, events: ImportEvents, *, indexes: MemoryIndexes | None = None
) -> AsyncIterator[Services]:
    """Build the engine and services; dispose the engine's pool on the way out. Every import and delete is
    announced to ``events``. With ``indexes`` (the server, when NETLOOKUP_MEMORY_INDEX is on) lookups answer from
    in-memory indexes kept coherent with the database, started here and stopped on the way out; one-shot commands
    (the CLI) read the database directly."""
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    # One connection stays outside the gate for index builds, the version poll and /readyz.
    gate = DbGate(
        settings.db_pool_size + settings.db_max_overflow - 1, settings.db_queue_timeout, settings.db_refusal_wait
    )
    if indexes is not None:
        indexes.start(sessionmaker, settings)
    try:
        yield Services(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            lookups=LookupService(engine, row_values=is_mysql(engine), indexes=indexes, gate=gate),
            imports=ImportService(engine, events, lock_timeout=settings.import_lock_timeout, gate=gate),
            records=RecordService(sessionmaker, gate),
            indexes=indexes,
            gate=gate,
        )
    finally:
        if indexes is not None:
            await indexes.stop()
        await engine.dispose()
