"""f5-rest: iControl REST virtuals and pools imported and looked up, against expectations written here by hand."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings

from netlookup.imports.f5_common import parse_destination
from netlookup.imports.f5_rest import iter_f5_rest
from netlookup.imports.formats import guess_format
from netlookup.imports.rows import RowError
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "f5"
VIRTUALS = (FIXTURES / "ltm-virtual.json").read_bytes()
POOLS = (FIXTURES / "ltm-pool.json").read_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Common/10.1.10.20:80", ("10.1.10.20", 80, None)),
        ("/DMZ/10.60.60.146%6:443", ("10.60.60.146", 443, 6)),
        ("/Common/2001:db8::1.443", ("2001:db8::1", 443, None)),
        ("/Common/0.0.0.0:any", ("0.0.0.0", None, None)),
        ("10.0.0.1:8080", ("10.0.0.1", 8080, None)),
    ],
)
def test_destinations(text: str, expected: tuple[str | None, int | None, int | None]) -> None:
    assert parse_destination(text) == expected


def test_virtuals_joined_with_pools_in_either_order() -> None:
    for body in (VIRTUALS + POOLS, POOLS + VIRTUALS):
        records = [i[1] for i in iter_f5_rest(io.BytesIO(body)) if isinstance(i, tuple)]
        assert [
            (r["partition"], r["name"], r["destination"], r["port"], r["route_domain"], r["snat"]) for r in records
        ] == [
            ("Common", "vs_app_80", "10.1.10.20", 80, None, "automap"),
            ("DMZ", "vs_dmz_443", "10.60.60.146", 443, 6, "/DMZ/snatpool_dmz"),
            ("Common", "vs_v6_443", "2001:db8::1", 443, None, None),
            ("Common", "vs_forward", "0.0.0.0", None, None, None),
        ]
        assert records[0]["members"] == [{"ip": "10.73.251.75", "port": 80}, {"ip": "10.73.251.76", "port": 8080}]
        assert records[1]["members"] == [{"ip": "10.60.70.5", "port": 8443}]


def test_guessing_and_bad_documents() -> None:
    assert guess_format(io.BytesIO(VIRTUALS)) == "f5-rest"
    [error] = list(iter_f5_rest(io.BytesIO(POOLS)))
    assert isinstance(error, RowError)
    assert "virtual" in error.reason
    bad = VIRTUALS.replace(b'"/Common/10.1.10.20:80"', b'"nowhere"')
    errors = [i for i in iter_f5_rest(io.BytesIO(bad)) if isinstance(i, RowError)]
    assert [(e.line, e.field, e.path) for e in errors] == [(1, "destination", "items[0].destination")]


@settings(max_examples=150, deadline=None)
@given(mutations(VIRTUALS))
def test_arbitrary_and_mutated_documents_never_crash(data: bytes) -> None:
    for item in iter_f5_rest(io.BytesIO(data)):
        assert isinstance(item, tuple | RowError)


async def test_two_files_import_then_lookup(client: httpx.AsyncClient) -> None:
    files = [
        ("file", ("virtual.json", VIRTUALS, "application/json")),
        ("file", ("pool.json", POOLS, "application/json")),
    ]
    response = await client.post("/api/v1/import/f5", params={"source": "bigip-dc1"}, files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 4
    member = (await client.get("/api/v1/f5/lookup", params={"q": "10.73.251.76"})).json()
    assert [(m["name"], m["matched_on"]) for m in member["matches"]] == [("vs_app_80", "member")]
    dmz = (await client.get("/api/v1/f5/lookup", params={"q": "10.60.0.0/16"})).json()
    assert [(m["name"], m["matched_on"], m["route_domain"]) for m in dmz["matches"]] == [
        ("vs_dmz_443", "destination", 6)
    ]
    v6 = (await client.get("/api/v1/f5/lookup", params={"q": "2001:db8::1", "port": 443})).json()
    assert [m["name"] for m in v6["matches"]] == ["vs_v6_443"]
