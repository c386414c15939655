"""F5 BIG-IP iControl REST → ``f5`` records: the JSON of ``/mgmt/tm/ltm/virtual`` and of
``/mgmt/tm/ltm/pool?expandSubcollections=true``, in one document or as two documents one after the other (two
files in one import). Items are told apart by their ``kind`` and read one at a time.

- ``destination`` ``/Common/10.1.10.20:80``; a route domain after ``%`` (``/DMZ/10.60.60.146%6:443``); IPv6 with
  ``.`` before the port (``/Common/2001:db8::1.443``); ``any`` as the port is no port.
- ``sourceAddressTranslation``: ``automap`` → ``automap``; ``snat`` → its pool; ``none`` → null.
- Pool members from ``membersReference.items[]``: ``address`` (route domain stripped) and the port in ``name``.

Positions: the 1-based number of the virtual server and its JSON path (``items[3]``). The tmsh ``bigip.conf``
text form is read by ``f5_tmsh``.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from netlookup.imports.json_objects import JSON_ERRORS, as_dict, as_list, iter_objects
from netlookup.imports.rows import ParsedItem, ParsedRow, RowError, file_error

VIRTUAL_KIND = "tm:ltm:virtual:virtualstate"
POOL_KIND = "tm:ltm:pool:poolstate"
VIRTUAL_ADDRESS_KIND = "tm:ltm:virtual-address:virtual-addressstate"
CRITERIA_KIND = "tm:ltm:traffic-matching-criteria:traffic-matching-criteriastate"
ADDRESS_LIST_KIND = "tm:net:address-list:address-liststate"
PORT_LIST_KIND = "tm:net:port-list:port-liststate"
MAX_LIST_DEPTH = 16
VIRTUAL_FIELDS = (
    "mask",
    "partition",
    "subPath",
    "name",
    "destination",
    "trafficMatchingCriteria",
    "ipProtocol",
    "pool",
    "sourceAddressTranslation",
    "description",
)


def _items(stream: IO[bytes]) -> Iterator[tuple[str, dict[str, Any]] | RowError]:
    """(JSON path, object) of every ``items[]`` element of every document (``items[3]``, ``virtual.items[0]``)."""
    count = 0
    seen: dict[str, int] = {}
    try:
        for prefix, value in iter_objects(
            stream, lambda prefix: prefix == "items.item" or prefix.endswith(".items.item"), multiple_values=True
        ):
            count += 1
            array = prefix.removesuffix(".item")
            index = seen[array] = seen.get(array, -1) + 1
            yield f"{array}[{index}]", value
    except JSON_ERRORS as exc:
        yield file_error(count + 1, f"not valid JSON after item {count}: {exc}")


def _named(table: dict[str, dict[str, Any]], path: str) -> dict[str, Any] | None:
    return table.get(path) or table.get(path.rsplit("/", 1)[-1])


def _list_entries(named: dict[str, dict[str, dict[str, Any]]], kind: str, path: str, depth: int = 0) -> list[str]:
    """Every entry name of a net address-list / port-list item, nested lists followed. Raises ValueError."""
    if depth > MAX_LIST_DEPTH:
        raise ValueError(f"{path} nests lists more than {MAX_LIST_DEPTH} deep")
    item = _named(named[kind], path)
    if item is None:
        raise ValueError(f"{path} is not in the file")
    own, nested = ("addresses", "addressLists") if kind == ADDRESS_LIST_KIND else ("ports", "portLists")
    entries = [str(entry.get("name")) for entry in as_list(item.get(own)) if isinstance(entry, dict)]
    for inner in as_list(item.get(nested)):
        if isinstance(inner, dict):
            inner_path = inner.get("fullPath") or f"/{inner.get('partition', 'Common')}/{inner.get('name')}"
            entries.extend(_list_entries(named, kind, str(inner_path), depth + 1))
    return entries


def _criteria_destinations(criteria_path: str, named: dict[str, dict[str, dict[str, Any]]]) -> list[Destination]:
    criteria = _named(named[CRITERIA_KIND], criteria_path)
    if criteria is None:
        raise ValueError(f"trafficMatchingCriteria {criteria_path} is not in the file")
    inline, address_list = criteria.get("destinationAddressInline"), criteria.get("destinationAddressList")
    if isinstance(inline, str):
        addresses = [inline]
    elif isinstance(address_list, str):
        addresses = address_list_networks(_list_entries(named, ADDRESS_LIST_KIND, address_list), address_list)
    else:
        raise ValueError(f"trafficMatchingCriteria {criteria_path} names no destination address or address list")
    port_list = criteria.get("destinationPortList")
    if isinstance(port_list, str):
        ports = port_list_numbers(_list_entries(named, PORT_LIST_KIND, port_list), port_list)
    else:
        ports = [port_number(str(criteria.get("destinationPortInline") or "any"))]
    found: list[Destination] = []
    for address in addresses:
        address_text, _, rd = address.partition("%")
        found.extend(
            (address_text, port, int(rd) if rd.isdigit() else None, criteria.get("protocol")) for port in ports
        )
    return found


def _rest_destinations(virtual: dict[str, Any], named: dict[str, dict[str, dict[str, Any]]]) -> list[Destination]:
    """Every (address, port, route domain, protocol) of a virtual: the ``destination`` (whose address may name a
    virtual-address), or the ``trafficMatchingCriteria`` of TMOS 14.1+ (inline, or address and port lists: one
    each per pair). Raises ValueError."""
    destination = virtual.get("destination")
    criteria_path = virtual.get("trafficMatchingCriteria")
    if not destination and isinstance(criteria_path, str):
        return _criteria_destinations(criteria_path, named)
    address, port, route_domain = parse_destination(str(destination or ""))
    if address is not None and not is_address(address):
        partition = virtual.get("partition")
        found = _named(named[VIRTUAL_ADDRESS_KIND], f"/{partition}/{address}")
        if found is None or not isinstance(found.get("address"), str):
            raise ValueError(f"destination {destination!r} names virtual-address {address!r}, which is not in the file")
        address = found["address"].split("%")[0]
    return [(with_mask(address, virtual.get("mask")), port, route_domain, None)]


def iter_f5_rest(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``f5`` records from iControl REST virtual and pool collections."""
    virtuals: list[tuple[str, dict[str, Any]]] = []
    pools: dict[str, list[dict[str, Any]]] = {}
    named: dict[str, dict[str, dict[str, Any]]] = {
        kind: {} for kind in (VIRTUAL_ADDRESS_KIND, CRITERIA_KIND, ADDRESS_LIST_KIND, PORT_LIST_KIND)
    }
    for found in _items(stream):
        if isinstance(found, RowError):
            yield found
            return
        path, item = found
        kind = item.get("kind")
        if kind == VIRTUAL_KIND:  # kept until the pools are read: only the fields a record needs
            virtuals.append((path, {key: item.get(key) for key in VIRTUAL_FIELDS}))
        elif kind == POOL_KIND:
            members = [
                member_record(m)
                for m in as_list(as_dict(item.get("membersReference")).get("items"))
                if isinstance(m, dict)
            ]
            for key in (item.get("fullPath"), item.get("name")):
                if isinstance(key, str):
                    pools[key] = members
        elif isinstance(kind, str) and kind in named:
            for key in (item.get("fullPath"), item.get("name")):
                if isinstance(key, str):
                    named[kind].setdefault(key, item)
    if not virtuals:
        yield file_error(1, f"no {VIRTUAL_KIND} items found: expected the JSON of /mgmt/tm/ltm/virtual", "items")
        return
    for number, (path, virtual) in enumerate(virtuals, start=1):
        try:
            destinations = _rest_destinations(virtual, named)
        except ValueError as exc:
            yield RowError(number, "destination", str(exc), f"{path}.destination")
            continue
        translation = virtual.get("sourceAddressTranslation")
        translation = translation if isinstance(translation, dict) else {}
        snat = {"automap": "automap", "snat": translation.get("pool")}.get(str(translation.get("type")))
        pool = virtual.get("pool")
        # AS3 puts every application in a folder of its tenant: /Tenant/app1/serviceMain
        name = f"{virtual['subPath']}/{virtual.get('name')}" if virtual.get("subPath") else virtual.get("name")
        for address, port, route_domain, protocol in destinations:
            yield ParsedRow(
                number,
                {
                    "partition": virtual.get("partition"),
                    "name": name,
                    "destination": address,
                    "port": port,
                    "protocol": virtual.get("ipProtocol") or protocol,
                    "route_domain": route_domain,
                    "pool": pool,
                    "members": pools.get(str(pool), []) if pool else [],
                    "snat": snat,
                    "description": virtual.get("description"),
                },
                path,
            )
