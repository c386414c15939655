"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from netlookup.api.deps import ServicesDep, StateDep
from netlookup.api.responses import JSONBytesResponse
from netlookup.categories import CATEGORIES
from netlookup.container import Services
from netlookup.metrics import DB_GATE, DB_POOL, INDEX_RECORDS, INDEX_SEGMENTS, SOCKETIO_CLIENTS
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


def _refresh_gauges(services: Services, sio: Any) -> None:
    pool = services.engine.sync_engine.pool
    for state, reader in (
        ("checked_out", "checkedout"),
        ("overflow", "overflow"),
        ("idle", "checkedin"),
        ("size", "size"),
    ):
        method = getattr(pool, reader, None)
        if method is not None:
            DB_POOL.labels(state).set(method())
    DB_GATE.labels("waiting").set(services.gate.waiting)
    DB_GATE.labels("available").set(services.gate.available)
    DB_GATE.labels("capacity").set(services.gate.capacity)
    SOCKETIO_CLIENTS.set(len(sio.eio.sockets))
    if services.indexes is not None:
        for category in CATEGORIES:
            index = services.indexes.get(category)
            INDEX_RECORDS.labels(category).set(index.size if index is not None else 0)
            INDEX_SEGMENTS.labels(category).set(len(index.parts) if index is not None else 0)


@router.get("/metrics", summary="Prometheus metrics of this node", response_class=PlainTextResponse)
async def metrics(services: ServicesDep, state: StateDep) -> Response:
    """Request counts and latency by route and status, database pool and gate, shed requests, lookup latency
    per category and read path, Socket.IO clients, import rows, in-memory index sizes."""
    _refresh_gauges(services, state.sio)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
