"""F5 BIG-IP configuration text → ``f5`` records: the ``ltm virtual`` and ``ltm pool`` stanzas of a ``bigip.conf``
or of ``tmsh list ltm virtual`` / ``tmsh list ltm pool`` output (also in ``one-line`` form):

    ltm pool /Common/pool_web {
        members {
            /Common/10.73.251.75:80 {
                address 10.73.251.75
            }
        }
    }
    ltm virtual /Common/vs_web {
        destination /Common/10.1.10.20:80
        ip-protocol tcp
        pool /Common/pool_web
        source-address-translation {
            type automap
        }
    }

The same meaning as the iControl REST form (``f5_rest``): route domains after ``%``, IPv6 ``addr.port``,
``source-address-translation`` ``automap`` / ``snat`` + ``pool`` / ``none`` (and the older ``snat automap`` /
``snatpool NAME`` lines), members' ``address`` (or the address in the member's name). Other stanzas (nodes,
profiles, iRules, ``sys``, ``net``) are skipped. Read line by line; only one stanza is held at a time, plus a
small summary of each virtual and pool to join them. Positions: the line where the virtual's stanza starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from netlookup.imports.f5_common import (
    Destination,
    address_list_networks,
    is_address,
    member_record,
    parse_destination,
    port_list_numbers,
    port_number,
    with_mask,
)
from netlookup.imports.rows import LineTooLong, ParsedItem, ParsedRow, RowError, file_error, iter_lines

# A stanza larger than this is a file we do not understand (an unclosed brace), not a pool.
MAX_STANZA_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
_STANZA_START = re.compile(
    r"^(?:ltm|net) (virtual|pool|virtual-address|traffic-matching-criteria|address-list|port-list) (\S+) \{"
)
MAX_LIST_DEPTH = 16
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}]|[^\s{}"]+')


class Quoted(str):
    """A quoted value: never taken for a key."""

    __slots__ = ()


Block = list["str | Block"]


@dataclass
class _Stanza:
    kind: str
    name: str
    line: int
    text: list[str] = field(default_factory=list)
    size: int = 0


def _tokens(text: str) -> Iterator[str]:
    for token in _TOKEN.findall(text):
        if token.startswith('"'):
            yield Quoted(token[1:-1].replace('\\"', '"'))
        else:
            yield token


def parse_block(tokens: Iterator[str], depth: int = 0) -> Block:
    """Tokens up to the matching ``}`` as a nested list: words, and a sub-list for each ``{ ... }``. Raises
    ValueError past MAX_DEPTH levels (configurations nest a handful; a deeper stanza is not one)."""
    if depth > MAX_DEPTH:
        raise ValueError(f"braces nested more than {MAX_DEPTH} deep")
    block: Block = []
    for token in tokens:
        if token == "{" and not isinstance(token, Quoted):
            block.append(parse_block(tokens, depth + 1))
        elif token == "}" and not isinstance(token, Quoted):
            return block
        else:
            block.append(token)
    return block


def _value(block: Block, key: str) -> str | None:
    """The word after ``key`` at this level of the block."""
    for index, item in enumerate(block[:-1]):
        following = block[index + 1]
        if item == key and not isinstance(item, Quoted | list) and isinstance(following, str):
            return following
    return None


def _sub_block(block: Block, key: str) -> Block | None:
    for index, item in enumerate(block[:-1]):
        following = block[index + 1]
        if item == key and not isinstance(item, Quoted) and isinstance(following, list):
            return following
    return None


def _named_blocks(block: Block) -> Iterator[tuple[str, Block]]:
    """``name { ... }`` pairs of a block, such as the members of a pool."""
    for index, item in enumerate(block[:-1]):
        following = block[index + 1]
        if isinstance(item, str) and isinstance(following, list):
            yield item, following


def _split_path(path: str) -> tuple[str | None, str]:
    """``/Common/vs_web`` → ("Common", "vs_web"); an AS3 folder stays in the name (``/Tenant/app1/serviceMain`` →
    ("Tenant", "app1/serviceMain"): every application has a serviceMain); a bare name has no partition."""
    if path.startswith("/") and path.count("/") >= 2:
        partition, _, name = path[1:].partition("/")
        return partition, name
    return None, path


def _last_part(path: str) -> str:
    return path.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class _Criteria:
    """What a TMOS 14.1+ ``ltm traffic-matching-criteria`` gives a virtual in place of its destination: an inline
    address and port, or ``net address-list`` / ``net port-list`` names."""

    name: str
    address: str | None
    address_list: str | None
    port: str | None
    port_list: str | None
    protocol: str | None


def _criteria(name: str, body: Block) -> _Criteria:
    return _Criteria(
        name,
        _value(body, "destination-address-inline"),
        _value(body, "destination-address-list"),
        _value(body, "destination-port-inline"),
        _value(body, "destination-port-list"),
        _value(body, "protocol"),
    )


def _list_entries(body: Block, entries_key: str, lists_key: str) -> tuple[list[str], list[str]]:
    """A net address-list / port-list: its own entries (``addresses { 10.0.0.1 { } }``) and the lists it nests."""
    entries = [name for name, _ in _named_blocks(_sub_block(body, entries_key) or [])]
    nested = [word for word in _sub_block(body, lists_key) or [] if isinstance(word, str)]
    return entries, nested


class _Named:
    """Objects a virtual refers to by name (virtual-address, traffic-matching-criteria), by full path and by the
    name alone."""

    def __init__(self) -> None:
        self.addresses: dict[str, str] = {}
        self.criteria: dict[str, _Criteria] = {}
        self.lists: dict[str, dict[str, tuple[list[str], list[str]]]] = {"address-list": {}, "port-list": {}}

    @staticmethod
    def _keys(name: str) -> list[str]:
        return [name, _last_part(name)]

    def add_address(self, name: str, body: Block) -> None:
        address = _value(body, "address")
        if address is not None:
            for key in self._keys(name):
                self.addresses.setdefault(key, address)

    def add_criteria(self, name: str, body: Block) -> None:
        for key in self._keys(name):
            self.criteria.setdefault(key, _criteria(name, body))

    def add_list(self, kind: str, name: str, body: Block) -> None:
        keys = ("addresses", "address-lists") if kind == "address-list" else ("ports", "port-lists")
        for key in self._keys(name):
            self.lists[kind].setdefault(key, _list_entries(body, *keys))

    def entries(self, kind: str, name: str, depth: int = 0) -> list[str]:
        """Every entry of a net address-list or port-list, nested lists followed. Raises ValueError."""
        if depth > MAX_LIST_DEPTH:
            raise ValueError(f"net {kind} {name} nests lists more than {MAX_LIST_DEPTH} deep")
        found = self.lists[kind].get(name) or self.lists[kind].get(_last_part(name))
        if found is None:
            raise ValueError(f"net {kind} {name} is not in the file")
        entries, nested = found
        return entries + [entry for inner in nested for entry in self.entries(kind, inner, depth + 1)]


def _pool_members(body: Block) -> list[dict[str, Any]]:
    members = _sub_block(body, "members") or []
    return [
        member_record({"name": _split_path(name)[1], "address": _value(member, "address")})
        for name, member in _named_blocks(members)
    ]


def _snat(body: Block) -> str | None:
    translation = _sub_block(body, "source-address-translation")
    if translation is not None:
        kind = _value(translation, "type")
        return {"automap": "automap", "snat": _value(translation, "pool")}.get(str(kind))
    legacy = _value(body, "snat")
    if legacy == "automap":
        return "automap"
    return _value(body, "snatpool")


def _stanzas(stream: IO[bytes]) -> Iterator[_Stanza | RowError]:
    """The ``ltm virtual`` / ``ltm pool`` stanzas with their text; other stanzas are counted through, not kept."""
    current: _Stanza | None = None
    depth = 0
    try:
        for number, raw in enumerate(iter_lines(stream), start=1):
            text = raw.decode("utf-8", "replace")
            start = _STANZA_START.match(text)
            if start and (depth == 0 or current is None):
                # A new stanza at the left margin: also where a skipped stanza with unbalanced braces (an iRule's
                # comment) ends up, so one odd iRule does not hide every virtual after it.
                current, depth = _Stanza(start.group(1), start.group(2), number), 0
            for token in _tokens(text):
                if isinstance(token, Quoted):
                    continue
                depth += 1 if token == "{" else -1 if token == "}" else 0
            if current is None:
                depth = max(depth, 0)
                continue
            current.text.append(text)
            current.size += len(raw)
            if current.size > MAX_STANZA_BYTES:
                yield file_error(current.line, f"ltm {current.kind} {current.name}: stanza never closes")
                return
            if depth <= 0:
                yield current
                current, depth = None, 0
    except LineTooLong as exc:
        yield file_error(exc.number, str(exc))
        return
    if current is not None:
        yield file_error(current.line, f"ltm {current.kind} {current.name}: stanza never closes (missing }})")


def _criteria_addresses(criteria: _Criteria, named: _Named) -> list[str]:
    if criteria.address is not None:
        return [criteria.address]
    if criteria.address_list is None:
        raise ValueError(f"traffic-matching-criteria {criteria.name} names no destination address or address list")
    return address_list_networks(named.entries("address-list", criteria.address_list), criteria.address_list)


def _criteria_ports(criteria: _Criteria, named: _Named) -> list[int | None]:
    if criteria.port_list is None:
        return [port_number(criteria.port or "any")]
    return port_list_numbers(named.entries("port-list", criteria.port_list), criteria.port_list)


def _destinations(name: str, body: Block, named: _Named) -> list[Destination]:
    """Every (address, port, route domain, protocol) a virtual listens on: its ``destination`` (whose address may
    name an ``ltm virtual-address``), or its ``traffic-matching-criteria`` (inline, or address and port lists: one
    each per pair). Raises ValueError naming what is missing."""
    destination = _value(body, "destination")
    if destination is None:
        criteria_name = _value(body, "traffic-matching-criteria")
        if criteria_name is None:
            raise ValueError(f"ltm virtual {name} has no destination")
        criteria = named.criteria.get(criteria_name) or named.criteria.get(_last_part(criteria_name))
        if criteria is None:
            raise ValueError(f"ltm virtual {name}: traffic-matching-criteria {criteria_name} is not in the file")
        found: list[Destination] = []
        for address in _criteria_addresses(criteria, named):
            address_text, _, rd = address.partition("%")
            for port in _criteria_ports(criteria, named):
                found.append((address_text, port, int(rd) if rd.isdigit() else None, criteria.protocol))
        return found
    return [_destination(destination, body, named)]


def _destination(destination: str, body: Block, named: _Named) -> Destination:
    address, port, route_domain = parse_destination(destination)
    if address is not None and not is_address(address):
        partition = _split_path(destination)[0]
        found = named.addresses.get(f"/{partition}/{address}") or named.addresses.get(address)
        if found is None:
            raise ValueError(f"destination {destination!r} names virtual-address {address!r}, which is not in the file")
        address = found.split("%")[0]
    return with_mask(address, _value(body, "mask")), port, route_domain, None


def iter_f5_tmsh(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``f5`` records from ``ltm virtual`` / ``ltm pool`` configuration text."""
    virtuals: list[tuple[_Stanza, Block]] = []
    pools: dict[str, list[dict[str, Any]]] = {}
    named = _Named()
    for stanza in _stanzas(stream):
        if isinstance(stanza, RowError):
            yield stanza
            return
        try:
            body = parse_block(_tokens("".join(stanza.text)))
        except ValueError as exc:
            yield RowError(stanza.line, None, f"ltm {stanza.kind} {stanza.name}: {exc}")
            return
        # body is [ "ltm", kind, name, [ ...stanza body... ] ]
        inner = body[3] if len(body) > 3 and isinstance(body[3], list) else []
        if stanza.kind == "pool":
            members = _pool_members(inner)
            pools[stanza.name] = members
            pools.setdefault(_last_part(stanza.name), members)
        elif stanza.kind == "virtual-address":
            named.add_address(stanza.name, inner)
        elif stanza.kind == "traffic-matching-criteria":
            named.add_criteria(stanza.name, inner)
        elif stanza.kind in ("address-list", "port-list"):
            named.add_list(stanza.kind, stanza.name, inner)
        else:
            virtuals.append((stanza, inner))
    if not virtuals:
        yield file_error(1, "no ltm virtual stanzas found: expected bigip.conf or tmsh list ltm virtual text")
        return
    for stanza, body in virtuals:
        try:
            destinations = _destinations(stanza.name, body, named)
        except ValueError as exc:
            yield RowError(stanza.line, "destination", str(exc))
            continue
        partition, name = _split_path(stanza.name)
        pool = _value(body, "pool")
        for address, port, route_domain, protocol in destinations:
            yield ParsedRow(
                stanza.line,
                {
                    "partition": partition or _split_path(_value(body, "destination") or "")[0],
                    "name": name,
                    "destination": address,
                    "port": port,
                    "protocol": _value(body, "ip-protocol") or protocol,
                    "route_domain": route_domain,
                    "pool": pool,
                    "members": (pools.get(pool) or pools.get(_last_part(pool)) or []) if pool else [],
                    "snat": _snat(body),
                    "description": _value(body, "description"),
                },
            )
