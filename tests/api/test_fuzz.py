"""Property-based fuzzing of the whole HTTP API from its own OpenAPI document (schemathesis, bounded examples):
no 5xx, and every response matches the schema the API publishes. Runs against a real uvicorn process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from netlookup.migrations import upgrade
from tests.conftest import AUTH
from tests.imports.fuzzing import mutations
from tests.processes import ROOT, Node

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


def test_api_never_fails_and_matches_its_schema(served: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case[Any]) -> None:
            # Writes get the key: fuzzing should reach the import and delete code, not stop at 401.
            case.call_and_validate(
                base_url=served,
                headers=AUTH,
                checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
                timeout=30,
            )

        check()


FIXTURES = ROOT / "tests" / "fixtures"
VENDOR_FILES = {
    "aws-sg": ("sg", (FIXTURES / "aws" / "describe-security-groups.json").read_bytes()),
    "aws-elbv2": ("lb", (FIXTURES / "aws" / "elbv2-combined.json").read_bytes()),
    "f5-rest": (
        "f5",
        (FIXTURES / "f5" / "ltm-virtual.json").read_bytes() + (FIXTURES / "f5" / "ltm-pool.json").read_bytes(),
    ),
    "f5-tmsh": ("f5", (FIXTURES / "f5" / "bigip.conf").read_bytes()),
    "cisco-acl": ("acl", (FIXTURES / "cisco" / "asa-fw1.cfg").read_bytes()),
}


@pytest.mark.parametrize("fmt", sorted(VENDOR_FILES))
def test_mutated_vendor_files_never_fail_the_server_or_write_part(served: str, fmt: str) -> None:
    category, original = VENDOR_FILES[fmt]
    source = f"fuzz-{fmt}"

    def state() -> object:
        sources = httpx.get(f"{served}/api/v1/sources", timeout=10).json()
        return [(s["count"], s["checksum"]) for s in sources if (s["category"], s["source"]) == (category, source)]

    @given(body=mutations(original, max_junk=40))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(body: bytes) -> None:
        before = state()
        response = httpx.post(
            f"{served}/api/v1/import/{category}",
            params={"source": source, "format": fmt},
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
