"""A client generated from the live /openapi.json by openapi-python-client, used against that node: an import, a
lookup, a batch, a refused query and a delete. The document must be usable by a generator, not only valid."""

from __future__ import annotations

import importlib
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from netlookup.migrations import upgrade
from tests.processes import API_KEY, Node

pytestmark = pytest.mark.slow

PACKAGE = "netlookup_client"
CONFIG = f"project_name_override: netlookup-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"
# The generator writes no body serializer for these two text types; the same files go as application/octet-stream.
UNSUPPORTED_BY_THE_GENERATOR = {"Unsupported content type text/csv", "Unsupported content type application/x-ndjson"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The generated package, imported, and the URL of the node it was generated from."""
    workdir = tmp_path_factory.mktemp("client")
    url = f"sqlite+aiosqlite:///{workdir / 'client.db'}"
    upgrade(url)
    node = Node("client", url, workdir, NETLOOKUP_LOG_LEVEL="WARNING").start()
    try:
        (workdir / "openapi.json").write_bytes(httpx.get(f"{node.url}/openapi.json", timeout=10).content)
        (workdir / "config.yml").write_text(CONFIG)
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("openapi-python-client")),
                "generate",
                "--path",
                "openapi.json",
                "--config",
                "config.yml",
                "--meta",
                "none",
                "--output-path",
                PACKAGE,
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        unsupported = {line.strip() for line in run.stdout.splitlines() if line.startswith("Unsupported")}
        assert unsupported <= UNSUPPORTED_BY_THE_GENERATOR, run.stdout
        assert "Unable to" not in run.stdout, run.stdout
        sys.path.insert(0, str(workdir))
        try:
            yield importlib.import_module(PACKAGE), node.url
        finally:
            sys.path.remove(str(workdir))
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]
    finally:
        node.stop()


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_imports_looks_up_and_deletes(generated: tuple[Any, str]) -> None:
    package, base_url = generated
    models = _module(package, "models")
    client = package.AuthenticatedClient(base_url=base_url, token=API_KEY)
    rows = [
        {"cidr": "10.1.0.0/16", "line": 10, "action": "permit", "protocol": "tcp", "port": "443"},
        {"cidr": "10.0.0.0/8", "line": 20, "action": "deny", "protocol": "ip"},
    ]
    file = _module(package, "types").File(
        payload=io.BytesIO(b"".join(orjson.dumps(row) + b"\n" for row in rows)), file_name="fw.ndjson"
    )
    imported = _module(package, "api.data.import_acl").sync(
        client=client, body=file, source="client.cfg", format_=models.AclImportFormat("ndjson")
    )
    assert isinstance(imported, models.ImportResponse), imported
    assert (imported.count, imported.added) == (2, 2)

    found = _module(package, "api.lookup.lookup").sync(client=client, q="10.1.2.3", mode=models.LookupMode("covering"))
    assert isinstance(found, models.LookupResponse), found
    assert found.query == "10.1.2.3/32"
    assert [(m.cidr, m.line, m.prefix_len) for m in found.results.acl.matches] == [
        ("10.1.0.0/16", 10, 16),
        ("10.0.0.0/8", 20, 8),
    ]

    batch = _module(package, "api.lookup.lookup_batch").sync(
        client=client, body=models.BatchLookupRequest(queries=["10.1.2.3", "192.0.2.1"], categories="acl", port=443)
    )
    assert isinstance(batch, models.BatchResponse), batch
    assert [result.results.acl.total for result in batch.results] == [2, 0]

    refused = _module(package, "api.lookup.lookup").sync_detailed(client=client, q="10.1.2.300")
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.ErrorResponse)
    assert "10.1.2.300" in str(refused.parsed.detail)

    deleted = _module(package, "api.data.delete_source").sync(
        models.DeleteSourceCategory("acl"), "client.cfg", client=client
    )
    assert isinstance(deleted, models.DeleteResponse), deleted
    assert deleted.removed == 2
    gone = _module(package, "api.data.delete_source").sync_detailed(
        models.DeleteSourceCategory("acl"), "client.cfg", client=client
    )
    assert gone.status_code == 404
