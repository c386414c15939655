"""Run Alembic from code (the CLI's ``db upgrade`` and the tests)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config


def project_root() -> Path:
    """Where alembic.ini lives: NETLOOKUP_ALEMBIC_DIR, else the checkout this package was installed from."""
    configured = os.environ.get("NETLOOKUP_ALEMBIC_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    root = project_root()
    ini = root / "alembic.ini"
    if not ini.exists():
        raise FileNotFoundError(f"alembic.ini not found in {root}; set NETLOOKUP_ALEMBIC_DIR")
    config = Config(str(ini))
    config.set_main_option("script_location", str(root / "alembic"))
    config.attributes["configure_logger"] = False
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
