"""Index snapshots on the node's disk: a node that starts again loads each category's index as it last saved it
and re-reads only the sources that changed since, instead of reading and building the whole category.

A snapshot is one file per (database, category), ``<database id>-<category>.idx``:

- a fixed prelude: the magic bytes, the **layout version** the file was written with, the length and BLAKE2b
  checksum of the pickled index;
- a small pickled header: the netlookup version, database id, category and data version;
- the ``CategoryIndex`` itself, pickled (flat arrays and a few buffers: written and read at about the speed of a
  copy).

The file is a cache, never trusted: written whole to a temporary file and renamed over the old one; refused
(and the category built from the database) when its layout version is not ``LAYOUT``, when its header names
another netlookup version, database or category, when it is cut off or its checksum does not match; and read
by an unpickler that makes only the index's own types, so that a file of any other shape is refused, never run.

``LAYOUT`` is tied to behaviour, not to field names: ``tests/lookup/golden/`` holds a small snapshot of this
layout and the answers it must give. A change that makes the same bytes mean something else (a field's
meaning, a code's numbering, what a buffer holds) changes those answers and fails the test until ``LAYOUT`` is
bumped and the golden file regenerated (``python -m tests.lookup.golden``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import os
import pickle
import re
import struct
import time
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import netlookup
from netlookup import tables
from netlookup.categories import Category
from netlookup.lookup.index_reads import data_version, per_source
from netlookup.lookup.memory import CategoryIndex

log = logging.getLogger(__name__)

# The layout of the pickled index: bumped whenever what its bytes mean changes, not only their shape (1: until
# segments were merged in memory; 2: the prelude with the layout and a checksum, merged segments).
LAYOUT = 2
MAGIC = b"NLIDX\r\n\x1a"
# magic, layout version, length of the pickled index, its BLAKE2b-256 digest
_PRELUDE = struct.Struct(f"<{len(MAGIC)}sIQ32s")
_READ_CHUNK = 1 << 20
SUFFIX = ".idx"
_TEMPORARY = re.compile(r"^\.(?P<name>.+\.idx)\.(?P<pid>\d+)\.tmp$")
_SNAPSHOT = re.compile(r"^(?P<database>[0-9a-f]{32})-[a-z0-9]+\.idx$")

# The only globals a snapshot may name: the index's own classes and what arrays, sets and tuples pickle as.
_ALLOWED = {
    ("netlookup.lookup.memory", "CategoryIndex"),
    ("netlookup.lookup.memory", "Part"),
    ("netlookup.lookup.memory", "NetSegment"),
    ("netlookup.lookup.memory", "AddrSegment"),
    ("netlookup.lookup.memory", "Addresses"),
    ("array", "array"),
    ("array", "_array_reconstructor"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
}


class SnapshotRefused(Exception):
    """A snapshot file that cannot be used: not one, another format or version, another database or category,
    cut off or damaged. The category is then built from the database."""


class _IndexUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of an index")
        return super().find_class(module, name)


def snapshot_path(directory: Path, database_id: str, category: Category) -> Path:
    return directory / f"{database_id}-{category}{SUFFIX}"


def _identity(database_id: str, category: Category) -> dict[str, Any]:
    """What a snapshot's header must say to be used here (the header adds the index's data version)."""
    return {"netlookup": netlookup.__version__, "database": database_id, "category": category}


class _Digesting:
    """A file being written that hashes what goes through it."""

    def __init__(self, file: BinaryIO):
        self.file = file
        self.digest = hashlib.blake2b(digest_size=32)
        self.size = 0

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += memoryview(data).nbytes
        return self.file.write(data)


def save_snapshot(directory: Path, database_id: str, index: CategoryIndex) -> int:
    """Write ``index`` as the category's snapshot (a temporary file renamed over the old one: a reader sees the
    old file or the new one, whole); returns its size in bytes."""
    path = snapshot_path(directory, database_id, index.category)
    temporary = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        with temporary.open("wb") as file:
            file.write(_PRELUDE.pack(MAGIC, LAYOUT, 0, bytes(32)))  # filled in once the index is written
            header = {**_identity(database_id, index.category), "version": index.version}
            pickle.dump(header, file, protocol=pickle.HIGHEST_PROTOCOL)
            body = _Digesting(file)
            pickle.dump(index, body, protocol=pickle.HIGHEST_PROTOCOL)
            size = file.tell()
            file.seek(0)
            file.write(_PRELUDE.pack(MAGIC, LAYOUT, body.size, body.digest.digest()))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return size


def _load(file: BinaryIO) -> Any:
    try:
        return _IndexUnpickler(file).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise SnapshotRefused(f"not a readable snapshot ({type(exc).__name__}: {exc})") from None


def read_snapshot(path: Path) -> tuple[dict[str, Any], CategoryIndex]:
    """The header and index of a snapshot file of this ``LAYOUT`` whose contents match their checksum, whatever
    database or category it names. Raises SnapshotRefused for anything else (another layout, a cut-off or
    damaged file, not a snapshot at all); OSError when it cannot be read."""
    with path.open("rb") as file:
        prelude = file.read(_PRELUDE.size)
        if len(prelude) < _PRELUDE.size or not prelude.startswith(MAGIC):
            raise SnapshotRefused("not a snapshot (no snapshot prelude)")
        _magic, layout, size, digest = _PRELUDE.unpack(prelude)
        if layout != LAYOUT:
            raise SnapshotRefused(f"written with index layout {layout}; this netlookup reads layout {LAYOUT}")
        header = _load(file)
        if not isinstance(header, dict):
            raise SnapshotRefused(f"not a snapshot header: {header!r:.200}")
        body = file.tell()
        check, left = hashlib.blake2b(digest_size=32), size
        while left > 0 and (chunk := file.read(min(left, _READ_CHUNK))):
            check.update(chunk)
            left -= len(chunk)
        if left or file.read(1) or check.digest() != digest:
            raise SnapshotRefused("damaged: its contents do not match their length and checksum")
        file.seek(body)
        index = _load(file)
    if not isinstance(index, CategoryIndex) or index.version != header.get("version"):
        raise SnapshotRefused("the file's index does not match its header")
    return header, index


def load_snapshot(directory: Path, database_id: str, category: Category) -> CategoryIndex | None:
    """The category's snapshot, or None when there is none. Raises SnapshotRefused for a file that is not a
    whole, undamaged snapshot of this layout, netlookup version, database and category."""
    path = snapshot_path(directory, database_id, category)
    try:
        header, index = read_snapshot(path)
    except FileNotFoundError:
        return None
    expected = _identity(database_id, category)
    if any(header.get(key) != value for key, value in expected.items()) or index.category != category:
        named = {key: header.get(key) for key in expected}
        raise SnapshotRefused(f"made for another netlookup version, database or category: {named}")
    return index


def remove_abandoned(directory: Path) -> list[Path]:
    """Delete temporary files left by a process that died while saving (its pid no longer runs); returns them."""
    removed = []
    for path in directory.glob(".*.tmp"):
        match = _TEMPORARY.match(path.name)
        if match is None or _running(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def remove_other_databases(directory: Path, database_id: str) -> list[tuple[Path, int]]:
    """Delete the snapshots of other databases (a database dropped and made again has a new identity: its old
    files can never be used again, and at 10x the demo data they are 600 MB); returns them with their sizes."""
    removed = []
    for path in directory.glob(f"*{SUFFIX}"):
        match = _SNAPSHOT.match(path.name)
        if match is None or match["database"] == database_id:
            continue
        with contextlib.suppress(OSError):
            size = path.stat().st_size
            path.unlink()
            removed.append((path, size))
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True


class SnapshotKeeper:
    """When a node saves each category's index, and how a starting node takes it back. The first save comes
    ``delay`` seconds after a category's index first serves (the other categories' builds are done by then),
    later ones at most once per ``interval`` while the index keeps changing; each is pickled in a worker thread."""

    def __init__(
        self,
        directory: Path,
        *,
        delay: float,
        interval: float,
        current: Callable[[Category], CategoryIndex | None],
        pause: Callable[[float], Awaitable[bool]],
    ):
        """``current(category)`` is the index the node serves now; ``pause(s)`` waits s seconds and says whether
        the process is stopping."""
        self.directory = directory
        self._delay = delay
        self._interval = interval
        self._current = current
        self._pause = pause
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._database_id: str | None = None
        # The index each category's file holds, by a weak reference: a strong one kept the segments of an index
        # the node had since replaced (merged away, at 5x the demo data 300 MB) until the next save.
        self._saved: dict[Category, weakref.ref[CategoryIndex]] = {}
        self._last_saved: dict[Category, float] = {}
        self._savers: dict[Category, asyncio.Task[None]] = {}

    def start(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        with contextlib.suppress(OSError):
            for path in remove_abandoned(self.directory):
                log.info("index snapshot: removed an abandoned temporary file %s", path.name)

    async def _identity(self) -> str:
        if self._database_id is None:
            assert self._sessionmaker is not None, "start() first"
            async with self._sessionmaker() as session:
                found = (await session.execute(select(tables.database_identity.c.uuid))).scalar()
            if not found:
                raise SnapshotRefused("the database has no identity row (run `netlookup db upgrade`)")
            self._database_id = str(found)
            # The directory is this node's: what another database left there is of no use to it.
            for path, size in await asyncio.to_thread(remove_other_databases, self.directory, self._database_id):
                log.info("index snapshot of another database removed: %s (%d bytes)", path.name, size)
        return self._database_id

    async def restored(self, category: Category) -> tuple[CategoryIndex, set[str]] | None:
        """The category's snapshot and the sources that moved since it was saved (to re-read before it serves);
        None when there is no usable one: the category is then read whole."""
        try:
            database_id = await self._identity()
            snapshot = await asyncio.to_thread(load_snapshot, self.directory, database_id, category)
            if snapshot is None:
                return None
            assert self._sessionmaker is not None
            async with self._sessionmaker() as session:
                current = await data_version(session, category)
                stored = await per_source(session, category, "version")
        except (SnapshotRefused, OSError) as exc:
            log.warning("index snapshot not used category=%s: %s", category, exc)
            return None
        if current < snapshot.version:  # the database went back (a restore): what the snapshot holds may be gone
            log.warning(
                "index snapshot not used category=%s: it holds version %d, the database only %d",
                category,
                snapshot.version,
                current,
            )
            return None
        moved = snapshot.moved(stored)
        log.info(
            "index snapshot loaded category=%s version=%d sources_moved=%d", category, snapshot.version, len(moved)
        )
        return snapshot, moved

    def holds(self, category: Category, index: CategoryIndex) -> None:
        """``index`` is what the category's file already holds (restored as it was saved): nothing to save."""
        self._saved[category] = weakref.ref(index)

    def schedule(self, category: Category) -> None:
        """Save the category's current index in a while, unless a save is already coming."""
        running = self._savers.get(category)
        if running is None or running.done():
            self._savers[category] = asyncio.create_task(
                self._save(category), name=f"index-snapshot-{category}", context=contextvars.Context()
            )

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._savers.values())

    async def _save(self, category: Category) -> None:
        while True:
            last = self._last_saved.get(category)
            delay = self._delay if last is None else last + self._interval - time.monotonic()
            if await self._pause(max(delay, 0.0)):
                return
            index = self._current(category)
            saved = self._saved.get(category)
            if index is None or (saved is not None and saved() is index):
                return
            started = time.perf_counter()
            self._last_saved[category] = time.monotonic()
            try:
                database_id = await self._identity()
                size = await asyncio.to_thread(save_snapshot, self.directory, database_id, index)
            except (OSError, SnapshotRefused, pickle.PicklingError) as exc:
                log.warning("index snapshot not saved category=%s: %s: %s", category, type(exc).__name__, exc)
                return
            self._saved[category] = weakref.ref(index)
            log.info(
                "index snapshot saved category=%s version=%d records=%d bytes=%d took_ms=%.0f",
                category,
                index.version,
                index.size,
                size,
                (time.perf_counter() - started) * 1000,
            )
            del index  # not held through the pause before the next save
