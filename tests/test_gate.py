"""The database gate: all of a request's slots or none, first come first served, and under overload a request
whose expected wait is past the timeout is refused at once instead of waiting out the timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from netlookup.errors import ServiceUnavailable
from netlookup.gate import DbGate


async def _hold(gate: DbGate, wanted: int, seconds: float, log: list[str], name: str) -> None:
    async with gate.slots(wanted):
        log.append(f"{name} in")
        await asyncio.sleep(seconds)
    log.append(f"{name} out")


async def test_slots_are_handed_out_whole_and_in_order() -> None:
    gate = DbGate(capacity=4, timeout=5)
    log: list[str] = []
    first = asyncio.create_task(_hold(gate, 3, 0.05, log, "a"))
    await asyncio.sleep(0)
    second = asyncio.create_task(_hold(gate, 4, 0.01, log, "b"))  # needs all four: waits for a
    await asyncio.sleep(0)
    third = asyncio.create_task(_hold(gate, 1, 0.01, log, "c"))  # one is free, but b is ahead: no overtaking
    await asyncio.gather(first, second, third)
    assert log == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert (gate.available, gate.waiting) == (4, 0)


async def test_a_wait_longer_than_the_timeout_is_refused_at_once() -> None:
    gate = DbGate(capacity=2, timeout=0.5)  # admitted while the expected wait is within 0.25 s
    async with gate.slots(2):
        await asyncio.sleep(0.1)
    assert gate.mean_hold == pytest.approx(0.1, abs=0.05)
    log: list[str] = []
    holders = [asyncio.create_task(_hold(gate, 2, 0.1, log, f"h{i}")) for i in range(3)]
    await asyncio.sleep(0.01)  # one holds, two queue (0.1 and 0.2 s): about 0.3 s of work ahead of the next
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="queued ahead") as refused:
        async with gate.slots(2):
            pass
    assert time.monotonic() - started < 0.05  # refused, not kept waiting
    assert refused.value.headers == {"Retry-After": "1"}
    await asyncio.gather(*holders)
    assert log.count("h2 out") == 1  # what was admitted was served


async def test_a_waiter_that_times_out_or_is_cancelled_leaves_the_queue() -> None:
    gate = DbGate(capacity=1, timeout=0.05)
    async with gate.slots(1):
        with pytest.raises(ServiceUnavailable, match="waited 0.05 s"):
            async with gate.slots(1):
                pass
        cancelled = asyncio.create_task(_hold(gate, 1, 0, [], "x"))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert gate.waiting == 0
    assert gate.available == 1
    async with gate.slots(1):  # nothing left behind
        assert gate.available == 0
