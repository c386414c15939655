"""lb/f5 destinations may be networks: address rows gain prefix_len and addr_end (null for a point)

Revision ID: e7a3c5d91f20
Revises: d5e8a1f40b93
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "e7a3c5d91f20"
down_revision: str | None = "d5e8a1f40b93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("lb_address", "f5_address")


def _addr() -> sa.types.TypeEngine[bytes]:
    return sa.LargeBinary(16).with_variant(mysql.VARBINARY(16), "mysql", "mariadb")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("prefix_len", sa.SmallInteger(), nullable=True))
            batch.add_column(sa.Column("addr_end", _addr(), nullable=True))
        op.execute(f"UPDATE {table} SET prefix_len = CASE WHEN family = 4 THEN 32 ELSE 128 END")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("prefix_len", existing_type=sa.SmallInteger(), nullable=False)
            batch.create_index(f"ix_{table}_networks", ["family", "addr_end"])
    op.execute("UPDATE data_versions SET version = version + 1 WHERE category IN ('lb', 'f5')")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_networks")
            batch.drop_column("addr_end")
            batch.drop_column("prefix_len")
    op.execute("UPDATE data_versions SET version = version + 1 WHERE category IN ('lb', 'f5')")
