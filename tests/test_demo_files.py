"""Synthetic vendor files: deterministic, in the vendors' shapes, and imported whole by the matching importer."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from netlookup.config import Settings
from netlookup.container import Services
from netlookup.demo_files import WRITERS, write_aws_sg
from netlookup.imports.formats import FORMAT_CATEGORY, guess_format
from netlookup.imports.rows import RowError
from netlookup.imports.service import ImportService
from tests.conftest import reset_database
from tests.processes import run_cli

SCALE = 0.02


def _written(fmt: str, scale: float = SCALE) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = WRITERS[fmt](out, scale, 1)
    return out.getvalue(), count


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_files_are_deterministic_and_guessed_as_their_format(fmt: str) -> None:
    first, count = _written(fmt)
    again, _ = _written(fmt)
    assert first == again
    assert count > 0
    assert guess_format(io.BytesIO(first)) == fmt


def test_files_have_the_vendors_shapes() -> None:
    groups = orjson.loads(_written("aws-sg")[0])["SecurityGroups"]
    assert {"GroupId", "GroupName", "VpcId", "OwnerId", "IpPermissions", "IpPermissionsEgress"} <= set(groups[0])
    permissions = [p for g in groups for p in g["IpPermissions"] + g["IpPermissionsEgress"]]
    assert any(p["IpProtocol"] == "-1" and "FromPort" not in p for p in permissions)
    assert any(p["UserIdGroupPairs"] for p in permissions)
    assert any(len(p["IpRanges"]) > 1 for p in permissions)
    elb = orjson.loads(_written("aws-elbv2")[0])
    assert set(elb) == {"load_balancers", "target_groups", "target_health"}
    assert set(elb["target_health"]) == {g["TargetGroupArn"] for g in elb["target_groups"]["TargetGroups"]}
    rest = _written("f5-rest")[0]
    assert rest.count(b'"kind": "tm:ltm:virtual:virtualcollectionstate"') == 1
    assert b"membersReference" in rest
    tmsh = _written("f5-tmsh")[0].decode()
    assert re.search(r"^ltm virtual /\w+/vs_app\d+_\d+ \{$", tmsh, re.M)
    assert "source-address-translation {" in tmsh
    cisco = _written("cisco-acl")[0].decode()
    for command in ("ip access-list extended ", "access-list ", " extended ", "object-group network ", "prefix-list "):
        assert command in cisco


def test_aws_sg_pages_are_documents_with_next_tokens() -> None:
    out = io.BytesIO()
    count = write_aws_sg(out, SCALE, 1, pages=3)
    documents = [orjson.loads(part) for part in out.getvalue().replace(b"}\n{", b"}\n\x00{").split(b"\n\x00")]
    assert len(documents) == 3
    assert [("NextToken" in d) for d in documents] == [True, True, False]
    assert sum(len(r["IpRanges"]) + len(r["Ipv6Ranges"]) for d in documents for g in d["SecurityGroups"]
               for r in g["IpPermissions"] + g["IpPermissionsEgress"]) == count  # fmt: skip


class _Recorder:
    def __init__(self) -> None:
        self.progress: list[int] = []
        self.done: list[dict[str, Any]] = []

    async def data_changed(self, *args: Any) -> None:
        return None

    async def import_progress(self, job_id: str, category: str, source: str, rows_done: int) -> None:
        self.progress.append(rows_done)

    async def import_done(self, result: dict[str, Any]) -> None:
        self.done.append(result)

    async def import_failed(self, *args: Any) -> None:
        raise AssertionError(f"import failed: {args}")


@pytest.mark.parametrize("fmt", sorted(WRITERS))
async def test_every_format_imports_whole_with_progress(services: Services, fmt: str) -> None:
    body, count = _written(fmt, scale=0.05)
    events = _Recorder()
    imports = ImportService(services.engine, events)
    result = await imports.import_source(FORMAT_CATEGORY[fmt], f"demo-{fmt}", io.BytesIO(body), fmt)
    assert result.count == count
    assert events.done[0]["count"] == count
    assert events.progress == sorted(events.progress)
    assert events.progress[-1] >= count
    if fmt == "aws-sg":
        assert len(events.progress) > 1  # 7,500 rules: several batches, each reported
        assert result.unmapped is not None
        assert result.unmapped["count"] > 0


def test_cli_writes_files_that_the_cli_imports(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(reset_database(settings.database_url))
    for fmt in ("aws-sg", "f5-tmsh", "cisco-acl"):
        path = tmp_path / f"demo.{fmt}"
        written = run_cli(settings.database_url, "demo-data", "--format", fmt, "--scale", "0.01", "--out", str(path))
        expected = int(re.search(r": ([\d,]+) \w+ records", written.stderr).group(1).replace(",", ""))  # type: ignore[union-attr]
        imported = orjson.loads(
            run_cli(settings.database_url, "import", FORMAT_CATEGORY[fmt], str(path), "--source", f"demo-{fmt}").stdout
        )
        assert imported["count"] == expected
    refused = run_cli(settings.database_url, "demo-data", "--format", "nope", check=False)
    assert refused.returncode == 2
    assert "aws-sg" in refused.stderr


def test_generated_rows_are_all_valid() -> None:
    from netlookup.imports.formats import iter_records
    from netlookup.imports.validate import next_batch

    for fmt in WRITERS:
        body, count = _written(fmt)
        rows = iter_records(fmt, io.BytesIO(body), ())
        kept = 0
        while True:
            batch = next_batch(FORMAT_CATEGORY[fmt], rows, 500, True)
            assert not [e for e in batch.errors if isinstance(e, RowError)], (fmt, batch.errors[:3])
            kept += len(batch.rows)
            if batch.finished:
                break
        assert kept == count, fmt
