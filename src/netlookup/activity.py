"""The requests in progress on this node: counted where they enter (the API's load shedding, Socket.IO
lookups), read by background work that should give way to them (the index's merges)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Activity:
    """A count of the requests this node is answering now. One event loop: no lock."""

    def __init__(self) -> None:
        self.in_progress = 0
        self._last_end = 0.0

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        self.in_progress += 1
        try:
            yield
        finally:
            self.in_progress -= 1
            if not self.in_progress:
                self._last_end = time.monotonic()

    def quiet_for(self) -> float:
        """Seconds since the last request ended; 0 while one is in progress."""
        return 0.0 if self.in_progress else time.monotonic() - self._last_end

    @property
    def busy(self) -> bool:
        return self.in_progress > 0
