"""The Socket.IO handlers on a real node: a lookup that fails inside the server is answered with lookup:error and
logged with its traceback."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from netlookup.migrations import upgrade
from tests.processes import Node
from tests.realtime.conftest import connect


async def _break_acl_table(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            # A stored /8 makes the lookup query the acl table, which is gone.
            await conn.exec_driver_sql(
                "INSERT INTO prefix_lengths (category, source, family, prefix_len, count) VALUES ('acl', 'x', 4, 8, 1)"
            )
            await conn.exec_driver_sql("ALTER TABLE acl RENAME TO acl_away")
    finally:
        await engine.dispose()


async def test_a_lookup_failing_in_the_server_is_an_error_event_and_a_logged_traceback(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"
    await asyncio.to_thread(upgrade, url)
    await _break_acl_table(url)
    node = await asyncio.to_thread(Node("broken", url, tmp_path, NETLOOKUP_MEMORY_INDEX="false").start)
    try:
        client = await connect(node.url)
        try:
            ack = await client.sio.call("lookup", {"q": "10.0.0.1", "categories": ["acl", "sg"]}, timeout=5)
            _, error, _ = await client.wait_for(
                lambda e, d: e == "lookup:error" and d["request_id"] == ack["request_id"]
            )
            assert error["detail"] == "lookup failed; retry shortly"
        finally:
            await client.close()
    finally:
        await asyncio.to_thread(node.stop)
    log = node.log()
    assert f"socket lookup failed request_id={ack['request_id']}" in log
    assert "Traceback (most recent call last)" in log
    assert "no such table: acl" in log
