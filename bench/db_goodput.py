"""Goodput on the database read path under overload: page users each send a page of 50 lookups at once, wait for
all of them, and start the next page, for a fixed time; against a node that serves from the database
(``NETLOOKUP_MEMORY_INDEX=false``). Prints lookups/s answered 200, 503s and how fast they came back.

Usage: python bench/db_goodput.py --url http://127.0.0.1:8000 --users 2,10,100 [--duration 30] [--page 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from stats import percentile

from netlookup.demo import sample_addresses


async def run(url: str, users: int, duration: float, page: int) -> dict[str, float]:
    addresses = sample_addresses(5000, seed=users)
    ok = shed = other = 0
    shed_ms: list[float] = []
    ok_ms: list[float] = []
    limits = httpx.Limits(max_connections=users * page, max_keepalive_connections=users * page)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        deadline = time.monotonic() + duration

        async def lookup(address: str) -> None:
            nonlocal ok, shed, other
            started = time.monotonic()
            response = await client.get("/api/v1/lookup", params={"q": address})
            elapsed = (time.monotonic() - started) * 1000
            if response.status_code == 200:
                ok += 1
                ok_ms.append(elapsed)
            elif response.status_code == 503 and response.headers.get("retry-after"):
                shed += 1
                shed_ms.append(elapsed)
            else:
                other += 1

        async def user(index: int) -> None:
            turn = 0
            while time.monotonic() < deadline:
                start = (index * 997 + turn * page) % (len(addresses) - page)
                await asyncio.gather(*(lookup(a) for a in addresses[start : start + page]))
                turn += 1

        started = time.monotonic()
        await asyncio.gather(*(user(i) for i in range(users)))
        elapsed = time.monotonic() - started
    return {
        "users": users,
        "seconds": round(elapsed, 1),
        "ok_per_s": round(ok / elapsed, 1),
        "ok": ok,
        "shed_503": shed,
        "other": other,
        "ok_p50_ms": round(percentile(ok_ms, 50), 1),
        "ok_p99_ms": round(percentile(ok_ms, 99), 1),
        "shed_p50_ms": round(percentile(shed_ms, 50), 1),
        "shed_p99_ms": round(percentile(shed_ms, 99), 1),
        "shed_mean_ms": round(statistics.fmean(shed_ms), 1) if shed_ms else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--users", default="2,10,100")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--page", type=int, default=50)
    args = parser.parse_args()
    for users in (int(u) for u in args.users.split(",") if u):
        result = asyncio.run(run(args.url, users, args.duration, args.page))
        print(" ".join(f"{key}={value}" for key, value in result.items()), flush=True)


if __name__ == "__main__":
    main()
