"""aws-elbv2: a combined ELBv2 document imported and looked up, against expectations written here by hand."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from hypothesis import given, settings

from netlookup.imports.aws_elbv2 import iter_aws_elbv2
from netlookup.imports.formats import guess_format
from netlookup.imports.rows import RowError, Unmapped
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

COMBINED = (Path(__file__).resolve().parents[1] / "fixtures" / "aws" / "elbv2-combined.json").read_bytes()


def test_one_record_per_address_and_target_group_and_instances_reported() -> None:
    items = list(iter_aws_elbv2(io.BytesIO(COMBINED)))
    records = [i[1] for i in items if isinstance(i, tuple)]
    assert [(r["name"], r["type"], r["vip"], r["port"], r["members"]) for r in records] == [
        (
            "api-nlb/api-tg",
            "nlb",
            "10.40.1.10",
            8443,
            [{"ip": "10.40.11.5", "port": 8443}, {"ip": "10.40.12.5", "port": 9443}],
        ),
        (
            "api-nlb/api-tg",
            "nlb",
            "10.40.2.10",
            8443,
            [{"ip": "10.40.11.5", "port": 8443}, {"ip": "10.40.12.5", "port": 9443}],
        ),
        (
            "api-nlb/api-tg",
            "nlb",
            "2001:db8:40::10",
            8443,
            [{"ip": "10.40.11.5", "port": 8443}, {"ip": "10.40.12.5", "port": 9443}],
        ),
        ("web-alb/web-tg", "alb", None, 80, [{"ip": "10.50.0.7", "port": 80}]),
        ("web-alb/legacy-tg", "alb", None, 8080, []),
    ]
    [unmapped] = [i for i in items if isinstance(i, Unmapped)]
    assert (unmapped.line, unmapped.kind, unmapped.sample["targets"]) == (2, "instance_targets", 1)


def test_guessing_and_bad_documents() -> None:
    assert guess_format(io.BytesIO(COMBINED)) == "aws-elbv2"
    health_first = b'{"target_health": {' + b'"arn:x": {"TargetHealthDescriptions": []},' * 200 + b'"arn:y": {}}}'
    assert len(health_first) > 4096
    assert guess_format(io.BytesIO(health_first)) == "aws-elbv2"
    [error] = list(iter_aws_elbv2(io.BytesIO(b'{"target_groups": {}}')))
    assert isinstance(error, RowError)
    assert "load_balancers" in error.reason


@settings(max_examples=150, deadline=None)
@given(mutations(COMBINED))
def test_arbitrary_and_mutated_documents_never_crash(data: bytes) -> None:
    for item in iter_aws_elbv2(io.BytesIO(data)):
        assert isinstance(item, tuple | RowError | Unmapped)


async def test_import_then_lookup_by_vip_and_by_member(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/import/lb", params={"source": "elbv2-eu-west-1"}, content=COMBINED, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 5
    assert response.json()["unmapped"]["by_kind"] == {"instance_targets": 1}
    by_vip = (await client.get("/api/v1/lb/lookup", params={"q": "10.40.2.10"})).json()
    assert [(m["name"], m["matched_on"]) for m in by_vip["matches"]] == [("api-nlb/api-tg", "vip")]
    by_member = (await client.get("/api/v1/lb/lookup", params={"q": "10.40.12.5"})).json()
    assert [(m["vip"], m["matched_on"]) for m in by_member["matches"]] == [
        ("10.40.1.10", "member"),
        ("10.40.2.10", "member"),
        ("2001:db8:40::10", "member"),
    ]
    alb = (await client.get("/api/v1/lb/lookup", params={"q": "10.50.0.0/24"})).json()
    assert [m["name"] for m in alb["matches"]] == ["web-alb/web-tg"]


async def test_bad_target_address_names_its_load_balancer(client: httpx.AsyncClient) -> None:
    bad = COMBINED.replace(b'"10.40.12.5"', b'"10.40.12.500"', 1)
    assert bad != COMBINED
    response = await client.post(
        "/api/v1/import/lb", params={"source": "elbv2-eu-west-1", "format": "aws-elbv2"}, content=bad, headers=AUTH
    )
    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert errors
    assert all(e["field"].startswith("members.") for e in errors)
    assert all(e["path"].startswith("load_balancers.LoadBalancers[") for e in errors)
    assert (await client.get("/api/v1/sources")).json() == []
