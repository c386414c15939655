"""Structured logs: ``key=value`` lines with the request id of the request being served."""

from __future__ import annotations

import contextvars
import logging

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s request_id=%(request_id)s %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class PoolResetFilter(logging.Filter):
    """SQLAlchemy logs an ERROR with a traceback when a connection it takes back cannot be rolled back: what every
    pooled connection does while the database restarts. The pool discards it and opens a new one; that is worth a
    line, not a traceback that reads like a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Exception during reset"):
            error = record.exc_info[1]
            record.msg = "pooled connection lost, discarded: %s: %s"
            record.args = (type(error).__name__, error)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


# The loggers SQLAlchemy's pools log under (one per pool class).
POOL_LOGGERS = ("sqlalchemy.pool.impl.AsyncAdaptedQueuePool", "sqlalchemy.pool.impl.QueuePool")


def configure_logging(level: str) -> None:
    """Send netlookup's logs to stderr as key=value lines (idempotent: safe to call from every lifespan)."""
    for name in POOL_LOGGERS:
        pool_logger = logging.getLogger(name)
        if not any(isinstance(f, PoolResetFilter) for f in pool_logger.filters):
            pool_logger.addFilter(PoolResetFilter())
    logger = logging.getLogger("netlookup")
    logger.setLevel(level)
    if any(isinstance(h.formatter, logging.Formatter) and getattr(h, "_netlookup", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    handler._netlookup = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
