"""The benchmark driver behind `bench/run`: real processes on loopback, bounded in time, cleaned up on exit.

Measures, in one run: the ceiling ratio (one node's lookup throughput against its trivial JSON endpoint, with wrk
when installed: a C load generator leaves the node the CPU; else locust), page users through nginx at each user
count (pages/s, page latency, errors by kind, recovery after the load stops), a page as one batch against a page
of 50 single lookups, streaming lookups over Socket.IO, and each node's RSS after the heaviest run.

With ``--imports-every S`` every page-user run also re-imports a small sg source (200 rules, changed content each
time, through the nodes in turn) every S seconds, and reports the imports, their answer times and failures.

With ``--database-path`` the nodes serve every lookup from the database (``NETLOOKUP_MEMORY_INDEX=false``) through
the old stack's pool (5 + 10 connections): the overload case. Each user run then also reports the lookups/s
answered 200, the 503s and how fast they came back: locust's "SHED" samples (timed on the connection), and nginx's
own answer times from its access log. ``BENCH_CLIENT_NICE=N`` runs locust at that nice level: on a machine it
shares with the service, the load generator then gets the CPU the service leaves, as clients elsewhere would.
``--flood 12,600`` adds runs of wrk (a C client that leaves the CPU to the service) sending single lookups back
to back through nginx on that many connections: the overload without the load generator's own CPU as a brake
(locust spends ~0.3 ms of CPU per request; wrk next to nothing, so refused connections come back at once).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the process scaffolding shared with the tests

from tests.processes import Nginx, Node, RedisServer, ensure_mariadb_database, wait_until  # noqa: E402

API_KEY = "bench-key-0123456789abcdef"
LOCUSTFILE = ROOT / "bench" / "locustfile.py"
CLIENT_NICE = int(os.environ.get("BENCH_CLIENT_NICE", "0"))


def netlookup(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "netlookup", *args], env=env, check=True, cwd=ROOT)


def prepare_database(url: str, scale: float, env: dict[str, str]) -> None:
    """Create the database if needed, migrate it, and load demo data unless it is already there at this scale."""
    if url.startswith("mysql"):
        ensure_mariadb_database(url)
    netlookup("db", "upgrade", env=env)
    sources = subprocess.run(
        [sys.executable, "-m", "netlookup", "sources", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    import json

    sg_rules = sum(s["count"] for s in json.loads(sources) if s["category"] == "sg")
    if sg_rules != round(150_000 * scale):
        print(f"loading demo data at scale {scale} (found {sg_rules} SG rules)", flush=True)
        netlookup("demo-data", "--scale", str(scale), env=env)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wrk(url: str, seconds: int, connections: int, script: Path | None, env: dict[str, str]) -> float:
    # A 10 s timeout, not wrk's 2 s: a lookup the database gate queued may wait up to its 3 s before its answer.
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", url]
    args += ["-s", str(script)] if script else []
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise SystemExit(f"wrk printed no rate:\n{out}")


def locust(profile: str, host: str, users: int, seconds: int, workdir: Path, tag: str) -> dict[str, Any]:
    """Run one locust profile headless; return the PAGE/SOCKET row (or the aggregate) and the failures."""
    prefix = workdir / tag
    spawn_rate = max(1, min(users, 100))
    subprocess.run(
        [
            *(["nice", "-n", str(CLIENT_NICE)] if CLIENT_NICE else []),
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "-H",
            host,
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            profile,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    rows = list(csv.DictReader((prefix.parent / f"{prefix.name}_stats.csv").open()))
    wanted = next((r for r in rows if r["Type"] in ("PAGE", "SOCKET")), None) or next(
        r for r in rows if r["Name"] == "Aggregated"
    )
    failures_file = prefix.parent / f"{prefix.name}_failures.csv"
    failures = list(csv.DictReader(failures_file.open())) if failures_file.exists() else []
    single = next((r for r in rows if r["Name"] == "/api/v1/lookup"), None)
    return {"row": wanted, "failures": failures, "single": single, "rows": rows}


def lookup_histogram(ports: list[int]) -> dict[float, float]:
    """Cumulative bucket counts of the nodes' server-side /api/v1/lookup latency (summed over nodes)."""
    buckets: dict[float, float] = {}
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith("netlookup_http_request_duration_seconds_bucket{") and 'route="/api/v1/lookup"' in line:
                le = line.split('le="')[1].split('"')[0]
                bound = float("inf") if le == "+Inf" else float(le)
                buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def server_percentiles(before: dict[float, float], after: dict[float, float]) -> dict[str, float]:
    """Upper bucket bounds (ms) holding the 50th and 99th percentile of the lookups served between two scrapes."""
    delta = sorted((bound, after.get(bound, 0) - before.get(bound, 0)) for bound in after)
    total = delta[-1][1] if delta else 0
    found: dict[str, float] = {}
    for name, share in (("server_p50_ms", 0.5), ("server_p99_ms", 0.99)):
        bound = next((b for b, count in delta if total and count >= share * total), float("inf"))
        found[name] = bound * 1000
    return found


