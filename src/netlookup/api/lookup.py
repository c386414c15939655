"""Lookup routes: one query, a batch, or one category. All three take the one lookup request model."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from netlookup.api.deps import ReadAuth, ServicesDep
from netlookup.api.models import ERROR_RESPONSES, BatchResponse, CategoryResult, LookupResponse
from netlookup.api.responses import JSONBytesResponse
from netlookup.categories import Category
from netlookup.lookup.request import BatchLookupRequest, LookupRequest

router = APIRouter(prefix="/api/v1", tags=["lookup"], dependencies=[ReadAuth], responses=ERROR_RESPONSES)

_QUERY_FIELDS = frozenset(LookupRequest.model_fields)


def _parse(request: Request, **fixed: Any) -> LookupRequest:
    """The query string as a LookupRequest, validated in one pass (unknown parameters are ignored); errors are
    the same 422 FastAPI gives. ``fixed`` values replace the client's (the category of a one-category route)."""
    values: dict[str, Any] = {k: v for k, v in request.query_params.items() if k in _QUERY_FIELDS} | fixed
    try:
        return LookupRequest.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
        ) from None


def _inlined(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The schema with pydantic's local ``#/$defs/...`` references replaced by what they name: a parameter's
    schema sits in the OpenAPI document, where those definitions do not exist."""
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        return {**definitions[ref.removeprefix("#/$defs/")], **rest}
    return schema


def _documented(*, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """OpenAPI ``parameters`` for the lookup query string, generated from the request model itself."""
    schema = LookupRequest.model_json_schema()
    definitions = schema.pop("$defs", {})
    required = set(schema.get("required", []))
    parameters = []
    for name, field_schema in schema["properties"].items():
        if name in without:
            continue
        field_schema = _inlined(field_schema, definitions)
        description = field_schema.pop("description", None)
        examples = field_schema.pop("examples", None)
        field_schema.pop("title", None)
        if name == "categories":  # a query string carries the comma-separated form
            field_schema = next(option for option in field_schema["anyOf"] if option["type"] == "string")
            examples = ["acl,sg"]
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
    openapi_extra=_documented(),
)
async def lookup(services: ServicesDep, request: Request) -> JSONBytesResponse:
    """Every ACL entry, security-group rule, load balancer and F5 virtual server touching ``q``, most specific
    first, the four categories looked up concurrently."""
    params = _parse(request)
    return JSONBytesResponse(await services.lookups.lookup(params.prefix(), params))


@router.post("/lookup/batch", response_model=BatchResponse, summary="Many lookups in one request")
async def lookup_batch(services: ServicesDep, body: BatchLookupRequest) -> JSONBytesResponse:
    """Up to 1000 queries answered together (a page that needs 50 lookups makes one request). Every query is
    validated first: one bad query is a 422 naming its index, and nothing is answered."""
    started = time.perf_counter()
    results = await services.lookups.lookup_many(body.prefixes(), body)
    return JSONBytesResponse({"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 3)})


@router.get(
    "/{category}/lookup",
    response_model=CategoryResult,
    summary="Look up one category",
    openapi_extra=_documented(without=("categories",)),
)
async def lookup_category(services: ServicesDep, category: Category, request: Request) -> JSONBytesResponse:
    """The same as one entry of ``results`` in ``/api/v1/lookup``."""
    params = _parse(request, categories=[category])
    response = await services.lookups.lookup(params.prefix(), params)
    return JSONBytesResponse(response["results"][category])
