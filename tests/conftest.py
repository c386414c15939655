"""Shared fixtures: a migrated database per backend (SQLite and MariaDB), the app with its lifespan, clients.

MariaDB is found at NETLOOKUP_TEST_MARIADB_URL (default mysql+asyncmy://root:@127.0.0.1:3306). Without a
server, its tests skip, unless NETLOOKUP_TEST_REQUIRE_SERVICES=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
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
from tests.processes import (
    API_KEY,
    ServiceMissing,
    create_mariadb_database,
    drop_mariadb_database,
)

REQUIRE_SERVICES = os.environ.get("NETLOOKUP_TEST_REQUIRE_SERVICES", "") in ("1", "true", "yes")
BACKENDS = ("sqlite", "mariadb")


def service_missing(reason: str) -> None:
    """Skip on a laptop without the service; fail in CI, where every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> object:
    try:
        return (yield)
    except ServiceMissing as exc:
        service_missing(str(exc))
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> object:
    try:
        return (yield)
    except ServiceMissing as exc:
        service_missing(str(exc))
        raise


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
                if table is tables.data_versions or table is tables.database_identity:
                    continue  # seeded by the migrations; versions only ever move forward
                await conn.execute(delete(table))
    finally:
        await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, api_keys=[API_KEY], db_pool_size=8, db_max_overflow=4, _env_file=None)


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
