"""The streaming parsers, without a database."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netlookup.imports.formats import guess_format, iter_csv, iter_json_array, iter_ndjson
from netlookup.imports.rows import ParsedRow, RowError
from netlookup.imports.validate import IMPORT_FIELDS, next_batch


def test_ndjson_reports_line_numbers_and_skips_blank_lines() -> None:
    rows = list(iter_ndjson(io.BytesIO(b'\xef\xbb\xbf{"a": 1}\n\n[1]\n{"b": 2}\nnope\n')))
    assert rows[0] == ParsedRow(1, {"a": 1})
    assert isinstance(rows[1], RowError)
    assert rows[1].line == 3
    assert rows[2] == ParsedRow(4, {"b": 2})
    assert isinstance(rows[3], RowError)
    assert rows[3].line == 5


def test_json_array_is_streamed_by_element() -> None:
    rows = list(iter_json_array(io.BytesIO(b'  [{"a": 1}, {"a": 2}]')))
    assert rows == [ParsedRow(1, {"a": 1}), ParsedRow(2, {"a": 2})]
    broken = list(iter_json_array(io.BytesIO(b'[{"a": 1}, {"a": ')))
    assert broken[0] == ParsedRow(1, {"a": 1})
    assert isinstance(broken[1], RowError)


def test_csv_members_and_empty_cells() -> None:
    body = b"name,vip,members,port\nweb,10.0.0.1,10.0.0.2:80;[2001:db8::1]:443;10.0.0.3,\n"
    [parsed] = list(iter_csv(io.BytesIO(body), IMPORT_FIELDS["lb"]))
    assert isinstance(parsed, ParsedRow)
    line, row = parsed.position, parsed.raw
    assert line == 2
    assert row == {
        "name": "web",
        "vip": "10.0.0.1",
        "members": [
            {"ip": "10.0.0.2", "port": 80},
            {"ip": "2001:db8::1", "port": 443},
            {"ip": "10.0.0.3", "port": None},
        ],
    }


def test_guess_format() -> None:
    assert guess_format(io.BytesIO(b"  [{}]")) == "json"
    assert guess_format(io.BytesIO(b'{"cidr": 1}\n')) == "ndjson"
    assert guess_format(io.BytesIO(b"cidr\n10.0.0.0/8\n")) == "csv"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=2000),
    st.sampled_from(["ndjson", "json", "csv"]),
    st.sampled_from(["acl", "sg", "lb", "f5"]),
)
def test_arbitrary_bytes_never_crash_the_parsers(data: bytes, fmt: str, category: str) -> None:
    from netlookup.imports.formats import iter_records

    rows = iter_records(fmt, io.BytesIO(data), IMPORT_FIELDS[category] + ("id",))  # type: ignore[index]
    while not next_batch(category, rows, 100, keep_rows=True).finished:  # type: ignore[arg-type]
        pass


@pytest.mark.parametrize("fmt", ["ndjson", "cisco-acl", "f5-tmsh"])
def test_a_file_without_line_breaks_is_refused_not_read_whole(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from netlookup.imports import formats, rows

    monkeypatch.setattr(rows, "MAX_LINE_BYTES", 1000)
    body = b'{"cidr": "10.0.0.0/8"}\n' + b"x" * 5000 + b"\n"
    items = list(formats.iter_records(fmt, io.BytesIO(body), ()))
    errors = [i for i in items if isinstance(i, rows.RowError)]
    assert errors
    assert errors[0].line == 2
    assert "longer than" in errors[0].reason
