"""Fast JSON responses (orjson) and the shared error handlers."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from netlookup.categories import CATEGORIES
from netlookup.errors import NetlookupError, ServiceUnavailable
from netlookup.logs import REQUEST_ID

log = logging.getLogger(__name__)


class JSONBytesResponse(Response):
    """JSON rendered by orjson; lets handlers return plain dicts with raw JSON fragments inside."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status_code: int, detail: Any, headers: Mapping[str, str] | None = None) -> JSONBytesResponse:
    return JSONBytesResponse({"detail": detail}, status_code=status_code, headers=headers)


def error_response_for(exc: NetlookupError) -> JSONBytesResponse:
    """The ``{"detail": ...}`` answer of an error of the hierarchy, with its status and headers."""
    return error_response(exc.status_code, exc.detail, exc.headers)


DATABASE_BUSY = "the database is busy; retry shortly"
DATABASE_UNAVAILABLE = "the database is unavailable; retry shortly"


async def _netlookup_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NetlookupError)
    return error_response_for(exc)


def _unknown_category(exc: RequestValidationError) -> str | None:
    """The ``{category}`` path segment when it names no category: that resource does not exist (404)."""
    for error in exc.errors():
        if tuple(error.get("loc", ()))[:2] == ("path", "category"):
            return str(error.get("input", ""))
    return None


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    category = _unknown_category(exc)
    if category is not None:
        return error_response(404, f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}")
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


async def _routing_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (route, other method), with a detail that says what to do."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(404, f"no such path: {request.url.path}", exc.headers)
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(405, f"{request.method} is not allowed on {request.url.path}: use {allowed}", exc.headers)
    return error_response(exc.status_code, exc.detail, exc.headers)


async def _pool_timeout(_request: Request, _exc: Exception) -> Response:
    log.warning("database pool exhausted: answering 503")
    return error_response_for(ServiceUnavailable(DATABASE_BUSY, retry_after=2))


async def _database_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or exc.__class__.__name__ == "OperationalError":
        log.warning("database unavailable path=%s error=%s", request.url.path, exc.orig)
        return error_response_for(ServiceUnavailable(DATABASE_UNAVAILABLE, retry_after=2))
    log.exception("database error path=%s", request.url.path)
    return error_response(500, "internal database error")


DATABASE_LAYERS = ("/sqlalchemy/", "/asyncmy/", "/aiosqlite/")


def _raised_by_database_layer(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if any(layer in frame.tb_frame.f_code.co_filename for layer in DATABASE_LAYERS):
            return True
        frame = frame.tb_next
    return False


async def _driver_failure(request: Request, exc: Exception) -> Response:
    """Drivers sometimes fail with plain RuntimeError/OSError while a server restarts (asyncmy: "Transport does
    not expose socket instance" when a new connection dies half-open). From the database layer that is a 503 like
    any lost connection; anything else is a real bug and goes on to the 500 handler."""
    if not _raised_by_database_layer(exc):
        raise exc
    log.warning("database connection failed path=%s error=%s: %s", request.url.path, exc.__class__.__name__, exc)
    return error_response_for(ServiceUnavailable(DATABASE_UNAVAILABLE, retry_after=2))


async def _internal_error(_request: Request, _exc: Exception) -> Response:
    # Rendered by Starlette's outermost error middleware, which also logs the traceback once.
    return error_response(500, f"internal error; quote request id {REQUEST_ID.get()} when reporting it")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(NetlookupError, _netlookup_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _routing_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(RuntimeError, _driver_failure)
    app.add_exception_handler(OSError, _driver_failure)
    app.add_exception_handler(Exception, _internal_error)
