"""sources gain version: the category's data version at the source's last change (per-source index refresh)

Revision ID: f2b6d8e4a1c7
Revises: e7a3c5d91f20
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f2b6d8e4a1c7"
down_revision: str | None = "e7a3c5d91f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("version")
