"""Merging the segments of a category's index into one, in memory, a bounded step at a time.

A node's index grows a segment per refresh (an import or delete of one source), and an older segment keeps the
records of sources it no longer serves. Lookups cost more with every segment they search and every source they
cut around, so a merge makes one segment of what the parts serve, as a fresh build would lay it out: the same
sort order, records of sources no longer served left out. The records' JSON is copied as it was rendered (no
database read, no rendering again).

Pure code over plain data: ``merge_steps(category, parts)`` is a generator that does at most about
``STEP_RECORDS`` records' work between two ``yield``s (so the caller can let requests in between) and returns
the merged segment. Nothing it reads is changed, so readers keep using the parts meanwhile.
"""

from __future__ import annotations

import heapq
import mmap
from array import array
from collections.abc import Generator, Iterable, Sequence
from itertools import accumulate, islice, repeat
from operator import add, and_, sub
from typing import Any

from netlookup.categories import Category
from netlookup.lookup.memory import (
    Addresses,
    AddrSegment,
    NetSegment,
    Part,
    Segment,
    _Codes,
    _picker,
)

# Records handled between two yields: a step takes about 0.2 ms on a slow core (a lookup from memory, about
# 0.4 ms), so a lookup that arrives during a merge waits about that long at most. 1,024 records a step doubled
# lookup p99 during merges; a quarter of that costs a merge about a fifth more work.
STEP_RECORDS = 256

COMMA = ord(",")

Steps = Generator[None, None, Segment]

# Per-record arrays of a network segment, gathered in the merged order (the typecodes the builder uses).
_NET_FIELDS = (("src", "I"), ("line", "q"), ("rid", "q"), ("port_lo", "i"), ("port_hi", "i"), ("proto", "H"))


def merge_steps(category: Category, parts: Sequence[Part]) -> Steps:
    """Steps of merging ``parts`` (segments of one category and which of their sources each serves) into one
    segment holding exactly the records the parts serve; returns it."""
    if all(isinstance(part.segment, NetSegment) for part in parts):
        return (yield from _merge_network(category, parts))
    return (yield from _merge_addresses(category, parts))


def _chunks(lo: int, hi: int) -> range:
    return range(lo, hi, STEP_RECORDS)


def _served_ranks(parts: Sequence[Part]) -> tuple[list[str], list[list[int]], int]:
    """The served source names in name order, and per part each source code's rank among them (``dead`` for a
    source the part no longer serves)."""
    served = sorted({name for part in parts for name in part.served()})
    rank = {name: position for position, name in enumerate(served)}
    dead = len(served)
    codes = [
        [rank[name] if part.serves(code) else dead for code, name in enumerate(part.segment.sources)] for part in parts
    ]
    return served, codes, dead


def _zeros(typecode: str, count: int) -> array[int]:
    """An array of ``count`` zeros made at its final size: filled by slices, it never grows (an array that
    grows is copied whenever it moves, a few milliseconds at 5x the demo data, in one call)."""
    return array(typecode, [0]) * count


class _Filling:
    """An array of known final size filled from the front."""

    def __init__(self, typecode: str, count: int):
        self.values = _zeros(typecode, count)
        self.typecode = typecode
        self.count = 0

    def add(self, values: Iterable[int]) -> None:
        chunk = array(self.typecode, values)
        self.values[self.count : self.count + len(chunk)] = chunk
        self.count += len(chunk)


# Per-record arrays of all the parts, one after another: the fields a merged segment gathers, and where each
# record's JSON is.
_WHOLE_FIELDS = (*_NET_FIELDS, ("grp", "I"), ("json_start", "Q"), ("json_end", "Q"), ("part", "B"))


