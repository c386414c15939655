"""Cisco IOS / IOS-XE and ASA access lists → ``acl`` records, one per network an entry touches.

- IOS: numbered (``access-list 101 permit tcp 10.1.1.0 0.0.0.255 host 10.2.2.2 eq 443 log``) and named
  (``ip access-list extended NAME`` / ``standard``) lists; wildcard masks, ``host``, ``any``, ports ``eq``,
  ``lt``, ``gt``, ``neq``, ``range``; ``established``, ``log`` and other trailing keywords are ignored.
- ASA: ``access-list NAME [line N] extended permit|deny PROTO SRC DST [PORT]`` with subnet masks, ``any``/``any4``/
  ``any6``, ``host``, ``object NAME``, ``object-group NAME``; ``object network`` (``host``, ``subnet``) and
  ``object-group network`` (``network-object host|ADDR MASK|object``, nested ``group-object``) definitions,
  anywhere in the device's configuration (each ``hostname`` line starts the next device).
- ``ip prefix-list`` / ``ipv6 prefix-list NAME [seq N] permit|deny PREFIX [ge N] [le N]`` → ``kind`` ``prefix-list``.

Each record's ``line`` is the line of the entry in the file, ``name`` the list, ``description`` says which side
(``source``/``destination``) the network is on, and the object it came from; ``direction`` is ``in``/``out`` when
the file applies the list in that one direction (``access-group``, ``ip access-group``, ``ipv6 traffic-filter``).
``port`` is the destination port (``lt``/``gt`` become ranges; ``neq`` cannot be one range and is left empty,
said in the description).
Non-contiguous wildcard masks are errors with their line, never guessed. The file is read twice (object
definitions first), line by line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import IO, Any

from netlookup.imports.ports import SERVICE_PORTS
from netlookup.imports.rows import LineTooLong, ParsedItem, ParsedRow, RowError, iter_lines

PROTOCOLS = {
    "ip",
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "ipv6",
    "esp",
    "ahp",
    "gre",
    "igmp",
    "ospf",
    "eigrp",
    "pim",
    "sctp",
    "ah",
}
_ACTION = {"permit", "deny"}
MAX_GROUP_DEPTH = 64


class ParseError(ValueError):
    """A problem with one line: the caller turns it into a RowError with the line number."""


def _mask_to_length(address: str, mask: str, wildcard: bool) -> str:
    """``10.1.0.0 0.0.255.255`` (wildcard) or ``10.1.0.0 255.255.0.0`` (subnet mask) → ``10.1.0.0/16``."""
    try:
        value = int(ipaddress.IPv4Address(mask))
    except ValueError:
        raise ParseError(f"{mask!r} is not a mask") from None
    netmask = (~value & 0xFFFFFFFF) if wildcard else value
    inverted = ~netmask & 0xFFFFFFFF
    if inverted & (inverted + 1):
        kind = "wildcard" if wildcard else "subnet"
        raise ParseError(f"non-contiguous {kind} mask {mask} cannot be one prefix")
    length = bin(netmask).count("1")
    try:
        return str(ipaddress.ip_network(f"{address}/{length}", strict=False))
    except ValueError as exc:
        raise ParseError(str(exc)) from None


def _host(address: str) -> str:
    try:
        return str(ipaddress.ip_network(address))
    except ValueError:
        raise ParseError(f"{address!r} is not an address") from None


class Objects:
    """ASA network objects and object-groups, resolved to networks (nested groups followed, cycles refused), and
    where lists are applied. Names belong to a device: each ``hostname`` line starts the next device's
    configuration (a file may hold several), and what was defined before the first one is seen by all."""

    def __init__(self) -> None:
        self.device = 0
        self.objects: dict[tuple[int, str], list[str]] = {}
        self.groups: dict[tuple[int, str], list[tuple[str, str]]] = {}
        # (device, ACL name) → the directions it is applied in (ASA access-group, IOS ip access-group, ...)
        self.bindings: dict[tuple[int, str], set[str]] = {}

    def _key(self, table: dict[tuple[int, str], Any], name: str) -> tuple[int, str] | None:
        for key in ((self.device, name), (0, name)):
            if key in table:
                return key
        return None

    def direction(self, acl: str) -> str | None:
        """``in`` or ``out`` when every binding of the list agrees; None when unbound or bound both ways."""
        key = self._key(self.bindings, acl)
        directions = self.bindings[key] if key is not None else set()
        return next(iter(directions)) if len(directions) == 1 else None

    def resolve(self, kind: str, name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if kind == "object":
            key = self._key(self.objects, name)
            if key is None:
                raise ParseError(f"object {name!r} is not defined in the file")
            return self.objects[key]
        if name in seen:
            raise ParseError(f"object-group {name!r} contains itself")
        if len(seen) >= MAX_GROUP_DEPTH:
            raise ParseError(f"object-group {name!r} is nested more than {MAX_GROUP_DEPTH} deep")
        group = self._key(self.groups, name)
        if group is None:
            raise ParseError(f"object-group {name!r} is not defined in the file")
        networks: list[str] = []
        for member_kind, value in self.groups[group]:
            if member_kind == "network":
                networks.append(value)
            else:
                networks.extend(self.resolve(member_kind, value, seen | {name}))
        return networks


def collect_objects(lines: Iterator[str]) -> Objects:
    """First pass: ``object network`` and ``object-group network`` definitions (bad lines are skipped here and
    reported in the second pass only if an entry uses them), and where lists are applied: ASA
    ``access-group NAME in|out interface IF`` / ``access-group NAME global``, IOS ``ip access-group NAME in|out``
    and ``ipv6 traffic-filter NAME in|out`` under an ``interface``."""
    found = Objects()
    current: tuple[str, str] | None = None
    for raw in lines:
        words = raw.split()
        if not words:
            continue
        binding = _binding(words, indented=raw[0].isspace(), in_interface=current is not None and current[0] == "if")
        if binding is not None:
            found.bindings.setdefault((found.device, binding[0]), set()).add(binding[1])
            continue
        if not raw[0].isspace():
            current = None
            if words[0] == "hostname":
                found.device += 1
            elif words[0] == "interface" and len(words) >= 2:
                current = ("if", words[1])
            elif words[:2] == ["object", "network"] and len(words) >= 3:
                current = ("object", words[2])
                found.objects.setdefault((found.device, words[2]), [])
            elif words[:2] == ["object-group", "network"] and len(words) >= 3:
                current = ("group", words[2])
                found.groups.setdefault((found.device, words[2]), [])
            continue
        if current is None or current[0] == "if":
            continue
        target = (found.device, current[1])
        try:
            if current[0] == "object":
                if words[0] == "host" and len(words) == 2:
                    found.objects[target].append(_host(words[1]))
                elif words[0] == "subnet" and len(words) == 3:
                    found.objects[target].append(_mask_to_length(words[1], words[2], wildcard=False))
                elif words[0] == "subnet" and len(words) == 2:
                    found.objects[target].append(_host(words[1]))
            elif words[0] == "network-object" and len(words) >= 2:
                if words[1] == "host" and len(words) == 3:
                    found.groups[target].append(("network", _host(words[2])))
                elif words[1] == "object" and len(words) == 3:
                    found.groups[target].append(("object", words[2]))
                elif len(words) == 3:
                    found.groups[target].append(("network", _mask_to_length(words[1], words[2], False)))
                else:
                    found.groups[target].append(("network", _host(words[1])))
            elif words[0] == "group-object" and len(words) == 2:
                found.groups[target].append(("group", words[1]))
        except ParseError:
            continue
    return found


def _binding(words: list[str], *, indented: bool, in_interface: bool) -> tuple[str, str] | None:
    """(ACL name, direction) when the line applies a list to traffic."""
    if not indented and words[0] == "access-group" and len(words) >= 3:
        if words[2] in ("in", "out"):
            return words[1], words[2]
        if words[2] == "global":  # an ASA global policy filters traffic entering every interface
            return words[1], "in"
    applies = words[:2] in (["ip", "access-group"], ["ipv6", "traffic-filter"])
    if indented and in_interface and applies and len(words) == 4 and words[3] in ("in", "out"):
        return words[2], words[3]
    return None


def _address(words: list[str], i: int, wildcard: bool, objects: Objects) -> tuple[list[tuple[str, str]], int]:
    """One source or destination at ``words[i]``: [(network, origin)], next index."""
    if i >= len(words):
        raise ParseError("entry ends where an address was expected")
    word = words[i]
    if word in ("any", "any4"):
        return [("0.0.0.0/0", "any")], i + 1
    if word == "any6":
        return [("::/0", "any6")], i + 1
    if word == "host":
        if i + 1 >= len(words):
            raise ParseError("host without an address")
        return [(_host(words[i + 1]), "host")], i + 2
    if word in ("object", "object-group"):
        if i + 1 >= len(words):
            raise ParseError(f"{word} without a name")
        kind = "object" if word == "object" else "group"
        return [(net, f"{word} {words[i + 1]}") for net in objects.resolve(kind, words[i + 1])], i + 2
    if word == "interface":
        raise ParseError("interface addresses are not known from the configuration alone")
    if "/" in word:
        return [(_host(word), "prefix")], i + 1
    if i + 1 < len(words) and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", words[i + 1]):
        return [(_mask_to_length(word, words[i + 1], wildcard), "network")], i + 2
    return [(_host(word), "host")], i + 1


def _port_value(word: str) -> int:
    if word.isdigit() and int(word) <= 65535:
        return int(word)
    if word in SERVICE_PORTS:
        return SERVICE_PORTS[word]
    raise ParseError(f"port {word!r} is not a number or a known service name")


def _ports(words: list[str], i: int) -> tuple[str | None, str | None, int]:
    """A port operator at ``words[i]`` (if any): (port text, note, next index)."""
    if i >= len(words):
        return None, None, i
    op = words[i]
    if op == "eq" and i + 1 < len(words):
        return str(_port_value(words[i + 1])), None, i + 2
    if op == "range" and i + 2 < len(words):
        low, high = _port_value(words[i + 1]), _port_value(words[i + 2])
        return f"{low}-{high}", None, i + 3
    if op == "lt" and i + 1 < len(words):
        return f"0-{max(0, _port_value(words[i + 1]) - 1)}", None, i + 2
    if op == "gt" and i + 1 < len(words):
        return f"{min(65535, _port_value(words[i + 1]) + 1)}-65535", None, i + 2
    if op == "neq" and i + 1 < len(words):
        return None, f"all ports but {_port_value(words[i + 1])}", i + 2
    return None, None, i


def _entry(
    words: list[str], acl: str, line: int, extended: bool, wildcard: bool, objects: Objects
) -> Iterator[ParsedRow]:
    """``permit|deny ...`` (already past the list name and sequence numbers) → records."""
    action = words[0]
    i = 1
    protocol = None
    if extended:
        if i >= len(words):
            raise ParseError("entry has no protocol")
        protocol = words[i]
        if protocol in ("object-group", "object"):
            raise ParseError("service objects as the protocol are not supported")
        if protocol not in PROTOCOLS and not protocol.isdigit():
            raise ParseError(f"protocol {protocol!r} is not known")
        i += 1
    sources, i = _address(words, i, wildcard, objects)
    source_port, source_note, i = _ports(words, i) if extended else (None, None, i)
    destinations: list[tuple[str, str]] = []
    port = note = None
    if extended:
        destinations, i = _address(words, i, wildcard, objects)
        port, note, i = _ports(words, i)
    for side, networks, side_port, side_note in (
        ("source", sources, source_port, source_note),
        ("destination", destinations, port, note),
    ):
        for network, origin in networks:
            text = f"{side} {origin}" + (f" port {side_port}" if side == "source" and side_port else "")
            text += f"; {side_note}" if side_note else ""
            yield ParsedRow(
                line,
                {
                    "line": line,
                    "name": acl,
                    "kind": "acl",
                    "action": action,
                    "direction": objects.direction(acl),
                    "protocol": protocol,
                    "cidr": network,
                    "port": port,
                    "description": text,
                },
            )


def _prefix_list(words: list[str], line: int) -> ParsedRow:
    # ip|ipv6 prefix-list NAME [seq N] permit|deny PREFIX [ge N] [le N]
    name = words[2]
    i = 3
    if words[i : i + 1] == ["seq"]:
        i += 2
    if i + 1 >= len(words) or words[i] not in _ACTION:
        raise ParseError("prefix-list line needs permit|deny and a prefix")
    extra = " ".join(words[i + 2 :])
    return ParsedRow(
        line,
        {
            "line": line,
            "name": name,
            "kind": "prefix-list",
            "action": words[i],
            "cidr": _host(words[i + 1]),
            "description": extra or None,
        },
    )


def _numbered_is_extended(name: str) -> bool:
    """IOS numbered lists: 1-99 and 1300-1999 are standard, 100-199 and 2000-2699 extended."""
    if not name.isdigit():
        return True
    number = int(name)
    return 100 <= number <= 199 or 2000 <= number <= 2699


def iter_cisco_acl(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``acl`` records from IOS/ASA configuration text."""
    start = stream.tell()
    try:
        objects = collect_objects(raw.decode("utf-8", "replace") for raw in iter_lines(stream))
    except LineTooLong as exc:
        yield RowError(exc.number, None, str(exc))
        return
    stream.seek(start)
    objects.device = 0
    named: tuple[str, bool] | None = None  # (name, extended) of the current IOS named list
    produced = 0
    for number, raw in enumerate(iter_lines(stream), start=1):
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        words = text.split()
        if not words or words[0] in ("!", "remark") or text.lstrip().startswith("!"):
            continue
        try:
            if not text[0].isspace():
                named = None
                if words[0] == "hostname":  # the next device's configuration: its own object names
                    objects.device += 1
                    continue
                if words[:2] == ["ip", "access-list"] and len(words) >= 4 and words[2] in ("extended", "standard"):
                    named = (words[3], words[2] == "extended")
                    continue
                if words[1:2] == ["prefix-list"] and words[0] in ("ip", "ipv6") and len(words) >= 5:
                    if words[3] != "description":
                        yield _prefix_list(words, number)
                        produced += 1
                    continue
                if words[0] == "access-list" and len(words) >= 3:
                    name, rest = words[1], words[2:]
                    if rest[0] == "line" and len(rest) > 2:
                        rest = rest[2:]
                    if rest[0] in ("remark", "webtype", "ethertype"):
                        continue
                    asa = rest[0] in ("extended", "standard")
                    extended = rest[0] == "extended" if asa else _numbered_is_extended(name)
                    rest = rest[1:] if asa else rest
                    if rest and rest[0] == "dynamic":
                        continue
                    if not rest or rest[0] not in _ACTION:
                        raise ParseError("access-list entry needs permit or deny")
                    for record in _entry(rest, name, number, extended, wildcard=not asa, objects=objects):
                        produced += 1
                        yield record
                continue
            if named is not None:
                rest = words[1:] if words[0].isdigit() else words
                if rest and rest[0] in _ACTION:
                    for record in _entry(rest, named[0], number, named[1], wildcard=True, objects=objects):
                        produced += 1
                        yield record
        except ParseError as exc:
            produced += 1
            yield RowError(number, None, str(exc))
        except (IndexError, ValueError) as exc:
            produced += 1
            yield RowError(number, None, f"cannot read this entry: {exc}")
    if produced == 0:
        yield RowError(1, None, "no access-list, ip access-list or ip prefix-list entries found")
