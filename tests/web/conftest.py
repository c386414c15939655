"""The page in a real browser: Debian's Chromium driven by Playwright, against a real uvicorn node with demo data.

Every page a test opens records its console errors and the hosts it requests; the teardown asserts there were no
errors and no request left for another host."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, sync_playwright

from netlookup.migrations import upgrade
from tests.processes import ROOT, Node, ServiceMissing

CHROMIUM = "/usr/bin/chromium"
DEMO_SCALE = "0.02"
ARTIFACTS = ROOT / "tests" / "web" / "artifacts"
# As the machine's probe starts it: no sandbox (root), no background traffic to the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Served:
    node: Node
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not (ROOT / "src" / "netlookup" / "webui" / "index.html").is_file():
        raise ServiceMissing("the web page is not built (scripts/build-web needs Node.js and npm)")
    workdir = tmp_path_factory.mktemp("web")
    url = f"sqlite+aiosqlite:///{workdir / 'web.db'}"
    upgrade(url)
    subprocess.run(
        [sys.executable, "-m", "netlookup", "demo-data", "--scale", DEMO_SCALE],
        env={**os.environ, "NETLOOKUP_DATABASE_URL": url},
        check=True,
        capture_output=True,
        timeout=300,
    )
    node = Node("web", url, workdir).start()
    try:
        yield Served(node, node.url)
    finally:
        node.stop()
    assert "Traceback" not in node.log(), node.log()[-4000:]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        raise ServiceMissing("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(served: Served, playwright: Playwright) -> Iterator[Browser]:
    # ``served`` first: Playwright's sync API runs an event loop in this thread, and the migration needs its own.
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


EXPECTED_REFUSAL = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d ")


@dataclass
class Watched:
    """A page and what it did: console errors, and every host it sent a request to."""

    page: Page
    errors: list[str] = field(default_factory=list)
    hosts: set[str] = field(default_factory=set)


@pytest.fixture
def watched(served: Served, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    seen = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer as a console error; a 422 the page shows in words is not a page error.
        if message.type == "error" and not EXPECTED_REFUSAL.match(message.text):
            seen.errors.append(message.text)

    def on_request(sent: Request) -> None:
        url = urlsplit(sent.url)
        if url.scheme not in ("blob", "data"):  # made in the page itself, not fetched from anywhere
            seen.hosts.add(f"{url.scheme}://{url.netloc}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", on_request)
    try:
        yield seen
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        context.close()
    assert seen.errors == []
    origin = urlsplit(served.url).netloc
    assert seen.hosts <= {f"http://{origin}", f"ws://{origin}"}, seen.hosts


def api_lookup(served: Served, **params: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(f"{served.url}/api/v1/lookup", params=params, timeout=10).json()
    return answer
