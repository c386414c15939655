"""The golden index snapshots: one small snapshot per category, of the snapshot layout ``LAYOUT`` names, and the
answers each must give (``answers.json``). ``tests/lookup/test_snapshots.py`` loads them with the current code:
a change that makes the same bytes answer differently fails there until ``LAYOUT`` is bumped, after which these
files are refused as another layout and are made again with ``python -m tests.lookup.golden``.

Each index is in the state a node lives in: a segment built from several sources, one refreshed source in a
segment of its own, both merged, then another source refreshed (so it holds a merged segment that no longer
serves one of its sources, and a plain one)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from netlookup.categories import CATEGORIES, Category
from netlookup.lookup.memory import CategoryIndex
from netlookup.lookup.merging import merge_steps, run_merge
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from tests.datasets import address, network
from tests.lookup.support import Records, category_rows, segment_of

HERE = Path(__file__).resolve().parent
DATABASE = "901de2000000000000000000000000aa"
ANSWERS = HERE / "answers.json"
SOURCES = ("a.cfg", "b.cfg", "c.cfg")


def golden_index(category: Category) -> CategoryIndex:
    rng = random.Random(f"golden:{category}")
    records = Records(category)
    made = [item for source in SOURCES for item in records.replace(source, category_rows(rng, category, 40))]
    index = CategoryIndex.of(category, (), {}, 0).replaced(segment_of(category, made), SOURCES, 1, full=True)
    refreshed = records.replace("a.cfg", category_rows(rng, category, 20))
    index = index.replaced(segment_of(category, refreshed), {"a.cfg"}, 2, full=False)
    index = index.merged(run_merge(merge_steps(category, index.parts)), [part.segment for part in index.parts])
    refreshed = records.replace("b.cfg", category_rows(rng, category, 10))
    return index.replaced(segment_of(category, refreshed), {"b.cfg"}, 3, full=False)


def golden_queries(category: Category) -> list[tuple[str, LookupOptions]]:
    rng = random.Random(f"golden-queries:{category}")
    queries = []
    for _ in range(30):
        options = LookupOptions(
            categories=(category,),
            mode=rng.choice(list(Mode)),
            best=rng.random() < 0.3,
            limit=rng.choice([1, 5, 20]),
            port=rng.choice([None, None, 22, 80, 443]),
            protocol=rng.choice([None, None, "tcp", "udp"]),
        )
        queries.append((address(rng) if rng.random() < 0.5 else network(rng), options))
    return queries


def options_json(options: LookupOptions) -> dict[str, Any]:
    return {
        "mode": options.mode.value,
        "best": options.best,
        "limit": options.limit,
        "port": options.port,
        "protocol": options.protocol,
    }


def answers_of(index: CategoryIndex) -> list[dict[str, Any]]:
    category = index.category
    return [
        {
            "q": q,
            "options": options_json(options),
            "answer": orjson.loads(orjson.dumps(index.lookup(parse_query(q), options))),
        }
        for q, options in golden_queries(category)
    ]


def write_golden() -> None:
    from netlookup.lookup.snapshots import LAYOUT, save_snapshot, snapshot_path

    answers: dict[str, Any] = {"layout": LAYOUT, "database": DATABASE, "categories": {}}
    for category in CATEGORIES:
        index = golden_index(category)
        save_snapshot(HERE, DATABASE, index)
        print(f"{snapshot_path(HERE, DATABASE, category).name}: {len(index.parts)} segments, {index.size} records")
        answers["categories"][category] = answers_of(index)
    ANSWERS.write_bytes(orjson.dumps(answers) + b"\n")
