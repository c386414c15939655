"""Annotated dependencies: the process services and the API-key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from netlookup.errors import Forbidden, Unauthorized
from netlookup.services import Services

_bearer = HTTPBearer(auto_error=False, description="An API key from NETLOOKUP_API_KEYS")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def key_is_valid(token: str, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit on the first match)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token.encode(), key.encode())
    return matched


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
