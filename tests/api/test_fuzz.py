"""Fuzzing against real uvicorn nodes: schemathesis over every operation of the API's own OpenAPI document with
every check (tests/api/schemathesis.toml names the few exceptions and why), on SQLite with open reads and on
MariaDB with NETLOOKUP_READ_AUTH; and mutated vendor files, which must never fail the server or write part."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netlookup.migrations import upgrade
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations
from tests.processes import API_KEY, ROOT, Node, create_mariadb_database, drop_mariadb_database, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{workdir / 'fuzz.db'}"
    upgrade(url)
    node = Node("fuzz", url, workdir, NETLOOKUP_LOG_LEVEL="WARNING").start()
    base = node.url
    try:
        rows = [{"cidr": f"10.{i}.0.0/16", "line": i} for i in range(20)]
        body = b"".join(orjson.dumps(r) + b"\n" for r in rows)
        assert (
            httpx.post(
                f"{base}/api/v1/import/acl", params={"source": "fuzz.cfg"}, content=body, headers=AUTH
            ).status_code
            == 200
        )
        lbs = orjson.dumps([{"vip": "10.1.0.1", "members": [{"ip": "10.1.0.2", "port": 80}]}])
        assert (
            httpx.post(f"{base}/api/v1/import/lb", params={"source": "fuzz-lb"}, content=lbs, headers=AUTH).status_code
            == 200
        )
        yield base
    finally:
        node.stop()
    text = node.log()
    assert "Traceback" not in text, text[-4000:]


SCHEMATHESIS_CONFIG = ROOT / "tests" / "api" / "schemathesis.toml"
# Bounded: about half a minute per node. NETLOOKUP_FUZZ_SEED picks another seed to explore further by hand.
FUZZ_SEED = os.environ.get("NETLOOKUP_FUZZ_SEED", "20261202")
FUZZ_EXAMPLES = "50"


def schemathesis_command(url: str) -> list[str]:
    """The run docs/api.md gives: every check and phase, the key sent so imports and deletes are reached."""
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(SCHEMATHESIS_CONFIG),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {API_KEY}",
        "--max-examples",
        FUZZ_EXAMPLES,
        "--seed",
        FUZZ_SEED,
        "--generation-database",
        "none",
    ]


@pytest.mark.parametrize(
    ("backend", "read_auth"), [("sqlite", False), ("mariadb", True)], ids=["sqlite-open-reads", "mariadb-read-auth"]
)
def test_schemathesis_finds_nothing_on_a_node_with_demo_data(tmp_path: Path, backend: str, read_auth: bool) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}" if backend == "sqlite" else create_mariadb_database()
    node = Node("fuzz", url, tmp_path, NETLOOKUP_LOG_LEVEL="WARNING", NETLOOKUP_READ_AUTH=str(read_auth).lower())
    try:
        upgrade(url)
        run_cli(url, "demo-data", "--scale", "0.02", "--seed", "5")
        node.start()
        if read_auth:
            assert httpx.get(f"{node.url}/api/v1/sources", timeout=10).status_code == 401
        run = subprocess.run(
            schemathesis_command(node.url),
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        node.stop()
        if backend == "mariadb":
            drop_mariadb_database(url)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-4000:]
    assert "No issues found" in summary, summary
    assert "Traceback" not in node.log(), node.log()[-4000:]


FIXTURES = ROOT / "tests" / "fixtures"
VENDOR_FILES = {
    "aws-sg": ("sg", (FIXTURES / "aws" / "describe-security-groups.json").read_bytes()),
    "aws-elbv2": ("lb", (FIXTURES / "aws" / "elbv2-combined.json").read_bytes()),
    "f5-rest": (
        "f5",
        (FIXTURES / "f5" / "ltm-virtual.json").read_bytes() + (FIXTURES / "f5" / "ltm-pool.json").read_bytes(),
    ),
    "f5-tmsh": (
        "f5",
        (FIXTURES / "f5" / "bigip.conf").read_bytes() + (FIXTURES / "f5" / "bigip-tmos16.conf").read_bytes(),
    ),
    "cisco-acl": (
        "acl",
        b"".join(
            (FIXTURES / "cisco" / name).read_bytes() for name in ("asa-fw1.cfg", "ios-objects.cfg", "asa-services.cfg")
        ),
    ),
}


@pytest.mark.parametrize("fmt", sorted(VENDOR_FILES))
def test_mutated_vendor_files_never_fail_the_server_or_write_part(served: str, fmt: str) -> None:
    category, original = VENDOR_FILES[fmt]
    source = f"fuzz-{fmt}"

    def state() -> object:
        sources = httpx.get(f"{served}/api/v1/sources", timeout=10).json()
        return [(s["count"], s["checksum"]) for s in sources if (s["category"], s["source"]) == (category, source)]

    @given(body=mutations(original, max_junk=40), on_error=st.sampled_from(["reject", "skip"]))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(body: bytes, on_error: str) -> None:
        before = state()
        response = httpx.post(
            f"{served}/api/v1/import/{category}",
            params={"source": source, "format": fmt, "on_error": on_error},
            content=body,
            headers=AUTH,
            timeout=30,
        )
        assert response.status_code in (200, 422), response.text
        detail = response.json()["detail"] if response.status_code == 422 else None
        if response.status_code == 422:
            assert state() == before  # nothing written
            assert detail
        else:
            assert state() == [(response.json()["count"], response.json()["checksum"])]

    check()
