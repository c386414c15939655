"""Lookup routes: one query, a batch, or one category."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query

from netlookup.api.deps import ReadAuth, ServicesDep
from netlookup.api.responses import JSONBytesResponse
from netlookup.api.schemas import ERROR_RESPONSES, BatchRequest, BatchResponse, CategoryResult, LookupResponse
from netlookup.lookup.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Mode,
    build_options,
    parse_queries,
    parse_query,
)
from netlookup.records import Category

router = APIRouter(prefix="/api/v1", tags=["lookup"], dependencies=[ReadAuth], responses=ERROR_RESPONSES)

QueryParam = Annotated[
    str,
    Query(
        description="An IPv4/IPv6 address or CIDR; host bits are cleared.",
        examples=["10.1.2.3", "10.20.0.0/16", "2001:db8::1"],
        max_length=64,
    ),
]
ModeParam = Annotated[
    Mode,
    Query(description="covering: records whose network contains the query; within: records inside it; overlap: both."),
]
BestParam = Annotated[
    bool,
    Query(
        description="Only the longest matching prefixes per ACL (source, direction) and per SG (group_id, direction)."
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Matches per category.")]
PortParam = Annotated[int | None, Query(ge=0, le=65535, description="Only records admitting this port.")]
ProtocolParam = Annotated[
    str | None, Query(min_length=1, max_length=32, description="Only acl/sg records admitting this protocol.")
]


@router.get("/lookup", response_model=LookupResponse, summary="What touches this address?")
async def lookup(
    services: ServicesDep,
    q: QueryParam,
    categories: Annotated[
        str | None, Query(description="Comma-separated subset of acl,sg,lb,f5.", examples=["acl,sg"])
    ] = None,
    mode: ModeParam = Mode.covering,
    best: BestParam = False,
    limit: LimitParam = DEFAULT_LIMIT,
    port: PortParam = None,
    protocol: ProtocolParam = None,
) -> JSONBytesResponse:
    """Every ACL entry, security-group rule, load balancer and F5 virtual server touching ``q``, most specific
    first, the four categories looked up concurrently."""
    options = build_options(categories, mode, best, limit, port, protocol)
    return JSONBytesResponse(await services.lookups.lookup(parse_query(q), options))


@router.post("/lookup/batch", response_model=BatchResponse, summary="Many lookups in one request")
async def lookup_batch(services: ServicesDep, body: BatchRequest) -> JSONBytesResponse:
    """Up to 1000 queries answered together (a page that needs 50 lookups makes one request). Every query is
    validated first: one bad query is a 422 naming its index, and nothing is answered."""
    started = time.perf_counter()
    prefixes = parse_queries(body.queries)
    options = build_options(body.categories, body.mode, body.best, body.limit, body.port, body.protocol)
    results = await services.lookups.lookup_many(prefixes, options)
    return JSONBytesResponse({"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 3)})


@router.get("/{category}/lookup", response_model=CategoryResult, summary="Look up one category")
async def lookup_category(
    services: ServicesDep,
    category: Category,
    q: QueryParam,
    mode: ModeParam = Mode.covering,
    best: BestParam = False,
    limit: LimitParam = DEFAULT_LIMIT,
    port: PortParam = None,
    protocol: ProtocolParam = None,
) -> JSONBytesResponse:
    """The same as one entry of ``results`` in ``/api/v1/lookup``."""
    options = build_options([category], mode, best, limit, port, protocol)
    response = await services.lookups.lookup(parse_query(q), options)
    return JSONBytesResponse(response["results"][category])
