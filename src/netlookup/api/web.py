"""The page at ``/`` and its hashed assets at ``/assets/``, served from the package's built ``webui/`` folder.

The HTML is never cached (it names the current assets); assets have content hashes in their names and are cached
for a year, gzip-compressed once in memory when the client accepts it. Without a build (no Node.js where the
package was built), ``/`` says how to build the page; the API works either way.
"""

from __future__ import annotations

import gzip
import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from netlookup.errors import NotFound

WEBUI = Path(__file__).resolve().parents[1] / "webui"
ASSET_CACHE = "public, max-age=31536000, immutable"
COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json", ".map", ".txt")

router = APIRouter(include_in_schema=False)

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netlookup</title></head>
<body><h1>netlookup</h1>
<p>The web page has not been built. With Node.js 20 and npm:
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>
(<code>./scripts/run</code> does this by itself), then reload.</p>
<p>The API works without it: <a href="/docs">/docs</a>, <code>GET /api/v1/lookup?q=10.1.2.3</code>.</p>
</body></html>
"""


@lru_cache(maxsize=64)
def _asset(name: str) -> tuple[bytes, bytes | None, str]:
    """(bytes, gzip bytes or None, media type) of one built asset; NotFound for anything else."""
    assets = WEBUI / "assets"
    path = (assets / name).resolve()
    if path.parent != assets.resolve() or not path.is_file():
        raise NotFound(f"no asset {name!r}")
    body = path.read_bytes()
    compressed = gzip.compress(body, 9, mtime=0) if path.suffix in COMPRESSIBLE else None
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return body, compressed, media_type


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    index = WEBUI / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, headers={"Cache-Control": "no-cache"})
    return HTMLResponse(index.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"})


@router.get("/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    body, compressed, media_type = _asset(name)
    headers = {"Cache-Control": ASSET_CACHE, "Vary": "Accept-Encoding"}
    if compressed is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
