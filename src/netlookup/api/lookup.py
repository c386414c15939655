"""Lookup routes: one query, a batch, or one category."""

from __future__ import annotations

import time
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from netlookup.api.deps import ReadAuth, ServicesDep
from netlookup.api.models import ERROR_RESPONSES, BatchRequest, BatchResponse, CategoryResult, LookupResponse
from netlookup.api.responses import JSONBytesResponse
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


class CategoryLookupParams(BaseModel):
    """Query parameters of a lookup (one pydantic model: validated in one pass, documented field by field)."""

    q: str = Field(
        max_length=64,
        description="An IPv4/IPv6 address or CIDR; host bits are cleared.",
        examples=["10.1.2.3", "10.20.0.0/16", "2001:db8::1"],
    )
    mode: Mode = Field(
        default=Mode.covering,
        description="covering: records whose network contains the query; within: records inside it; overlap: both.",
    )
    best: bool = Field(
        default=False,
        description="Only the longest matching prefixes per ACL (source, direction) and per SG (group_id, direction).",
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Matches per category.")
    port: int | None = Field(default=None, ge=0, le=65535, description="Only records admitting this port.")
    protocol: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only acl/sg records admitting this protocol."
    )


class LookupParams(CategoryLookupParams):
    categories: str | None = Field(
        default=None, description="Comma-separated subset of acl,sg,lb,f5 (default: all).", examples=["acl,sg"]
    )


P = TypeVar("P", bound=BaseModel)


def _parse(model: type[P], request: Request) -> P:
    """Validate the query string with one pydantic model; errors are the same 422 FastAPI gives."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def _documented(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``parameters`` for a query model, generated from the model itself."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema["properties"].items():
        description = field_schema.pop("description", None)
        examples = field_schema.pop("examples", None)
        field_schema.pop("title", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        if description:
            parameter["description"] = description
        if examples:
            parameter["examples"] = {str(value): {"value": value} for value in examples}
        parameters.append(parameter)
    return {"parameters": parameters}


# The hottest route parses its query string itself: FastAPI's per-parameter machinery cost more than the lookup.
@router.get(
    "/lookup",
    response_model=LookupResponse,
    summary="What touches this address?",
    openapi_extra=_documented(LookupParams),
)
async def lookup(services: ServicesDep, request: Request) -> JSONBytesResponse:
    """Every ACL entry, security-group rule, load balancer and F5 virtual server touching ``q``, most specific
    first, the four categories looked up concurrently."""
    params = _parse(LookupParams, request)
    options = build_options(params.categories, params.mode, params.best, params.limit, params.port, params.protocol)
    return JSONBytesResponse(await services.lookups.lookup(parse_query(params.q), options))


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
    services: ServicesDep, category: Category, params: Annotated[CategoryLookupParams, Query()]
) -> JSONBytesResponse:
    """The same as one entry of ``results`` in ``/api/v1/lookup``."""
    options = build_options([category], params.mode, params.best, params.limit, params.port, params.protocol)
    response = await services.lookups.lookup(parse_query(params.q), options)
    return JSONBytesResponse(response["results"][category])
