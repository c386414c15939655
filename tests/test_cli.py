"""The ``netlookup`` command, run as a real process against both databases."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from netlookup.config import DEMO_API_KEY, Settings, is_loopback
from netlookup.container import open_services
from netlookup.realtime.notify import Notifier
from tests.conftest import reset_database
from tests.processes import free_port, run_cli


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert "head" in run_cli(url, "db", "upgrade").stdout
    assert "base" in run_cli(url, "db", "downgrade", "base").stdout


def test_import_then_lookup(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(reset_database(settings.database_url))
    data = tmp_path / "fw.csv"
    data.write_text("line,name,action,cidr,port\n10,OUT,permit,10.0.0.0/8,443\n11,OUT,deny,10.1.0.0/16,\n")
    imported = orjson.loads(run_cli(settings.database_url, "import", "acl", str(data), "--source", "fw.cfg").stdout)
    assert (imported["count"], imported["added"]) == (2, 2)
    answer = orjson.loads(run_cli(settings.database_url, "lookup", "10.1.2.3", "--json").stdout)
    assert [m["cidr"] for m in answer["results"]["acl"]["matches"]] == ["10.1.0.0/16", "10.0.0.0/8"]
    table = run_cli(settings.database_url, "lookup", "10.1.2.3", "--categories", "acl").stdout
    assert "10.1.0.0/16" in table
    assert "fw.cfg:11" in table


def test_lookup_takes_the_apis_options_and_bounds(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(reset_database(settings.database_url))
    data = tmp_path / "fw.csv"
    data.write_text(
        "line,name,action,protocol,cidr,port\n"
        "10,OUT,permit,tcp,10.0.0.0/8,443\n11,OUT,deny,udp,10.1.0.0/16,53\n12,OUT,permit,tcp,10.1.2.0/24,22\n"
    )
    run_cli(settings.database_url, "import", "acl", str(data), "--source", "fw.cfg")

    def cidrs(*options: str) -> list[str]:
        answer = orjson.loads(run_cli(settings.database_url, "lookup", "10.1.2.3", "--json", *options).stdout)
        assert list(answer["results"]) == ["acl"]
        return [m["cidr"] for m in answer["results"]["acl"]["matches"]]

    assert cidrs("--categories", "acl", "--port", "443") == ["10.0.0.0/8"]
    assert cidrs("--categories", "acl", "--protocol", "udp") == ["10.1.0.0/16"]
    assert cidrs("--categories", "acl", "--best") == ["10.1.2.0/24"]
    assert cidrs("--categories", "acl", "--limit", "1") == ["10.1.2.0/24"]
    within = orjson.loads(
        run_cli(
            settings.database_url, "lookup", "10.1.0.0/16", "--json", "--mode", "within", "--categories", "acl"
        ).stdout
    )
    assert [m["cidr"] for m in within["results"]["acl"]["matches"]] == ["10.1.2.0/24", "10.1.0.0/16"]
    for option, value, needle in (
        ("--limit", "1001", "limit"),
        ("--limit", "0", "limit"),
        ("--port", "70000", "port"),
        ("--categories", "acl,dns", "dns"),
    ):
        refused = run_cli(settings.database_url, "lookup", "10.1.2.3", option, value, check=False)
        assert refused.returncode == 2, (option, value)
        assert needle in refused.stderr, refused.stderr


def test_import_with_bad_rows_exits_2_listing_them(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(reset_database(settings.database_url))
    data = tmp_path / "bad.ndjson"
    data.write_text('{"cidr": "10.0.0.0/8"}\n{"cidr": "10.0.0.0/40"}\n{"cidr": "10.0.0.0/8", "action": "x"}\n')
    result = run_cli(settings.database_url, "import", "acl", str(data), "--source", "bad", check=False)
    assert result.returncode == 2
    assert "line 2: cidr" in result.stderr
    assert "line 3: action" in result.stderr
    bad_q = run_cli(settings.database_url, "lookup", "10.0.0.0/40", check=False)
    assert bad_q.returncode == 2
    assert "10.0.0.0/40" in bad_q.stderr


async def _checksums(settings: Settings) -> dict[tuple[str, str], tuple[int, str]]:
    async with open_services(settings, Notifier(None)) as services:
        return {
            (s["category"], s["source"]): (s["count"], s["checksum"]) for s in await services.records.list_sources()
        }


def test_demo_data_is_deterministic_and_realistic(settings: Settings) -> None:
    asyncio.run(reset_database(settings.database_url))
    run_cli(settings.database_url, "demo-data", "--scale", "0.02", "--seed", "3")
    first = asyncio.run(_checksums(settings))
    run_cli(settings.database_url, "demo-data", "--scale", "0.02", "--seed", "3")
    assert asyncio.run(_checksums(settings)) == first
    per_category = {c: sum(n for (cat, _), (n, _) in first.items() if cat == c) for c in ("acl", "sg", "lb", "f5")}
    assert per_category == {"acl": 240, "sg": 3000, "lb": 40, "f5": 60}
    assert len([k for k in first if k[0] == "acl"]) >= 20
    answer = orjson.loads(run_cli(settings.database_url, "lookup", "10.1.2.3", "--json").stdout)
    assert answer["results"]["sg"]["total"] > 0
    assert answer["results"]["acl"]["total"] > 0


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "netlookup.example.net"])
def test_serve_refuses_the_readmes_demo_key_beyond_loopback(tmp_path: Path, host: str) -> None:
    """The README prints the key ./scripts/run sets: a node holding it must not listen beyond this machine."""
    env = {
        **os.environ,
        "NETLOOKUP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        "NETLOOKUP_API_KEYS": f"an-own-key-0123456789,{DEMO_API_KEY}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "netlookup", "serve", "--host", host, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert f"refusing to serve on {host}" in message
    assert "NETLOOKUP_API_KEYS" in message


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.1", False),
        ("example.net", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
