"""Engine and sessionmaker. Nothing connects at import time: the app's lifespan (or the CLI) builds them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from netlookup.config import Settings


def _sqlite_connect_args() -> dict[str, Any]:
    # A writer waits this long for another writer (an import) before SQLite says "database is locked".
    return {"timeout": 30}


def _enable_sqlite_transactions(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, start transactions.

    The sqlite3 module only opens a transaction before a write, so two SELECTs of one lookup would each see
    their own snapshot. Emitting BEGIN ourselves gives every unit of work one consistent snapshot (WAL mode).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def make_engine(settings: Settings) -> AsyncEngine:
    """Build the async engine for ``settings.database_url`` with the configured pool."""
    url = make_url(settings.database_url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = _sqlite_connect_args()
        if _in_memory(url):
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                pool_timeout=settings.db_pool_timeout,
            )
    else:
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_recycle=settings.db_pool_recycle,
        )
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        _enable_sqlite_transactions(engine)
    return engine


def shares_database(settings: Settings) -> bool:
    """Whether another process reaches the same data through ``settings.database_url`` (not an in-memory
    SQLite database)."""
    url = make_url(settings.database_url)
    return url.get_backend_name() != "sqlite" or not _in_memory(url)


def _in_memory(url: URL) -> bool:
    """A SQLite URL of a database that lives in its connection only."""
    return url.database in (None, "", ":memory:")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_mysql(engine: AsyncEngine) -> bool:
    return engine.dialect.name in ("mysql", "mariadb")
