"""A bounded queue in front of the database connection pool.

Every request that needs the database (a lookup on the database path, an import, a listing) takes its slots
here before it takes a connection: all it asks for at once or none, first come first served, so requests never
each hold part of what they need and wait on each other. A lookup takes one: its categories run on one
connection.

Under overload the queue must not grow until every request waits its full timeout and is then shed: that spends
the pool on requests whose callers are about to give up, and goodput collapses. So the gate estimates how long a
request holds its slots (the running mean of finished holds, or more when the holds in progress are already
older) and refuses at once (503 + Retry-After) a request whose expected wait, given the demand queued ahead of
it, is longer than ``ADMIT_SHARE`` of ``timeout``; what it admits it serves within about that time. ``timeout``
stays the upper bound for a wait the estimate got wrong.

A refusal is not sent the instant it is decided, though: a request the gate would refuse is asked again
``refusal_wait`` (50 ms by default) after it arrived (at the proxy, when the caller knows), and admitted if room
was made meanwhile. Clients whose lookups are refused mostly send the next one at once (a page's next lookup, a
script's loop): at a few hundred connections an instant refusal comes back within a millisecond or two, and each
connection then sends hundreds of requests a second, each costing the node (and the proxy) CPU that the admitted
lookups need. Measured with 600 connections of a cheap client through nginx, goodput fell to a tenth of what 12
connections got; the short wait bounds each refused connection to about 1 / ``refusal_wait`` requests a second,
and a refusal still comes within 100 ms unless the node's event loop is already that far behind. (How much of
the goodput comes back also depends on the garbage collector: see ``gc_tuning``.)

A single lookup is asked once, on arrival, by the app's outermost layer (``admitted``): what is admitted there
holds a place in the gate's demand while its route runs (parsing, validation) and then queues without being
asked again. Asked a second time when it reached the queue, a lookup admitted on arrival could be refused after
its route ran and a second refusal wait, late; and the lookups on their way to the queue, hundreds under a
burst, were not counted in the expected wait of the ones arriving behind them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from contextvars import ContextVar

from netlookup.errors import ServiceUnavailable
from netlookup.metrics import SHED_REQUESTS

# Weight of the newest hold time in the running average: a few dozen requests are remembered.
HOLD_SMOOTHING = 0.1
# A request is admitted only when its expected wait is within this share of the timeout: the estimate can still
# run low, and what is admitted must not end up waiting out the timeout to be refused late. Measured under a
# 50x overload, the waits of admitted lookups ran up to 1.9 times their estimate for seconds at a time (the rate
# the database drains at swings with the CPU the proxy, the clients and the refusals take); half the timeout
# leaves room for twice the estimate. Each admitted waiter is a client connection parked at no cost instead of
# sending refused requests, so the timeout (5 s by default) sets how much work is parked: half of it.
ADMIT_SHARE = 0.5


class Admitted:
    """The place of a request the gate admitted on arrival, until it queues for its slots (``DbGate.slots``,
    which then neither asks again nor refuses it) or leaves without them. Meanwhile its demand counts in every
    later request's expected wait: a request admitted on arrival still has its route to run (parsing, validation)
    before it queues, and under a burst hundreds can be on that way at once. Left out, they would all be admitted
    on a queue that looks short, and then refused late (after their route ran), or queued past what can be served
    in time."""

    __slots__ = ("gate", "wanted")

    def __init__(self, gate: DbGate, wanted: int):
        self.gate: DbGate | None = gate
        self.wanted = wanted

    def close(self) -> None:
        """Give the place up (nothing when already given up)."""
        gate, self.gate = self.gate, None
        if gate is not None:
            gate._admitted -= self.wanted

    def take(self, gate: DbGate, wanted: int) -> bool:
        """Whether this place, held at ``gate`` for at least ``wanted`` slots, becomes a request for them there
        (given up, then: a request is admitted once, for its first request for slots)."""
        if self.gate is not gate or wanted > self.wanted:
            return False
        self.close()
        return True


# The admission of the request running in this context (set by ``DbGate.admitted``, taken by ``DbGate.slots``).
ADMITTED: ContextVar[Admitted | None] = ContextVar("netlookup_gate_admitted", default=None)


class DbGate:
    def __init__(self, capacity: int, timeout: float, refusal_wait: float = 0.0):
        self.capacity = max(1, capacity)
        self.timeout = timeout
        self.refusal_wait = refusal_wait
        self.available = self.capacity
        self._queue: deque[tuple[int, asyncio.Future[float]]] = deque()
        self._queued_slots = 0
        self._admitted = 0  # slots of requests admitted on arrival that have not queued yet (see Admitted)
        self.mean_hold: float | None = None  # seconds a request holds its slots, on average
        # The holds in progress: how many, and the sum of their grant times (their mean age, in O(1)).
        self._holding = 0
        self._granted_sum = 0.0
        # Slots held by long requests (imports) that the estimate leaves out: they drain nothing meanwhile.
        self._held_long = 0

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def hold_estimate(self) -> float | None:
        """Seconds a request will hold its slots: the running mean of finished holds, or more when the holds in
        progress say so. Their mean age is about half a hold; when it is more than half the mean, holds have got
        longer (the database or this process slowed down, or a flood arrived after a quiet spell) and the mean of
        finished ones has not caught up yet. Queueing by the old mean would admit more than can be served in
        time, and what is admitted would be refused late."""
        if not self._holding:
            return self.mean_hold
        in_progress = 2 * (time.monotonic() - self._granted_sum / self._holding)
        return in_progress if self.mean_hold is None else max(self.mean_hold, in_progress)

    def expected_wait(self, wanted: int) -> float:
        """Seconds a request for ``wanted`` slots arriving now would wait: the slots demanded ahead of it (and its
        own, past what is free) drained at one slot per hold by each slot that long requests do not hold."""
        hold = self.hold_estimate()
        if hold is None:
            return 0.0
        backlog = self._queued_slots + self._admitted + wanted - self.available
        return max(0.0, backlog / max(1, self.capacity - self._held_long) * hold)

    def _shed(self, reason: str, detail: str) -> ServiceUnavailable:
        SHED_REQUESTS.labels(reason=reason).inc()
        return ServiceUnavailable(f"the database is busy ({detail}); retry shortly", retry_after=1)

    def _grant_waiters(self) -> None:
        """Hand free slots to the waiters at the head of the queue, in order (no waiter is overtaken)."""
        while self._queue and self._queue[0][0] <= self.available:
            wanted, granted = self._queue.popleft()
            self._queued_slots -= wanted
            if granted.done():  # cancelled while queued
                continue
            self.available -= wanted
            granted.set_result(time.monotonic())

    def refusal(self, wanted: int) -> str | None:
        """Why a request for ``wanted`` slots arriving now would be refused on arrival (None: it would be admitted
        at once or queued). Cheap: the admission middleware asks it before a request is even parsed."""
        wanted = max(1, min(wanted, self.capacity))
        if not self._queue and self.available - self._admitted >= wanted:
            return None
        expected = self.expected_wait(wanted)
        return f"about {expected:.1f} s of work is queued ahead" if expected > self.timeout * ADMIT_SHARE else None

    async def admission(self, wanted: int, arrived: float | None = None) -> str | None:
        """Why a request for ``wanted`` slots is refused (None: it may queue). One that would be refused now is
        asked again ``refusal_wait`` after it ``arrived`` (a ``time.monotonic()`` time; now when not given: a
        request that already waited that long, at a proxy or in this node's event loop, is refused at once)."""
        refused = self.refusal(wanted)
        if refused is None:
            return None
        delay = self.refusal_wait - (0.0 if arrived is None else time.monotonic() - arrived)
        if delay > 0:
            await asyncio.sleep(delay)
            refused = self.refusal(wanted)
        return refused

    @contextlib.asynccontextmanager
    async def admitted(self, wanted: int, arrived: float | None = None) -> AsyncIterator[str | None]:
        """``admission`` decided once, on arrival, for a request that will ask for ``wanted`` slots: yields why it
        is refused, or None with its place held (``Admitted``) for the block; in the block, ``slots`` takes that
        place and queues without asking again. A request is then refused at arrival or not at all (except by
        ``timeout``): never after its route ran, when the refusal would come late."""
        wanted = max(1, min(wanted, self.capacity))
        refused = await self.admission(wanted, arrived)
        if refused is not None:
            yield refused
            return
        place = Admitted(self, wanted)
        self._admitted += wanted
        token = ADMITTED.set(place)
        try:
            yield None
        finally:
            ADMITTED.reset(token)
            place.close()

    def _take_free(self, wanted: int) -> float | None:
        """Take ``wanted`` free slots now, when nobody is queued ahead; when they were taken, else None."""
        if self._queue or self.available < wanted:
            return None
        self.available -= wanted
        return time.monotonic()

    async def _acquire(self, wanted: int, reason: str) -> float:
        """Take ``wanted`` slots; when they were granted (a waiter resumes later than that: under load the loop
        has other work queued, and the slots are already held)."""
        place = ADMITTED.get()
        admitted = place is not None and place.take(self, wanted)
        taken = self._take_free(wanted)
        if taken is not None:
            return taken
        if not admitted:
            refused = await self.admission(wanted)
            if refused is not None:
                raise self._shed(reason, refused)
            taken = self._take_free(wanted)  # room may have been made while it waited to be asked again
            if taken is not None:
                return taken
        granted: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.append((wanted, granted))
        self._queued_slots += wanted
        try:
            return await asyncio.wait_for(asyncio.shield(granted), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if granted.done() and not granted.cancelled():
                self._release(wanted)  # granted just as the wait ended: give the slots back
            else:
                granted.cancel()
                self._queue.remove((wanted, granted))
                self._queued_slots -= wanted
                self._grant_waiters()  # the head may have left: the next ones may fit now
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise self._shed(reason, f"waited {self.timeout:g} s for a connection") from None

    def _release(self, wanted: int) -> None:
        self.available += wanted
        self._grant_waiters()

    @contextlib.asynccontextmanager
    async def slots(self, wanted: int, *, reason: str = "database busy", long: bool = False) -> AsyncIterator[None]:
        """Hold ``wanted`` connections' worth of the pool (capped at capacity) for the block; ServiceUnavailable
        when they cannot be had in time. A ``long`` hold (an import: seconds, not milliseconds) is left out of the
        hold estimate, which is the time the many short requests take; its slots count as draining nothing."""
        wanted = max(1, min(wanted, self.capacity))
        # The hold is counted from the grant: the running average must be the time the slots are taken from
        # others, or it runs low under load and the gate admits more than it can serve in time.
        started = await self._acquire(wanted, reason)
        if long:
            self._held_long += wanted
        else:
            self._holding += 1
            self._granted_sum += started
        try:
            yield
        finally:
            if long:
                self._held_long -= wanted
            else:
                self._holding -= 1
                self._granted_sum = self._granted_sum - started if self._holding else 0.0
                held = time.monotonic() - started
                self.mean_hold = (
                    held if self.mean_hold is None else self.mean_hold + HOLD_SMOOTHING * (held - self.mean_hold)
                )
            self._release(wanted)
