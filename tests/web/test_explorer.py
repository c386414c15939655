"""The API explorers, offline: /docs (Swagger UI) and /redoc load every file from netlookup itself (the page
fixture fails on any request to another host), render, and "Try it out" answers a lookup."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.processes import API_KEY
from tests.web.conftest import Served, Watched


def test_swagger_ui_renders_offline_and_tries_a_lookup(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/docs")
    expect(page.get_by_role("heading", name=re.compile(r"^netlookup"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Authorize"))).to_be_visible()
    operation = page.locator("#operations-lookup-lookup")
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


def test_swagger_ui_authorizes_and_imports_the_csv_example(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/docs")
    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = page.locator(".modal-ux")
    dialog.get_by_label("Value").fill(API_KEY)
    dialog.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_text("Authorized", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Close", exact=True).click()

    operation = page.locator("#operations-data-import_acl")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator('tr[data-param-name="source"] input').fill("explorer.csv")
    operation.locator('tr[data-param-name="format"] select').select_option("csv")
    operation.locator(".body-param-content-type select").select_option("text/csv")
    expect(operation.locator(".body-param textarea")).to_have_value(re.compile("OUTSIDE-IN,permit"))
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    expect(status).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"source": "explorer.csv"')
    expect(operation.locator(".live-responses-table")).to_contain_text('"count": 3')


def test_swagger_ui_runs_the_batch_example(watched: Watched, served: Served) -> None:
    page = watched.page
    page.goto(served.url + "/docs")
    operation = page.locator("#operations-lookup-lookup_batch")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    expect(operation.locator(".body-param textarea")).to_have_value(re.compile("10.1.2.3"))
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"query": "10.20.0.7/32"')
