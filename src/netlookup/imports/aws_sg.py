"""AWS security groups → ``sg`` records, streamed: the JSON of ``aws ec2 describe-security-groups``
(``SecurityGroups[]`` with ``IpPermissions`` / ``IpPermissionsEgress``) and of
``aws ec2 describe-security-group-rules`` (``SecurityGroupRules[]``). Several documents may follow each other in
one stream (paginated dumps). Each group or rule is read alone, so a dump of any size is read in bounded memory.

Positions: the 1-based number of the group or rule in the dump (across pages), and the JSON path of the range
(``SecurityGroups[3].IpPermissions[0].IpRanges[1]``; the index counts across concatenated pages).

Rules that reference another security group or a prefix list instead of a CIDR cannot become network records:
they are reported (count and a sample in the import result), not silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

from netlookup.imports.formats import ParsedRow, RowError
from netlookup.imports.json_objects import JSON_ERRORS, as_list

KINDS = ("SecurityGroups", "SecurityGroupRules")
SCAN_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Unmapped:
    """A rule kept out of the records because it names no network (a group or prefix-list reference)."""

    line: int
    kind: str
    sample: dict[str, Any]


def _protocol(value: Any) -> Any:
    return "all" if str(value) == "-1" else value


def _mentions(stream: IO[bytes], key: str) -> bool:
    """Whether ``"key"`` occurs anywhere in the stream: a byte scan, far cheaper than a parse that finds nothing."""
    needle = orjson.dumps(key)
    tail = b""
    while chunk := stream.read(SCAN_CHUNK):
        if needle in tail + chunk[: len(needle)] or needle in chunk:
            return True
        tail = chunk[-len(needle) :]
    return False


def _items(stream: IO[bytes]) -> Iterator[tuple[str, int, int, Any] | RowError]:
    """(kind, 1-based number, index in its array, object) for every group, then every rule, of every document in
    the stream. Objects are built by ijson's C backend one at a time; each kind present costs one pass."""
    start = stream.tell()
    present = []
    for kind in KINDS:
        stream.seek(start)
        if _mentions(stream, kind):
            present.append(kind)
    number = 0
    for kind in present:
        stream.seek(start)
        index = -1
        try:
            items = ijson.items(stream, f"{kind}.item", multiple_values=True, use_float=True)
            for index, value in enumerate(items):
                number += 1
                yield kind, number, index, value
        except JSON_ERRORS as exc:
            yield RowError(number + 1, None, f"not valid JSON after item {number}: {exc}", f"{kind}[{index + 1}]")
            return
    if number == 0:
        yield RowError(
            1,
            None,
            "no SecurityGroups[] or SecurityGroupRules[] found: not an aws ec2 describe-security-"
            "groups or describe-security-group-rules dump",
        )


def _group_rows(number: int, path: str, group: dict[str, Any]) -> Iterator[ParsedRow | Unmapped]:
    common = {
        "group_id": group.get("GroupId"),
        "group_name": group.get("GroupName"),
        "vpc_id": group.get("VpcId"),
        "account": group.get("OwnerId"),
    }
    for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
        permissions = group.get(key) or []
        if not isinstance(permissions, list):
            yield RowError(number, key, "expected a list of permissions", f"{path}.{key}")
            continue
        for p_index, permission in enumerate(permissions):
            if not isinstance(permission, dict):
                yield RowError(number, key, "expected a permission object", f"{path}.{key}[{p_index}]")
                continue
            base = {
                **common,
                "direction": direction,
                "protocol": _protocol(permission.get("IpProtocol")),
                "from_port": permission.get("FromPort"),
                "to_port": permission.get("ToPort"),
            }
            for ranges, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")):
                entries = permission.get(ranges) or []
                if not isinstance(entries, list):
                    yield RowError(number, ranges, "expected a list of ranges", f"{path}.{key}[{p_index}].{ranges}")
                    continue
                for r_index, entry in enumerate(entries):
                    entry = entry if isinstance(entry, dict) else {}
                    yield (
                        number,
                        {**base, "cidr": entry.get(field), "description": entry.get("Description")},
                        f"{path}.{key}[{p_index}].{ranges}[{r_index}]",
                    )
            for entry in as_list(permission.get("PrefixListIds")):
                yield Unmapped(
                    number,
                    "prefix_list",
                    {
                        "group_id": common["group_id"],
                        "direction": direction,
                        "prefix_list_id": entry.get("PrefixListId") if isinstance(entry, dict) else None,
                    },
                )
            for entry in as_list(permission.get("UserIdGroupPairs")):
                yield Unmapped(
                    number,
                    "group_reference",
                    {
                        "group_id": common["group_id"],
                        "direction": direction,
                        "referenced_group_id": entry.get("GroupId") if isinstance(entry, dict) else None,
                    },
                )


def _rule_rows(number: int, path: str, rule: dict[str, Any]) -> Iterator[ParsedRow | Unmapped]:
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
    referenced = rule.get("ReferencedGroupInfo")
    if cidr:
        yield number, {**base, "cidr": cidr}, path
    elif referenced:
        yield Unmapped(
            number,
            "group_reference",
            {
                "group_id": base["group_id"],
                "direction": base["direction"],
                "referenced_group_id": referenced.get("GroupId") if isinstance(referenced, dict) else None,
            },
        )
    elif rule.get("PrefixListId"):
        yield Unmapped(
            number,
            "prefix_list",
            {"group_id": base["group_id"], "direction": base["direction"], "prefix_list_id": rule["PrefixListId"]},
        )
    else:
        yield RowError(number, "CidrIpv4", "rule has no CidrIpv4, CidrIpv6, ReferencedGroupInfo or PrefixListId", path)


def iter_aws_sg(stream: IO[bytes]) -> Iterator[ParsedRow | Unmapped]:
    """Canonical ``sg`` records (and reports) from AWS security-group dumps."""
    for item in _items(stream):
        if isinstance(item, RowError):
            yield item
            continue
        kind, number, index, value = item
        path = f"{kind}[{index}]"
        if not isinstance(value, dict):
            yield RowError(number, kind, "expected an object", path)
        elif kind == "SecurityGroups":
            yield from _group_rows(number, path, value)
        else:
            yield from _rule_rows(number, path, value)
