"""Query parameters shared by several routes."""

from __future__ import annotations

from lanner.web.errors import ApiError


def labels(raw: list[str]) -> dict[str, str]:
    """``labels=key:value`` parameters (repeated) as a mapping; a 400 naming a malformed one."""
    found = {}
    for item in raw:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ApiError(400, f"label {item!r}: expected key:value")
        found[key] = value
    return found
