"""The Socket.IO rooms events go to: ``data:<category>`` subscribers and the ``imports`` room."""

from __future__ import annotations

IMPORTS_ROOM = "imports"


def data_room(category: str) -> str:
    """The room of ``data:changed`` events for one category."""
    return f"data:{category}"
