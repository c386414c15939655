"""In-process lookup indexes: the same answers as the SQL path, from memory, with each record's JSON rendered once.

Pure code over plain data. A NetworkIndex (acl, sg) buckets records by (family, prefix length, network start); a
covering lookup probes one bucket per present length, longest first, so ``total`` is a sum of bucket sizes and
only the first ``limit`` matches are touched. An AddressIndex (lb, f5) maps each VIP/destination/member address to
its records. Both are immutable once built: a new import builds a new index and swaps it in.
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from netlookup.categories import SPECS, Category
from netlookup.lookup.request import LookupOptions, Mode
from netlookup.lookup.sql import PROTOCOLS_ADMITTING_ALL
from netlookup.networks import MAX_PREFIX, Prefix, mask_start

CategoryResult = dict[str, Any]


@dataclass(slots=True)
class NetRecord:
    """One acl/sg record as the index needs it: sort and filter keys, and its match JSON."""

    order: tuple[Any, ...]
    group: tuple[Any, ...]
    protocol: str | None
    port_lo: int | None
    port_hi: int | None
    prefix_len: int
    json: bytes


@dataclass(slots=True)
class PointRecord:
    """One lb/f5 record: sort key, port, and its JSON without the closing brace (matched_on is added per hit)."""

    order: tuple[Any, ...]
    port: int | None
    json_head: bytes


def _compact_json(value: Any) -> bytes:
    """orjson's output keeps its (page-sized) growth buffer allocated; a copy holds only the bytes. With 150,000
    records that is the difference between ~60 MB and over 1 GB."""
    return bytes(memoryview(orjson.dumps(value)))


def _result(total: int, matches: list[bytes]) -> CategoryResult:
    """A category result whose ``matches`` is one pre-rendered JSON array: serialising the response copies it
    as it is instead of walking a list of records."""
    return {
        "total": total,
        "truncated": total > len(matches),
        "matches": orjson.Fragment(b"[" + b",".join(matches) + b"]"),
    }


def _shared(value: str | None) -> str | None:
    return sys.intern(value) if value is not None else None


def _none_first(value: Any) -> tuple[int, Any]:
    return (0, 0) if value is None else (1, value)


def _admits(record: NetRecord, options: LookupOptions) -> bool:
    port, low = options.port, record.port_lo
    if port is not None and low is not None and not low <= port <= (record.port_hi if record.port_hi else low):
        return False
    if options.protocol is not None and record.protocol is not None:
        return record.protocol in PROTOCOLS_ADMITTING_ALL or record.protocol == options.protocol.strip().lower()
    return True


@dataclass
class NetworkIndex:
    """acl/sg records by (family, prefix_len) → network start → records sorted by (source, line, id)."""

    category: Category
    buckets: dict[tuple[int, int], dict[bytes, list[NetRecord]]] = field(default_factory=dict)
    # The same buckets as lists of match JSON, for the unfiltered path: one slice per bucket, no per-record work.
    rendered: dict[tuple[int, int], dict[bytes, list[bytes]]] = field(default_factory=dict)
    sorted_starts: dict[tuple[int, int], list[bytes]] = field(default_factory=dict)
    lengths: dict[int, list[int]] = field(default_factory=dict)
    size: int = 0

    def add(self, rows: Iterable[Any]) -> None:
        """Add a chunk of rows (call ``finish`` after the last one). Rows carry the public fields plus family,
        prefix_len, net_start, port_lo and port_hi."""
        names = SPECS[self.category].public_fields
        acl = self.category == "acl"
        for row in rows:
            match = {name: getattr(row, name) for name in names}
            match["prefix_len"] = row.prefix_len
            # Sources, groups, directions and protocols repeat across thousands of rows: share one string each.
            source = _shared(row.source)
            if acl:
                order: tuple[Any, ...] = (source, *_none_first(row.line), row.id)
                group: tuple[Any, ...] = (source, _shared(row.direction))
            else:
                order = (source, row.id)
                group = (_shared(row.group_id), _shared(row.direction))
            protocol = _shared(row.protocol.lower()) if row.protocol else None
            record = NetRecord(order, group, protocol, row.port_lo, row.port_hi, row.prefix_len, _compact_json(match))
            self.buckets.setdefault((row.family, row.prefix_len), {}).setdefault(row.net_start, []).append(record)
            self.size += 1

    def finish(self) -> NetworkIndex:
        for key, bucket in self.buckets.items():
            rendered = self.rendered.setdefault(key, {})
            for start, records in bucket.items():
                records.sort(key=lambda r: r.order)
                rendered[start] = [r.json for r in records]
            self.sorted_starts[key] = sorted(bucket)
            self.lengths.setdefault(key[0], []).append(key[1])
        for family in self.lengths:
            self.lengths[family].sort(reverse=True)
        return self

    def _candidates(self, prefix: Prefix, mode: Mode) -> list[list[NetRecord]]:
        """Matching record lists, longest prefix first; within one length already in (source, line, id) order."""
        groups: list[list[NetRecord]] = []
        for length in self.lengths.get(prefix.family, ()):
            key = (prefix.family, length)
            covering = length <= prefix.prefix_len and mode is not Mode.within
            within = length >= prefix.prefix_len and mode is not Mode.covering
            if within:
                starts = self.sorted_starts[key]
                low, high = bisect_left(starts, prefix.start), bisect_right(starts, prefix.end)
                bucket = self.buckets[key]
                hits = [bucket[start] for start in starts[low:high]]
                if len(hits) == 1:
                    groups.append(hits[0])
                elif hits:
                    groups.append(sorted((r for records in hits for r in records), key=lambda r: r.order))
            elif covering:
                records = self.buckets[key].get(mask_start(prefix.start, length))
                if records:
                    groups.append(records)
        return groups

    def _covering_unfiltered(self, prefix: Prefix, limit: int) -> CategoryResult:
        """The common case (covering, no port/protocol/best): one dictionary probe per present length."""
        size = len(prefix.start)
        value = int.from_bytes(prefix.start, "big")
        width = size * 8
        total = 0
        matches: list[bytes] = []
        for length in self.lengths.get(prefix.family, ()):
            if length > prefix.prefix_len:
                continue
            shift = width - length
            start = ((value >> shift) << shift).to_bytes(size, "big") if length else bytes(size)
            rendered = self.rendered[(prefix.family, length)].get(start)
            if rendered:
                total += len(rendered)
                if len(matches) < limit:
                    matches.extend(rendered[: limit - len(matches)])
        return _result(total, matches)

    def lookup(self, prefix: Prefix, options: LookupOptions) -> CategoryResult:
        unfiltered = options.port is None and options.protocol is None and not options.best
        if unfiltered and options.mode is Mode.covering:
            return self._covering_unfiltered(prefix, options.limit)
        groups = self._candidates(prefix, options.mode)
        limit = options.limit
        if unfiltered:
            total = sum(len(records) for records in groups)
            matches: list[bytes] = []
            for records in groups:
                matches.extend(r.json for r in records[: limit - len(matches)])
                if len(matches) >= limit:
                    break
            return _result(total, matches)
        best_length: dict[tuple[Any, ...], int] = {}
        total = 0
        kept: list[bytes] = []
        for records in groups:
            for record in records:
                if not _admits(record, options):
                    continue
                if options.best and best_length.setdefault(record.group, record.prefix_len) != record.prefix_len:
                    continue
                total += 1
                if len(kept) < limit:
                    kept.append(record.json)
        return _result(total, kept)


@dataclass
class AddressIndex:
    """lb/f5 records by (family, address) → [(record, role)], role 0 = VIP/destination, 1 = member; and the few
    network destinations (F5 wildcard and network virtuals) as (start, end, prefix_len, record) per family."""

    category: Category
    points: dict[tuple[int, bytes], list[tuple[PointRecord, int]]] = field(default_factory=dict)
    sorted_points: dict[int, list[bytes]] = field(default_factory=dict)
    networks: dict[int, list[tuple[bytes, bytes, int, PointRecord]]] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def build(cls, category: Category, rows: Iterable[Any], points: Iterable[Any]) -> AddressIndex:
        """``rows``: public fields; ``points``: (record_id, family, address bytes, role, prefix_len, addr_end)."""
        index = cls(category)
        names = SPECS[category].public_fields
        by_id: dict[int, PointRecord] = {}
        for row in rows:
            match = {name: getattr(row, name) for name in names}
            match["members"] = orjson.Fragment(row.members or "[]")
            by_id[row.id] = PointRecord((row.source, row.id), row.port, _compact_json(match)[:-1])
            index.size += 1
        for record_id, family, addr, role, prefix_len, addr_end in points:
            record = by_id.get(record_id)
            if record is None:
                continue
            if addr_end is not None:
                index.networks.setdefault(family, []).append((addr, addr_end, prefix_len, record))
            else:
                index.points.setdefault((family, addr), []).append((record, role))
        families: dict[int, list[bytes]] = {}
        for family, addr in index.points:
            families.setdefault(family, []).append(addr)
        index.sorted_points = {family: sorted(addrs) for family, addrs in families.items()}
        return index

    def lookup(self, prefix: Prefix, options: LookupOptions) -> CategoryResult:
        width = MAX_PREFIX[prefix.family]
        if prefix.prefix_len == width:
            hits: Sequence[tuple[PointRecord, int]] = self.points.get((prefix.family, prefix.start), ())
        else:
            addrs = self.sorted_points.get(prefix.family, [])
            low, high = bisect_left(addrs, prefix.start), bisect_right(addrs, prefix.end)
            hits = [hit for addr in addrs[low:high] for hit in self.points[(prefix.family, addr)]]
        # record → (role, prefix_len) of what matched: the destination before a member
        found: dict[int, tuple[PointRecord, int, int]] = {}
        for record, role in hits:
            seen = found.get(id(record))
            if seen is None or role < seen[1]:
                found[id(record)] = (record, role, width)
        for start, end, length, record in self.networks.get(prefix.family, ()):
            if _network_touches(start, end, prefix, options.mode):
                found[id(record)] = (record, 0, length)
        admitted = [
            hit for hit in found.values() if options.port is None or hit[0].port is None or hit[0].port == options.port
        ]
        ordered = sorted(admitted, key=lambda hit: (-hit[2], hit[0].order))
        main = SPECS[self.category].address_field
        names = {0: main, 1: "member"}
        tails: dict[tuple[int, int], bytes] = {}  # (role, length) → the match's closing fields, rendered once
        matches = []
        for record, role, length in ordered[: options.limit]:
            tail = tails.get((role, length))
            if tail is None:
                tail = tails[role, length] = f',"prefix_len":{length},"matched_on":"{names[role]}"}}'.encode()
            matches.append(record.json_head + tail)
        return _result(len(ordered), matches)


def _network_touches(start: bytes, end: bytes, prefix: Prefix, mode: Mode) -> bool:
    """A network destination as acl/sg networks match: covering contains the query, within lies inside it,
    overlap either."""
    if mode == Mode.covering:
        return start <= prefix.start and end >= prefix.end
    if mode == Mode.within:
        return start >= prefix.start and end <= prefix.end
    return start <= prefix.end and end >= prefix.start


CategoryIndex = NetworkIndex | AddressIndex
