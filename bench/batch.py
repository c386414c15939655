"""50 lookups as one batch request versus 50 single requests (sent concurrently, like a page of the old SPA).

Usage: python bench/batch.py --url http://127.0.0.1:8000 [--pages 40] [--size 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from netlookup.demo import sample_addresses


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--size", type=int, default=50)
    args = parser.parse_args()
    addresses = sample_addresses(args.pages * args.size, seed=11)
    singles: list[float] = []
    batches: list[float] = []
    limits = httpx.Limits(max_connections=args.size)
    async with httpx.AsyncClient(base_url=args.url, timeout=60, limits=limits) as client:
        for page in range(args.pages):
            chunk = addresses[page * args.size : (page + 1) * args.size]
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get("/api/v1/lookup", params={"q": q}) for q in chunk))
            singles.append(time.perf_counter() - started)
            assert all(r.status_code == 200 for r in responses)
            started = time.perf_counter()
            response = await client.post("/api/v1/lookup/batch", json={"queries": chunk})
            batches.append(time.perf_counter() - started)
            assert response.status_code == 200
    single, batch = statistics.median(singles) * 1000, statistics.median(batches) * 1000
    print(
        f"pages={args.pages} size={args.size} page_as_singles_p50_ms={single:.0f} "
        f"page_as_batch_p50_ms={batch:.0f} speedup={single / batch:.1f}x"
    )


if __name__ == "__main__":
    asyncio.run(main())
