"""The API explorers, offline: /docs (Swagger UI) and /redoc load every file from netlookup itself (the page
fixture fails on any request to another host), render, and "Try it out" answers a lookup."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import Served, Watched


def test_swagger_ui_renders_offline_and_tries_a_lookup(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/docs")
    expect(page.get_by_role("heading", name=re.compile(r"^netlookup"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
    operation = page.locator("#operations-lookup-lookup_api_v1_lookup_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator('input[placeholder="q"]').fill("10.1.2.3")
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"query": "10.1.2.3/32"')


def test_redoc_renders_offline(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/redoc")
    expect(page.get_by_role("heading", name=re.compile(r"^netlookup"))).to_be_visible(timeout=15_000)
    expect(page.get_by_role("menuitem", name="lookup")).to_be_visible()