def nginx_times(log: Path, offset: int) -> dict[str, float]:
    """From nginx's "timing" access log past ``offset``: how long nginx took to answer each 503 (p50, p99, max,
    ms), and how many 503s and 200s it answered: the service's side of the answer times, which a load generator
    sharing the CPU cannot measure without its own delays."""
    times: dict[str, list[float]] = {"200": [], "503": []}
    with log.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            status, request_time, *_ = line.split()
            times.setdefault(status.decode(), []).append(float(request_time) * 1000)
    shed = sorted(times["503"])

    def pct(share: float) -> float:
        return shed[min(len(shed) - 1, round(share * (len(shed) - 1)))] if shed else 0.0

    return {
        "nginx_other": sum(len(v) for k, v in times.items() if k not in ("200", "503")),
        "nginx_200": len(times["200"]),
        "nginx_503": len(shed),
        "nginx_503_p50_ms": pct(0.5),
        "nginx_503_p99_ms": pct(0.99),
        "nginx_503_max_ms": shed[-1] if shed else 0.0,
        "nginx_503_under_100ms": sum(1 for t in shed if t < 100) / len(shed) if shed else 1.0,
    }


def recovery_seconds(url: str) -> float:
    """Seconds from now until 20 lookups in a row answer 200 (full service again)."""
    started = time.monotonic()
    streak = 0
    with httpx.Client(timeout=5) as client:
        while time.monotonic() - started < 60:
            try:
                ok = client.get(f"{url}/api/v1/lookup", params={"q": "10.1.2.3"}).status_code == 200
            except httpx.HTTPError:
                ok = False
            streak = streak + 1 if ok else 0
            if streak >= 20:
                return time.monotonic() - started
            if not ok:
                time.sleep(0.05)
    return float("inf")


