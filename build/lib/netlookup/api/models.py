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


class ImportErrorDetail(BaseModel):
    message: str
    error_count: int
    errors: list[ImportRow] = Field(description="The first 100 errors.")


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


class DeleteResponse(BaseModel):
    category: Category
    source: str
    removed: int


class ErrorResponse(BaseModel):
    detail: str | list[dict[str, object]] | ImportErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorResponse, "description": "Bad input: the detail names it."},
    503: {"model": ErrorResponse, "description": "Database unavailable or busy; see Retry-After."},
}
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorResponse, "description": "No API key."},
    403: {"model": ErrorResponse, "description": "Wrong API key, or writes disabled."},
}
