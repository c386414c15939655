"""The page through nginx in front of two nodes with Redis: a change imported on the other node reaches the open
page as a banner, and the re-run shows the new row."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.conftest import AUTH
from tests.processes import ROOT, ServiceMissing
from tests.realtime.conftest import Topology
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser(topology: Topology) -> Iterator[Browser]:
    # ``topology`` first: it needs asyncio.run, which cannot run beside Playwright's sync API in this thread.
    if not (ROOT / "src" / "netlookup" / "webui" / "index.html").is_file():
        raise ServiceMissing("the web page is not built (scripts/build-web needs Node.js and npm)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_a_change_on_the_other_node_reaches_the_page_through_nginx(topology: Topology, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{topology.nginx.url}/?q=10.97.1.1&categories=acl")
        expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
        acl = page.get_by_role("region", name="ACL entries")
        expect(acl.get_by_text("Nothing touches this address.")).to_be_visible()
        body = orjson.dumps({"cidr": "10.97.0.0/16", "line": 3, "name": "VIA_NGINX"}) + b"\n"
        for node in (topology.a, topology.b):  # whichever node nginx put the page's socket on, one is the other
            response = httpx.post(
                f"{node.url}/api/v1/import/acl", params={"source": f"page-{node.name}.cfg"}, content=body, headers=AUTH
            )
            assert response.status_code == 200, response.text
        expect(page.get_by_text("acl: page-a.cfg changed, +1 −0")).to_be_visible()
        expect(page.get_by_text("page-b.cfg changed")).to_be_visible()
        page.get_by_role("button", name="Re-run the lookup").click()
        expect(acl.get_by_text("page-a.cfg:3")).to_be_visible()
        expect(acl.get_by_text("page-b.cfg:3")).to_be_visible()
        page.screenshot(path=str(ROOT / "tests" / "web" / "artifacts" / "phone-through-nginx.png"), full_page=True)
    finally:
        context.close()
    assert errors == []
