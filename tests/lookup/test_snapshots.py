"""Index snapshots on disk: a node that starts again serves what it saved plus exactly the sources that changed
since (the same answers as the database path and the oracle), and never uses a file that is not a whole snapshot
of this database."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import pickle
import random
import struct
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

import netlookup
from netlookup import tables
from netlookup.categories import CATEGORIES, SPECS, Category
from netlookup.config import Settings
from netlookup.container import open_services
from netlookup.lookup.memory import CategoryIndex, NetSegmentBuilder, Part
from netlookup.lookup.memory_sync import MemoryIndexes
from netlookup.lookup.request import LookupOptions, Mode, parse_query
from netlookup.lookup.service import LookupService
from netlookup.lookup.snapshots import (
    LAYOUT,
    MAGIC,
    SnapshotRefused,
    load_snapshot,
    read_snapshot,
    remove_abandoned,
    save_snapshot,
    snapshot_path,
)
from netlookup.realtime.notify import Notifier
from tests.conftest import reset_database
from tests.datasets import address, network
from tests.lookup import golden
from tests.lookup.support import LogMessages, category_rows
from tests.oracle import expected

DATABASE = "0123456789abcdef0123456789abcdef"


def _plain(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def _small_index(version: int = 7) -> CategoryIndex:
    builder = NetSegmentBuilder("sg")
    # the public fields, then prefix_len, family, net_start, port_lo, port_hi, as the index's read selects them
    row: dict[str, Any] = dict.fromkeys(SPECS["sg"].public_fields)
    row.update(id=1, source="a", group_id="sg-1", direction="ingress", protocol="tcp", cidr="10.0.0.0/8")
    builder.add([(*row.values(), 8, 4, (10 << 24).to_bytes(4, "big"), None, None)])
    return CategoryIndex.of("sg", [Part(builder.finish())], {"a": version}, version)


@pytest.fixture
def index_log() -> Iterator[LogMessages]:
    handler = LogMessages()
    logger = logging.getLogger("netlookup.lookup")  # the index modules log under it
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_saved_index_loads_back_with_the_same_answers(tmp_path: Path) -> None:
    index = _small_index()
    size = save_snapshot(tmp_path, DATABASE, index)
    assert size == snapshot_path(tmp_path, DATABASE, "sg").stat().st_size
    loaded = load_snapshot(tmp_path, DATABASE, "sg")
    assert loaded is not None
    assert (loaded.version, loaded.floor, dict(loaded.known), loaded.size) == (7, 7, {"a": 7}, 1)
    for q in ("10.1.2.3", "10.0.0.0/8", "11.0.0.1", "0.0.0.0/0"):
        for mode in Mode:
            options = LookupOptions(mode=mode)
            assert _plain(loaded.lookup(parse_query(q), options)) == _plain(index.lookup(parse_query(q), options))
    assert not list(tmp_path.glob(".*.tmp")), "the temporary file is renamed, not left behind"


def test_no_snapshot_is_none_and_another_database_or_category_is_refused(tmp_path: Path) -> None:
    assert load_snapshot(tmp_path, DATABASE, "sg") is None
    save_snapshot(tmp_path, DATABASE, _small_index())
    assert load_snapshot(tmp_path, "f" * 32, "sg") is None, "another database's file has another name"
    snapshot_path(tmp_path, DATABASE, "sg").rename(snapshot_path(tmp_path, DATABASE, "acl"))
    with pytest.raises(SnapshotRefused, match="another netlookup version, database or category"):
        load_snapshot(tmp_path, DATABASE, "acl")


@pytest.mark.parametrize("keep", [0, 10, 200, -1])
def test_a_cut_off_file_is_refused(tmp_path: Path, keep: int) -> None:
    save_snapshot(tmp_path, DATABASE, _small_index())
    path = snapshot_path(tmp_path, DATABASE, "sg")
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(SnapshotRefused):
        load_snapshot(tmp_path, DATABASE, "sg")


def _write_raw(path: Path, header: Any, payload: bytes, *, layout: int = LAYOUT, digest: bytes | None = None) -> None:
    """A snapshot file written by hand: the prelude (its checksum that of ``payload`` unless given), the header."""
    check = hashlib.blake2b(payload, digest_size=32).digest() if digest is None else digest
    with path.open("wb") as file:
        file.write(struct.pack(f"<{len(MAGIC)}sIQ32s", MAGIC, layout, len(payload), check))
        pickle.dump(header, file)
        file.write(payload)


def test_a_file_naming_other_code_is_refused_without_running_it(tmp_path: Path) -> None:
    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.mkdir, (str(ran),))

    header = {"netlookup": netlookup.__version__, "database": DATABASE, "category": "sg", "version": 7}
    _write_raw(snapshot_path(tmp_path, DATABASE, "sg"), header, pickle.dumps(Payload()))
    with pytest.raises(SnapshotRefused, match="posix.mkdir is not part of an index"):
        load_snapshot(tmp_path, DATABASE, "sg")
    assert not ran.exists()


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_damaged_snapshot_is_refused(tmp_path: Path, where: str) -> None:
    """One byte changed anywhere in the index (a flipped bit on disk, a write torn in the middle) is found by the
    checksum before anything is unpickled."""
    save_snapshot(tmp_path, DATABASE, _small_index())
    path = snapshot_path(tmp_path, DATABASE, "sg")
    data = bytearray(path.read_bytes())
    body = data.index(pickle.PROTO + bytes([pickle.HIGHEST_PROTOCOL]), 64)  # the index's pickle, after the header
    at = {"first": body + 2, "middle": (body + len(data)) // 2, "last": len(data) - 2}[where]
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotRefused, match="damaged"):
        load_snapshot(tmp_path, DATABASE, "sg")
    path.write_bytes(bytes(data) + b"\0")
    with pytest.raises(SnapshotRefused, match="damaged"):
        load_snapshot(tmp_path, DATABASE, "sg")


@pytest.mark.parametrize("layout", [1, LAYOUT + 1])
def test_a_snapshot_of_another_layout_is_refused_before_it_is_read(tmp_path: Path, layout: int) -> None:
    """A file of another layout, even one whose header and checksum are right (the same bytes may mean something
    else to this code), is refused on its layout number alone."""
    index = _small_index()
    payload = pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
    header = {"netlookup": netlookup.__version__, "database": DATABASE, "category": "sg", "version": index.version}
    path = snapshot_path(tmp_path, DATABASE, "sg")
    _write_raw(path, header, payload)
    assert load_snapshot(tmp_path, DATABASE, "sg") is not None  # as written by this layout: used
    _write_raw(path, header, payload, layout=layout)
    with pytest.raises(SnapshotRefused, match=f"written with index layout {layout}; this netlookup reads layout"):
        load_snapshot(tmp_path, DATABASE, "sg")


def test_a_file_of_the_old_format_without_a_prelude_is_refused(tmp_path: Path) -> None:
    index = _small_index()
    header = {"format": 1, "netlookup": "0.1.0", "database": DATABASE, "category": "sg", "version": 7}
    with snapshot_path(tmp_path, DATABASE, "sg").open("wb") as file:
        pickle.dump(header, file)
        pickle.dump(index, file)
    with pytest.raises(SnapshotRefused, match="no snapshot prelude"):
        load_snapshot(tmp_path, DATABASE, "sg")


def test_another_netlookup_version_is_refused(tmp_path: Path) -> None:
    index = _small_index()
    header = {"netlookup": "0.0.9", "database": DATABASE, "category": "sg", "version": index.version}
    _write_raw(snapshot_path(tmp_path, DATABASE, "sg"), header, pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(SnapshotRefused, match="'netlookup': '0.0.9'"):
        load_snapshot(tmp_path, DATABASE, "sg")


def test_the_golden_snapshots_are_of_this_layout() -> None:
    answers = orjson.loads(golden.ANSWERS.read_bytes())
    assert answers["layout"] == LAYOUT, (
        f"LAYOUT is {LAYOUT} but the golden snapshots are of layout {answers['layout']}: "
        "make them again with `python -m tests.lookup.golden` and commit them"
    )


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_golden_snapshot_gives_the_answers_it_was_saved_with(category: Category) -> None:
    """Loaded by this code, each golden snapshot answers exactly what it answered when it was written. If not,
    the bytes of this layout now mean something else: bump ``LAYOUT`` (snapshots of the old one are then
    refused) and make the golden files again."""
    answers = orjson.loads(golden.ANSWERS.read_bytes())
    if answers["layout"] != LAYOUT:
        with pytest.raises(SnapshotRefused, match="written with index layout"):
            read_snapshot(snapshot_path(golden.HERE, golden.DATABASE, category))
        pytest.fail("the golden snapshots are of another layout (see test_the_golden_snapshots_are_of_this_layout)")
    header, index = read_snapshot(snapshot_path(golden.HERE, golden.DATABASE, category))
    assert (header["category"], index.category, len(index.parts)) == (category, category, 2)
    assert any(part.live is not None for part in index.parts), "it keeps a segment serving part of its sources"
    expected_answers = answers["categories"][category]
    assert len(expected_answers) == 30
    for item in expected_answers:
        options = LookupOptions(
            categories=(category,),
            mode=Mode(item["options"]["mode"]),
            **{key: item["options"][key] for key in ("best", "limit", "port", "protocol")},
        )
        assert _plain(index.lookup(parse_query(item["q"]), options)) == item["answer"], item["q"]
    assert golden.answers_of(index) == expected_answers
    # The golden data made again by this code gives the same answers too (what was saved is what is built).
    assert golden.answers_of(golden.golden_index(category)) == expected_answers


def test_abandoned_temporary_files_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    abandoned = tmp_path / f".{DATABASE}-sg.idx.{dead}.tmp"
    live = tmp_path / f".{DATABASE}-acl.idx.{os.getpid()}.tmp"
    other = tmp_path / ".unrelated.tmp"
    for path in (abandoned, live, other):
        path.write_bytes(b"x")
    assert remove_abandoned(tmp_path) == [abandoned]
    assert live.exists()
    assert other.exists()
    assert not abandoned.exists()


async def _until_saved(indexes: MemoryIndexes, directory: Path, database_id: str, seconds: float = 30) -> None:
    """Until every category's snapshot on disk holds the index the category serves."""
    async with asyncio.timeout(seconds):
        while True:
            saved = {category: load_snapshot(directory, database_id, category) for category in CATEGORIES}
            current = {category: indexes.get(category) for category in CATEGORIES}
            if all(
                snap is not None and (index := current[c]) is not None and snap.version == index.version
                for c, snap in saved.items()
            ):
                return
            await asyncio.sleep(0.05)


