"""The lookup request model: what the server accepts, against the cases the page's own validation is tested with
(tests/fixtures/lookup_input_cases.json, also read by web/tests/validate.test.ts)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from netlookup.errors import BadInput
from netlookup.lookup.request import FROM_TEXT, BatchLookupRequest, LookupRequest

CASES = orjson.loads((Path(__file__).resolve().parents[1] / "fixtures" / "lookup_input_cases.json").read_bytes())


def _accepted(q: str = "10.0.0.1", **options: str) -> bool:
    """As the query string gives them (text); empty options left out, as the page leaves them out."""
    values = {"q": q} | {name: value for name, value in options.items() if value != ""}
    try:
        LookupRequest.model_validate(values, context=FROM_TEXT).prefix()
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


@pytest.mark.parametrize(
    "options",
    [{"port": False}, {"port": "443"}, {"limit": "10"}, {"limit": 10.5}, {"best": 1}, {"best": "true"}],
    ids=repr,
)
def test_a_json_value_of_the_wrong_type_is_refused_not_converted(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LookupRequest.model_validate({"q": "10.0.0.1", **options})


def test_json_values_of_the_right_type_are_taken() -> None:
    request = LookupRequest.model_validate({"q": "10.0.0.1", "port": 443, "limit": 10, "best": True, "mode": "within"})
    assert (request.port, request.limit, request.best, request.mode) == (443, 10, True, "within")
    # JSON Schema's integer: a number with no fraction, however it is written.
    assert LookupRequest.model_validate({"q": "10.0.0.1", "limit": 10.0, "port": 4.43e2}).limit == 10


def test_a_batch_refuses_an_empty_or_malformed_query_naming_its_index() -> None:
    with pytest.raises(ValidationError) as refused:
        BatchLookupRequest.model_validate({"queries": ["10.0.0.1", ""]})
    assert refused.value.errors()[0]["loc"] == ("queries", 1)
    with pytest.raises(BadInput, match=r"queries\[1\]: '10.0.0.0/08' is not written as an address"):
        BatchLookupRequest.model_validate({"queries": ["10.0.0.1", "10.0.0.0/08"]}).prefixes()
