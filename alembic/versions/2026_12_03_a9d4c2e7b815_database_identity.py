"""database_identity: one random id per database, so that a node's index snapshot on disk is never taken for
another database's (a database dropped and made again restarts the version counters)

Revision ID: a9d4c2e7b815
Revises: f2b6d8e4a1c7
Create Date: 2026-12-03
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a9d4c2e7b815"
down_revision: str | None = "f2b6d8e4a1c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "database_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uuid", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_database_identity")),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_bin",
    )
    op.bulk_insert(table, [{"id": 1, "uuid": uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table("database_identity")
