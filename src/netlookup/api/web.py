"""The page at ``/`` and its hashed assets at ``/assets/``, and the API explorers at ``/docs`` (Swagger UI) and
``/redoc`` (ReDoc) with their files at ``/explorer/``, all served from the package's built ``webui/`` folder: nothing
comes from another host, so the page and the explorers work offline.

The HTML is never cached (it names the current assets); assets have content hashes (explorer files their
package's version) in their paths and are cached for a year, gzip-compressed once in memory when the client
accepts it. Without a build (no Node.js where the package was built), ``/`` and the explorers say how to build
them; the API works either way.
"""

from __future__ import annotations

import gzip
import json
import mimetypes
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
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
def _built_file(folder: str, name: str) -> tuple[bytes, bytes | None, str]:
    """(bytes, gzip bytes or None, media type) of one built file directly in ``webui/<folder>``; NotFound for
    anything else (other folders, ``..``, missing files)."""
    directory = (WEBUI / folder).resolve()
    path = (directory / name).resolve()
    if path.parent != directory or not directory.is_relative_to(WEBUI.resolve()) or not path.is_file():
        raise NotFound(f"no file {folder}/{name}")
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


def _cached_file(folder: str, name: str, request: Request) -> Response:
    body, compressed, media_type = _built_file(folder, name)
    headers = {"Cache-Control": ASSET_CACHE, "Vary": "Accept-Encoding"}
    if compressed is not None and "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/assets/{name}")
async def asset(name: str, request: Request) -> Response:
    return _cached_file("assets", name, request)


@router.get("/explorer/{package}/{name}")
async def explorer_file(package: str, name: str, request: Request) -> Response:
    if "/" in package or package.startswith("."):
        raise NotFound(f"no file {package}/{name}")
    return _cached_file(f"explorer/{package}", name, request)


def _explorer() -> dict[str, str] | None:
    manifest = WEBUI / "explorer" / "manifest.json"
    if not manifest.is_file():
        return None
    files: dict[str, str] = json.loads(manifest.read_text(encoding="utf-8"))
    return files


EXPLORER_NOT_BUILT = NOT_BUILT.replace("The web page has not been built.", "The API explorer has not been built.")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI from netlookup's own files; "Try it out" and "Authorize" (the bearer key) work as usual."""
    files = _explorer()
    if files is None:
        return HTMLResponse(EXPLORER_NOT_BUILT, headers={"Cache-Control": "no-cache"})
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API explorer",
        swagger_js_url=files["swagger_js"],
        swagger_css_url=files["swagger_css"],
        swagger_favicon_url=files["swagger_favicon"],
        # Swagger UI would fetch a badge from validator.swagger.io: nothing may leave the origin.
        swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    files = _explorer()
    if files is None:
        return HTMLResponse(EXPLORER_NOT_BUILT, headers={"Cache-Control": "no-cache"})
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} — API reference",
        redoc_js_url=files["redoc_js"],
        redoc_favicon_url=files["swagger_favicon"],
        with_google_fonts=False,
    )
