"""F5 files from the demo data: the iControl REST collections and the tmsh ``bigip.conf`` text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from netlookup.demo import demo_records
from netlookup.demo_files.json_array import JsonArray


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
    virtuals = JsonArray(out, b'{"kind": "tm:ltm:virtual:virtualcollectionstate", "items": [', b"\n]}\n")
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
    pools = JsonArray(out, b'{"kind": "tm:ltm:pool:poolcollectionstate", "items": [', b"\n]}\n")
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
