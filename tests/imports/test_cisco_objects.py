"""cisco-acl constructs beyond plain entries, each from a fixture written from Cisco's configuration guides: IOS
object groups (network members without a keyword, service groups, addrgroup/portgroup), IPv6 lists, block-form
standard lists, bare prefix-list sequence numbers, non-IP lists skipped with a note; ASA service objects and
groups, protocol and icmp-type groups, inactive entries; masks read by what they can be and by the platform."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings

from netlookup.imports.cisco_acl import iter_cisco_acl
from netlookup.imports.formats import guess_format
from netlookup.imports.rows import ParsedRow, RowError, Unmapped
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cisco"
IOS = (FIXTURES / "ios-objects.cfg").read_bytes()
ASA = (FIXTURES / "asa-services.cfg").read_bytes()

Row = tuple[int, str | None, str, str | None]


def items(body: bytes) -> list[Any]:
    return list(iter_cisco_acl(io.BytesIO(body)))


def rows(body: bytes, line: int | None = None) -> set[Row]:
    """(line, protocol, cidr, port) of every record (of one line)."""
    return {
        (i.raw["line"], i.raw.get("protocol"), i.raw["cidr"], i.raw.get("port"))
        for i in items(body)
        if isinstance(i, ParsedRow) and line in (None, i.raw["line"])
    }


def errors(body: bytes) -> list[RowError]:
    return [i for i in items(body) if isinstance(i, RowError)]


def test_ios_service_group_expands_per_protocol_and_port_over_nested_network_groups() -> None:
    destinations = {"10.10.1.10/32", "10.10.2.0/24", "10.10.3.0/30", "10.99.0.0/16"}
    services = {("tcp", "443"), ("tcp", "80"), ("udp", "1-100"), ("icmp", None), ("tcp", None)}
    expected = {(28, p, cidr, port) for p, port in services for cidr in destinations | {"0.0.0.0/0"}}
    assert rows(IOS, 28) == expected
    [source_port_only] = [
        i.raw for i in items(IOS) if isinstance(i, ParsedRow) and "port 1024" in (i.raw["description"] or "")
    ]
    assert (source_port_only["protocol"], source_port_only["port"]) == ("tcp", None)  # a source port only


def test_ios_addrgroup_and_portgroup() -> None:
    ports = ("8443", "9000-9001")
    expected = {(29, "tcp", cidr, port) for port in ports for cidr in ("0.0.0.0/0", "10.20.0.0/16", "10.21.0.1/32")}
    assert rows(IOS, 29) == expected


def test_ipv6_access_lists_with_and_without_sequence_numbers() -> None:
    assert rows(IOS, 33) == {(33, "tcp", "::/0", "443"), (33, "tcp", "2001:db8::10/128", "443")}
    assert rows(IOS, 34) == {(34, "udp", "2001:db8:1::/48", "5000-5010"), (34, "udp", "::/0", "5000-5010")}
    assert rows(IOS, 35) == {(35, "icmp", "::/0", None)}
    assert rows(IOS, 36) == {(36, "ip", "::/0", None)}  # `ipv6` in an IPv6 list: every protocol
    v6 = [i.raw for i in items(IOS) if isinstance(i, ParsedRow) and i.raw["name"] == "V6-IN"]
    assert {r["direction"] for r in v6} == {"in"}  # ipv6 traffic-filter V6-IN in
    only_v6 = b"ipv6 access-list ONLY\n permit tcp any 2001:db8::/32 eq 22\n"
    assert rows(only_v6) == {(2, "tcp", "::/0", "22"), (2, "tcp", "2001:db8::/32", "22")}
    assert guess_format(io.BytesIO(only_v6)) == "cisco-acl"


def test_block_standard_lists_bare_prefix_list_sequences_and_non_ip_lists() -> None:
    assert rows(IOS, 39) == {(39, None, "192.0.2.0/24", None)}
    assert rows(IOS, 40) == {(40, None, "0.0.0.0/0", None)}
    assert rows(IOS, 43) == {(43, None, "10.0.0.0/8", None)}
    [mac] = [i for i in items(IOS) if isinstance(i, Unmapped)]
    assert (mac.line, mac.kind, mac.sample["name"]) == (44, "non-ip-access-list", "700")
    assert not errors(IOS)


def test_asa_service_objects_and_groups() -> None:
    assert rows(ASA, 38) == {(38, "tcp", "0.0.0.0/0", "443"), (38, "tcp", "10.40.1.10/32", "443")}
    servers = {"10.40.1.10/32", "10.40.2.0/24", "10.40.3.1/32", "2001:db8:41::/64", "0.0.0.0/0"}
    mixed = {("tcp", "443"), ("udp", "53"), ("udp", None), ("tcp", "8080")}
    assert rows(ASA, 39) == {(39, p, cidr, port) for p, port in mixed for cidr in servers}
    ports = {"80", "8000-8010"}
    assert rows(ASA, 40) == {(40, "tcp", cidr, port) for port in ports for cidr in servers}
    assert rows(ASA, 41) == {(41, p, cidr, "53") for p in ("tcp", "udp") for cidr in ("0.0.0.0/0", "10.40.4.4/32")}
    assert rows(ASA, 42) == {(42, "icmp", "0.0.0.0/0", None)}
    descriptions = {i.raw["description"] for i in items(ASA) if isinstance(i, ParsedRow) and i.raw["line"] == 43}
    assert descriptions == {
        f"{side} any; icmp {t}" for side in ("source", "destination") for t in ("echo", "echo-reply")
    }
    assert rows(ASA, 44) == {(44, "ip", "::/0", None), (44, "ip", "2001:db8:40::/48", None)}


def test_asa_masks_inactive_entries_and_logging_options() -> None:
    assert rows(ASA, 45) == {(45, "ip", "10.40.5.1/32", None), (45, "ip", "0.0.0.0/0", None)}  # netmask: a host
    assert rows(ASA, 46) == {(46, "tcp", "10.40.6.0/24", "22"), (46, "tcp", "0.0.0.0/0", "22")}  # only a wildcard
    [inactive] = [i for i in items(ASA) if isinstance(i, Unmapped)]
    assert (inactive.line, inactive.kind) == (47, "inactive-entry")
    assert rows(ASA, 47) == set()
    assert rows(ASA, 48) == {(48, "ip", "0.0.0.0/0", None)}  # log 6 interval 300
    assert not errors(ASA)


def test_an_ambiguous_mask_follows_the_platform_the_file_shows() -> None:
    line = b"access-list X extended permit ip 10.1.1.1 0.0.0.0 any\n"
    asa = b"ASA Version 9.8(1)\n" + line
    ios = b"ip access-list standard MGMT\n permit 10.9.9.9\n" + line
    assert (2, "ip", "0.0.0.0/0", None) in rows(asa)  # ASA netmask 0.0.0.0: any address
    assert (3, "ip", "10.1.1.1/32", None) in rows(ios)  # IOS wildcard 0.0.0.0: this host
    wildcard = b"hostname r1\nip access-list extended E\n permit ip 10.0.0.0 0.0.0.255 any\n"
    assert (3, "ip", "10.0.0.0/24", None) in rows(wildcard)


def test_what_cannot_be_read_is_an_error_never_dropped() -> None:
    cases = {
        b"ip access-list extended E\n permit tcp any any portgroup NOPE\n": "'NOPE' is not defined",
        b"ip access-list extended E\n permit tcp any any eq 443 sometimes\n": "'sometimes' after the destination",
        b"object-group network G\n host 10.0.0.1\n 10.0.0.300 255.0.0.0\n"
        b"ip access-list extended E\n permit ip any object-group G\n": "'G' has a member that cannot be read",
        b"object-group service S\n tcp eq 443\nip access-list extended E\n permit object-group S any any eq 80\n": (
            "ports are given both"
        ),
        b"object-group network N\n host 10.0.0.1\nip access-list extended E\n permit object-group N any any\n": (
            "'N' is a network group, not a service or protocol group"
        ),
        b"object network W\n fqdn www.example.com\naccess-list A extended permit ip any object W\n": "fqdn",
        b"ip access-list extended E\n permit esp host any any\n": "'any' is not an address",
    }
    for body, reason in cases.items():
        [error] = errors(body)
        assert reason in error.reason, (body, error)


@settings(max_examples=150, deadline=None)
@given(mutations(IOS + ASA))
def test_mutated_object_configs_never_crash(data: bytes) -> None:
    for item in iter_cisco_acl(io.BytesIO(data)):
        assert isinstance(item, ParsedRow | RowError | Unmapped)


async def test_ios_objects_round_trip_through_import_and_lookup(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/import/acl", params={"source": "edge-rtr2.cfg"}, content=IOS, headers=AUTH)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["count"] == sum(isinstance(i, ParsedRow) for i in items(IOS))
    assert answer["unmapped"]["by_kind"] == {"non-ip-access-list": 1}

    async def found(q: str, **params: Any) -> list[tuple[int, str, str | None]]:
        lookup = await client.get("/api/v1/acl/lookup", params={"q": q, **params})
        return [(m["line"], m["cidr"], m["port"]) for m in lookup.json()["matches"]]

    web = await found("10.10.3.2", port=443, protocol="tcp")
    assert web[0] == (28, "10.10.3.0/30", "443")  # the range member, most specific first
    assert {port for line, cidr, port in web if cidr == "10.10.3.0/30"} == {"443", None}  # None: source port only
    ported = await found("10.21.0.1", port=9000)
    assert ported[0] == (29, "10.21.0.1/32", "9000-9001")
    assert not [m for m in ported if m[2] == "8443"]
    assert (29, "10.21.0.1/32", None) not in await found("10.21.0.1")  # the portgroup narrows; never "any port"
    assert (33, "2001:db8::10/128", "443") in await found("2001:db8::10", port=443, protocol="tcp")
    assert (34, "2001:db8:1::/48", "5000-5010") in await found("2001:db8:1::5", port=5005)
    assert (34, "2001:db8:1::/48", "5000-5010") not in await found("2001:db8:1::5", port=6000)


def test_asa_names_and_interface_addresses_ios_xe_port_lists_and_ios_xr_lists() -> None:
    body = (
        b"ASA Version 9.12(4)\nnames\nname 10.90.0.10 web-server description the web server\n"
        b"interface GigabitEthernet0/0\n nameif outside\n security-level 0\n ip address 198.51.100.1 255.255.255.0\n"
        b"access-list MGMT extended permit tcp any interface outside eq ssh\n"
        b"access-list MGMT extended permit tcp any host web-server eq www\n"
        b"access-list MGMT extended permit tcp any interface inside eq ssh\n"
        b"hostname r1\n"
        b"ip access-list extended XE\n 10 permit tcp any any eq 22 80 443 log\n"
        b"ipv4 access-list XR\n 10 permit ipv4 any host 10.9.9.9\n"
    )
    assert rows(body, 8) == {(8, "tcp", "0.0.0.0/0", "22"), (8, "tcp", "198.51.100.1/32", "22")}
    assert rows(body, 9) == {(9, "tcp", "0.0.0.0/0", "80"), (9, "tcp", "10.90.0.10/32", "80")}
    assert rows(body, 13) == {(13, "tcp", "0.0.0.0/0", port) for port in ("22", "80", "443")}
    assert rows(body, 15) == {(15, "ip", "0.0.0.0/0", None), (15, "ip", "10.9.9.9/32", None)}
    [error] = errors(body)
    assert (error.line, error.reason) == (10, "interface 'inside' has no ip address in the configuration")


def test_lock_and_key_and_reflexive_entries_are_reported_not_dropped() -> None:
    body = (
        b"access-list 101 dynamic TESTLIST timeout 10 permit ip 10.1.1.0 0.0.0.255 172.16.1.0 0.0.0.255\n"
        b"ip access-list extended R\n 10 permit tcp any any eq 80 reflect TCPTRAFFIC\n 20 evaluate TCPTRAFFIC\n"
    )
    reported = [(i.line, i.kind) for i in items(body) if isinstance(i, Unmapped)]
    assert reported == [(1, "dynamic-entry"), (4, "evaluate-entry")]
    assert rows(body) == {(3, "tcp", "0.0.0.0/0", "80")}
