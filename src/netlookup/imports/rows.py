"""What every parser yields, shared by the format dispatcher and the vendor parsers: a parsed row (a raw record
with its position), a row error, or a vendor rule that names no network; and the bounded line reader of the text
formats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_TEXT = 500  # characters of a refused line quoted in the answer


class ParsedRow(NamedTuple):
    """One raw record as a parser read it: its 1-based position (line, or element number of a JSON format), the
    record's fields, and for JSON formats where in the document it sits (``SecurityGroups[3].IpPermissions[0]``)."""

    position: int
    raw: dict[str, Any]
    path: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row (or the file at that position) was rejected. ``fatal``: the file is not of that format at all,
    or is cut off, so no mode imports it; otherwise the row alone is bad (``on_error=skip`` leaves it out)."""

    line: int
    field: str | None
    reason: str
    path: str | None = None  # JSON formats: where in the document, e.g. SecurityGroups[3].IpPermissions[0]
    fatal: bool = False
    text: str | None = None  # the line as the file has it, when the parser knows it

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"line": self.line, "field": self.field, "reason": self.reason}
        if self.path is not None:
            found["path"] = self.path
        if self.text is not None:
            found["text"] = self.text
        return found


def file_error(line: int, reason: str, field: str | None = None, path: str | None = None) -> RowError:
    """An error about the file as a whole (not this format, cut off, empty): refused in every mode."""
    return RowError(line, field, reason, path, fatal=True)


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A vendor rule kept out of the records because it names no network (a security-group or prefix-list
    reference, an instance target): reported in the import result, not imported."""

    line: int
    kind: str
    sample: dict[str, Any]


# What a parser yields, item by item.
ParsedItem = ParsedRow | RowError | Unmapped


class LineTooLong(ValueError):
    """A line past MAX_LINE_BYTES: not a file of lines (or not one we can hold)."""

    def __init__(self, number: int, limit: int):
        super().__init__(f"line {number} is longer than {limit:,} bytes: not a file of lines")
        self.number = number


def iter_lines(stream: IO[bytes], limit: int | None = None) -> Iterator[bytes]:
    """The stream's lines, each at most ``limit`` bytes (MAX_LINE_BYTES): a file without line breaks is never read
    whole into one line. Raises LineTooLong (with the line's number) past the limit."""
    limit = limit or MAX_LINE_BYTES
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if len(raw) > limit:
            raise LineTooLong(number, limit)
        yield raw
