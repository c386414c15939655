"""Cisco IOS/ASA named objects, read in a first pass over the configuration: network objects and groups, service
objects and groups, protocol and port groups, where lists are applied, and which platform the file is from.

- ASA: ``object network`` (``host``, ``subnet``, ``range``), ``object-group network`` (``network-object host|ADDR
  MASK|ADDR/LEN|object``), ``object service`` (``service tcp [source OP ..] [destination OP ..]``),
  ``object-group service NAME [tcp|udp|tcp-udp]`` (``port-object``, ``service-object``), ``object-group protocol``
  (``protocol-object``), ``object-group icmp-type`` (``icmp-object``), nested ``group-object`` everywhere.
- IOS / IOS-XE / NX-OS: ``object-group network`` members without a keyword (``host A``, ``A MASK``, ``A/LEN``,
  ``range A B``, ``any``), ``object-group service`` (``tcp eq 443``, ``udp range 1 100``, ``icmp echo``),
  ``object-group ip address`` (``addrgroup``) and ``object-group ip port`` (``portgroup``), members optionally
  numbered.

A member line that cannot be read is kept as an error: an entry that uses the group fails with that reason (a
group is never silently smaller than the file says).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from netlookup.imports.ports import CISCO_PORTS

MAX_GROUP_DEPTH = 64
PORT_PROTOCOLS = {"tcp", "udp", "sctp", "tcp-udp"}
# The protocol keywords after which Cisco lists take an ICMP type (the stored protocol names are records.py's
# ICMP_PROTOCOLS).
CISCO_ICMP_KEYWORDS = frozenset({"icmp", "icmp6", "icmpv6", "ipv6-icmp"})
# Words after an entry's destination that change how it is logged or matched, never which networks or ports:
# each takes the given number of arguments.
TRAILING_KEYWORDS: dict[str, int] = {
    "log": 0,
    "log-input": 0,
    "established": 0,
    "fragments": 0,
    "time-range": 1,
    "precedence": 1,
    "dscp": 1,
    "tos": 1,
    "option": 1,
    "reflect": 1,
    "timeout": 1,
    "interval": 1,
    "disable": 0,
    "default": 0,
    "match-any": 0,
    "match-all": 0,
    "ack": 0,
    "fin": 0,
    "psh": 0,
    "rst": 0,
    "syn": 0,
    "urg": 0,
    "counter": 1,
    "sequence": 1,
    "rule-id": 1,
    "event-log": 1,
    "notifications": 0,
    "errors": 0,
    "warnings": 0,
    "informational": 0,
    "debugging": 0,
    "critical": 0,
    "alerts": 0,
    "emergencies": 0,
}


class ParseError(ValueError):
    """A problem with one line: the caller turns it into a RowError with the line number."""


@dataclass(frozen=True, slots=True)
class Service:
    """What an entry admits besides its networks: a protocol and, for tcp/udp, port ranges ("443", "1-100")."""

    protocol: str
    source_port: str | None = None
    port: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Group:
    """An object or object-group: ``kind`` is network, service, protocol, port or icmp; members are
    (member kind, value) where member kind is a value kind, ``object``/``group`` (a reference) or ``error``."""

    kind: str
    members: list[tuple[str, Any]] = field(default_factory=list)


def contiguous_length(mask: str, *, wildcard: bool) -> int | None:
    """The prefix length a mask stands for, read as a wildcard or as a netmask; None when it is not contiguous."""
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        raise ParseError(f"{mask!r} is not a mask") from None
    netmask = (~value & 0xFFFFFFFF) if wildcard else value
    inverted = ~netmask & 0xFFFFFFFF
    if inverted & (inverted + 1):
        return None
    return bin(netmask).count("1")


def masked_network(address: str, mask: str, *, wildcard: bool | None, prefer_wildcard: bool = False) -> str:
    """``ADDR MASK`` as a CIDR. ``wildcard`` True (IOS lists) or False (objects): that reading only; None (an ASA-form
    ``access-list NAME extended`` line): whichever of the two the mask is; 0.0.0.0 and 255.255.255.255, which are
    both, by ``prefer_wildcard`` (the platform the device's configuration shows)."""
    readings = [wildcard] if wildcard is not None else [prefer_wildcard, not prefer_wildcard]
    for as_wildcard in readings:
        length = contiguous_length(mask, wildcard=as_wildcard)
        if length is not None:
            try:
                return str(ipaddress.ip_network(f"{address}/{length}", strict=False))
            except ValueError as exc:
                raise ParseError(str(exc)) from None
    kind = {True: "wildcard", False: "subnet", None: "subnet or wildcard"}[wildcard]
    raise ParseError(f"non-contiguous {kind} mask {mask} cannot be one prefix")


def host_network(address: str) -> str:
    try:
        return str(ipaddress.ip_network(address))
    except ValueError:
        raise ParseError(f"{address!r} is not an address") from None


def range_networks(first: str, last: str) -> list[str]:
    try:
        start, end = ipaddress.ip_address(first), ipaddress.ip_address(last)
        return [str(net) for net in ipaddress.summarize_address_range(start, end)]
    except (ValueError, TypeError) as exc:
        raise ParseError(f"range {first} {last} is not an address range: {exc}") from None


def port_value(word: str) -> int:
    if word.isdigit() and int(word) <= 65535:
        return int(word)
    if word in CISCO_PORTS:
        return CISCO_PORTS[word]
    raise ParseError(f"port {word!r} is not a number or a known service name")


def port_spec(words: list[str], i: int) -> tuple[tuple[str | None, str | None] | None, int]:
    """An operator at ``words[i]`` (eq, lt, gt, neq, range) as ((port text or None, note), next index); (None, i)
    when there is none. ``eq A B ...`` (several ports) is not one range: it is refused."""
    if i >= len(words) or words[i] not in ("eq", "lt", "gt", "neq", "range"):
        return None, i
    op = words[i]
    need = 2 if op == "range" else 1
    if len(words) - (i + 1) < need:
        raise ParseError(f"port operator {op} without its port")
    if op == "range":
        return (f"{port_value(words[i + 1])}-{port_value(words[i + 2])}", None), i + 3
    value = port_value(words[i + 1])
    if op == "eq":
        return (str(value), None), i + 2
    if op == "lt":
        return (f"0-{max(0, value - 1)}", None), i + 2
    if op == "gt":
        return (f"{min(65535, value + 1)}-65535", None), i + 2
    return (None, f"all ports but {value}"), i + 2


def protocols_of(protocol: str) -> list[str]:
    """``tcp-udp`` is both; anything else is itself."""
    return ["tcp", "udp"] if protocol == "tcp-udp" else [protocol]


def service_members(words: list[str]) -> list[Service]:
    """``PROTO [source OP ..] [destination] [OP ..] [ICMP-TYPE [CODE]]`` (ASA ``service``/``service-object``, IOS
    ``object-group service`` members) → services, one per protocol."""
    if not words:
        raise ParseError("service without a protocol")
    protocol, i = words[0], 1
    source = destination = None
    note = None
    if words[i : i + 1] == ["source"]:
        source, i = port_spec(words, i + 1)
        if source is None:
            raise ParseError("source without a port operator")
    if words[i : i + 1] == ["destination"]:
        destination, i = port_spec(words, i + 1)
        if destination is None:
            raise ParseError("destination without a port operator")
    elif destination is None:
        destination, i = port_spec(words, i)
    if protocol in CISCO_ICMP_KEYWORDS and i < len(words):
        note = f"icmp {' '.join(words[i : i + 2])}"
        i = len(words)
    if i < len(words):
        raise ParseError(f"service {' '.join(words)!r}: {words[i]!r} is not understood")
    notes = [part for part in (source and source[1], destination and destination[1], note) if part]
    return [
        Service(
            name,
            source_port=source[0] if source else None,
            port=destination[0] if destination else None,
            note="; ".join(notes) or None,
        )
        for name in protocols_of(protocol)
    ]


def _without_sequence(words: list[str]) -> list[str]:
    return words[1:] if words and words[0].isdigit() and len(words) > 1 else words


def network_member(words: list[str]) -> tuple[str, Any]:
    """One member line of a network group (ASA ``network-object ...`` or IOS/NX-OS keyword-less)."""
    words = _without_sequence(words)
    if words[0] == "network-object":
        words = words[1:]
        if words[:1] == ["object"] and len(words) == 2:
            return "object", words[1]
    if words[0] == "group-object" and len(words) == 2:
        return "group", words[1]
    if words[0] == "host" and len(words) == 2:
        return "networks", [host_network(words[1])]
    if words[0] == "range" and len(words) == 3:
        return "networks", range_networks(words[1], words[2])
    if words[0] in ("any", "any4") and len(words) == 1:
        return "networks", ["0.0.0.0/0"]
    if words[0] == "any6" and len(words) == 1:
        return "networks", ["::/0"]
    if len(words) == 2:
        return "networks", [masked_network(words[0], words[1], wildcard=False)]
    if len(words) == 1:
        return "networks", [host_network(words[0])]
    raise ParseError(f"network group member {' '.join(words)!r} is not understood")


class Objects:
    """The named objects of each device, where its lists are applied, and its platform. Names belong to a device:
    each ``hostname`` line starts the next device's configuration (a file may hold several), and what was defined
    before the first one is seen by all."""

    def __init__(self) -> None:
        self.device = 0
        self.groups: dict[tuple[int, str], Group] = {}
        # (device, ACL name) → the directions it is applied in (ASA access-group, IOS ip access-group, ...)
        self.bindings: dict[tuple[int, str], set[str]] = {}
        # ASA `name A NAME` aliases and the address of each `nameif` interface, per device
        self.names: dict[tuple[int, str], str] = {}
        self.interfaces: dict[tuple[int, str], str] = {}
        # device → how many lines of ASA and of IOS syntax its configuration has
        self.asa_markers: dict[int, int] = {}
        self.ios_markers: dict[int, int] = {}

    @property
    def looks_like_ios(self) -> bool:
        """The current device's configuration (else the file's) shows IOS syntax and no ASA syntax: an ambiguous
        mask (0.0.0.0, 255.255.255.255) on an ASA-form line is a wildcard."""
        asa, ios = self.asa_markers.get(self.device, 0), self.ios_markers.get(self.device, 0)
        if asa == ios == 0:
            asa, ios = sum(self.asa_markers.values()), sum(self.ios_markers.values())
        return ios > 0 and asa == 0

    def _key(self, name: str) -> tuple[int, str] | None:
        for key in ((self.device, name), (0, name)):
            if key in self.groups:
                return key
        return None

    def _lookup(self, table: dict[tuple[int, str], str], name: str) -> str | None:
        return table.get((self.device, name)) or table.get((0, name))

    def address(self, word: str) -> str:
        """``word`` as an address: itself, or the address an ASA ``name`` line gives it."""
        return self._lookup(self.names, word) or word

    def interface_address(self, nameif: str) -> str:
        """The address of the ASA interface called ``nameif`` (its ``ip address``)."""
        found = self._lookup(self.interfaces, nameif)
        if found is None:
            raise ParseError(f"interface {nameif!r} has no ip address in the configuration")
        return found

    def kind_of(self, name: str) -> str | None:
        key = self._key(name)
        return self.groups[key].kind if key is not None else None

    def direction(self, acl: str) -> str | None:
        """``in`` or ``out`` when every binding of the list agrees; None when unbound or bound both ways."""
        directions = set()
        for key in ((self.device, acl), (0, acl)):
            directions |= self.bindings.get(key, set())
        return next(iter(directions)) if len(directions) == 1 else None

    def resolve(self, name: str, kind: str, seen: frozenset[str] = frozenset()) -> list[Any]:
        """Every value of the object or group ``name`` (nested groups followed, cycles refused), which must be of
        ``kind``: networks, services, protocols, port ranges or icmp types."""
        if name in seen:
            raise ParseError(f"object-group {name!r} contains itself")
        if len(seen) >= MAX_GROUP_DEPTH:
            raise ParseError(f"object-group {name!r} is nested more than {MAX_GROUP_DEPTH} deep")
        key = self._key(name)
        if key is None:
            raise ParseError(f"{kind} object or group {name!r} is not defined in the file")
        group = self.groups[key]
        if group.kind != kind:
            raise ParseError(f"{name!r} is a {group.kind} group, not a {kind} group")
        values: list[Any] = []
        for member_kind, value in group.members:
            if member_kind == "error":
                raise ParseError(f"{name!r} has a member that cannot be read: {value}")
            if member_kind in ("object", "group"):
                values.extend(self.resolve(value, kind, seen | {name}))
            else:
                values.extend(value)
        return values


def _start_group(found: Objects, words: list[str]) -> Group | None:
    """The object or group a top-level line opens, or None."""
    head = words[0]
    if head == "object" and len(words) >= 3 and words[1] in ("network", "service"):
        kind = words[1]
    elif head == "object-group" and len(words) >= 3:
        kinds = {"network": "network", "service": "service", "protocol": "protocol", "icmp-type": "icmp"}
        if words[1] in kinds:
            kind = kinds[words[1]]
            if kind == "service" and len(words) >= 4 and words[3] in PORT_PROTOCOLS:
                kind = "port"  # ASA: object-group service NAME tcp|udp|tcp-udp holds port-objects
        elif words[1:3] == ["ip", "address"] and len(words) >= 4:
            kind = "network"
            words = [head, "network", words[3]]
        elif words[1:3] == ["ip", "port"] and len(words) >= 4:
            kind = "port"
            words = [head, "port", words[3]]
        elif words[1:3] == ["ipv6", "address"] and len(words) >= 4:
            kind = "network"
            words = [head, "network", words[3]]
        else:
            return None
    else:
        return None
    group = Group(kind)
    found.groups[(found.device, words[2])] = group
    return group


def _member(group: Group, words: list[str]) -> tuple[str, Any] | None:
    """One member line of ``group``; None for lines that are not members (description, nat, ...)."""
    if words[0] in ("description", "nat", "exit"):
        return None
    if words[0] == "group-object" and len(words) == 2:
        return "group", words[1]
    if group.kind == "network":
        if words[0] == "subnet" and len(words) == 3:  # ASA object network
            return "networks", [masked_network(words[1], words[2], wildcard=False)]
        if words[0] == "subnet" and len(words) == 2:
            return "networks", [host_network(words[1])]
        if words[0] == "fqdn":
            raise ParseError(f"fqdn {' '.join(words[1:])} names no network in the configuration")
        return network_member(words)
    if group.kind == "service":
        words = _without_sequence(words)
        if words[0] in ("service", "service-object"):
            words = words[1:]
            if words[:1] == ["object"] and len(words) == 2:
                return "object", words[1]
        return "services", service_members(words)
    if group.kind == "protocol":
        words = _without_sequence(words)
        if words[0] == "protocol-object" and len(words) == 2:
            return "protocols", protocols_of(words[1])
        raise ParseError(f"protocol group member {' '.join(words)!r} is not understood")
    if group.kind == "icmp":
        if words[0] == "icmp-object" and len(words) >= 2:
            return "types", [" ".join(words[1:])]
        raise ParseError(f"icmp-type group member {' '.join(words)!r} is not understood")
    # port groups: ASA port-object, IOS object-group ip port
    words = _without_sequence(words)
    if words[0] == "port-object":
        words = words[1:]
    spec, end = port_spec(words, 0)
    if spec is None or end != len(words):
        raise ParseError(f"port group member {' '.join(words)!r} is not understood")
    return "ports", [spec]


ASA_MARKERS = ("ASA Version", "PIX Version", "names", "nameif", "access-group", "object network", "object service")
IOS_MARKERS = ("ip access-list", "ipv6 access-list", "ip routing", "ip cef", "service timestamps", "line vty")


def collect_objects(lines: Iterable[str]) -> Objects:
    """First pass: object and group definitions, where lists are applied (ASA ``access-group NAME in|out interface
    IF`` / ``access-group NAME global``, IOS ``ip access-group NAME in|out`` and ``ipv6 traffic-filter NAME in|out``
    under an ``interface``), and which platform the file shows."""
    found = Objects()
    group: Group | None = None
    in_interface = False
    nameif: str | None = None
    interface_address: str | None = None
    for raw in lines:
        words = raw.split()
        if not words or words[0].startswith("!"):
            continue
        indented = raw[0].isspace()
        binding = _binding(words, indented=indented, in_interface=in_interface)
        if binding is not None:
            found.bindings.setdefault((found.device, binding[0]), set()).add(binding[1])
        if in_interface and indented:
            if words[0] == "nameif" and len(words) == 2:
                nameif = words[1]
            elif words[:2] == ["ip", "address"] and len(words) >= 3:
                interface_address = words[2]
            if nameif and interface_address:
                found.interfaces.setdefault((found.device, nameif), interface_address)
        if not indented:
            group, in_interface, nameif, interface_address = None, False, None, None
            if words[0] == "name" and len(words) >= 3:
                found.names[(found.device, words[2])] = words[1]
            text = " ".join(words)
            if words[0] == "hostname":
                found.device += 1
            if any(text.startswith(marker) for marker in ASA_MARKERS):
                found.asa_markers[found.device] = found.asa_markers.get(found.device, 0) + 1
            if any(text.startswith(marker) for marker in IOS_MARKERS):
                found.ios_markers[found.device] = found.ios_markers.get(found.device, 0) + 1
            if words[0] == "interface":
                in_interface = True
            else:
                group = _start_group(found, words)
            continue
        if group is None:
            continue
        try:
            member = _member(group, words)
        except ParseError as exc:
            member = ("error", f"{' '.join(words)!r}: {exc}")
        except (IndexError, ValueError):
            member = ("error", f"{' '.join(words)!r} is not understood")
        if member is not None:
            group.members.append(member)
    return found


def _binding(words: list[str], *, indented: bool, in_interface: bool) -> tuple[str, str] | None:
    """(ACL name, direction) when the line applies a list to traffic."""
    if not indented and words[0] == "access-group" and len(words) >= 3:
        if words[2] in ("in", "out"):
            return words[1], words[2]
        if words[2] == "global":  # an ASA global policy filters traffic entering every interface
            return words[1], "in"
    applies = words[:2] in (["ip", "access-group"], ["ipv6", "traffic-filter"], ["ipv6", "access-group"])
    if indented and in_interface and applies and len(words) == 4 and words[3] in ("in", "out"):
        return words[2], words[3]
    return None
