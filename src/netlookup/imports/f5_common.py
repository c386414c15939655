"""What the F5 readers share, whichever form they read (iControl REST JSON, ``f5_rest``; tmsh text of
``bigip.conf``, ``f5_tmsh``): destinations, masks, ports by service name, address and port lists, pool members,
all mapped to the fields of an ``f5`` record."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from netlookup.imports.ports import service_port

Destination = tuple[str | None, int | None, int | None, str | None]  # address, port, route domain, protocol

_DESTINATION = re.compile(
    r"^(?:/(?P<partition>[^/]+)/)?(?P<address>.+?)(?:%(?P<rd>\d+))?[:.](?P<port>\d+|[a-z][a-z0-9-]*)$"
)


def port_number(text: str) -> int | None:
    """``443`` → 443, ``https`` → 443 (F5 writes ports by their service names); ``0`` and ``any`` are any port on
    BIG-IP → None. Raises ValueError."""
    if text.isdigit():
        value = int(text)
        if value > 65535:
            raise ValueError(f"port {text} is above 65535")
        return value or None
    if text == "any":
        return None
    port = service_port(text)
    if port is None:
        raise ValueError(f"port {text!r} is not a number or a known service name")
    return port


def is_address(text: str) -> bool:
    """Whether a destination's address part is an IP address (else it names a virtual-address object)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def with_mask(address: str | None, mask: object) -> str | None:
    """The destination as a network where the virtual's ``mask`` is not a host mask: ``0.0.0.0`` with ``any`` →
    0.0.0.0/0 (a wildcard virtual), ``10.1.0.0`` with ``255.255.0.0`` → 10.1.0.0/16. Raises ValueError for a mask
    that is not contiguous or not of the address's family."""
    if address is None or mask is None or not isinstance(mask, str) or mask in ("", "none"):
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # not an address: the record's own validation names it
    if mask in ("any", "any6"):
        return f"{ip}/0"
    try:
        value = int(ipaddress.ip_address(mask))
    except ValueError:
        raise ValueError(f"mask {mask!r} is not a mask") from None
    width = ip.max_prefixlen
    if ipaddress.ip_address(mask).version != ip.version:
        raise ValueError(f"mask {mask} is not an IPv{ip.version} mask")
    inverted = ~value & ((1 << width) - 1)
    if inverted & (inverted + 1):
        raise ValueError(f"mask {mask} is not contiguous")
    length = width - inverted.bit_length()
    return address if length == width else str(ipaddress.ip_network(f"{ip}/{length}", strict=False))


def address_list_networks(entries: list[str], list_name: str) -> list[str]:
    """The entries of a net address-list as networks: addresses, prefixes, ``A-B`` ranges summarised."""
    networks: list[str] = []
    for entry in entries:
        first, dash, last = entry.partition("-")
        if not dash:
            networks.append(entry)
            continue
        try:
            span = ipaddress.summarize_address_range(ipaddress.ip_address(first), ipaddress.ip_address(last))
            networks.extend(str(net) for net in span)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"address list {list_name}: {entry!r} is not a range: {exc}") from None
    return networks


def port_list_numbers(entries: list[str], list_name: str) -> list[int | None]:
    """The entries of a net port-list as ports; a range cannot be one F5 record's port and is refused."""
    ports: list[int | None] = []
    for entry in entries:
        if "-" in entry:
            raise ValueError(f"port list {list_name}: the range {entry} cannot be one F5 port (not read yet)")
        ports.append(port_number(entry))
    return ports


def parse_destination(text: str) -> tuple[str | None, int | None, int | None]:
    """``/DMZ/10.60.60.146%6:443`` → ("10.60.60.146", 443, 6); IPv6 uses ``.`` before the port. Raises ValueError."""
    match = _DESTINATION.match(text.strip())
    if not match:
        raise ValueError(f"destination {text!r} is not /partition/address[%rd]:port")
    address = match.group("address")
    if address == "any":
        address = "0.0.0.0"
    elif address == "any6":
        address = "::"
    rd = match.group("rd")
    return address, port_number(match.group("port")), (int(rd) if rd is not None else None)


def member_record(item: dict[str, Any]) -> dict[str, Any]:
    """A pool member: its ``address`` (route domain dropped) or the address in its ``name``, and the port."""
    name = str(item.get("name", ""))
    address = str(item.get("address") or name.rsplit(":" if name.count(":") == 1 else ".", 1)[0]).split("%")[0]
    port_text = name.rsplit(":" if name.count(":") == 1 else ".", 1)[-1] if name else ""
    try:
        port = port_number(port_text) if port_text else None
    except ValueError:
        port = None  # the member's address is what lookups need; an unknown service name is not worth a refusal
    return {"ip": address, "port": port}
