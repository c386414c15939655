"""What one lookup's database statement costs, per category: MariaDB's own CPU time (from /proc, so MariaDB must
run on this machine), this client's CPU time and the wall time, over the statements of many single lookups run
one after another on one connection (the statements the database path sends; prefix lengths as stored).

Usage: NETLOOKUP_DATABASE_URL=mysql+asyncmy://... python bench/db_statements.py [--addresses 1000] [--rounds 2]
The database must hold the demo data (``netlookup demo-data``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from pathlib import Path

from netlookup.categories import CATEGORIES
from netlookup.config import Settings
from netlookup.db import make_engine
from netlookup.demo import sample_addresses
from netlookup.lookup.request import LookupOptions, parse_query
from netlookup.lookup.service import lengths_present
from netlookup.lookup.sql import Arm, batched_lookup


def mariadb_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(args: argparse.Namespace, mariadb: int) -> None:
    engine = make_engine(Settings())
    options = LookupOptions()
    prefixes = [parse_query(address) for address in sample_addresses(args.addresses, seed=3)]
    try:
        async with engine.connect() as conn:
            lengths = await lengths_present(conn, CATEGORIES)
            for round_ in range(1, args.rounds + 1):
                for category in CATEGORIES:
                    statements = [
                        batched_lookup(category, [Arm(0, prefix)], lengths.get(category, {}), options, True)
                        for prefix in prefixes
                    ]
                    wall, client, server = time.perf_counter(), time.process_time(), mariadb_cpu_seconds(mariadb)
                    rows = 0
                    for batched in statements:
                        if batched is not None:
                            rows += len((await conn.execute(*batched)).all())
                    count = len(statements)
                    print(
                        f"round={round_} category={category} statements={count} rows={rows} "
                        f"mariadb_cpu_ms={(mariadb_cpu_seconds(mariadb) - server) / count * 1000:.2f} "
                        f"client_cpu_ms={(time.process_time() - client) / count * 1000:.2f} "
                        f"wall_ms={(time.perf_counter() - wall) / count * 1000:.2f}",
                        flush=True,
                    )
                await conn.rollback()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addresses", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    pids = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True).stdout.split()
    if not pids:
        raise SystemExit("no mariadbd process on this machine: its CPU time cannot be read")
    asyncio.run(measure(args, int(pids[0])))


if __name__ == "__main__":
    main()
