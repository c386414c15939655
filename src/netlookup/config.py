"""Settings: every ``NETLOOKUP_*`` environment variable, read and checked once at start-up."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[list[str], NoDecode]

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "mysql+asyncmy", "mariadb+asyncmy")


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# The key ./scripts/run sets so that imports can be tried from /docs. It is printed in the README: a node that
# holds it must not listen beyond this machine (``netlookup serve`` refuses).
DEMO_API_KEY = "demo-key-change-me-0001"


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


class Settings(BaseSettings):
    """Service configuration. Values come from the environment (prefix ``NETLOOKUP_``) or a ``.env`` file."""

    model_config = SettingsConfigDict(env_prefix="NETLOOKUP_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./netlookup.db"
    redis_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=5, ge=0, le=500)
    db_pool_timeout: float = Field(default=5.0, gt=0, le=300)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    api_keys: CommaList = Field(default_factory=list)
    read_auth: bool = False
    cors_origins: CommaList = Field(default_factory=list)
    max_upload_mb: int = Field(default=256, ge=1, le=100_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # uvicorn's line per request (at INFO). Behind nginx, which logs every request itself, it can go: at
    # thousands of requests per second it is a large share of a small request's CPU.
    access_log: bool = True
    import_lock_timeout: float = Field(default=30.0, ge=0, le=3600)
    db_queue_timeout: float = Field(default=5.0, gt=0, le=300)
    db_refusal_wait: float = Field(default=0.05, ge=0, le=1)
    max_inflight: int = Field(default=1024, ge=0, le=1_000_000)
    max_queue_seconds: float = Field(default=5.0, ge=0, le=3600)
    memory_index: bool = True
    index_poll_interval: float = Field(default=2.0, gt=0, le=3600)
    # Worker processes a node's first build of a large category spreads that category's sources over (the
    # serving process reads a share too); 0 builds in the serving process only.
    build_workers: int = Field(default_factory=lambda: min(max((os.cpu_count() or 1) - 1, 0), 3), ge=0, le=64)
    # Where a node keeps its indexes on disk, so that a restart re-reads only the sources changed since (unset:
    # every start builds from the database).
    index_snapshot_dir: Path | None = None

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("api_keys")
    @classmethod
    def _keys_are_long_enough(cls, keys: list[str]) -> list[str]:
        short = [k for k in keys if len(k) < 16]
        if short:
            raise ValueError("every API key must be at least 16 characters long")
        return keys

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        url = url.strip()
        if url.startswith("mysql://") or url.startswith("mariadb://"):
            url = "mysql+asyncmy://" + url.split("://", 1)[1]
        if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            url = "sqlite+aiosqlite://" + url.split("://", 1)[1]
        if not url.startswith(tuple(d + "://" for d in SUPPORTED_DRIVERS)):
            raise ValueError(
                f"unsupported database URL {url.split('://', 1)[0]!r}: use sqlite+aiosqlite:// or mysql+asyncmy://"
            )
        return url

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis URL must start with redis://, rediss:// or unix://")
        return url.strip()

    @field_validator("index_snapshot_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("index_snapshot_dir")
    @classmethod
    def _writable_directory(cls, path: Path | None) -> Path | None:
        if path is None:
            return None
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"index snapshot directory {str(path)!r} cannot be made: {exc.strerror}") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"index snapshot directory {str(path)!r} is not writable")
        return path.resolve()

    @model_validator(mode="after")
    def _read_auth_needs_keys(self) -> Settings:
        if self.read_auth and not self.api_keys:
            raise ValueError("NETLOOKUP_READ_AUTH=true needs at least one key in NETLOOKUP_API_KEYS")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
