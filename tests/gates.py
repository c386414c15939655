"""A database gate held full, for tests of what it refuses."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator

from netlookup.gate import DbGate


@contextlib.asynccontextmanager
async def saturated(gate: DbGate) -> AsyncIterator[asyncio.Event]:
    """Every slot held, with a mean hold so long that a request for even one slot expects a wait past the timeout
    (the gate refuses it), until the block ends or the event it yields is set; then holds are short again."""
    release = asyncio.Event()
    held = asyncio.Event()

    async def hold() -> None:
        async with gate.slots(gate.capacity):
            held.set()
            await release.wait()
        gate.mean_hold = 0.01

    # Another request's hold: not in the caller's context (a place the caller was admitted to stays the caller's).
    holder = asyncio.create_task(hold(), context=contextvars.Context())
    await held.wait()
    gate.mean_hold = 100 * gate.timeout
    try:
        yield release
    finally:
        release.set()
        await holder
