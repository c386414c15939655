"""Annotated dependencies: the app's state and services, and the API-key checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from netlookup.auth import key_is_valid
from netlookup.config import Settings
from netlookup.container import Services
from netlookup.errors import Forbidden, Unauthorized, UnsupportedMediaType
from netlookup.runtime import AppState, app_state

_bearer = HTTPBearer(auto_error=False, description="An API key from NETLOOKUP_API_KEYS")


async def get_state(request: Request) -> AppState:
    return app_state(request)


StateDep = Annotated[AppState, Depends(get_state)]


async def get_services(request: Request) -> Services:
    return app_state(request).services


ServicesDep = Annotated[Services, Depends(get_services)]


def _check_key(token: str | None, keys: list[str]) -> None:
    if not token:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    if not key_is_valid(token, keys):
        raise Forbidden("the API key is not valid")


async def require_write(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Writes always need a key; with no keys configured, writes are refused. (Dependencies here are async:
    FastAPI runs plain functions in a worker thread, which costs more than the check.)"""
    if not services.settings.api_keys:
        raise Forbidden("writes are disabled: no API keys are configured (NETLOOKUP_API_KEYS)")
    _check_key(credentials.credentials if credentials else None, services.settings.api_keys)


def check_read(settings: Settings, authorization: str | None) -> None:
    """Reads are open unless NETLOOKUP_READ_AUTH=true; then they need ``Authorization: Bearer <key>``
    (Unauthorized or Forbidden otherwise). Parsed by hand: this runs on every lookup, and the security-scheme
    machinery costs more than the lookup itself."""
    if not settings.read_auth:
        return
    scheme, _, token = (authorization or "").partition(" ")
    _check_key(token.strip() if scheme.lower() == "bearer" else None, settings.api_keys)


async def require_read(request: Request) -> None:
    check_read(app_state(request).settings, request.headers.get("authorization"))


WriteAuth = Depends(require_write)
ReadAuth = Depends(require_read)


async def require_json(request: Request) -> None:
    """A JSON body route refuses other content types with 415 (FastAPI would read them as a body of the wrong
    type and answer 422). No Content-Type at all is read as JSON, as FastAPI does."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"the body must be JSON (Content-Type: application/json), not {media_type or 'empty'!r}"
        )


JSONBody = Depends(require_json)
