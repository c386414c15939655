"""Run lookups: the categories concurrently, each on its own short session, many queries per statement."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from netlookup.categories import SPECS, Category
from netlookup.gate import DbGate
from netlookup.lookup.memory import CategoryIndex
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.lookup.request import LookupOptions
from netlookup.lookup.sql import Arm, batched_lookup, bind_count, prefix_lengths_present
from netlookup.metrics import LOOKUP_LATENCY
from netlookup.networks import Prefix

# SQLite allows 32,766 bind parameters per statement; stay well below on every backend.
MAX_BINDS_PER_STATEMENT = 4000

CategoryResult = dict[str, Any]


def _empty_result() -> CategoryResult:
    return {"total": 0, "truncated": False, "matches": []}


def _public(category: Category, row: Any) -> dict[str, Any]:
    """The record's public fields, by name: the statement selects them last, in that order (one ``zip`` instead
    of a ``getattr`` per field and row, which was a fifth of the node's CPU on the database path)."""
    fields = SPECS[category].public_fields
    return dict(zip(fields, row[-len(fields) :], strict=True))


def _network_match(category: Category, row: Any) -> dict[str, Any]:
    match = _public(category, row)
    match["prefix_len"] = row.prefix_len
    return match


def _address_match(category: Category, row: Any, prefix_len: int) -> dict[str, Any]:
    match = _public(category, row)
    # Members are stored as JSON text: pass them through without decoding and re-encoding.
    match["members"] = orjson.Fragment(row.members or "[]")
    match["prefix_len"] = prefix_len
    match["matched_on"] = SPECS[category].address_field if row.role == 0 else "member"
    return match


def _chunks(category: Category, arms: list[Arm], lengths: dict[int, list[int]]) -> list[list[Arm]]:
    chunks: list[list[Arm]] = [[]]
    used = 0
    for arm in arms:
        cost = bind_count(category, arm, lengths)
        if chunks[-1] and used + cost > MAX_BINDS_PER_STATEMENT:
            chunks.append([])
            used = 0
        chunks[-1].append(arm)
        used += cost
    return chunks


class LookupService:
    """Answers lookups from the database. Thread-safe in the asyncio sense: no shared session."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        row_values: bool,
        indexes: MemoryIndexes | None = None,
        gate: DbGate | None = None,
    ):
        self._sessionmaker = sessionmaker
        self._row_values = row_values
        self._indexes = indexes
        self._gate = gate

    async def _lengths(self, session: AsyncSession, category: Category) -> dict[int, list[int]]:
        lengths: dict[int, list[int]] = defaultdict(list)
        rows = (await session.execute(prefix_lengths_present(category))).all()
        for row in rows:
            lengths[row.family].append(row.prefix_len)
        return {family: sorted(values) for family, values in lengths.items()}

    def _index(self, category: Category) -> CategoryIndex | None:
        return self._indexes.get(category) if self._indexes is not None else None

    async def category_results(
        self, category: Category, prefixes: Sequence[Prefix], options: LookupOptions
    ) -> list[CategoryResult]:
        """The result of every prefix for one category, in order: from the in-memory index when it is current,
        else from the database (through the gate) in one transaction (one snapshot)."""
        index = self._index(category)
        if index is not None:
            return self._from_index(category, index, prefixes, options)
        async with self._gated(1):
            return await self._from_database(category, prefixes, options)

    def in_memory(self, categories: Sequence[Category]) -> bool:
        """Whether a lookup of ``categories`` is answered from current in-memory indexes alone (no database)."""
        return all(self._index(category) is not None for category in categories)

    def refusal(self, categories: Sequence[Category]) -> str | None:
        """Why a lookup of ``categories`` arriving now would be refused by the gate (None: it would be served):
        only the categories without a current index need the database."""
        wanted = sum(1 for category in categories if self._index(category) is None)
        return self._gate.refusal(wanted) if wanted and self._gate is not None else None

    def _gated(self, slots: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self._gate.slots(slots) if self._gate is not None else contextlib.nullcontext()

    def _from_index(
        self, category: Category, index: CategoryIndex, prefixes: Sequence[Prefix], options: LookupOptions
    ) -> list[CategoryResult]:
        started = time.perf_counter()
        results = [index.lookup(prefix, options) for prefix in prefixes]
        LOOKUP_LATENCY.labels(category, "memory").observe(time.perf_counter() - started)
        return results

    async def _from_database(
        self, category: Category, prefixes: Sequence[Prefix], options: LookupOptions
    ) -> list[CategoryResult]:
        started = time.perf_counter()
        results = [_empty_result() for _ in prefixes]
        arms = [Arm(index, prefix) for index, prefix in enumerate(prefixes)]
        async with self._sessionmaker() as session, session.begin():
            network = SPECS[category].network
            lengths = await self._lengths(session, category) if network else {}
            for chunk in _chunks(category, arms, lengths):
                batched = batched_lookup(category, chunk, lengths, options, self._row_values)
                if batched is None:
                    continue
                stmt, values = batched
                for row in (await session.execute(stmt, values)).all():
                    result = results[row.qi]
                    result["total"] = row.total
                    if network:
                        result["matches"].append(_network_match(category, row))
                    else:
                        result["matches"].append(_address_match(category, row, row.prefix_len))
        for result in results:
            result["truncated"] = result["total"] > len(result["matches"])
        LOOKUP_LATENCY.labels(category, "database").observe(time.perf_counter() - started)
        return results

    async def lookup_many(self, prefixes: Sequence[Prefix], options: LookupOptions) -> list[dict[str, Any]]:
        """One response per prefix: ``{query, results: {category: result}, took_ms}``.

        The categories run concurrently, each on its own session; each answers all prefixes at once.
        """
        started = time.perf_counter()
        indexes = {category: self._index(category) for category in options.categories}
        from_database = [category for category, index in indexes.items() if index is None]
        if not from_database:
            # Everything in memory: plain function calls, no tasks to schedule.
            in_memory = [self._from_index(c, i, prefixes, options) for c, i in indexes.items() if i is not None]
            return self._responses(prefixes, options, in_memory, started)

        async def one(category: Category) -> list[CategoryResult]:
            index = indexes[category]
            if index is not None:
                return self._from_index(category, index, prefixes, options)
            return await self._from_database(category, prefixes, options)

        # All the connections this lookup needs are taken at once through the gate, or none (503 on timeout).
        async with self._gated(len(from_database)):
            per_category = await asyncio.gather(*(one(category) for category in options.categories))
        return self._responses(prefixes, options, per_category, started)

    @staticmethod
    def _responses(
        prefixes: Sequence[Prefix], options: LookupOptions, per_category: Sequence[list[CategoryResult]], started: float
    ) -> list[dict[str, Any]]:
        took_ms = round((time.perf_counter() - started) * 1000, 3)
        return [
            {
                "query": prefix.text,
                "results": {category: per_category[c][index] for c, category in enumerate(options.categories)},
                "took_ms": took_ms,
            }
            for index, prefix in enumerate(prefixes)
        ]

    async def lookup(self, prefix: Prefix, options: LookupOptions) -> dict[str, Any]:
        return (await self.lookup_many([prefix], options))[0]
