"""Stored data: record lists, sources, imports and deletes."""

from __future__ import annotations

import inspect
import tempfile
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import IO, Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.datastructures import UploadFile

from netlookup.api.deps import ReadAuth, ServicesDep, WriteAuth
from netlookup.api.models import (
    READ_ERRORS,
    READ_SECURITY,
    DeleteResponse,
    ImportResponse,
    RecordPage,
    SourceInfo,
    error_responses,
)
from netlookup.api.responses import JSONBytesResponse
from netlookup.browse import CURSOR_PATTERN
from netlookup.categories import CATEGORIES, Category
from netlookup.container import Services
from netlookup.errors import BadInput, NotFound, PayloadTooLarge
from netlookup.imports.formats import FORMAT_SPECS, concatenate, formats_of
from netlookup.imports.service import OnError
from netlookup.lookup.request import DEFAULT_LIMIT, MAX_LIMIT

read_router = APIRouter(
    prefix="/api/v1", tags=["data"], dependencies=[ReadAuth], responses=error_responses(*READ_ERRORS)
)
write_router = APIRouter(
    prefix="/api/v1", tags=["data"], dependencies=[WriteAuth], responses=error_responses(401, 403, 404, 503)
)

SPOOL_IN_MEMORY = 8 * 1024 * 1024
MAX_FILES = 50


@read_router.get(
    "/sources", response_model=list[SourceInfo], summary="Every imported source", openapi_extra=READ_SECURITY
)
async def list_sources(services: ServicesDep) -> JSONBytesResponse:
    """Each (category, source) with its record count, import time (UTC) and content checksum."""
    return JSONBytesResponse(await services.records.list_sources())


@read_router.get(
    "/{category}",
    response_model=RecordPage,
    summary="List records (keyset-paginated)",
    responses=error_responses(404, 422),
    openapi_extra=READ_SECURITY,
)
async def list_records(
    services: ServicesDep,
    category: Category,
    source: Annotated[str | None, Query(max_length=255, description="Only this source.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            pattern=CURSOR_PATTERN,
            description="next_cursor of the previous page: the id the page starts after, in decimal.",
            examples=["100"],
        ),
    ] = None,
) -> JSONBytesResponse:
    """Records ordered by id. Follow ``next_cursor`` until it is null."""
    return JSONBytesResponse(await services.records.list_records(category, source, limit, cursor))


async def _spool_body(request: Request, max_bytes: int) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - closed by the caller
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            spool.close()
            raise PayloadTooLarge(f"request body is larger than {max_bytes // (1024 * 1024)} MB")
        spool.write(chunk)
    spool.seek(0)
    return spool


async def _upload_stream(request: Request, max_bytes: int) -> IO[bytes]:
    content_type = request.headers.get("content-type", "").lower()
    # Any other content type is the file itself: `curl --data-binary @file` labels it a form, and it is not one.
    if not content_type.startswith("multipart/form-data"):
        return await _spool_body(request, max_bytes)
    form = await request.form(max_files=MAX_FILES, max_fields=16)
    uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
    if not uploads:
        raise BadInput("multipart body has no 'file' field holding the file to import")
    if sum(upload.size or 0 for upload in uploads) > max_bytes:
        raise PayloadTooLarge(f"uploaded files are larger than {max_bytes // (1024 * 1024)} MB")
    return concatenate([upload.file for upload in uploads])


_CSV_EXAMPLE = """line,name,action,direction,protocol,cidr,port,description
10,OUTSIDE-IN,permit,in,tcp,10.20.0.0/16,443,web tier
20,OUTSIDE-IN,permit,in,tcp,10.20.30.0/24,8000-8080,app tier
30,OUTSIDE-IN,deny,in,ip,0.0.0.0/0,,default deny
"""
_AWS_SG_EXAMPLE = {
    "SecurityGroups": [
        {
            "GroupId": "sg-0123456789abcdef0",
            "GroupName": "web",
            "VpcId": "vpc-0a1b2c3d",
            "OwnerId": "123456789012",
            "Description": "web tier",
            "IpPermissions": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "10.20.0.0/16", "Description": "office"}],
                    "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}],
                }
            ],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        }
    ]
}
_NDJSON_EXAMPLE = (
    '{"name": "web-lb", "vip": "10.1.2.3", "port": 443, "protocol": "tcp", '
    '"members": [{"ip": "10.1.5.10", "port": 8443}, {"ip": "10.1.5.11", "port": 8443}]}\n'
)
_TMSH_EXAMPLE = """ltm pool /Common/pool_web {
    members {
        /Common/10.73.251.75:http {
            address 10.73.251.75
        }
    }
}
ltm virtual /Common/vs_web {
    destination /Common/10.1.10.20:https
    ip-protocol tcp
    pool /Common/pool_web
}
"""
_BINARY: dict[str, object] = {"type": "string", "format": "binary"}
_TEXT: dict[str, object] = {"type": "string"}  # text formats: the explorer offers an editable example
# Each category's import operation shows an example file of that category.
_EXAMPLES: dict[Category, tuple[str, str, str, object]] = {
    "acl": ("text/csv", "acl-csv", "Three ACL entries as CSV (format csv)", _CSV_EXAMPLE),
    "sg": ("application/json", "aws-sg", "aws ec2 describe-security-groups output (format aws-sg)", _AWS_SG_EXAMPLE),
    "lb": ("application/x-ndjson", "lb-ndjson", "One load balancer as ndjson (format ndjson)", _NDJSON_EXAMPLE),
    "f5": ("text/plain", "f5-tmsh", "A virtual server and its pool from bigip.conf (format f5-tmsh)", _TMSH_EXAMPLE),
}
# Text formats get an editable text example in the explorer; JSON documents are sent as they are.
_MEDIA_TYPES: dict[str, dict[str, object]] = {
    "text/csv": _TEXT,
    "text/plain": _TEXT,
    "application/json": _BINARY,
    "application/x-ndjson": _TEXT,
    "application/octet-stream": _BINARY,
}