async def _database_id(url: str) -> str:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return str((await conn.exec_driver_sql("SELECT uuid FROM database_identity")).scalar_one())
    finally:
        await engine.dispose()


async def test_a_restart_serves_the_snapshot_plus_exactly_the_sources_changed_meanwhile(
    settings: Settings, tmp_path: Path, index_log: LogMessages
) -> None:
    rng = random.Random(11)
    await reset_database(settings.database_url)
    database_id = await _database_id(settings.database_url)
    sources = ("a.cfg", "b.cfg", "c.cfg", "d.cfg")
    first = MemoryIndexes(poll_interval=3600, snapshot_dir=tmp_path, snapshot_delay=0, snapshot_interval=0)
    async with open_services(settings, Notifier(None, on_change=first.apply_change), indexes=first) as services:
        for category in CATEGORIES:
            for source in sources:
                body = b"".join(orjson.dumps(row) + b"\n" for row in category_rows(rng, category, rng.randint(3, 25)))
                await services.imports.import_source(category, source, io.BytesIO(body), "ndjson")
        async with asyncio.timeout(60):
            await first.wait_ready()
        await _until_saved(first, tmp_path, database_id)

    # While no node runs: one source changed, one deleted, one added, per category.
    async with open_services(settings, Notifier(None)) as services:
        for category in CATEGORIES:
            body = b"".join(orjson.dumps(row) + b"\n" for row in category_rows(rng, category, 5))
            await services.imports.import_source(category, "a.cfg", io.BytesIO(body), "ndjson")
            await services.imports.delete_source(category, "b.cfg")
            await services.imports.import_source(category, "new.cfg", io.BytesIO(body), "ndjson")

    index_log.messages.clear()
    # Segments as the restore left them (merging is tested on its own).
    second = MemoryIndexes(poll_interval=3600, snapshot_dir=tmp_path, snapshot_delay=3600, merge_delay=None)
    async with open_services(settings, Notifier(None, on_change=second.apply_change), indexes=second) as services:
        async with asyncio.timeout(60):
            await second.wait_ready()
        loaded = [m for m in index_log.messages if m.startswith("index snapshot loaded")]
        assert len(loaded) == len(CATEGORIES), index_log.messages
        assert all("sources_moved=3" in m for m in loaded), loaded
        database = LookupService(services.engine, row_values=False)
        stored: dict[str, list[dict[str, Any]]] = {}
        for category in CATEGORIES:
            index = second.get(category)
            assert index is not None
            assert index.serves() == {"a.cfg", "c.cfg", "d.cfg", "new.cfg"}
            page = await services.records.list_records(category, None, 1000, None)
            stored[category] = _plain(page["items"])
            assert index.size == len(stored[category])
            # The moved sources are one new read; the unchanged ones are served from the loaded segments.
            served = [set(part.served()) for part in index.parts]
            assert served.count({"a.cfg", "new.cfg"}) == 1, served
            assert set().union(*(names for names in served if names != {"a.cfg", "new.cfg"})) == {"c.cfg", "d.cfg"}
        for _ in range(60):
            q = address(rng) if rng.random() < 0.5 else network(rng)
            mode = rng.choice(list(Mode))
            best, limit, port = rng.random() < 0.3, rng.choice([1, 3, 1000]), rng.choice([None, 22, 443])
            options = LookupOptions(mode=mode, best=best, limit=limit, port=port)
            memory = _plain(await services.lookups.lookup(parse_query(q), options))
            sql = _plain(await database.lookup(parse_query(q), options))
            assert memory["results"] == sql["results"], (q, options)
            for category in CATEGORIES:
                want = expected(category, stored[category], q, mode=mode.value, best=best, limit=limit, port=port)
                assert memory["results"][category] == want, (category, q, options)


