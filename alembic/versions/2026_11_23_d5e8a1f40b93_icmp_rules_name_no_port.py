"""ICMP security-group rules name no port: their from/to are an ICMP type and code.

Rules imported before this revision got a port range from their type; clear it, and bump the sg data version so
every node's in-memory index reloads. Downgrade restores the old derivation (type to code, or the type alone).

Revision ID: d5e8a1f40b93
Revises: c31f6a0d2e77
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d5e8a1f40b93"
down_revision: str | None = "c31f6a0d2e77"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ICMP = "LOWER(protocol) IN ('icmp', 'icmpv6', '1', '58')"


def upgrade() -> None:
    op.execute(f"UPDATE sg SET port_lo = NULL, port_hi = NULL WHERE {ICMP}")
    op.execute("UPDATE data_versions SET version = version + 1 WHERE category = 'sg'")


def downgrade() -> None:
    op.execute(
        "UPDATE sg SET port_lo = from_port, "
        "port_hi = CASE WHEN to_port IS NULL OR to_port < 0 THEN from_port ELSE to_port END "
        f"WHERE {ICMP} AND from_port IS NOT NULL AND from_port >= 0"
    )
    op.execute("UPDATE data_versions SET version = version + 1 WHERE category = 'sg'")
