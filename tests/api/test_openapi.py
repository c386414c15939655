"""The OpenAPI document: every reference in it resolves (client generators stop at the first that does not)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
from openapi_spec_validator import validate

from netlookup.imports.formats import FORMAT_SPECS, FORMATS, formats_of
from netlookup.networks import WRITTEN_NETWORK_PATTERN
from tests.conftest import AUTH


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


async def test_every_reference_of_the_document_resolves(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    refs = set(_refs(document))
    assert refs
    for ref in sorted(refs):
        assert _resolve(document, ref) is not None, ref


async def test_the_lookup_mode_parameter_is_an_enum(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/lookup"]["get"]["parameters"]}
    assert parameters["mode"]["schema"]["enum"] == ["covering", "within", "overlap"]
    assert parameters["mode"]["schema"]["default"] == "covering"


async def test_the_document_is_valid_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises, naming the first problem


# The statuses each operation really answers besides 200 (the route walk and the fuzz run hold them true).
EXPECTED_ERRORS = {
    ("get", "/api/v1/lookup"): {"401", "403", "422", "503"},
    ("post", "/api/v1/lookup/batch"): {"400", "401", "403", "413", "415", "422", "503"},
    ("get", "/api/v1/{category}/lookup"): {"401", "403", "404", "422", "503"},
    ("get", "/api/v1/sources"): {"401", "403", "503"},
    ("get", "/api/v1/{category}"): {"401", "403", "404", "422", "503"},
    **{
        ("post", f"/api/v1/import/{category}"): {"400", "401", "403", "404", "409", "413", "422", "503"}
        for category in ("acl", "sg", "lb", "f5")
    },
    ("delete", "/api/v1/sources/{category}/{source}"): {"401", "403", "404", "422", "503"},
}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


async def test_every_api_operation_documents_its_error_statuses_as_detail(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    api = {(m, p): op for m, p, op in _operations(document) if p.startswith("/api/")}
    assert set(api) == set(EXPECTED_ERRORS)
    for key, operation in api.items():
        errors = {status for status in operation["responses"] if status != "200"}
        assert errors == EXPECTED_ERRORS[key], key
        for status in errors:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (key, status)
            assert "detail" in content["example"], (key, status)
        assert "Retry-After" in operation["responses"]["503"]["headers"]


async def test_enums_and_patterns_say_what_the_parameters_accept(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for method, path, operation in _operations(document):
        parameters = {p["name"]: p for p in operation.get("parameters", [])}
        if "category" in parameters:
            assert parameters["category"]["schema"]["enum"] == ["acl", "sg", "lb", "f5"], (method, path)
        if "q" in parameters:
            assert parameters["q"]["schema"]["pattern"] == WRITTEN_NETWORK_PATTERN
            assert "IPv4 or IPv6 address or CIDR" in parameters["q"]["description"]
    lookups = {p["name"]: p for p in document["paths"]["/api/v1/{category}"]["get"]["parameters"]}
    assert {"type": "string", "pattern": "^[0-9]{1,19}$"} in lookups["cursor"]["schema"]["anyOf"]
    # Each category's import takes exactly the formats that fill it, and the document says which.
    for category in ("acl", "sg", "lb", "f5"):
        operation = document["paths"][f"/api/v1/import/{category}"]["post"]
        assert operation["operationId"] == f"import_{category}"
        imports = {p["name"]: p for p in operation["parameters"]}
        (reference,) = [s["$ref"] for s in imports["format"]["schema"]["anyOf"] if "$ref" in s]
        enum = document["components"]["schemas"][reference.rsplit("/", 1)[1]]["enum"]
        assert enum == list(formats_of(category)), category
        assert set(enum) == {f for f in FORMATS if FORMAT_SPECS[f].category in (None, category)}
        assert "category" not in imports
    batch = document["components"]["schemas"]["BatchLookupRequest"]["properties"]
    assert batch["queries"]["items"]["pattern"] == WRITTEN_NETWORK_PATTERN


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key not in ("examples", "example", "properties"):
                yield from _keys(value)
            elif key == "properties":
                for child in value.values():
                    yield from _keys(child)
    elif isinstance(node, list):
        for item in node:
            yield from _keys(item)


async def test_schemas_use_json_schema_keywords_only(client: httpx.AsyncClient) -> None:
    # pydantic writes a constraint it cannot place as "ge"/"le", which validators accept and generators ignore.
    document = (await client.get("/openapi.json")).json()
    used = set(_keys(document["paths"])) | set(_keys(document["components"]))
    assert not {"ge", "le", "gt", "lt"} & used


async def test_every_example_of_the_document_is_answered_by_the_service(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    lookup = {p["name"]: p for p in document["paths"]["/api/v1/lookup"]["get"]["parameters"]}
    for name, parameter in lookup.items():
        for example in parameter.get("examples", {}).values():
            params = {"q": "10.1.2.3", name: example["value"]}
            response = await client.get("/api/v1/lookup", params=params)
            assert response.status_code == 200, (name, example, response.text)
    batch = document["paths"]["/api/v1/lookup/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert len(batch["examples"]) >= 2
    for example in batch["examples"].values():
        response = await client.post("/api/v1/lookup/batch", json=example["value"])
        assert response.status_code == 200, (example, response.text)
        assert len(response.json()["results"]) == len(example["value"]["queries"])
    imports = {
        "acl": ("text/csv", "csv"),
        "sg": ("application/json", "aws-sg"),
        "lb": ("application/x-ndjson", "ndjson"),
        "f5": ("text/plain", "f5-tmsh"),
    }
    for category, (media_type, fmt) in imports.items():
        body = document["paths"][f"/api/v1/import/{category}"]["post"]["requestBody"]["content"]
        assert [media for media, content in body.items() if "examples" in content] == [media_type]
        (example,) = body[media_type]["examples"].values()
        value = example["value"]
        content = value.encode() if isinstance(value, str) else orjson.dumps(value)
        response = await client.post(
            f"/api/v1/import/{category}",
            params={"source": f"example-{fmt}", "format": fmt},
            content=content,
            headers=AUTH | {"content-type": media_type},
        )
        assert response.status_code == 200, (media_type, response.text)
        assert response.json()["count"] >= 1
    found = (await client.get("/api/v1/lookup", params={"q": "10.20.1.1"})).json()["results"]
    assert found["acl"]["total"] >= 1
    assert found["sg"]["total"] >= 1