class Reimporter:
    """Re-imports one small sg source with changed content every ``every`` seconds until stopped."""

    def __init__(self, urls: list[str], every: float):
        self.urls, self.every = urls, every
        self.answers_ms: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _body(self, round_number: int) -> bytes:
        rng = random.Random(round_number)
        rows = [
            {
                "group_id": f"sg-reimport{n % 5}",
                "direction": "ingress",
                "protocol": "tcp",
                "from_port": 443,
                "to_port": 443,
                "cidr": f"10.{rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(256)}/32",
                "description": f"round {round_number}",
            }
            for n in range(200)
        ]
        return b"".join(orjson.dumps(row) + b"\n" for row in rows)

    def _run(self) -> None:
        round_number = 0
        with httpx.Client(timeout=60) as client:
            while not self._stop.wait(self.every if round_number else 1.0):
                url = self.urls[round_number % len(self.urls)]
                started = time.perf_counter()
                try:
                    response = client.post(
                        f"{url}/api/v1/import/sg",
                        params={"source": "bench-reimport", "format": "ndjson"},
                        content=self._body(round_number),
                        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/x-ndjson"},
                    )
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code} {response.text[:80]}")
                except httpx.HTTPError as exc:
                    self.failures.append(type(exc).__name__)
                self.answers_ms.append((time.perf_counter() - started) * 1000)
                round_number += 1

    def __enter__(self) -> Reimporter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        answers = sorted(self.answers_ms)
        return {
            "imports": len(answers),
            "import_failures": len(self.failures),
            "import_p50_ms": answers[len(answers) // 2] if answers else 0.0,
            "import_max_ms": answers[-1] if answers else 0.0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--users", default="100,500")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--short", type=int, default=20, help="seconds of the ceiling, batch and socket runs")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default="mysql+asyncmy://root:@127.0.0.1:3306/netlookup_bench")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results"))
    parser.add_argument(
        "--imports-every", type=float, default=0, help="re-import a small sg source every S seconds in user runs"
    )
    parser.add_argument("--only-users", action="store_true", help="skip the ceiling, batch and socket runs")
    parser.add_argument(
        "--flood",
        default="",
        help="with --database-path: connection counts (e.g. 12,600) of a wrk client sending single lookups back "
        "to back through nginx for --duration seconds each (a client that costs next to no CPU)",
    )
    parser.add_argument(
        "--database-path", action="store_true", help="no memory index, pool 5 + 10: lookups read the database"
    )
    args = parser.parse_args()
    user_counts = [int(u) for u in args.users.split(",") if u]
    workdir = Path(tempfile.mkdtemp(prefix="netlookup-bench-"))
    started: list[Node | RedisServer | Nginx] = []
    base_env = {
        **os.environ,
        "NETLOOKUP_DATABASE_URL": args.database_url,
        "NETLOOKUP_API_KEYS": API_KEY,
        "NETLOOKUP_LOG_LEVEL": "WARNING",
        **(
            {"NETLOOKUP_MEMORY_INDEX": "false", "NETLOOKUP_DB_POOL_SIZE": "5", "NETLOOKUP_DB_MAX_OVERFLOW": "10"}
            if args.database_path
            else {}
        ),
    }
    results: dict[str, Any] = {}
    try:
        prepare_database(args.database_url, args.scale, base_env)
        redis = RedisServer(workdir).start()
        started.append(redis)
        nodes: list[Node] = []
        for index in range(args.nodes):
            node = Node(
                f"node{index + 1}", args.database_url, workdir, **{**base_env, "NETLOOKUP_REDIS_URL": redis.url}
            )
            started.append(node)
            nodes.append(node.start())
        for node in nodes:
            wait_until(
                lambda n=node: all(
                    isinstance(v, dict)
                    for v in httpx.get(f"{n.url}/readyz", timeout=2).json()["checks"].get("memory_index", {}).values()
                ),
                300,
                node.name,
                interval=0.2,
            )
        access_log = workdir / "access.log"
        nginx = Nginx(nodes, workdir, f"{access_log} timing" if args.database_path else None)
        started.append(nginx)
        front = nginx.start().url
        first = nodes[0].url

        from netlookup.demo import sample_addresses

        addresses = workdir / "addresses.txt"
        addresses.write_text("\n".join(sample_addresses(5000, scale=args.scale)))
        script = workdir / "lookup.lua"
        script.write_text(
            'local a = {}\nfor l in io.lines(os.getenv("ADDR_FILE")) do a[#a + 1] = l end\n'
            'request = function()\n  return wrk.format("GET", "/api/v1/lookup?q=" .. a[math.random(#a)])'
            "\nend\n"
        )
        if args.only_users:
            pass
        elif shutil.which("wrk"):
            wrk_env = {**os.environ, "ADDR_FILE": str(addresses)}
            trivial = wrk(f"{first}/healthz", args.short, 32, None, wrk_env)
            lookups = wrk(first, args.short, 32, script, wrk_env)
            results["ceiling"] = {"tool": "wrk", "trivial_rps": trivial, "lookup_rps": lookups}
        else:
            trivial = float(locust("TrivialUser", first, 32, args.short, workdir, "trivial")["row"]["Requests/s"])
            lookups = float(locust("LookupUser", first, 32, args.short, workdir, "lookups")["row"]["Requests/s"])
            results["ceiling"] = {"tool": "locust", "trivial_rps": trivial, "lookup_rps": lookups}
        if "ceiling" in results:
            print(f"ceiling: {results['ceiling']}", flush=True)

        if not args.only_users:
            batch = locust("BatchUser", front, 10, args.short, workdir, "batch")
            pages = locust("PageUser", front, 10, args.short, workdir, "pages10")
            results["batch"] = {"page_p50_ms": float(pages["row"]["50%"]), "batch_p50_ms": float(batch["row"]["50%"])}
            print(f"batch: {results['batch']}", flush=True)

        results["users"] = []
        for users in user_counts:
            before = lookup_histogram([n.port for n in nodes])
            reimporter = Reimporter([n.url for n in nodes], args.imports_every) if args.imports_every else None
            logged = access_log.stat().st_size if access_log.exists() else 0
            with reimporter or contextlib.nullcontext():
                run = locust("PageUser", front, users, args.duration, workdir, f"users{users}")
            answered_by_nginx = nginx_times(access_log, logged) if args.database_path else {}
            recovered = recovery_seconds(front)
            server = server_percentiles(before, lookup_histogram([n.port for n in nodes]))
            row = run["row"]
            shed = next((r for r in run["rows"] if r["Type"] == "SHED"), None)
            single = run["single"]
            answered = int(single["Request Count"]) - int(single["Failure Count"]) if single else 0
            kinds: dict[str, int] = {}
            for failure in run["failures"]:
                kinds[failure["Error"][:80]] = kinds.get(failure["Error"][:80], 0) + int(failure["Occurrences"])
            entry = {
                "users": users,
                "pages": int(row["Request Count"]),
                "page_failures": int(row["Failure Count"]),
                "pages_per_s": float(row["Requests/s"]),
                "p50_ms": float(row["50%"]),
                "p95_ms": float(row["95%"]),
                "p99_ms": float(row["99%"]),
                "lookups": int(run["single"]["Request Count"]) if run["single"] else 0,
                "lookup_failures": int(run["single"]["Failure Count"]) if run["single"] else 0,
                "errors": kinds,
                "ok_lookups_per_s": round(answered / args.duration, 1),
                "shed": int(shed["Request Count"]) if shed else 0,
                "shed_p50_ms": float(shed["50%"]) if shed else 0.0,
                "shed_p99_ms": float(shed["99%"]) if shed else 0.0,
                "shed_max_ms": float(shed["Max Response Time"]) if shed else 0.0,
                **answered_by_nginx,
                "recovery_s": recovered,
                "rss_mb": [round(rss_mb(n.proc.pid)) for n in nodes if n.proc],
                **server,
                **(reimporter.summary() if reimporter else {}),
            }
            results["users"].append(entry)
            print(f"users {users}: {entry}", flush=True)

        results["flood"] = []
        for connections in [int(c) for c in args.flood.split(",") if c]:
            if not args.database_path or not shutil.which("wrk"):
                raise SystemExit("--flood needs --database-path (nginx's timing log) and wrk")
            logged = access_log.stat().st_size if access_log.exists() else 0
            rate = wrk(front, args.duration, connections, script, {**os.environ, "ADDR_FILE": str(addresses)})
            time.sleep(1)  # nginx writes its log lines as the answers go out: let the last ones land
            flood = {"connections": connections, "wrk_rps": rate, **nginx_times(access_log, logged)}
            flood["ok_lookups_per_s"] = round(flood["nginx_200"] / args.duration, 1)
            results["flood"].append(flood)
            print(f"flood {connections}: {flood}", flush=True)

        if not args.only_users:
            sockets = locust("SocketUser", front, 20, args.short, workdir, "socket")
            results["socket"] = {
                "lookups": int(sockets["row"]["Request Count"]),
                "failures": int(sockets["row"]["Failure Count"]),
                "per_s": float(sockets["row"]["Requests/s"]),
                "p50_ms": float(sockets["row"]["50%"]),
                "p99_ms": float(sockets["row"]["99%"]),
            }
            print(f"socket: {results['socket']}", flush=True)
        results["rss_mb_end"] = [round(rss_mb(n.proc.pid)) for n in nodes if n.proc]
    finally:
        for process in reversed(started):
            process.stop()
    write_results(results, args, Path(args.results))
    print(f"logs in {workdir}")


