"""The four record categories, each defined once: its table, its input and output models, its public fields and
how its lookups match, order and group. Every other module reads a category's facts from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Table

from netlookup import outputs, records, tables

Category = Literal["acl", "sg", "lb", "f5"]
CATEGORIES: tuple[Category, ...] = ("acl", "sg", "lb", "f5")


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """What defines one category.

    ``network`` categories (acl, sg) hold a network per record (``cidr``) and are matched by prefix; the others
    (lb, f5) hold addresses (``address_field`` and members), kept as points in ``address_table``.
    """

    name: Category
    table: Table
    address_table: Table | None
    input_model: type[records.ImportedRecord]
    record_model: type[BaseModel]
    match_model: type[BaseModel]
    # The fields a record has in the API, in order: the output models' fields (a test holds them equal).
    public_fields: tuple[str, ...]
    # lb/f5: the field naming the address the record is published on (``matched_on`` says it).
    address_field: str | None
    # best=true keeps the longest prefixes of each group of these fields (acl/sg).
    best_partition: tuple[str, ...]
    # After prefix length (longest first) and source: the tie-breakers of the order.
    tie_break: tuple[str, ...]

    @property
    def network(self) -> bool:
        return self.address_table is None


SPECS: dict[Category, CategorySpec] = {
    "acl": CategorySpec(
        name="acl",
        table=tables.acl,
        address_table=None,
        input_model=records.AclRecord,
        record_model=outputs.AclRecordOut,
        match_model=outputs.AclMatch,
        public_fields=("id", "source", "line", "name", "kind", "action", "direction", "protocol", "cidr", "port")
        + ("description",),
        address_field=None,
        best_partition=("source", "direction"),
        tie_break=("line", "id"),
    ),
    "sg": CategorySpec(
        name="sg",
        table=tables.sg,
        address_table=None,
        input_model=records.SgRecord,
        record_model=outputs.SgRecordOut,
        match_model=outputs.SgMatch,
        public_fields=("id", "source", "group_id", "group_name", "vpc_id", "account", "region", "direction")
        + ("protocol", "from_port", "to_port", "cidr", "description"),
        address_field=None,
        best_partition=("group_id", "direction"),
        tie_break=("id",),
    ),
    "lb": CategorySpec(
        name="lb",
        table=tables.lb,
        address_table=tables.lb_address,
        input_model=records.LbRecord,
        record_model=outputs.LbRecordOut,
        match_model=outputs.LbMatch,
        public_fields=("id", "source", "name", "type", "vip", "port", "protocol", "members", "description"),
        address_field="vip",
        best_partition=(),
        tie_break=("id",),
    ),
    "f5": CategorySpec(
        name="f5",
        table=tables.f5,
        address_table=tables.f5_address,
        input_model=records.F5Record,
        record_model=outputs.F5RecordOut,
        match_model=outputs.F5Match,
        public_fields=("id", "source", "partition", "name", "destination", "port", "protocol", "route_domain")
        + ("pool", "members", "description", "snat"),
        address_field="destination",
        best_partition=(),
        tie_break=("id",),
    ),
}

NETWORK_CATEGORIES: tuple[Category, ...] = tuple(c for c in CATEGORIES if SPECS[c].network)
