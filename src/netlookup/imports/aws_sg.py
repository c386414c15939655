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
from typing import IO, Any

import ijson
import orjson

from netlookup.imports.json_objects import JSON_ERRORS, as_dict, as_list
from netlookup.imports.rows import ParsedRow, RowError, Unmapped, file_error

KINDS = ("SecurityGroups", "SecurityGroupRules")
SCAN_CHUNK = 1 << 20


def _protocol(value: Any) -> Any:
    return "all" if str(value) == "-1" else value


def _kinds_present(stream: IO[bytes]) -> list[str]:
    """Which of KINDS occur as ``"key"`` anywhere in the stream, in KINDS order: one byte scan for all of them,
    far cheaper than a parse that finds nothing."""
    needles = {kind: orjson.dumps(kind) for kind in KINDS}
    overlap = max(len(needle) for needle in needles.values())
    found: set[str] = set()
    tail = b""
    while len(found) < len(needles) and (chunk := stream.read(SCAN_CHUNK)):
        window = tail + chunk
        found.update(kind for kind, needle in needles.items() if needle in window)
        tail = chunk[-overlap:]
    return [kind for kind in KINDS if kind in found]


def _reference(number: int, kind: str, group_id: Any, direction: str, key: str, value: Any) -> Unmapped:
    """A rule that names a group or prefix list instead of a network, for the import's ``unmapped`` report."""
    return Unmapped(number, kind, {"group_id": group_id, "direction": direction, key: value})


def _items(stream: IO[bytes]) -> Iterator[tuple[str, int, int, Any] | RowError]:
    """(kind, 1-based number, index in its array, object) for every group, then every rule, of every document in
    the stream. Objects are built by ijson's C backend one at a time; each kind present costs one pass."""
    start = stream.tell()
    present = _kinds_present(stream)
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
            yield file_error(number + 1, f"not valid JSON after item {number}: {exc}", path=f"{kind}[{index + 1}]")
            return
    if number == 0:
        yield file_error(
            1,
            "no SecurityGroups[] or SecurityGroupRules[] found: not an aws ec2 describe-security-"
            "groups or describe-security-group-rules dump",
        )


def _group_rows(number: int, path: str, group: dict[str, Any]) -> Iterator[ParsedRow | RowError | Unmapped]:
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
                    yield ParsedRow(
                        number,
                        {**base, "cidr": entry.get(field), "description": entry.get("Description")},
                        f"{path}.{key}[{p_index}].{ranges}[{r_index}]",
                    )
            for entry in as_list(permission.get("PrefixListIds")):
                list_id = as_dict(entry).get("PrefixListId")
                yield _reference(number, "prefix_list", common["group_id"], direction, "prefix_list_id", list_id)
            for entry in as_list(permission.get("UserIdGroupPairs")):
                group_id = as_dict(entry).get("GroupId")
                yield _reference(
                    number, "group_reference", common["group_id"], direction, "referenced_group_id", group_id
                )


def _rule_rows(number: int, path: str, rule: dict[str, Any]) -> Iterator[ParsedRow | RowError | Unmapped]:
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
        yield ParsedRow(number, {**base, "cidr": cidr}, path)
    elif referenced:
        group_id = as_dict(referenced).get("GroupId")
        direction = base["direction"]
        yield _reference(number, "group_reference", base["group_id"], direction, "referenced_group_id", group_id)
    elif rule.get("PrefixListId"):
        list_id = rule["PrefixListId"]
        yield _reference(number, "prefix_list", base["group_id"], base["direction"], "prefix_list_id", list_id)
    else:
        yield RowError(number, "CidrIpv4", "rule has no CidrIpv4, CidrIpv6, ReferencedGroupInfo or PrefixListId", path)


def iter_aws_sg(stream: IO[bytes]) -> Iterator[ParsedRow | RowError | Unmapped]:
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
