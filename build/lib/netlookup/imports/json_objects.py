"""Streaming JSON objects out of vendor dumps: each selected object is built alone (ijson), so a dump of any size
is read in bounded memory. Shared by the JSON vendor formats."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import ijson
from ijson.common import ObjectBuilder

# What a broken or non-UTF-8 document raises while being read.
JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError, UnicodeDecodeError)


def iter_objects(
    stream: IO[bytes], selects: Callable[[str], bool], *, multiple_values: bool = False
) -> Iterator[tuple[str, Any]]:
    """(ijson prefix, object) for every object whose ``start_map`` prefix ``selects`` accepts; objects nested in a
    selected one are part of it. ``multiple_values`` reads documents that follow each other. Raises JSON_ERRORS."""
    builder: ObjectBuilder | None = None
    start = ""
    depth = 0
    for prefix, event, value in ijson.parse(stream, multiple_values=multiple_values, use_float=True):
        if builder is None:
            if event != "start_map" or not selects(prefix):
                continue
            builder, start, depth = ObjectBuilder(), prefix, 0
        builder.event(event, value)
        depth += 1 if event in ("start_map", "start_array") else -1 if event in ("end_map", "end_array") else 0
        if depth == 0:
            yield start, builder.value
            builder = None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one: vendor dumps of the wrong shape read as missing fields."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is an array, else an empty one."""
    return value if isinstance(value, list) else []
