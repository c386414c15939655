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


def configure_logging(level: str) -> None:
    """Send netlookup's logs to stderr as key=value lines (idempotent: safe to call from every lifespan)."""
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
