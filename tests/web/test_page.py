"""The lookup page as a person uses it, in Chromium: type an address, read the four panels; bad input; a CIDR with
mode=within; narrowing; a shared URL; the socket blocked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page, expect

from netlookup.demo import sample_addresses
from tests.web.conftest import DEMO_SCALE, Served, Watched, api_lookup

TITLES = {"acl": "ACL entries", "sg": "Security-group rules", "lb": "Load balancers", "f5": "F5 virtual servers"}
# The text of a match that its table row must show.
ROW_KEYS = {"acl": "cidr", "sg": "cidr", "lb": "name", "f5": "name"}


@pytest.fixture(scope="module")
def busy_address(served: Served) -> str:
    """A demo address touched by ACL entries, security-group rules and a load balancer or F5 virtual (the demo
    data has no address that is both an LB's and an F5's)."""
    for address in sample_addresses(300, scale=float(DEMO_SCALE)):
        results: Any = api_lookup(served, q=address)["results"]
        if results["acl"]["total"] and results["sg"]["total"] and (results["lb"]["total"] or results["f5"]["total"]):
            return address
    raise AssertionError("no demo address touched by acl, sg and lb or f5")


def panel(page: Page, category: str) -> Any:
    return page.get_by_role("region", name=TITLES[category])


def assert_panels_match_the_api(page: Page, served: Served, **params: str) -> None:
    answer: Any = api_lookup(served, **params)
    expect(page.get_by_text(f"Query {answer['query']}")).to_be_visible()
    for category, result in answer["results"].items():
        region = panel(page, category)
        expect(region.get_by_role("status")).to_have_count(0)  # the spinner is gone
        if not result["matches"]:
            expect(region.get_by_text("Nothing touches this address.")).to_be_visible()
            continue
        rows = region.locator("tbody tr")
        expect(rows).to_have_count(len(result["matches"]))
        for index, match in enumerate(result["matches"]):
            expect(rows.nth(index)).to_contain_text(str(match[ROW_KEYS[category]] or ""))
        expect(region.get_by_text(re.compile(rf"^{result['total']} match"))).to_be_visible()


def test_an_address_fills_all_four_panels_with_what_the_api_answers(
    watched: Watched, served: Served, busy_address: str
) -> None:
    page = watched.page
    page.goto(served.url + "/")
    expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
    box = page.get_by_label("Address or CIDR")
    box.fill(busy_address)
    box.press("Enter")
    assert_panels_match_the_api(page, served, q=busy_address)
    assert f"q={busy_address}" in page.url
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download CSV").first.click()
    lines = Path(csv_download.value.path()).read_text().splitlines()
    answer: Any = api_lookup(served, q=busy_address)
    assert lines[0].startswith("query,category,prefix_len")
    assert len(lines) - 1 == sum(len(r["matches"]) for r in answer["results"].values())
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Download JSON").first.click()
    saved = orjson.loads(Path(json_download.value.path()).read_bytes())
    assert saved["query"] == answer["query"]
    assert {c: len(r["matches"]) for c, r in saved["results"].items()} == {
        c: len(r["matches"]) for c, r in answer["results"].items()
    }


def test_a_bad_address_is_flagged_and_nothing_is_sent(watched: Watched, served: Served) -> None:
    page = watched.page
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(str(frame))))
    page.goto(served.url + "/")
    expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
    box = page.get_by_label("Address or CIDR")
    box.fill("10.1.2.300")
    expect(page.get_by_text("10.1.2.300 is not an address or CIDR")).to_be_visible()  # as you type
    box.press("Enter")
    expect(box).to_have_attribute("aria-invalid", "true")
    page.wait_for_timeout(300)
    assert not [frame for frame in sent if '"lookup"' in frame]
    for category in TITLES:
        expect(panel(page, category)).to_have_count(0)


def test_a_cidr_within_and_narrowing_by_port_and_protocol(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/")
    page.get_by_label("Address or CIDR").fill("10.0.0.0/8")
    page.get_by_label("Mode").select_option("within")
    page.get_by_label("Port", exact=True).fill("443")
    page.get_by_label("Protocol", exact=True).fill("tcp")
    page.get_by_label("Limit per category").fill("20")
    page.get_by_role("button", name="Look up").click()
    assert_panels_match_the_api(page, served, q="10.0.0.0/8", mode="within", port="443", protocol="tcp", limit="20")


def test_a_shared_url_reproduces_the_answer(watched: Watched, served: Served, busy_address: str) -> None:
    page = watched.page
    page.goto(f"{served.url}/?q={busy_address}&best=true&categories=acl,sg")
    expect(page.get_by_label("Address or CIDR")).to_have_value(busy_address)
    assert_panels_match_the_api(page, served, q=busy_address, best="true", categories="acl,sg")
    expect(panel(page, "lb")).to_have_count(0)
    # Another lookup, then back and forward: the URL carries each answer.
    box = page.get_by_label("Address or CIDR")
    box.fill("10.0.0.0/8")
    box.press("Enter")
    expect(page.get_by_text("Query 10.0.0.0/8")).to_be_visible()
    page.go_back()
    expect(box).to_have_value(busy_address)
    expect(page.get_by_text(f"Query {busy_address}/32")).to_be_visible()
    page.go_forward()
    expect(page.get_by_text("Query 10.0.0.0/8")).to_be_visible()


def test_keyboard_only_slash_focuses_the_box_and_enter_answers(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/")
    page.get_by_role("button", name="Sources").focus()
    page.keyboard.press("/")
    expect(page.get_by_label("Address or CIDR")).to_be_focused()
    page.keyboard.type("10.1.2.3")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Query 10.1.2.3/32")).to_be_visible()


def test_with_the_socket_blocked_the_page_answers_over_http_and_says_so(
    watched: Watched, served: Served, busy_address: str
) -> None:
    page = watched.page
    page.route("**/socket.io/**", lambda route: route.abort())  # long-polling
    page.route_web_socket(re.compile(r"/socket\.io/"), lambda ws: ws.close())  # and the WebSocket
    page.goto(served.url + "/")
    expect(page.get_by_text("answering over HTTP")).to_be_visible()
    box = page.get_by_label("Address or CIDR")
    box.fill(busy_address)
    box.press("Enter")
    assert_panels_match_the_api(page, served, q=busy_address)


def test_a_truncated_panel_says_so_and_loads_more(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(f"{served.url}/?q=10.0.0.0/8&mode=within&categories=sg&limit=5")
    answer: Any = api_lookup(served, q="10.0.0.0/8", mode="within", categories="sg", limit="5")
    assert answer["results"]["sg"]["truncated"]
    sg = panel(page, "sg")
    expect(sg.get_by_text(f"{answer['results']['sg']['total']} matches, showing the first 5.")).to_be_visible()
    expect(sg.locator("tbody tr")).to_have_count(5)
    sg.get_by_role("button", name="Load more").click()
    expect(sg.locator("tbody tr")).to_have_count(min(200, answer["results"]["sg"]["total"]))


def test_tables_sort_mark_best_rows_and_the_matched_member(watched: Watched, served: Served, busy_address: str) -> None:
    page = watched.page
    page.goto(f"{served.url}/?q={busy_address}")
    answer: Any = api_lookup(served, q=busy_address)
    sg = panel(page, "sg")
    expect(sg.locator("tbody tr")).to_have_count(len(answer["results"]["sg"]["matches"]))
    expect(sg.locator("tbody tr.best").first).to_contain_text("best")  # in words, not only a colour
    sg.get_by_role("button", name=re.compile(r"^Group")).click()
    expect(sg.get_by_role("columnheader", name=re.compile(r"^Group"))).to_have_attribute("aria-sort", "ascending")
    group_cells = sg.locator("tbody tr td:nth-child(2)")
    ascending = group_cells.all_inner_texts()
    assert sorted(ascending) == sorted(m["group_id"] for m in answer["results"]["sg"]["matches"])
    sg.get_by_role("button", name=re.compile(r"^Group")).click()
    expect(sg.get_by_role("columnheader", name=re.compile(r"^Group"))).to_have_attribute("aria-sort", "descending")
    assert group_cells.all_inner_texts() == ascending[::-1]
    for category in ("lb", "f5"):
        members = [m for m in answer["results"][category]["matches"] if m["matched_on"] == "member"]
        if members:
            expect(panel(page, category).locator("mark").first).to_have_text(re.compile(rf"^{re.escape(busy_address)}"))
