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

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from netlookup.imports.cisco_objects import (
    CISCO_ICMP_KEYWORDS,
    TRAILING_KEYWORDS,
    Objects,
    ParseError,
    Service,
    collect_objects,
    host_network,
    masked_network,
    port_spec,
)
from netlookup.imports.ports import CISCO_PORTS
from netlookup.imports.rows import (
    MAX_TEXT,
    LineTooLong,
    ParsedItem,
    ParsedRow,
    RowError,
    Unmapped,
    file_error,
    iter_lines,
)

PROTOCOLS = {
    "ip", "tcp", "udp", "icmp", "icmp6", "ipv6", "esp", "ahp", "ah", "gre", "igmp", "igrp", "ospf", "eigrp", "pim",
    "sctp", "ipinip", "nos", "pcp", "snp", "pptp", "ipsec", "ipv4",
}  # fmt: skip
_ACTION = {"permit", "deny"}
_DOTTED = re.compile(r"\d+\.\d+\.\d+\.\d+")
# `ip access-list WORD` lines that set an option rather than open a list (NX-OS opens a list with the name alone).
_ACCESS_LIST_OPTIONS = {"persistent", "match-local-traffic", "logging", "log-update", "resequence", "role-based"}


@dataclass(frozen=True, slots=True)
class ListContext:
    """The list an entry belongs to and how its addresses read: ``wildcard`` True (IOS), or None (an ASA-form line:
    a netmask or a wildcard, whichever the mask can be); ``ipv6`` for ``ipv6 access-list`` (where ``any`` is ::/0
    and ``ipv6`` every protocol)."""

    name: str
    extended: bool
    wildcard: bool | None
    ipv6: bool = False


def _address(words: list[str], i: int, context: ListContext, objects: Objects) -> tuple[list[tuple[str, str]], int]:
    """One source or destination at ``words[i]``: [(network, origin)], next index."""
    if i >= len(words):
        raise ParseError("entry ends where an address was expected")
    word = words[i]
    if word in ("any", "any4"):
        any_network = "::/0" if context.ipv6 and word == "any" else "0.0.0.0/0"
        return [(any_network, "any")], i + 1
    if word == "any6":
        return [("::/0", "any6")], i + 1
    if word == "host":
        if i + 1 >= len(words):
            raise ParseError("host without an address")
        return [(host_network(objects.address(words[i + 1])), "host")], i + 2
    if word in ("object", "object-group", "addrgroup"):
        if i + 1 >= len(words):
            raise ParseError(f"{word} without a name")
        return [(net, f"{word} {words[i + 1]}") for net in objects.resolve(words[i + 1], "network")], i + 2
    if word == "interface":
        if i + 1 >= len(words):
            raise ParseError("interface without a name")
        return [(host_network(objects.interface_address(words[i + 1])), f"interface {words[i + 1]}")], i + 2
    if "/" in word:
        return [(host_network(word), "prefix")], i + 1
    if i + 1 < len(words) and _DOTTED.fullmatch(words[i + 1]):
        address = objects.address(word)
        network = masked_network(
            address, words[i + 1], wildcard=context.wildcard, prefer_wildcard=objects.looks_like_ios
        )
        return [(network, "network")], i + 2
    return [(host_network(objects.address(word)), "host")], i + 1


PortChoice = tuple[str | None, str | None]  # (port text or None for any, note)


def _is_port_word(word: str) -> bool:
    return (word.isdigit() and int(word) <= 65535) or (word in CISCO_PORTS and word not in TRAILING_KEYWORDS)


def _ports(words: list[str], i: int, objects: Objects) -> tuple[list[PortChoice], int]:
    """The ports at ``words[i]``: an operator, an IOS ``portgroup``, or an ASA port ``object-group``; [(None,
    None)] (any port) when what follows is not a port."""
    spec, after = port_spec(words, i)
    if spec is not None:
        specs = [spec]
        # IOS XE: `eq 22 80 443` is several ports; what follows them is an address or an option, never a port.
        while words[i] in ("eq", "neq") and after < len(words) and _is_port_word(words[after]):
            more, after = port_spec([words[i], words[after]], 0)[0], after + 1
            assert more is not None
            specs.append(more)
        return specs, after
    if i + 1 < len(words) and words[i] == "portgroup":
        return objects.resolve(words[i + 1], "port"), i + 2
    if i + 1 < len(words) and words[i] == "object-group" and objects.kind_of(words[i + 1]) == "port":
        return objects.resolve(words[i + 1], "port"), i + 2
    return [(None, None)], i


