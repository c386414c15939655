"""AWS security groups → ``sg`` records, streamed: the JSON of ``aws ec2 describe-security-groups``
(``SecurityGroups[]`` with ``IpPermissions`` / ``IpPermissionsEgress``) and of
``aws ec2 describe-security-group-rules`` (``SecurityGroupRules[]``). Several documents may follow each other in
one stream (paginated dumps). Each group or rule is read alone, so a dump of any size is read in bounded memory.

Positions: the 1-based number of the group or rule in the dump (across pages). Rules that reference another
security group or a prefix list instead of a CIDR cannot become network records: they are reported (count and a
sample in the import result), not silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from netlookup.imports.formats import ParsedRow, RowError
from netlookup.imports.json_objects import JSON_ERRORS, iter_objects

ITEM_PREFIXES = {"SecurityGroups.item": "SecurityGroups", "SecurityGroupRules.item": "SecurityGroupRules"}


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A rule kept out of the records because it names no network (a group or prefix-list reference)."""

    line: int
    kind: str
    sample: dict[str, Any]


def _protocol(value: Any) -> Any:
    return "all" if str(value) == "-1" else value


def _items(stream: IO[bytes]) -> Iterator[tuple[str, int, Any] | RowError]:
    """(top-level key, 1-based number, object) for every group or rule of every document in the stream."""
    number = 0
    try:
        for prefix, value in iter_objects(stream, ITEM_PREFIXES.__contains__, multiple_values=True):
            number += 1
            yield ITEM_PREFIXES[prefix], number, value
    except JSON_ERRORS as exc:
        yield RowError(number + 1, None, f"not valid JSON after item {number}: {exc}")
        return
    if number == 0:
        yield RowError(
            1,
            None,
            "no SecurityGroups[] or SecurityGroupRules[] found: not an aws ec2 describe-security-"
            "groups or describe-security-group-rules dump",
        )


def _group_rows(number: int, group: dict[str, Any]) -> Iterator[ParsedRow | Unmapped]:
    common = {
        "group_id": group.get("GroupId"),
        "group_name": group.get("GroupName"),
        "vpc_id": group.get("VpcId"),
        "account": group.get("OwnerId"),
    }
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        permissions = group.get(key) or []
        if not isinstance(permissions, list):
            yield RowError(number, key, "expected a list of permissions")
            continue
        for permission in permissions:
            if not isinstance(permission, dict):
                yield RowError(number, key, "expected a permission object")
                continue
            base = {
                **common,
                "direction": direction,
                "protocol": _protocol(permission.get("IpProtocol")),
                "from_port": permission.get("FromPort"),
                "to_port": permission.get("ToPort"),
            }
            for ranges, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")):
                for entry in permission.get(ranges) or []:
                    entry = entry if isinstance(entry, dict) else {}
                    yield number, {**base, "cidr": entry.get(field), "description": entry.get("Description")}
            for entry in permission.get("PrefixListIds") or []:
                yield Unmapped(
                    number,
                    "prefix_list",
                    {
                        "group_id": common["group_id"],
                        "direction": direction,
                        "prefix_list_id": (entry or {}).get("PrefixListId"),
                    },
                )
            for entry in permission.get("UserIdGroupPairs") or []:
                yield Unmapped(
                    number,
                    "group_reference",
                    {
                        "group_id": common["group_id"],
                        "direction": direction,
                        "referenced_group_id": (entry or {}).get("GroupId"),
                    },
                )


def _rule_rows(number: int, rule: dict[str, Any]) -> Iterator[ParsedRow | Unmapped]:
    base = {
        "group_id": rule.get("GroupId"),
        "account": rule.get("GroupOwnerId"),
        "direction": "egress" if rule.get("IsEgress") else "ingress",
        "protocol": _protocol(rule.get("IpProtocol")),
        "from_port": rule.get("FromPort"),
        "to_port": rule.get("ToPort"),
        "description": rule.get("Description"),
    }
    cidr = rule.get("CidrIpv4") or rule.get("CidrIpv6")
    if cidr:
        yield number, {**base, "cidr": cidr}
    elif rule.get("ReferencedGroupInfo"):
        yield Unmapped(
            number,
            "group_reference",
            {
                "group_id": base["group_id"],
                "direction": base["direction"],
                "referenced_group_id": rule["ReferencedGroupInfo"].get("GroupId"),
            },
        )
    elif rule.get("PrefixListId"):
        yield Unmapped(
            number,
            "prefix_list",
            {"group_id": base["group_id"], "direction": base["direction"], "prefix_list_id": rule["PrefixListId"]},
        )
    else:
        yield RowError(number, "CidrIpv4", "rule has no CidrIpv4, CidrIpv6, ReferencedGroupInfo or PrefixListId")


def iter_aws_sg(stream: IO[bytes]) -> Iterator[ParsedRow | Unmapped]:
    """Canonical ``sg`` records (and reports) from AWS security-group dumps."""
    for item in _items(stream):
        if isinstance(item, RowError):
            yield item
            continue
        kind, number, value = item
        if not isinstance(value, dict):
            yield RowError(number, kind, "expected an object")
        elif kind == "SecurityGroups":
            yield from _group_rows(number, value)
        else:
            yield from _rule_rows(number, value)
