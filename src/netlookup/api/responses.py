"""Fast JSON responses (orjson) and the shared error handlers."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from netlookup.errors import NetlookupError

log = logging.getLogger(__name__)


class JSONBytesResponse(Response):
    """JSON rendered by orjson; lets handlers return plain dicts with raw JSON fragments inside."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status_code: int, detail: Any, headers: dict[str, str] | None = None) -> JSONBytesResponse:
    return JSONBytesResponse({"detail": detail}, status_code=status_code, headers=headers)


async def _netlookup_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NetlookupError)
    return error_response(exc.status_code, exc.detail, exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        error: dict[str, Any] = {
            "loc": list(e.get("loc", ())),
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        value = e.get("input")
        # Echo short scalar inputs so the message names what was wrong; never echo whole bodies.
        if isinstance(value, str | int | float | bool) and len(str(value)) <= 200:
            error["input"] = value
        errors.append(error)
    return error_response(422, errors)


async def _pool_timeout(_request: Request, _exc: Exception) -> Response:
    log.warning("database pool exhausted: answering 503")
    return error_response(503, "the database is busy; retry shortly", {"Retry-After": "2"})


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or exc.__class__.__name__ == "OperationalError":
        log.warning("database unavailable path=%s error=%s", request.url.path, exc.orig)
        return error_response(503, "the database is unavailable; retry shortly", {"Retry-After": "2"})
    log.exception("database error path=%s", request.url.path)
    return error_response(500, "internal database error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NetlookupError, _netlookup_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    app.add_exception_handler(DBAPIError, _database_error)