def _protocols(words: list[str], i: int, context: ListContext, objects: Objects) -> tuple[list[Service], str, int]:
    """What the entry's protocol position names: [services], where they came from, next index."""
    if i >= len(words):
        raise ParseError("entry has no protocol")
    word = words[i]
    if word in ("object-group", "object") and i + 1 < len(words):
        name = words[i + 1]
        kind = objects.kind_of(name)
        if kind == "protocol":
            return [Service(p) for p in objects.resolve(name, "protocol")], f"protocol {word} {name}", i + 2
        if kind in ("service", None):
            return objects.resolve(name, "service"), f"service {word} {name}", i + 2
        raise ParseError(f"{name!r} is a {kind} group, not a service or protocol group")
    if word not in PROTOCOLS and not word.isdigit():
        raise ParseError(f"protocol {word!r} is not known")
    # `ipv6` in an IPv6 list and IOS-XR's `ipv4` mean every protocol, as `ip` does
    protocol = "ip" if (context.ipv6 and word == "ipv6") or word == "ipv4" else word
    return [Service(protocol)], "", i + 1


def _icmp_types(words: list[str], i: int, services: list[Service], objects: Objects) -> tuple[list[str], int]:
    """ICMP type (and code) after the destination of an icmp entry, or an ASA icmp-type ``object-group``."""
    if i >= len(words) or not any(s.protocol in CISCO_ICMP_KEYWORDS for s in services):
        return [], i
    word = words[i]
    if word == "object-group" and i + 1 < len(words) and objects.kind_of(words[i + 1]) == "icmp":
        return objects.resolve(words[i + 1], "icmp"), i + 2
    if word in TRAILING_KEYWORDS or word == "inactive":
        return [], i
    if i + 1 < len(words) and words[i + 1].isdigit():
        return [f"{word} {words[i + 1]}"], i + 2
    return [word], i + 1


def _trailing(words: list[str], i: int) -> bool:
    """Read the keywords after the destination (logging, flags, time ranges); True when the entry is
    ``inactive``. Anything else is an error: a word we do not understand could narrow what the entry admits."""
    inactive = False
    while i < len(words):
        word = words[i]
        if word == "inactive":
            inactive, i = True, i + 1
        elif word == "ttl" and i + 2 < len(words):
            i += 4 if words[i + 1] == "range" else 3
        elif word in TRAILING_KEYWORDS:
            i += 1 + TRAILING_KEYWORDS[word]
            if word == "log" and i < len(words) and words[i].isdigit():
                i += 1  # ASA: log LEVEL
        elif word.startswith("+") or word.startswith("-"):
            i += 1  # match-any +syn -ack
        else:
            raise ParseError(f"{word!r} after the destination is not understood")
    return inactive


def _combined(services: list[Service], sources: list[PortChoice], destinations: list[PortChoice]) -> list[Service]:
    combined = []
    for service in services:
        for source_port, source_note in sources:
            for port, note in destinations:
                notes = [n for n in (service.note, source_note, note) if n]
                combined.append(
                    Service(
                        service.protocol,
                        source_port=source_port or service.source_port,
                        port=port or service.port,
                        note="; ".join(notes) or None,
                    )
                )
    return combined


