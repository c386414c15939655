"""The requests in progress on this node: counted where they enter (the API's load shedding, Socket.IO
lookups), read by background work that should give way to them (the index's merges)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class Activity:
    """A count of the requests this node is answering now. One event loop: no lock."""

    def __init__(self) -> None:
        self.in_progress = 0

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self.in_progress += 1
        try:
            yield
        finally:
            self.in_progress -= 1

    @property
    def busy(self) -> bool:
        return self.in_progress > 0
