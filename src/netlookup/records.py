"""What an imported record of each category may hold: the input models that validate imported rows, and the
table row a validated record becomes (network and port columns, content fingerprint).

Pure code: a validated record becomes a plain dict of table columns, ready for a bulk insert.
"""

from __future__ import annotations

import hashlib
import re
from abc import abstractmethod
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from netlookup.networks import MAX_PREFIX, AddressError, Prefix, parse_address, parse_network

_PORT_RANGE = re.compile(r"^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$")
_SG_PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6", "all", "-1"}
# For these, AWS's FromPort/ToPort are the ICMP type and code, not a port range.
ICMP_PROTOCOLS = frozenset(("icmp", "icmpv6", "1", "58"))


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


OptStr = Annotated[Annotated[str, StringConstraints(max_length=255)] | None, BeforeValidator(_blank_to_none)]
OptShortStr = Annotated[Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(_blank_to_none)]
OptProtocol = Annotated[Annotated[str, StringConstraints(max_length=32)] | None, BeforeValidator(_blank_to_none)]
OptText = Annotated[Annotated[str, StringConstraints(max_length=65_000)] | None, BeforeValidator(_blank_to_none)]
OptPort = Annotated[Annotated[int, Field(ge=0, le=65535)] | None, BeforeValidator(_blank_to_none)]


def parse_port_range(value: str | int | None) -> tuple[int, int] | None:
    """``"443"`` → (443, 443), ``"8000-8080"`` → (8000, 8080), None → None. Raises ValueError otherwise."""
    if value is None:
        return None
    match = _PORT_RANGE.match(str(value))
    if not match:
        raise ValueError(f"port {value!r} is not a number or a range like 8000-8080")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if high > 65535:
        raise ValueError(f"port {value!r} is above 65535")
    if low > high:
        raise ValueError(f"port range {value!r} runs backwards")
    return low, high