def _entry(words: list[str], line: int, context: ListContext, objects: Objects) -> Iterator[ParsedRow | Unmapped]:
    """``permit|deny ...`` (already past the list name and sequence numbers) → records, or one Unmapped for an
    ``inactive`` entry (it filters nothing)."""
    action = words[0]
    if context.extended:
        services, service_origin, i = _protocols(words, 1, context, objects)
    else:
        services, service_origin, i = [Service("")], "", 1
    sources, i = _address(words, i, context, objects)
    destinations: list[tuple[str, str]] = []
    source_ports: list[PortChoice] = [(None, None)]
    destination_ports: list[PortChoice] = [(None, None)]
    icmp: list[str] = []
    if context.extended:
        source_ports, i = _ports(words, i, objects)
        destinations, i = _address(words, i, context, objects)
        destination_ports, i = _ports(words, i, objects)
        icmp, i = _icmp_types(words, i, services, objects)
        if service_origin.startswith("service") and (source_ports + destination_ports) != [(None, None)] * 2:
            raise ParseError("ports are given both by the service object and after the addresses")
    if _trailing(words, i):
        yield Unmapped(line, "inactive-entry", {"name": context.name, "text": " ".join(words)})
        return
    flows = _combined(services, source_ports, destination_ports)
    if icmp:
        flows = [
            Service(f.protocol, f.source_port, f.port, "; ".join(filter(None, [f.note, f"icmp {t}"])))
            for f in flows
            for t in icmp
        ]
    for flow in flows:
        for side, networks in (("source", sources), ("destination", destinations)):
            for network, origin in networks:
                text = f"{side} {origin}"
                text += f" port {flow.source_port}" if side == "source" and flow.source_port else ""
                text += f"; {service_origin}" if service_origin else ""
                text += f"; {flow.note}" if flow.note else ""
                yield ParsedRow(
                    line,
                    {
                        "line": line,
                        "name": context.name,
                        "kind": "acl",
                        "action": action,
                        "direction": objects.direction(context.name),
                        "protocol": flow.protocol or None,
                        "cidr": network,
                        "port": flow.port,
                        "description": text,
                    },
                )


def _prefix_list(words: list[str], line: int) -> ParsedRow:
    # ip|ipv6 prefix-list NAME [seq N | N] permit|deny PREFIX [ge N] [le N]
    name = words[2]
    i = 3
    if words[i : i + 1] == ["seq"]:
        i += 2
    elif words[i].isdigit():
        i += 1
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
            "cidr": host_network(words[i + 1]),
            "description": extra or None,
        },
    )


# IOS numbered lists: which numbers are IP lists, and of which kind; every other number filters something else
# (MAC addresses, protocol types, IPX, DECnet...).
_STANDARD_NUMBERS = (range(1, 100), range(1300, 2000))
_EXTENDED_NUMBERS = (range(100, 200), range(2000, 2700))


def _numbered_kind(name: str) -> str | None:
    """``standard`` or ``extended`` for an IOS numbered IP list; None for a non-IP list; ``named`` otherwise."""
    if not name.isdigit():
        return "named"
    number = int(name)
    if any(number in r for r in _STANDARD_NUMBERS):
        return "standard"
    if any(number in r for r in _EXTENDED_NUMBERS):
        return "extended"
    return None


def _block_start(words: list[str], objects: Objects) -> ListContext | None:
    """The list a top-level line opens, entries following indented: IOS ``ip access-list extended|standard NAME``,
    NX-OS ``ip access-list NAME``, IOS-XR ``ipv4 access-list NAME``, ``ipv6 access-list NAME``, and the block form
    ``access-list NAME standard|extended``."""
    if words[:2] == ["ip", "access-list"]:
        if len(words) == 4 and words[2] in ("extended", "standard"):
            return ListContext(words[3], words[2] == "extended", wildcard=True)
        if len(words) == 3 and words[2] not in _ACCESS_LIST_OPTIONS:
            return ListContext(words[2], True, wildcard=True)
    if words[:2] == ["ipv4", "access-list"] and len(words) == 3:
        return ListContext(words[2], True, wildcard=True)
    if words[:2] == ["ipv6", "access-list"] and len(words) == 3:
        return ListContext(words[2], True, wildcard=True, ipv6=True)
    if words[0] == "access-list" and len(words) == 3 and words[2] in ("extended", "standard"):
        numbered = _numbered_kind(words[1]) != "named"
        return ListContext(words[1], words[2] == "extended", wildcard=True if numbered else None)
    return None


