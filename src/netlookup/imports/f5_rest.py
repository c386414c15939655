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

import re
from collections.abc import Iterator
from typing import IO, Any

from netlookup.imports.json_objects import JSON_ERRORS, as_dict, as_list, iter_objects
from netlookup.imports.ports import SERVICE_PORTS
from netlookup.imports.rows import ParsedItem, ParsedRow, RowError, file_error

VIRTUAL_KIND = "tm:ltm:virtual:virtualstate"
POOL_KIND = "tm:ltm:pool:poolstate"
VIRTUAL_FIELDS = ("partition", "name", "destination", "ipProtocol", "pool", "sourceAddressTranslation", "description")
_DESTINATION = re.compile(
    r"^(?:/(?P<partition>[^/]+)/)?(?P<address>.+?)(?:%(?P<rd>\d+))?[:.](?P<port>\d+|[a-z][a-z0-9-]*)$"
)


def port_number(text: str) -> int | None:
    """``443`` → 443, ``https`` → 443 (F5 writes well-known ports by name), ``any`` → None. Raises ValueError."""
    if text.isdigit():
        return int(text)
    if text == "any":
        return None
    if text in SERVICE_PORTS:
        return SERVICE_PORTS[text]
    raise ValueError(f"port {text!r} is not a number or a known service name")


def parse_destination(text: str) -> tuple[str | None, int | None, int | None]:
    """``/DMZ/10.60.60.146%6:443`` → ("10.60.60.146", 443, 6); IPv6 uses ``.`` before the port. Raises ValueError."""
    match = _DESTINATION.match(text.strip())
    if not match:
        raise ValueError(f"destination {text!r} is not /partition/address[%rd]:port")
    address = match.group("address")
    if address == "any":
        address = "0.0.0.0"
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


def iter_f5_rest(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``f5`` records from iControl REST virtual and pool collections."""
    virtuals: list[tuple[str, dict[str, Any]]] = []
    pools: dict[str, list[dict[str, Any]]] = {}
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
    if not virtuals:
        yield file_error(1, f"no {VIRTUAL_KIND} items found: expected the JSON of /mgmt/tm/ltm/virtual", "items")
        return
    for number, (path, virtual) in enumerate(virtuals, start=1):
        try:
            address, port, route_domain = parse_destination(str(virtual.get("destination") or ""))
        except ValueError as exc:
            yield RowError(number, "destination", str(exc), f"{path}.destination")
            continue
        translation = virtual.get("sourceAddressTranslation")
        translation = translation if isinstance(translation, dict) else {}
        snat = {"automap": "automap", "snat": translation.get("pool")}.get(str(translation.get("type")))
        pool = virtual.get("pool")
        yield ParsedRow(
            number,
            {
                "partition": virtual.get("partition"),
                "name": virtual.get("name"),
                "destination": address,
                "port": port,
                "protocol": virtual.get("ipProtocol"),
                "route_domain": route_domain,
                "pool": pool,
                "members": pools.get(str(pool), []) if pool else [],
                "snat": snat,
                "description": virtual.get("description"),
            },
            path,
        )
