"""Helpers shared by the index tests: random rows of any category, records and segments made from them without a
database, and the index's log messages captured."""

from __future__ import annotations

import logging
import random
from typing import Any

from netlookup.categories import SPECS
from netlookup.lookup.memory import NetSegmentBuilder, Segment, build_address_segment
from netlookup.records import address_row, network_row
from tests.datasets import acl_row, lb_row, sg_row


def category_rows(rng: random.Random, category: str, count: int) -> list[dict[str, Any]]:
    """``count`` random import rows of ``category`` (acl rows numbered from line 1)."""
    if category == "acl":
        return [acl_row(rng, line + 1) for line in range(count)]
    if category == "sg":
        return [sg_row(rng) for _ in range(count)]
    return [lb_row(rng, category) for _ in range(count)]


class LogMessages(logging.Handler):
    """Keeps the messages of INFO and above."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Records:
    """Records of one category as imports make them: ids from one counter, per source."""

    def __init__(self, category: str):
        self.category = category
        self.next_id = 1
        self.held: dict[str, list[dict[str, Any]]] = {}

    def replace(self, source: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        spec = SPECS[self.category]  # type: ignore[index]
        records = []
        for row in rows:
            record = spec.input_model.model_validate(row)
            records.append({"id": self.next_id, "source": source, "record": record})
            self.next_id += 1
        if records:
            self.held[source] = records
        else:
            self.held.pop(source, None)
        return records

    def public(self) -> list[dict[str, Any]]:
        fields = SPECS[self.category].public_fields  # type: ignore[index]
        out = []
        for records in self.held.values():
            for item in records:
                values = {"id": item["id"], "source": item["source"], **item["record"].model_dump()}
                out.append({name: values.get(name) for name in fields})
        return out


def segment_of(category: str, records: list[dict[str, Any]]) -> Segment:
    """The segment a read of these records makes (the columns the database holds, as ``index_reads`` reads
    them)."""
    spec = SPECS[category]  # type: ignore[index]
    if spec.network:
        builder = NetSegmentBuilder(category)  # type: ignore[arg-type]
        rows = []
        for item in records:
            row = {**network_row(item["record"]), "id": item["id"], "source": item["source"]}
            public = tuple(row[name] for name in spec.public_fields)
            rows.append((*public, row["prefix_len"], row["family"], row["net_start"], row["port_lo"], row["port_hi"]))
        builder.add(rows)
        return builder.finish()
    table_rows: list[tuple[Any, ...]] = []
    points: list[tuple[Any, ...]] = []
    for item in records:
        row, item_points = address_row(item["record"])
        row.update(id=item["id"], source=item["source"])
        table_rows.append(tuple(row[name] for name in spec.public_fields))
        points.extend((item["id"], p.family, p.addr, p.role, p.prefix_len, p.addr_end) for p in item_points)
    points.sort(key=lambda p: (p[1], p[2]))
    return build_address_segment(category, table_rows, points)  # type: ignore[arg-type]