def _import_body(category: Category) -> dict[str, object]:
    media_type, name, summary, value = _EXAMPLES[category]
    content: dict[str, object] = {
        media: {
            "schema": schema,
            **({"examples": {name: {"summary": summary, "value": value}}} if media == media_type else {}),
        }
        for media, schema in _MEDIA_TYPES.items()
    }
    content["multipart/form-data"] = {
        "schema": {"type": "object", "properties": {"file": _BINARY}, "required": ["file"]},
    }
    return {
        "description": "The file: the raw body (any content type), or multipart/form-data with one or more `file` "
        "fields read as one file.",
        "required": True,
        "content": content,
    }


_SOURCE = Annotated[
    str,
    Query(
        min_length=1, max_length=255, description="Name of what the data came from.", examples=["configs/core-fw1.cfg"]
    ),
]
_ON_ERROR = Annotated[
    OnError,
    Query(
        description="reject: any bad row refuses the file (nothing changes). skip: the file imports without the "
        "rows it cannot read or map, listed under `skipped` (count and the first 100 with line or JSON path, "
        "text and reason). A file that is not of its format at all, or is cut off, is refused either way.",
    ),
]
_IMPORT_DOC = """Replace every record of ({category}, source) with the file's (several ``file`` fields of a multipart
body are read as one file, e.g. paginated dumps or F5 virtuals + pools), atomically: readers see the old set or
the new one, never a mix. Any bad row rejects the whole file (422 listing line, field, reason and, for JSON, path
of the first 100 errors) and the old data stays. Vendor rules that name no network (security-group or prefix-list
references, instance targets) are not records: the answer counts them under ``unmapped``, with a sample. Answers
once the new data is committed and visible."""


def _import_endpoint(category: Category) -> Callable[..., Awaitable[JSONBytesResponse]]:
    """``POST /api/v1/import/{category}``: one operation per category, so that the document says which formats
    each takes (its ``format`` an enum of exactly those)."""
    names = formats_of(category)
    members = [(name.replace("-", "_"), name) for name in names]
    formats = StrEnum(f"{category.capitalize()}ImportFormat", members)  # type: ignore[misc]  # made per category
    described = "; ".join(f"{name}: {FORMAT_SPECS[name].help}" for name in names)

    async def endpoint(
        services: Services, request: Request, source: str, format: StrEnum | None, on_error: OnError
    ) -> JSONBytesResponse:
        stream = await _upload_stream(request, services.settings.max_upload_bytes)
        try:
            result = await services.imports.import_source(
                category, source, stream, None if format is None else format.value, on_error=on_error
            )
        finally:
            stream.close()
        return JSONBytesResponse(result.as_dict())

    fmt = Annotated[
        formats | None,
        Query(description=f"Guessed from the first 4 KB when omitted. {described}.", examples=[names[0]]),
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # what FastAPI reads
        [
            inspect.Parameter("services", keyword, annotation=ServicesDep),
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("source", keyword, annotation=_SOURCE),
            inspect.Parameter("format", keyword, annotation=fmt, default=None),
            inspect.Parameter("on_error", keyword, annotation=_ON_ERROR, default="reject"),
        ],
        return_annotation=JSONBytesResponse,
    )
    endpoint.__name__ = endpoint.__qualname__ = f"import_{category}"
    endpoint.__doc__ = _IMPORT_DOC.format(category=category)
    return endpoint


for _category in CATEGORIES:
    write_router.post(
        f"/import/{_category}",
        response_model=ImportResponse,
        summary=f"Replace one source's {_category} records",
        responses=error_responses(400, 409, 413, 422),
        openapi_extra={"requestBody": _import_body(_category)},
    )(_import_endpoint(_category))


@write_router.post("/import/{category}", include_in_schema=False)
async def import_unknown_category(category: Category) -> None:
    """After the four routes above: a category that is not one of them fails ``Category`` validation here and is
    answered 404 naming it, as on every other ``{category}`` route."""
    raise NotFound(f"no import route for {category!r}")  # a known category matched its own route first


@write_router.delete(
    "/sources/{category}/{source:path}",
    response_model=DeleteResponse,
    summary="Delete a source",
    responses=error_responses(422),
)
async def delete_source(
    services: ServicesDep,
    category: Category,
    source: Annotated[
        str,
        Path(
            min_length=1,
            max_length=255,
            description="The source name; may contain slashes.",
            examples=["configs/core-fw1.cfg"],
        ),
    ],
) -> JSONBytesResponse:
    """Remove every record of (category, source) in one transaction."""
    return JSONBytesResponse(await services.imports.delete_source(category, source))
