"""Address and prefix maths: pure functions over bytes, no I/O.

A network is stored as (family, prefix_len, start, end) where start/end are the first and last address as
big-endian bytes (4 bytes for IPv4, 16 for IPv6), so byte order equals address order on every database.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Family = Literal[4, 6]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PREFIX: dict[int, int] = {4: 32, 6: 128}


class AddressError(ValueError):
    """The text is not an IPv4/IPv6 address or CIDR."""


@dataclass(frozen=True, slots=True)
class Prefix:
    """A normalised network: canonical text plus the byte range it spans."""

    family: Family
    prefix_len: int
    start: bytes
    end: bytes
    text: str


def _from_network(net: IPNetwork) -> Prefix:
    family: Family = 4 if net.version == 4 else 6
    return Prefix(
        family=family,
        prefix_len=net.prefixlen,
        start=net.network_address.packed,
        end=net.broadcast_address.packed,
        text=str(net),
    )


def _unmap_ipv4(net: IPNetwork) -> IPNetwork:
    """``::ffff:a.b.c.d/N`` (N >= 96) becomes the IPv4 network ``a.b.c.d/(N-96)``."""
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96:
        mapped = net.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network((int(mapped), net.prefixlen - 96))
    return net


_FAMILIES: dict[int, tuple[Family, int]] = {socket.AF_INET: (4, 32), socket.AF_INET6: (6, 128)}


def _plain_network(candidate: str) -> Prefix | None:
    """The common case through the C library (imports parse one network per row): a dotted quad or an IPv6
    address without an embedded IPv4 part, and an optional prefix length without leading zeros. Anything else,
    valid or not, returns None and takes ``ipaddress``, the reference this is tested against."""
    address, slash, length_text = candidate.partition("/")
    if slash and not (
        length_text.isascii() and length_text.isdigit() and (len(length_text) < 2 or length_text[0] != "0")
    ):
        return None
    kind = socket.AF_INET6 if ":" in address else socket.AF_INET
    if kind == socket.AF_INET6 and "." in address:
        return None
    try:
        packed = socket.inet_pton(kind, address)
    except (OSError, ValueError):  # ValueError: an embedded NUL character
        return None
    family, width = _FAMILIES[kind]
    length = int(length_text) if slash else width
    if length > width:
        return None
    host_mask = (1 << (width - length)) - 1
    start = int.from_bytes(packed, "big") & ~host_mask
    start_bytes = start.to_bytes(width // 8, "big")
    text = socket.inet_ntop(kind, start_bytes)
    if kind == socket.AF_INET6 and "." in text:  # the C library writes ::ffff:a.b.c.d; ipaddress does not
        return None
    return Prefix(family, length, start_bytes, (start | host_mask).to_bytes(width // 8, "big"), f"{text}/{length}")


@lru_cache(maxsize=65536)
def parse_network(text: str, *, unmap: bool = False) -> Prefix:
    """Parse an address or CIDR; host bits are cleared, a bare address is a /32 or /128.

    Raises AddressError naming the input for anything else (empty text, zone ids, bad prefix lengths).
    Cached: imports and lookups meet the same networks over and over.
    With ``unmap``, IPv4-mapped IPv6 is turned into IPv4 (how queries are looked up).
    """
    if not isinstance(text, str):
        raise AddressError(f"expected an address or CIDR as text, got {type(text).__name__}")
    candidate = text.strip()
    if not candidate:
        raise AddressError("empty address")
    if "%" in candidate:
        raise AddressError(f"{text!r} is not an address or CIDR: zone ids are not supported")
    plain = _plain_network(candidate)
    if plain is not None:
        return plain
    _address, slash, length_part = candidate.partition("/")
    if slash and not length_part.isdigit():
        raise AddressError(f"{text!r} is not an address or CIDR: prefix length {length_part!r} is not a number")
    try:
        net: IPNetwork = ipaddress.ip_network(candidate, strict=False)
    except ValueError as exc:
        raise AddressError(f"{text!r} is not an address or CIDR: {exc}") from None
    if unmap:
        net = _unmap_ipv4(net)
    return _from_network(net)


def _written_network_pattern() -> str:
    """A regular expression for an IPv4/IPv6 address or CIDR as text, following RFC 3986's IPv6address grammar
    (``::`` compression, an embedded dotted quad in the last 32 bits) with a prefix length in range and without
    leading zeros, and optional spaces or tabs around it. ASCII only (no ``\\d``, which would admit other
    scripts' digits), so JSON Schema tools, Python and JavaScript read it alike."""
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ipv4 = rf"{octet}(?:\.{octet}){{3}}"
    h16 = "[0-9a-fA-F]{1,4}"
    ls32 = f"(?:{h16}:{h16}|{ipv4})"
    # After "::", what may follow when at most n groups come before it (RFC 3986 section 3.2.2).
    tails = [f"(?:{h16}:){{4}}{ls32}", f"(?:{h16}:){{3}}{ls32}", f"(?:{h16}:){{2}}{ls32}", f"{h16}:{ls32}"]
    tails += [ls32, h16, ""]
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    forms += [f"(?:(?:{h16}:){{0,{n - 1}}}{h16})?::{tail}" for n, tail in enumerate(tails, start=1)]
    ipv6 = "(?:" + "|".join(forms) + ")"
    v4_length = "(?:3[0-2]|[12]?[0-9])"
    v6_length = "(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])"
    return rf"^[ \t]*(?:{ipv4}(?:/{v4_length})?|{ipv6}(?:/{v6_length})?)[ \t]*$"


WRITTEN_NETWORK_PATTERN = _written_network_pattern()
_WRITTEN_NETWORK = re.compile(WRITTEN_NETWORK_PATTERN.removesuffix("$") + r"\Z")


def is_written_network(text: str) -> bool:
    """Whether ``text`` is written as :data:`WRITTEN_NETWORK_PATTERN` says (what the API publishes for ``q``)."""
    return _WRITTEN_NETWORK.match(text) is not None


def parse_address(text: str) -> Prefix:
    """Parse one host address (no prefix length) into its /32 or /128."""
    if isinstance(text, str) and "/" in text:
        raise AddressError(f"{text!r} is not a host address: no prefix length allowed here")
    return parse_network(text)


def mask_start(start: bytes, prefix_len: int) -> bytes:
    """The first address of the /prefix_len network containing ``start``."""
    width = len(start) * 8
    value = int.from_bytes(start, "big")
    host_bits = width - prefix_len
    value = (value >> host_bits) << host_bits if host_bits < width else 0
    return value.to_bytes(len(start), "big")


def covering_keys(query: Prefix, lengths: list[int]) -> list[tuple[int, bytes]]:
    """(prefix_len, network start) of every stored network of the given lengths that could contain ``query``."""
    return [(length, mask_start(query.start, length)) for length in lengths if length <= query.prefix_len]


def within_lengths(query: Prefix, lengths: list[int]) -> list[int]:
    """The stored prefix lengths whose networks can lie inside ``query``."""
    return [length for length in lengths if length >= query.prefix_len]
