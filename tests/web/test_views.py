"""The page's other views in Chromium: many addresses, live change banner, import, sources."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
from playwright.sync_api import Page, expect

from netlookup.demo import sample_addresses
from netlookup.demo_files import write_aws_sg
from tests.processes import API_KEY
from tests.web.conftest import DEMO_SCALE, Served, Watched

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def import_rows(served: Served, source: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{served.url}/api/v1/import/acl", params={"source": source}, content=body, headers=AUTH)


def open_view(page: Page, served: Served, view: str) -> None:
    page.goto(served.url + "/")
    expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
    page.get_by_role("button", name=view, exact=True).click()


def test_fifty_addresses_are_one_batch_grouped_like_the_batch_api(watched: Watched, served: Served) -> None:
    page = watched.page
    addresses = sample_addresses(50, seed=3, scale=float(DEMO_SCALE))
    batches: list[str] = []
    page.on("request", lambda sent: batches.append(sent.url) if sent.url.endswith("/lookup/batch") else None)
    open_view(page, served, "Many addresses")
    page.get_by_label("Addresses or CIDRs").fill("\n".join(addresses[:25]) + "\n" + ", ".join(addresses[25:]))
    page.get_by_role("button", name="Look them up").click()
    expected: Any = httpx.post(f"{served.url}/api/v1/lookup/batch", json={"queries": addresses}, timeout=30).json()
    items = page.locator("details.bulk-item")
    expect(items).to_have_count(50)
    for index, response in enumerate(expected["results"]):
        counts = ", ".join(f"{c} {response['results'][c]['total']}" for c in ("acl", "sg", "lb", "f5"))
        expect(items.nth(index).locator("summary")).to_have_text(f"{response['query']} — {counts}")
    assert len(batches) == 1
    items.nth(0).locator("summary").click()
    expect(items.nth(0).get_by_role("heading", name=re.compile("ACL entries"))).to_be_visible()


def test_a_bad_line_in_the_paste_box_is_pointed_at(watched: Watched, served: Served) -> None:
    page = watched.page
    open_view(page, served, "Many addresses")
    page.get_by_label("Addresses or CIDRs").fill("10.0.0.1\n10.0.0.2\nnot-an-address\n")
    page.get_by_role("button", name="Look them up").click()
    expect(page.get_by_text("address 3 (not-an-address)")).to_be_visible()
    expect(page.locator("details.bulk-item")).to_have_count(0)


def test_a_change_shows_a_banner_and_the_rerun_shows_the_new_row(watched: Watched, served: Served) -> None:
    page = watched.page
    before: Any = httpx.get(f"{served.url}/api/v1/acl/lookup", params={"q": "10.250.1.1"}, timeout=10).json()
    page.goto(f"{served.url}/?q=10.250.1.1&categories=acl")
    acl = page.get_by_role("region", name="ACL entries")
    expect(acl.get_by_text(re.compile(rf"^{before['total']} match"))).to_be_visible()
    expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
    body = orjson.dumps({"cidr": "10.250.0.0/16", "line": 7, "name": "BANNER_TEST", "action": "permit"}) + b"\n"
    imported = import_rows(served, "banner.cfg", body)
    assert imported.status_code == 200, imported.text
    expect(page.get_by_text("acl: banner.cfg changed, +1 −0")).to_be_visible()
    page.wait_for_timeout(500)
    expect(acl.get_by_text("banner.cfg:7")).to_have_count(0)  # never re-run by itself while the person reads
    page.get_by_role("button", name="Re-run the lookup").click()
    expect(acl.get_by_text("banner.cfg:7")).to_be_visible()
    expect(acl.get_by_text(re.compile(rf"^{before['total'] + 1} match"))).to_be_visible()
    expect(page.get_by_text("acl: banner.cfg changed")).to_be_hidden()


def import_view(page: Page) -> Any:
    return page.get_by_role("region", name="Import", exact=True)


def _enter_key(page: Page) -> None:
    key = page.get_by_role("textbox", name="API key")
    key.fill(API_KEY)
    key.press("Tab")


def test_an_aws_dump_imports_with_progress_then_counts(watched: Watched, served: Served, tmp_path: Path) -> None:
    page = watched.page
    # Every text the import status shows, however briefly (a 15,000-rule import takes a fraction of a second).
    page.add_init_script(
        """new MutationObserver(() => {
             const status = document.querySelector("#import-status");
             if (status) (window.__importTexts ||= []).push(status.textContent);
           }).observe(document, {subtree: true, childList: true, characterData: true});"""
    )
    dump = io.BytesIO()
    count = write_aws_sg(dump, 0.1, 5)
    path = tmp_path / "sgs.json"
    path.write_bytes(dump.getvalue())
    open_view(page, served, "Import")
    _enter_key(page)
    import_view(page).get_by_label("Files").set_input_files(str(path))
    import_view(page).get_by_label("Category").select_option("sg")
    import_view(page).get_by_label("Source name").fill("aws-page-test")
    page.get_by_role("button", name="Import the files").click()
    expect(page.get_by_text(re.compile(rf"Imported sg/aws-page-test: {count:,} records, \+{count} −0"))).to_be_visible()
    shown = page.evaluate("window.__importTexts")
    assert any(re.search(r"[\d,]+ rows read", text) for text in shown), shown[:10]
    sources: Any = httpx.get(f"{served.url}/api/v1/sources", timeout=10).json()
    assert {(s["source"], s["count"]) for s in sources if s["category"] == "sg"} >= {("aws-page-test", count)}


def test_a_rejected_file_shows_its_rows_and_changes_nothing(watched: Watched, served: Served, tmp_path: Path) -> None:
    page = watched.page
    good = tmp_path / "good.ndjson"
    good.write_text('{"cidr": "10.251.0.0/16"}\n')
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"cidr": "10.251.0.0/16"}\n{"cidr": "10.251.0.0/40"}\n{"cidr": "x", "line": -1}\n')
    open_view(page, served, "Import")
    _enter_key(page)
    import_view(page).get_by_label("Files").set_input_files(str(good))
    import_view(page).get_by_label("Source name").fill("reject.cfg")
    page.get_by_role("button", name="Import the files").click()
    expect(page.get_by_text(re.compile(r"Imported acl/reject.cfg: 1 records"))).to_be_visible()
    import_view(page).get_by_label("Files").set_input_files(str(bad))
    page.get_by_role("button", name="Import the files").click()
    expect(page.get_by_text(re.compile(r"Nothing was changed: \d+ bad rows"))).to_be_visible()
    errors = page.get_by_role("table", name="Rows that refused the import")
    expect(errors.locator("tbody tr").first).to_contain_text("cidr")
    expect(errors.locator("tbody tr").first).to_contain_text("2")
    sources: Any = httpx.get(f"{served.url}/api/v1/sources", timeout=10).json()
    assert [s["count"] for s in sources if s["source"] == "reject.cfg"] == [1]


def test_sources_lists_imports_and_deletes_after_confirmation(watched: Watched, served: Served) -> None:
    page = watched.page
    body = orjson.dumps({"cidr": "10.252.0.0/16"}) + b"\n"
    assert (
        httpx.post(
            f"{served.url}/api/v1/import/acl", params={"source": "to-delete.cfg"}, content=body, headers=AUTH
        ).status_code
        == 200
    )
    open_view(page, served, "Sources")
    row = page.get_by_role("row").filter(has_text="to-delete.cfg")
    expect(row).to_contain_text("1")
    _enter_key(page)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete acl source to-delete.cfg").click()
    expect(page.get_by_text("Deleted acl/to-delete.cfg: 1 records.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="to-delete.cfg")).to_have_count(0)


def test_rules_that_name_no_network_are_reported_after_an_import(watched: Watched, served: Served) -> None:
    page = watched.page
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "aws" / "describe-security-groups.json"
    open_view(page, served, "Import")
    _enter_key(page)
    import_view(page).get_by_label("Files").set_input_files(str(fixture))
    import_view(page).get_by_label("Category").select_option("sg")
    import_view(page).get_by_label("Source name").fill("aws-fixture")
    page.get_by_role("button", name="Import the files").click()
    expect(page.get_by_text(re.compile(r"Not imported \(name no network\): 2 \("))).to_be_visible()
    expect(page.get_by_text(re.compile(r"group_reference 1"))).to_be_visible()


def test_skip_imports_a_config_without_its_bad_line_and_lists_it(
    watched: Watched, served: Served, tmp_path: Path
) -> None:
    page = watched.page
    config = tmp_path / "fw.cfg"
    config.write_text(
        "ip access-list extended PAGE-SKIP\n"
        " 10 permit tcp any host 10.253.0.1 eq 443\n"
        " 20 permit esp host any any\n"
        " 30 permit udp any host 10.253.0.2 eq 53\n"
    )
    open_view(page, served, "Import")
    _enter_key(page)
    import_view(page).get_by_label("Files").set_input_files(str(config))
    import_view(page).get_by_label("Source name").fill("page-skip.cfg")
    page.get_by_role("button", name="Import the files").click()
    expect(page.get_by_text(re.compile("Nothing was changed: 1 bad rows"))).to_be_visible()
    import_view(page).get_by_label(re.compile("Skip entries that cannot be read")).check()
    page.get_by_role("button", name="Import the files").click()
    expect(
        page.get_by_text(re.compile(r"Imported acl/page-skip.cfg: 4 records.*Skipped \(could not be read\): 1"))
    ).to_be_visible()
    skipped = page.get_by_role("table", name="Entries the import skipped")
    expect(skipped.get_by_role("row").filter(has_text="20 permit esp host any any")).to_contain_text("3")
