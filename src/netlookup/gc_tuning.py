"""The garbage collector while the app serves.

CPython's collector runs a young pass every 700 net allocations of container objects and, every hundred of those,
a full pass over every object the process holds. A busy node allocates a few hundred objects per request, so
under load the full pass came about once a second, and with the modules, routes, models and engine of a started
app it walked well over 100,000 objects: a 50–130 ms stop of every request each time. Measured with a flood of
lookups on the database path: 3.8 s of collection in 20 s (2.5 s of it in full passes), and one refusal in ten
took over 100 ms.

So once the app has started, everything it holds so far (after one full collection) is frozen (``gc.freeze``:
moved out of the collector's passes; it lives as long as the process anyway), and the young pass runs every
``YOUNG_THRESHOLD`` allocations: a request's short-lived cycles (tasks, exceptions and their tracebacks) are still
collected young, in larger batches, and little is promoted to the older generations. Both are undone when the
app stops.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 10_000


@contextlib.contextmanager
def serving_gc() -> Iterator[None]:
    """Freeze what exists now and collect young objects less often, for the block; then unfreeze and restore the
    thresholds it found (a process running several apps one after another, as tests do, frees them again)."""
    thresholds = gc.get_threshold()
    gc.collect()  # what the start left as garbage is freed, not frozen with the rest
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