async def test_a_snapshot_newer_than_the_database_or_of_another_database_is_not_used(
    settings: Settings, tmp_path: Path, index_log: LogMessages
) -> None:
    await reset_database(settings.database_url)
    database_id = await _database_id(settings.database_url)
    # A snapshot "from the future" (a database restored to an older state since): built from the database instead.
    future = CategoryIndex.of("sg", _small_index().parts, {"a": 10**12}, 10**12)
    save_snapshot(tmp_path, database_id, future)
    indexes = MemoryIndexes(poll_interval=3600, snapshot_dir=tmp_path, snapshot_delay=3600)
    async with open_services(settings, Notifier(None), indexes=indexes):
        async with asyncio.timeout(60):
            await indexes.wait_ready()
        sg = indexes.get("sg")
        assert sg is not None
        assert (sg.size, sg.version < 10**12) == (0, True)
    assert any("holds version 1000000000000" in m for m in index_log.messages), index_log.messages

    # The same database made again (another identity): its old snapshots are not even looked at.
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(tables.database_identity).values(uuid="e" * 32))
        index_log.messages.clear()
        unrelated = tmp_path / "notes.idx"
        unrelated.write_bytes(b"kept: not a snapshot's name")
        indexes = MemoryIndexes(poll_interval=3600, snapshot_dir=tmp_path, snapshot_delay=3600)
        async with open_services(settings, Notifier(None), indexes=indexes):
            async with asyncio.timeout(60):
                await indexes.wait_ready()
        # ... and removed: they could never be used again.
        snapshot_lines = [m for m in index_log.messages if "snapshot" in m]
        assert len(snapshot_lines) == 1, snapshot_lines
        assert snapshot_lines[0].startswith(f"index snapshot of another database removed: {database_id}-sg.idx ("), (
            snapshot_lines
        )
        assert sorted(os.listdir(tmp_path)) == ["notes.idx"]
    finally:
        async with engine.begin() as conn:
            await conn.execute(update(tables.database_identity).values(uuid=database_id))
        await engine.dispose()


