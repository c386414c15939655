"""Settings check themselves at start-up: the index snapshot directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from netlookup.config import Settings


def test_the_snapshot_directory_is_made_when_missing(tmp_path: Path) -> None:
    wanted = tmp_path / "cache" / "index"
    settings = Settings(index_snapshot_dir=wanted, _env_file=None)
    assert settings.index_snapshot_dir == wanted.resolve()
    assert wanted.is_dir()


def test_an_empty_snapshot_directory_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETLOOKUP_INDEX_SNAPSHOT_DIR", " ")
    assert Settings(_env_file=None).index_snapshot_dir is None


def test_a_snapshot_directory_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ValidationError, match="index snapshot directory .* cannot be made"):
        Settings(index_snapshot_dir=blocker / "index", _env_file=None)
