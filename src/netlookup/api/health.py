"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from netlookup.api.deps import ServicesDep, StateDep
from netlookup.api.responses import JSONBytesResponse
from netlookup.realtime.manager import ResilientRedisManager

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
async def readyz(services: ServicesDep, state: StateDep) -> JSONBytesResponse:
    """200 when the database answers within two seconds and, with NETLOOKUP_REDIS_URL set, Redis answers too.
    503 otherwise, with each check's reason: without Redis, HTTP and this node's Socket.IO clients keep working,
    but events no longer reach the other nodes (``degraded``). ``building`` lists the categories whose in-memory
    index is not built yet: they are answered from the database meanwhile (slower, still correct)."""
    checks: dict[str, Any] = {}
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT), services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
        checks["database"] = f"unreachable: {exc.__class__.__name__}"
    probe = state.redis_probe
    if probe.configured:
        redis_check = await probe.check()
        manager = state.sio.manager
        listener = isinstance(manager, ResilientRedisManager) and manager.listener_connected
        redis_check["listener"] = "connected" if listener else "reconnecting"
        checks["redis"] = redis_check
    database_ok = checks["database"] == "ok"
    redis_ok = not probe.configured or checks["redis"]["status"] == "ok"
    status = "ready" if database_ok and redis_ok else ("degraded" if database_ok else "unavailable")
    body: dict[str, Any] = {"status": status, "checks": checks}
    if services.indexes is not None:
        # Informational: a category still building its index (the first, or again after a failure) is answered
        # from the database meanwhile; ``building`` lists them ([] once all serve).
        checks["memory_index"] = services.indexes.status()
        body["building"] = services.indexes.building()
    return JSONBytesResponse(
        body,
        status_code=200 if status == "ready" else 503,
        headers=None if status == "ready" else {"Retry-After": "5"},
    )
