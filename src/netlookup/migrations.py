"""Run Alembic from code (the CLI's ``db upgrade`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

PACKAGED = Path(__file__).resolve().parent / "_alembic"  # where a wheel carries the migrations


def migrations_dir() -> Path:
    """Where ``alembic.ini`` and the ``alembic/`` scripts are: inside the installed package, else in the checkout
    this package runs from (an editable install, the tests)."""
    if (PACKAGED / "alembic.ini").is_file():
        return PACKAGED
    return Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    root = migrations_dir()
    ini = root / "alembic.ini"
    if not ini.exists():
        raise FileNotFoundError(
            f"the migrations are missing: no alembic.ini in {PACKAGED} (a wheel built from the repository carries "
            f"them) nor in a checkout at {root}"
        )
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
