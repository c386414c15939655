"""SQL for lookups: one statement answers many queries of one category (a UNION ALL arm per query).

Each arm computes its own ``total`` and row number with window functions, so the database counts every match
but only the first ``limit`` rows per query travel back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)

from netlookup.categories import SPECS, Category
from netlookup.lookup.request import LookupOptions, Mode
from netlookup.networks import Prefix, covering_keys, within_lengths
from netlookup.tables import prefix_lengths

PROTOCOLS_ADMITTING_ALL = ("all", "ip")


@dataclass(frozen=True, slots=True)
class Arm:
    """One query's part of a batched statement: its position in the batch and its normalised prefix."""

    index: int
    prefix: Prefix


def prefix_lengths_present(category: Category) -> Select[tuple[int, int]]:
    """The (family, prefix_len) pairs stored for a category; lookups only probe these lengths."""
    t = prefix_lengths
    return select(t.c.family, t.c.prefix_len).where(t.c.category == category).distinct()


def _network_match(
    t: Table, prefix: Prefix, lengths: Sequence[int], mode: Mode, row_values: bool
) -> ColumnElement[bool] | None:
    family = t.c.family == prefix.family
    parts: list[ColumnElement[bool]] = []
    if mode in (Mode.covering, Mode.overlap):
        keys = covering_keys(prefix, list(lengths))
        if keys and row_values:
            # MariaDB turns a row-value IN list into one range scan of (family, prefix_len, net_start).
            parts.append(and_(family, tuple_(t.c.prefix_len, t.c.net_start).in_(keys)))
        elif keys:
            # SQLite does not optimise row-value IN; an OR of full-key equalities probes the index per length
            # (the family must sit inside each term, or SQLite scans the whole family).
            parts.extend(and_(family, t.c.prefix_len == length, t.c.net_start == start) for length, start in keys)
    if mode in (Mode.within, Mode.overlap):
        parts.extend(
            and_(family, t.c.prefix_len == length, t.c.net_start.between(prefix.start, prefix.end))
            for length in within_lengths(prefix, list(lengths))
        )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else or_(*parts)


def _flow_filters(category: Category, t: Table, options: LookupOptions) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if SPECS[category].network:
        if options.port is not None:
            filters.append(or_(t.c.port_lo.is_(None), and_(t.c.port_lo <= options.port, t.c.port_hi >= options.port)))
        if options.protocol is not None:
            wanted = options.protocol.strip().lower()
            filters.append(
                or_(t.c.protocol.is_(None), func.lower(t.c.protocol).in_([*PROTOCOLS_ADMITTING_ALL, wanted]))
            )
    elif options.port is not None:
        filters.append(or_(t.c.port.is_(None), t.c.port == options.port))
    return filters


def _ranked(
    arm: Arm, source: Any, order: list[Any], where: Sequence[ColumnElement[bool]], extra: Sequence[Any]
) -> Select[tuple[object, ...]]:
    """The narrow per-query arm: (qi, id, extra..., total, rn). Full rows are joined only for rn <= limit,
    so the database sorts and counts small tuples, never the description text of every broad match."""
    return (
        select(
            literal(arm.index, Integer).label("qi"),
            source.c.id,
            *extra,
            func.count().over().label("total"),
            func.row_number().over(order_by=order).label("rn"),
        )
        .select_from(source)
        .where(*where)
    )


def _network_arm(
    category: Category, arm: Arm, lengths: Sequence[int], options: LookupOptions, row_values: bool
) -> Select[tuple[object, ...]] | None:
    spec = SPECS[category]
    t = spec.table
    match = _network_match(t, arm.prefix, lengths, options.mode, row_values)
    if match is None:
        return None
    keys = {"id", "prefix_len", "source", *spec.tie_break} | (set(spec.best_partition) if options.best else set())
    columns = [t.c[name] for name in sorted(keys)]
    filters = [match, *_flow_filters(category, t, options)]
    where: list[ColumnElement[bool]] = []
    if options.best:
        partition = [t.c[name] for name in spec.best_partition]
        best_rank = func.rank().over(partition_by=partition, order_by=t.c.prefix_len.desc()).label("best_rank")
        source = select(*columns, best_rank).where(*filters).subquery()
        where = [source.c.best_rank == 1]
    else:
        source = select(*columns).where(*filters).subquery()
    order = [source.c.prefix_len.desc(), source.c.source, *(source.c[n] for n in spec.tie_break)]
    return _ranked(arm, source, order, where, [source.c.prefix_len])


