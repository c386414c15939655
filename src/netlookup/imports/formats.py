"""Streaming parsers of the canonical formats (each yields a ParsedRow or a RowError), the dispatch to every
format's parser, and format guessing.

Positions are 1-based: the line for ``ndjson`` and ``csv``, the element index for ``json`` arrays.
Nothing here holds the whole file in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Literal, get_args

import ijson
import orjson

from netlookup.categories import Category
from netlookup.imports.aws_elbv2 import iter_aws_elbv2
from netlookup.imports.aws_sg import iter_aws_sg
from netlookup.imports.cisco_acl import iter_cisco_acl
from netlookup.imports.f5_rest import iter_f5_rest
from netlookup.imports.f5_tmsh import iter_f5_tmsh
from netlookup.imports.rows import LineTooLong, ParsedItem, ParsedRow, RowError, file_error, iter_lines

ImportFormat = Literal["ndjson", "json", "csv", "aws-sg", "aws-elbv2", "f5-rest", "f5-tmsh", "cisco-acl"]
Reader = Callable[[IO[bytes], tuple[str, ...]], Iterator[ParsedItem]]


@dataclass(frozen=True)
class FormatSpec:
    """What one import format is. The rest of the code (the import service, the CLI, the OpenAPI document, the
    guess) reads these: a new format is one entry of ``FORMAT_SPECS``.

    ``category``: the one category a vendor format fills (None: any, the canonical formats). ``read``: the
    streaming parser, given the file and the columns a CSV may name. ``line_based``: its positions are lines
    (a refused row is reported with the line's text). ``recognise``: whether the file's first 4 KB (decoded,
    leading whitespace and BOM dropped) is of this format, for the guess. ``ordered``: its entries are evaluated in
    the order written (ACL lines), so their order is part of the data. ``help``: one line for people."""

    name: ImportFormat
    category: Category | None
    read: Reader
    line_based: bool
    recognise: Callable[[str], bool]
    ordered: bool
    help: str

    def fills(self, category: Category) -> bool:
        return self.category is None or self.category == category


def _vendor(read: Callable[[IO[bytes]], Iterator[ParsedItem]]) -> Reader:
    return lambda stream, _columns: read(stream)


def _read_f5_rest(stream: IO[bytes]) -> Iterator[ParsedItem]:
    # f5-rest given tmsh text: the same objects, read as text.
    return iter_f5_rest(stream) if _head(stream).startswith("{") else iter_f5_tmsh(stream)


def _is_json_object_with(*keys: str) -> Callable[[str], bool]:
    return lambda head: head.startswith("{") and any(f'"{key}"' in head for key in keys)


_CISCO_COMMANDS = re.compile(
    r"^(access-list |(ip|ipv4|ipv6) access-list |ipv6? prefix-list |object-group |object (network|service) "
    r"|hostname )",
    re.M,
)
_TMSH_STANZA = re.compile(r"^ltm (virtual|pool|node|rule|profile|monitor|snatpool) \S+ \{", re.M)


def _looks_like_tmsh(head: str) -> bool:
    return head.startswith("#TMSH-VERSION") or bool(_TMSH_STANZA.search(head))


# In the order the guess tries them: vendor formats by their marks, then json ([), ndjson ({), csv (the rest).
FORMAT_SPECS: dict[str, FormatSpec] = {
    spec.name: spec
    for spec in (
        FormatSpec(
            "aws-sg",
            "sg",
            _vendor(iter_aws_sg),
            line_based=False,
            recognise=_is_json_object_with("SecurityGroups", "SecurityGroupRules"),
            ordered=False,
            help="describe-security-groups / describe-security-group-rules JSON",
        ),
        FormatSpec(
            "aws-elbv2",
            "lb",
            _vendor(iter_aws_elbv2),
            line_based=False,
            recognise=_is_json_object_with("load_balancers", "target_groups", "target_health"),
            ordered=False,
            help="the combined load_balancers / target_groups / target_health document",
        ),
        FormatSpec(
            "f5-rest",
            "f5",
            _vendor(_read_f5_rest),
            line_based=False,
            recognise=lambda head: head.startswith("{") and '"tm:ltm:' in head,
            ordered=False,
            help="iControl REST virtual + pool JSON (tmsh text is read as f5-tmsh)",
        ),
        FormatSpec(
            "f5-tmsh",
            "f5",
            _vendor(iter_f5_tmsh),
            line_based=True,
            recognise=_looks_like_tmsh,
            ordered=False,
            help="the ltm virtual / pool text of bigip.conf",
        ),
        FormatSpec(
            "cisco-acl",
            "acl",
            _vendor(iter_cisco_acl),
            line_based=True,
            recognise=lambda head: bool(_CISCO_COMMANDS.search(head)),
            ordered=True,
            help="IOS / IOS-XE / NX-OS / ASA configuration text",
        ),
        FormatSpec(
            "json",
            None,
            lambda stream, _columns: iter_json_array(stream),
            line_based=False,
            recognise=lambda head: head.startswith("["),
            ordered=False,
            help="an array of records",
        ),
        FormatSpec(
            "ndjson",
            None,
            lambda stream, _columns: iter_ndjson(stream),
            line_based=True,
            recognise=lambda head: head.startswith("{"),
            ordered=False,
            help="one record per line",
        ),
        FormatSpec(
            "csv",
            None,
            lambda stream, columns: iter_csv(stream, columns),
            line_based=True,
            recognise=lambda head: True,
            ordered=False,
            help="a header row of field names, a record per row",
        ),
    )
}
FORMATS: tuple[ImportFormat, ...] = get_args(ImportFormat)
assert set(FORMATS) == set(FORMAT_SPECS), "every format has its spec"
# Vendor formats and the one category each of them fills.
FORMAT_CATEGORY: dict[str, Category] = {
    name: spec.category for name, spec in FORMAT_SPECS.items() if spec.category is not None
}


def formats_of(category: Category) -> tuple[ImportFormat, ...]:
    """The formats that can fill ``category``, in the registry's order."""
    return tuple(spec.name for spec in FORMAT_SPECS.values() if spec.fills(category))


def iter_ndjson(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """One JSON object per line; blank lines are skipped."""
    try:
        yield from _ndjson_lines(stream)
    except LineTooLong as exc:
        yield file_error(exc.number, str(exc))


def _ndjson_lines(stream: IO[bytes]) -> Iterator[ParsedItem]:
    for number, raw in enumerate(iter_lines(stream), start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield RowError(number, None, f"not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield RowError(number, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield ParsedRow(number, value)


def _first_significant_byte(stream: IO[bytes]) -> bytes:
    while True:
        byte = stream.read(1)
        if not byte or not byte.isspace():
            return byte


def iter_json_array(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """A JSON array of objects, parsed incrementally (ijson); a syntax error stops at the element it hit."""
    start = stream.tell()
    head = _first_significant_byte(stream)
    stream.seek(start)
    if head == b"\xef":  # UTF-8 byte order mark
        stream.read(3)
        head = _first_significant_byte(stream)
        stream.seek(start + 3)
    if head != b"[":
        yield file_error(1, "expected a JSON array of records")
        return
    number = 0
    try:
        for number, value in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            if not isinstance(value, dict):
                yield RowError(number, None, f"expected a JSON object, got {type(value).__name__}")
                continue
            yield ParsedRow(number, value)
    except (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError) as exc:
        yield file_error(number + 1, f"not valid JSON after element {number}: {exc}")


def _split_members(text: str) -> list[dict[str, Any]]:
    """``ip:port;ip:port`` (IPv6 as ``[addr]:port``; a bare address has no port)."""
    members: list[dict[str, Any]] = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
            if rest and not rest.startswith(":"):
                raise ValueError(f"member {item!r} is not [address]:port")
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        else:
            host, port = item, ""
        if port and not port.isdigit():
            raise ValueError(f"member {item!r} has a port that is not a number")
        members.append({"ip": host, "port": int(port) if port else None})
    return members


def iter_csv(stream: IO[bytes], allowed_columns: tuple[str, ...]) -> Iterator[ParsedItem]:
    """CSV with a header row; empty cells are null; ``members`` is ``ip:port;ip:port``."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_rows(csv.DictReader(text), allowed_columns)
    finally:
        text.detach()  # the caller's stream stays open (an import may quote the lines it skipped)


def _csv_rows(reader: csv.DictReader[str], allowed_columns: tuple[str, ...]) -> Iterator[ParsedItem]:
    try:
        header = reader.fieldnames
    except (UnicodeDecodeError, csv.Error) as exc:
        yield file_error(1, f"unreadable CSV header: {exc}")
        return
    if not header:
        yield file_error(1, "CSV file has no header row")
        return
    unknown = [name for name in header if name not in allowed_columns]
    if unknown:
        yield file_error(1, f"unknown columns; allowed: {', '.join(allowed_columns)}", ",".join(unknown))
        return
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield RowError(number, None, "more cells than header columns")
                continue
            record: dict[str, Any] = {key: value for key, value in row.items() if value not in (None, "")}
            if "members" in record:
                try:
                    record["members"] = _split_members(record["members"])
                except ValueError as exc:
                    yield RowError(number, "members", str(exc))
                    continue
            yield ParsedRow(number, record)
    except (UnicodeDecodeError, csv.Error) as exc:
        yield file_error(reader.line_num + 1, f"unreadable CSV: {exc}")


def iter_records(fmt: str, stream: IO[bytes], allowed_columns: tuple[str, ...]) -> Iterator[ParsedItem]:
    """The parser of ``fmt`` (one of FORMATS) over ``stream``."""
    spec = FORMAT_SPECS.get(fmt)
    if spec is None:
        raise ValueError(f"unknown format {fmt!r}")
    return spec.read(stream, allowed_columns)


def _head(stream: IO[bytes]) -> str:
    start = stream.tell()
    sample = stream.read(4096)
    stream.seek(start)
    return codecs.decode(sample.lstrip(codecs.BOM_UTF8), "utf-8", errors="replace").lstrip()


def guess_format(stream: IO[bytes]) -> str:
    """The first format of the registry that recognises the first 4 KB: a vendor format by its marks (AWS keys, F5
    kinds or tmsh stanzas, Cisco commands); otherwise json when the first significant byte opens an array, ndjson
    for an object, csv for the rest."""
    head = _head(stream)
    return next(name for name, spec in FORMAT_SPECS.items() if spec.recognise(head))


SPOOL_IN_MEMORY = 8 * 1024 * 1024


def concatenate(streams: list[IO[bytes]]) -> IO[bytes]:
    """Several files as one stream, a newline between them: paginated JSON dumps (several documents) and F5
    virtuals + pools read as one import. Spooled to disk past 8 MB."""
    if len(streams) == 1:
        streams[0].seek(0)
        return streams[0]
    joined = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned to the caller
    for stream in streams:
        stream.seek(0)
        shutil.copyfileobj(stream, joined)
        joined.write(b"\n")
    joined.seek(0)
    return joined
