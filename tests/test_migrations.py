"""Alembic is the schema: upgrade from empty to head and back on both databases, models and migrations agree,
and the covering lookup uses the network index (query plans on MariaDB and SQLite)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from netlookup.categories import Category
from netlookup.config import Settings
from netlookup.container import open_services
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from netlookup.lookup.sql import Arm, batched_lookup
from netlookup.migrations import downgrade, upgrade
from netlookup.realtime.notify import Notifier
from netlookup.tables import metadata
from tests.processes import create_mariadb_database, drop_mariadb_database

TABLES = {
    "acl",
    "sg",
    "lb",
    "f5",
    "lb_address",
    "f5_address",
    "sources",
    "prefix_lengths",
    "data_versions",
    "database_identity",
}


@pytest.fixture(params=["sqlite", "mariadb"])
def empty_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('mig') / 'm.db'}"
        return
    url = create_mariadb_database("netlookup_mig")
    try:
        yield url
    finally:
        drop_mariadb_database(url)


async def _inspect(url: str) -> tuple[set[str], list[Any]]:
    engine = create_async_engine(url)

    def read(sync_conn: Connection) -> tuple[set[str], list[Any]]:
        tables = set(inspect(sync_conn).get_table_names())
        diffs = (
            compare_metadata(MigrationContext.configure(sync_conn, opts={"compare_type": True}), metadata)
            if tables >= TABLES
            else []
        )
        return tables, diffs

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    finally:
        await engine.dispose()


def test_upgrade_to_head_and_downgrade_to_base(empty_database: str) -> None:
    upgrade(empty_database)
    tables, diffs = asyncio.run(_inspect(empty_database))
    assert tables >= TABLES
    assert diffs == [], f"models and migrations disagree: {diffs}"
    downgrade(empty_database, "base")
    tables, _ = asyncio.run(_inspect(empty_database))
    assert tables & TABLES == set()
    upgrade(empty_database)
    assert asyncio.run(_inspect(empty_database))[0] >= TABLES


async def _plan(conn: AsyncConnection, batched: Any, prefix: str) -> list[Any]:
    stmt, values = batched
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params(values)
    positional = tuple(params[name] for name in compiled.positiontup)
    return list((await conn.exec_driver_sql(f"{prefix} {compiled}", positional)).all())


@pytest.mark.parametrize("category", ["sg", "acl"])
async def test_covering_lookup_reads_the_network_index_alone(empty_database: str, category: Category) -> None:
    """The candidates of a lookup are found and ranked from the network index alone (it holds what they are
    sorted by); the table's rows are read only for the kept matches, by primary key.

    A database of its own: MariaDB's row estimates count rows deleted by earlier tests until InnoDB purges them,
    which a busy server or any open snapshot delays, so a shared database gave this plan hundreds of rows."""
    await asyncio.to_thread(upgrade, empty_database)
    settings = Settings(database_url=empty_database, _env_file=None)
    rows: list[dict[str, Any]] = [
        {"cidr": f"10.{i % 250}.{i // 250 % 250}.0/24", "group_id": f"sg-{i % 50}"} for i in range(20_000)
    ]
    rows += [{"cidr": "10.0.0.0/8"}, {"cidr": "0.0.0.0/0"}, {"cidr": "10.1.0.0/16"}]
    if category == "acl":
        rows = [{"cidr": row["cidr"], "line": line} for line, row in enumerate(rows, 1)]
    async with open_services(settings, Notifier(None)) as services:
        body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        await services.imports.import_source(category, "plan", io.BytesIO(body), "ndjson")
        lengths = {4: [0, 8, 16, 24]}
        mysql = services.engine.dialect.name in ("mysql", "mariadb")
        stmt = batched_lookup(
            category,
            [Arm(0, parse_query("10.1.2.3"))],
            lengths,
            LookupOptions(categories=(category,), mode=Mode.covering),
            row_values=mysql,
        )
        index = f"ix_{category}_network"
        async with services.engine.connect() as conn:
            if mysql:
                await conn.exec_driver_sql(f"ANALYZE TABLE {category}")
                plan = [dict(r._mapping) for r in await _plan(conn, stmt, "EXPLAIN")]
                # The matching happens in the derived table; the outer join by primary key fetches kept rows only.
                scans = [r for r in plan if r["table"] == category and r["key"] != "PRIMARY"]
                assert scans, plan
                assert all(r["key"] == index and r["type"] == "range" for r in scans), scans
                assert all(int(r["rows"]) < 100 for r in scans), scans
                # "Using index": from the index alone ("Using index condition" would still read every row).
                assert all("Using index" in (r["Extra"] or "").split("; ") for r in scans), scans
                assert all(r["type"] == "eq_ref" for r in plan if r["key"] == "PRIMARY"), plan
            else:
                plan = await _plan(conn, stmt, "EXPLAIN QUERY PLAN")
                details = [row[-1] for row in plan]
                searches = [d for d in details if d.startswith(f"SEARCH {category}") and "PRIMARY KEY" not in d]
                assert searches, details
                expected = f"USING COVERING INDEX {index} (family=? AND prefix_len=? AND net_start=?)"
                assert all(expected in d for d in searches), details
                assert not any(d.startswith(f"SCAN {category}") for d in details), details


async def _sg_ports(url: str) -> tuple[list[tuple[Any, ...]], int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql("SELECT protocol, port_lo, port_hi FROM sg ORDER BY id")).all()
            version = (await conn.exec_driver_sql("SELECT version FROM data_versions WHERE category = 'sg'")).scalar()
            return [tuple(row) for row in rows], int(version or 0)
    finally:
        await engine.dispose()


async def _insert_sg(url: str, protocol: str, low: int, high: int) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                metadata.tables["sg"]
                .insert()
                .values(
                    source="old",
                    protocol=protocol,
                    from_port=low,
                    to_port=high,
                    cidr="10.0.0.0/8",
                    family=4,
                    prefix_len=8,
                    net_start=bytes([10, 0, 0, 0]),
                    net_end=bytes([10, 255, 255, 255]),
                    port_lo=low,
                    port_hi=max(low, high),
                    fingerprint=low,
                )
            )
    finally:
        await engine.dispose()


def test_icmp_rules_lose_their_port_range_on_upgrade(empty_database: str) -> None:
    upgrade(empty_database, "c31f6a0d2e77")
    asyncio.run(_insert_sg(empty_database, "icmp", 8, -1))
    asyncio.run(_insert_sg(empty_database, "tcp", 443, 443))
    before, version = asyncio.run(_sg_ports(empty_database))
    assert before == [("icmp", 8, 8), ("tcp", 443, 443)]
    upgrade(empty_database)
    after, bumped = asyncio.run(_sg_ports(empty_database))
    assert after == [("icmp", None, None), ("tcp", 443, 443)]
    assert bumped == version + 1
    downgrade(empty_database, "c31f6a0d2e77")
    assert asyncio.run(_sg_ports(empty_database))[0] == before
