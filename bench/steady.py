"""Nodes in the state users live in, against the same nodes after a restart.

For each scale: a fresh MariaDB database, migrated; a private Redis, two ``netlookup serve`` nodes and nginx in
front of them, started on the empty database. Every source of the demo dataset (``netlookup demo-data``'s
records, one ndjson body per source) is imported through nginx one by one, as sync jobs feed the service; then
a fifth of each category's sources are imported again with changed content (a tenth of their records changed,
one in twenty dropped, as many new). ``--settle`` seconds later, that state ("steady") is measured:

- each node's index as ``/readyz`` shows it (segments per category, when each last merged) and its RSS;
- on node 1: single lookups one after another (p50, p99), batches of 50 (p50), wrk on ``/healthz`` and on
  lookups (req/s, and their ratio: the ceiling);
- 100 page users (50 lookups a page, ``bench/locustfile.py`` PageUser) through nginx on both nodes;
- lookup p99 while node 1 merges: a changed sg source is imported into node 1, and single lookups run back to
  back on one connection (wrk) from its answer until ``/readyz`` shows the merge that followed, against 3 s of
  the same just before the import (node 2 paused meanwhile: here it shares node 1's cores).

Then both nodes are restarted (no snapshots: each builds its index from the database) and the same is measured
("restart"). Both are printed side by side with their ratio. Lookups use addresses drawn from every category: a
quarter hosts inside ACL networks, a quarter inside security-group networks, half LB/F5 points.

Usage: python bench/steady.py --scales 1,5 [--mariadb mysql+asyncmy://root:@127.0.0.1:3306] [--users 100]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the process scaffolding shared with the tests

from run import locust, rss_mb, wrk  # noqa: E402  (bench/run.py: its load tools)
from scale import fresh_database  # noqa: E402
from stats import percentile  # noqa: E402
from tests.processes import API_KEY, Nginx, Node, RedisServer, wait_until  # noqa: E402

from netlookup.categories import CATEGORIES  # noqa: E402
from netlookup.demo import DemoAddresses, demo_records, sample_addresses  # noqa: E402

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-ndjson"}


def demo_sources(scale: float) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """category → source → records of the demo dataset at ``scale`` (seed 1, as ``netlookup demo-data``)."""
    data: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for category in CATEGORIES:
        sources: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for source, record in demo_records(category, scale, 1):
            sources[source].append(record)
        data[category] = dict(sources)
    return data


def changed(records: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The same source's next export: a tenth of the records changed, one in twenty gone, as many new."""
    out = []
    for n, record in enumerate(records):
        if n % 20 == 7:
            continue
        record = dict(record)
        if rng.random() < 0.1:
            record["description"] = f"changed {rng.randrange(10**6)}"
        out.append(record)
    addresses = DemoAddresses(rng)
    for record in rng.sample(records, max(1, len(records) // 20)):
        record = dict(record)
        if "cidr" in record:
            record["cidr"] = addresses.network()
        else:
            record["name"] = f"{record['name']}-new{rng.randrange(10**6)}"
        out.append(record)
    return out


def body_of(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)


def import_source(client: httpx.Client, url: str, category: str, source: str, records: list[dict[str, Any]]) -> None:
    response = client.post(
        f"{url}/api/v1/import/{category}",
        params={"source": source, "format": "ndjson"},
        content=body_of(records),
        headers=HEADERS,
    )
    if response.status_code != 200:
        raise SystemExit(f"import of {category} {source} answered {response.status_code}: {response.text[:300]}")


def lookup_addresses(data: dict[str, dict[str, list[dict[str, Any]]]], scale: float, count: int) -> list[str]:
    """Hosts inside ACL and SG networks of the data (a quarter each) and LB/F5 points (half)."""
    rng = random.Random(17)
    networks = {
        category: [record["cidr"] for records in data[category].values() for record in records]
        for category in ("acl", "sg")
    }
    points = sample_addresses(count, scale=scale)
    out = []
    for n in range(count):
        if n % 4 < 2:
            net = ipaddress.ip_network(rng.choice(networks["acl" if n % 4 == 0 else "sg"]))
            offset = rng.randrange(net.num_addresses) if net.num_addresses > 1 else 0
            out.append(str(net.network_address + offset))
        else:
            out.append(points[n])
    return out


def index_state(url: str) -> dict[str, Any]:
    state: dict[str, Any] = httpx.get(f"{url}/readyz", timeout=10).json()["checks"]["memory_index"]
    return state


def wait_ready(nodes: list[Node]) -> None:
    for node in nodes:
        wait_until(
            lambda n=node: all(isinstance(v, dict) for v in index_state(n.url).values()), 600, node.name, interval=0.2
        )


ADDRESSES: list[str] = []


def during_merge(
    nodes: list[Node], data: dict[str, dict[str, list[dict[str, Any]]]], workdir: Path, seed: int
) -> dict[str, Any]:
    """Lookup p99 while node 1 merges its sg segments after a changed import, and just before. The other node
    is stopped meanwhile (SIGSTOP): on this machine it shares node 1's two cores, where in a deployment it
    would merge on its own machine."""
    url = nodes[0].url
    source = sorted(data["sg"])[0]
    others = [node.proc for node in nodes[1:] if node.proc is not None]
    for proc in others:
        proc.send_signal(signal.SIGSTOP)
    try:
        return _merge_window(url, workdir, source, changed(data["sg"][source], random.Random(seed)))
    finally:
        for proc in others:
            proc.send_signal(signal.SIGCONT)


LATENCY_LUA = """
local a = {}
for l in io.lines(os.getenv("ADDR_FILE")) do a[#a + 1] = l end
request = function()
  return wrk.format("GET", "/api/v1/lookup?q=" .. a[math.random(#a)])
end
done = function(summary, latency, requests)
  io.write(string.format("LATENCY %d %.3f %.3f\\n", summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
"""


def wrk_latency(
    url: str, workdir: Path, until: Callable[[dict[str, Any]], bool], seconds: float = 120
) -> dict[str, Any]:
    """Single lookups back to back on one connection (wrk: a client that costs next to nothing, so the two cores
    go to the node) until ``until(/readyz's sg index)`` or ``seconds``; their count, p50 and p99 (ms). /readyz is
    asked every 20 ms in every window, quiet ones included: its requests (a database and a Redis round trip each)
    cost the node as much as a merge's steps, so a window without them is not the same measurement."""
    script = workdir / "latency.lua"
    script.write_text(LATENCY_LUA)
    env = {**os.environ, "ADDR_FILE": str(workdir / "addresses.txt")}
    args = ["wrk", "-t1", "-c1", "-d600s", "--timeout", "10s", "-s", str(script), url]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until(index_state(url)["sg"]):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # wrk stops and reports what it measured
    out, _ = proc.communicate(timeout=30)
    for line in out.splitlines():
        if line.startswith("LATENCY "):
            count, p50, p99 = line.split()[1:]
            return {"count": int(count), "p50": float(p50), "p99": float(p99), "s": time.perf_counter() - started}
    raise SystemExit(f"wrk printed no latency:\n{out}")


def merge_window(url: str, workdir: Path, source: str, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """wrk's latency quiet (3 s), then, after ``source`` of sg is imported with ``records``, with two segments
    until the merge starts (its delay), and during the merge's steps until it ends."""
    quiet = wrk_latency(url, workdir, until=lambda sg: False, seconds=3)
    merged_at = index_state(url)["sg"]["merged_at"]
    with httpx.Client(timeout=600) as client:
        import_source(client, url, "sg", source, records)
    waiting = wrk_latency(url, workdir, until=lambda sg: sg["merging"] or sg["merged_at"] != merged_at)
    merging = wrk_latency(url, workdir, until=lambda sg: sg["merged_at"] != merged_at)
    return {"quiet": quiet, "two segments": waiting, "merging": merging}


def _merge_window(url: str, workdir: Path, source: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    found = merge_window(url, workdir, source, records)
    quiet, merging = found["quiet"], found["merging"]
    return {
        "quiet_p50": quiet["p50"],
        "quiet_p99": quiet["p99"],
        "waiting_p99": found["two segments"]["p99"],
        "merge_p50": merging["p50"],
        "merge_p99": merging["p99"],
        "merge_lookups": merging["count"],
        "merge_window_s": merging["s"],
    }


def measure(nodes: list[Node], front: str, workdir: Path, args: argparse.Namespace, tag: str) -> dict[str, Any]:
    first = nodes[0].url
    result: dict[str, Any] = {
        "index": index_state(first),
        "rss_mb": [round(rss_mb(n.proc.pid)) for n in nodes if n.proc],
    }
    with httpx.Client(base_url=first, timeout=30) as client:
        for address in ADDRESSES[:200]:  # warm up
            client.get("/api/v1/lookup", params={"q": address})
        singles = []
        for address in ADDRESSES[:2000]:
            started = time.perf_counter()
            client.get("/api/v1/lookup", params={"q": address}).raise_for_status()
            singles.append((time.perf_counter() - started) * 1000)
        batches = []
        for n in range(200):
            queries = [ADDRESSES[(n * 50 + k) % len(ADDRESSES)] for k in range(50)]
            started = time.perf_counter()
            client.post("/api/v1/lookup/batch", json={"queries": queries}).raise_for_status()
            batches.append((time.perf_counter() - started) * 1000)
    result.update(
        single_p50=percentile(singles, 50), single_p99=percentile(singles, 99), batch_p50=statistics.median(batches)
    )
    wrk_env = {**os.environ, "ADDR_FILE": str(workdir / "addresses.txt")}
    result["healthz_rps"] = wrk(f"{first}/healthz", args.wrk_seconds, args.connections, None, wrk_env)
    result["lookup_rps"] = wrk(first, args.wrk_seconds, args.connections, workdir / "lookup.lua", wrk_env)
    pages = locust("PageUser", front, args.users, args.page_seconds, workdir, f"pages-{tag}")
    failures = sum(int(f["Occurrences"]) for f in pages["failures"])
    result.update(
        pages_per_s=float(pages["row"]["Requests/s"]),
        page_p50=float(pages["row"]["50%"]),
        pages=int(pages["row"]["Request Count"]),
        page_errors=failures,
    )
    if args.merge_window:
        result["merge"] = during_merge(nodes, DATA, workdir, seed=len(tag))
    result["index_after"] = index_state(first)
    return result


DATA: dict[str, dict[str, list[dict[str, Any]]]] = {}


def run_scale(scale: float, args: argparse.Namespace) -> dict[str, Any]:
    global DATA, ADDRESSES
    workdir = Path(tempfile.mkdtemp(prefix="netlookup-steady-"))
    DATA = demo_sources(scale)
    ADDRESSES = lookup_addresses(DATA, scale, 5000)
    (workdir / "addresses.txt").write_text("\n".join(ADDRESSES))
    os.environ["BENCH_ADDRESS_FILE"] = str(workdir / "addresses.txt")  # the page users' addresses too
    (workdir / "lookup.lua").write_text(
        'local a = {}\nfor l in io.lines(os.getenv("ADDR_FILE")) do a[#a + 1] = l end\n'
        'request = function()\n  return wrk.format("GET", "/api/v1/lookup?q=" .. a[math.random(#a)])\nend\n'
    )
    url = fresh_database(args.mariadb, f"netlookup_steady_{str(scale).replace('.', '_')}")
    env_all = {**os.environ, "NETLOOKUP_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "netlookup", "db", "upgrade"], env=env_all, check=True, cwd=ROOT)
    started: list[Any] = []
    try:
        redis = RedisServer(workdir).start()
        started.append(redis)
        nodes = [
            Node(f"node{n + 1}", url, workdir, NETLOOKUP_REDIS_URL=redis.url, NETLOOKUP_LOG_LEVEL="INFO")
            for n in range(2)
        ]
        for node in nodes:
            started.append(node.start())
        wait_ready(nodes)
        nginx = Nginx(nodes, workdir)
        started.append(nginx)
        front = nginx.start().url
        t = time.perf_counter()
        count = 0
        with httpx.Client(timeout=600) as client:
            for category in CATEGORIES:
                for source, records in DATA[category].items():
                    import_source(client, front, category, source, records)
                    count += 1
            imported_s = time.perf_counter() - t
            rng = random.Random(5)
            again = 0
            for category in CATEGORIES:
                names = sorted(DATA[category])
                for source in rng.sample(names, max(1, len(names) // 5)):
                    DATA[category][source] = changed(DATA[category][source], rng)
                    import_source(client, front, category, source, DATA[category][source])
                    again += 1
        print(f"scale {scale:g}: {count} sources imported in {imported_s:.0f} s, {again} imported again", flush=True)
        time.sleep(args.settle)
        steady = measure(nodes, front, workdir, args, "steady")
        print(f"steady: {steady}", flush=True)
        for node in nodes:
            node.stop()
        for node in nodes:
            node.start()
        wait_ready(nodes)
        time.sleep(args.settle)
        restart = measure(nodes, front, workdir, args, "restart")
        print(f"restart: {restart}", flush=True)
        return {"scale": scale, "sources": count, "again": again, "steady": steady, "restart": restart}
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def segments(index: dict[str, Any]) -> str:
    return ", ".join(str(index[c]["segments"]) for c in CATEGORIES)  # the state measured, before its merge window


def merge_cell(result: dict[str, Any]) -> str:
    merge = result.get("merge")
    if merge is None:
        return "not measured"
    return (
        f"{merge['quiet_p99']:.2f} / {merge['waiting_p99']:.2f} / {merge['merge_p99']:.2f} "
        f"({merge['merge_lookups']} lookups in {merge['merge_window_s']:.1f} s)"
    )


def table(results: list[dict[str, Any]]) -> str:
    rows: list[tuple[str, Callable[[dict[str, Any]], str], str | None]] = [
        ("`/readyz` segments (acl, sg, lb, f5)", lambda r: segments(r["index"]), None),
        ("single lookup p50 (ms)", lambda r: f"{r['single_p50']:.2f}", "single_p50"),
        ("single lookup p99 (ms)", lambda r: f"{r['single_p99']:.2f}", "single_p99"),
        ("batch of 50 p50 (ms)", lambda r: f"{r['batch_p50']:.1f}", "batch_p50"),
        ("wrk lookups req/s (node 1)", lambda r: f"{r['lookup_rps']:,.0f}", "lookup_rps"),
        ("wrk /healthz req/s (node 1)", lambda r: f"{r['healthz_rps']:,.0f}", "healthz_rps"),
        ("ceiling ratio (lookups / healthz)", lambda r: f"{r['lookup_rps'] / r['healthz_rps']:.2f}", None),
        ("page users through nginx: pages/s", lambda r: f"{r['pages_per_s']:.1f}", "pages_per_s"),
        ("page users: page p50 (ms), errors", lambda r: f"{r['page_p50']:.0f}, {r['page_errors']}", None),
        ("lookup p99 quiet / two segments / during the merge (ms)", merge_cell, None),
        ("RSS per node (MB)", lambda r: "/".join(map(str, r["rss_mb"])), None),
    ]
    lines = []
    for result in results:
        lines += [
            f"Scale {result['scale']:g}: {result['sources']} sources imported one by one through nginx, "
            f"{result['again']} imported again with changed content.",
            "",
            "| measure | steady state | after a restart | steady / restart |",
            "|---|---|---|---|",
        ]
        for label, show, key in rows:
            ratio = ""
            if key:
                ratio = f"{result['steady'][key] / result['restart'][key]:.2f}" if result["restart"][key] else "-"
            lines.append(f"| {label} | {show(result['steady'])} | {show(result['restart'])} | {ratio} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,5")
    parser.add_argument(
        "--mariadb", default=os.environ.get("NETLOOKUP_TEST_MARIADB_URL", "mysql+asyncmy://root:@127.0.0.1:3306")
    )
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--page-seconds", type=int, default=30)
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--no-merge-window",
        dest="merge_window",
        action="store_false",
        help="skip the lookups during a merge (for code that does not merge: it waits for /readyz merged_at)",
    )
    parser.add_argument("--settle", type=float, default=20, help="seconds between the last import and measuring")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    results = [run_scale(float(scale), args) for scale in args.scales.split(",")]
    print()
    print(table(results))


if __name__ == "__main__":
    main()
