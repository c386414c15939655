"""F5 constructs of TMOS 14.1+ and AS3 configurations, from a fixture written from F5's tmsh reference: AS3
folders kept in names, port 0 and ``any`` as any port, ``traffic-matching-criteria`` virtuals, destinations that
name an ``ltm virtual-address``, every IANA service name; the same in iControl REST JSON."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import orjson

from netlookup.imports.f5_rest import iter_f5_rest
from netlookup.imports.f5_tmsh import iter_f5_tmsh
from netlookup.imports.rows import ParsedRow, RowError
from tests.conftest import AUTH

TMOS16 = (Path(__file__).resolve().parents[1] / "fixtures" / "f5" / "bigip-tmos16.conf").read_bytes()


def _summary(items: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (i.position, i.raw["partition"], i.raw["name"], i.raw["destination"], i.raw["port"], i.raw["protocol"])
        for i in items
        if isinstance(i, ParsedRow)
    ]


def test_tmsh_folders_ports_criteria_and_named_addresses() -> None:
    items = list(iter_f5_tmsh(io.BytesIO(TMOS16)))
    assert _summary(items) == [
        (67, "Tenant", "app1/serviceMain", "10.80.0.1", 443, "tcp"),
        (72, "Tenant", "app2/serviceMain", "10.80.0.2", 443, "tcp"),
        (77, "Common", "vs_port_zero", "10.80.0.5", None, "tcp"),
        (81, "Common", "vs_port_any", "10.80.0.6", None, "udp"),
        (85, "Common", "vs_tmc", "10.80.1.10", 443, "tcp"),
        # an address list (a range, a nested list) times a port list: one record each
        *[
            (90, "Common", "vs_tmc_listed", address, port, "tcp")
            for address in ("10.80.5.1", "10.80.5.8/30", "10.80.50.0/24")
            for port in (443, 8443)
        ],
        (96, "Common", "vs_named_address", "10.80.2.20", 8443, "tcp"),
        (100, "Common", "vs_dnsix", "10.80.3.3", 90, "udp"),
        (104, "Common", "vs_forward_any", "0.0.0.0/0", None, None),  # mask any: a wildcard virtual
        (112, "Common", "vs_forward_rd", "0.0.0.0/0", None, None),
        (117, "Common", "vs_network", "10.82.0.0/16", 443, "tcp"),
        (122, "Common", "vs_network_v6", "2001:db8:82::/48", 443, "tcp"),
    ]
    app2 = next(i.raw for i in items if isinstance(i, ParsedRow) and i.raw["name"] == "app2/serviceMain")
    assert app2["members"] == [{"ip": "10.80.20.1", "port": None}, {"ip": "10.80.20.2", "port": 5639}]
    port_range, bad_mask = [i for i in items if isinstance(i, RowError)]
    assert port_range.line == 93
    assert "the range 8000-8080 cannot be one F5 port" in port_range.reason
    assert (bad_mask.line, bad_mask.reason) == (127, "mask 255.0.255.0 is not contiguous")
    forwarding = next(i.raw for i in items if isinstance(i, ParsedRow) and i.raw["name"] == "vs_forward_rd")
    assert forwarding["route_domain"] == 61


def test_a_destination_naming_a_missing_virtual_address_is_an_error() -> None:
    body = b"ltm virtual /Common/vs {\n    destination /Common/nowhere:443\n}\n"
    [error] = list(iter_f5_tmsh(io.BytesIO(body)))
    assert isinstance(error, RowError)
    assert "names virtual-address 'nowhere', which is not in the file" in error.reason


def test_rest_folders_criteria_and_named_addresses() -> None:
    document = {
        "items": [
            {
                "kind": "tm:ltm:virtual:virtualstate",
                "partition": "Tenant",
                "subPath": "app1",
                "name": "serviceMain",
                "destination": "/Tenant/10.81.0.1:0",
                "ipProtocol": "tcp",
            },
            {
                "kind": "tm:ltm:virtual:virtualstate",
                "partition": "Common",
                "name": "vs_tmc",
                "trafficMatchingCriteria": "/Common/tmc_web",
            },
            {
                "kind": "tm:ltm:virtual:virtualstate",
                "partition": "Common",
                "name": "vs_named",
                "destination": "/Common/vip_app:https",
            },
            {
                "kind": "tm:ltm:traffic-matching-criteria:traffic-matching-criteriastate",
                "fullPath": "/Common/tmc_web",
                "destinationAddressInline": "10.81.1.10",
                "destinationPortInline": "8443",
                "protocol": "tcp",
            },
            {
                "kind": "tm:ltm:virtual-address:virtual-addressstate",
                "fullPath": "/Common/vip_app",
                "address": "10.81.2.2",
            },
        ]
    }
    items = list(iter_f5_rest(io.BytesIO(orjson.dumps(document))))
    assert _summary(items) == [
        (1, "Tenant", "app1/serviceMain", "10.81.0.1", None, "tcp"),
        (2, "Common", "vs_tmc", "10.81.1.10", 8443, "tcp"),
        (3, "Common", "vs_named", "10.81.2.2", 443, None),
    ]


async def test_the_fixture_round_trips_and_a_port_filter_admits_any_port_virtuals(client: httpx.AsyncClient) -> None:
    strict = await client.post("/api/v1/import/f5", params={"source": "tmos16"}, content=TMOS16, headers=AUTH)
    assert strict.status_code == 422  # the port range and the bad mask
    response = await client.post(
        "/api/v1/import/f5", params={"source": "tmos16", "on_error": "skip"}, content=TMOS16, headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert (response.json()["count"], response.json()["skipped"]["count"]) == (17, 2)

    async def names(q: str, **params: Any) -> list[str]:
        found = (await client.get("/api/v1/f5/lookup", params={"q": q, **params})).json()
        return [m["name"] for m in found["matches"]]

    assert await names("10.80.0.5", port=8080, protocol="tcp") == ["vs_port_zero", "vs_forward_any", "vs_forward_rd"]
    assert (await names("10.80.0.6", port=53))[0] == "vs_port_any"  # port any, then the wildcards
    within = await names("10.80.0.0/24", mode="within")  # points inside; no network lies inside a /24
    assert sorted(within) == ["app1/serviceMain", "app2/serviceMain", "vs_port_any", "vs_port_zero"]
    assert (await names("10.80.1.10", port=443))[0] == "vs_tmc"
    assert (await names("10.80.2.20"))[0] == "vs_named_address"
    assert (await names("10.80.5.10", port=8443))[0] == "vs_tmc_listed"  # inside the listed range
    assert (await names("10.80.20.2"))[0] == "app2/serviceMain"  # by its pool member


async def test_network_virtuals_are_found_by_every_address_inside_most_specific_first(
    client: httpx.AsyncClient,
) -> None:
    body = TMOS16 + b"ltm virtual /Common/vs_bad_mask_fixed {\n    destination /Common/10.82.7.7:443\n}\n"
    response = await client.post(
        "/api/v1/import/f5", params={"source": "tmos16", "on_error": "skip"}, content=body, headers=AUTH
    )
    assert response.status_code == 200, response.text

    async def found(q: str, **params: Any) -> list[tuple[str, int, str]]:
        answer = (await client.get("/api/v1/f5/lookup", params={"q": q, **params})).json()
        return [(m["name"], m["prefix_len"], m["matched_on"]) for m in answer["matches"]]

    assert await found("10.82.7.7") == [
        ("vs_bad_mask_fixed", 32, "destination"),
        ("vs_network", 16, "destination"),
        ("vs_forward_any", 0, "destination"),
        ("vs_forward_rd", 0, "destination"),
    ]
    assert await found("10.82.0.0/16", mode="within") == [
        ("vs_bad_mask_fixed", 32, "destination"),
        ("vs_network", 16, "destination"),
    ]
    # covering 10.0.0.0/8: the wildcards contain it, the /16 does not (it lies inside); addresses inside match anyway
    networks = [name for name, length, _ in await found("10.0.0.0/8") if length < 32]
    assert networks == ["vs_forward_any", "vs_forward_rd"]
    assert await found("2001:db8:82::1") == [("vs_network_v6", 48, "destination")]
    assert await found("10.82.7.7", port=80) == [
        ("vs_forward_any", 0, "destination"),
        ("vs_forward_rd", 0, "destination"),
    ]


def test_rest_criteria_with_address_and_port_lists() -> None:
    document: dict[str, list[dict[str, Any]]] = {
        "items": [
            {
                "kind": "tm:ltm:virtual:virtualstate",
                "partition": "Common",
                "name": "vs_listed",
                "trafficMatchingCriteria": "/Common/tmc_listed",
            },
            {
                "kind": "tm:ltm:traffic-matching-criteria:traffic-matching-criteriastate",
                "fullPath": "/Common/tmc_listed",
                "destinationAddressList": "/Common/web_addresses",
                "destinationPortList": "/Common/web_ports",
                "protocol": "tcp",
            },
            {
                "kind": "tm:net:address-list:address-liststate",
                "fullPath": "/Common/web_addresses",
                "addresses": [{"name": "10.84.0.1"}, {"name": "10.84.0.8-10.84.0.11"}],
                "addressLists": [{"name": "more", "partition": "Common"}],
            },
            {
                "kind": "tm:net:address-list:address-liststate",
                "fullPath": "/Common/more",
                "addresses": [{"name": "10.84.1.0/24"}],
            },
            {"kind": "tm:net:port-list:port-liststate", "fullPath": "/Common/web_ports", "ports": [{"name": "443"}]},
        ]
    }
    items = list(iter_f5_rest(io.BytesIO(orjson.dumps(document))))
    assert _summary(items) == [
        (1, "Common", "vs_listed", address, 443, "tcp") for address in ("10.84.0.1", "10.84.0.8/30", "10.84.1.0/24")
    ]
    document["items"][4]["ports"] = [{"name": "8000-8080"}]
    [error] = list(iter_f5_rest(io.BytesIO(orjson.dumps(document))))
    assert isinstance(error, RowError)
    assert "the range 8000-8080 cannot be one F5 port" in error.reason
