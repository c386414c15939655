"""Synthetic vendor files built from the demo dataset: what ``netlookup demo-data --format`` writes.

Each writer streams its file (one group, balancer, virtual or line at a time), so a file of any scale is written
in bounded memory, and returns how many canonical records an import of it yields (the number to expect). The
files follow the vendors' documented shapes, the ones the importers in ``netlookup.imports`` read:

- ``aws-sg``: ``aws ec2 describe-security-groups`` JSON, optionally as several pages (documents with a
  ``NextToken``) one after the other; rules with the same protocol and ports share one permission, and some
  permissions reference another group or a prefix list (reported by the importer, not imported).
- ``aws-elbv2``: the combined ``{"load_balancers", "target_groups", "target_health"}`` document.
- ``f5-rest``: the iControl REST collections of ``/mgmt/tm/ltm/virtual`` and ``/mgmt/tm/ltm/pool`` (members
  expanded), as two documents one after the other.
- ``f5-tmsh``: the same objects as ``tmsh list ltm pool`` / ``ltm virtual`` text of a ``bigip.conf``.
- ``cisco-acl``: device configurations, IOS named and numbered extended ACLs, ASA ``access-list ... extended``
  lines with object-groups, and ``ip prefix-list`` lines.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterator
from itertools import groupby
from typing import IO, Any

import orjson

from netlookup.demo import SG_RULES_PER_SCALE, DemoAddresses, demo_records
from netlookup.records import Category

VENDOR_FORMATS = ("aws-sg", "aws-elbv2", "f5-rest", "f5-tmsh", "cisco-acl")


class _JsonArray:
    """Writes ``[a, b, ...]`` one element at a time."""

    def __init__(self, out: IO[bytes], opening: bytes, closing: bytes):
        self._out = out
        self._closing = closing
        self._first = True
        out.write(opening)

    def add(self, value: Any) -> None:
        self._out.write((b"\n" if self._first else b",\n") + orjson.dumps(value))
        self._first = False

    def close(self) -> None:
        self._out.write(self._closing)


def _sg_groups(scale: float, seed: int) -> Iterator[list[dict[str, Any]]]:
    """The demo ``sg`` rules, one list per security group (the generator yields a group's rules together)."""
    return (
        list(rules) for _, rules in groupby((r for _, r in demo_records("sg", scale, seed)), lambda r: r["group_id"])
    )


def _sg_protocol(protocol: str) -> str:
    return {"6": "tcp", "all": "-1"}.get(protocol, protocol)


def _permission_key(rule: dict[str, Any]) -> tuple[Any, ...]:
    return rule["direction"], _sg_protocol(rule["protocol"]), rule["from_port"], rule["to_port"]


def _sg_group(rules: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    first = rules[0]
    group: dict[str, Any] = {
        "Description": f"{first['group_name']} tier",
        "GroupName": first["group_name"],
        "IpPermissions": [],
        "OwnerId": first["account"],
        "GroupId": first["group_id"],
        "IpPermissionsEgress": [],
        "VpcId": first["vpc_id"],
        "Tags": [{"Key": "Name", "Value": first["group_name"]}],
    }
    # AWS lists one permission per (protocol, port range) with all its ranges; keep the generator's rule order.
    permissions: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rule in rules:
        key = _permission_key(rule)
        permission = permissions.get(key)
        if permission is None:
            permission = {"IpProtocol": key[1], "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": []}
            if rule["from_port"] is not None:
                permission |= {"FromPort": rule["from_port"], "ToPort": rule["to_port"]}
            permission["UserIdGroupPairs"] = []
            permissions[key] = permission
            group["IpPermissionsEgress" if rule["direction"] == "egress" else "IpPermissions"].append(permission)
        entry_key = ("Ipv6Ranges", "CidrIpv6") if ":" in rule["cidr"] else ("IpRanges", "CidrIp")
        entry = {entry_key[1]: rule["cidr"]}
        if rule["description"]:
            entry["Description"] = rule["description"]
        permission[entry_key[0]].append(entry)
    if rng.random() < 0.3:  # the app tier admits its load balancer's group: a rule that names no network
        group["IpPermissions"].append(
            {
                "FromPort": 443,
                "IpProtocol": "tcp",
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": f"sg-{rng.getrandbits(68):017x}", "UserId": first["account"]}],
            }
        )
    if rng.random() < 0.05:
        group["IpPermissionsEgress"].append(
            {
                "IpProtocol": "-1",
                "IpRanges": [],
                "Ipv6Ranges": [],
                "PrefixListIds": [{"PrefixListId": f"pl-{rng.getrandbits(32):08x}", "Description": "S3"}],
                "UserIdGroupPairs": [],
            }
        )
    return group


def write_aws_sg(out: IO[bytes], scale: float, seed: int, pages: int = 1) -> int:
    """``describe-security-groups`` JSON; ``pages`` > 1 writes that many documents, all but the last with a
    ``NextToken``, as a loop over ``aws ec2 describe-security-groups --max-items N --starting-token T`` writes them."""
    rng = random.Random(f"{seed}:aws-sg-file")
    per_page = -(-max(1, round(SG_RULES_PER_SCALE * scale)) // max(1, pages))
    rules = 0
    page = 0
    array: _JsonArray | None = None
    for group_rules in _sg_groups(scale, seed):
        if array is None or rules >= per_page * (page + 1):
            if array is not None:
                page += 1
                array.close()
                out.write(b',\n"NextToken": ' + orjson.dumps(f"page-{page}") + b"}\n")
            array = _JsonArray(out, b'{"SecurityGroups": [', b"\n]")
        array.add(_sg_group(group_rules, rng))
        rules += len(group_rules)
    if array is not None:
        array.close()
        out.write(b"}\n")
    return rules


def _arn(kind: str, region: str, account: str, name: str, rng: random.Random) -> str:
    return f"arn:aws:elasticloadbalancing:{region}:{account}:{kind}/{name}/{rng.getrandbits(64):016x}"


def write_aws_elbv2(out: IO[bytes], scale: float, seed: int) -> int:
    """The combined ELBv2 document. ALBs publish no addresses (one record each, found by its members); NLBs
    publish their VIP; one in twenty target groups has ``instance`` targets (reported, not imported)."""
    rng = random.Random(f"{seed}:aws-elbv2-file")
    account = "123456789012"
    balancers = _JsonArray(out, b'{"load_balancers": {"LoadBalancers": [', b"\n]},\n")
    groups: list[dict[str, Any]] = []
    health: dict[str, Any] = {}
    expected = 0
    for source, record in demo_records("lb", scale, seed):
        region = source.split("-", 2)[2]  # lb-alb-eu-west-1
        network = record["type"] != "alb"
        name = record["name"][:32]
        lb_arn = _arn(f"loadbalancer/{'net' if network else 'app'}", region, account, name, rng)
        zone: dict[str, Any] = {"ZoneName": f"{region}a", "SubnetId": f"subnet-{rng.getrandbits(32):08x}"}
        if network and record["vip"]:
            key = "IPv6Address" if ":" in record["vip"] else "PrivateIPv4Address"
            zone["LoadBalancerAddresses"] = [{key: record["vip"]}]
        balancers.add(
            {
                "LoadBalancerArn": lb_arn,
                "DNSName": f"{name}-{rng.getrandbits(32):08x}.elb.{region}.amazonaws.com",
                "LoadBalancerName": name,
                "Scheme": "internal",
                "VpcId": f"vpc-{rng.getrandbits(32):08x}",
                "State": {"Code": "active"},
                "Type": "network" if network else "application",
                "AvailabilityZones": [zone],
                "IpAddressType": "ipv4",
            }
        )
        tg_name = f"tg-{name}"[:32]
        tg_arn = _arn("targetgroup", region, account, tg_name, rng)
        instance_targets = rng.random() < 0.05
        groups.append(
            {
                "TargetGroupArn": tg_arn,
                "TargetGroupName": tg_name,
                "Protocol": "TCP" if network else "HTTP",
                "Port": record["port"],
                "VpcId": f"vpc-{rng.getrandbits(32):08x}",
                "TargetType": "instance" if instance_targets else "ip",
                "LoadBalancerArns": [lb_arn],
            }
        )
        health[tg_arn] = {
            "TargetHealthDescriptions": [
                {
                    "Target": (
                        {"Id": f"i-{rng.getrandbits(68):017x}", "Port": member["port"]}
                        if instance_targets
                        else {"Id": member["ip"], "Port": member["port"], "AvailabilityZone": zone["ZoneName"]}
                    ),
                    "HealthCheckPort": str(member["port"]),
                    "TargetHealth": {"State": rng.choices(("healthy", "unhealthy", "draining"), (90, 8, 2))[0]},
                }
                for member in record["members"]
            ]
        }
        expected += 1
    balancers.close()
    out.write(b'"target_groups": {"TargetGroups": ' + orjson.dumps(groups) + b"},\n")
    out.write(b'"target_health": ' + orjson.dumps(health) + b"}\n")
    return expected


def _f5_objects(scale: float, seed: int) -> Iterator[dict[str, Any]]:
    for _, record in demo_records("f5", scale, seed):
        yield record


def _f5_destination(record: dict[str, Any], separator_v6: str = ".") -> str:
    address = record["destination"]
    rd = f"%{record['route_domain']}" if record["route_domain"] else ""
    separator = separator_v6 if ":" in address else ":"
    return f"/{record['partition']}/{address}{rd}{separator}{record['port']}"


def _host_mask(address: str) -> str:
    return "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" if ":" in address else "255.255.255.255"


def _f5_member_name(member: dict[str, Any]) -> str:
    return f"{member['ip']}{'.' if ':' in member['ip'] else ':'}{member['port']}"


def write_f5_rest(out: IO[bytes], scale: float, seed: int) -> int:
    """``GET /mgmt/tm/ltm/virtual`` then ``GET /mgmt/tm/ltm/pool?expandSubcollections=true``, one after the other."""
    virtuals = _JsonArray(out, b'{"kind": "tm:ltm:virtual:virtualcollectionstate", "items": [', b"\n]}\n")
    count = 0
    for record in _f5_objects(scale, seed):
        snat = {"automap": {"type": "automap"}, None: {"type": "none"}}.get(
            record["snat"], {"type": "snat", "pool": f"/Common/{record['snat']}"}
        )
        virtuals.add(
            {
                "kind": "tm:ltm:virtual:virtualstate",
                "name": record["name"],
                "partition": record["partition"],
                "fullPath": f"/{record['partition']}/{record['name']}",
                "destination": _f5_destination(record),
                "ipProtocol": record["protocol"],
                "mask": "255.255.255.255"
                if ":" not in record["destination"]
                else "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                "pool": f"/{record['partition']}/{record['pool']}",
                "sourceAddressTranslation": snat,
                "enabled": True,
            }
        )
        count += 1
    virtuals.close()
    pools = _JsonArray(out, b'{"kind": "tm:ltm:pool:poolcollectionstate", "items": [', b"\n]}\n")
    for record in _f5_objects(scale, seed):
        pools.add(
            {
                "kind": "tm:ltm:pool:poolstate",
                "name": record["pool"],
                "partition": record["partition"],
                "fullPath": f"/{record['partition']}/{record['pool']}",
                "loadBalancingMode": "round-robin",
                "monitor": "/Common/tcp",
                "membersReference": {
                    "isSubcollection": True,
                    "items": [
                        {
                            "kind": "tm:ltm:pool:members:membersstate",
                            "name": _f5_member_name(member),
                            "partition": "Common",
                            "fullPath": f"/Common/{_f5_member_name(member)}",
                            "address": member["ip"],
                            "state": "up",
                        }
                        for member in record["members"]
                    ],
                },
            }
        )
    pools.close()
    return count


def write_f5_tmsh(out: IO[bytes], scale: float, seed: int) -> int:
    """The ``ltm pool`` and ``ltm virtual`` stanzas of a ``bigip.conf`` (``tmsh list ltm pool`` / ``virtual``)."""
    count = 0
    for record in _f5_objects(scale, seed):
        lines = [f"ltm pool /{record['partition']}/{record['pool']} {{", "    members {"]
        for member in record["members"]:
            lines += [
                f"        /Common/{_f5_member_name(member)} {{",
                f"            address {member['ip']}",
                "        }",
            ]
        lines += ["    }", "    monitor /Common/tcp", "}"]
        out.write(("\n".join(lines) + "\n").encode())
    for record in _f5_objects(scale, seed):
        snat = {"automap": "type automap", None: "type none"}.get(
            record["snat"], f"pool /Common/{record['snat']}\n        type snat"
        )
        lines = [
            f"ltm virtual /{record['partition']}/{record['name']} {{",
            f"    destination {_f5_destination(record)}",
            f"    ip-protocol {record['protocol']}",
            f"    mask {_host_mask(record['destination'])}",
            f"    pool /{record['partition']}/{record['pool']}",
            "    profiles {",
            "        /Common/tcp { }",
            "    }",
            "    source 0.0.0.0/0",
            "    source-address-translation {",
            f"        {snat}",
            "    }",
            "    translate-address enabled",
            "    translate-port enabled",
            "}",
        ]
        out.write(("\n".join(lines) + "\n").encode())
        count += 1
    return count


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
            office_group = f"OFFICE_NETS_{hostname.upper()}"  # one file holds many devices: names stay apart
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


FORMAT_CATEGORY: dict[str, Category] = {
    "aws-sg": "sg",
    "aws-elbv2": "lb",
    "f5-rest": "f5",
    "f5-tmsh": "f5",
    "cisco-acl": "acl",
}
WRITERS: dict[str, Callable[[IO[bytes], float, int], int]] = {
    "aws-sg": write_aws_sg,
    "aws-elbv2": write_aws_elbv2,
    "f5-rest": write_f5_rest,
    "f5-tmsh": write_f5_tmsh,
    "cisco-acl": write_cisco_acl,
}
