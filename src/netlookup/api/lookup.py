"""Lookup routes: one query, a batch, or one category. All three take the one lookup request model."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.models import Example
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from netlookup.api.deps import JSONBody, ReadAuth, ServicesDep, check_read
from netlookup.api.middleware import LOOKUP_PATH, category_route
from netlookup.api.models import (
    READ_ERRORS,
    READ_SECURITY,
    BatchResponse,
    CategoryResult,
    LookupResponse,
    error_responses,
)
from netlookup.api.responses import JSONBytesResponse
from netlookup.categories import Category
from netlookup.errors import NetlookupError
from netlookup.lookup.request import FROM_TEXT, BatchLookupRequest, LookupRequest
from netlookup.runtime import AppState

router = APIRouter(
    prefix="/api/v1", tags=["lookup"], dependencies=[ReadAuth], responses=error_responses(*READ_ERRORS, 422)
)

_QUERY_FIELDS = frozenset(LookupRequest.model_fields)


def _validated(query: Mapping[str, str], fixed: Mapping[str, str]) -> LookupRequest:
    """The query string as a LookupRequest, validated in one pass as text (``limit=10``, ``best=true``; unknown
    parameters are ignored; of a repeated parameter the last counts). ``fixed`` values replace the client's (the
    category of a one-category route). ValidationError when it does not validate."""
    values: dict[str, Any] = {k: v for k, v in query.items() if k in _QUERY_FIELDS} | dict(fixed)
    return LookupRequest.model_validate(values, context=FROM_TEXT)


def _parse(request: Request, **fixed: str) -> LookupRequest:
    """``_validated``, its errors the same 422 FastAPI gives."""
    try:
        return _validated(request.query_params, fixed)
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


# Named examples the explorer offers in a drop-down (and schemathesis sends first).
PARAMETER_EXAMPLES: dict[str, dict[str, dict[str, Any]]] = {
    "q": {
        "address": {"summary": "An address: what covers it", "value": "10.1.2.3"},
        "cidr": {"summary": "A CIDR (with mode=within: what lies inside it)", "value": "10.20.0.0/16"},
        "ipv6": {"summary": "An IPv6 address", "value": "2001:db8::1"},
    },
    "mode": {
        "covering": {"summary": "Records whose network contains q", "value": "covering"},
        "within": {"summary": "Records inside q (q a CIDR)", "value": "within"},
    },
    "categories": {"acl,sg": {"summary": "ACL entries and security-group rules only", "value": "acl,sg"}},
    "port": {"https": {"summary": "Only records admitting port 443", "value": 443}},
    "protocol": {"tcp": {"summary": "Only acl/sg records admitting tcp", "value": "tcp"}},
}


def _documented(*, without: tuple[str, ...] = ()) -> dict[str, Any]:
    """OpenAPI ``parameters`` for the lookup query string, generated from the request model itself (``q``
    first)."""
    schema = LookupRequest.model_json_schema()
    definitions = schema.pop("$defs", {})
    required = set(schema.get("required", []))
    parameters: list[dict[str, Any]] = []
    names = sorted(schema["properties"], key=lambda name: name != "q")
    for name in names:
        if name in without:
            continue
        field_schema = _inlined(schema["properties"][name], definitions)
        description = field_schema.pop("description", None)
        field_schema.pop("examples", None)
        field_schema.pop("title", None)
        if name == "categories":  # a query string carries the comma-separated form
            field_schema = next(option for option in field_schema["anyOf"] if option["type"] == "string")
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": field_schema}
        if description:
            parameter["description"] = description
        if name in PARAMETER_EXAMPLES:
            parameter["examples"] = PARAMETER_EXAMPLES[name]
        parameters.append(parameter)
    return {"parameters": parameters, **READ_SECURITY}


BATCH_EXAMPLES: dict[str, Example] = {
    "addresses": {
        "summary": "Several addresses, ACL entries and security-group rules only",
        "value": {"queries": ["10.1.2.3", "10.20.0.7", "2001:db8::1"], "categories": ["acl", "sg"]},
    },
    "within": {
        "summary": "What lies inside two networks, the most specific per group only",
        "value": {"queries": ["10.20.0.0/16", "192.168.0.0/24"], "mode": "within", "best": True, "limit": 20},
    },
    "port": {
        "summary": "Who admits HTTPS to these addresses",
        "value": {"queries": ["10.1.2.3", "10.1.2.4"], "port": 443, "protocol": "tcp"},
    },
}


# The hottest route parses its query string itself: FastAPI's per-parameter machinery cost more than the lookup.
@router.get(
    "/lookup",
    response_model=LookupResponse,
    summary="What touches this address?",
    openapi_extra=_documented(),
)
async def lookup(services: ServicesDep, request: Request) -> JSONBytesResponse:
    """Every ACL entry, security-group rule, load balancer and F5 virtual server touching ``q``, most specific
    first (the categories from in-memory indexes, or from the database in one snapshot)."""
    params = _parse(request)
    return JSONBytesResponse(await services.lookups.lookup(params.prefix(), params))


@router.post(
    "/lookup/batch",
    response_model=BatchResponse,
    summary="Many lookups in one request",
    responses=error_responses(400, 413, 415),
    dependencies=[JSONBody],
    openapi_extra=READ_SECURITY,
)
async def lookup_batch(
    services: ServicesDep, body: Annotated[BatchLookupRequest, Body(openapi_examples=BATCH_EXAMPLES)]
) -> JSONBytesResponse:
    """Up to 1000 queries answered together (a page that needs 50 lookups makes one request). Every query is
    validated first: one bad query is a 422 naming its index, and nothing is answered."""
    started = time.perf_counter()
    results = await services.lookups.lookup_many(body.prefixes(), body)
    return JSONBytesResponse({"results": results, "took_ms": round((time.perf_counter() - started) * 1000, 3)})


@router.get(
    "/{category}/lookup",
    response_model=CategoryResult,
    summary="Look up one category",
    responses=error_responses(404),
    openapi_extra=_documented(without=("categories",)),
)
async def lookup_category(services: ServicesDep, category: Category, request: Request) -> JSONBytesResponse:
    """The same as one entry of ``results`` in ``/api/v1/lookup``."""
    params = _parse(request, categories=category)
    response = await services.lookups.lookup(params.prefix(), params)
    return JSONBytesResponse(response["results"][category])


class FastLookups:
    """The single-lookup routes (``GET /api/v1/lookup``, ``GET /api/v1/{category}/lookup``) answered without
    FastAPI's routing, dependency and endpoint layers when every category asked for is served from memory: the
    busiest request of the service, where those layers cost more than the lookup. Innermost of the app's
    middleware, so request ids, metrics, load shedding and CORS see these answers as they see the routes'.

    The answer is the route's: the same validation, read-key check, lookup and ``JSONBytesResponse``. Anything
    else (another route, a query that does not validate, a missing or wrong read key, a category on the database
    path) goes on to the routes, which answer it and its errors as usual."""

    def __init__(self, app: ASGIApp, state: AppState):
        self.app = app
        self.state = state
        # The route objects the router would put in the scope (request metrics are labelled by their path).
        self.routes = {route.name: route for route in router.routes if isinstance(route, APIRoute)}
        self.served = 0  # lookups answered here (the tests check that this path is the one taken)

    async def _answer(self, scope: Scope) -> JSONBytesResponse | None:
        path: str = scope["path"]
        category = category_route(path)
        if path != LOOKUP_PATH and category is None:
            return None
        fixed = {"categories": category} if category is not None else {}
        services = self.state.started_services
        if services is None:
            return None
        if services.settings.read_auth:
            authorization = next((v for k, v in scope["headers"] if k == b"authorization"), b"").decode("latin-1")
            try:
                check_read(services.settings, authorization)
            except NetlookupError:
                return None
        try:
            params = _validated(QueryParams(scope["query_string"]), fixed)
            prefix = params.prefix()
        except (ValidationError, NetlookupError):
            return None
        if not services.lookups.in_memory(params.categories):
            return None
        response = await services.lookups.lookup(prefix, params)
        scope["route"] = self.routes[lookup.__name__ if category is None else lookup_category.__name__]
        self.served += 1
        return JSONBytesResponse(response if category is None else response["results"][category])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = await self._answer(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if answer is None:
            await self.app(scope, receive, send)
        else:
            await answer(scope, receive, send)
