"""Data versions per category, for coherent in-memory indexes across nodes.

Revision ID: c31f6a0d2e77
Revises: b478e9c2cbea
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c31f6a0d2e77"
down_revision: str | None = "b478e9c2cbea"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "data_versions",
        sa.Column("category", sa.String(length=8), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("category", name=op.f("pk_data_versions")),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
        mysql_engine="InnoDB",
    )
    op.bulk_insert(table, [{"category": category, "version": 1} for category in ("acl", "sg", "lb", "f5")])


def downgrade() -> None:
    op.drop_table("data_versions")
