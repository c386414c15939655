"""The OpenAPI document: every reference in it resolves (client generators stop at the first that does not)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from openapi_spec_validator import validate


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
