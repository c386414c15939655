"""aws-sg: AWS security-group dumps imported and looked up, against expectations written here by hand."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import orjson
from hypothesis import given, settings

from netlookup.config import Settings
from netlookup.imports.aws_sg import iter_aws_sg
from netlookup.imports.formats import guess_format
from netlookup.imports.rows import RowError, Unmapped
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
GROUPS = (FIXTURES / "describe-security-groups.json").read_bytes()
RULES = (FIXTURES / "describe-security-group-rules.json").read_bytes()


def test_groups_dump_becomes_one_record_per_range_and_reports_references() -> None:
    items = list(iter_aws_sg(io.BytesIO(GROUPS)))
    records = [i[1] for i in items if isinstance(i, tuple)]
    assert [(r["group_id"], r["direction"], r["protocol"], r["from_port"], r["cidr"]) for r in records] == [
        ("sg-0123456789abcdef0", "ingress", "tcp", 443, "0.0.0.0/0"),
        ("sg-0123456789abcdef0", "ingress", "tcp", 443, "203.0.113.0/24"),
        ("sg-0123456789abcdef0", "ingress", "tcp", 443, "2001:db8:1234::/48"),
        ("sg-0123456789abcdef0", "egress", "all", None, "0.0.0.0/0"),
        ("sg-0123456789abcdef0", "egress", "all", None, "::/0"),
        ("sg-0fedcba9876543210", "ingress", "tcp", 5432, "10.20.1.0/24"),
        ("sg-0fedcba9876543210", "ingress", "icmp", 8, "10.20.0.0/16"),
    ]
    assert records[0]["description"] == "HTTPS from anywhere"
    assert records[0]["account"] == "123456789012"
    assert records[0]["vpc_id"] == "vpc-0a1b2c3d4e5f67890"
    unmapped = [i for i in items if isinstance(i, Unmapped)]
    assert [(u.line, u.kind) for u in unmapped] == [(1, "prefix_list"), (1, "group_reference")]


def test_concatenated_pages_are_one_dump() -> None:
    items = list(iter_aws_sg(io.BytesIO(GROUPS + b"\n" + RULES)))
    records = [i[1] for i in items if isinstance(i, tuple)]
    assert len(records) == 9
    assert [i[0] for i in items if isinstance(i, tuple)][-2:] == [3, 4]


def test_guessing_and_bad_dumps() -> None:
    assert guess_format(io.BytesIO(GROUPS)) == "aws-sg"
    assert guess_format(io.BytesIO(RULES)) == "aws-sg"
    [error] = list(iter_aws_sg(io.BytesIO(b'{"Reservations": []}')))
    assert isinstance(error, RowError)
    assert "SecurityGroups" in error.reason
    broken = list(iter_aws_sg(io.BytesIO(GROUPS[: len(GROUPS) // 2])))
    assert isinstance(broken[-1], RowError)
    assert "not valid JSON" in broken[-1].reason


@settings(max_examples=150, deadline=None)
@given(mutations(GROUPS))
def test_arbitrary_and_mutated_dumps_never_crash(data: bytes) -> None:
    for item in iter_aws_sg(io.BytesIO(data)):
        assert isinstance(item, tuple | RowError | Unmapped)


async def test_import_then_lookup_finds_exactly_the_expected_rules(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/import/sg", params={"source": "aws-prod-eu-west-1"}, content=GROUPS + RULES, headers=AUTH
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 9
    assert body["unmapped"]["count"] == 3
    assert body["unmapped"]["by_kind"] == {"prefix_list": 1, "group_reference": 2}
    found = (await client.get("/api/v1/sg/lookup", params={"q": "10.30.4.5"})).json()
    assert [(m["cidr"], m["from_port"], m["to_port"]) for m in found["matches"]] == [
        ("10.30.0.0/16", 8080, 8090),
        ("0.0.0.0/0", 443, 443),
        ("0.0.0.0/0", None, None),
    ]
    narrowed = (await client.get("/api/v1/sg/lookup", params={"q": "10.20.1.7", "port": 5432})).json()
    assert [(m["group_id"], m["cidr"]) for m in narrowed["matches"]] == [
        ("sg-0fedcba9876543210", "10.20.1.0/24"),
        ("sg-0fedcba9876543210", "10.20.0.0/16"),  # ICMP echo (type 8): names no port, so any port is admitted
        ("sg-0123456789abcdef0", "0.0.0.0/0"),
    ]
    tcp = (await client.get("/api/v1/sg/lookup", params={"q": "10.20.1.7", "port": 5432, "protocol": "tcp"})).json()
    assert [m["cidr"] for m in tcp["matches"]] == ["10.20.1.0/24", "0.0.0.0/0"]
    v6 = (await client.get("/api/v1/sg/lookup", params={"q": "2001:db8:1234::1"})).json()
    assert [m["cidr"] for m in v6["matches"]] == ["2001:db8:1234::/48", "2001:db8::/32", "::/0"]


async def test_aws_sg_is_refused_for_other_categories_and_bad_rows_name_their_item(client: httpx.AsyncClient) -> None:
    wrong = await client.post(
        "/api/v1/import/acl", params={"source": "x", "format": "aws-sg"}, content=GROUPS, headers=AUTH
    )
    assert wrong.status_code == 422  # the acl import's format enum (the document says so) leaves aws-sg out
    assert "'cisco-acl', 'json', 'ndjson' or 'csv'" in wrong.text
    guessed = await client.post("/api/v1/import/acl", params={"source": "x"}, content=GROUPS, headers=AUTH)
    assert guessed.status_code == 422  # the file, guessed aws-sg, fills another category
    assert "sg records" in guessed.json()["detail"]
    bad = orjson.loads(GROUPS)
    bad["SecurityGroups"][1]["IpPermissions"][0]["IpRanges"][0]["CidrIp"] = "10.20.1.0/33"
    rejected = await client.post(
        "/api/v1/import/sg", params={"source": "x", "format": "aws-sg"}, content=orjson.dumps(bad), headers=AUTH
    )
    assert rejected.status_code == 422
    [error] = rejected.json()["detail"]["errors"]
    assert (error["line"], error["field"], error["path"]) == (
        2,
        "cidr",
        "SecurityGroups[1].IpPermissions[0].IpRanges[0]",
    )
    assert (await client.get("/api/v1/sources")).json() == []


async def test_paginated_dump_as_several_multipart_files(client: httpx.AsyncClient) -> None:
    files = [("file", ("page1.json", GROUPS, "application/json")), ("file", ("page2.json", RULES, "application/json"))]
    response = await client.post("/api/v1/import/sg", params={"source": "pages"}, files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 9


def test_cli_imports_several_files_as_one(settings: Settings, tmp_path: Path) -> None:
    import asyncio

    from tests.conftest import reset_database
    from tests.processes import run_cli

    asyncio.run(reset_database(settings.database_url))
    first, second = tmp_path / "page1.json", tmp_path / "page2.json"
    first.write_bytes(GROUPS)
    second.write_bytes(RULES)
    result = orjson.loads(
        run_cli(settings.database_url, "import", "sg", str(first), str(second), "--source", "cli-pages").stdout
    )
    assert result["count"] == 9
    assert result["unmapped"]["count"] == 3


async def test_icmp_type_and_code_import_and_admit_any_port(client: httpx.AsyncClient) -> None:
    dump = {
        "SecurityGroups": [
            {
                "GroupId": "sg-0a0a0a0a0a0a0a0a0",
                "GroupName": "icmp",
                "IpPermissions": [
                    {"IpProtocol": "icmp", "FromPort": 11, "ToPort": 0, "IpRanges": [{"CidrIp": "10.70.0.0/16"}]},
                    {"IpProtocol": "icmpv6", "FromPort": 128, "ToPort": -1, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
                ],
                "IpPermissionsEgress": [],
            }
        ]
    }
    response = await client.post(
        "/api/v1/import/sg", params={"source": "icmp"}, content=orjson.dumps(dump), headers=AUTH
    )
    assert response.status_code == 200, response.text
    found = (await client.get("/api/v1/sg/lookup", params={"q": "10.70.1.1", "port": 443})).json()
    assert [(m["protocol"], m["from_port"], m["to_port"]) for m in found["matches"]] == [("icmp", 11, 0)]
    tcp_only = (await client.get("/api/v1/sg/lookup", params={"q": "10.70.1.1", "protocol": "tcp"})).json()
    assert tcp_only["matches"] == []
