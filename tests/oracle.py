"""A brute-force reference for the lookup semantics docs/api.md states (its Lookups section), written straight
from that text with the ipaddress module."""

from __future__ import annotations

import ipaddress
from typing import Any

ADDRESS_FIELD = {"lb": "vip", "f5": "destination"}
BEST_KEYS = {"acl": ("source", "direction"), "sg": ("group_id", "direction")}


def query_network(q: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    net = ipaddress.ip_network(q.strip(), strict=False)
    if isinstance(net, ipaddress.IPv6Network) and net.prefixlen >= 96 and net.network_address.ipv4_mapped:
        return ipaddress.IPv4Network((int(net.network_address.ipv4_mapped), net.prefixlen - 96))
    return net


def _acl_port_ok(record: dict[str, Any], port: int | None) -> bool:
    if port is None or record["port"] is None:
        return True
    low, _, high = record["port"].partition("-")
    return int(low) <= port <= int(high or low)


def _sg_port_ok(record: dict[str, Any], port: int | None) -> bool:
    low, high = record["from_port"], record["to_port"]
    icmp = (record["protocol"] or "").lower() in ("icmp", "icmpv6", "1", "58")  # type and code, not ports
    if port is None or low is None or low < 0 or icmp:
        return True
    high = low if high is None or high < 0 else high
    return bool(low <= port <= high)


def _protocol_ok(record: dict[str, Any], protocol: str | None) -> bool:
    if protocol is None or record["protocol"] is None:
        return True
    return record["protocol"].lower() in ("all", "ip", protocol.lower())


def _none_first(value: Any) -> tuple[int, Any]:
    return (0, 0) if value is None else (1, value)


def expected(
    category: str,
    records: list[dict[str, Any]],
    q: str,
    *,
    mode: str = "covering",
    best: bool = False,
    limit: int = 100,
    port: int | None = None,
    protocol: str | None = None,
) -> dict[str, Any]:
    """What docs/api.md says ``lookup`` must answer for one category over ``records`` (each with its id)."""
    query = query_network(q)
    matches: list[dict[str, Any]] = []
    if category in ("acl", "sg"):
        for record in records:
            net = ipaddress.ip_network(record["cidr"])
            if net.version != query.version:
                continue
            covering = query.subnet_of(net)  # type: ignore[arg-type]
            within = net.subnet_of(query)  # type: ignore[arg-type]
            hit = {"covering": covering, "within": within, "overlap": covering or within}[mode]
            port_ok = _acl_port_ok(record, port) if category == "acl" else _sg_port_ok(record, port)
            if hit and port_ok and _protocol_ok(record, protocol):
                matches.append({**record, "prefix_len": net.prefixlen})
        if best:
            longest: dict[tuple[Any, ...], int] = {}
            for m in matches:
                key = tuple(m[k] for k in BEST_KEYS[category])
                longest[key] = max(longest.get(key, -1), m["prefix_len"])
            matches = [m for m in matches if m["prefix_len"] == longest[tuple(m[k] for k in BEST_KEYS[category])]]
        tie = ("line", "id") if category == "acl" else ("id",)
        matches.sort(key=lambda m: (-m["prefix_len"], m["source"], *(_none_first(m[k]) for k in tie)))
    else:
        main_field = ADDRESS_FIELD[category]
        for record in records:
            if port is not None and record["port"] is not None and record["port"] != port:
                continue
            main = record[main_field]
            main_hit, main_length = _destination_hit(main, query, mode) if main is not None else (False, 0)
            member_hit = any(_in(member["ip"], query) for member in record["members"])
            if main_hit or member_hit:
                matches.append(
                    {
                        **record,
                        "prefix_len": main_length if main_hit else query.max_prefixlen,
                        "matched_on": main_field if main_hit else "member",
                    }
                )
        matches.sort(key=lambda m: (-m["prefix_len"], m["source"], m["id"]))
    return {"total": len(matches), "truncated": len(matches) > limit, "matches": matches[:limit]}


def _destination_hit(
    destination: str, query: ipaddress.IPv4Network | ipaddress.IPv6Network, mode: str
) -> tuple[bool, int]:
    """(matches, prefix length): an address lies inside the query whatever the mode; a network destination (an F5
    wildcard or network virtual) matches by the mode, as acl/sg networks do."""
    net = ipaddress.ip_network(destination)
    if net.version != query.version:
        return False, 0
    if net.prefixlen == net.max_prefixlen:
        return net.network_address in query, net.prefixlen
    covering = query.subnet_of(net)  # type: ignore[arg-type]
    within = net.subnet_of(query)  # type: ignore[arg-type]
    return {"covering": covering, "within": within, "overlap": covering or within}[mode], net.prefixlen


def _in(address: str, query: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.version == query.version and ip in query
