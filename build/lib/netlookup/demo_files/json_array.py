"""Writing a JSON array one element at a time."""

from __future__ import annotations

from typing import IO, Any

import orjson


class JsonArray:
    """Writes ``[a, b, ...]`` one element at a time."""

    def __init__(self, out: IO[bytes], opening: bytes, closing: bytes):
        self._out = out
        self._closing = closing
        self._first = True
        out.write(opening)

    def add(self, value: Any) -> None:
        self._out.write((b"\n" if self._first else b",\n") + orjson.dumps(value))
        self._first = False

    def close(self) -> None:
        self._out.write(self._closing)
