"""What a lookup asks for, validated: the queries and the options that shape the answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from netlookup.errors import BadInput
from netlookup.networks import AddressError, Prefix, parse_network
from netlookup.records import CATEGORIES, Category

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_BATCH = 1000


class Mode(StrEnum):
    covering = "covering"
    within = "within"
    overlap = "overlap"


@dataclass(frozen=True, slots=True)
class LookupOptions:
    """Options shared by every query of one lookup or batch."""

    categories: tuple[Category, ...] = CATEGORIES
    mode: Mode = Mode.covering
    best: bool = False
    limit: int = DEFAULT_LIMIT
    port: int | None = None
    protocol: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadInput(f"limit must be between 1 and {MAX_LIMIT}, got {self.limit}")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise BadInput(f"port must be between 0 and 65535, got {self.port}")
        if self.protocol is not None and (not self.protocol.strip() or len(self.protocol) > 32):
            raise BadInput(f"protocol {self.protocol!r} must be 1 to 32 characters")
        if not self.categories:
            raise BadInput("at least one category is needed")


def build_options(
    categories: str | Sequence[str] | None,
    mode: Mode = Mode.covering,
    best: bool = False,
    limit: int = DEFAULT_LIMIT,
    port: int | None = None,
    protocol: str | None = None,
) -> LookupOptions:
    """LookupOptions from request values; categories as ``"acl,sg"``, a list, or None for all four."""
    return LookupOptions(
        categories=parse_categories(categories), mode=mode, best=best, limit=limit, port=port, protocol=protocol
    )


def parse_categories(value: str | Sequence[str] | None) -> tuple[Category, ...]:
    """``"acl,sg"`` or ``["acl", "sg"]`` → ("acl", "sg") in the canonical order; unknown names → BadInput."""
    if value is None:
        return CATEGORIES
    names = value.split(",") if isinstance(value, str) else list(value)
    wanted = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(wanted - set(CATEGORIES))
    if unknown:
        raise BadInput(f"unknown categories {', '.join(unknown)}: use any of {', '.join(CATEGORIES)}")
    if not wanted:
        raise BadInput(f"at least one category is needed: any of {', '.join(CATEGORIES)}")
    return tuple(c for c in CATEGORIES if c in wanted)


def parse_query(q: str) -> Prefix:
    """An address or CIDR to look up (host bits cleared, IPv4-mapped IPv6 as IPv4); BadInput names it otherwise."""
    try:
        return parse_network(q, unmap=True)
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
            parsed.append(parse_network(q, unmap=True))
        except AddressError as exc:
            raise BadInput(f"queries[{index}]: {exc}") from None
    return parsed