def write_results(results: dict[str, Any], args: argparse.Namespace, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M%SZ")
    ceiling = results.get("ceiling", {})
    ratio = ceiling.get("lookup_rps", 0) / ceiling["trivial_rps"] if ceiling.get("trivial_rps") else 0
    batch = results.get("batch", {})
    speedup = batch["page_p50_ms"] / batch["batch_p50_ms"] if batch.get("batch_p50_ms") else 0
    lines = [
        f"# bench/run {stamp}",
        "",
        f"`bench/run --nodes {args.nodes} --users {args.users} --duration {args.duration} --scale {args.scale}"
        f"{' --database-path' if args.database_path else ''}{f' --flood {args.flood}' if args.flood else ''}` on "
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}.",
        "",
        f"- Ceiling ({ceiling.get('tool')}, node 1 direct): trivial {ceiling.get('trivial_rps', 0):.0f} req/s, "
        f"lookup {ceiling.get('lookup_rps', 0):.0f} req/s, ratio **{ratio:.1%}**",
        f"- Page of 50 (10 users): as 50 single requests p50 {batch.get('page_p50_ms', 0):.0f} ms, as one batch "
        f"p50 {batch.get('batch_p50_ms', 0):.0f} ms, speed-up **{speedup:.1f}x**",
    ]
    if "socket" in results:
        s = results["socket"]
        lines.append(
            f"- Socket.IO streaming lookups (20 users): {s['per_s']:.0f}/s, p50 {s['p50_ms']:.0f} ms, "
            f"p99 {s['p99_ms']:.0f} ms, failures {s['failures']} of {s['lookups']}"
        )
    lines += [
        "",
        "| users | pages/s | page p50 ms | p95 ms | p99 ms | pages | failed pages | failed lookups | "
        "errors | recovery s | RSS MB per node | node lookup p50 / p99 ms (bucket bound) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for u in results.get("users", []):
        errors = "; ".join(f"{k} ×{v}" for k, v in u["errors"].items()) or "none"
        lines.append(
            f"| {u['users']} | {u['pages_per_s']:.1f} | {u['p50_ms']:.0f} | {u['p95_ms']:.0f} | "
            f"{u['p99_ms']:.0f} | {u['pages']} | {u['page_failures']} | {u['lookup_failures']} | {errors} | "
            f"{u['recovery_s']:.2f} | {u['rss_mb']} | ≤{u['server_p50_ms']:g} / ≤{u['server_p99_ms']:g} |"
        )
    if args.database_path:
        lines += [
            "",
            "Database path (no memory index, pool 5 + 10):",
            "",
            "| users | lookups/s answered 200 | 503s with Retry-After | 503 p50 / p99 / max ms (client) | "
            "503 p50 / p99 / max ms (nginx) | 503s under 100 ms (nginx) | other failures |",
            "|---|---|---|---|---|---|---|",
        ]
        for u in results.get("users", []):
            other = u["lookup_failures"] - u["shed"]
            lines.append(
                f"| {u['users']} | {u['ok_lookups_per_s']:.1f} | {u['shed']} | {u['shed_p50_ms']:.0f} / "
                f"{u['shed_p99_ms']:.0f} / {u['shed_max_ms']:.0f} | {u.get('nginx_503_p50_ms', 0):.0f} / "
                f"{u.get('nginx_503_p99_ms', 0):.0f} / {u.get('nginx_503_max_ms', 0):.0f} | "
                f"{u.get('nginx_503_under_100ms', 1):.1%} | {other} |"
            )
    if results.get("flood"):
        lines += [
            "",
            "Database path, flooded by wrk through nginx (single lookups back to back on each connection):",
            "",
            "| connections | requests/s (wrk) | lookups/s answered 200 | 503s | 503 p50 / p99 / max ms (nginx) | "
            "503s under 100 ms (nginx) | other statuses |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in results["flood"]:
            lines.append(
                f"| {f['connections']} | {f['wrk_rps']:.0f} | {f['ok_lookups_per_s']:.1f} | {f['nginx_503']} | "
                f"{f['nginx_503_p50_ms']:.0f} / {f['nginx_503_p99_ms']:.0f} / {f['nginx_503_max_ms']:.0f} | "
                f"{f['nginx_503_under_100ms']:.1%} | {f['nginx_other']} |"
            )
    for u in results.get("users", []):
        if "imports" in u:
            lines.append(
                f"\n{u['users']} users, sg source re-imported every {args.imports_every:g} s: {u['imports']} "
                f"imports, {u['import_failures']} failed, answered p50 {u['import_p50_ms']:.0f} ms, "
                f"max {u['import_max_ms']:.0f} ms"
            )
    lines.append(f"\nRSS at the end (MB per node): {results.get('rss_mb_end')}")
    (out / f"{stamp}.md").write_text("\n".join(lines) + "\n")
    with (out / f"{stamp}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "users",
                "pages_per_s",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "pages",
                "page_failures",
                "lookup_failures",
                "recovery_s",
                "rss_mb",
                "ceiling_ratio",
                "batch_speedup",
            ]
        )
        for u in results.get("users", []):
            writer.writerow(
                [
                    u["users"],
                    u["pages_per_s"],
                    u["p50_ms"],
                    u["p95_ms"],
                    u["p99_ms"],
                    u["pages"],
                    u["page_failures"],
                    u["lookup_failures"],
                    round(u["recovery_s"], 2),
                    "/".join(map(str, u["rss_mb"])),
                    round(ratio, 4),
                    round(speedup, 2),
                ]
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