def _merge_network(category: Category, parts: Sequence[Part]) -> Generator[None, None, NetSegment]:
    segments: list[NetSegment] = [part.segment for part in parts]  # type: ignore[misc]
    served, ranks, dead = _served_ranks(parts)
    # A part serves each of its sources whole: a source's size is its size in the part that serves it.
    source_sizes = [0] * len(served)
    for segment, ranks_of in zip(segments, ranks, strict=True):
        for code, rank in enumerate(ranks_of):
            if rank != dead:
                source_sizes[rank] = segment.source_sizes[code]
    protocols = _Codes()
    groups: dict[bytes, int] = {}
    # Every part's per-record fields, one after another (record g of the whole is record g - offset[p] of part
    # p), source and protocol and group codes turned into the merged segment's; network starts as high and
    # low 64-bit halves (IPv4 in the high one).
    total = sum(segment.size for segment in segments)
    whole: dict[str, array[int]] = {}
    for name, typecode in (*_WHOLE_FIELDS, ("start_high", "Q"), ("start_low", "Q")):
        whole[name] = _zeros(typecode, total)
        yield
    offsets = list(accumulate((segment.size for segment in segments), initial=0))[:-1]  # where each part starts
    lines: list[int] = []  # the lowest and highest line of each step's records, and of their ids
    ids: list[int] = []
    for number, (segment, base) in enumerate(zip(segments, offsets, strict=True)):
        proto_codes = [protocols.code(value) for value in segment.protocols]
        group_codes: list[int] = []  # thousands of groups in a large sg segment: a step at a time too
        ends = segment.group_ends
        for lo in _chunks(0, len(ends) - 1):
            group_codes.extend(
                groups.setdefault(segment.group_blob[ends[c] : ends[c + 1]], len(groups))
                for c in range(lo, min(lo + STEP_RECORDS, len(ends) - 1))
            )
            yield
        for lo in _chunks(0, segment.size):
            hi = min(lo + STEP_RECORDS, segment.size)
            at, end = base + lo, base + hi
            whole["src"][at:end] = array("I", map(ranks[number].__getitem__, segment.src[lo:hi]))
            whole["proto"][at:end] = array("H", map(proto_codes.__getitem__, segment.proto[lo:hi]))
            whole["grp"][at:end] = array("I", map(group_codes.__getitem__, segment.grp[lo:hi]))
            for name in ("line", "rid", "port_lo", "port_hi", "json_start", "json_end"):
                whole[name][at:end] = getattr(segment, name)[lo:hi]
            whole["part"][at:end] = array("B", repeat(number, hi - lo))
            lines.extend((min(segment.line[lo:hi]), max(segment.line[lo:hi])))
            ids.extend((min(segment.rid[lo:hi]), max(segment.rid[lo:hi])))
            yield
        for first, family in sorted((segment.first[f], f) for f in segment.first):
            addresses = segment.starts[family]
            for lo in _chunks(0, len(addresses)):
                hi = min(lo + STEP_RECORDS, len(addresses))
                at, end = base + first + lo, base + first + hi
                whole["start_high"][at:end] = array("Q", addresses.high[lo:hi])
                if addresses.wide:
                    whole["start_low"][at:end] = addresses.low[lo:hi]
                yield
    widths = (_width(lines), _width(ids))
    order = _Filling("Q", sum(source_sizes))
    yield
    runs: list[tuple[int, int, int, int]] = []
    for family, length in sorted({key for s in segments for key in s.bounds}, key=lambda k: (k[0] == 6, k[1])):
        lo_out = order.count
        contributing = [
            (offsets[number] + bounds[0], offsets[number] + bounds[1])
            for number, segment in enumerate(segments)
            if (bounds := segment.bounds.get((family, length))) is not None
        ]
        yield from _order_run(contributing, whole, family == 6, dead, widths, order)
        if order.count > lo_out:
            runs.append((family, length, lo_out, order.count))
    assert order.count == len(order.values), "every served record placed once"
    return (
        yield from _gather_network(
            category, segments, (tuple(served), tuple(source_sizes)), protocols, groups, runs, order.values, whole
        )
    )


def _width(bounds: list[int]) -> tuple[int, int]:
    """The lowest of some values and the bits their span takes."""
    return (min(bounds), (max(bounds) - min(bounds)).bit_length()) if bounds else (0, 0)


