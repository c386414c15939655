"""Prometheus metrics of this node (``/metrics``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from netlookup.api.deps import ServicesDep, StateDep
from netlookup.categories import CATEGORIES
from netlookup.container import Services
from netlookup.metrics import DB_GATE, DB_POOL, INDEX_RECORDS, INDEX_SEGMENTS, SOCKETIO_CLIENTS

router = APIRouter(tags=["health"])


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