def _one_line_list(words: list[str], number: int, objects: Objects) -> Iterator[ParsedRow | Unmapped]:
    """``access-list NAME|NUMBER [line N] [extended|standard] permit|deny ...`` (IOS numbered, ASA named)."""
    name, rest = words[1], words[2:]
    if rest[0] == "line" and len(rest) > 2:
        rest = rest[2:]
    if rest[0] == "remark":
        return
    numbered = _numbered_kind(name)
    if rest[0] in ("webtype", "ethertype") or numbered is None:
        yield Unmapped(number, "non-ip-access-list", {"name": name, "text": " ".join(words)})
        return
    asa = rest[0] in ("extended", "standard", "advanced")
    extended = rest[0] != "standard" if asa else numbered == "extended" or numbered == "named"
    rest = rest[1:] if asa else rest
    if rest and (kind := _run_time_entry(rest)) is not None:
        yield Unmapped(number, kind, {"name": name, "text": " ".join(words)})
        return
    if not rest or rest[0] not in _ACTION:
        raise ParseError("access-list entry needs permit or deny")
    # IOS numbered lists take wildcards; an ASA-form line either (an ambiguous mask as its platform reads it).
    wildcard = True if numbered != "named" else None
    yield from _entry(rest, number, ListContext(name, extended, wildcard), objects)


def _run_time_entry(words: list[str]) -> str | None:
    """``dynamic-entry`` or ``evaluate-entry`` for a lock-and-key or reflexive line in a list block (numbered or
    not): what it admits is decided at run time, not in the file, so it is reported instead of imported."""
    for word in words[:2]:
        if word in ("dynamic", "evaluate"):
            return f"{word}-entry"
    return None


def _block_entry(words: list[str]) -> list[str] | None:
    """An entry line inside a list block (past a sequence number), or None for other lines (remarks, statistics)."""
    if words[0] == "sequence" and len(words) > 2:
        words = words[2:]
    elif words[0].isdigit():
        words = words[1:]
    return words if words and words[0] in _ACTION else None


def iter_cisco_acl(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``acl`` records from IOS/ASA configuration text."""
    start = stream.tell()
    try:
        objects = collect_objects(raw.decode("utf-8", "replace") for raw in iter_lines(stream))
    except LineTooLong as exc:
        yield file_error(exc.number, str(exc))
        return
    stream.seek(start)
    objects.device = 0
    block: ListContext | None = None
    produced = 0
    for number, raw in enumerate(iter_lines(stream), start=1):
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        words = text.split()
        if not words or words[0] in ("!", "remark") or text.lstrip().startswith("!"):
            continue
        try:
            if not text[0].isspace():
                block = _block_start(words, objects)
                if block is not None:
                    continue
                if words[0] == "hostname":  # the next device's configuration: its own object names
                    objects.device += 1
                elif words[1:2] == ["prefix-list"] and words[0] in ("ip", "ipv6") and len(words) >= 5:
                    if words[3] != "description":
                        produced += 1
                        yield _prefix_list(words, number)
                elif words[0] == "access-list" and len(words) >= 3:
                    for item in _one_line_list(words, number, objects):
                        produced += 1
                        yield item
                continue
            entry = _block_entry(words) if block is not None else None
            if block is not None and entry is not None:
                for item in _entry(entry, number, block, objects):
                    produced += 1
                    yield item
            elif block is not None and (kind := _run_time_entry(words)) is not None:
                produced += 1
                yield Unmapped(number, kind, {"name": block.name, "text": text.strip()})
        except ParseError as exc:
            produced += 1
            yield RowError(number, None, str(exc), text=text.strip()[:MAX_TEXT])
        except (IndexError, ValueError) as exc:
            produced += 1
            yield RowError(number, None, f"cannot read this entry: {exc}", text=text.strip()[:MAX_TEXT])
    if produced == 0:
        yield file_error(1, "no access-list, ip access-list, ipv6 access-list or ip prefix-list entries found")
