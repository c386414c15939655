"""Import time of 150,000 security-group rules (demo data, scale 1) as ONE source, into the configured database.

Usage: NETLOOKUP_DATABASE_URL=... python bench/import_sg.py [--format aws-sg|ndjson] [--scale 1] [--repeat 2]
The database must be migrated (netlookup db upgrade). The source is named bench-sg-import and replaced each run:
the first run writes into an empty source, later runs replace the rows of the run before. ``aws-sg`` is the file
``netlookup demo-data --format aws-sg`` writes (describe-security-groups JSON); ``ndjson`` the canonical rows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

import orjson

from netlookup.config import Settings
from netlookup.demo import demo_records
from netlookup.demo_files import write_aws_sg
from netlookup.services import open_services


async def run(fmt: str, scale: float, repeat: int) -> None:
    settings = Settings()
    with tempfile.TemporaryFile() as stream:
        if fmt == "aws-sg":
            rows = write_aws_sg(stream, scale, seed=1)
        else:
            rows = 0
            for _, record in demo_records("sg", scale, seed=1):
                stream.write(orjson.dumps(record) + b"\n")
                rows += 1
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
    args = parser.parse_args()
    asyncio.run(run(args.format, args.scale, args.repeat))


if __name__ == "__main__":
    main()
