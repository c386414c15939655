"""While the app serves, what its start made is frozen out of the collector's passes and young objects are
collected less often; both are undone when it stops."""

from __future__ import annotations

import gc

import httpx

from netlookup.gc_tuning import YOUNG_THRESHOLD, serving_gc


def test_serving_freezes_what_exists_and_restores_the_collector_after() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    made_before: list[object] = []
    with serving_gc():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > frozen_before
        assert not any(x is made_before for x in gc.get_objects())  # frozen: out of every pass
        made_during: list[object] = []
        assert any(x is made_during for x in gc.get_objects())
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert any(x is made_before for x in gc.get_objects())  # back under the collector's watch


async def test_the_app_serves_with_the_collector_tuned(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 10_000  # the app's modules, routes and models, at least
