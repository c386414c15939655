"""f5-tmsh: bigip.conf / tmsh list text imported and looked up, against expectations written here by hand."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings

from netlookup.imports.f5_tmsh import iter_f5_tmsh
from netlookup.imports.formats import guess_format, iter_records
from netlookup.imports.rows import ParsedRow, RowError
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "f5"
BIGIP_CONF = (FIXTURES / "bigip.conf").read_bytes()
ONE_LINE = (FIXTURES / "tmsh-list-one-line.txt").read_bytes()


def _records(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    return [(i.position, i.raw) for i in iter_f5_tmsh(io.BytesIO(body)) if isinstance(i, ParsedRow)]


def test_bigip_conf_virtuals_joined_with_their_pools() -> None:
    records = _records(BIGIP_CONF)
    assert [
        (line, r["partition"], r["name"], r["destination"], r["port"], r["route_domain"], r["protocol"], r["snat"])
        for line, r in records
    ] == [
        (49, "Common", "vs_app_80", "10.1.10.20", 80, None, "tcp", "automap"),
        (69, "DMZ", "vs_dmz_443", "10.60.60.146", 443, 6, "tcp", "/DMZ/snatpool_dmz"),
        (79, "Common", "vs_v6_443", "2001:db8::1", 443, None, "tcp", None),
        (87, "Common", "vs_forward", "0.0.0.0/0", None, None, "any", None),  # mask any: every address
        (93, "Common", "vs_legacy_snat", "10.1.10.30", 8080, None, "tcp", "/Common/snatpool_legacy"),
    ]
    by_name = {r["name"]: r for _, r in records}
    assert by_name["vs_app_80"]["members"] == [{"ip": "10.73.251.75", "port": 80}, {"ip": "10.73.251.76", "port": 8080}]
    assert by_name["vs_app_80"]["description"] == "public web { front }"
    assert by_name["vs_dmz_443"]["members"] == [{"ip": "10.60.70.5", "port": 8443}]
    assert by_name["vs_legacy_snat"]["members"] == [
        {"ip": "10.73.251.77", "port": 443},
        {"ip": "2001:db8:5::10", "port": 80},
    ]
    assert by_name["vs_v6_443"]["members"] == []


def test_one_line_tmsh_list_without_partitions() -> None:
    assert [
        (r["name"], r["partition"], r["destination"], r["port"], r["pool"], r["snat"]) for _, r in _records(ONE_LINE)
    ] == [
        ("vs_app_80", None, "10.1.10.20", 80, "pool_app", "automap"),
        ("vs_no_pool", None, "10.1.10.21", 443, None, "automap"),
    ]
    assert _records(ONE_LINE)[0][1]["members"] == [
        {"ip": "10.73.251.75", "port": 80},
        {"ip": "10.73.251.76", "port": 8080},
    ]


def test_guessed_and_read_under_either_f5_name() -> None:
    assert guess_format(io.BytesIO(BIGIP_CONF)) == "f5-tmsh"
    assert guess_format(io.BytesIO(ONE_LINE)) == "f5-tmsh"
    as_rest = [i for i in iter_records("f5-rest", io.BytesIO(BIGIP_CONF), ()) if isinstance(i, tuple)]
    assert len(as_rest) == 5


def test_bad_text_names_its_line() -> None:
    unclosed = b"ltm pool /Common/p {\n    members {\n"
    [error] = list(iter_f5_tmsh(io.BytesIO(unclosed)))
    assert isinstance(error, RowError)
    assert error.line == 1
    assert "never closes" in error.reason
    bad_destination = BIGIP_CONF.replace(b"destination /DMZ/10.60.60.146%6:443", b"destination /DMZ/somewhere")
    errors = [i for i in iter_f5_tmsh(io.BytesIO(bad_destination)) if isinstance(i, RowError)]
    assert [(e.line, e.field) for e in errors] == [(69, "destination")]
    unknown_service = BIGIP_CONF.replace(b"10.1.10.30:8080", b"10.1.10.30:no-such-service")
    errors = [i for i in iter_f5_tmsh(io.BytesIO(unknown_service)) if isinstance(i, RowError)]
    assert [(e.line, e.field) for e in errors] == [(93, "destination")]
    assert "no-such-service" in errors[0].reason
    deep = b"ltm virtual /Common/deep {\n" + b"{ " * 5000 + b"}" * 5001 + b"\n"
    [too_deep] = list(iter_f5_tmsh(io.BytesIO(deep)))
    assert isinstance(too_deep, RowError)
    assert too_deep.line == 1
    assert "nested more than" in too_deep.reason
    [nothing] = list(iter_f5_tmsh(io.BytesIO(b"sys global-settings {\n    hostname x\n}\n")))
    assert isinstance(nothing, RowError)
    assert "ltm virtual" in nothing.reason


@settings(max_examples=150, deadline=None)
@given(mutations(BIGIP_CONF))
def test_arbitrary_and_mutated_text_never_crashes(data: bytes) -> None:
    for item in iter_f5_tmsh(io.BytesIO(data)):
        assert isinstance(item, tuple | RowError)


async def test_import_then_lookup_finds_virtuals_and_members(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/import/f5", params={"source": "bigip-dc1.conf"}, content=BIGIP_CONF, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 5
    vip = (await client.get("/api/v1/f5/lookup", params={"q": "10.60.60.146"})).json()
    found = [(m["name"], m["route_domain"], m["matched_on"]) for m in vip["matches"]]
    assert found == [("vs_dmz_443", 6, "destination"), ("vs_forward", None, "destination")]  # then the wildcard
    member = (await client.get("/api/v1/f5/lookup", params={"q": "2001:db8:5::10"})).json()
    assert [(m["name"], m["matched_on"]) for m in member["matches"]] == [("vs_legacy_snat", "member")]
    bad = BIGIP_CONF.replace(b"destination /DMZ/10.60.60.146%6:443", b"destination /DMZ/10.60.60.300%6:443")
    rejected = await client.post(
        "/api/v1/import/f5", params={"source": "bigip-dc1.conf", "format": "f5-tmsh"}, content=bad, headers=AUTH
    )
    assert rejected.status_code == 422
    assert [(e["line"], e["field"]) for e in rejected.json()["detail"]["errors"]] == [(69, "destination")]
    still = (await client.get("/api/v1/f5/lookup", params={"q": "10.60.60.146"})).json()
    assert [m["name"] for m in still["matches"]] == ["vs_dmz_443", "vs_forward"]
