"""Response and request models: they document the API in OpenAPI (handlers return plain dicts for speed)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from netlookup.categories import Category
from netlookup.outputs import AclMatch, AclRecordOut, F5Match, F5RecordOut, LbMatch, LbRecordOut, SgMatch, SgRecordOut


class CategoryResult(BaseModel):
    total: int = Field(description="Every match after narrowing and best, before the limit.")
    truncated: bool = Field(description="True when total is larger than the matches returned.")
    matches: list[AclMatch] | list[SgMatch] | list[LbMatch] | list[F5Match]


class LookupResults(BaseModel):
    acl: CategoryResult | None = None
    sg: CategoryResult | None = None
    lb: CategoryResult | None = None
    f5: CategoryResult | None = None


class LookupResponse(BaseModel):
    query: str = Field(
        description="The normalised query (host bits cleared; an address is its /32 or /128).",
        examples=["10.1.2.3/32"],
    )
    results: LookupResults
    took_ms: float


class BatchResponse(BaseModel):
    results: list[LookupResponse]
    took_ms: float


class RecordPage(BaseModel):
    items: list[AclRecordOut] | list[SgRecordOut] | list[LbRecordOut] | list[F5RecordOut]
    next_cursor: str | None = Field(description="Pass as cursor= for the next page; null on the last page.")


class SourceInfo(BaseModel):
    category: Category
    source: str
    count: int
    imported_at: str = Field(examples=["2026-11-23T16:00:00Z"])
    checksum: str = Field(description="SHA-256 over the sorted record fingerprints: equal content, equal sum.")


class ImportRow(BaseModel):
    line: int = Field(
        description="1-based line (ndjson, csv, cisco-acl, f5-tmsh) or element number (json; the group, rule, "
        "load balancer or virtual server in vendor JSON formats, counted across concatenated documents)."
    )
    field: str | None = Field(description="The record field at fault, when one is.")
    reason: str
    path: str | None = Field(
        default=None,
        description="Where in a JSON document the bad value sits, e.g. SecurityGroups[3].IpPermissions[0].IpRanges[1]",
        examples=["SecurityGroups[3].IpPermissions[0].IpRanges[1]"],
    )


class ImportRowOut(ImportRow):
    text: str | None = Field(default=None, description="The line as the file has it (line-based formats).")


class SkippedRows(BaseModel):
    count: int = Field(description="Rows left out.")
    rows: list[ImportRowOut] = Field(description="The first 100: line or JSON path, text and reason.")


class ImportErrorDetail(BaseModel):
    message: str
    error_count: int
    errors: list[ImportRowOut] = Field(description="The first 100 errors.")


class ImportResponse(BaseModel):
    job_id: str
    category: Category
    source: str
    count: int
    added: int = Field(description="Records not in the previous set.")
    removed: int = Field(description="Previous records no longer present.")
    checksum: str
    took_ms: float
    unmapped: dict[str, object] | None = Field(
        default=None,
        description="Vendor rules that name no network (security-group or prefix-list references, ELBv2 "
        "instance targets): "
        "count, count by kind and a sample. Absent when there are none.",
    )
    skipped: SkippedRows | None = Field(
        default=None, description="With on_error=skip: the rows left out because they could not be read or mapped."
    )


class DeleteResponse(BaseModel):
    category: Category
    source: str
    removed: int


class ErrorResponse(BaseModel):
    detail: str | list[dict[str, object]] | ImportErrorDetail


_ERRORS: dict[int, tuple[str, object]] = {
    400: (
        "The body cannot be read (not UTF-8 JSON), or Content-Length is not a number.",
        "There was an error parsing the body",
    ),
    401: (
        "No API key (reads: only with NETLOOKUP_READ_AUTH=true).",
        "missing API key: send Authorization: Bearer <key>",
    ),
    403: ("The API key is not valid, or writes are disabled (no NETLOOKUP_API_KEYS).", "the API key is not valid"),
    404: (
        "No such category (acl, sg, lb, f5), or no such source.",
        "unknown category 'dns': use one of acl, sg, lb, f5",
    ),
    409: (
        "Another import of this source is running.",
        "another import of acl/core-fw1 is still running; try again later",
    ),
    413: ("The body is over NETLOOKUP_MAX_UPLOAD_MB.", "request body is larger than 100 MB"),
    415: ("The body is not JSON (Content-Type must be application/json).", "the body must be JSON (application/json)"),
    422: (
        "Bad input: the detail names it (a list of {loc, msg, type} for parameters and bodies, or the import's "
        "message, error count and first errors).",
        [{"loc": ["query", "q"], "msg": "Value error, '10.1.2.300' is not an address or CIDR", "type": "value_error"}],
    ),
    503: (
        "The database is unavailable or busy, or this node is shedding load; retry after Retry-After seconds.",
        "the database is busy; retry shortly",
    ),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` for these error statuses, each ``{"detail": ...}`` with a description and example."""
    documented: dict[int | str, dict[str, object]] = {}
    for status in statuses:
        description, example = _ERRORS[status]
        documented[status] = {
            "model": ErrorResponse,
            "description": description,
            "content": {"application/json": {"example": {"detail": example}}},
        }
        if status == 503:
            documented[status]["headers"] = {
                "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}
            }
    return documented


# Read routes: 401/403 only when NETLOOKUP_READ_AUTH=true; 503 from the database or load shedding.
READ_ERRORS = (401, 403, 503)
# Reads take the key when NETLOOKUP_READ_AUTH=true and need none otherwise: either requirement satisfies them
# (and the explorer's Authorize sends the key on reads too).
READ_SECURITY: dict[str, object] = {"security": [{"HTTPBearer": []}, {}]}
