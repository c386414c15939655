"""SQL for lookups: one statement answers many queries of one category (a UNION ALL arm per query).

Each arm computes its own ``total`` and row number with window functions, so the database counts every match
but only the first ``limit`` rows per query travel back.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    func,
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


@functools.cache
def prefix_lengths_present(categories: tuple[Category, ...]) -> Select[tuple[Any, ...]]:
    """The (category, family, prefix_len) triples stored for some categories; lookups only probe these lengths.
    Built once per set of categories (a statement is immutable; building it cost more than running it)."""
    t = prefix_lengths
    return select(t.c.category, t.c.family, t.c.prefix_len).where(t.c.category.in_(categories)).distinct()


# A statement's shape (what it is built from) is kept apart from its values (what it binds): building the
# SQLAlchemy expression of a lookup costs more CPU than running it, and on the database path, under load, that
# CPU is what the admitted lookups compete for. Statements are built once per shape and reused; the values are
# bound by name (``f0`` the first arm's family, ``k0_1l``/``k0_1s`` its second covering key...).
ArmShape = tuple[int, int]  # network arms: (covering keys, within lengths); address arms: (0, 0)


def _bind(name: str) -> BindParameter[Any]:
    """A value bound by name at execution (its type is taken from the column it is compared with)."""
    return bindparam(name)


@dataclass(frozen=True, slots=True)
class Shape:
    category: Category
    mode: Mode
    best: bool
    port: bool
    protocol: bool
    row_values: bool
    arms: tuple[ArmShape, ...]


def _network_values(position: int, arm: Arm, lengths: list[int], mode: Mode, values: dict[str, Any]) -> ArmShape | None:
    """Bind the values of one network arm; its shape, or None when no stored length can match."""
    prefix = arm.prefix
    keys = covering_keys(prefix, lengths) if mode in (Mode.covering, Mode.overlap) else []
    within = within_lengths(prefix, lengths) if mode in (Mode.within, Mode.overlap) else []
    if not keys and not within:
        return None
    values[f"q{position}"] = arm.index
    values[f"f{position}"] = prefix.family
    for j, (length, start) in enumerate(keys):
        values[f"k{position}_{j}l"] = length
        values[f"k{position}_{j}s"] = start
    for j, length in enumerate(within):
        values[f"w{position}_{j}l"] = length
    if within:
        values[f"w{position}s"] = prefix.start
        values[f"w{position}e"] = prefix.end
    return len(keys), len(within)


def _address_values(position: int, arm: Arm, values: dict[str, Any]) -> ArmShape:
    values[f"q{position}"] = arm.index
    values[f"f{position}"] = arm.prefix.family
    values[f"s{position}"] = arm.prefix.start
    values[f"e{position}"] = arm.prefix.end
    return 0, 0


def _network_match(t: Table, position: int, shape: ArmShape, row_values: bool) -> ColumnElement[bool]:
    family = t.c.family == _bind(f"f{position}")
    keys, within = shape
    parts: list[ColumnElement[bool]] = []
    key_pairs = [(_bind(f"k{position}_{j}l"), _bind(f"k{position}_{j}s")) for j in range(keys)]
    if key_pairs and row_values:
        # MariaDB turns a row-value IN list into one range scan of (family, prefix_len, net_start).
        parts.append(and_(family, tuple_(t.c.prefix_len, t.c.net_start).in_([tuple_(*k) for k in key_pairs])))
    else:
        # SQLite does not optimise row-value IN; an OR of full-key equalities probes the index per length
        # (the family must sit inside each term, or SQLite scans the whole family).
        parts.extend(and_(family, t.c.prefix_len == length, t.c.net_start == start) for length, start in key_pairs)
    low, high = _bind(f"w{position}s"), _bind(f"w{position}e")
    parts.extend(
        and_(family, t.c.prefix_len == _bind(f"w{position}_{j}l"), t.c.net_start.between(low, high))
        for j in range(within)
    )
    return parts[0] if len(parts) == 1 else or_(*parts)


def _flow_filters(t: Table, shape: Shape) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if SPECS[shape.category].network:
        if shape.port:
            port = _bind("port")
            filters.append(or_(t.c.port_lo.is_(None), and_(t.c.port_lo <= port, t.c.port_hi >= port)))
        if shape.protocol:
            filters.append(
                or_(
                    t.c.protocol.is_(None),
                    func.lower(t.c.protocol).in_([*PROTOCOLS_ADMITTING_ALL, _bind("protocol")]),
                )
            )
    elif shape.port:
        filters.append(or_(t.c.port.is_(None), t.c.port == _bind("port")))
    return filters


def _ranked(
    position: int, source: Any, order: list[Any], where: Sequence[ColumnElement[bool]], extra: Sequence[Any]
) -> Select[tuple[object, ...]]:
    """The narrow per-query arm: (qi, id, extra..., total, rn). Full rows are joined only for rn <= limit,
    so the database sorts and counts small tuples, never the description text of every broad match."""
    return (
        select(
            bindparam(f"q{position}", type_=Integer).label("qi"),
            source.c.id,
            *extra,
            func.count().over().label("total"),
            func.row_number().over(order_by=order).label("rn"),
        )
        .select_from(source)
        .where(*where)
    )


def _network_arm(shape: Shape, position: int) -> Select[tuple[object, ...]]:
    spec = SPECS[shape.category]
    t = spec.table
    match = _network_match(t, position, shape.arms[position], shape.row_values)
    keys = {"id", "prefix_len", "source", *spec.tie_break} | (set(spec.best_partition) if shape.best else set())
    columns = [t.c[name] for name in sorted(keys)]
    filters = [match, *_flow_filters(t, shape)]
    where: list[ColumnElement[bool]] = []
    if shape.best:
        partition = [t.c[name] for name in spec.best_partition]
        best_rank = func.rank().over(partition_by=partition, order_by=t.c.prefix_len.desc()).label("best_rank")
        source = select(*columns, best_rank).where(*filters).subquery()
        where = [source.c.best_rank == 1]
    else:
        source = select(*columns).where(*filters).subquery()
    order = [source.c.prefix_len.desc(), source.c.source, *(source.c[n] for n in spec.tie_break)]
    return _ranked(position, source, order, where, [source.c.prefix_len])


def _address_hit(a: Table, position: int, mode: Mode) -> ColumnElement[bool]:
    """An address row the query touches: a point inside the query (whatever the mode), or a network destination
    by the mode, as acl/sg networks are (covering: it contains the query; within: inside it; overlap: either)."""
    start, end = _bind(f"s{position}"), _bind(f"e{position}")
    point = and_(a.c.addr_end.is_(None), a.c.addr.between(start, end))
    network = {
        Mode.covering: and_(a.c.addr <= start, a.c.addr_end >= end),
        Mode.within: and_(a.c.addr >= start, a.c.addr_end <= end),
        Mode.overlap: and_(a.c.addr <= end, a.c.addr_end >= start),
    }[mode]
    family = a.c.family == _bind(f"f{position}")
    return and_(family, or_(point, and_(a.c.addr_end.is_not(None), network)))


def _address_arm(shape: Shape, position: int) -> Select[tuple[object, ...]]:
    t = SPECS[shape.category].table
    a = SPECS[shape.category].address_table
    assert a is not None, shape.category
    hits = (
        select(a.c.record_id, func.min(a.c.role).label("role"), func.min(a.c.prefix_len).label("prefix_len"))
        .where(_address_hit(a, position, shape.mode))
        .group_by(a.c.record_id)
        .subquery()
    )
    # The prefix of what matched: the destination's (a point's is full length) when it did, else a member's.
    matched = (
        select(t.c.id, t.c.source, hits.c.role, hits.c.prefix_len)
        .join(hits, t.c.id == hits.c.record_id)
        .where(*_flow_filters(t, shape))
        .subquery()
    )
    order = [matched.c.prefix_len.desc(), matched.c.source, matched.c.id]
    return _ranked(position, matched, order, [], [matched.c.role, matched.c.prefix_len])


@functools.lru_cache(maxsize=512)
def _statement(shape: Shape) -> Select[tuple[object, ...]]:
    """The statement of a shape, built once (a few hundred shapes cover the single lookups of all families)."""
    spec = SPECS[shape.category]
    arm = _network_arm if spec.network else _address_arm
    selects = [arm(shape, position) for position in range(len(shape.arms))]
    union = (selects[0] if len(selects) == 1 else union_all(*selects)).subquery("arms")
    t = spec.table
    extra = [union.c.prefix_len] if spec.network else [union.c.role, union.c.prefix_len]
    public = [t.c[name] for name in spec.public_fields]
    return (
        # The public fields last, in their order: the lookup service reads them as the row's tail.
        select(union.c.qi, union.c.total, *extra, *public)
        .join(t, t.c.id == union.c.id)
        .where(union.c.rn <= bindparam("limit", type_=Integer))
        .order_by(union.c.qi, union.c.rn)
    )


def batched_lookup(
    category: Category,
    arms: Sequence[Arm],
    lengths: dict[int, list[int]],
    options: LookupOptions,
    row_values: bool,
) -> tuple[Select[tuple[object, ...]], dict[str, Any]] | None:
    """One statement answering every arm, and the values it binds: rows (qi, total, rn, prefix_len or role,
    public fields...) with rn <= limit, ordered by qi, rn.

    ``lengths`` maps family → prefix lengths present (acl/sg only). Returns None when no arm can match.
    """
    values: dict[str, Any] = {"limit": options.limit}
    shapes: list[ArmShape] = []
    for arm in arms:
        if SPECS[category].network:
            found = _network_values(len(shapes), arm, lengths.get(arm.prefix.family, []), options.mode, values)
            if found is not None:
                shapes.append(found)
        else:
            shapes.append(_address_values(len(shapes), arm, values))
    if not shapes:
        return None
    if options.port is not None:
        values["port"] = options.port
    if options.protocol is not None:
        values["protocol"] = options.protocol.strip().lower()
    shape = Shape(
        category,
        options.mode,
        options.best,
        options.port is not None,
        options.protocol is not None,
        row_values,
        tuple(shapes),
    )
    return _statement(shape), values


def bind_count(category: Category, arm: Arm, lengths: dict[int, list[int]]) -> int:
    """Roughly how many bind parameters an arm uses, to keep statements under SQLite's variable limit."""
    if not SPECS[category].network:
        return 8
    return 8 + 3 * len(lengths.get(arm.prefix.family, []))
