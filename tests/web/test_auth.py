"""The page against a node with NETLOOKUP_READ_AUTH=true: it asks for a key, says when one is refused, and sends
the key on HTTP and on the socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from netlookup.migrations import upgrade
from tests.processes import API_KEY, Node
from tests.web.conftest import Served, Watched


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("web-auth")
    url = f"sqlite+aiosqlite:///{workdir / 'auth.db'}"
    upgrade(url)
    node = Node("web-auth", url, workdir, NETLOOKUP_READ_AUTH="true").start()
    try:
        yield Served(node, node.url)
    finally:
        node.stop()
    assert "Traceback" not in node.log(), node.log()[-4000:]


def test_read_auth_asks_for_a_key_refuses_a_wrong_one_and_works_with_the_right_one(
    watched: Watched, served: Served
) -> None:
    page = watched.page
    page.goto(served.url + "/")
    expect(page.get_by_role("alert").filter(has_text="needs an API key to read")).to_be_visible()
    key = page.get_by_role("textbox", name="API key")
    key.fill("not-the-right-key-at-all")
    key.press("Tab")
    expect(page.get_by_role("alert").filter(has_text="The API key was refused")).to_be_visible()
    key.fill(API_KEY)
    key.press("Tab")
    expect(page.get_by_text("Live (Socket.IO)")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="API key")).to_have_count(0)
    box = page.get_by_label("Address or CIDR")
    box.fill("10.0.0.1")
    box.press("Enter")
    expect(page.get_by_text("Query 10.0.0.1/32")).to_be_visible()