def _canonical_cidr(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("cidr must be text such as 10.0.0.0/8")
    try:
        return parse_network(value).text
    except AddressError as exc:
        raise ValueError(str(exc)) from None


def _canonical_host(value: object) -> str | None:
    value = _blank_to_none(value)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("address must be text such as 10.0.0.1")
    try:
        return str(parse_address(value).text).split("/")[0]
    except AddressError as exc:
        raise ValueError(str(exc)) from None


def _canonical_destination(value: object) -> str | None:
    """An F5 destination: an address, or a network where the virtual's mask is not a host mask (10.1.0.0/16,
    0.0.0.0/0 for a wildcard virtual); a full-length prefix is the address alone."""
    value = _blank_to_none(value)
    if isinstance(value, str) and "/" in value:
        try:
            prefix = parse_network(value)
        except AddressError as exc:
            raise ValueError(str(exc)) from None
        return prefix.text.split("/")[0] if prefix.prefix_len == MAX_PREFIX[prefix.family] else prefix.text
    return _canonical_host(value)


Cidr = Annotated[str, BeforeValidator(_canonical_cidr)]


class Member(BaseModel):
    """One pool member of a load balancer or F5 virtual server."""

    model_config = ConfigDict(extra="forbid")

    ip: str
    port: Annotated[int, Field(ge=0, le=65535)] | None = None

    @field_validator("ip", mode="before")
    @classmethod
    def _host(cls, value: object) -> str:
        host = _canonical_host(value)
        if host is None:
            raise ValueError("member ip is required")
        return host


class ImportedRecord(BaseModel):
    """Fields every category has."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    description: OptText = None


class NetworkRecord(ImportedRecord):
    """A record of a network (its ``cidr``: acl, sg), matched by prefix and narrowed by a port range."""

    @abstractmethod
    def port_range(self) -> tuple[int, int] | None:
        """The ports the record admits; None admits every port."""


class AddressRecord(ImportedRecord):
    """A record published on addresses (lb, f5): the one named by ``address_field``, and its ``members``."""

    address_field: ClassVar[str]


class AclRecord(NetworkRecord):
    """A router/firewall ACL entry, prefix-list line or object-group member."""

    line: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank_to_none)] = None
    name: OptStr = None
    kind: OptShortStr = None
    action: Annotated[Literal["permit", "deny"] | None, BeforeValidator(_blank_to_none)] = None
    direction: Annotated[Literal["in", "out"] | None, BeforeValidator(_blank_to_none)] = None
    protocol: OptProtocol = None
    cidr: Cidr
    port: Annotated[str | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("action", "direction", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("port must be a number or a range")
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str):
            low_high = parse_port_range(value)
            if low_high is None:
                return None
            low, high = low_high
            return str(low) if low == high else f"{low}-{high}"
        return value

    def port_range(self) -> tuple[int, int] | None:
        return parse_port_range(self.port)


class SgRecord(NetworkRecord):
    """A cloud security-group rule."""

    group_id: OptShortStr = None
    group_name: OptStr = None
    vpc_id: OptShortStr = None
    account: OptShortStr = None
    region: OptShortStr = None
    direction: Annotated[Literal["ingress", "egress"] | None, BeforeValidator(_blank_to_none)] = None
    protocol: OptProtocol = None
    from_port: Annotated[Annotated[int, Field(ge=-1, le=65535)] | None, BeforeValidator(_blank_to_none)] = None
    to_port: Annotated[Annotated[int, Field(ge=-1, le=65535)] | None, BeforeValidator(_blank_to_none)] = None
    cidr: Cidr

    @field_validator("direction", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value == "-1":  # AWS writes "all protocols" as -1
            return "all"
        if value.lower() in _SG_PROTOCOLS or (value.isdigit() and int(value) <= 255):
            return value
        raise ValueError(f"protocol {value!r} is not tcp, udp, icmp, icmpv6, all, -1 or a number 0-255")

    @model_validator(mode="after")
    def _port_order(self) -> SgRecord:
        ports_set = self.from_port is not None and self.to_port is not None and self.from_port >= 0 <= self.to_port
        icmp = self.protocol is not None and self.protocol.lower() in ICMP_PROTOCOLS  # type 11 code 0 is fine
        if ports_set and not icmp and self.to_port < self.from_port:  # type: ignore[operator]
            raise ValueError(f"to_port {self.to_port} is below from_port {self.from_port}")
        return self

    def port_range(self) -> tuple[int, int] | None:
        return sg_port_range(self.from_port, self.to_port, self.protocol)


class LbRecord(AddressRecord):
    """A load balancer listener: a VIP and port with its members."""

    address_field: ClassVar[str] = "vip"

    name: OptStr = None
    type: OptShortStr = None
    vip: Annotated[str | None, BeforeValidator(_canonical_host)] = None
    port: OptPort = None
    protocol: OptProtocol = None
    members: list[Member] = Field(default_factory=list, max_length=10_000)


class F5Record(AddressRecord):
    """An F5 BIG-IP virtual server with its pool members."""

    address_field: ClassVar[str] = "destination"

    partition: OptStr = None
    name: OptStr = None
    destination: Annotated[str | None, BeforeValidator(_canonical_destination)] = None
    port: OptPort = None
    protocol: OptProtocol = None
    route_domain: Annotated[Annotated[int, Field(ge=0)] | None, BeforeValidator(_blank_to_none)] = None
    pool: OptStr = None
    members: list[Member] = Field(default_factory=list, max_length=10_000)
    snat: OptStr = None


def fingerprint(values: dict[str, Any]) -> int:
    """A 64-bit signed hash of a record's content (not its id or source), to count added/removed records."""
    digest = hashlib.blake2b(orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def sg_port_range(from_port: int | None, to_port: int | None, protocol: str | None = None) -> tuple[int, int] | None:
    """The port range an SG rule admits; None admits every port (no port, AWS's -1 for "all", or an ICMP rule,
    whose from/to are a type and a code: it names no port, like an ACL entry for icmp)."""
    if protocol is not None and protocol.lower() in ICMP_PROTOCOLS:
        return None
    if from_port is None or from_port < 0:
        return None
    if to_port is None or to_port < 0:
        return from_port, from_port
    return from_port, to_port


def network_row(record: NetworkRecord) -> dict[str, Any]:
    """Table row for an acl/sg record, with the derived network and port columns."""
    values = record.model_dump()
    net: Prefix = parse_network(values["cidr"])
    return with_network_columns(values, net, record.port_range())


def with_network_columns(values: dict[str, Any], net: Prefix, ports: tuple[int, int] | None) -> dict[str, Any]:
    """The record's values plus the columns lookups use (network bytes, port range) and its fingerprint."""
    row = dict(values)
    row.update(
        family=net.family,
        prefix_len=net.prefix_len,
        net_start=net.start,
        net_end=net.end,
        port_lo=ports[0] if ports else None,
        port_hi=ports[1] if ports else None,
        fingerprint=fingerprint(values),
    )
    return row


class AddressPoint(NamedTuple):
    """One address of an lb/f5 record: role 0 = VIP/destination, 1 = member; a network destination also has its
    last address (``addr_end``) and its prefix length, a point neither (the family's full length)."""

    family: int
    addr: bytes
    role: int
    prefix_len: int
    addr_end: bytes | None = None


def address_row(record: AddressRecord) -> tuple[dict[str, Any], list[AddressPoint]]:
    """Table row for an lb/f5 record plus its address points."""
    values = record.model_dump()
    points: list[AddressPoint] = []
    main = values[record.address_field]
    if main is not None:
        prefix = parse_network(main)
        network = prefix.prefix_len < MAX_PREFIX[prefix.family]
        points.append(AddressPoint(prefix.family, prefix.start, 0, prefix.prefix_len, prefix.end if network else None))
    for member in values["members"]:
        prefix = parse_address(member["ip"])
        points.append(AddressPoint(prefix.family, prefix.start, 1, prefix.prefix_len))
    row = dict(values)
    row["members"] = orjson.dumps(values["members"]).decode()
    row["fingerprint"] = fingerprint(values)
    return row, sorted(set(points))
