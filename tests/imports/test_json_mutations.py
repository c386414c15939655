"""Vendor JSON with the right syntax and the wrong shapes: any value of a valid dump replaced by any JSON value
(a string where an object was, a list where a number was...) gives records or errors, never an exception."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlookup.categories import Category
from netlookup.imports.aws_elbv2 import iter_aws_elbv2
from netlookup.imports.aws_sg import iter_aws_sg
from netlookup.imports.f5_rest import iter_f5_rest
from netlookup.imports.rows import RowError, Unmapped
from netlookup.imports.validate import next_batch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOCUMENTS: dict[str, tuple[Category, Any, Callable[[Any], Iterator[Any]]]] = {
    "describe-security-groups": (
        "sg",
        orjson.loads((FIXTURES / "aws" / "describe-security-groups.json").read_bytes()),
        iter_aws_sg,
    ),
    "describe-security-group-rules": (
        "sg",
        orjson.loads((FIXTURES / "aws" / "describe-security-group-rules.json").read_bytes()),
        iter_aws_sg,
    ),
    "elbv2-combined": ("lb", orjson.loads((FIXTURES / "aws" / "elbv2-combined.json").read_bytes()), iter_aws_elbv2),
    "f5-virtuals": ("f5", orjson.loads((FIXTURES / "f5" / "ltm-virtual.json").read_bytes()), iter_f5_rest),
}

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return document


@st.composite
def _mutated(draw: st.DrawFn, original: Any) -> bytes:
    document = copy.deepcopy(original)
    paths = list(_paths(original))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        try:
            document = _replace(document, path, draw(_json_values))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    return json.dumps(document).encode()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_wrong_shapes_give_records_or_errors(name: str) -> None:
    category, original, parser = DOCUMENTS[name]

    @given(body=_mutated(original))
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(body: bytes) -> None:
        items = parser(io.BytesIO(body))
        while True:
            batch = next_batch(category, items, 100, True)  # the same validation an import runs
            assert all(isinstance(e, RowError) for e in batch.errors)
            assert all(isinstance(u, Unmapped) for u in batch.unmapped)
            if batch.finished:
                break

    check()
