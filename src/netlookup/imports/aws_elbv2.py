"""AWS ELBv2 → ``lb`` records, from one combined JSON document:

    {"load_balancers": <aws elbv2 describe-load-balancers>,
     "target_groups": <aws elbv2 describe-target-groups>,
     "target_health": {"<TargetGroupArn>": <aws elbv2 describe-target-health --target-group-arn ...>}}

(a describe-target-health dump does not name its target group, hence the map). One record per load-balancer
address (``AvailabilityZones[].LoadBalancerAddresses[]``: ``IpAddress``, ``PrivateIPv4Address``, ``IPv6Address``)
and target group; a load balancer without published addresses (an ALB) gets one record with no VIP, found through
its members. Members are the ``ip`` targets in any health state, with their port. ``instance`` targets carry no
address: they are counted and reported (``unmapped``), like target groups of ``lambda`` or ``alb`` type.
Groups and load balancers are read one object at a time; only their small summaries are kept to join them.
Positions: the 1-based number of the load balancer and its JSON path (``load_balancers.LoadBalancers[2]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from netlookup.imports.aws_sg import Unmapped
from netlookup.imports.formats import RowError
from netlookup.imports.json_objects import JSON_ERRORS, iter_objects

TYPES = {"application": "alb", "network": "nlb", "gateway": "gwlb"}
LB_PREFIX = "load_balancers.LoadBalancers.item"
TG_PREFIX = "target_groups.TargetGroups.item"
# ijson names the value of key ARN in the target_health map "target_health.ARN".
HEALTH_PREFIX = "target_health."


def _sections(stream: IO[bytes]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], RowError | None]:
    balancers: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    health: dict[str, Any] = {}

    def selects(prefix: str) -> bool:
        return prefix in (LB_PREFIX, TG_PREFIX) or prefix.startswith(HEALTH_PREFIX)

    try:
        for prefix, value in iter_objects(stream, selects):
            if prefix == LB_PREFIX:
                balancers.append(value)
            elif prefix == TG_PREFIX:
                groups.append(value)
            else:
                health[prefix.removeprefix(HEALTH_PREFIX)] = value
    except JSON_ERRORS as exc:
        return balancers, groups, health, RowError(len(balancers) + 1, None, f"not valid JSON: {exc}")
    return balancers, groups, health, None


def _addresses(balancer: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for zone in balancer.get("AvailabilityZones") or []:
        for address in (zone or {}).get("LoadBalancerAddresses") or []:
            for key in ("IpAddress", "PrivateIPv4Address", "IPv6Address"):
                value = (address or {}).get(key)
                if value and value not in found:
                    found.append(value)
    return found


def iter_aws_elbv2(stream: IO[bytes]) -> Iterator[Any]:
    """Canonical ``lb`` records (and reports) from the combined ELBv2 document."""
    balancers, groups, health, error = _sections(stream)
    if error is not None:
        yield error
        return
    if not balancers:
        yield RowError(
            1,
            "load_balancers",
            'no load_balancers.LoadBalancers[] found: expected {"load_balancers": ..., '
            '"target_groups": ..., "target_health": {...}}',
        )
        return
    groups_by_lb: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        for lb_arn in group.get("LoadBalancerArns") or []:
            groups_by_lb.setdefault(lb_arn, []).append(group)
    for number, balancer in enumerate(balancers, start=1):
        name = balancer.get("LoadBalancerName")
        kind = TYPES.get(str(balancer.get("Type")), balancer.get("Type"))
        vips: list[str | None] = list(_addresses(balancer)) or [None]
        for group in groups_by_lb.get(balancer.get("LoadBalancerArn", ""), []) or [{}]:
            members = []
            target_type = group.get("TargetType")
            descriptions = (health.get(group.get("TargetGroupArn", "")) or {}).get("TargetHealthDescriptions") or []
            if group and target_type not in (None, "ip"):
                yield Unmapped(
                    number,
                    f"{target_type}_targets",
                    {"load_balancer": name, "target_group": group.get("TargetGroupName"), "targets": len(descriptions)},
                )
            else:
                for description in descriptions:
                    target = (description or {}).get("Target") or {}
                    members.append({"ip": target.get("Id"), "port": target.get("Port") or group.get("Port")})
            for vip in vips:
                yield (
                    number,
                    {
                        "name": f"{name}/{group['TargetGroupName']}" if group.get("TargetGroupName") else name,
                        "type": kind,
                        "vip": vip,
                        "port": group.get("Port"),
                        "protocol": group.get("Protocol"),
                        "members": members,
                        "description": balancer.get("DNSName"),
                    },
                    f"load_balancers.LoadBalancers[{number - 1}]",
                )
