"""on_error=skip: a vendor file imports without the entries it cannot read, which the answer lists (count, line,
text, reason); a file that is not of its format at all, or is cut off, is refused in either mode; the default
stays strict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from netlookup.changes import DataChange
from tests.conftest import AUTH
from tests.processes import run_cli

CISCO = (
    b"hostname fw-sanitised\n"
    b"ip access-list extended EDGE\n"
    b" 10 permit tcp any host 10.50.0.1 eq 443\n"
    b" 20 permit esp host any any\n"  # a sanitisation typo: the address became "any"
    b" 30 permit udp any 10.50.1.0 0.0.0.255 eq 53\n"
    b" 40 deny ip any any\n"
)
F5 = b"""ltm virtual /Common/good_vs {
    destination /Common/10.60.0.10:443
    ip-protocol tcp
}
ltm virtual /Common/no_destination_vs {
    ip-protocol tcp
}
ltm virtual /Common/other_good_vs {
    destination /Common/10.60.0.11:80
    ip-protocol tcp
}
"""


async def _import(client: httpx.AsyncClient, category: str, body: bytes, fmt: str, **params: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/import/{category}",
        params={"source": f"skip-{fmt}", "format": fmt, **params},
        content=body,
        headers=AUTH,
    )


async def _sources(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = (await client.get("/api/v1/sources")).json()
    return sources


async def test_one_bad_line_refuses_the_file_by_default_and_is_skipped_and_listed_on_request(
    client: httpx.AsyncClient,
) -> None:
    strict = await _import(client, "acl", CISCO, "cisco-acl")
    assert strict.status_code == 422
    assert strict.json()["detail"]["errors"][0]["text"] == "20 permit esp host any any"
    assert await _sources(client) == []

    skipped = await _import(client, "acl", CISCO, "cisco-acl", on_error="skip")
    assert skipped.status_code == 200, skipped.text
    answer = skipped.json()
    assert answer["count"] == 6  # three good entries, a source and a destination record each
    assert answer["skipped"]["count"] == 1
    [row] = answer["skipped"]["rows"]
    assert (row["line"], row["text"]) == (4, "20 permit esp host any any")
    assert "'any' is not an address" in row["reason"]
    found = (await client.get("/api/v1/acl/lookup", params={"q": "10.50.1.7", "port": 53})).json()
    assert [(m["line"], m["cidr"]) for m in found["matches"]] == [
        (5, "10.50.1.0/24"),
        (5, "0.0.0.0/0"),
        (6, "0.0.0.0/0"),
        (6, "0.0.0.0/0"),
    ]


async def test_an_f5_virtual_without_a_destination_is_skipped_not_blocking_the_others(
    client: httpx.AsyncClient,
) -> None:
    assert (await _import(client, "f5", F5, "f5-tmsh")).status_code == 422
    answer = (await _import(client, "f5", F5, "f5-tmsh", on_error="skip")).json()
    assert answer["count"] == 2
    assert answer["skipped"]["count"] == 1
    assert answer["skipped"]["rows"][0]["text"] == "ltm virtual /Common/no_destination_vs {"
    found = (await client.get("/api/v1/f5/lookup", params={"q": "10.60.0.11"})).json()
    assert [m["name"] for m in found["matches"]] == ["other_good_vs"]


async def test_a_file_cut_off_or_of_another_format_is_refused_in_either_mode(client: httpx.AsyncClient) -> None:
    cut_off = b'{"SecurityGroups": [{"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPo'
    for mode in ("reject", "skip"):
        response = await _import(client, "sg", cut_off, "aws-sg", on_error=mode)
        assert response.status_code == 422, (mode, response.text)
        assert "not valid JSON" in response.text
        not_cisco = await _import(client, "acl", b"hello world\nthis is not a router\n", "cisco-acl", on_error=mode)
        assert not_cisco.status_code == 422
        assert "no access-list" in not_cisco.text
    every_line_bad = b"ip access-list extended E\n permit tcp any any eq nosuch\n permit esp host any any\n"
    refused = await _import(client, "acl", every_line_bad, "cisco-acl", on_error="skip")
    assert refused.status_code == 422
    assert "every entry of the file was refused (2)" in refused.text
    assert await _sources(client) == []


async def test_canonical_rows_are_skipped_with_their_text(client: httpx.AsyncClient) -> None:
    body = b'{"cidr": "10.70.0.0/16", "line": 1}\n{"cidr": "10.70.0.300/32", "line": 2}\n{"cidr": "10.71.0.0/16"}\n'
    answer = (await _import(client, "acl", body, "ndjson", on_error="skip")).json()
    assert answer["count"] == 2
    [row] = answer["skipped"]["rows"]
    assert (row["line"], row["field"], row["text"]) == (2, "cidr", '{"cidr": "10.70.0.300/32", "line": 2}')
    bad_mode = await _import(client, "acl", body, "ndjson", on_error="sometimes")
    assert bad_mode.status_code == 422
    assert "on_error" in bad_mode.text


def test_data_changed_carries_the_skipped_count() -> None:
    change = DataChange("acl", "fw", 3, 0, "ab" * 32, skipped=2)
    assert change.as_payload()["skipped"] == 2
    assert DataChange.from_payload(change.as_payload()) == change
    older_node = {k: v for k, v in change.as_payload().items() if k != "skipped"}
    assert DataChange.from_payload(older_node) == DataChange("acl", "fw", 3, 0, "ab" * 32)


def test_the_cli_skips_on_request(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "fw.cfg"
    config.write_bytes(CISCO)
    refused = run_cli(database_url, "import", "acl", str(config), "--source", "cli-skip", check=False)
    assert refused.returncode == 2
    imported = run_cli(database_url, "import", "acl", str(config), "--source", "cli-skip", "--on-error", "skip")
    answer = orjson.loads(imported.stdout)
    assert answer["skipped"]["count"] == 1
    assert answer["count"] == 6
