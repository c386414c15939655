"""Turn parsed rows into table rows, or into (line, field, reason) errors; and the worker thread that does it
ahead of the database writes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from netlookup.categories import CATEGORIES, SPECS, Category
from netlookup.imports.fast_rows import fast_network_row
from netlookup.imports.rows import ParsedItem, RowError, Unmapped
from netlookup.records import AddressPoint, AddressRecord, NetworkRecord, address_row, network_row

IMPORT_FIELDS: dict[Category, tuple[str, ...]] = {
    category: tuple(SPECS[category].input_model.model_fields) for category in CATEGORIES
}
log = logging.getLogger(__name__)

# Rows validated between two offers of the GIL to the event loop (~0.2 ms of work).
YIELD_EVERY = 64
# Fields a user may send that we ignore: what our own list endpoint returns besides the record.
IGNORED_FIELDS = ("id", "source", "prefix_len", "matched_on")


def _errors_of(line: int, exc: ValidationError, path: str | None) -> list[RowError]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or None
        message = error["msg"].removeprefix("Value error, ")
        errors.append(RowError(line, loc, message, path))
    return errors


@dataclass
class ValidBatch:
    """One batch of validated rows; ``points`` holds the lb/f5 addresses of ``rows[i]`` at index i."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    points: list[list[AddressPoint]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    seen: int = 0
    finished: bool = False


def validate_row(
    category: Category, raw: dict[str, Any], line: int, path: str | None = None
) -> tuple[dict[str, Any], list[AddressPoint]] | list[RowError]:
    """Validate one raw record; return its table row and points, or its errors (at ``line`` and ``path``)."""
    for name in IGNORED_FIELDS:
        raw.pop(name, None)
    if SPECS[category].network:
        row = fast_network_row(category, raw)
        if row is not None:
            return row, []
    try:
        record = SPECS[category].input_model.model_validate(raw)
    except ValidationError as exc:
        return _errors_of(line, exc, path)
    if isinstance(record, NetworkRecord):
        return network_row(record), []
    assert isinstance(record, AddressRecord), category
    return address_row(record)


class ParserTripped(Exception):
    """A parser or validator raised: ``error`` after ``seen`` items of the batch."""

    def __init__(self, error: Exception, seen: int):
        super().__init__(str(error))
        self.error = error
        self.seen = seen


def next_batch(
    category: Category, rows: Iterator[ParsedItem], size: int, keep_rows: bool, skip: bool = False
) -> ValidBatch:
    """Validate up to ``size`` parsed rows. Once errors are found, rows are only checked, not kept (with
    ``skip``, the good rows are kept whatever the errors)."""
    batch = ValidBatch()
    try:
        return _fill_batch(batch, category, rows, size, keep_rows, skip)
    except Exception as exc:
        raise ParserTripped(exc, batch.seen) from exc


def _fill_batch(
    batch: ValidBatch, category: Category, rows: Iterator[ParsedItem], size: int, keep_rows: bool, skip: bool
) -> ValidBatch:
    for parsed in rows:
        batch.seen += 1
        if not batch.seen % YIELD_EVERY:
            time.sleep(0)  # let the event loop's thread take the GIL now rather than at the next switch interval
        if isinstance(parsed, RowError):
            batch.errors.append(parsed)
        elif isinstance(parsed, Unmapped):
            batch.unmapped.append(parsed)  # a vendor rule that names no network: reported, not imported
        else:
            outcome = validate_row(category, parsed.raw, parsed.position, parsed.path)
            if isinstance(outcome, list):
                batch.errors.extend(outcome)
            elif keep_rows and (skip or not batch.errors):
                batch.rows.append(outcome[0])
                batch.points.append(outcome[1])
        if batch.seen >= size:
            return batch
    batch.finished = True
    return batch


class ValidatedBatches:
    """Batches validated in a worker thread, up to ``depth`` batches ahead of the consumer.

    Parsing and validation are CPU work: done in a thread, the event loop keeps answering lookups, and the
    parser keeps going while the database is busy (deleting the old rows, inserting a batch). Once a batch has
    errors, the following ones are only checked, not kept. ``depth`` bounds the memory held.
    """

    def __init__(self, category: Category, rows: Iterator[ParsedItem], size: int, depth: int, skip: bool = False):
        self._category = category
        self._skip = skip
        self._rows = rows
        self._size = size
        self._queue: queue.Queue[ValidBatch | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="netlookup-import-validate", daemon=True)

    def _put(self, item: ValidBatch | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        keep = True
        seen = 0
        try:
            while not self._stop.is_set():
                try:
                    batch = next_batch(self._category, self._rows, self._size, keep, self._skip)
                except ParserTripped as tripped:
                    seen += tripped.seen
                    raise tripped.error from None
                keep = self._skip or (keep and not batch.errors)
                seen += batch.seen
                if not self._put(batch) or batch.finished:
                    return
        except Exception as exc:
            # A parser that trips over input it did not expect: the file is refused where it happened (422), and
            # the traceback goes to the log, since it is also a parser bug to fix.
            log.error("import parser failed category=%s after_items=%d", self._category, seen, exc_info=exc)
            reason = f"cannot read the file past item {seen}: {type(exc).__name__}: {exc}"
            self._put(ValidBatch(errors=[RowError(seen + 1, None, reason, fatal=True)], finished=True))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    async def next(self) -> ValidBatch:
        item = await asyncio.to_thread(self._queue.get)
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)


@contextlib.asynccontextmanager
async def validated_batches(
    category: Category, rows: Iterator[ParsedItem], size: int, depth: int = 4, skip: bool = False
) -> AsyncIterator[ValidatedBatches]:
    """Start validating ``rows`` now; the worker stops (and is joined) when the block ends, however it ends."""
    batches = ValidatedBatches(category, rows, size, depth, skip)
    batches._thread.start()
    try:
        yield batches
    finally:
        await batches.close()
