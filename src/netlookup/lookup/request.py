"""What a lookup asks for: one model of a lookup request, used by every entry point (the HTTP routes, the batch
body, the Socket.IO ``lookup`` event and the CLI), so all of them take the same options with the same bounds."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, WithJsonSchema, field_validator

from netlookup.categories import CATEGORIES, Category
from netlookup.errors import BadInput
from netlookup.networks import WRITTEN_NETWORK_PATTERN, AddressError, Prefix, is_written_network, parse_network

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_BATCH = 1000
MAX_QUERY_LENGTH = 64


class Mode(StrEnum):
    covering = "covering"
    within = "within"
    overlap = "overlap"


def canonical_categories(value: object) -> object:
    """``"acl,sg"`` or ``["acl", "sg"]`` → ("acl", "sg") in the canonical order; unknown names are an error."""
    if value is None:
        return CATEGORIES
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"categories must be a list (or a comma-separated string) of {', '.join(CATEGORIES)}")
    wanted = {name.strip().lower() for name in value if name.strip()}
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown categories {', '.join(unknown)}: use any of {', '.join(CATEGORIES)}")
    if not wanted:
        raise ValueError(f"at least one category is needed: any of {', '.join(CATEGORIES)}")
    return tuple(c for c in CATEGORIES if c in wanted)


_CATEGORY_NAMES: dict[str, Any] = {"type": "string", "enum": list(CATEGORIES)}
Categories = Annotated[
    tuple[Category, ...],
    BeforeValidator(canonical_categories),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "array", "items": _CATEGORY_NAMES, "minItems": 1},
                {"type": "null"},
                {"type": "string", "pattern": r"^\s*(acl|sg|lb|f5)\s*(,\s*(acl|sg|lb|f5)\s*)*$"},
            ],
            "description": "A subset of acl, sg, lb, f5, as a list or comma-separated (null or absent: all four).",
        }
    ),
]


# A query string is text ("limit=10", "best=true"), read as pydantic reads text; a JSON body (the batch, the
# Socket.IO event) must give the JSON type: ``"port": false`` is not port 0, nor ``"limit": "10"`` a limit.
FROM_TEXT = {"from_text": True}


def _from_text(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("from_text"))


def _json_integer(value: object, info: ValidationInfo) -> object:
    if not _from_text(info) and isinstance(value, bool | str):
        raise ValueError(f"must be a JSON integer, not {type(value).__name__}")
    return value  # 10.0 is an integer to JSON Schema too; 10.5 is refused after this


def _json_boolean(value: object, info: ValidationInfo) -> object:
    if not _from_text(info) and not isinstance(value, bool):
        raise ValueError(f"must be a JSON boolean (true or false), not {type(value).__name__}")
    return value


JSONInt = Annotated[int, BeforeValidator(_json_integer)]
# The bounds inside the validator, so that the schema states them as minimum/maximum of the integer branch.
Port = Annotated[int, Field(ge=0, le=65535), BeforeValidator(_json_integer)]
JSONBool = Annotated[bool, BeforeValidator(_json_boolean)]


class LookupOptions(BaseModel):
    """Options shared by every query of one lookup or batch (frozen: the engine passes it around as is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: Categories = Field(default=CATEGORIES)
    mode: Mode = Field(
        default=Mode.covering,
        description="covering: records whose network contains the query; within: records inside it; overlap: both.",
    )
    best: JSONBool = Field(
        default=False,
        description="Only the longest matching prefixes per ACL (source, direction) and per SG (group_id, direction).",
    )
    limit: JSONInt = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Matches per category.")
    port: Port | None = Field(default=None, description="Only records admitting this port.")
    protocol: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only acl/sg records admitting this protocol."
    )

    @field_validator("protocol")
    @classmethod
    def _protocol_is_a_word(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("protocol must not be blank")
        return value


QUERY_DESCRIPTION = (
    "An IPv4 or IPv6 address or CIDR: a dotted quad (no leading zeros in an octet) or IPv6 text (`::` compression, "
    "an embedded dotted quad in the last 32 bits), optionally `/length` (0-32 or 0-128, no leading zeros), spaces "
    "or tabs around it allowed. Host bits are cleared; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is looked up as IPv4. "
    "No zone ids (`%eth0`) and no netmask form (`/255.0.0.0`)."
)
# The pattern is what a JSON Schema can say; the parser behind it says why a text is refused.
_QUERY_SCHEMA: dict[str, Any] = {"pattern": WRITTEN_NETWORK_PATTERN}
Query = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_LENGTH, json_schema_extra=_QUERY_SCHEMA)]


class LookupRequest(LookupOptions):
    """One lookup: ``q`` and the options."""

    q: Query = Field(description=QUERY_DESCRIPTION, examples=["10.1.2.3", "10.20.0.0/16", "2001:db8::1"])

    def prefix(self) -> Prefix:
        return parse_query(self.q)


class BatchLookupRequest(LookupOptions):
    """Many lookups with the same options."""

    model_config = ConfigDict(
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

    queries: list[Query] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} addresses or CIDRs, each written as `q` of `GET /api/v1/lookup` says.",
    )

    def prefixes(self) -> list[Prefix]:
        return parse_queries(self.queries)


def _query_prefix(q: str) -> Prefix:
    prefix = parse_network(q, unmap=True)
    if not is_written_network(q):  # what the parser would take but the published pattern does not
        raise AddressError(
            f"{q!r} is not written as an address or CIDR: a prefix length has no leading zeros and only spaces "
            "or tabs may surround the text"
        )
    return prefix


def parse_query(q: str) -> Prefix:
    """An address or CIDR to look up (host bits cleared, IPv4-mapped IPv6 as IPv4), written as
    ``WRITTEN_NETWORK_PATTERN`` says; BadInput names the problem otherwise."""
    try:
        return _query_prefix(q)
    except AddressError as exc:
        raise BadInput(str(exc)) from None


def parse_queries(queries: Sequence[str]) -> list[Prefix]:
    """Validate every query of a batch first; the first bad one is reported with its index."""
    if not queries:
        raise BadInput("queries must hold at least one address or CIDR")
    if len(queries) > MAX_BATCH:
        raise BadInput(f"a batch holds at most {MAX_BATCH} queries, got {len(queries)}")
    parsed: list[Prefix] = []
    for index, q in enumerate(queries):
        try:
            parsed.append(_query_prefix(q))
        except AddressError as exc:
            raise BadInput(f"queries[{index}]: {exc}") from None
    return parsed
