"""An import or delete as a job that reports what happens to it: progress, done or failed, and data changed."""

from __future__ import annotations

from typing import IO, Any, Protocol

from netlookup.errors import NetlookupError
from netlookup.imports.service import ImportResult, ImportService, check_source_name, new_job_id
from netlookup.metrics import IMPORT_ROWS
from netlookup.records import Category


class ImportEvents(Protocol):
    async def data_changed(
        self, category: str, source: str, added: int, removed: int, checksum: str | None
    ) -> None: ...
    async def import_progress(self, job_id: str, category: str, source: str, rows_done: int) -> None: ...
    async def import_done(self, result: dict[str, Any]) -> None: ...
    async def import_failed(self, job_id: str, category: str, source: str, status: int, detail: Any) -> None: ...


async def run_import(
    imports: ImportService,
    events: ImportEvents,
    category: Category,
    source: str,
    stream: IO[bytes],
    fmt: str | None = None,
    job_id: str | None = None,
) -> ImportResult:
    """Replace (category, source) and announce it: ``import:progress`` per batch, then ``import:done`` and
    ``data:changed`` once committed, or ``import:failed`` with the reason (and the exception re-raised)."""
    job_id = job_id or new_job_id()
    source = check_source_name(source)

    counted = 0

    async def on_progress(rows_done: int) -> None:
        nonlocal counted
        IMPORT_ROWS.labels(category).inc(rows_done - counted)
        counted = rows_done
        await events.import_progress(job_id, category, source, rows_done)

    try:
        result = await imports.replace_source(category, source, stream, fmt, on_progress, job_id=job_id)
    except NetlookupError as exc:
        await events.import_failed(job_id, category, source, exc.status_code, exc.detail)
        raise
    except Exception:
        await events.import_failed(job_id, category, source, 500, "internal error")
        raise
    await events.import_done(result.as_dict())
    await events.data_changed(category, source, result.added, result.removed, result.checksum)
    return result


async def run_delete(imports: ImportService, events: ImportEvents, category: Category, source: str) -> dict[str, Any]:
    """Delete (category, source) and announce ``data:changed`` (checksum null: the source is gone)."""
    deleted = await imports.delete_source(category, source)
    await events.data_changed(category, source, 0, deleted["removed"], None)
    return deleted
