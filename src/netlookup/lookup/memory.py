"""In-process lookup indexes: the same answers as the SQL path, from memory, with each record's JSON rendered once.

Pure code over plain data.

Layout: a category's index is a handful of immutable *segments*. A segment holds whole sources: their records
in flat arrays (network starts, source codes, lines, ids, ports, protocol and group codes, offsets) and one
buffer of pre-rendered JSON, about 60 bytes of arrays per record besides its JSON. acl/sg records are sorted by
(family, prefix length, network start, source, line, id), so a covering lookup is one binary search per present
prefix length, and a match is a slice of the buffer. lb/f5 segments keep their addresses (VIPs,
destinations, members) as a sorted array of points and the few network destinations (F5 wildcard virtuals)
as a list.

Refresh: an import or delete of a source builds a segment of that source only; ``CategoryIndex.replaced``
returns a new index in which that segment serves the source and the older segments no longer do (each segment
carries the set of its sources it still serves). Which read wins is decided by its data version (the
``data_versions`` clock the read was made at): a read never replaces a newer one. Segments whose sources have
all moved on are dropped; the rest are merged into one in the background (``netlookup.lookup.merging``), so that
a lookup costs the same however the index got there.
"""

from __future__ import annotations

import heapq
import mmap
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add, and_, itemgetter, sub
from typing import Any, Literal

import orjson

from netlookup.categories import SPECS, Category
from netlookup.lookup.request import LookupOptions, Mode
from netlookup.lookup.sql import PROTOCOLS_ADMITTING_ALL
from netlookup.networks import MAX_PREFIX, Prefix

CategoryResult = dict[str, Any]

NO_PORT = -1
NO_LINE = -(2**63)  # a record without a line sorts first, as SQL orders NULL
# Records copied per step when a segment's JSON is put in sort order.
SORT_COPY_RECORDS = 50_000


def _answer(total: int, kept: int, chunks: Sequence[bytes]) -> CategoryResult:
    """A category result whose ``matches`` is one pre-rendered JSON array: serialising the response copies it
    as it is instead of walking a list of records."""
    return {"total": total, "truncated": total > kept, "matches": orjson.Fragment(b"[" + b",".join(chunks) + b"]")}


def _addr_int(value: bytes) -> int:
    return int.from_bytes(value, "big")


WORD = (1 << 64) - 1
BIG: Literal["big"] = "big"
_BETWEEN_RECORDS = re.compile(rb',\{"id":')


class Addresses:
    """Sorted addresses of one family in flat arrays: IPv4 as one 32-bit array, IPv6 as high and low 64-bit
    halves (no Python int per address: long-lived small objects scattered among a build's garbage keep the
    allocator's arenas from being returned to the system)."""

    __slots__ = ("high", "low", "wide")

    def __init__(self, family: int):
        self.wide = family == 6
        self.high = array("Q" if self.wide else "I")
        self.low = array("Q")

    def append(self, value: int) -> None:
        if self.wide:
            self.high.append(value >> 64)
            self.low.append(value & WORD)
        else:
            self.high.append(value)

    def extend(self, values: Sequence[int]) -> None:
        if self.wide:
            self.high.extend([value >> 64 for value in values])
            self.low.extend([value & WORD for value in values])
        else:
            self.high.extend(values)

    def __len__(self) -> int:
        return len(self.high)

    def __getitem__(self, i: int) -> int:
        return (self.high[i] << 64 | self.low[i]) if self.wide else self.high[i]

    def left(self, key: int, lo: int, hi: int) -> int:
        """The first position in [lo, hi) holding an address >= key."""
        return self._search(bisect_left, key, lo, hi)

    def right(self, key: int, lo: int, hi: int) -> int:
        """The first position in [lo, hi) holding an address > key."""
        return self._search(bisect_right, key, lo, hi)

    def _search(self, bisect: Callable[..., int], key: int, lo: int, hi: int) -> int:
        if not self.wide:
            return bisect(self.high, key, lo, hi)
        # The run of equal high halves, then the low half within it.
        top, bottom = key >> 64, key & WORD
        a = bisect_left(self.high, top, lo, hi)
        b = bisect_right(self.high, top, a, hi)
        return bisect(self.low, bottom, a, b) if a < b else a


