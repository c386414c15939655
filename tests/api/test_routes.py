"""Every route of the published document, walked with what a client gets wrong: an unknown category (404 naming
it), a method the path does not have (405 with Allow), a body of the wrong content type (415 where the body must
be JSON), and paths that do not exist (404). All answers are JSON ``{"detail": ...}``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AUTH

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
VALUES = {"{category}": "acl", "{source}": "walked.cfg"}


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


def _path(template: str, **overrides: str) -> str:
    for placeholder, value in {**VALUES, **overrides}.items():
        template = template.replace(placeholder, value)
    return template


def _is_json_error(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("application/json") and "detail" in response.json()


async def test_an_unknown_category_is_a_404_naming_it_on_every_route(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    walked = 0
    for template, operations in document["paths"].items():
        if "{category}" not in template:
            continue
        for method in operations:
            response = await client.request(
                method.upper(), _path(template, **{"{category}": "dns"}), params={"q": "10.0.0.1"}, headers=AUTH
            )
            assert response.status_code == 404, (method, template, response.text)
            assert response.json() == {"detail": "unknown category 'dns': use one of acl, sg, lb, f5"}
            assert "404" in operations[method]["responses"], (method, template)
            walked += 1
    assert walked == 3  # list, lookup and delete: every {category} operation of the document
    response = await client.post("/api/v1/import/dns", params={"source": "x"}, content=b"{}", headers=AUTH)
    assert response.status_code == 404, response.text  # imports have one operation per category
    assert response.json() == {"detail": "unknown category 'dns': use one of acl, sg, lb, f5"}


async def test_a_method_a_path_does_not_have_is_a_405_with_allow(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    for template, operations in document["paths"].items():
        allowed = {method.upper() for method in operations}
        for method in set(METHODS) - allowed:
            response = await client.request(method, _path(template), headers=AUTH)
            assert response.status_code == 405, (method, template, response.text)
            assert set(response.headers["allow"].split(", ")) == allowed, (method, template)
            assert _is_json_error(response)
            assert method in response.json()["detail"]


async def test_a_json_body_of_another_content_type_is_a_415(client: httpx.AsyncClient) -> None:
    document = await _document(client)
    json_only = [
        (method, template)
        for template, operations in document["paths"].items()
        for method, operation in operations.items()
        if list(operation.get("requestBody", {}).get("content", {})) == ["application/json"]
    ]
    assert json_only == [("post", "/api/v1/lookup/batch")]
    for method, template in json_only:
        body = b'{"queries": ["10.0.0.1"]}'
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            response = await client.request(
                method.upper(), template, content=body, headers={"content-type": content_type}
            )
            assert response.status_code == 415, (content_type, response.text)
            assert "application/json" in response.json()["detail"]
        for content_type in ("application/json", "application/json; charset=utf-8", "application/problem+json"):
            response = await client.request(
                method.upper(), template, content=body, headers={"content-type": content_type}
            )
            assert response.status_code == 200, (content_type, response.text)


async def test_the_import_takes_the_file_whatever_content_type_labels_it(client: httpx.AsyncClient) -> None:
    body = b'{"cidr": "10.0.0.0/8", "line": 1}\n'
    for content_type in ("application/x-ndjson", "text/plain", "application/octet-stream", "application/json"):
        response = await client.post(
            "/api/v1/import/acl",
            params={"source": "walked.cfg", "format": "ndjson"},
            content=body,
            headers=AUTH | {"content-type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)


async def test_paths_that_do_not_exist_are_a_json_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/acl/nope/x", "/api/v2/lookup", "/api", "/api/v1/lookup/batch/x", "/nothing"):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json() == {"detail": f"no such path: {path}"}
