"""Turn parsed rows into table rows, or into (line, field, reason) errors. Pure code."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from netlookup.imports.formats import RowError
from netlookup.records import NETWORK_CATEGORIES, RECORD_MODELS, Category, address_row, network_row

IMPORT_FIELDS: dict[Category, tuple[str, ...]] = {
    category: tuple(name for name in model.model_fields) for category, model in RECORD_MODELS.items()
}
# Fields a user may send that we ignore: what our own list endpoint returns besides the record.
IGNORED_FIELDS = ("id", "source", "prefix_len", "matched_on")


def _errors_of(line: int, exc: ValidationError) -> list[RowError]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"]) or None
        message = error["msg"].removeprefix("Value error, ")
        errors.append(RowError(line, loc, message))
    return errors


@dataclass
class ValidBatch:
    """One batch of validated rows; ``points`` holds the lb/f5 addresses of ``rows[i]`` at index i."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    points: list[list[tuple[int, bytes, int]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unmapped: list[Any] = field(default_factory=list)
    seen: int = 0
    finished: bool = False


def validate_row(
    category: Category, raw: dict[str, Any], line: int
) -> tuple[dict[str, Any], list[tuple[int, bytes, int]]] | list[RowError]:
    """Validate one raw record; return its table row and points, or its errors."""
    for name in IGNORED_FIELDS:
        raw.pop(name, None)
    try:
        record = RECORD_MODELS[category].model_validate(raw)
    except ValidationError as exc:
        return _errors_of(line, exc)
    if category in NETWORK_CATEGORIES:
        return network_row(category, record), []
    return address_row(category, record)


def next_batch(category: Category, rows: Iterator[Any], size: int, keep_rows: bool) -> ValidBatch:
    """Validate up to ``size`` parsed rows. Once errors are found, rows are only checked, not kept."""
    batch = ValidBatch()
    for parsed in rows:
        batch.seen += 1
        if isinstance(parsed, RowError):
            batch.errors.append(parsed)
        elif not isinstance(parsed, tuple):
            batch.unmapped.append(parsed)  # a vendor rule that names no network: reported, not imported
        else:
            line, raw = parsed
            outcome = validate_row(category, raw, line)
            if isinstance(outcome, list):
                batch.errors.extend(outcome)
            elif keep_rows and not batch.errors:
                batch.rows.append(outcome[0])
                batch.points.append(outcome[1])
        if batch.seen >= size:
            return batch
    batch.finished = True
    return batch
