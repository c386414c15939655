"""Import time of 150,000 security-group rules (demo data, scale 1) as ONE source, into the configured database.

Usage: NETLOOKUP_DATABASE_URL=... python bench/import_sg.py [--format aws-sg|ndjson] [--scale 1] [--repeat 1]
       python bench/import_sg.py --url http://127.0.0.1:8000 --key KEY [...]   # through a running server's API
The database must be migrated (netlookup db upgrade). Each cycle imports into the source bench-sg-import:

- first:     file A (demo seed 1) into the empty source: every row inserted;
- same:      file A again: every record kept, nothing written but the summary (a daily sync with no change);
- different: file B (demo seed 2) over A: every old record deleted, every new one inserted (the worst case);

then deletes the source. ``aws-sg`` is the file ``netlookup demo-data --format aws-sg`` writes
(describe-security-groups JSON); ``ndjson`` the canonical rows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from contextlib import ExitStack
from typing import IO, Any

import httpx
import orjson

from netlookup.config import Settings
from netlookup.container import open_services
from netlookup.demo import demo_records
from netlookup.demo_files import write_aws_sg
from netlookup.realtime.notify import Notifier, write_only_emitter

SOURCE = "bench-sg-import"
CASES = (("first", 0), ("same", 0), ("different", 1))  # (name, which file)


def _write(stream: IO[bytes], fmt: str, scale: float, seed: int) -> int:
    if fmt == "aws-sg":
        return write_aws_sg(stream, scale, seed=seed)
    rows = 0
    for _, record in demo_records("sg", scale, seed=seed):
        stream.write(orjson.dumps(record) + b"\n")
        rows += 1
    return rows


def _files(stack: ExitStack, fmt: str, scale: float) -> list[tuple[IO[bytes], int, float]]:
    """(stream, rows, MB) of file A (seed 1) and file B (seed 2)."""
    files: list[tuple[IO[bytes], int, float]] = []
    for seed in (1, 2):
        stream = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - the stack closes it
        rows = _write(stream, fmt, scale, seed)
        files.append((stream, rows, stream.tell() / 1e6))
    return files


def _report(case: str, cycle: int, where: str, fmt: str, rows: int, size_mb: float, took: float, extra: str) -> None:
    print(
        f"cycle={cycle} case={case} {where} format={fmt} rows={rows} file_mb={size_mb:.1f} seconds={took:.2f} "
        f"rows_per_s={rows / took:,.0f}{extra}"
    )


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
    """POST the files to the import endpoint (raw body), as a user or a pipeline would."""
    headers = {"Authorization": f"Bearer {key}"}
    with ExitStack() as stack:
        files = _files(stack, fmt, scale)
        for cycle in range(1, repeat + 1):
            for case, which in CASES:
                stream, rows, size_mb = files[which]
                stream.seek(0)
                started = time.perf_counter()
                response = httpx.post(
                    f"{url}/api/v1/import/sg",
                    params={"source": SOURCE, "format": fmt},
                    content=stream.read(),
                    headers=headers,
                    timeout=600,
                )
                took = time.perf_counter() - started
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                assert body["count"] == rows, body
                indexed = _wait_for_index(url) - started
                extra = f" added={body['added']} removed={body['removed']} memory_index_ready_after_s={indexed:.2f}"
                _report(case, cycle, "via=http", fmt, rows, size_mb, took, extra)
            httpx.delete(f"{url}/api/v1/sources/sg/{SOURCE}", headers=headers, timeout=60).raise_for_status()


async def run(fmt: str, scale: float, repeat: int) -> None:
    with ExitStack() as stack:
        files = _files(stack, fmt, scale)
        settings = Settings()
        async with (
            write_only_emitter(settings.redis_url) as emitter,
            open_services(settings, Notifier(emitter)) as services,
        ):
            backend = f"backend={services.engine.dialect.name}"
            for cycle in range(1, repeat + 1):
                for case, which in CASES:
                    stream, rows, size_mb = files[which]
                    stream.seek(0)
                    started = time.perf_counter()
                    result = await services.imports.import_source("sg", SOURCE, stream, fmt)
                    took = time.perf_counter() - started
                    assert result.count == rows, (result.count, rows)
                    extra = f" added={result.added} removed={result.removed}"
                    _report(case, cycle, backend, fmt, rows, size_mb, took, extra)
                await services.imports.delete_source("sg", SOURCE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--format", choices=("aws-sg", "ndjson"), default="aws-sg")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=1, help="Cycles of first / same / different.")
    parser.add_argument("--url", help="Import through this server's API instead of in-process.")
    parser.add_argument("--key", default="", help="API key for --url.")
    args = parser.parse_args()
    if args.url:
        run_http(args.url.rstrip("/"), args.key, args.format, args.scale, args.repeat)
    else:
        asyncio.run(run(args.format, args.scale, args.repeat))


if __name__ == "__main__":
    main()
