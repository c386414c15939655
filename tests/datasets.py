"""Small random datasets dense in overlaps, for checking lookups against the oracle."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

V4_BASE = int(ipaddress.IPv4Address("10.20.0.0"))
V6_BASE = int(ipaddress.IPv6Address("2001:db8::"))


def v4_address(rng: random.Random) -> str:
    return str(ipaddress.IPv4Address(V4_BASE + rng.randrange(1 << 12)))


def v6_address(rng: random.Random) -> str:
    return str(ipaddress.IPv6Address(V6_BASE + rng.randrange(1 << 12)))


def network(rng: random.Random) -> str:
    if rng.random() < 0.25:
        length = rng.choice((0, 32, 64, 112, 116, 120, 124, 126, 128, 128))
        return str(ipaddress.ip_network(f"{v6_address(rng)}/{length}", strict=False))
    length = rng.choice((0, 8, 16, 18, 20, 22, 24, 24, 26, 28, 30, 31, 32, 32))
    return str(ipaddress.ip_network(f"{v4_address(rng)}/{length}", strict=False))


def address(rng: random.Random) -> str:
    return v6_address(rng) if rng.random() < 0.25 else v4_address(rng)


def acl_row(rng: random.Random, line: int) -> dict[str, Any]:
    port = rng.choice((None, "443", "80", "8000-8080", "0-1023"))
    return {
        "line": rng.choice((line, line, None)),
        "name": rng.choice(("A", "B")),
        "kind": "acl",
        "action": rng.choice(("permit", "deny")),
        "direction": rng.choice(("in", "out", None)),
        "protocol": rng.choice((None, "tcp", "udp", "ip", "TCP", "6")),
        "cidr": network(rng),
        "port": port,
        "description": None,
    }


def sg_row(rng: random.Random) -> dict[str, Any]:
    low = rng.choice((None, -1, 22, 80, 443, 8000))
    high = None if low is None else (low if low < 0 else rng.choice((low, low + 100, None)))
    return {
        "group_id": rng.choice(("sg-1", "sg-2", "sg-3", None)),
        "group_name": None,
        "vpc_id": None,
        "account": None,
        "region": None,
        "direction": rng.choice(("ingress", "egress")),
        "protocol": rng.choice((None, "tcp", "udp", "all", "-1", "6", "icmp")),
        "from_port": low,
        "to_port": high,
        "cidr": network(rng),
        "description": None,
    }


def lb_row(rng: random.Random, category: str) -> dict[str, Any]:
    members = [{"ip": address(rng), "port": rng.choice((None, 80))} for _ in range(rng.randrange(0, 4))]
    main = None if rng.random() < 0.2 else address(rng)
    row: dict[str, Any] = {
        "name": f"x{rng.randrange(1000)}",
        "port": rng.choice((None, 80, 443)),
        "protocol": "tcp",
        "members": members,
        "description": None,
    }
    if category == "lb":
        row.update(vip=main, type="alb")
    else:
        # F5 wildcard and network virtuals: a destination that is a network
        destination = network(rng) if main is not None and rng.random() < 0.3 else main
        row.update(destination=destination, partition="Common", route_domain=None, pool=None, snat=None)
    return row


def random_dataset(seed: int, size: int = 120) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """category → source → rows."""
    rng = random.Random(seed)
    data: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for category in ("acl", "sg", "lb", "f5"):
        sources: dict[str, list[dict[str, Any]]] = {}
        count = size if category in ("acl", "sg") else size // 3
        for index in range(count):
            source = rng.choice(("a.cfg", "b.cfg", "c/d.cfg"))
            if category == "acl":
                row = acl_row(rng, index + 1)
            elif category == "sg":
                row = sg_row(rng)
            else:
                row = lb_row(rng, category)
            sources.setdefault(source, []).append(row)
        data[category] = sources
    return data
