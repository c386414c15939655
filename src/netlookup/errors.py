"""One error hierarchy: every failure the service reports carries its HTTP status and a JSON-able detail."""

from __future__ import annotations

from typing import Any


class NetlookupError(Exception):
    """Base of every error the API reports as ``{"detail": ...}`` with ``status_code``."""

    status_code: int = 500
    headers: dict[str, str] | None = None

    def __init__(self, detail: Any, *, status_code: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        if headers is not None:
            self.headers = headers


class BadInput(NetlookupError):
    """The request is well-formed HTTP but its content is wrong (a bad address, a bad row)."""

    status_code = 422


class NotFound(NetlookupError):
    status_code = 404


class Unauthorized(NetlookupError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(NetlookupError):
    status_code = 403


class PayloadTooLarge(NetlookupError):
    status_code = 413


class UnsupportedMediaType(NetlookupError):
    status_code = 415


class Conflict(NetlookupError):
    status_code = 409


class ServiceUnavailable(NetlookupError):
    status_code = 503

    def __init__(self, detail: Any, *, retry_after: int = 1):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ImportRejected(BadInput):
    """An import with bad rows: the detail lists (line, field, reason) of the first errors."""

    def __init__(self, message: str, errors: list[dict[str, Any]], error_count: int):
        super().__init__({"message": message, "error_count": error_count, "errors": errors})
        self.errors = errors
        self.error_count = error_count