def _address_hit(a: Table, prefix: Prefix, mode: Mode) -> ColumnElement[bool]:
    """An address row the query touches: a point inside the query (whatever the mode), or a network destination
    by the mode, as acl/sg networks are (covering: it contains the query; within: inside it; overlap: either)."""
    point = and_(a.c.addr_end.is_(None), a.c.addr.between(prefix.start, prefix.end))
    network = {
        Mode.covering: and_(a.c.addr <= prefix.start, a.c.addr_end >= prefix.end),
        Mode.within: and_(a.c.addr >= prefix.start, a.c.addr_end <= prefix.end),
        Mode.overlap: and_(a.c.addr <= prefix.end, a.c.addr_end >= prefix.start),
    }[mode]
    return and_(a.c.family == prefix.family, or_(point, and_(a.c.addr_end.is_not(None), network)))


def _address_arm(category: Category, arm: Arm, options: LookupOptions) -> Select[tuple[object, ...]]:
    t = SPECS[category].table
    a = SPECS[category].address_table
    assert a is not None, category
    hits = (
        select(a.c.record_id, func.min(a.c.role).label("role"), func.min(a.c.prefix_len).label("prefix_len"))
        .where(_address_hit(a, arm.prefix, options.mode))
        .group_by(a.c.record_id)
        .subquery()
    )
    # The prefix of what matched: the destination's (a point's is full length) when it did, else a member's.
    matched = (
        select(t.c.id, t.c.source, hits.c.role, hits.c.prefix_len)
        .join(hits, t.c.id == hits.c.record_id)
        .where(*_flow_filters(category, t, options))
        .subquery()
    )
    order = [matched.c.prefix_len.desc(), matched.c.source, matched.c.id]
    return _ranked(arm, matched, order, [], [matched.c.role, matched.c.prefix_len])


def batched_lookup(
    category: Category,
    arms: Sequence[Arm],
    lengths: dict[int, list[int]],
    options: LookupOptions,
    row_values: bool,
) -> Select[tuple[object, ...]] | None:
    """One statement answering every arm: rows (qi, total, rn, prefix_len or role, public fields...) with
    rn <= limit, ordered by qi, rn.

    ``lengths`` maps family → prefix lengths present (acl/sg only). Returns None when no arm can match.
    """
    selects: list[Select[tuple[object, ...]]] = []
    for arm in arms:
        if SPECS[category].network:
            stmt = _network_arm(category, arm, lengths.get(arm.prefix.family, []), options, row_values)
            if stmt is not None:
                selects.append(stmt)
        else:
            selects.append(_address_arm(category, arm, options))
    if not selects:
        return None
    union = (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("arms")
    spec = SPECS[category]
    t = spec.table
    extra = [union.c.prefix_len] if spec.network else [union.c.role, union.c.prefix_len]
    public = [t.c[name] for name in spec.public_fields]
    return (
        select(union.c.qi, union.c.total, *extra, *public)
        .join(t, t.c.id == union.c.id)
        .where(union.c.rn <= options.limit)
        .order_by(union.c.qi, union.c.rn)
    )


def bind_count(category: Category, arm: Arm, lengths: dict[int, list[int]]) -> int:
    """Roughly how many bind parameters an arm uses, to keep statements under SQLite's variable limit."""
    if not SPECS[category].network:
        return 8
    return 8 + 3 * len(lengths.get(arm.prefix.family, []))
