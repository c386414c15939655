"""cisco-acl: IOS and ASA configurations imported and looked up, against expectations written here by hand."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings

from netlookup.imports.cisco_acl import iter_cisco_acl
from netlookup.imports.formats import guess_format
from netlookup.imports.rows import ParsedRow, RowError
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cisco"
IOS = (FIXTURES / "ios-core-rtr1.cfg").read_bytes()
ASA = (FIXTURES / "asa-fw1.cfg").read_bytes()


def records(body: bytes) -> list[dict[str, Any]]:
    return [i.raw for i in iter_cisco_acl(io.BytesIO(body)) if isinstance(i, ParsedRow)]


def test_ios_numbered_named_standard_and_prefix_lists() -> None:
    rows = records(IOS)
    assert [(r["line"], r["name"], r["action"], r.get("protocol"), r["cidr"], r.get("port")) for r in rows] == [
        (3, "10", "permit", None, "192.0.2.0/24", None),
        (5, "101", "permit", "tcp", "10.1.1.0/24", "443"),
        (5, "101", "permit", "tcp", "10.2.2.2/32", "443"),
        (6, "101", "deny", "ip", "0.0.0.0/0", None),
        (6, "101", "deny", "ip", "10.9.0.0/16", None),
        (9, "OUTSIDE_IN", "permit", "tcp", "0.0.0.0/0", "80"),
        (9, "OUTSIDE_IN", "permit", "tcp", "203.0.113.10/32", "80"),
        (10, "OUTSIDE_IN", "permit", "udp", "198.51.100.0/25", "1000-2000"),
        (10, "OUTSIDE_IN", "permit", "udp", "0.0.0.0/0", "1000-2000"),
        (11, "OUTSIDE_IN", "permit", "tcp", "0.0.0.0/0", None),
        (11, "OUTSIDE_IN", "permit", "tcp", "10.3.0.0/16", None),
        (12, "OUTSIDE_IN", "deny", "tcp", "0.0.0.0/0", "0-1023"),
        (12, "OUTSIDE_IN", "deny", "tcp", "0.0.0.0/0", "0-1023"),
        (13, "OUTSIDE_IN", "permit", "icmp", "0.0.0.0/0", None),
        (13, "OUTSIDE_IN", "permit", "icmp", "0.0.0.0/0", None),
        (16, "MGMT", "permit", None, "10.5.5.5/32", None),
        (18, "PL_DEFAULT", "permit", None, "0.0.0.0/0", None),
        (19, "PL_DEFAULT", "deny", None, "10.0.0.0/8", None),
    ]
    assert rows[1]["description"] == "source network"
    assert rows[2]["description"] == "destination host"
    assert rows[-1]["kind"] == "prefix-list"
    assert rows[-1]["description"] == "le 32"


def test_asa_objects_nested_groups_and_ipv6() -> None:
    rows = [(r["line"], r["cidr"], r["port"], r["description"]) for r in records(ASA)]
    assert rows == [
        (13, "0.0.0.0/0", "443", "source any"),
        (13, "10.10.1.10/32", "443", "destination object WEB01"),
        (14, "0.0.0.0/0", "8000-8080", "source any"),
        (14, "10.10.3.5/32", "8000-8080", "destination object-group ALL_SERVERS"),
        (14, "10.10.4.0/24", "8000-8080", "destination object-group ALL_SERVERS"),
        (14, "10.10.1.10/32", "8000-8080", "destination object-group ALL_SERVERS"),
        (14, "10.10.2.0/24", "8000-8080", "destination object-group ALL_SERVERS"),
        (15, "198.51.100.66/32", None, "source host"),
        (15, "0.0.0.0/0", None, "destination any"),
        (16, "::/0", "443", "source any6"),
        (16, "2001:db8::10/128", "443", "destination host"),
    ]


def test_bad_lines_are_errors_with_their_line() -> None:
    body = (
        b"access-list 101 permit ip 10.0.0.0 0.255.0.255 any\n"
        b"access-list OUT extended permit tcp any object NOPE eq 443\n"
        b"access-list 101 permit tcp any any eq nosuchport\n"
    )
    errors = [i for i in iter_cisco_acl(io.BytesIO(body)) if isinstance(i, RowError)]
    assert [e.line for e in errors] == [1, 2, 3]
    assert "non-contiguous wildcard" in errors[0].reason
    assert "NOPE" in errors[1].reason
    assert "nosuchport" in errors[2].reason
    assert guess_format(io.BytesIO(IOS)) == "cisco-acl"
    assert guess_format(io.BytesIO(ASA)) == "cisco-acl"


@settings(max_examples=150, deadline=None)
@given(mutations(ASA))
def test_arbitrary_and_mutated_configs_never_crash(data: bytes) -> None:
    for item in iter_cisco_acl(io.BytesIO(data)):
        assert isinstance(item, tuple | RowError)


async def test_import_then_lookup(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/import/acl", params={"source": "configs/asa-fw1.cfg"}, content=ASA, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 11
    found = (await client.get("/api/v1/acl/lookup", params={"q": "10.10.1.10", "port": 443, "protocol": "tcp"})).json()
    assert [(m["line"], m["cidr"]) for m in found["matches"]] == [
        (13, "10.10.1.10/32"),
        (13, "0.0.0.0/0"),
        (15, "0.0.0.0/0"),
    ]
    bad = await client.post(
        "/api/v1/import/acl",
        params={"source": "configs/asa-fw1.cfg", "format": "cisco-acl"},
        content=b"access-list 101 permit ip 10.0.0.0 0.255.0.255 any\n",
        headers=AUTH,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"]["errors"][0]["line"] == 1
    assert (await client.get("/api/v1/acl", params={"source": "configs/asa-fw1.cfg"})).json()["items"]


def test_direction_comes_from_where_the_list_is_applied() -> None:
    ios = {(r["name"], r.get("direction")) for r in records(IOS)}
    assert ios == {("10", None), ("101", None), ("OUTSIDE_IN", "in"), ("MGMT", None), ("PL_DEFAULT", None)}
    assert {r["direction"] for r in records(ASA)} == {"in"}
    both_ways = (
        b"ip access-list extended EDGE\n permit ip any host 10.0.0.1\n"
        b"ipv6 access-list V6\n"
        b"access-list 120 permit ip any host 10.0.0.2\n"
        b"interface Gi0/1\n ip access-group EDGE in\n ip access-group 120 out\n"
        b"interface Gi0/2\n ip access-group EDGE out\n"
    )
    assert {(r["name"], r["direction"]) for r in records(both_ways)} == {("EDGE", None), ("120", "out")}
    standard_1300 = b"access-list 1300 permit 10.20.0.0 0.0.255.255\n"
    assert [(r["cidr"], r["protocol"]) for r in records(standard_1300)] == [("10.20.0.0/16", None)]


def test_each_hostname_scopes_its_own_objects_and_bindings() -> None:
    body = (
        b"object network SHARED\n host 10.0.0.1\n"
        b"hostname fw-a\n"
        b"object-group network SERVERS\n network-object host 10.1.1.1\n"
        b"access-list IN extended permit tcp any object-group SERVERS eq 443\n"
        b"access-list IN extended permit tcp any object SHARED eq 22\n"
        b"access-group IN in interface outside\n"
        b"hostname fw-b\n"
        b"object-group network SERVERS\n network-object host 10.2.2.2\n"
        b"access-list IN extended permit tcp any object-group SERVERS eq 443\n"
        b"access-group IN out interface inside\n"
    )
    rows = [(r["line"], r["cidr"], r["direction"]) for r in records(body) if r["description"].startswith("destination")]
    assert rows == [(6, "10.1.1.1/32", "in"), (7, "10.0.0.1/32", "in"), (12, "10.2.2.2/32", "out")]


def test_object_groups_nested_too_deep_are_an_error_not_a_crash() -> None:
    chain = b"".join(b"object-group network G%d\n group-object G%d\n" % (i, i + 1) for i in range(3000))
    body = chain + b"object-group network G3000\n network-object host 10.0.0.1\n"
    body += b"access-list OUT extended permit ip any object-group G0\n"
    [error] = [i for i in iter_cisco_acl(io.BytesIO(body)) if isinstance(i, RowError)]
    assert "nested more than" in error.reason
    shallow = b"object-group network A\n group-object B\nobject-group network B\n network-object host 10.0.0.2\n"
    shallow += b"access-list OUT extended permit ip any object-group A\n"
    assert [r["cidr"] for r in records(shallow)] == ["0.0.0.0/0", "10.0.0.2/32"]
