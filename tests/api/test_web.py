"""Serving the page: the HTML never cached, hashed assets cached for a year and gzip-compressed, small enough,
nothing from another host; a short page saying how to build it when it is not built."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import pytest

from netlookup.api import web
from tests.processes import ServiceMissing


@pytest.fixture(autouse=True)
def built() -> None:
    if not (web.WEBUI / "index.html").is_file():
        raise ServiceMissing("the web page is not built (scripts/build-web needs Node.js and npm)")


async def test_the_page_is_served_uncached_with_its_hashed_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text), "the page loads nothing from another host"
    total_js = 0
    for path in assets:
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "content-encoding" not in plain.headers
        zipped = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["vary"] == "Accept-Encoding"
        assert zipped.content == plain.content  # httpx decodes; the bytes on the wire were gzip
        if path.endswith(".js"):
            total_js += len(gzip.compress(plain.content))
    assert total_js <= 150 * 1024, f"{total_js} bytes of JavaScript after gzip"


@pytest.mark.parametrize("name", ["nope.js", "..%2Findex.html", "%2E%2E%2F%2E%2E%2Fapp.py"])
async def test_unknown_assets_are_a_404(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/assets/{name}")
    assert response.status_code == 404
    assert "detail" in response.json()


async def test_without_a_build_the_page_says_how_to_build_it(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web, "WEBUI", tmp_path)
    page = await client.get("/")
    assert page.status_code == 200
    assert "npm run build" in page.text
    assert (await client.get("/api/v1/lookup", params={"q": "10.0.0.1"})).status_code == 200


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_the_explorers_load_their_files_from_netlookup(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    files = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert files
    assert all(f.startswith("/explorer/") for f in files), files
    assert "cdn." not in page.text
    for url in files:
        got = await client.get(url)
        assert got.status_code == 200, url
        assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
