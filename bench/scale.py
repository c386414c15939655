"""The in-memory index at a given multiple of the demo data, on MariaDB: import time, time until every index
serves, node RSS, single and batch lookup latency, and lookup latency on the node around small imports.

For each scale: a fresh database, ``netlookup db upgrade`` and ``netlookup demo-data --scale S`` (timed), one
``netlookup serve`` node started (time until /readyz shows every category built), its RSS, 2,000 requests to
``/healthz`` (the client's and the stack's own round trip on this machine: the floor under any lookup), 2,000
single lookups and 200 batches of 50 one after another, then for each of (sg, 1 row), (sg, 1,000 rows), (acl, 1 row),
(acl, 1,000 rows): lookups back to back from before the import until 10 s after it was answered, with their
p50/p99/max, the import's answer time and how many lookups of that category went to the database meanwhile
(the node's ``netlookup_lookup_duration_seconds{path="database"}`` count). The node saves its index snapshots
(``NETLOOKUP_INDEX_SNAPSHOT_DIR``, a fresh directory per scale: the first start is a build from the database, and
the snapshots are saved during the single lookups); after the windows it is stopped and started again, and the
time until it serves every category from memory once more (the snapshots plus the sources the windows imported)
and its RSS are printed too.

Usage: python bench/scale.py --scales 1,5,10 [--mariadb mysql+asyncmy://root:@127.0.0.1:3306] [--port 8191]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from stats import percentile

from netlookup.demo import sample_addresses

KEY = "bench-write-key-0000000001"
ROOT = Path(__file__).resolve().parent.parent


def fresh_database(server: str, name: str) -> str:
    async def create() -> None:
        engine = create_async_engine(server)
        try:
            async with engine.begin() as conn:
                exists = text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name")
                if (await conn.execute(exists, {"name": name})).first():  # IF EXISTS on a missing one prints a note
                    await conn.execute(text(f"DROP DATABASE {name}"))
                await conn.execute(text(f"CREATE DATABASE {name}"))
        finally:
            await engine.dispose()

    asyncio.run(create())
    return f"{server.rstrip('/')}/{name}"


def cli(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "netlookup", *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def database_lookups(client: httpx.Client, category: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        wanted = line.startswith("netlookup_lookup_duration_seconds_count") and 'path="database"' in line
        if wanted and f'category="{category}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_ready(client: httpx.Client, timeout: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            body = client.get("/readyz").json()
            index = body["checks"].get("memory_index", {})
            if index and all(isinstance(state, dict) and "version" in state for state in index.values()):
                return time.perf_counter() - started
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise TimeoutError("the node did not build its indexes in time")


def rows_for(category: str, count: int, rng: random.Random) -> bytes:
    rows: list[dict[str, Any]] = []
    for n in range(count):
        cidr = f"10.{rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(256)}/32"
        if category == "sg":
            rows.append({"group_id": f"sg-bench{n % 7}", "direction": "ingress", "protocol": "tcp", "cidr": cidr})
        else:
            rows.append({"line": n + 1, "name": "BENCH", "action": "permit", "protocol": "ip", "cidr": cidr})
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def around_import(client: httpx.Client, url: str, category: str, count: int, addresses: list[str]) -> dict[str, Any]:
    """Lookups back to back from 1 s before the import until 10 s after its answer."""
    latencies: list[float] = []
    stop = threading.Event()

    def lookups() -> None:
        with httpx.Client(base_url=url, timeout=30) as own:
            n = 0
            while not stop.is_set():
                started = time.perf_counter()
                response = own.get("/api/v1/lookup", params={"q": addresses[n % len(addresses)]})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                n += 1

    before = database_lookups(client, category)
    worker = threading.Thread(target=lookups)
    worker.start()
    time.sleep(1)
    body = rows_for(category, count, random.Random(count))
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/import/{category}",
        params={"source": f"bench-{category}-{count}-{time.time_ns()}", "format": "ndjson"},
        content=body,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-ndjson"},
    )
    answered = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    time.sleep(10)
    stop.set()
    worker.join()
    return {
        "import_ms": answered,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "lookups": len(latencies),
        "from_database": database_lookups(client, category) - before,
    }


def start_node(env: dict[str, str], port: int) -> tuple[subprocess.Popen[bytes], float]:
    """A node, and the time from its spawn until every category serves from memory."""
    started = time.perf_counter()
    node = subprocess.Popen(
        [sys.executable, "-m", "netlookup", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_ready(client, 600)  # retries until the node answers at all
    except BaseException:
        stop_node(node)
        raise
    return node, time.perf_counter() - started


def stop_node(node: subprocess.Popen[bytes]) -> None:
    node.terminate()
    node.wait(30)


def measure(scale: float, server: str, port: int, snapshots: Path) -> dict[str, Any]:
    name = f"netlookup_scale_{str(scale).replace('.', '_')}"
    url = fresh_database(server, name)
    env = {**os.environ, "NETLOOKUP_DATABASE_URL": url, "NETLOOKUP_API_KEYS": KEY, "NETLOOKUP_LOG_LEVEL": "WARNING"}
    env["NETLOOKUP_INDEX_SNAPSHOT_DIR"] = str(snapshots)
    env.pop("NETLOOKUP_REDIS_URL", None)
    cli(env, "db", "upgrade")
    imported = cli(env, "demo-data", "--scale", str(scale))
    base = f"http://127.0.0.1:{port}"
    node, ready = start_node(env, port)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            time.sleep(2)  # the memory trim after the last build
            rss = rss_mb(node.pid)
            addresses = sample_addresses(2000, scale=scale)
            trivial = []  # the same client's round trip to a trivial endpoint: this harness's floor here
            for _ in addresses:
                t = time.perf_counter()
                client.get("/healthz").raise_for_status()
                trivial.append((time.perf_counter() - t) * 1000)
            singles = []
            for address in addresses:
                t = time.perf_counter()
                client.get("/api/v1/lookup", params={"q": address}).raise_for_status()
                singles.append((time.perf_counter() - t) * 1000)
            batches = []
            for n in range(200):
                queries = addresses[(n * 50) % 1950 : (n * 50) % 1950 + 50]
                t = time.perf_counter()
                client.post("/api/v1/lookup/batch", json={"queries": queries}).raise_for_status()
                batches.append((time.perf_counter() - t) * 1000)
            windows = {
                f"{category} {count}": around_import(client, base, category, count, addresses)
                for category, count in (("sg", 1), ("sg", 1000), ("acl", 1), ("acl", 1000))
            }
            index = client.get("/readyz").json()["checks"]["memory_index"]
            records = sum(state["records"] for state in index.values())
            rss_after = rss_mb(node.pid)
            # Settled: the merges the windows' imports called for have run (each category one segment again).
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                index = client.get("/readyz").json()["checks"]["memory_index"]
                if all(state["segments"] == 1 and not state["merging"] for state in index.values()):
                    break
                time.sleep(0.2)
            time.sleep(2)
            rss_settled = rss_mb(node.pid)
        stop_node(node)
        node, restart = start_node(env, port)
        time.sleep(2)
        return {
            "scale": scale,
            "records": records,
            "import_s": imported,
            "ready_s": ready,
            "rss_mb": rss,
            "rss_after_mb": rss_after,
            "rss_settled_mb": rss_settled,
            "trivial_p50": statistics.median(trivial),
            "single_p50": statistics.median(singles),
            "single_p99": percentile(singles, 99),
            "batch_p50": statistics.median(batches),
            "windows": windows,
            "restart_s": restart,
            "restart_rss_mb": rss_mb(node.pid),
        }
    finally:
        stop_node(node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,5,10")
    parser.add_argument(
        "--mariadb", default=os.environ.get("NETLOOKUP_TEST_MARIADB_URL", "mysql+asyncmy://root:@127.0.0.1:3306")
    )
    parser.add_argument("--port", type=int, default=8191)
    args = parser.parse_args()
    print(
        "| scale | records | demo import | all indexes ready | RSS (after the windows / merged) | /healthz p50 "
        "| single p50 / p99 | batch-50 p50 | restart: ready from snapshots | RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for scale in (float(s) for s in args.scales.split(",")):
        with tempfile.TemporaryDirectory(prefix="netlookup-snapshots-") as snapshots:
            result = measure(scale, args.mariadb, args.port, Path(snapshots))
        results.append(result)
        print(
            f"| {scale:g} | {result['records']:,} | {result['import_s']:.0f} s | {result['ready_s']:.1f} s | "
            f"{result['rss_mb']:.0f} MB ({result['rss_after_mb']:.0f} / {result['rss_settled_mb']:.0f} MB) | "
            f"{result['trivial_p50']:.2f} ms | "
            f"{result['single_p50']:.2f} / {result['single_p99']:.2f} ms | {result['batch_p50']:.1f} ms | "
            f"{result['restart_s']:.1f} s | {result['restart_rss_mb']:.0f} MB |",
            flush=True,
        )
    print()
    print("| scale | import | answered in | lookups | p50 / p99 / max during the 10 s after | from the database |")
    print("|---|---|---|---|---|---|")
    for result in results:
        for label, w in result["windows"].items():
            print(
                f"| {result['scale']:g} | {label} rows | {w['import_ms']:.0f} ms | {w['lookups']:,} | "
                f"{w['p50']:.2f} / {w['p99']:.2f} / {w['max']:.1f} ms | {w['from_database']:.0f} |"
            )


if __name__ == "__main__":
    main()
