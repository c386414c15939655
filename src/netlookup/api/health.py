"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from sqlalchemy import text

from netlookup.api.deps import ServicesDep
from netlookup.api.responses import JSONBytesResponse

router = APIRouter(tags=["health"])

READY_CHECK_TIMEOUT = 2.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> JSONBytesResponse:
    return JSONBytesResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Database (and Redis, when configured) reachable",
    responses={503: {"description": "A dependency is unreachable."}},
)
async def readyz(services: ServicesDep) -> JSONBytesResponse:
    """200 when the database answers within two seconds; 503 with the reason otherwise."""
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT), services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONBytesResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )
