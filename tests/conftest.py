"""Shared fixtures: a migrated database per backend (SQLite and MariaDB), the app with its lifespan, clients.

MariaDB is found at NETLOOKUP_TEST_MARIADB_URL (default mysql+asyncmy://root:@127.0.0.1:3306). Without a
server, its tests skip, unless NETLOOKUP_TEST_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from netlookup import tables
from netlookup.app import create_app
from netlookup.config import Settings
from netlookup.container import Services, open_services
from netlookup.migrations import upgrade
from netlookup.realtime.notify import Notifier

API_KEY = "test-key-0123456789abcdef"
MARIADB_SERVER = os.environ.get("NETLOOKUP_TEST_MARIADB_URL", "mysql+asyncmy://root:@127.0.0.1:3306")
REQUIRE_SERVICES = os.environ.get("NETLOOKUP_TEST_REQUIRE_SERVICES", "") in ("1", "true", "yes")
BACKENDS = ("sqlite", "mariadb")


def service_missing(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


async def _mariadb_admin(statement: str) -> None:
    engine = create_async_engine(MARIADB_SERVER + "/", isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def create_mariadb_database(prefix: str = "netlookup_test") -> str:
    """A new empty database on the MariaDB server; returns its URL. Skips/fails when there is no server."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_mariadb_admin(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        service_missing(f"MariaDB at {MARIADB_SERVER} unreachable: {exc.__class__.__name__}: {exc}")
    return f"{MARIADB_SERVER}/{name}"


def drop_mariadb_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_mariadb_admin(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated with ``alembic upgrade head`` once per test session, per backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'netlookup.db'}"
        upgrade(url)
        yield url
        return
    url = create_mariadb_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_mariadb_database(url)


async def reset_database(url: str) -> None:
    """Empty every table: each test starts from a fresh, migrated database."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in reversed(tables.metadata.sorted_tables):
                if table is tables.data_versions:
                    continue  # seeded by the migration; versions only ever move forward
                await conn.execute(delete(table))
    finally:
        await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, api_keys=[API_KEY], db_pool_size=8, db_max_overflow=4, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    await reset_database(settings.database_url)
    async with open_services(settings, Notifier(None)) as opened:
        yield opened


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client over ASGI with the app's lifespan running (ASGITransport alone does not run it)."""
    await reset_database(settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


AUTH = {"Authorization": f"Bearer {API_KEY}"}
