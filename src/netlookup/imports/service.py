"""The atomic replace of one (category, source): stream, validate, bulk insert, commit once.

Readers see the old set or the new set, never a mix: the delete of the old rows and the insert of the new ones
happen in one transaction (InnoDB MVCC on MariaDB, WAL snapshots on SQLite). A bad row rolls everything back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from array import array
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any, Literal, Protocol, get_args

from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from netlookup import tables
from netlookup.categories import SPECS, Category
from netlookup.changes import DataChange
from netlookup.db import is_mysql
from netlookup.errors import BadInput, Conflict, ImportRejected, NetlookupError, NotFound
from netlookup.gate import DbGate
from netlookup.imports import writes
from netlookup.imports.diff import OldRecords
from netlookup.imports.formats import FORMAT_SPECS, FORMATS, guess_format, iter_records
from netlookup.imports.rows import MAX_TEXT, ParsedItem, RowError, iter_lines
from netlookup.imports.validate import IGNORED_FIELDS, IMPORT_FIELDS, ValidatedBatches, validated_batches
from netlookup.metrics import IMPORT_ROWS

log = logging.getLogger(__name__)

BATCH_ROWS = 2000
MAX_REPORTED_ERRORS = 100
MAX_UNMAPPED_SAMPLE = 5
MAX_SOURCE_LENGTH = 255

ProgressCallback = Callable[[int], Awaitable[None]]
# reject: any bad row refuses the file (the default); skip: vendor files import without the rows they cannot map,
# which the answer lists. A file that is not of its format at all, or cut off, is refused either way.
OnError = Literal["reject", "skip"]
ON_ERROR: tuple[OnError, ...] = get_args(OnError)


class ImportEvents(Protocol):
    """Who hears of every write: the realtime Notifier (clients on every node, this node's indexes first)."""

    async def data_changed(self, change: DataChange) -> None: ...
    async def import_progress(self, job_id: str, category: str, source: str, rows_done: int) -> None: ...
    async def import_done(self, result: dict[str, Any]) -> None: ...
    async def import_failed(self, job_id: str, category: str, source: str, status: int, detail: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    job_id: str
    category: Category
    source: str
    count: int
    added: int
    removed: int
    checksum: str
    took_ms: float
    unmapped: dict[str, Any] | None = None
    skipped: dict[str, Any] | None = None  # on_error=skip: {count, rows: the first 100 left out}

    def as_dict(self) -> dict[str, Any]:
        extra = {"unmapped": self.unmapped} if self.unmapped else {}
        extra |= {"skipped": self.skipped} if self.skipped else {}
        return extra | {
            "job_id": self.job_id,
            "category": self.category,
            "source": self.source,
            "count": self.count,
            "added": self.added,
            "removed": self.removed,
            "checksum": self.checksum,
            "took_ms": self.took_ms,
        }


def new_job_id() -> str:
    return uuid.uuid4().hex


def content_checksum(fingerprints: Iterable[int]) -> str:
    """SHA-256 over the sorted record fingerprints: the same records give the same checksum in any order."""
    digest = hashlib.sha256()
    for value in sorted(fingerprints):
        digest.update(value.to_bytes(8, "big", signed=True))
    return digest.hexdigest()


def check_source_name(source: str) -> str:
    name = source.strip() if isinstance(source, str) else ""
    if not name:
        raise BadInput("source must be a non-empty name such as configs/core-fw1.cfg")
    if len(name) > MAX_SOURCE_LENGTH:
        raise BadInput(f"source is {len(name)} characters long; at most {MAX_SOURCE_LENGTH} are allowed")
    if any(ord(ch) < 32 for ch in name):
        raise BadInput("source must not contain control characters")
    return name


def _with_line_texts(stream: IO[bytes], errors: list[RowError]) -> list[RowError]:
    """The errors of a line-based file with the text of their line, read again from the file (the parsers do not
    keep lines); errors that already quote their text keep it."""
    wanted = {error.line for error in errors if error.text is None}
    if not wanted or stream.closed:
        return errors
    texts: dict[int, str] = {}
    stream.seek(0)
    last = max(wanted)
    for number, raw in enumerate(iter_lines(stream), start=1):
        if number in wanted:
            texts[number] = raw.decode("utf-8", "replace").strip()[:MAX_TEXT]
        if number >= last:
            break
    return [replace(error, text=texts.get(error.line)) if error.text is None else error for error in errors]


def _lock_name(category: str, source: str) -> str:
    return "netlookup:" + hashlib.sha1(f"{category}\0{source}".encode()).hexdigest()


@dataclass(slots=True)
class _Streamed:
    """What streaming a file's rows into the tables found."""

    fingerprints: array[int] = field(default_factory=lambda: array("q"))  # 8 bytes per record, not 40
    lengths: Counter[tuple[int, int]] = field(default_factory=Counter)  # (family, prefix_len) → records
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    fatal: bool = False  # an error about the whole file: refused in every mode
    rows_done: int = 0
    inserted: int = 0


class ImportService:
    """Imports and deletes sources, and tells ``events`` of each: ``import_source`` and ``delete_source`` are the
    only ways to write records. One instance per process; it serialises imports of the same source."""

    def __init__(
        self, engine: AsyncEngine, events: ImportEvents, *, lock_timeout: float = 30.0, gate: DbGate | None = None
    ):
        self._engine = engine
        self._events = events
        self._gate = gate
        self._lock_timeout = lock_timeout
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def _local_lock(self, category: str, source: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault((category, source), asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), timeout=self._lock_timeout)
        except TimeoutError:
            raise Conflict(f"another import of {category}/{source} is still running; try again later") from None
        try:
            yield
        finally:
            lock.release()
            if not lock.locked() and self._locks.get((category, source)) is lock:
                del self._locks[(category, source)]

    @contextlib.asynccontextmanager
    async def _write_connection(self, category: str, source: str) -> AsyncIterator[AsyncConnection]:
        """A connection holding the cross-process lock for this source (MariaDB GET_LOCK; SQLite's writer lock)."""
        gated = (
            self._gate.slots(1, reason="import waiting for the database", long=True)
            if self._gate
            else contextlib.nullcontext()
        )
        async with self._local_lock(category, source), gated, self._engine.connect() as conn:
            if is_mysql(self._engine):
                name = _lock_name(category, source)
                got = await conn.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": self._lock_timeout})
                await conn.commit()
                if got.scalar() != 1:
                    raise Conflict(f"another import of {category}/{source} is still running; try again later")
                try:
                    yield conn
                finally:
                    with contextlib.suppress(Exception):
                        await conn.rollback()
                        await conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                        await conn.commit()
            else:
                try:
                    yield conn
                except OperationalError as exc:
                    if "locked" in str(exc.orig):
                        raise Conflict(f"the database is busy with another import; retry {category}/{source}") from None
                    raise

    async def import_source(
        self,
        category: Category,
        source: str,
        stream: IO[bytes],
        fmt: str | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        job_id: str | None = None,
        on_error: OnError = "reject",
    ) -> ImportResult:
        """Replace every record of (category, source) with the file's records, atomically, and announce it:
        ``import:progress`` per batch (and ``on_progress``, e.g. a progress bar), then ``import:done`` and
        ``data:changed`` once committed, or ``import:failed`` with the reason.

        Raises ImportRejected (nothing written) listing the first bad rows, BadInput for an unknown format
        or an empty file, Conflict when another import of the same source holds the lock too long. With
        ``on_error="skip"`` bad rows are left out and listed under ``skipped`` instead, unless the error is about
        the file as a whole (not this format, cut off) or no row is left.
        """
        if on_error not in ON_ERROR:
            raise BadInput(f"on_error must be one of {', '.join(ON_ERROR)}, not {on_error!r}")
        job_id = job_id or new_job_id()
        source = check_source_name(source)
        counted = 0

        async def progress(rows_done: int) -> None:
            nonlocal counted
            IMPORT_ROWS.labels(category).inc(rows_done - counted)
            counted = rows_done
            if on_progress is not None:
                await on_progress(rows_done)
            await self._events.import_progress(job_id, category, source, rows_done)

        try:
            result = await self._replace_source(category, source, stream, fmt, progress, job_id, on_error == "skip")
        except NetlookupError as exc:
            await self._events.import_failed(job_id, category, source, exc.status_code, exc.detail)
            raise
        except Exception:
            await self._events.import_failed(job_id, category, source, 500, "internal error")
            raise
        await self._events.import_done(result.as_dict())
        skipped = result.skipped["count"] if result.skipped else 0
        change = DataChange(category, source, result.added, result.removed, result.checksum, skipped)
        await self._events.data_changed(change)
        return result

    async def _replace_source(
        self,
        category: Category,
        source: str,
        stream: IO[bytes],
        fmt: str | None,
        on_progress: ProgressCallback,
        job_id: str,
        skip: bool = False,
    ) -> ImportResult:
        fmt = (fmt or guess_format(stream)).lower()
        spec = FORMAT_SPECS.get(fmt)
        if spec is None:
            raise BadInput(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
        if not spec.fills(category):
            raise BadInput(f"format {fmt!r} holds {spec.category} records, not {category}")
        unmapped: dict[str, Any] = {"count": 0, "by_kind": {}, "sample": []}
        started = time.perf_counter()
        columns = IMPORT_FIELDS[category] + IGNORED_FIELDS
        parsed: Iterator[ParsedItem] = iter_records(fmt, stream, columns)
        async with (
            self._write_connection(category, source) as conn,
            conn.begin(),
            validated_batches(category, parsed, BATCH_ROWS, skip=skip) as batches,
        ):
            await writes.start_writing(conn, category, source)
            old = await writes.old_records(conn, category, source)
            old_version = await writes.source_version(conn, category, source)
            sources = tables.sources
            await conn.execute(delete(sources).where(sources.c.category == category, sources.c.name == source))
            streamed = await self._stream_rows(conn, category, source, batches, on_progress, unmapped, old, skip)
            if streamed.error_count and spec.line_based:
                streamed.errors = _with_line_texts(stream, streamed.errors)
            if streamed.fatal or (streamed.error_count and not skip):
                raise ImportRejected(
                    f"{streamed.error_count} bad rows in {category}/{source}; nothing was imported"
                    + (" (the file cannot be read as a whole, whatever on_error says)" if streamed.fatal else ""),
                    [error.as_dict() for error in streamed.errors],
                    streamed.error_count,
                )
            if streamed.error_count and not streamed.fingerprints:
                raise ImportRejected(
                    f"every entry of the file was refused ({streamed.error_count}); nothing was imported",
                    [error.as_dict() for error in streamed.errors],
                    streamed.error_count,
                )
            if not streamed.fingerprints:
                raise BadInput(f"the file holds no {category} records; to remove a source, DELETE it instead")
            await writes.delete_removed(conn, category, source, old)
            checksum = content_checksum(streamed.fingerprints)
            added, removed = streamed.inserted, old.removed
            # An unchanged source keeps its version, and leaves every node's index as it is.
            changed = bool(added or removed) or old_version is None
            version = await writes.bump_version(conn, category) if changed else old_version
            assert version is not None
            count = len(streamed.fingerprints)
            await writes.write_summary(conn, category, source, count, checksum, streamed.lengths, version)
        took_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info(
            "import committed job_id=%s category=%s source=%s count=%d added=%d removed=%d took_ms=%s",
            job_id,
            category,
            source,
            streamed.rows_done,
            added,
            removed,
            took_ms,
        )
        return ImportResult(
            job_id,
            category,
            source,
            len(streamed.fingerprints),
            added,
            removed,
            checksum,
            took_ms,
            unmapped if unmapped["count"] else None,
            {"count": streamed.error_count, "rows": [e.as_dict() for e in streamed.errors]}
            if streamed.error_count
            else None,
        )

    async def _stream_rows(
        self,
        conn: AsyncConnection,
        category: Category,
        source: str,
        batches: ValidatedBatches,
        on_progress: ProgressCallback,
        unmapped: dict[str, Any],
        old: OldRecords,
        skip: bool = False,
    ) -> _Streamed:
        streamed = _Streamed()
        while True:
            batch = await batches.next()
            streamed.error_count += len(batch.errors)
            streamed.fatal = streamed.fatal or any(error.fatal for error in batch.errors)
            streamed.errors.extend(batch.errors[: MAX_REPORTED_ERRORS - len(streamed.errors)])
            for item in batch.unmapped:
                unmapped["count"] += 1
                unmapped["by_kind"][item.kind] = unmapped["by_kind"].get(item.kind, 0) + 1
                if len(unmapped["sample"]) < MAX_UNMAPPED_SAMPLE:
                    unmapped["sample"].append({"line": item.line, "kind": item.kind, **item.sample})
            if (streamed.error_count == 0 or (skip and not streamed.fatal)) and batch.rows:
                streamed.fingerprints.extend(row["fingerprint"] for row in batch.rows)
                if SPECS[category].network:
                    streamed.lengths.update((row["family"], row["prefix_len"]) for row in batch.rows)
                # Records the source already holds stay as they are (same content, same id): only new ones go in.
                fresh = [i for i, row in enumerate(batch.rows) if not old.keep(row["fingerprint"])]
                if fresh:
                    rows = [batch.rows[i] for i in fresh] if len(fresh) < len(batch.rows) else batch.rows
                    points = [batch.points[i] for i in fresh] if len(fresh) < len(batch.rows) else batch.points
                    await writes.insert_batch(conn, category, source, rows, points)
                    streamed.inserted += len(fresh)
            streamed.rows_done += batch.seen
            await on_progress(streamed.rows_done)
            if batch.finished:
                return streamed

    async def delete_source(self, category: Category, source: str) -> dict[str, Any]:
        """Remove every record of (category, source) in one transaction and announce ``data:changed`` (checksum
        null: the source is gone); NotFound when there is no such source."""
        async with self._write_connection(category, source) as conn, conn.begin():
            await writes.start_writing(conn, category, source)
            s = tables.sources
            count = (await conn.execute(select(s.c.count).where(s.c.category == category, s.c.name == source))).scalar()
            if count is None:
                raise NotFound(f"no {category} source named {source!r}")
            await writes.delete_rows(conn, category, source)
            await writes.bump_version(conn, category)
        await self._events.data_changed(DataChange(category, source, 0, count, None))
        return {"category": category, "source": source, "removed": count}
