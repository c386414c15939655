"""The database gate: all of a request's slots or none, first come first served, and under overload a request
whose expected wait is past the timeout is refused at once instead of waiting out the timeout."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from netlookup.errors import ServiceUnavailable
from netlookup.gate import ADMIT_SHARE, DbGate
from tests.gates import saturated


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
    gate = DbGate(capacity=2, timeout=0.35 / ADMIT_SHARE)  # admitted while the expected wait is within 0.35 s
    async with gate.slots(2):
        await asyncio.sleep(0.1)
    assert gate.mean_hold == pytest.approx(0.1, abs=0.05)
    log: list[str] = []
    holders = [asyncio.create_task(_hold(gate, 2, 0.1, log, f"h{i}")) for i in range(4)]
    await asyncio.sleep(0.01)  # one holds, three queue (0.1, 0.2 and 0.3 s): about 0.4 s of work ahead of the next
    assert gate.waiting == 3
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="queued ahead") as refused:
        async with gate.slots(2):
            pass
    assert time.monotonic() - started < 0.2  # refused, not kept waiting behind 0.4 s of work
    assert refused.value.headers == {"Retry-After": "1"}
    await asyncio.gather(*holders)
    assert log.count("h3 out") == 1  # what was admitted was served


async def test_a_waiter_that_times_out_or_is_cancelled_leaves_the_queue() -> None:
    gate = DbGate(capacity=1, timeout=0.05)
    async with gate.slots(1):
        with pytest.raises(ServiceUnavailable, match="waited 0.05 s"):
            async with gate.slots(1):
                pass
    assert (gate.available, gate.waiting) == (1, 0)
    gate = DbGate(capacity=1, timeout=10)
    async with gate.slots(1):
        cancelled = asyncio.create_task(_hold(gate, 1, 0, [], "x"))
        await asyncio.sleep(0.01)
        assert gate.waiting == 1
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert gate.waiting == 0
    assert gate.available == 1
    async with gate.slots(1):  # nothing left behind
        assert gate.available == 0


async def test_holds_in_progress_raise_the_estimate_before_they_finish() -> None:
    """After a quiet spell the mean of finished holds is short; when holds get longer (a flood, a slow database),
    the holds in progress show it at once, so the gate does not queue more than it can serve in time."""
    gate = DbGate(capacity=2, timeout=0.8 / ADMIT_SHARE)  # admitted while the expected wait is within 0.8 s
    async with gate.slots(1):
        pass
    assert gate.hold_estimate() == pytest.approx(0, abs=0.02)
    log: list[str] = []
    slow = [asyncio.create_task(_hold(gate, 1, 1.0, log, f"slow{i}")) for i in range(2)]
    await asyncio.sleep(0.3)  # both slots held for 0.3 s: holds now take at least about 0.6 s
    estimate = gate.hold_estimate()
    assert estimate is not None
    assert 0.55 < estimate < 0.75
    # The k-th waiter expects k / 2 x 0.6 s: two fit within the limit, a third is refused at once.
    waiters = [asyncio.create_task(_hold(gate, 1, 0, log, f"w{i}")) for i in range(2)]
    await asyncio.sleep(0)
    assert gate.waiting == 2
    assert gate.expected_wait(1) > gate.timeout * ADMIT_SHARE
    with pytest.raises(ServiceUnavailable, match="queued ahead"):
        async with gate.slots(1):
            pass
    await asyncio.gather(*slow, *waiters)
    assert sorted(entry for entry in log if entry.endswith("out")) == ["slow0 out", "slow1 out", "w0 out", "w1 out"]
    assert gate.mean_hold is not None
    assert gate.mean_hold > 0.05  # the finished slow holds moved the mean too


async def test_a_long_hold_is_left_out_of_the_estimate_and_drains_nothing() -> None:
    """An import holds its slot for seconds: averaging it with lookups' milliseconds would refuse lookups the gate
    can serve; its slot is instead counted as draining nothing while it is held."""
    gate = DbGate(capacity=3, timeout=10)
    for _ in range(3):
        async with gate.slots(1):
            await asyncio.sleep(0.02)
    short = gate.mean_hold
    assert short is not None
    importing = asyncio.create_task(_hold_long(gate, 0.3))
    await asyncio.sleep(0.2)
    assert gate.hold_estimate() == short  # the import in progress does not count as a hold of its age
    async with gate.slots(1), gate.slots(1):  # the other two slots taken: the next request queues
        assert gate.expected_wait(1) == pytest.approx(short / 2)  # two slots drain, not three
    before = gate.mean_hold
    await importing
    assert gate.mean_hold == before  # nor does the import's hold once it is done
    assert gate.expected_wait(1) == 0


async def _hold_long(gate: DbGate, seconds: float) -> None:
    async with gate.slots(1, long=True):
        await asyncio.sleep(seconds)


async def test_a_refusal_is_sent_a_refusal_wait_later_not_at_once() -> None:
    gate = DbGate(capacity=1, timeout=1.0, refusal_wait=0.2)
    async with saturated(gate):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="queued ahead"):
            async with gate.slots(1):
                pass
        assert 0.2 <= time.monotonic() - started < 0.6  # asked again after the wait, still no room: refused
        started = time.monotonic()
        assert await gate.admission(1) is not None
        assert 0.2 <= time.monotonic() - started < 0.6
        # A request that arrived (at the proxy) longer ago than the wait is refused at once; one that arrived
        # 0.15 s ago waits the remaining 0.05 s.
        started = time.monotonic()
        assert await gate.admission(1, arrived=started - 1.0) is not None
        assert time.monotonic() - started < 0.1
        started = time.monotonic()
        assert await gate.admission(1, arrived=started - 0.15) is not None
        assert 0.04 <= time.monotonic() - started < 0.15
    started = time.monotonic()
    assert await gate.admission(1) is None  # room: no wait
    assert time.monotonic() - started < 0.1  # not the 0.2 s refusal wait


async def test_room_made_during_the_refusal_wait_admits_the_request() -> None:
    gate = DbGate(capacity=1, timeout=1.0, refusal_wait=0.3)
    async with saturated(gate) as release:
        asyncio.get_running_loop().call_later(0.05, release.set)
        started = time.monotonic()
        async with gate.slots(1):  # would have been refused on arrival; served instead
            assert 0.3 <= time.monotonic() - started < 0.8
            assert gate.available == 0
    assert (gate.available, gate.waiting) == (1, 0)


async def test_without_a_refusal_wait_a_refusal_is_immediate() -> None:
    gate = DbGate(capacity=1, timeout=1.0)
    async with saturated(gate):
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="queued ahead"):
            async with gate.slots(1):
                pass
        assert time.monotonic() - started < 0.05


async def test_an_admitted_request_counts_in_later_expected_waits_until_it_leaves() -> None:
    """Requests admitted on arrival that have not queued yet (their routes still running) are demand: under a
    burst, hundreds of them must not all be admitted on a queue that looks empty."""
    gate = DbGate(capacity=1, timeout=0.8 / ADMIT_SHARE)  # admitted while the expected wait is within 0.8 s
    gate.mean_hold = 0.3
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(3):
            assert await stack.enter_async_context(gate.admitted(1)) is None
        assert gate.expected_wait(1) == pytest.approx(0.9)  # three ahead of it, 0.3 s each, on one slot
        assert gate.refusal(1) is not None  # past ADMIT_SHARE of the timeout
        assert gate.waiting == 0  # nobody queued: the demand is on its way
    # Their places are given up when they leave without queueing (answered from memory, a 422...).
    assert gate.expected_wait(1) == 0
    assert gate.refusal(1) is None


async def test_an_admitted_request_queues_without_being_asked_again() -> None:
    """Admitted on arrival, a request is not refused when it gets to the gate, even when newcomers are refused by
    then: a refusal after its route ran would come late."""
    gate = DbGate(capacity=1, timeout=1.0, refusal_wait=0.3)
    async with gate.admitted(1) as refused:
        assert refused is None
        # Meanwhile another request takes the only slot and holds look long: newcomers are refused now.
        async with saturated(gate) as release:
            assert gate.refusal(1) is not None
            asyncio.get_running_loop().call_later(0.05, release.set)
            started = time.monotonic()
            async with gate.slots(1):  # queued behind the holder and served; not asked again after 0.3 s
                assert gate.available == 0
            assert time.monotonic() - started < 0.25
        # Its place became its place in the queue: a second request for slots is asked as usual.
        assert gate.expected_wait(1) == 0
        async with saturated(gate):
            with pytest.raises(ServiceUnavailable, match="queued ahead"):
                async with gate.slots(1):
                    pass


async def test_a_place_is_taken_only_at_the_gate_that_admitted_it() -> None:
    gate, other = DbGate(capacity=1, timeout=1.0), DbGate(capacity=1, timeout=1.0)
    gate.mean_hold = 0.5
    async with gate.admitted(1) as refused:
        assert refused is None
        async with other.slots(1):
            pass
        assert gate.expected_wait(1) == pytest.approx(0.5)  # still on its way to this gate
        async with gate.slots(1):
            assert gate.expected_wait(1) == pytest.approx(0.5)  # now it holds the slot instead
        assert gate.expected_wait(1) == 0


async def test_a_refused_admission_holds_no_place() -> None:
    gate = DbGate(capacity=1, timeout=1.0)
    async with saturated(gate):
        async with gate.admitted(1) as refused:
            assert refused is not None
            assert "queued ahead" in refused
        gate.mean_hold = 0.2
        assert gate.expected_wait(1) == pytest.approx(0.2)  # the holder's slot only: nothing on its way