class _Codes:
    """Values that repeat across records (sources, protocols, groups) stored once, records holding a code."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}
        self.values: list[Any] = []
        self.counts: list[int] = []  # records per value, kept by ``counted``

    def code(self, value: Any) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.values)
            self.values.append(value)
            self.counts.append(0)
        return code

    def counted(self, value: Any) -> int:
        """``code``, counting one more record of the value (sources: records per source)."""
        code = self.code(value)
        self.counts[code] += 1
        return code

    def coded(
        self, column: Sequence[Any], *, key: Callable[[Any], Any] | None = None, counted: bool = False
    ) -> Iterable[int]:
        """The codes of a column's values (of ``key(value)`` when given), a C-level map per column: each
        distinct value is looked at once. ``counted`` adds the column's records to each value's count."""
        distinct = dict.fromkeys(column)
        codes = {value: self.code(value if key is None else key(value)) for value in distinct}
        if counted:
            for value, n in Counter(column).items():
                self.counts[codes[value]] += n
        return map(codes.__getitem__, column)


def _picker(order: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """``pick(values)``: the values at the positions of ``order``, gathered in C (``itemgetter``)."""
    if len(order) > 1:
        return itemgetter(*order)
    return lambda values: [values[i] for i in order]


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def _picklable(fields: dict[str, Any]) -> dict[str, Any]:
    """A segment's fields as it is pickled (snapshots, build workers): its buffer as bytes, since a memory map
    (what a merge fills) does not pickle."""
    state = dict(fields)
    if isinstance(state["blob"], mmap.mmap):
        state["blob"] = state["blob"][:]
    return state


@dataclass(eq=False, repr=False)
class NetSegment:
    """acl/sg records of some sources, sorted by (family, prefix_len, start, source, line, id)."""

    category: Category
    sources: tuple[str, ...]
    source_sizes: tuple[int, ...]
    protocols: tuple[str | None, ...]
    group_blob: bytes  # the best-groups' keys (JSON of their values), one after another, ending at group_ends
    group_ends: array[int]
    # every record's JSON in record order, a comma between two records; a merge fills an anonymous memory map
    # (slices of either are bytes)
    blob: bytes | mmap.mmap
    json_start: array[int]  # where record i's JSON is in ``blob``
    json_end: array[int]
    src: array[int]
    line: array[int]
    rid: array[int]
    port_lo: array[int]
    port_hi: array[int]
    proto: array[int]
    grp: array[int]
    starts: dict[int, Addresses]  # family → starts of that family's records (index = record - first[family])
    first: dict[int, int]  # family → index of its first record
    bounds: dict[tuple[int, int], tuple[int, int]]  # (family, prefix_len) → [lo, hi) record indexes

    @property
    def size(self) -> int:
        return len(self.src)

    def __repr__(self) -> str:  # the generated one renders the whole buffer: seconds for a large segment
        return f"<NetSegment {self.category} sources={len(self.sources)} records={self.size}>"

    def __getstate__(self) -> dict[str, Any]:
        return _picklable(self.__dict__)

    def key(self, i: int) -> tuple[str, int, int]:
        return (self.sources[self.src[i]], self.line[i], self.rid[i])

    def json(self, i: int) -> bytes:
        return self.blob[self.json_start[i] : self.json_end[i]]

    def group(self, i: int) -> bytes:
        code = self.grp[i]
        return self.group_blob[self.group_ends[code] : self.group_ends[code + 1]]


class NetSegmentBuilder:
    """Rows in any order, in chunks; ``finish`` sorts them and makes the segment. Rows carry the public fields,
    then prefix_len, family, net_start, port_lo, port_hi (that order). Sorting here, not in SQL: MariaDB sorts
    750,000 wide rows on disk (18 s) where it streams them unsorted in 1.5 s."""

    def __init__(self, category: Category):
        self.category = category
        self.names = (*SPECS[category].public_fields, "prefix_len")
        assert self.names[0] == "id", "records are told apart in a chunk's JSON by their leading id"
        self.acl = category == "acl"
        self.sources, self.protocols, self.groups = _Codes(), _Codes(), _Codes()
        # The records' JSON, one chunk's array at a time, in one growing buffer; record i is at
        # [begins[i], ends[i]) (a comma between two records).
        self.unsorted = bytearray()
        self.begins, self.ends = array("Q"), array("Q")
        self.family, self.prefix_len, self.starts = array("B"), array("B"), []  # type: ignore[var-annotated]
        self.src, self.line, self.rid = array("I"), array("q"), array("q")
        self.port_lo, self.port_hi, self.proto, self.grp = array("i"), array("i"), array("H"), array("I")

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        """A column at a time: each field of the chunk goes through one C-level ``extend`` or ``map`` instead of
        a Python statement per record (that loop was half of a start-up build)."""
        chunk = rows if isinstance(rows, list) else list(rows)
        if not chunk:
            return
        names, width = self.names, len(self.names)
        spec = SPECS[self.category]
        fields = spec.public_fields
        columns = list(zip(*chunk, strict=True))
        self.family.extend(columns[width])
        self.prefix_len.extend(columns[width - 1])
        self.starts.extend(map(int.from_bytes, columns[width + 1], repeat(BIG)))
        self.src.extend(self.sources.coded(columns[fields.index("source")], counted=True))
        if self.acl:
            self.line.extend([NO_LINE if line is None else line for line in columns[fields.index("line")]])
        else:
            self.line.extend(repeat(NO_LINE, len(chunk)))
        self.rid.extend(columns[0])
        lows, highs = columns[width + 2], columns[width + 3]
        self.port_lo.extend([NO_PORT if low is None else low for low in lows])
        self.port_hi.extend([NO_PORT if low is None else high or low for low, high in zip(lows, highs, strict=True)])
        self.proto.extend(self.protocols.coded(columns[fields.index("protocol")], key=_lower))
        groups = zip(*(columns[fields.index(name)] for name in spec.best_partition), strict=True)
        self.grp.extend(self.groups.coded(list(groups)))
        # The chunk as one JSON array (one ``orjson.dumps`` call per record costs twelve times as much), then
        # where each record starts: a record is a flat object whose first key is "id", and a quote inside a
        # string is escaped, so ',{"id":' occurs only between two records.
        text = orjson.dumps(list(map(dict, map(zip, repeat(names), chunk))))
        base = len(self.unsorted) - 1  # text[0] is the array's "["
        self.unsorted += memoryview(text)[1:-1]
        commas = [match.start() for match in _BETWEEN_RECORDS.finditer(text)]
        if len(commas) != len(chunk) - 1:
            raise ValueError(f"{len(chunk)} {self.category} records rendered as {len(commas) + 1} JSON objects")
        self.begins.append(base + 1)
        self.begins.extend([base + comma + 1 for comma in commas])
        self.ends.extend([base + comma for comma in commas])
        self.ends.append(base + len(text) - 1)

    def _order(self, rank: Sequence[int]) -> tuple[list[int], list[tuple[int, int, int, int]]]:
        """Record positions in (family, prefix_len, start, source, line, id) order, and the runs of equal
        (family, prefix_len) in it as (family, prefix_len, lo, hi). Each key is packed into one integer with the
        position in its low bits, each field only as wide as this segment's values need (IPv4 starts 32 bits when
        there is no IPv6 record, no line bits for sg), so the sort compares small plain ints and a run's end is
        one binary search."""
        count = len(self.src)
        if not count:
            return [], []
        wide = 6 in self.family
        start_bits = 128 if wide else 32
        line_low, rid_low = min(self.line), min(self.rid)
        rank_bits = (len(rank) - 1).bit_length()
        line_bits = (max(self.line) - line_low).bit_length()
        rid_bits = (max(self.rid) - rid_low).bit_length()
        position_bits = (count - 1).bit_length()
        tail = rank_bits + line_bits + rid_bits + position_bits
        keys = [
            (
                (
                    ((((family >> 1 & 1) << 8 | length) << start_bits | start) << rank_bits | rank[src]) << line_bits
                    | line - line_low
                )
                << rid_bits
                | rid - rid_low
            )
            << position_bits
            | i
            for i, (family, length, start, src, line, rid) in enumerate(
                zip(self.family, self.prefix_len, self.starts, self.src, self.line, self.rid, strict=True)
            )
        ]
        keys.sort()
        runs = []
        lo, shift = 0, start_bits + tail
        while lo < count:
            head = keys[lo] >> shift  # (family is 6) << 8 | prefix_len
            hi = bisect_left(keys, (head + 1) << shift, lo)
            runs.append((6 if head >> 8 else 4, head & 0xFF, lo, hi))
            lo = hi
        return list(map(and_, keys, repeat((1 << position_bits) - 1))), runs

    def _sorted_json(self, begins: array[int], ends: array[int]) -> tuple[bytes, array[int], array[int]]:
        """The records' JSON in sort order, one comma between two records, and where each record is: a run of
        records is then one slice of the buffer (``blob[json_start[a]:json_end[b - 1]]``), already a valid
        comma-separated list. Copied a slice of records at a time, so the copy never holds a Python object per
        record at once."""
        view = memoryview(self.unsorted)
        pieces = []
        for lo in range(0, len(begins), SORT_COPY_RECORDS):
            hi = lo + SORT_COPY_RECORDS
            pieces.append(b",".join(map(view.__getitem__, map(slice, begins[lo:hi], ends[lo:hi]))))
        blob = b",".join(pieces)
        del pieces
        view.release()
        self.unsorted = bytearray()
        sizes = list(map(sub, ends, begins))
        json_start = array("Q", accumulate(map(add, sizes, repeat(1)), initial=0))
        json_start.pop()
        return blob, json_start, array("Q", map(add, json_start, sizes))

    def finish(self) -> NetSegment:
        # Source codes are renumbered in name order, so that within a run of one network start the records of
        # each source are one block (see _blocks).
        by_name = sorted(range(len(self.sources.values)), key=self.sources.values.__getitem__)
        rank = [0] * len(by_name)
        for position, code in enumerate(by_name):
            rank[code] = position
        order, runs = self._order(rank)
        group_keys = [orjson.dumps(values) for values in self.groups.values]
        pick = _picker(order)

        def permuted(values: array[int]) -> array[int]:
            return array(values.typecode, pick(values))

        blob, json_start, json_end = self._sorted_json(permuted(self.begins), permuted(self.ends))
        starts_all = pick(self.starts)
        starts: dict[int, Addresses] = {}
        first: dict[int, int] = {}
        bounds: dict[tuple[int, int], tuple[int, int]] = {}
        for family, length, lo, hi in runs:
            bounds[family, length] = (lo, hi)
            if family not in first:
                first[family] = lo
                starts[family] = Addresses(family)
            starts[family].extend(starts_all[lo:hi])
        return NetSegment(
            self.category,
            tuple(self.sources.values[code] for code in by_name),
            tuple(self.sources.counts[code] for code in by_name),
            tuple(self.protocols.values),
            b"".join(group_keys),
            array("Q", accumulate((len(key) for key in group_keys), initial=0)),
            blob,
            json_start,
            json_end,
            array("I", map(rank.__getitem__, pick(self.src))),
            permuted(self.line),
            permuted(self.rid),
            permuted(self.port_lo),
            permuted(self.port_hi),
            permuted(self.proto),
            permuted(self.grp),
            starts,
            first,
            bounds,
        )


@dataclass(eq=False, repr=False)
class AddrSegment:
    """lb/f5 records of some sources: JSON heads (no closing brace), and their addresses as sorted points."""

    category: Category
    sources: tuple[str, ...]
    source_sizes: tuple[int, ...]
    blob: bytes | mmap.mmap  # as a network segment's
    offsets: array[int]
    src: array[int]
    rid: array[int]
    port: array[int]
    # family → (sorted addresses, record index per address, role per address: 0 VIP/destination, 1 member)
    points: dict[int, tuple[Addresses, array[int], array[int]]]
    # family → (start, end, prefix_len, record index) of network destinations
    networks: dict[int, list[tuple[int, int, int, int]]]

    @property
    def size(self) -> int:
        return len(self.src)

    def __repr__(self) -> str:  # the generated one renders the whole buffer: seconds for a large segment
        return f"<AddrSegment {self.category} sources={len(self.sources)} records={self.size}>"

    def __getstate__(self) -> dict[str, Any]:
        return _picklable(self.__dict__)

    def head(self, i: int) -> bytes:
        return self.blob[self.offsets[i] : self.offsets[i + 1]]


def build_address_segment(category: Category, rows: Iterable[Sequence[Any]], points: Iterable[Any]) -> AddrSegment:
    """``rows``: public fields (id first); ``points``: (record_id, family, addr, role, prefix_len, addr_end)
    sorted by (family, addr)."""
    names = SPECS[category].public_fields
    source_at, port_at, members_at = names.index("source"), names.index("port"), names.index("members")
    sources = _Codes()
    blob = bytearray()
    offsets, src, rid, port = array("Q", [0]), array("I"), array("q"), array("i")
    by_id: dict[int, int] = {}
    for row in rows:
        match = dict(zip(names, row, strict=True))
        match["members"] = orjson.Fragment(row[members_at] or "[]")
        by_id[row[0]] = len(src)
        src.append(sources.counted(row[source_at]))
        rid.append(row[0])
        port.append(NO_PORT if row[port_at] is None else row[port_at])
        blob += orjson.dumps(match)[:-1]
        offsets.append(len(blob))
    point_arrays: dict[int, tuple[Addresses, array[int], array[int]]] = {}
    networks: dict[int, list[tuple[int, int, int, int]]] = {}
    for record_id, family, addr, role, prefix_len, addr_end in points:
        index = by_id.get(record_id)
        if index is None:
            continue
        if addr_end is not None:
            networks.setdefault(family, []).append((_addr_int(addr), _addr_int(addr_end), prefix_len, index))
            continue
        arrays = point_arrays.get(family)
        if arrays is None:
            arrays = point_arrays[family] = (Addresses(family), array("I"), array("B"))
        arrays[0].append(_addr_int(addr))
        arrays[1].append(index)
        arrays[2].append(role)
    names_of, sizes = tuple(sources.values), tuple(sources.counts)
    return AddrSegment(category, names_of, sizes, bytes(blob), offsets, src, rid, port, point_arrays, networks)


Segment = NetSegment | AddrSegment


@dataclass(frozen=True, eq=False)
class Part:
    """A segment as one index serves it: ``live`` says which of its sources (by code) it still serves; None,
    all of them."""

    segment: Segment
    live: bytes | None = None

    def serves(self, code: int) -> bool:
        return self.live is None or self.live[code] == 1

    @property
    def size(self) -> int:
        sizes = self.segment.source_sizes
        return sum(sizes) if self.live is None else sum(n for n, on in zip(sizes, self.live, strict=True) if on)

    def served(self) -> list[str]:
        """The names of the sources this part serves."""
        return [name for code, name in enumerate(self.segment.sources) if self.serves(code)]

    def without(self, sources: set[str]) -> Part | None:
        """This part no longer serving ``sources``; None when it then serves nothing."""
        names = self.segment.sources
        if not sources.intersection(names):
            return self
        live = bytes(1 if self.serves(code) and name not in sources else 0 for code, name in enumerate(names))
        if not any(live):
            return None
        return Part(self.segment, None if all(live) else live)


@dataclass(frozen=True, eq=False)
class CategoryIndex:
    """One category's records in memory: immutable; a change makes a new index (``replaced``).

    ``known`` maps each source read so far to the data version of that read (a source absent at that version is
    known to be deleted); sources not in ``known`` are absent as of ``floor``, the version of the last full read.
    """

    category: Category
    parts: tuple[Part, ...]
    known: Mapping[str, int]
    floor: int
    size: int = 0
    # network categories: family → [(prefix_len, parts holding it)], longest first
    lengths: dict[int, list[tuple[int, list[Part]]]] = field(default_factory=dict)

    @classmethod
    def of(cls, category: Category, parts: Iterable[Part], known: Mapping[str, int], floor: int) -> CategoryIndex:
        parts = tuple(parts)
        lengths: dict[int, dict[int, list[Part]]] = {}
        for part in parts:
            if isinstance(part.segment, NetSegment):
                for family, length in part.segment.bounds:
                    lengths.setdefault(family, {}).setdefault(length, []).append(part)
        ordered = {f: sorted(by_len.items(), key=lambda item: -item[0]) for f, by_len in lengths.items()}
        return cls(category, parts, dict(known), floor, sum(part.size for part in parts), ordered)

    @property
    def version(self) -> int:
        """The newest data version any of its reads was made at."""
        return max([self.floor, *self.known.values()])

    def serves(self) -> set[str]:
        return {name for part in self.parts for name in part.served()}

    def moved(self, stored: Mapping[str, int]) -> set[str]:
        """Given the database's sources and their versions, the sources to re-read: those whose version is past
        what this index read of them, and those it serves that no longer exist."""
        moved = {name for name, version in stored.items() if version > self.known.get(name, self.floor)}
        return moved | {name for name in self.serves() if name not in stored}

    def replaced(self, segment: Segment | None, sources: Iterable[str], version: int, *, full: bool) -> CategoryIndex:
        """The index once a read made at data version ``version`` is applied: ``segment`` holds that read's records
        of ``sources`` (sources it read and found none of are deleted). With ``full`` the read covered every
        source. A source takes the read only when the read is newer than what the index holds of it."""
        read = set(sources) | (set(self.known) if full else set())
        newer = {s for s in read if version > self.known.get(s, self.floor)}
        known = dict(self.known)
        known.update(dict.fromkeys(newer, version))
        floor = max(self.floor, version) if full else self.floor
        parts = [kept for part in self.parts if (kept := part.without(newer)) is not None]
        if segment is not None and segment.size:
            whole = Part(segment)
            taken = whole.without({s for s in segment.sources if s not in newer})
            if taken is not None:
                parts.append(taken)
        return type(self).of(self.category, parts, known, floor)

    def needs_merge(self) -> bool:
        """More than one segment, or one that keeps records of sources it no longer serves: a merge would make
        lookups cheaper (see ``netlookup.lookup.merging``)."""
        return len(self.parts) > 1 or any(part.live is not None for part in self.parts)

    def merged(self, segment: Segment, replaced: Iterable[Segment]) -> CategoryIndex:
        """This index with ``segment`` (a merge of the segments ``replaced``, as they were served when the merge
        began) in their place. It serves only the sources those segments still serve here: a source refreshed or
        deleted while the merge ran is served by its newer segment, or not at all, never from the merge."""
        gone = set(replaced)
        still = {name for part in self.parts if part.segment in gone for name in part.served()}
        parts = [part for part in self.parts if part.segment not in gone]
        whole = Part(segment).without(set(segment.sources) - still) if segment.size else None
        if whole is not None:
            parts.insert(0, whole)
        return type(self).of(self.category, parts, self.known, self.floor)

    def lookup(self, prefix: Prefix, options: LookupOptions) -> CategoryResult:
        if SPECS[self.category].network:
            return _network_lookup(self, prefix, options)
        return _address_lookup(self, prefix, options)


def _admits(segment: NetSegment, i: int, port: int | None, protocol: str | None) -> bool:
    if port is not None:
        low = segment.port_lo[i]
        if low != NO_PORT and not low <= port <= segment.port_hi[i]:
            return False
    if protocol is not None:
        value = segment.protocols[segment.proto[i]]
        if value is not None:
            return value in PROTOCOLS_ADMITTING_ALL or value == protocol
    return True


def _network_lookup(index: CategoryIndex, prefix: Prefix, options: LookupOptions) -> CategoryResult:
    family, query_len, mode, limit = prefix.family, prefix.prefix_len, options.mode, options.limit
    port = options.port
    protocol = options.protocol.strip().lower() if options.protocol is not None else None
    simple = port is None and protocol is None and not options.best
    low, high = _addr_int(prefix.start), _addr_int(prefix.end)
    width = MAX_PREFIX[family]
    total = kept = 0
    chunks: list[bytes] = []
    best: dict[bytes, int] = {}
    for length, parts in index.lengths.get(family, ()):
        covering = length <= query_len and mode is not Mode.within
        within = length >= query_len and mode is not Mode.covering
        if not (covering or within):
            continue
        if within:
            first, last = low, high
        else:
            shift = width - length
            first = last = (low >> shift) << shift
        runs: list[tuple[Part, int, int]] = []
        one_start = True  # every run holds one network start
        for part in parts:
            segment = part.segment
            assert isinstance(segment, NetSegment)
            lo, hi = segment.bounds[family, length]
            base, starts = segment.first[family], segment.starts[family]
            if starts.wide:
                a = starts.left(first, lo - base, hi - base)
                b = starts.right(last, a, hi - base)
                if a < b:
                    runs.append((part, a + base, b + base))
                    one_start = one_start and starts[a] == starts[b - 1]
            else:  # IPv4, the common case: the array searched directly (two calls fewer per probe)
                narrow, end = starts.high, hi - base
                a = bisect_left(narrow, first, lo - base, end)
                if first != last:
                    b = bisect_right(narrow, last, a, end)
                else:  # one network start: most lengths hold none, seen from ``a`` alone
                    b = bisect_right(narrow, last, a, end) if a < end and narrow[a] == first else a
                if a < b:
                    runs.append((part, a + base, b + base))
                    one_start = one_start and narrow[a] == narrow[b - 1]
        if not runs:
            continue
        if simple and one_start:
            # The common case: runs of one network start (in one segment, or several: a sharded build, fresh
            # refreshes, sources some segment no longer serves): count them, take the first matches' JSON in
            # (source, line, id) order, a block's JSON being one slice of its segment's buffer.
            if kept >= limit and all(part.live is None for part, _a, _b in runs):
                total += sum(b - a for _part, a, b in runs)
                continue
            for segment, a, b in _blocks(runs):
                total += b - a
                if kept < limit:
                    take = min(b - a, limit - kept)
                    chunks.append(segment.blob[segment.json_start[a] : segment.json_end[a + take - 1]])
                    kept += take
            continue
        for segment, i in _in_order(runs, sorted_runs=first == last or (len(runs) == 1 and one_start)):
            if not _admits(segment, i, port, protocol):
                continue
            if options.best and best.setdefault(segment.group(i), length) != length:
                continue
            total += 1
            if kept < limit:
                chunks.append(segment.json(i))
                kept += 1
    return _answer(total, kept, chunks)


def _blocks(runs: list[tuple[Part, int, int]]) -> list[tuple[NetSegment, int, int]]:
    """The served records of ``runs`` (each of one network start) as blocks in (source, line, id) order: one run
    of a segment serving all its sources as it is; otherwise cut into one block per source (a run is sorted by
    (source code, line, id), codes follow name order, and the segments' served sources are disjoint), the
    sources no longer served left out, in source-name order. The cost is per source in the run, not per record."""
    if len(runs) == 1 and runs[0][0].live is None:  # sorted already
        part, a, b = runs[0]
        assert isinstance(part.segment, NetSegment)
        return [(part.segment, a, b)]
    blocks: list[tuple[str, NetSegment, int, int]] = []
    for part, a, b in runs:
        segment = part.segment
        assert isinstance(segment, NetSegment)
        src, i = segment.src, a
        while i < b:
            code = src[i]
            j = bisect_right(src, code, i, b)
            if part.serves(code):
                blocks.append((segment.sources[code], segment, i, j))
            i = j
    if len(runs) > 1:
        blocks.sort(key=itemgetter(0))
    return [(segment, a, b) for _name, segment, a, b in blocks]


def _in_order(runs: list[tuple[Part, int, int]], *, sorted_runs: bool) -> Iterable[tuple[NetSegment, int]]:
    """The served records of ``runs`` in (source, line, id) order. Each run of one network start is sorted
    already (merged when there are several); a range of starts is sorted here."""
    lists: list[list[tuple[tuple[str, int, int], NetSegment, int]]] = []
    for part, a, b in runs:
        segment = part.segment
        assert isinstance(segment, NetSegment)
        lists.append([(segment.key(i), segment, i) for i in range(a, b) if part.serves(segment.src[i])])
    if sorted_runs:
        merged: Iterable[tuple[tuple[str, int, int], NetSegment, int]] = (
            lists[0] if len(lists) == 1 else heapq.merge(*lists, key=lambda item: item[0])
        )
    else:
        merged = sorted((item for items in lists for item in items), key=lambda item: item[0])
    return ((segment, i) for _key, segment, i in merged)


def _network_touches(start: int, end: int, low: int, high: int, mode: Mode) -> bool:
    """A network destination as acl/sg networks match: covering contains the query, within lies inside it,
    overlap either."""
    if mode is Mode.covering:
        return start <= low and end >= high
    if mode is Mode.within:
        return start >= low and end <= high
    return start <= high and end >= low


def _address_lookup(index: CategoryIndex, prefix: Prefix, options: LookupOptions) -> CategoryResult:
    family, width = prefix.family, MAX_PREFIX[prefix.family]
    low, high = _addr_int(prefix.start), _addr_int(prefix.end)
    # (part number, record) → (role, prefix_len) of what matched: the destination before a member
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for number, part in enumerate(index.parts):
        segment = part.segment
        assert isinstance(segment, AddrSegment)
        arrays = segment.points.get(family)
        if arrays is not None:
            addrs, records, roles = arrays
            a = addrs.left(low, 0, len(addrs))
            for j in range(a, addrs.right(high, a, len(addrs))):
                key, role = (number, records[j]), roles[j]
                seen = found.get(key)
                if seen is None or role < seen[0]:
                    found[key] = (role, width)
        for start, end, length, i in segment.networks.get(family, ()):
            if _network_touches(start, end, low, high, options.mode):
                found[number, i] = (0, length)
    port = options.port
    hits = []
    for (number, i), (role, length) in found.items():
        part = index.parts[number]
        segment = part.segment
        assert isinstance(segment, AddrSegment)
        if not part.serves(segment.src[i]):
            continue
        if port is not None and segment.port[i] not in (NO_PORT, port):
            continue
        hits.append((-length, segment.sources[segment.src[i]], segment.rid[i], segment, i, role))
    hits.sort(key=lambda hit: hit[:3])
    names = {0: SPECS[index.category].address_field, 1: "member"}
    tails: dict[tuple[int, int], bytes] = {}  # (role, length) → the match's closing fields, rendered once
    chunks = []
    for negative, _source, _rid, segment, i, role in hits[: options.limit]:
        tail = tails.get((role, -negative))
        if tail is None:
            tail = tails[role, -negative] = f',"prefix_len":{-negative},"matched_on":"{names[role]}"}}'.encode()
        chunks.append(segment.head(i) + tail)
    return _answer(len(hits), len(chunks), chunks)
