"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from netlookup.api.deps import ServicesDep
from netlookup.api.responses import JSONBytesResponse
from netlookup.realtime.readiness import RedisProbe

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
async def readyz(services: ServicesDep, request: Request) -> JSONBytesResponse:
    """200 when the database answers within two seconds and, with NETLOOKUP_REDIS_URL set, Redis answers too.
    503 otherwise, with each check's reason: without Redis, HTTP and this node's Socket.IO clients keep working,
    but events no longer reach the other nodes (``degraded``)."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT), services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    probe: RedisProbe = request.app.state.redis_probe
    if probe.configured:
        redis_check = await probe.check()
        listener = getattr(request.app.state.sio.manager, "listener_connected", None)
        redis_check["listener"] = "connected" if listener else "reconnecting"
        checks["redis"] = redis_check
    if services.indexes is not None:
        # Informational: a category still building is answered from the database meanwhile.
        checks["memory_index"] = services.indexes.status()
    database_ok = checks["database"] == "ok"
    redis_ok = not probe.configured or checks["redis"]["status"] == "ok"
    status = "ready" if database_ok and redis_ok else ("degraded" if database_ok else "unavailable")
    return JSONBytesResponse(
        {"status": status, "checks": checks},
        status_code=200 if status == "ready" else 503,
        headers=None if status == "ready" else {"Retry-After": "5"},
    )
