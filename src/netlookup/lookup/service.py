"""Run lookups: from the in-memory indexes, or from the database on one short connection, many queries per
statement."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

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


Lengths = dict[Category, dict[int, list[int]]]  # category -> family -> prefix lengths present


async def lengths_present(conn: AsyncConnection, categories: Sequence[Category]) -> Lengths:
    """The prefix lengths present per network category and family (one statement for all of them)."""
    wanted = tuple(category for category in categories if SPECS[category].network)
    found: Lengths = {category: defaultdict(list) for category in wanted}
    if wanted:
        for row in (await conn.execute(prefix_lengths_present(wanted))).all():
            found[row.category][row.family].append(row.prefix_len)
    return {category: {f: sorted(ls) for f, ls in by_family.items()} for category, by_family in found.items()}


class LookupService:
    """Answers lookups from the in-memory indexes or the database. Safe for concurrent tasks: no shared connection."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        row_values: bool,
        indexes: MemoryIndexes | None = None,
        gate: DbGate | None = None,
    ):
        self._engine = engine
        self._row_values = row_values
        self._indexes = indexes
        self._gate = gate

    def _index(self, category: Category) -> CategoryIndex | None:
        return self._indexes.get(category) if self._indexes is not None else None

    async def category_results(
        self, category: Category, prefixes: Sequence[Prefix], options: LookupOptions
    ) -> list[CategoryResult]:
        """The result of every prefix for one category, in order: from the in-memory index when it is current,
        else from the database (through the gate)."""
        index = self._index(category)
        if index is not None:
            return self._from_index(category, index, prefixes, options)
        async with self._gated(1):
            return (await self._from_database([category], prefixes, options))[category]

    def in_memory(self, categories: Sequence[Category]) -> bool:
        """Whether a lookup of ``categories`` is answered from current in-memory indexes alone (no database)."""
        return all(self._index(category) is not None for category in categories)

    def database_admission(self, arrived: float | None = None) -> contextlib.AbstractAsyncContextManager[str | None]:
        """For a lookup that needs the database (one not ``in_memory``: one connection), run around its handling:
        yields why the gate refuses it, or None when it is served or queued, its place in the gate held until it
        queues (see ``DbGate.admitted``)."""
        return contextlib.nullcontext() if self._gate is None else self._gate.admitted(1, arrived)

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
        self, categories: Sequence[Category], prefixes: Sequence[Prefix], options: LookupOptions
    ) -> dict[Category, list[CategoryResult]]:
        """Every prefix's result for each of ``categories``, on one connection, in one transaction (one snapshot
        of all of them): the categories one after another, each in one statement (or a few, for long batches).

        One connection per lookup, not one per category at once: at the same load a pool then does the same work
        with a quarter of the checkouts, pings and transaction ends, and it never holds connections idle for a
        lookup whose other categories are still running (a pool with overflow closes such idle connections and
        opens new ones for the next lookups: about one new connection per lookup under load)."""
        arms = [Arm(index, prefix) for index, prefix in enumerate(prefixes)]
        answers: dict[Category, list[CategoryResult]] = {}
        # No commit: the connection's close ends the read-only transaction with the rollback the pool would do
        # anyway on its return (one round trip, not two).
        async with self._engine.connect() as conn:
            lengths = await lengths_present(conn, categories)
            for category in categories:
                started = time.perf_counter()
                results = [_empty_result() for _ in prefixes]
                network = SPECS[category].network
                category_lengths = lengths.get(category, {})
                for chunk in _chunks(category, arms, category_lengths):
                    batched = batched_lookup(category, chunk, category_lengths, options, self._row_values)
                    if batched is None:
                        continue
                    stmt, values = batched
                    for row in (await conn.execute(stmt, values)).all():
                        result = results[row.qi]
                        result["total"] = row.total
                        if network:
                            result["matches"].append(_network_match(category, row))
                        else:
                            result["matches"].append(_address_match(category, row, row.prefix_len))
                for result in results:
                    result["truncated"] = result["total"] > len(result["matches"])
                answers[category] = results
                LOOKUP_LATENCY.labels(category, "database").observe(time.perf_counter() - started)
        return answers

    async def lookup_many(self, prefixes: Sequence[Prefix], options: LookupOptions) -> list[dict[str, Any]]:
        """One response per prefix: ``{query, results: {category: result}, took_ms}``.

        Categories with a current in-memory index are answered from it; the others from the database, together
        on one connection (see ``_from_database``), taken through the gate (a 503 when it cannot be had in time).
        """
        started = time.perf_counter()
        indexes = {category: self._index(category) for category in options.categories}
        from_database = [category for category, index in indexes.items() if index is None]
        answers: dict[Category, list[CategoryResult]] = {}
        if from_database:
            async with self._gated(1):
                answers = await self._from_database(from_database, prefixes, options)
        per_category = [
            answers[category] if index is None else self._from_index(category, index, prefixes, options)
            for category, index in indexes.items()
        ]
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
