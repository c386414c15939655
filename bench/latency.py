"""Lookup latency over HTTP: sequential single lookups of random demo-data addresses against a running server.

Usage: python bench/latency.py --url http://127.0.0.1:8000 --count 3000 [--warmup 200] [--limit 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from stats import percentile

from netlookup.demo import sample_addresses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    addresses = sample_addresses(args.count + args.warmup, seed=args.seed)
    timings: list[float] = []
    returned = 0
    with httpx.Client(base_url=args.url, timeout=30) as client:
        for index, address in enumerate(addresses):
            started = time.perf_counter()
            response = client.get("/api/v1/lookup", params={"q": address, "limit": args.limit})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if index >= args.warmup:
                timings.append(elapsed)
                returned += sum(len(r["matches"]) for r in response.json()["results"].values())
    print(
        f"lookups={len(timings)} p50_ms={percentile(timings, 50):.2f} p90_ms={percentile(timings, 90):.2f} "
        f"p99_ms={percentile(timings, 99):.2f} max_ms={max(timings):.2f} mean_ms={statistics.fmean(timings):.2f} "
        f"mean_matches_returned={returned / len(timings):.0f}"
    )


if __name__ == "__main__":
    main()