def _order_run(
    contributing: list[tuple[int, int]],
    whole: dict[str, array[int]],
    wide: bool,
    dead: int,
    widths: tuple[tuple[int, int], tuple[int, int]],
    order: _Filling,
) -> Generator[None, None, None]:
    """Add to ``order`` the served records of one (family, prefix_len) run of each part, in (start, source,
    line, id) order. Each part's run is in that order already (its source codes follow name order, as the
    merged ranks do): one part's is kept as it is; several are merged a step at a time on packed integer keys.
    ``widths``: the lowest line and id of all parts and the bits their spans take."""
    src = whole["src"]
    if len(contributing) == 1:
        lo, hi = contributing[0]
        for c in _chunks(lo, hi):
            order.add([g for g in range(c, min(c + STEP_RECORDS, hi)) if src[g] != dead])
            yield
        return
    line, rid, start_high, start_low = whole["line"], whole["rid"], whole["start_high"], whole["start_low"]
    (line_low, line_bits), (rid_low, rid_bits) = widths
    rank_bits, g_bits = dead.bit_length(), len(src).bit_length()
    lists: list[list[int]] = []
    for lo, hi in contributing:
        keys: list[int] = []
        lists.append(keys)
        for c in _chunks(lo, hi):
            end = min(c + STEP_RECORDS, hi)
            keys.extend(
                (
                    (
                        ((((high << 64 | low) if wide else high) << rank_bits | s) << line_bits | n - line_low)
                        << rid_bits
                        | r - rid_low
                    )
                    << g_bits
                )
                | g
                for g, high, low, s, n, r in zip(
                    range(c, end),
                    start_high[c:end],
                    start_low[c:end],
                    src[c:end],
                    line[c:end],
                    rid[c:end],
                    strict=True,
                )
                if s != dead
            )
            yield
    # A merge of the sorted lists a step at a time (one sort of them all would hold the interpreter for tens of
    # milliseconds at 5x the demo data).
    merged = heapq.merge(*lists)
    mask = (1 << g_bits) - 1
    while chunk := list(islice(merged, STEP_RECORDS)):
        order.add(map(and_, chunk, repeat(mask)))
        yield
    yield from _emptied(lists)


def _emptied(lists: list[list[Any]]) -> Generator[None, None, None]:
    """Empty lists of many Python objects a step at a time: hundreds of thousands freed at once would hold the
    event loop for milliseconds."""
    for items in lists:
        while items:
            del items[-STEP_RECORDS * 4 :]
            yield


def _gather_network(
    category: Category,
    segments: list[NetSegment],
    sources: tuple[tuple[str, ...], tuple[int, ...]],
    protocols: _Codes,
    groups: dict[bytes, int],
    runs: list[tuple[int, int, int, int]],
    order: array[int],
    whole: dict[str, array[int]],
) -> Generator[None, None, NetSegment]:
    """The merged segment: every per-record field and the records' JSON taken in ``order``."""
    count = len(order)
    out: dict[str, array[int]] = {}
    for name, typecode in (*_NET_FIELDS, ("grp", "I"), ("json_start", "Q"), ("json_end", "Q")):
        out[name] = _zeros(typecode, count)
        yield
    position = 0  # where the next record's JSON goes in the merged buffer (a comma between two records)
    for c in _chunks(0, count):
        end = min(c + STEP_RECORDS, count)
        pick = _picker(order[c:end])
        for name, typecode in (*_NET_FIELDS, ("grp", "I")):
            out[name][c:end] = array(typecode, pick(whole[name]))
        sizes = list(map(sub, pick(whole["json_end"]), pick(whole["json_start"])))
        begins = list(accumulate(map(add, sizes, repeat(1)), initial=position))
        position = begins.pop()
        out["json_start"][c:end] = array("Q", begins)
        out["json_end"][c:end] = array("Q", map(add, begins, sizes))
        yield
    # The buffer is an anonymous memory map of its final size, filled a step at a time: its pages come zeroed
    # from the kernel as they are first written (a bytearray of that size is zeroed in one call, and one grown
    # step by step is copied whenever it moves; joining the pieces at the end copies all at once: tens of
    # milliseconds at 5x the demo data, every request waiting). Unmapped, not kept by the allocator, when the
    # segment goes.
    blob = mmap.mmap(-1, max(position - 1, 1))
    views = [memoryview(segment.blob) for segment in segments]
    starts_out = out["json_start"]
    for c in _chunks(0, count):
        pick = _picker(order[c : c + STEP_RECORDS])
        begin = starts_out[c]
        chunk = b",".join(
            [
                views[p][s:e]
                for p, s, e in zip(pick(whole["part"]), pick(whole["json_start"]), pick(whole["json_end"]), strict=True)
            ]
        )
        blob[begin : begin + len(chunk)] = chunk
        if begin + len(chunk) < len(blob):
            blob[begin + len(chunk)] = COMMA  # between this step's last record and the next one's
        yield
    for view in views:
        view.release()
    addresses: dict[int, Addresses] = {}
    first: dict[int, int] = {}
    bounds: dict[tuple[int, int], tuple[int, int]] = {}
    for family, length, lo, hi in runs:
        bounds[family, length] = (lo, hi)
        first.setdefault(family, lo)
    for family, lo in first.items():
        hi = max(b for (f, _length), (_a, b) in bounds.items() if f == family)
        target = addresses[family] = Addresses(family)
        target.high = _zeros(target.high.typecode, hi - lo)
        yield
        if target.wide:
            target.low = _zeros("Q", hi - lo)
            yield
        for c in _chunks(lo, hi):
            end = min(c + STEP_RECORDS, hi)
            pick = _picker(order[c:end])
            target.high[c - lo : end - lo] = array(target.high.typecode, pick(whole["start_high"]))
            if target.wide:
                target.low[c - lo : end - lo] = array("Q", pick(whole["start_low"]))
            yield
    group_keys = list(groups)
    return NetSegment(
        category,
        *sources,
        tuple(protocols.values),
        b"".join(group_keys),
        array("Q", accumulate((len(key) for key in group_keys), initial=0)),
        blob,
        out["json_start"],
        out["json_end"],
        out["src"],
        out["line"],
        out["rid"],
        out["port_lo"],
        out["port_hi"],
        out["proto"],
        out["grp"],
        addresses,
        first,
        bounds,
    )


