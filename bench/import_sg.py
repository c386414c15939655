"""Import time of 150,000 security-group rules (demo data, scale 1) as ONE source, into the configured database.

Usage: NETLOOKUP_DATABASE_URL=... python bench/import_sg.py [--format aws-sg|ndjson] [--scale 1] [--repeat 2]
       python bench/import_sg.py --url http://127.0.0.1:8000 --key KEY [...]   # through a running server's API
The database must be migrated (netlookup db upgrade). The source is named bench-sg-import and replaced each run:
the first run writes into an empty source, later runs replace the rows of the run before. ``aws-sg`` is the file
``netlookup demo-data --format aws-sg`` writes (describe-security-groups JSON); ``ndjson`` the canonical rows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import IO

import httpx
import orjson

from netlookup.config import Settings
from netlookup.demo import demo_records
from netlookup.demo_files import write_aws_sg
from netlookup.services import open_services


def _write(stream: IO[bytes], fmt: str, scale: float) -> int:
    if fmt == "aws-sg":
        return write_aws_sg(stream, scale, seed=1)
    rows = 0
    for _, record in demo_records("sg", scale, seed=1):
        stream.write(orjson.dumps(record) + b"\n")
        rows += 1
    return rows


def _wait_for_index(url: str, timeout: float = 120) -> float:
    """When the node's in-memory sg index serves again after an import (its rebuild runs after the commit, and
    would otherwise share the CPU with the next run); the time it happened."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        checks = httpx.get(f"{url}/readyz", timeout=10).json().get("checks", {})
        if isinstance(checks.get("memory_index", {}).get("sg"), dict) or "memory_index" not in checks:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError("the sg index did not come back")


def run_http(url: str, key: str, fmt: str, scale: float, repeat: int) -> None:
    """POST the file to the import endpoint (raw body), as a user or a pipeline would."""
    with tempfile.TemporaryFile() as stream:
        rows = _write(stream, fmt, scale)
        size_mb = stream.tell() / 1e6
        for attempt in range(repeat):
            stream.seek(0)
            started = time.perf_counter()
            response = httpx.post(
                f"{url}/api/v1/import/sg",
                params={"source": "bench-sg-import", "format": fmt},
                content=stream.read(),
                headers={"Authorization": f"Bearer {key}"},
                timeout=600,
            )
            took = time.perf_counter() - started
            response.raise_for_status()
            assert response.json()["count"] == rows, response.json()
            indexed = _wait_for_index(url) - started
            print(
                f"run={attempt + 1} via=http format={fmt} rows={rows} file_mb={size_mb:.1f} seconds={took:.2f} "
                f"rows_per_s={rows / took:,.0f} memory_index_ready_after_s={indexed:.2f}"
            )
        headers = {"Authorization": f"Bearer {key}"}
        httpx.delete(f"{url}/api/v1/sources/sg/bench-sg-import", headers=headers, timeout=60).raise_for_status()


async def run(fmt: str, scale: float, repeat: int) -> None:
    settings = Settings()
    with tempfile.TemporaryFile() as stream:
        rows = _write(stream, fmt, scale)
        size_mb = stream.tell() / 1e6
        async with open_services(settings) as services:
            for attempt in range(repeat):
                stream.seek(0)
                started = time.perf_counter()
                result = await services.imports.replace_source("sg", "bench-sg-import", stream, fmt)
                took = time.perf_counter() - started
                assert result.count == rows, (result.count, rows)
                print(
                    f"run={attempt + 1} backend={services.engine.dialect.name} format={fmt} rows={result.count} "
                    f"file_mb={size_mb:.1f} seconds={took:.2f} rows_per_s={rows / took:,.0f}"
                )
            await services.imports.delete_source("sg", "bench-sg-import")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=("aws-sg", "ndjson"), default="aws-sg")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--url", help="Import through this server's API instead of in-process.")
    parser.add_argument("--key", default="", help="API key for --url.")
    args = parser.parse_args()
    if args.url:
        run_http(args.url.rstrip("/"), args.key, args.format, args.scale, args.repeat)
    else:
        asyncio.run(run(args.format, args.scale, args.repeat))


if __name__ == "__main__":
    main()
