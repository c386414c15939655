"""The tables, as SQLAlchemy Core metadata. Alembic migrations create them; this module only describes them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Binary collation on MariaDB so sorting and grouping by text match SQLite and Python exactly.
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin", "mysql_engine": "InnoDB"}


def _addr() -> LargeBinary:
    return LargeBinary(16).with_variant(mysql.VARBINARY(16), "mysql", "mariadb")


def _text() -> Text:
    return Text()


def _str(length: int) -> String:
    return String(length)


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("category", _str(8), nullable=False),
    Column("name", _str(255), nullable=False),
    Column("count", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=False), nullable=False),
    Column("checksum", _str(64), nullable=False),
    # The category's data version (data_versions) when this source's records last changed: a node's index
    # refreshes exactly the sources whose version moved past what it holds.
    Column("version", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("category", "name", name="uq_sources_category_name"),
    **TABLE_OPTIONS,
)

# One row per category, bumped in the same transaction as every import or delete of that category: a node's
# in-memory index remembers the version it was built from and is rebuilt when the database has moved on.
data_versions = Table(
    "data_versions",
    metadata,
    Column("category", _str(8), primary_key=True),
    Column("version", BigInteger, nullable=False),
    **TABLE_OPTIONS,
)

# One row: a random id made when the database was created. A node's index snapshot on disk names the database it
# was read from, so a database dropped and made again (its version counters restarted) never serves another's.
database_identity = Table(
    "database_identity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("uuid", _str(32), nullable=False),
    **TABLE_OPTIONS,
)

prefix_lengths = Table(
    "prefix_lengths",
    metadata,
    Column("category", _str(8), primary_key=True),
    Column("source", _str(255), primary_key=True),
    Column("family", SmallInteger, primary_key=True),
    Column("prefix_len", SmallInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    **TABLE_OPTIONS,
)


def _network_columns() -> list[Column[Any]]:
    return [
        Column("family", SmallInteger, nullable=False),
        Column("prefix_len", SmallInteger, nullable=False),
        Column("net_start", _addr(), nullable=False),
        Column("net_end", _addr(), nullable=False),
        Column("port_lo", Integer, nullable=True),
        Column("port_hi", Integer, nullable=True),
        Column("fingerprint", BigInteger, nullable=False),
    ]


acl = Table(
    "acl",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", _str(255), nullable=False),
    Column("line", Integer),
    Column("name", _str(255)),
    Column("kind", _str(64)),
    Column("action", _str(16)),
    Column("direction", _str(16)),
    Column("protocol", _str(32)),
    Column("cidr", _str(64), nullable=False),
    Column("port", _str(32)),
    Column("description", _text()),
    *_network_columns(),
    # Covering for a lookup: the candidates' sort keys come from the index, not one row read each.
    Index("ix_acl_network", "family", "prefix_len", "net_start", "source", "line"),
    Index("ix_acl_source_id", "source", "id"),
    **TABLE_OPTIONS,
)

sg = Table(
    "sg",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", _str(255), nullable=False),
    Column("group_id", _str(64)),
    Column("group_name", _str(255)),
    Column("vpc_id", _str(64)),
    Column("account", _str(64)),
    Column("region", _str(64)),
    Column("direction", _str(16)),
    Column("protocol", _str(32)),
    Column("from_port", Integer),
    Column("to_port", Integer),
    Column("cidr", _str(64), nullable=False),
    Column("description", _text()),
    *_network_columns(),
    Index("ix_sg_network", "family", "prefix_len", "net_start", "source"),
    Index("ix_sg_source_id", "source", "id"),
    **TABLE_OPTIONS,
)

lb = Table(
    "lb",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", _str(255), nullable=False),
    Column("name", _str(255)),
    Column("type", _str(32)),
    Column("vip", _str(64)),
    Column("port", Integer),
    Column("protocol", _str(32)),
    Column("members", _text()),
    Column("description", _text()),
    Column("fingerprint", BigInteger, nullable=False),
    Index("ix_lb_source_id", "source", "id"),
    **TABLE_OPTIONS,
)

f5 = Table(
    "f5",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", _str(255), nullable=False),
    Column("partition", _str(255)),
    Column("name", _str(255)),
    Column("destination", _str(64)),
    Column("port", Integer),
    Column("protocol", _str(32)),
    Column("route_domain", Integer),
    Column("pool", _str(255)),
    Column("members", _text()),
    Column("snat", _str(255)),
    Column("description", _text()),
    Column("fingerprint", BigInteger, nullable=False),
    Index("ix_f5_source_id", "source", "id"),
    **TABLE_OPTIONS,
)


def _address_table(name: str, parent: Table) -> Table:
    """Addresses of lb/f5 records (VIP/destination and members), one row each. A destination may be a network (an
    F5 wildcard or network virtual): then ``addr``..``addr_end`` is its range and ``prefix_len`` its mask's
    length; a point has no ``addr_end`` and the family's full length."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("record_id", Integer, ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False),
        Column("source", _str(255), nullable=False),
        Column("family", SmallInteger, nullable=False),
        Column("addr", _addr(), nullable=False),
        # 0 = the VIP/destination, 1 = a member; MIN() over a record's hits says what matched.
        Column("role", SmallInteger, nullable=False),
        Column("prefix_len", SmallInteger, nullable=False),
        Column("addr_end", _addr(), nullable=True),
        Index(f"ix_{name}_lookup", "family", "addr"),
        Index(f"ix_{name}_networks", "family", "addr_end"),
        Index(f"ix_{name}_record", "record_id"),
        Index(f"ix_{name}_source", "source"),
        **TABLE_OPTIONS,
    )


lb_address = _address_table("lb_address", lb)
f5_address = _address_table("f5_address", f5)
