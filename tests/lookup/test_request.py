"""The lookup request model: what the server accepts, against the cases the page's own validation is tested with
(tests/fixtures/lookup_input_cases.json, also read by web/tests/validate.test.ts)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from netlookup.errors import BadInput
from netlookup.lookup.request import LookupRequest

CASES = orjson.loads((Path(__file__).resolve().parents[1] / "fixtures" / "lookup_input_cases.json").read_bytes())


def _accepted(q: str = "10.0.0.1", **options: str) -> bool:
    """As the query string gives them (text); empty options left out, as the page leaves them out."""
    values = {"q": q} | {name: value for name, value in options.items() if value != ""}
    try:
        LookupRequest.model_validate(values).prefix()
    except (ValidationError, BadInput):
        return False
    return True


@pytest.mark.parametrize(("text", "valid"), CASES["queries"])
def test_queries(text: str, valid: bool) -> None:
    assert _accepted(q=text) is valid


@pytest.mark.parametrize(("text", "valid"), CASES["ports"])
def test_ports(text: str, valid: bool) -> None:
    assert _accepted(port=text) is valid


@pytest.mark.parametrize(("text", "valid"), CASES["limits"])
def test_limits(text: str, valid: bool) -> None:
    assert _accepted(limit=text) is valid


@pytest.mark.parametrize(("text", "valid"), CASES["protocols"])
def test_protocols(text: str, valid: bool) -> None:
    assert _accepted(protocol=text) is valid
