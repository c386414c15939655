"""A lean validation path for the rows that come by the hundred thousand: ``sg`` and ``acl`` records whose values
are already plain (text or None, whole numbers, known keywords, a dotted-quad or IPv6 network).

It checks what the pydantic models check and builds the same table row; anything it is not sure about (a number
given as text, an unknown key, a too-long name, a bad value) returns None and the row takes the pydantic path,
which gives the error messages. The models stay the reference: a property test holds this path to producing
exactly the rows they produce.
"""

from __future__ import annotations

from typing import Any

from netlookup.categories import Category
from netlookup.networks import AddressError, parse_network
from netlookup.records import (
    _SG_PROTOCOLS,
    ICMP_PROTOCOLS,
    AclRecord,
    SgRecord,
    parse_port_range,
    sg_port_range,
    with_network_columns,
)

# Field name → longest text allowed (the StringConstraints of records.py), per category, in model order.
_TEXT_LIMITS: dict[Category, dict[str, int]] = {
    "sg": {
        "description": 65_000,
        "group_id": 64,
        "group_name": 255,
        "vpc_id": 64,
        "account": 64,
        "region": 64,
        "protocol": 32,
    },
    "acl": {"description": 65_000, "name": 255, "kind": 64, "protocol": 32},
}
_FIELDS: dict[Category, tuple[str, ...]] = {"sg": tuple(SgRecord.model_fields), "acl": tuple(AclRecord.model_fields)}
_FIELD_SETS = {category: frozenset(names) for category, names in _FIELDS.items()}
_SG_DIRECTIONS = frozenset(("ingress", "egress"))
_ACL_DIRECTIONS = frozenset(("in", "out"))
_ACL_ACTIONS = frozenset(("permit", "deny"))


def _keyword(value: object, allowed: frozenset[str]) -> tuple[bool, str | None]:
    """(ok, lower-case keyword or None) for None, blank text or one of ``allowed`` in any case."""
    if value is None:
        return True, None
    if type(value) is not str:
        return False, None
    text = value.strip().lower()
    return (True, None) if not text else (text in allowed, text)


def _int_in(value: object, low: int, high: int) -> tuple[bool, int | None]:
    if value is None:
        return True, None
    if type(value) is not int or not low <= value <= high:
        return False, None
    return True, value


def _sg_protocol(value: str | None) -> tuple[bool, str | None]:
    if value is None:
        return True, None
    if value == "-1":
        return True, "all"
    return value.lower() in _SG_PROTOCOLS or (value.isdigit() and value.isascii() and int(value) <= 255), value


def fast_network_row(category: Category, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The table row of a plain ``sg``/``acl`` record, or None when the record needs the full validation."""
    if not raw.keys() <= _FIELD_SETS[category]:
        return None
    values: dict[str, Any] = dict.fromkeys(_FIELDS[category])
    for name, limit in _TEXT_LIMITS[category].items():
        value = raw.get(name)
        if value is not None:
            if type(value) is not str:
                return None
            value = value.strip()
            if len(value) > limit:
                return None
            values[name] = value or None
    cidr = raw.get("cidr")
    if type(cidr) is not str:
        return None
    try:
        net = parse_network(cidr)
    except AddressError:
        return None
    values["cidr"] = net.text
    if category == "sg":
        ok_direction, values["direction"] = _keyword(raw.get("direction"), _SG_DIRECTIONS)
        ok_protocol, values["protocol"] = _sg_protocol(values["protocol"])
        ok_from, values["from_port"] = _int_in(raw.get("from_port"), -1, 65535)
        ok_to, values["to_port"] = _int_in(raw.get("to_port"), -1, 65535)
        if not (ok_direction and ok_protocol and ok_from and ok_to):
            return None
        low, high = values["from_port"], values["to_port"]
        icmp = values["protocol"] is not None and values["protocol"].lower() in ICMP_PROTOCOLS
        if low is not None and high is not None and low >= 0 <= high and high < low and not icmp:
            return None
        ports = sg_port_range(low, high, values["protocol"])
    else:
        ok_action, values["action"] = _keyword(raw.get("action"), _ACL_ACTIONS)
        ok_direction, values["direction"] = _keyword(raw.get("direction"), _ACL_DIRECTIONS)
        ok_line, values["line"] = _int_in(raw.get("line"), 0, 2**31 - 1)
        port = raw.get("port")
        if not (ok_action and ok_direction and ok_line) or not (port is None or type(port) is str):
            return None
        try:
            ports = parse_port_range(port)  # "443", " 8000-8080 "; "" and the rest go the full way
        except ValueError:
            return None
        values["port"] = None if ports is None else str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
    return with_network_columns(values, net, ports)
