"""What the database can store: PostgreSQL's text and JSONB hold no NUL character (U+0000)."""

from __future__ import annotations

from typing import Any


def holds_nul(value: Any) -> bool:
    """True when a string anywhere in ``value`` (keys included) contains NUL."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(key) or holds_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(item) for item in value)
    return False
