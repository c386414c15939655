"""Response and request models: they document the API in OpenAPI (handlers return plain dicts for speed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from netlookup.lookup.params import DEFAULT_LIMIT, MAX_BATCH, MAX_LIMIT, Mode
from netlookup.records import Category


class MemberOut(BaseModel):
    ip: str = Field(examples=["10.73.251.75"])
    port: int | None = Field(default=None, examples=[80])


class AclRecordOut(BaseModel):
    id: int
    source: str = Field(examples=["configs/core-fw1.cfg"])
    line: int | None = Field(examples=[120])
    name: str | None = Field(examples=["OUTSIDE_IN"])
    kind: str | None = Field(examples=["acl"])
    action: Literal["permit", "deny"] | None
    direction: Literal["in", "out"] | None
    protocol: str | None = Field(examples=["tcp"])
    cidr: str = Field(examples=["10.1.0.0/16"])
    port: str | None = Field(examples=["443", "8000-8080"])
    description: str | None


class SgRecordOut(BaseModel):
    id: int
    source: str = Field(examples=["aws-prod-eu-west-1"])
    group_id: str | None = Field(examples=["sg-0123456789abcdef0"])
    group_name: str | None
    vpc_id: str | None
    account: str | None
    region: str | None
    direction: Literal["ingress", "egress"] | None
    protocol: str | None = Field(examples=["tcp", "all", "6"])
    from_port: int | None
    to_port: int | None
    cidr: str = Field(examples=["10.0.0.0/8"])
    description: str | None


class LbRecordOut(BaseModel):
    id: int
    source: str
    name: str | None
    type: str | None = Field(examples=["alb", "nlb", "haproxy"])
    vip: str | None = Field(examples=["10.20.0.10"])
    port: int | None
    protocol: str | None
    members: list[MemberOut]
    description: str | None


class F5RecordOut(BaseModel):
    id: int
    source: str
    partition: str | None = Field(examples=["Common"])
    name: str | None = Field(examples=["vs_app_443"])
    destination: str | None
    port: int | None
    protocol: str | None
    route_domain: int | None
    pool: str | None
    members: list[MemberOut]
    description: str | None
    snat: str | None = Field(examples=["automap"])


class AclMatch(AclRecordOut):
    prefix_len: int = Field(description="Prefix length of the record's network (longest first).")


class SgMatch(SgRecordOut):
    prefix_len: int = Field(description="Prefix length of the record's network (longest first).")


class LbMatch(LbRecordOut):
    prefix_len: int = Field(description="32 for IPv4, 128 for IPv6: load balancers match on addresses.")
    matched_on: Literal["vip", "member"]


class F5Match(F5RecordOut):
    prefix_len: int = Field(description="32 for IPv4, 128 for IPv6: F5 objects match on addresses.")
    matched_on: Literal["destination", "member"]


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


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "queries": ["10.1.2.3", "10.20.0.0/16", "2001:db8::1"],
                    "categories": ["acl", "sg"],
                    "mode": "covering",
                    "best": False,
                    "limit": 100,
                }
            ]
        },
    )

    queries: list[str] = Field(min_length=1, max_length=MAX_BATCH, description=f"Addresses or CIDRs, 1 to {MAX_BATCH}.")
    categories: list[Category] | None = Field(default=None, description="Default: all four.")
    mode: Mode = Mode.covering
    best: bool = False
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    port: int | None = Field(default=None, ge=0, le=65535)
    protocol: str | None = Field(default=None, min_length=1, max_length=32)


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
