"""Helpers shared by the index tests: random rows of any category, and the index's log messages captured."""

from __future__ import annotations

import logging
import random
from typing import Any

from tests.datasets import acl_row, lb_row, sg_row


def category_rows(rng: random.Random, category: str, count: int) -> list[dict[str, Any]]:
    """``count`` random import rows of ``category`` (acl rows numbered from line 1)."""
    if category == "acl":
        return [acl_row(rng, line + 1) for line in range(count)]
    if category == "sg":
        return [sg_row(rng) for _ in range(count)]
    return [lb_row(rng, category) for _ in range(count)]


class LogMessages(logging.Handler):
    """Keeps the messages of INFO and above."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
