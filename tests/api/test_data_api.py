"""Imports, deletes, record lists and sources over HTTP: atomic, validated, authenticated."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from netlookup.app import create_app
from netlookup.config import Settings
from tests.conftest import AUTH
from tests.processes import API_KEY


def ndjson(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def sg_rows(count: int, second_octet: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "cidr": f"10.{second_octet}.{i // 256 % 256}.{i % 256}/32",
            "group_id": f"sg-{i % 7}",
            "direction": "ingress",
            "protocol": "tcp",
            "from_port": 443,
            "to_port": 443,
        }
        for i in range(count)
    ]


async def do_import(
    client: httpx.AsyncClient,
    category: str,
    source: str,
    body: bytes,
    fmt: str | None = None,
    **kwargs: Any,
) -> httpx.Response:
    params = {"source": source} | ({"format": fmt} if fmt else {})
    return await client.post(f"/api/v1/import/{category}", params=params, content=body, headers=AUTH, **kwargs)


async def test_import_reports_counts_and_replaces_the_source(client: httpx.AsyncClient) -> None:
    first = await do_import(
        client,
        "acl",
        "configs/fw1.cfg",
        ndjson([{"cidr": "10.0.0.0/8"}, {"cidr": "10.1.0.0/16"}, {"cidr": "10.2.0.0/16"}]),
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["count"], body["added"], body["removed"]) == (3, 3, 0)
    assert body["category"] == "acl"
    assert body["source"] == "configs/fw1.cfg"
    assert len(body["checksum"]) == 64
    second = (
        await do_import(client, "acl", "configs/fw1.cfg", ndjson([{"cidr": "10.0.0.0/8"}, {"cidr": "10.3.0.0/16"}]))
    ).json()
    assert (second["count"], second["added"], second["removed"]) == (2, 1, 2)
    found = (await client.get("/api/v1/acl/lookup", params={"q": "10.1.0.1"})).json()
    assert [m["cidr"] for m in found["matches"]] == ["10.0.0.0/8"]


async def test_same_content_in_any_order_has_the_same_checksum(client: httpx.AsyncClient) -> None:
    rows = [{"cidr": "10.0.0.0/8", "line": 1}, {"cidr": "10.1.0.0/16", "line": 2}]
    a = (await do_import(client, "acl", "a", ndjson(rows))).json()
    b = (await do_import(client, "acl", "b", ndjson(rows[::-1]))).json()
    c = (await do_import(client, "acl", "c", ndjson([rows[0]]))).json()
    assert a["checksum"] == b["checksum"] != c["checksum"]


async def test_multipart_upload_from_a_browser_file_picker(client: httpx.AsyncClient) -> None:
    csv_body = b"cidr,group_id,direction,protocol,from_port,to_port\n10.5.0.0/16,sg-9,ingress,tcp,80,80\n"
    response = await client.post(
        "/api/v1/import/sg",
        params={"source": "upload.csv"},
        headers=AUTH,
        files={"file": ("rules.csv", csv_body, "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 1
    missing = await client.post(
        "/api/v1/import/sg",
        params={"source": "x"},
        headers=AUTH,
        files={"other": ("rules.csv", csv_body, "text/csv")},
    )
    assert missing.status_code == 422
    assert "file" in missing.json()["detail"]


async def test_format_is_guessed_from_content(client: httpx.AsyncClient) -> None:
    for body in (
        ndjson([{"cidr": "10.0.0.0/8"}]),
        orjson.dumps([{"cidr": "10.0.0.0/8"}]),
        b"cidr\n10.0.0.0/8\n",
    ):
        response = await do_import(client, "acl", "guess", body)
        assert response.status_code == 200, response.text
        assert response.json()["count"] == 1


async def test_import_with_bad_row_keeps_previous_data(client: httpx.AsyncClient) -> None:
    assert (await do_import(client, "sg", "big", ndjson(sg_rows(10)))).status_code == 200
    before = (await client.get("/api/v1/sources")).json()
    rows = sg_rows(20_000, second_octet=1)
    rows[12_345]["cidr"] = "10.1.300.1/32"
    rows[15_000]["from_port"] = 70000
    response = await do_import(client, "sg", "big", ndjson(rows))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["error_count"] == 2
    assert [(e["line"], e["field"]) for e in detail["errors"]] == [(12_346, "cidr"), (15_001, "from_port")]
    assert "10.1.300.1" in detail["errors"][0]["reason"]
    assert (await client.get("/api/v1/sources")).json() == before
    found = (await client.get("/api/v1/sg/lookup", params={"q": "10.1.0.0/16", "mode": "within"})).json()
    assert found["total"] == 0
    page = (await client.get("/api/v1/sg", params={"source": "big", "limit": 1000})).json()
    assert len(page["items"]) == 10


@pytest.mark.parametrize(
    ("body", "fmt", "needle"),
    [
        (b'{"cidr": "10.0.0.0/8"}\n{"cidr": \n', "ndjson", "not valid JSON"),
        (b'[{"cidr": "10.0.0.0/8"}, {"cidr": ', "json", "not valid JSON"),
        (b'{"cidr": "10.0.0.0/8"}', "json", "JSON array"),
        (b"[1, 2]", "json", "JSON object"),
        (b"cidr,colour\n10.0.0.0/8,red\n", "csv", "unknown columns"),
        (b"cidr\n10.0.0.0/8,extra\n", "csv", "more cells"),
        (b"cidr,line\n10.0.0.0/8,ten\n", "csv", "line"),
        (b'{"cidr": "10.0.0.0/8", "action": "allow"}\n', "ndjson", "action"),
        (b'{"cidr": "10.0.0.0/8", "port": "80-20"}\n', "ndjson", "backwards"),
        (b'{"cidr": "10.0.0.0/8", "bogus": 1}\n', "ndjson", "bogus"),
        (b'{"name": "no cidr"}\n', "ndjson", "cidr"),
        (b"\xff\xfe\x00garbage", "csv", "CSV"),
        (b"", "ndjson", "no acl records"),
    ],
)
async def test_broken_files_are_rejected_with_a_reason(
    client: httpx.AsyncClient, body: bytes, fmt: str, needle: str
) -> None:
    response = await do_import(client, "acl", "broken", body, fmt)
    assert response.status_code == 422, response.text
    assert needle in response.text
    assert (await client.get("/api/v1/sources")).json() == []


async def test_bad_import_parameters(client: httpx.AsyncClient) -> None:
    body = ndjson([{"cidr": "10.0.0.0/8"}])
    unknown_format = await do_import(client, "acl", "x", body, "xml")
    assert unknown_format.status_code == 422
    assert "cisco-acl" in unknown_format.text  # the answer lists the formats the category takes
    other_category = await do_import(client, "acl", "x", body, "aws-sg")
    assert other_category.status_code == 422  # aws-sg fills sg: not a format of the acl import
    assert "'cisco-acl', 'json', 'ndjson' or 'csv'" in other_category.text
    unknown_category = await do_import(client, "dns", "x", body)
    assert unknown_category.status_code == 404
    assert unknown_category.json() == {"detail": "unknown category 'dns': use one of acl, sg, lb, f5"}
    assert (await client.post("/api/v1/import/acl", content=body, headers=AUTH)).status_code == 422
    form = await client.post("/api/v1/import/acl", params={"source": "x"}, data={"cidr": "10.0.0.0/8"}, headers=AUTH)
    assert form.status_code == 422  # a real form is no file: its body "cidr=10.0.0.0%2F8" is not CSV we know
    assert "unknown columns" in form.text


async def test_a_raw_body_labelled_as_a_form_is_the_file(client: httpx.AsyncClient) -> None:
    # What `curl --data-binary @rules.ndjson` sends: the file, with the form content type curl puts on it.
    headers = AUTH | {"content-type": "application/x-www-form-urlencoded"}
    body = ndjson([{"cidr": "10.0.0.0/8"}, {"cidr": "10.1.0.0/16"}])
    response = await client.post("/api/v1/import/acl", params={"source": "curl.cfg"}, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 2


async def test_writes_need_a_valid_key(client: httpx.AsyncClient) -> None:
    body = ndjson([{"cidr": "10.0.0.0/8"}])
    missing = await client.post("/api/v1/import/acl", params={"source": "x"}, content=body)
    assert missing.status_code == 401
    assert "missing API key" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await client.post(
        "/api/v1/import/acl",
        params={"source": "x"},
        content=body,
        headers={"Authorization": "Bearer wrong-key-wrong-key"},
    )
    assert wrong.status_code == 403
    assert (await client.delete("/api/v1/sources/acl/x")).status_code == 401
    assert (await client.get("/api/v1/sources")).status_code == 200


async def test_read_auth_protects_reads(database_url: str) -> None:
    settings = Settings(database_url=database_url, api_keys=[API_KEY], read_auth=True, _env_file=None)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 401
        assert (await http.get("/api/v1/sources", headers={"Authorization": "Bearer nope"})).status_code == 403
        assert (await http.get("/api/v1/lookup", params={"q": "10.0.0.1"}, headers=AUTH)).status_code == 200
        assert (await http.get("/healthz")).status_code == 200


async def test_body_over_the_upload_limit_is_a_413(database_url: str) -> None:
    settings = Settings(database_url=database_url, api_keys=[API_KEY], max_upload_mb=1, _env_file=None)
    app = create_app(settings)
    body = ndjson(sg_rows(30_000))
    assert len(body) > 1024 * 1024

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the streamed count must catch it
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        sized = await http.post("/api/v1/import/sg", params={"source": "x"}, content=body, headers=AUTH)
        assert sized.status_code == 413
        streamed = await http.post("/api/v1/import/sg", params={"source": "x"}, content=chunks(), headers=AUTH)
        assert streamed.status_code == 413
        assert (await http.get("/api/v1/sources")).json() == []


async def test_list_is_keyset_paginated(client: httpx.AsyncClient) -> None:
    await do_import(client, "sg", "p", ndjson(sg_rows(25)))
    await do_import(client, "sg", "q", ndjson(sg_rows(5, second_octet=9)))
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"source": "p", "limit": 10} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/sg", params=params)).json()
        seen.extend(item["id"] for item in page["items"])
        assert all(item["source"] == "p" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 25
    assert seen == sorted(seen)
    assert len(set(seen)) == 25
    assert (await client.get("/api/v1/sg", params={"cursor": "garbage!"})).status_code == 422
    everything = (await client.get("/api/v1/sg", params={"limit": 1000})).json()
    assert len(everything["items"]) == 30
    assert everything["next_cursor"] is None


async def test_sources_and_delete(client: httpx.AsyncClient) -> None:
    await do_import(client, "acl", "configs/a/fw.cfg", ndjson([{"cidr": "10.0.0.0/8"}, {"cidr": "10.1.0.0/16"}]))
    await do_import(client, "lb", "lbs", orjson.dumps([{"vip": "10.0.0.1", "members": [{"ip": "10.0.0.2"}]}]))
    sources = (await client.get("/api/v1/sources")).json()
    assert [(s["category"], s["source"], s["count"]) for s in sources] == [
        ("acl", "configs/a/fw.cfg", 2),
        ("lb", "lbs", 1),
    ]
    assert sources[0]["imported_at"].endswith("Z")
    deleted = await client.delete("/api/v1/sources/acl/configs/a/fw.cfg", headers=AUTH)
    assert deleted.status_code == 200
    assert deleted.json()["removed"] == 2
    assert (await client.get("/api/v1/acl/lookup", params={"q": "10.0.0.1"})).json()["total"] == 0
    deleted_lb = await client.delete("/api/v1/sources/lb/lbs", headers=AUTH)
    assert deleted_lb.status_code == 200
    assert (await client.get("/api/v1/lb/lookup", params={"q": "10.0.0.2"})).json()["total"] == 0
    again = await client.delete("/api/v1/sources/acl/configs/a/fw.cfg", headers=AUTH)
    assert again.status_code == 404


async def test_readers_never_see_a_mix_during_an_import(client: httpx.AsyncClient) -> None:
    """While a source flips between two versions, every lookup sees all of one version or all of the other."""
    old, new = sg_rows(3000, second_octet=4), sg_rows(3000, second_octet=4)
    for row in new:
        row["group_id"] = "sg-new"
    await do_import(client, "sg", "flip", ndjson(old))
    done = asyncio.Event()
    observed: set[tuple[int, tuple[str, ...]]] = set()

    async def reader() -> None:
        while not done.is_set():
            result = (
                await client.get("/api/v1/sg/lookup", params={"q": "10.4.0.0/16", "mode": "within", "limit": 1000})
            ).json()
            observed.add((result["total"], tuple(sorted({m["group_id"] for m in result["matches"]}))))
            await asyncio.sleep(0)

    async def writer() -> None:
        for body in (new, old, new):
            response = await do_import(client, "sg", "flip", ndjson(body))
            assert response.status_code == 200
        done.set()

    await asyncio.gather(reader(), reader(), writer())
    assert all(total == 3000 for total, _ in observed), observed
    assert {groups for _, groups in observed} <= {("sg-new",), tuple(sorted({r["group_id"] for r in old}))}


async def test_concurrent_imports_of_one_source_never_mix(client: httpx.AsyncClient) -> None:
    bodies = [ndjson([{**r, "group_id": f"sg-v{v}"} for r in sg_rows(2000, second_octet=6)]) for v in range(3)]
    responses = await asyncio.gather(*(do_import(client, "sg", "race", body) for body in bodies))
    assert {r.status_code for r in responses} <= {200, 409}
    assert any(r.status_code == 200 for r in responses)
    result = (
        await client.get("/api/v1/sg/lookup", params={"q": "10.6.0.0/16", "mode": "within", "limit": 1000})
    ).json()
    assert result["total"] == 2000
    assert len({m["group_id"] for m in result["matches"]}) == 1


async def test_cors_allows_only_configured_origins(database_url: str) -> None:
    # As the environment gives it: one comma-separated string.
    from_env: dict[str, Any] = {"cors_origins": "https://spa.example.net", "_env_file": None}
    settings = Settings(database_url=database_url, **from_env)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        allowed = await http.get("/healthz", headers={"Origin": "https://spa.example.net"})
        assert allowed.headers["access-control-allow-origin"] == "https://spa.example.net"
        other = await http.get("/healthz", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers


async def _acl_index(client: httpx.AsyncClient) -> object:
    return (await client.get("/readyz")).json()["checks"]["memory_index"]["acl"]


async def _acl_index_holding(client: httpx.AsyncClient, records: int) -> dict[str, int]:
    for _ in range(600):
        index = await _acl_index(client)
        if isinstance(index, dict) and index["records"] == records:
            return index
        await asyncio.sleep(0.05)
    raise AssertionError(f"the acl index never held {records} records")


async def test_reimporting_the_same_content_keeps_the_memory_index(client: httpx.AsyncClient) -> None:
    body = b'{"cidr": "10.0.0.0/8", "line": 1}\n{"cidr": "10.1.0.0/16", "line": 2}\n'
    params = {"source": "same.cfg", "format": "ndjson"}
    assert (await client.post("/api/v1/import/acl", params=params, content=body, headers=AUTH)).status_code == 200
    index = await _acl_index_holding(client, 2)
    again = (await client.post("/api/v1/import/acl", params=params, content=body, headers=AUTH)).json()
    assert (again["added"], again["removed"]) == (0, 0)
    assert await _acl_index(client) == index  # not dropped, not rebuilt: same version, still serving
    changed = body + b'{"cidr": "10.2.0.0/16", "line": 3}\n'
    assert (await client.post("/api/v1/import/acl", params=params, content=changed, headers=AUTH)).status_code == 200
    rebuilt = await _acl_index_holding(client, 3)
    assert rebuilt["version"] == index["version"] + 1
