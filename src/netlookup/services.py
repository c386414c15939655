"""The long-lived objects of one process, made and disposed by the app's lifespan (or by the CLI)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from netlookup.config import Settings
from netlookup.db import is_mysql, make_engine, make_sessionmaker
from netlookup.imports.service import ImportService
from netlookup.lookup.engine import LookupService
from netlookup.records_service import RecordService


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    lookups: LookupService
    imports: ImportService
    records: RecordService


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Build the engine and services; dispose the engine's pool on the way out."""
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    try:
        yield Services(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            lookups=LookupService(sessionmaker, row_values=is_mysql(engine)),
            imports=ImportService(engine, lock_timeout=settings.import_lock_timeout),
            records=RecordService(sessionmaker),
        )
    finally:
        await engine.dispose()
