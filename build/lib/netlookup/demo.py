"""A realistic synthetic dataset: ACLs over many config files, security groups, load balancers, F5 objects.

Deterministic for a given seed and scale. Addresses cluster in a few private ranges (and 2001:db8::/32 for
the ~10% IPv6 records) so that lookups meet overlapping prefixes as they do in real networks.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator
from typing import Any

from netlookup.categories import CATEGORIES, NETWORK_CATEGORIES, SPECS, Category

SG_RULES_PER_SCALE = 150_000
ACL_FILES = 60
ACL_ENTRIES_PER_SCALE = 12_000
LB_PER_SCALE = 2_000
F5_PER_SCALE = 3_000
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
SITES = ("core", "dc1", "dc2", "edge", "branch", "lab")
DEVICE_KINDS = ("fw", "rtr", "asa", "sw")


class DemoAddresses:
    """Address generators shared by every category, so categories overlap the way real inventories do."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def host_v4(self) -> str:
        r = self.rng
        return f"10.{r.randrange(64)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def host_v6(self) -> str:
        r = self.rng
        return f"2001:db8:{r.randrange(16):x}:{r.randrange(256):x}::{r.randrange(1, 4096):x}"

    def host(self) -> str:
        return self.host_v6() if self.rng.random() < 0.1 else self.host_v4()

    def network(self) -> str:
        """A prefix with a realistic length mix: many /24s and /32s, some /16s and /8s, a few /0s."""
        r = self.rng
        if r.random() < 0.1:
            length = r.choice((0, 32, 48, 56, 64, 64, 64, 128, 128))
            base = ipaddress.ip_address(self.host_v6())
            return str(ipaddress.ip_network(f"{base}/{length}", strict=False))
        # Broad rules (/0, /8) are a small share; among 150,000 rules they still number in the hundreds.
        weights = (0.15, 0.4, 0.6, 4, 3, 4, 20, 4, 4, 3, 25)
        length = r.choices((0, 8, 12, 16, 20, 22, 24, 26, 28, 30, 32), weights=weights)[0]
        if length == 8 and r.random() < 0.5:
            return r.choice(("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
        base = ipaddress.ip_address(self.host_v4())
        return str(ipaddress.ip_network(f"{base}/{length}", strict=False))


def _port_text(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.3:
        return None
    if roll < 0.85:
        return str(rng.choice((22, 53, 80, 123, 161, 443, 445, 1433, 3306, 3389, 5432, 6379, 8080, 8443)))
    low = rng.choice((1024, 8000, 30000, 49152))
    return f"{low}-{low + rng.choice((10, 80, 1000, 16383))}"


def acl_records(rng: random.Random, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, record) pairs: numbered lines in ~60 device configs."""
    addr = DemoAddresses(rng)
    files = [f"configs/{rng.choice(SITES)}-{rng.choice(DEVICE_KINDS)}{n + 1}.cfg" for n in range(ACL_FILES)]
    for index in range(count):
        source = files[index % ACL_FILES]
        kind = rng.choices(("acl", "prefix-list", "object-group"), weights=(80, 10, 10))[0]
        acl_name = rng.choice(("OUTSIDE_IN", "INSIDE_OUT", "DMZ_IN", "MGMT", "VPN_FILTER", "PL_DEFAULT"))
        yield (
            source,
            {
                "line": 100 + index // ACL_FILES * 2,
                "name": acl_name,
                "kind": kind,
                "action": rng.choices(("permit", "deny"), weights=(85, 15))[0],
                "direction": rng.choice(("in", "out")),
                "protocol": None if kind == "prefix-list" else rng.choice(("tcp", "tcp", "udp", "ip", "icmp")),
                "cidr": addr.network(),
                "port": None if kind == "prefix-list" else _port_text(rng),
                "description": f"{acl_name.lower()} rule {index}",
            },
        )


def sg_records(rng: random.Random, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, record) pairs: groups of 3-40 rules in accounts/regions, one source per account+region."""
    addr = DemoAddresses(rng)
    produced = 0
    group = 0
    while produced < count:
        account = f"{rng.randrange(100000000000, 100000000040)}"
        region = rng.choice(REGIONS)
        env = rng.choice(("prod", "staging", "dev"))
        source = f"aws-{env}-{region}"
        group_id = f"sg-{rng.getrandbits(68):017x}"
        vpc_id = f"vpc-{rng.getrandbits(32):08x}"
        group_name = f"{rng.choice(('web', 'api', 'db', 'cache', 'batch', 'bastion'))}-{group}"
        for _ in range(min(rng.randint(3, 40), count - produced)):
            protocol = rng.choices(("tcp", "udp", "icmp", "-1", "6"), weights=(70, 10, 8, 10, 2))[0]
            if protocol in ("tcp", "udp", "6"):
                low = rng.choice((22, 53, 80, 443, 3306, 5432, 6379, 8080, 1024))
                high = low if rng.random() < 0.8 else min(65535, low + rng.choice((10, 1000, 64511)))
            elif protocol == "icmp":
                low, high = -1, -1
            else:
                low = high = None  # type: ignore[assignment]
            yield (
                source,
                {
                    "group_id": group_id,
                    "group_name": group_name,
                    "vpc_id": vpc_id,
                    "account": account,
                    "region": region,
                    "direction": rng.choices(("ingress", "egress"), weights=(75, 25))[0],
                    "protocol": protocol,
                    "from_port": low,
                    "to_port": high,
                    "cidr": addr.network(),
                    "description": rng.choice((None, "office", "vpn", "partner", "monitoring")),
                },
            )
            produced += 1
        group += 1


def _members(addr: DemoAddresses, port: int) -> list[dict[str, Any]]:
    return [{"ip": addr.host(), "port": port} for _ in range(addr.rng.randint(2, 8))]


def lb_records(rng: random.Random, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    addr = DemoAddresses(rng)
    for index in range(count):
        kind = rng.choice(("alb", "nlb", "haproxy"))
        port = rng.choice((80, 443, 8080, 8443, 5432))
        yield (
            f"lb-{kind}-{rng.choice(REGIONS)}",
            {
                "name": f"{kind}-app{index}",
                "type": kind,
                "vip": None if rng.random() < 0.05 else addr.host(),
                "port": port,
                "protocol": "tcp" if kind == "nlb" else "http",
                "members": _members(addr, rng.choice((80, 8080, 8443))),
                "description": None,
            },
        )


def f5_records(rng: random.Random, count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    addr = DemoAddresses(rng)
    for index in range(count):
        partition = rng.choice(("Common", "Common", "DMZ", "Apps"))
        port = rng.choice((80, 443, 8443))
        yield (
            f"f5/{rng.choice(('bigip-dc1', 'bigip-dc2', 'bigip-dmz'))}.conf",
            {
                "partition": partition,
                "name": f"vs_app{index}_{port}",
                "destination": addr.host(),
                "port": port,
                "protocol": "tcp",
                "route_domain": rng.choice((None, None, 0, 6)),
                "pool": f"pool_app{index}",
                "members": _members(addr, rng.choice((80, 8080))),
                "snat": rng.choice(("automap", None, "snat_pool1")),
                "description": None,
            },
        )


def demo_records(category: Category, scale: float, seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(source, record) pairs of one category; the same seed and scale always give the same data."""
    rng = random.Random(f"{seed}:{category}")
    counts = {"acl": ACL_ENTRIES_PER_SCALE, "sg": SG_RULES_PER_SCALE, "lb": LB_PER_SCALE, "f5": F5_PER_SCALE}
    count = max(1, round(counts[category] * scale))
    generators = {"acl": acl_records, "sg": sg_records, "lb": lb_records, "f5": f5_records}
    return generators[category](rng, count)


def sample_addresses(count: int, seed: int = 7, scale: float = 1.0, data_seed: int = 1) -> list[str]:
    """Addresses that occur in the demo data of (scale, data_seed): LB VIPs and members, F5 destinations and
    members, and host routes of ACLs and SGs; drawn deterministically, for benchmarks and smoke tests."""
    pool: list[str] = []
    for category in (c for c in CATEGORIES if not SPECS[c].network):
        for _, record in demo_records(category, scale, data_seed):
            main = record.get("vip") or record.get("destination")
            pool.extend([main] if main else [])
            pool.extend(member["ip"] for member in record["members"])
    for category in NETWORK_CATEGORIES:
        for index, (_, record) in enumerate(demo_records(category, min(scale, 0.2), data_seed)):
            if record["cidr"].endswith(("/32", "/128")):
                pool.append(record["cidr"].rsplit("/", 1)[0])
            if index > 30_000:
                break
    rng = random.Random(seed)
    return [rng.choice(pool) for _ in range(count)]
