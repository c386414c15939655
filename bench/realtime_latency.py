"""Cross-node delivery time of ``data:changed``: imports through node A, subscribers on node A and node B.

A subscriber on node A gets the event from A's own emit right after the commit (no Redis hop); the one on node B
gets it through Redis. B's arrival minus A's arrival is the cross-node delay; B's arrival minus the moment the
import's HTTP response arrived is also shown (negative when the event beats the response).

Usage: python bench/realtime_latency.py --a http://127.0.0.1:8001 --b http://127.0.0.1:8002 --key KEY [--count 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import httpx
import socketio
from stats import percentile


async def subscriber(url: str, arrivals: dict[str, float]) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)

    @client.on("data:changed")
    async def changed(data: dict[str, Any]) -> None:
        arrivals.setdefault(data["checksum"], time.perf_counter())

    await client.connect(url, transports=["websocket"])
    await client.call("subscribe", {"categories": ["acl"]})
    return client


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    on_a: dict[str, float] = {}
    on_b: dict[str, float] = {}
    clients = [await subscriber(args.a, on_a), await subscriber(args.b, on_b)]
    cross: list[float] = []
    after_response: list[float] = []
    async with httpx.AsyncClient(base_url=args.a, timeout=30) as http:
        for index in range(args.count):
            body = f'{{"cidr": "10.200.{index // 256 % 256}.{index % 256}/32", "line": {index}}}\n'.encode()
            response = await http.post(
                "/api/v1/import/acl",
                params={"source": "bench-realtime.cfg"},
                content=body,
                headers={"Authorization": f"Bearer {args.key}"},
            )
            responded = time.perf_counter()
            response.raise_for_status()
            checksum = response.json()["checksum"]
            deadline = time.perf_counter() + 5
            # Polling at 0.5 ms keeps the measurement simple; the client does nothing else meanwhile.
            while (checksum not in on_a or checksum not in on_b) and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.0005)
            if checksum in on_a and checksum in on_b:
                cross.append((on_b[checksum] - on_a[checksum]) * 1000)
                after_response.append((on_b[checksum] - responded) * 1000)
        await http.delete("/api/v1/sources/acl/bench-realtime.cfg", headers={"Authorization": f"Bearer {args.key}"})
    for client in clients:
        await client.disconnect()
    print(
        f"imports={args.count} delivered_on_b={len(cross)} "
        f"b_minus_a_p50_ms={percentile(cross, 50):.2f} b_minus_a_p99_ms={percentile(cross, 99):.2f} "
        f"b_minus_a_max_ms={max(cross):.2f} b_minus_response_p50_ms={percentile(after_response, 50):.2f} "
        f"b_minus_response_p99_ms={percentile(after_response, 99):.2f} mean_ms={statistics.fmean(cross):.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
