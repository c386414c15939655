"""What one import or delete changed, as every part that must hear of it (the in-memory indexes, the events to
clients, other nodes) sees it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DataChange:
    """One import or delete of (category, source), as ``data:changed`` announces it; checksum None: deleted."""

    category: str
    source: str
    added: int
    removed: int
    checksum: str | None
    skipped: int = 0  # rows an on_error=skip import left out

    @property
    def changes_records(self) -> bool:
        """Whether the records differ from before: a re-import of the same content (nothing added or removed)
        leaves the records and their ids as they were, so no index needs rebuilding. A delete always changes
        them."""
        return bool(self.added) or bool(self.removed) or self.checksum is None

    def as_payload(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "source": self.source,
            "added": self.added,
            "removed": self.removed,
            "checksum": self.checksum,
            "skipped": self.skipped,
        }

    @classmethod
    def from_payload(cls, payload: object) -> DataChange | None:
        """The change a ``data:changed`` payload from another node announces; None for anything malformed."""
        if not isinstance(payload, dict):
            return None
        category, source = payload.get("category"), payload.get("source")
        added, removed, checksum = payload.get("added"), payload.get("removed"), payload.get("checksum")
        if not isinstance(category, str) or not isinstance(source, str):
            return None
        if not isinstance(added, int) or not isinstance(removed, int):
            return None
        if checksum is not None and not isinstance(checksum, str):
            return None
        skipped = payload.get("skipped", 0)
        return cls(category, source, added, removed, checksum, skipped if isinstance(skipped, int) else 0)


# Told of every change before clients hear of it, and awaited: the in-memory indexes return once they no longer
# serve what the change replaced.
ChangeListener = Callable[[DataChange], Awaitable[None]]
