"""AWS files from the demo data: ``describe-security-groups`` JSON (optionally paginated) and the combined ELBv2
document."""

from __future__ import annotations

import random
from collections.abc import Iterator
from itertools import groupby
from typing import IO, Any

import orjson

from netlookup.demo import SG_RULES_PER_SCALE, demo_records
from netlookup.demo_files.json_array import JsonArray


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
    array: JsonArray | None = None
    for group_rules in _sg_groups(scale, seed):
        if array is None or rules >= per_page * (page + 1):
            if array is not None:
                page += 1
                array.close()
                out.write(b',\n"NextToken": ' + orjson.dumps(f"page-{page}") + b"}\n")
            array = JsonArray(out, b'{"SecurityGroups": [', b"\n]")
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
    balancers = JsonArray(out, b'{"load_balancers": {"LoadBalancers": [', b"\n]},\n")
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
