"""Cisco device configurations from the demo data: IOS and ASA access lists, object-groups, prefix-lists."""

from __future__ import annotations

import ipaddress
import random
from itertools import groupby
from typing import IO, Any

from netlookup.demo import DemoAddresses, demo_records


def _mask(cidr: str, wildcard: bool) -> tuple[str, str]:
    net = ipaddress.ip_network(cidr)
    mask = net.hostmask if wildcard else net.netmask
    return str(net.network_address), str(mask)


def _ios_address(cidr: str) -> str:
    if cidr in ("0.0.0.0/0", "::/0"):
        return "any"
    if cidr.endswith("/32"):
        return f"host {cidr[:-3]}"
    address, wildcard = _mask(cidr, wildcard=True)
    return f"{address} {wildcard}"


def _asa_address(cidr: str) -> str:
    if cidr == "0.0.0.0/0":
        return "any4"
    if cidr == "::/0":
        return "any6"
    if cidr.endswith("/32") or cidr.endswith("/128"):
        return f"host {cidr.rsplit('/', 1)[0]}"
    if ":" in cidr:
        return cidr
    address, mask = _mask(cidr, wildcard=False)
    return f"{address} {mask}"


def _port_clause(port: str | None) -> str:
    if port is None:
        return ""
    low, _, high = port.partition("-")
    return f" range {low} {high}" if high else f" eq {low}"


def write_cisco_acl(out: IO[bytes], scale: float, seed: int) -> int:
    """Device configurations one after the other: IOS routers (named and numbered extended ACLs, prefix-lists)
    and ASA firewalls (``access-list NAME extended`` with object-groups). Every demo ACL entry becomes one line
    whose destination is the entry's network; sources are ``any`` or an office object-group (the group's
    networks are records of their own)."""
    rng = random.Random(f"{seed}:cisco-file")
    addr = DemoAddresses(rng)
    by_device: dict[str, list[dict[str, Any]]] = {}
    for source, record in demo_records("acl", scale, seed):
        by_device.setdefault(source, []).append(record)
    records = 0
    for device, entries in by_device.items():
        asa = "asa" in device or "fw" in device
        hostname = device.removeprefix("configs/").removesuffix(".cfg")

        def write(text: str) -> None:
            out.write((text + "\n").encode())

        write(f"hostname {hostname}\n!")
        office: list[str] = []
        office_group = ""
        if asa:
            office = [addr.network() for _ in range(3)]
            office = [n for n in office if ":" not in n] or ["192.168.10.0/24"]
            office_group = "OFFICE_NETS"  # the same name on every device: each hostname scopes its own
            write(f"object-group network {office_group}")
            for network in office:
                write(f" network-object {_asa_address(network)}")
            write("!")
        by_name = groupby(sorted(entries, key=lambda e: (e["kind"] != "prefix-list", e["name"])), lambda e: e["name"])
        for name, group in by_name:
            group_entries = list(group)
            if asa:
                for entry in group_entries:
                    protocol = "ip" if entry["kind"] == "prefix-list" else entry["protocol"]
                    port = _port_clause(entry["port"]) if protocol in ("tcp", "udp") else ""
                    if rng.random() < 0.2:
                        source, extra = f"object-group {office_group}", len(office)
                    else:
                        source, extra = ("any" if ":" in entry["cidr"] else "any4"), 1
                    write(
                        f"access-list {name} extended {entry['action']} {protocol} {source} "
                        f"{_asa_address(entry['cidr'])}{port}"
                    )
                    records += 1 + extra
                continue
            v6 = [e for e in group_entries if ":" in e["cidr"]]
            v4 = [e for e in group_entries if ":" not in e["cidr"]]
            for seq, entry in enumerate(v6, start=1):  # IPv6 routes are announced through prefix-lists
                write(f"ipv6 prefix-list {name}_V6 seq {seq * 5} {entry['action']} {entry['cidr']}")
                records += 1
            for seq, entry in enumerate((e for e in v4 if e["kind"] == "prefix-list"), start=1):
                write(f"ip prefix-list {name} seq {seq * 5} {entry['action']} {entry['cidr']} le 32")
                records += 1
            rules = [e for e in v4 if e["kind"] != "prefix-list"]
            if not rules:
                continue
            numbered = rng.random() < 0.3
            number = rng.randrange(100, 200)
            if not numbered:
                write(f"ip access-list extended {name}")
            for seq, entry in enumerate(rules, start=1):
                protocol = entry["protocol"]
                port = _port_clause(entry["port"]) if protocol in ("tcp", "udp") else ""
                tail = " log" if rng.random() < 0.1 else ""
                body = f"{entry['action']} {protocol} any {_ios_address(entry['cidr'])}{port}{tail}"
                write(f"access-list {number} {body}" if numbered else f" {seq * 10} {body}")
                records += 2
            write("!")
    return records
