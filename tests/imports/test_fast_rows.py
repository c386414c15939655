"""The lean validation path builds exactly the rows the pydantic models build, and steps aside otherwise."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from netlookup.categories import NETWORK_CATEGORIES, SPECS, Category
from netlookup.imports.fast_rows import fast_network_row
from netlookup.records import NetworkRecord, network_row

_text = st.none() | st.sampled_from(["", "  ", " web ", "TCP", "tcp", "-1", "6", "300", "²", "a" * 70, "x" * 300])
_number = st.none() | st.integers(-3, 70_000) | st.sampled_from([True, 1.0, "443", "", 2**40])
_cidr = (
    st.sampled_from(
        ["10.0.0.0/8", " 10.1.2.3/24 ", "10.0.0.1", "2001:db8::/32", "::/0", "010.0.0.0/8", "10.0.0.0/33", "x", ""]
    )
    | st.integers()
)
_keyword = st.none() | st.sampled_from(["ingress", " EGRESS ", "in", "Out", "permit", "DENY ", "sideways", ""])
_port = st.none() | st.sampled_from(["443", " 8000-8080 ", "0080", "", " ", "80-79", "70000", "http"]) | st.integers()

_SG = st.fixed_dictionaries(
    {"cidr": _cidr},
    optional={
        "group_id": _text,
        "group_name": _text,
        "vpc_id": _text,
        "account": _text,
        "region": _text,
        "direction": _keyword,
        "protocol": _text,
        "from_port": _number,
        "to_port": _number,
        "description": _text,
        "unknown": _text,
    },
)
_ACL = st.fixed_dictionaries(
    {"cidr": _cidr},
    optional={
        "line": _number,
        "name": _text,
        "kind": _text,
        "action": _keyword,
        "direction": _keyword,
        "protocol": _text,
        "port": _port,
        "description": _text,
    },
)


def _reference_row(category: Category, raw: dict[str, Any]) -> dict[str, Any] | None:
    try:
        record = SPECS[category].input_model.model_validate(raw)
    except ValidationError:
        return None
    assert isinstance(record, NetworkRecord)
    return network_row(record)


def _check(category: Category, raw: dict[str, Any]) -> None:
    fast = fast_network_row(category, dict(raw))
    reference = _reference_row(category, dict(raw))
    if reference is None:
        assert fast is None, f"the fast path accepted what the model refuses: {raw!r}"
    elif fast is not None:
        assert fast == reference


@settings(max_examples=800)
@given(_SG)
def test_sg_fast_rows_equal_the_model_rows(raw: dict[str, Any]) -> None:
    _check("sg", raw)


@settings(max_examples=800)
@given(_ACL)
def test_acl_fast_rows_equal_the_model_rows(raw: dict[str, Any]) -> None:
    _check("acl", raw)


def test_plain_rows_take_the_fast_path() -> None:
    sg = {
        "group_id": "sg-1",
        "direction": "ingress",
        "protocol": "tcp",
        "from_port": 443,
        "to_port": 443,
        "cidr": "10.0.0.1/24",
    }
    acl = {"line": 7, "name": "OUTSIDE_IN", "action": "permit", "protocol": "tcp", "cidr": "2001:db8::1/64"}
    cases: tuple[tuple[Category, dict[str, Any]], ...] = (("sg", sg), ("acl", acl | {"port": "443"}))
    for category, raw in cases:
        row = fast_network_row(category, dict(raw))
        assert row is not None
        assert row == _reference_row(category, dict(raw))
    assert set(NETWORK_CATEGORIES) == {"sg", "acl"}
