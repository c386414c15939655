"""Reading stored records and sources: keyset-paginated lists and the sources summary."""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup import tables
from netlookup.categories import SPECS, Category
from netlookup.errors import BadInput
from netlookup.gate import DbGate

# A cursor is the id the next page starts after, in decimal: keyset pagination by id, a shape a schema can state.
CURSOR_PATTERN = "^[0-9]{1,19}$"
_CURSOR = re.compile(r"[0-9]{1,19}")
_MAX_ID = 2**63 - 1


def encode_cursor(last_id: int) -> str:
    return str(last_id)


def decode_cursor(cursor: str) -> int:
    """The id after which the next page starts (past the largest id: an empty page); BadInput for any other text."""
    if not _CURSOR.fullmatch(cursor):
        raise BadInput(f"cursor {cursor!r} is not a cursor this API returned: next_cursor is 1 to 19 digits")
    return min(int(cursor), _MAX_ID)


class RecordService:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], gate: DbGate):
        self._sessionmaker = sessionmaker
        self._gate = gate

    async def list_records(
        self, category: Category, source: str | None, limit: int, cursor: str | None
    ) -> dict[str, Any]:
        """One page of records ordered by id; ``next_cursor`` is null on the last page."""
        t = SPECS[category].table
        after = decode_cursor(cursor) if cursor else 0
        stmt = select(*(t.c[name] for name in SPECS[category].public_fields)).where(t.c.id > after)
        if source is not None:
            stmt = stmt.where(t.c.source == source)
        stmt = stmt.order_by(t.c.id).limit(limit + 1)
        async with self._gate.slots(1), self._sessionmaker() as session:
            rows = (await session.execute(stmt)).all()
        items = []
        names = SPECS[category].public_fields
        for row in rows[:limit]:
            item = dict(zip(names, row, strict=True))
            if "members" in item:
                item["members"] = orjson.Fragment(item["members"] or "[]")
            items.append(item)
        next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return {"items": items, "next_cursor": next_cursor}

    async def list_sources(self) -> list[dict[str, Any]]:
        s = tables.sources
        stmt = select(s.c.category, s.c.name, s.c.count, s.c.imported_at, s.c.checksum).order_by(s.c.category, s.c.name)
        async with self._gate.slots(1), self._sessionmaker() as session:
            rows = (await session.execute(stmt)).all()
        return [
            {
                "category": r.category,
                "source": r.name,
                "count": r.count,
                "imported_at": r.imported_at.isoformat() + "Z",
                "checksum": r.checksum,
            }
            for r in rows
        ]