def _merge_addresses(category: Category, parts: Sequence[Part]) -> Generator[None, None, AddrSegment]:
    """lb/f5 parts: their served records one after another (a lookup orders its hits itself), their points
    merged in address order again."""
    served, ranks, dead = _served_ranks(parts)
    segments: list[AddrSegment] = [part.segment for part in parts]  # type: ignore[misc]
    taken: list[tuple[int, int]] = []  # (part, record) of each merged record, in merged order
    offsets, src, rid, port = array("Q", [0]), array("I"), array("q"), array("i")
    sizes = [0] * len(served)
    points: dict[int, list[list[tuple[int, int, int]]]] = {}  # family → per part, its served points in order
    networks: dict[int, list[tuple[int, int, int, int]]] = {}
    for number, segment in enumerate(segments):
        renumbered: dict[int, int] = {}  # the part's record index → the merged one
        for lo in _chunks(0, segment.size):
            for i in range(lo, min(lo + STEP_RECORDS, segment.size)):
                code = ranks[number][segment.src[i]]
                if code == dead:
                    continue
                renumbered[i] = len(src)
                taken.append((number, i))
                src.append(code)
                sizes[code] += 1
                rid.append(segment.rid[i])
                port.append(segment.port[i])
                offsets.append(offsets[-1] + segment.offsets[i + 1] - segment.offsets[i])
            yield
        for family, (addrs, records, roles) in segment.points.items():
            kept: list[tuple[int, int, int]] = []
            points.setdefault(family, []).append(kept)
            for lo in _chunks(0, len(addrs)):
                for j in range(lo, min(lo + STEP_RECORDS, len(addrs))):
                    index = renumbered.get(records[j])
                    if index is not None:
                        kept.append((addrs[j], index, roles[j]))
                yield
        for family, found in segment.networks.items():
            networks.setdefault(family, []).extend(
                (start, end, length, renumbered[i]) for start, end, length, i in found if i in renumbered
            )
    blob = mmap.mmap(-1, max(offsets[-1], 1))  # as for network segments: filled a step at a time
    for lo in _chunks(0, len(taken)):
        for k in range(lo, min(lo + STEP_RECORDS, len(taken))):
            number, i = taken[k]
            blob[offsets[k] : offsets[k + 1]] = segments[number].head(i)
        yield
    yield from _emptied([taken])
    point_arrays: dict[int, tuple[Addresses, array[int], array[int]]] = {}
    for family, lists in points.items():
        arrays = point_arrays[family] = (Addresses(family), array("I"), array("B"))
        merged = heapq.merge(*lists)
        while chunk := list(islice(merged, STEP_RECORDS)):
            arrays[0].extend([addr for addr, _index, _role in chunk])
            arrays[1].extend([index for _addr, index, _role in chunk])
            arrays[2].extend([role for _addr, _index, role in chunk])
            yield
        yield from _emptied(lists)
    return AddrSegment(category, tuple(served), tuple(sizes), blob, offsets, src, rid, port, point_arrays, networks)


def run_merge(steps: Steps) -> Segment:
    """All of a merge's steps at once (tests, and merges of small parts)."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            segment: Segment = done.value
            return segment
