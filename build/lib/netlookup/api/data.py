"""Stored data: record lists, sources, imports and deletes."""

from __future__ import annotations

import tempfile
from typing import IO, Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.datastructures import UploadFile

from netlookup.api.deps import ReadAuth, ServicesDep, WriteAuth
from netlookup.api.models import (
    AUTH_RESPONSES,
    ERROR_RESPONSES,
    DeleteResponse,
    ErrorResponse,
    ImportResponse,
    RecordPage,
    SourceInfo,
)
from netlookup.api.responses import JSONBytesResponse
from netlookup.categories import Category
from netlookup.errors import BadInput, PayloadTooLarge
from netlookup.imports.formats import FORMATS, concatenate
from netlookup.lookup.request import DEFAULT_LIMIT, MAX_LIMIT

read_router = APIRouter(prefix="/api/v1", tags=["data"], dependencies=[ReadAuth], responses=ERROR_RESPONSES)
write_router = APIRouter(
    prefix="/api/v1", tags=["data"], dependencies=[WriteAuth], responses={**ERROR_RESPONSES, **AUTH_RESPONSES}
)

SPOOL_IN_MEMORY = 8 * 1024 * 1024
MAX_FILES = 50


@read_router.get("/sources", response_model=list[SourceInfo], summary="Every imported source")
async def list_sources(services: ServicesDep) -> JSONBytesResponse:
    """Each (category, source) with its record count, import time (UTC) and content checksum."""
    return JSONBytesResponse(await services.records.list_sources())


@read_router.get("/{category}", response_model=RecordPage, summary="List records (keyset-paginated)")
async def list_records(
    services: ServicesDep,
    category: Category,
    source: Annotated[str | None, Query(max_length=255, description="Only this source.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page.")] = None,
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


@write_router.post(
    "/import/{category}",
    response_model=ImportResponse,
    summary="Replace one source's records",
    responses={
        409: {"model": ErrorResponse, "description": "Another import of this source is running."},
        413: {"model": ErrorResponse, "description": "Body over NETLOOKUP_MAX_UPLOAD_MB."},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
            "required": True,
        }
    },
)
async def import_source(
    services: ServicesDep,
    request: Request,
    category: Category,
    source: Annotated[
        str,
        Query(
            min_length=1,
            max_length=255,
            description="Name of what the data came from.",
            examples=["configs/core-fw1.cfg"],
        ),
    ],
    format: Annotated[
        str | None,
        Query(
            description=f"One of {', '.join(FORMATS)}; guessed from the first 4 KB when omitted. Vendor formats fill "
            "one category: aws-sg → sg (describe-security-groups / describe-security-group-rules JSON), aws-elbv2 → "
            "lb (the combined load_balancers/target_groups/target_health document), f5-rest and f5-tmsh → f5 "
            "(iControl REST virtual + pool JSON, or the ltm virtual/pool text of bigip.conf), cisco-acl → acl "
            "(IOS/ASA configuration text).",
            examples=["aws-sg"],
        ),
    ] = None,
) -> JSONBytesResponse:
    """Replace every record of (category, source) with the file's (several ``file`` fields of a multipart body are
    read as one file, e.g. paginated dumps or F5 virtuals + pools), atomically: readers see the old set or the
    new one, never a mix. Any bad row rejects the whole file (422 listing line, field, reason and, for JSON, path
    of the first 100 errors) and the old data stays. Vendor rules that name no network (security-group or
    prefix-list references, instance targets) are not records: the answer counts them under ``unmapped``, with a
    sample. Answers once the new data is committed and visible."""
    if format is not None and format.lower() not in FORMATS:
        raise BadInput(f"unknown format {format!r}: use one of {', '.join(FORMATS)}")
    stream = await _upload_stream(request, services.settings.max_upload_bytes)
    try:
        result = await services.imports.import_source(category, source, stream, format)
    finally:
        stream.close()
    return JSONBytesResponse(result.as_dict())


@write_router.delete(
    "/sources/{category}/{source:path}",
    response_model=DeleteResponse,
    summary="Delete a source",
    responses={404: {"model": ErrorResponse}},
)
async def delete_source(
    services: ServicesDep,
    category: Category,
    source: Annotated[str, Path(description="The source name; may contain slashes.")],
) -> JSONBytesResponse:
    """Remove every record of (category, source) in one transaction."""
    return JSONBytesResponse(await services.imports.delete_source(category, source))
