"""AWS ELBv2 → ``lb`` records, from one combined JSON document:

    {"load_balancers": <aws elbv2 describe-load-balancers>,
     "target_groups": <aws elbv2 describe-target-groups>,
     "target_health": {"<TargetGroupArn>": <aws elbv2 describe-target-health --target-group-arn ...>}}

(a describe-target-health dump does not name its target group, hence the map). One record per load-balancer
address (``AvailabilityZones[].LoadBalancerAddresses[]``: ``IpAddress``, ``PrivateIPv4Address``, ``IPv6Address``)
and target group; a load balancer without published addresses (an ALB) gets one record with no VIP, found through
its members. Members are the ``ip`` targets in any health state, with their port. ``instance`` targets carry no
address: they are counted and reported (``unmapped``), like target groups of ``lambda`` or ``alb`` type.
Groups and load balancers are read one object at a time; only their small summaries are kept to join them, and
a group's records are given as soon as its health dump is read.
Positions: the 1-based number of the load balancer and its JSON path (``load_balancers.LoadBalancers[2]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from netlookup.imports.json_objects import JSON_ERRORS, as_dict, as_list, iter_objects
from netlookup.imports.rows import ParsedItem, ParsedRow, Unmapped, file_error

TYPES = {"application": "alb", "network": "nlb", "gateway": "gwlb"}
LB_PREFIX = "load_balancers.LoadBalancers.item"
TG_PREFIX = "target_groups.TargetGroups.item"
# ijson names the value of key ARN in the target_health map "target_health.ARN".
HEALTH_PREFIX = "target_health."


@dataclass(slots=True)
class _Balancer:
    number: int
    name: Any
    kind: Any
    dns: Any
    vips: list[str | None]


@dataclass(slots=True)
class _Group:
    name: Any
    port: Any
    protocol: Any
    target_type: Any
    balancer_arns: list[str]


def _addresses(balancer: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for zone in as_list(balancer.get("AvailabilityZones")):
        for address in as_list(as_dict(zone).get("LoadBalancerAddresses")):
            for key in ("IpAddress", "PrivateIPv4Address", "IPv6Address"):
                value = as_dict(address).get(key)
                if value and isinstance(value, str) and value not in found:
                    found.append(value)
    return found


def _balancer(number: int, value: dict[str, Any]) -> _Balancer:
    kind = TYPES.get(str(value.get("Type")), value.get("Type"))
    return _Balancer(
        number, value.get("LoadBalancerName"), kind, value.get("DNSName"), list(_addresses(value)) or [None]
    )


def _group(value: dict[str, Any]) -> _Group:
    return _Group(
        value.get("TargetGroupName"),
        value.get("Port"),
        value.get("Protocol"),
        value.get("TargetType"),
        [str(arn) for arn in as_list(value.get("LoadBalancerArns"))],
    )


def _targets(health: Any) -> list[tuple[Any, Any]]:
    """(Id, Port) of each target of a describe-target-health dump."""
    targets = []
    for description in as_list(as_dict(health).get("TargetHealthDescriptions")):
        target = as_dict(as_dict(description).get("Target"))
        targets.append((target.get("Id"), target.get("Port")))
    return targets


def _records(balancer: _Balancer, group: _Group | None, targets: list[tuple[Any, Any]]) -> Iterator[ParsedItem]:
    """The records of one load balancer and one of its target groups (None: a balancer without any)."""
    members = []
    if group is not None and group.target_type not in (None, "ip"):
        yield Unmapped(
            balancer.number,
            f"{group.target_type}_targets",
            {"load_balancer": balancer.name, "target_group": group.name, "targets": len(targets)},
        )
    elif group is not None:
        members = [{"ip": target_id, "port": port or group.port} for target_id, port in targets]
    for vip in balancer.vips:
        yield ParsedRow(
            balancer.number,
            {
                "name": f"{balancer.name}/{group.name}" if group is not None and group.name else balancer.name,
                "type": balancer.kind,
                "vip": vip,
                "port": group.port if group else None,
                "protocol": group.protocol if group else None,
                "members": members,
                "description": balancer.dns,
            },
            f"load_balancers.LoadBalancers[{balancer.number - 1}]",
        )


def iter_aws_elbv2(stream: IO[bytes]) -> Iterator[ParsedItem]:
    """Canonical ``lb`` records (and reports) from the combined ELBv2 document.

    Balancers and groups are kept as small summaries; each group's records are given as soon as its health dump
    has been read (normally the last section), so the targets are never all held at once."""
    balancers: dict[str, _Balancer] = {}
    groups: dict[str, _Group] = {}
    early_health: dict[str, list[tuple[Any, Any]]] = {}  # health read before its group or balancers
    finished: set[str] = set()

    def selects(prefix: str) -> bool:
        return prefix in (LB_PREFIX, TG_PREFIX) or prefix.startswith(HEALTH_PREFIX)

    try:
        for prefix, value in iter_objects(stream, selects):
            if not isinstance(value, dict):
                continue
            if prefix == LB_PREFIX:
                arn = str(value.get("LoadBalancerArn", len(balancers)))
                balancers.setdefault(arn, _balancer(len(balancers) + 1, value))
            elif prefix == TG_PREFIX:
                groups[str(value.get("TargetGroupArn", ""))] = _group(value)
            else:
                group_arn = prefix.removeprefix(HEALTH_PREFIX)
                group = groups.get(group_arn)
                if group is None or not all(arn in balancers for arn in group.balancer_arns):
                    early_health[group_arn] = _targets(value)
                    continue
                for arn in group.balancer_arns:
                    yield from _records(balancers[arn], group, _targets(value))
                finished.add(group_arn)
    except JSON_ERRORS as exc:
        yield file_error(len(balancers) + 1, f"not valid JSON: {exc}")
        return
    if not balancers:
        yield file_error(
            1,
            field="load_balancers",
            reason='no load_balancers.LoadBalancers[] found: expected {"load_balancers": ..., '
            '"target_groups": ..., "target_health": {...}}',
        )
        return
    grouped: set[str] = set()
    for group_arn, group in groups.items():
        grouped.update(group.balancer_arns)
        if group_arn in finished:
            continue
        for arn in group.balancer_arns:
            if arn in balancers:
                yield from _records(balancers[arn], group, early_health.get(group_arn, []))
    for arn, balancer in balancers.items():
        if arn not in grouped:
            yield from _records(balancer, None, [])
