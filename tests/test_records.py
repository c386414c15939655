"""Validation of imported records, without a database."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlookup.records import (
    AclRecord,
    F5Record,
    LbRecord,
    SgRecord,
    network_row,
    parse_port_range,
    sg_port_range,
)


def test_acl_record_is_normalised() -> None:
    record = AclRecord.model_validate({"cidr": "10.1.2.3/8", "action": "PERMIT", "port": 443, "name": " X "})
    assert (record.cidr, record.action, record.port, record.name) == ("10.0.0.0/8", "permit", "443", "X")
    row = network_row(record)
    assert (row["family"], row["prefix_len"], row["port_lo"], row["port_hi"]) == (4, 8, 443, 443)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("443", (443, 443)), ("8000-8080", (8000, 8080)), (" 1 - 2 ", (1, 2)), (None, None)],
)
def test_port_ranges(value: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_port_range(value) == expected


@pytest.mark.parametrize("value", ["http", "80-", "70000", "90-80", "1-2-3"])
def test_bad_port_ranges(value: str) -> None:
    with pytest.raises(ValueError, match="port"):
        parse_port_range(value)


def test_sg_all_ports_and_protocol_minus_one() -> None:
    record = SgRecord.model_validate({"cidr": "0.0.0.0/0", "protocol": "-1", "from_port": -1, "to_port": -1})
    assert record.protocol == "all"
    assert sg_port_range(-1, -1) is None
    assert sg_port_range(22, None) == (22, 22)
    with pytest.raises(ValidationError, match="to_port"):
        SgRecord.model_validate({"cidr": "0.0.0.0/0", "from_port": 90, "to_port": 80})
    with pytest.raises(ValidationError, match="protocol"):
        SgRecord.model_validate({"cidr": "0.0.0.0/0", "protocol": "tcpx"})


def test_sg_icmp_type_and_code_are_not_a_port_range() -> None:
    # AWS writes "ICMP time exceeded, code 0" as FromPort 11, ToPort 0: a type and a code, not ports 11 down to 0.
    record = SgRecord.model_validate({"cidr": "0.0.0.0/0", "protocol": "icmp", "from_port": 11, "to_port": 0})
    assert (record.from_port, record.to_port) == (11, 0)
    assert network_row(record)["port_lo"] is None
    assert sg_port_range(8, -1, "ICMP") is None
    assert sg_port_range(8, -1, "58") is None
    assert sg_port_range(8, -1, "tcp") == (8, 8)


def test_lb_and_f5_addresses_are_hosts() -> None:
    lb = LbRecord.model_validate({"vip": "10.0.0.1", "members": [{"ip": "2001:DB8::1", "port": 80}]})
    assert lb.members[0].ip == "2001:db8::1"
    with pytest.raises(ValidationError, match="vip"):
        LbRecord.model_validate({"vip": "10.0.0.0/24"})
    with pytest.raises(ValidationError):
        F5Record.model_validate({"destination": "10.0.0.1", "members": [{"ip": "10.0.0.2", "port": 70000}]})
    with pytest.raises(ValidationError, match="extra"):
        F5Record.model_validate({"destination": "10.0.0.1", "colour": "red"})
