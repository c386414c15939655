"""API keys: constant-time checks shared by HTTP and Socket.IO."""

from __future__ import annotations

import hmac


def key_is_valid(token: str, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit on the first match)."""
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token.encode(), key.encode())
    return matched
