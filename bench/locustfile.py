"""Load profiles for netlookup (locust). Run through `bench/run`, or by hand:

    locust -f bench/locustfile.py --headless -H http://127.0.0.1:8080 -u 100 -r 50 -t 60s PageUser

- PageUser: opens a page like the old SPA did: 50 lookups of random demo-data addresses, all requested at once
  over 6 connections (what a browser allows per host: each takes the next lookup when its last one is answered,
  so a single request's time is its time on the connection), back to back with no think time. Each page is reported
  as one "PAGE" sample; the single requests are reported too, and every 503 that carries ``Retry-After`` is also
  reported as a "SHED" sample (how fast the refusal came back).
- BatchUser: the same 50 lookups as one POST /api/v1/lookup/batch.
- LookupUser: single lookups back to back (the lookup side of the ceiling ratio).
- TrivialUser: GET /healthz back to back (the ceiling: a trivial JSON endpoint on the same stack).
- SocketUser: a python-socketio client holding a subscription and doing streaming lookups.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Pool
from locust import FastHttpUser, User, events, task
from locust.exception import StopUser

from netlookup.demo import sample_addresses

PAGE_SIZE = 50
BROWSER_CONNECTIONS = 6
# BENCH_ADDRESS_FILE: the addresses to look up, one per line (bench/steady.py draws them from every category);
# otherwise demo-data points (LB/F5 addresses and ACL/SG host routes).
ADDRESSES = (
    Path(os.environ["BENCH_ADDRESS_FILE"]).read_text().split()
    if os.environ.get("BENCH_ADDRESS_FILE")
    else sample_addresses(int(os.environ.get("BENCH_ADDRESSES", "5000")), seed=int(os.environ.get("BENCH_SEED", "7")))
)


def fire(environment: Any, request_type: str, name: str, started: float, length: int, error: Exception | None) -> None:
    environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=length,
        exception=error,
        context={},
    )


class PageUser(FastHttpUser):
    concurrency = BROWSER_CONNECTIONS

    @task
    def open_page(self) -> None:
        addresses = random.sample(ADDRESSES, PAGE_SIZE)
        failures: list[str] = []
        size = 0
        started = time.perf_counter()

        def lookup(address: str) -> None:
            nonlocal size
            started_one = time.perf_counter()
            with self.client.get(
                "/api/v1/lookup", params={"q": address}, name="/api/v1/lookup", catch_response=True
            ) as response:
                if response.status_code != 200:
                    failures.append(str(response.status_code))
                    refused = response.status_code == 503 and response.headers.get("retry-after")
                    response.failure(f"status {response.status_code}{'' if refused else ' (no Retry-After)'}")
                    if refused:
                        fire(self.environment, "SHED", "503 with Retry-After", started_one, 0, None)
                else:
                    size += len(response.content or b"")

        def connection() -> None:  # one browser connection: the page's lookups one after another
            while addresses:
                lookup(addresses.pop())

        pool = Pool(BROWSER_CONNECTIONS)
        for _ in range(BROWSER_CONNECTIONS):
            pool.spawn(connection)
        pool.join()
        error = RuntimeError(f"{len(failures)} of {PAGE_SIZE} failed: {sorted(set(failures))}") if failures else None
        fire(self.environment, "PAGE", "page of 50 lookups", started, size, error)


class BatchUser(FastHttpUser):
    @task
    def open_page(self) -> None:
        started = time.perf_counter()
        with self.client.post(
            "/api/v1/lookup/batch",
            json={"queries": random.sample(ADDRESSES, PAGE_SIZE)},
            name="/api/v1/lookup/batch",
            catch_response=True,
        ) as response:
            error = None if response.status_code == 200 else RuntimeError(f"status {response.status_code}")
            if error:
                response.failure(str(error))
        fire(self.environment, "PAGE", "page as one batch", started, len(response.content or b""), error)


class LookupUser(FastHttpUser):
    @task
    def lookup(self) -> None:
        self.client.get("/api/v1/lookup", params={"q": random.choice(ADDRESSES)}, name="/api/v1/lookup")


class TrivialUser(FastHttpUser):
    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="/healthz")


class SocketUser(User):
    """Streaming lookups over Socket.IO (websocket) while subscribed to every category's changes."""

    def on_start(self) -> None:
        import socketio

        self.sio = socketio.Client(reconnection=False)
        self.done: dict[str, threading.Event] = {}
        self.sio.on("lookup:done", self._on_done)
        try:
            self.sio.connect(self.host, transports=["websocket"], wait_timeout=10)
            self.sio.call("subscribe", {"categories": ["acl", "sg", "lb", "f5"], "imports": True}, timeout=10)
        except Exception as exc:  # noqa: BLE001 - counted as a failed sample, then the user stops
            fire(self.environment, "SOCKET", "connect", time.perf_counter(), 0, exc)
            raise StopUser() from exc

    def _on_done(self, data: dict[str, Any]) -> None:
        # lookup:done can beat the ack's return: the first of the two creates the event.
        self.done.setdefault(data.get("request_id", ""), threading.Event()).set()

    @task
    def streaming_lookup(self) -> None:
        started = time.perf_counter()
        error: Exception | None = None
        try:
            ack = self.sio.call("lookup", {"q": random.choice(ADDRESSES)}, timeout=10)
            event = self.done.setdefault(ack["request_id"], threading.Event())
            if not event.wait(10):
                error = TimeoutError("no lookup:done within 10 s")
            self.done.pop(ack["request_id"], None)
        except Exception as exc:  # noqa: BLE001 - reported as a failed sample
            error = exc
        fire(self.environment, "SOCKET", "streaming lookup", started, 0, error)
        gevent.sleep(0)

    def on_stop(self) -> None:
        if getattr(self, "sio", None) is not None and self.sio.connected:
            self.sio.disconnect()


@events.init_command_line_parser.add_listener
def _quiet(parser: Any) -> None:  # keeps `locust --help` listing these profiles' environment knobs
    parser.add_argument("--bench-note", default="", help="free text recorded by bench/run")
