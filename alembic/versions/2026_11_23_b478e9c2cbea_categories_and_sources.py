"""Tables of the four categories, their lb/f5 address points, sources and prefix lengths.

Revision ID: b478e9c2cbea
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b478e9c2cbea"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acl",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("port", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("prefix_len", sa.SmallInteger(), nullable=False),
        sa.Column(
            "net_start",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "net_end",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column("port_lo", sa.Integer(), nullable=True),
        sa.Column("port_hi", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acl")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_acl_network", "acl", ["family", "prefix_len", "net_start"], unique=False)
    op.create_index("ix_acl_source_id", "acl", ["source", "id"], unique=False)
    op.create_table(
        "f5",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("partition", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("destination", sa.String(length=64), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column("route_domain", sa.Integer(), nullable=True),
        sa.Column("pool", sa.String(length=255), nullable=True),
        sa.Column("members", sa.Text(), nullable=True),
        sa.Column("snat", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_f5")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_f5_source_id", "f5", ["source", "id"], unique=False)
    op.create_table(
        "lb",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("vip", sa.String(length=64), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column("members", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_lb_source_id", "lb", ["source", "id"], unique=False)
    op.create_table(
        "prefix_lengths",
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("prefix_len", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("category", "source", "family", "prefix_len", name=op.f("pk_prefix_lengths")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "sg",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.String(length=64), nullable=True),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("vpc_id", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("protocol", sa.String(length=32), nullable=True),
        sa.Column("from_port", sa.Integer(), nullable=True),
        sa.Column("to_port", sa.Integer(), nullable=True),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column("prefix_len", sa.SmallInteger(), nullable=False),
        sa.Column(
            "net_start",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "net_end",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column("port_lo", sa.Integer(), nullable=True),
        sa.Column("port_hi", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sg")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_sg_network", "sg", ["family", "prefix_len", "net_start"], unique=False)
    op.create_index("ix_sg_source_id", "sg", ["source", "id"], unique=False)
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("category", "name", name="uq_sources_category_name"),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_table(
        "f5_address",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column(
            "addr",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column("role", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["f5.id"], name=op.f("fk_f5_address_record_id_f5"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_f5_address")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_f5_address_lookup", "f5_address", ["family", "addr"], unique=False)
    op.create_index("ix_f5_address_record", "f5_address", ["record_id"], unique=False)
    op.create_index("ix_f5_address_source", "f5_address", ["source"], unique=False)
    op.create_table(
        "lb_address",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("family", sa.SmallInteger(), nullable=False),
        sa.Column(
            "addr",
            sa.LargeBinary(length=16)
            .with_variant(sa.VARBINARY(length=16), "mariadb")
            .with_variant(sa.VARBINARY(length=16), "mysql"),
            nullable=False,
        ),
        sa.Column("role", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["lb.id"], name=op.f("fk_lb_address_record_id_lb"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lb_address")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.create_index("ix_lb_address_lookup", "lb_address", ["family", "addr"], unique=False)
    op.create_index("ix_lb_address_record", "lb_address", ["record_id"], unique=False)
    op.create_index("ix_lb_address_source", "lb_address", ["source"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; address tables go first because of their foreign keys.
    for table in ("lb_address", "f5_address", "sources", "prefix_lengths", "acl", "sg", "lb", "f5"):
        op.drop_table(table)