def test_every_category_has_a_snapshot_name() -> None:
    names: set[str] = {snapshot_path(Path("d"), DATABASE, category).name for category in CATEGORIES}
    assert len(names) == len(CATEGORIES)
    category: Category
    for category in CATEGORIES:
        assert snapshot_path(Path("d"), DATABASE, category).name == f"{DATABASE}-{category}.idx"


async def test_a_saved_index_is_not_kept_alive_once_the_node_replaced_it(settings: Settings, tmp_path: Path) -> None:
    """The keeper knows which index a file holds without holding it: once the node serves another index (a
    refresh, a merge), the segments only the saved one had are freed, not kept until the next save."""
    rng = random.Random(5)
    await reset_database(settings.database_url)
    database_id = await _database_id(settings.database_url)
    # One save per category, 2 s after its first index (the imports below are in by then), none after it.
    indexes = MemoryIndexes(
        poll_interval=3600, snapshot_dir=tmp_path, snapshot_delay=2, snapshot_interval=3600, merge_delay=None
    )
    async with open_services(settings, Notifier(None, on_change=indexes.apply_change), indexes=indexes) as services:
        async with asyncio.timeout(60):
            await indexes.wait_ready()
        for category in CATEGORIES:
            body = b"".join(orjson.dumps(row) + b"\n" for row in category_rows(rng, category, 20))
            await services.imports.import_source(category, "a.cfg", io.BytesIO(body), "ndjson")
        await _until_saved(indexes, tmp_path, database_id)
        saved = {category: weakref.ref(indexes.get(category)) for category in CATEGORIES}
        for category in CATEGORIES:
            body = b"".join(orjson.dumps(row) + b"\n" for row in category_rows(rng, category, 20))
            await services.imports.import_source(category, "a.cfg", io.BytesIO(body), "ndjson")
        await asyncio.sleep(0.1)  # the keeper's save tasks wait out their interval meanwhile
        assert [category for category, ref in saved.items() if ref() is not None] == []
