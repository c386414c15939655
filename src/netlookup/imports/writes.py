"""The statements of an import or delete, on the connection holding its transaction: old records read, new ones
bulk inserted, removed ones deleted, the source's summary and the category's data version written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from netlookup import tables
from netlookup.categories import SPECS, Category
from netlookup.imports.diff import OldRecords
from netlookup.records import AddressPoint

DELETE_CHUNK = 1000

_PLACEHOLDERS = {"format": "%s", "qmark": "?"}


def plain_insert(conn: AsyncConnection, table: Table) -> tuple[str, Callable[[dict[str, Any]], Any]] | None:
    """``INSERT INTO t (columns) VALUES (?, ...)`` in the driver's own paramstyle, and what takes a row's values
    in that order (``itemgetter``: a generator per row cost a quarter of a second for 150,000 rows).

    Bulk rows go to the driver's executemany as tuples: SQLAlchemy's per-row parameter processing cost as much
    as the driver's own work for 150,000 rows. The network tables have no column that needs a type processor.
    """
    placeholder = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if placeholder is None:
        return None
    quote = conn.dialect.identifier_preparer.quote
    columns = tuple(column.name for column in table.columns if column.name != "id")
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))})"
    )
    return sql, itemgetter(*columns)


async def bump_version(conn: AsyncConnection, category: Category) -> int:
    """Count one more change of the category's records; the new version."""
    versions = tables.data_versions
    await conn.execute(update(versions).where(versions.c.category == category).values(version=versions.c.version + 1))
    return int((await conn.execute(select(versions.c.version).where(versions.c.category == category))).scalar_one())


async def source_version(conn: AsyncConnection, category: Category, source: str) -> int | None:
    """The version of the source's last change (None: no such source)."""
    s = tables.sources
    query = select(s.c.version).where(s.c.category == category, s.c.name == source)
    value = (await conn.execute(query)).scalar()
    return int(value) if value is not None else None


async def old_records(conn: AsyncConnection, category: Category, source: str) -> OldRecords:
    """The source's records as (fingerprint, id), sorted by the database, into compact arrays. One buffered
    read: a server-side cursor fetched row by row took ten times longer for 150,000 rows."""
    t = SPECS[category].table
    query = select(t.c.fingerprint, t.c.id).where(t.c.source == source).order_by(t.c.fingerprint, t.c.id)
    return OldRecords((fingerprint, record_id) for fingerprint, record_id in await conn.execute(query))


async def delete_removed(conn: AsyncConnection, category: Category, source: str, old: OldRecords) -> None:
    """The old records no new row claimed (and their address points); all of them in one statement each when
    none was claimed. New rows have larger ids than any old one, so ``id <= max_id`` never reaches them."""
    t = SPECS[category].table
    a = SPECS[category].address_table
    if old.removed == 0:
        return
    if old.kept == 0:
        if a is not None:
            await conn.execute(delete(a).where(a.c.source == source, a.c.record_id <= old.max_id))
        await conn.execute(delete(t).where(t.c.source == source, t.c.id <= old.max_id))
        return
    removed = old.removed_ids()
    for start in range(0, len(removed), DELETE_CHUNK):
        chunk = removed[start : start + DELETE_CHUNK]
        if a is not None:
            await conn.execute(delete(a).where(a.c.record_id.in_(chunk)))
        await conn.execute(delete(t).where(t.c.id.in_(chunk)))


async def start_writing(conn: AsyncConnection, category: Category, source: str) -> None:
    """The first statement of every write: dropping the source's prefix lengths is a write, so SQLite takes
    its writer lock before any read and the transaction's snapshot is never stale."""
    p = tables.prefix_lengths
    await conn.execute(delete(p).where(p.c.category == category, p.c.source == source))


async def delete_rows(conn: AsyncConnection, category: Category, source: str) -> None:
    """Records, address points and the sources row (prefix lengths went in ``start_writing``)."""
    a = SPECS[category].address_table
    if a is not None:
        await conn.execute(delete(a).where(a.c.source == source))
    t = SPECS[category].table
    await conn.execute(delete(t).where(t.c.source == source))
    await conn.execute(
        delete(tables.sources).where(tables.sources.c.category == category, tables.sources.c.name == source)
    )


async def insert_batch(
    conn: AsyncConnection,
    category: Category,
    source: str,
    rows: list[dict[str, Any]],
    points: list[list[AddressPoint]],
) -> None:
    """New records (and, for lb/f5, their address points, which need the records' new ids)."""
    for row in rows:
        row["source"] = source
    t = SPECS[category].table
    if SPECS[category].network:
        statement = plain_insert(conn, t)
        if statement is None:
            await conn.execute(insert(t), rows)
        else:
            sql, values_of = statement
            await conn.exec_driver_sql(sql, [values_of(row) for row in rows])
        return
    result = await conn.execute(insert(t).returning(t.c.id, sort_by_parameter_order=True), rows)
    ids = [row_id for (row_id,) in result.all()]
    addresses = [
        {"record_id": record_id, "source": source, **point._asdict()}
        for record_id, record_points in zip(ids, points, strict=True)
        for point in record_points
    ]
    a = SPECS[category].address_table
    if addresses and a is not None:
        await conn.execute(insert(a), addresses)


async def write_summary(
    conn: AsyncConnection,
    category: Category,
    source: str,
    count: int,
    checksum: str,
    lengths: Counter[tuple[int, int]],
    version: int,
) -> None:
    """The sources row and, for networks, how many records of each prefix length (counted while inserting:
    a GROUP BY over the source's rows would also walk the old rows this transaction deleted)."""
    values = [
        {"category": category, "source": source, "family": family, "prefix_len": length, "count": n}
        for (family, length), n in sorted(lengths.items())
    ]
    if values:
        await conn.execute(insert(tables.prefix_lengths), values)
    await conn.execute(
        insert(tables.sources).values(
            category=category,
            name=source,
            count=count,
            checksum=checksum,
            version=version,
            imported_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0),
        )
    )
