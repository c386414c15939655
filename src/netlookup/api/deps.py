"""Annotated dependencies: the process services and the API-key checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from netlookup.auth import key_is_valid
from netlookup.errors import Forbidden, Unauthorized
from netlookup.realtime.notify import Notifier
from netlookup.services import Services

_bearer = HTTPBearer(auto_error=False, description="An API key from NETLOOKUP_API_KEYS")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.notifier
    return notifier


NotifierDep = Annotated[Notifier, Depends(get_notifier)]


def _check_key(credentials: HTTPAuthorizationCredentials | None, keys: list[str]) -> None:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("missing API key: send Authorization: Bearer <key>")
    if not key_is_valid(credentials.credentials, keys):
        raise Forbidden("the API key is not valid")


def require_write(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Writes always need a key; with no keys configured, writes are refused."""
    if not services.settings.api_keys:
        raise Forbidden("writes are disabled: no API keys are configured (NETLOOKUP_API_KEYS)")
    _check_key(credentials, services.settings.api_keys)


def require_read(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Reads are open unless NETLOOKUP_READ_AUTH=true."""
    if services.settings.read_auth:
        _check_key(credentials, services.settings.api_keys)


WriteAuth = Depends(require_write)
ReadAuth = Depends(require_read)
