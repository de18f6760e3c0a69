"""Lanner version strings compared as numbers: ``0.10.0`` is newer than ``0.9.3``.

A version is ``MAJOR.MINOR.PATCH`` with an optional pre-release suffix (``0.2.0.dev1``,
``0.2.0rc1``), which sorts before the release itself.  ``Unreleased`` (the changes file's
section for what is not in a numbered release yet) sorts after every number.
"""

from __future__ import annotations

import re

UNRELEASED = "Unreleased"
_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$")

Key = tuple[int, int, int, int, str]


def key(version: str) -> Key:
    """A sort key; raises ValueError for something that is not a version."""
    if version == UNRELEASED:
        return (1 << 30, 0, 0, 1, "")
    match = _VERSION.match(version.strip())
    if not match:
        raise ValueError(f"not a version: {version!r}")
    major, minor, patch, rest = match.groups()
    rest = rest.lstrip(".-+")
    # A pre-release (dev, a, b, rc) comes before the release; a local/post suffix after it.
    pre = 0 if rest and re.match(r"^(dev|a|b|rc|alpha|beta|pre)", rest) else 1
    return (int(major), int(minor or 0), int(patch or 0), pre, rest)


def parse_or_none(version: str | None) -> Key | None:
    try:
        return key(version) if version else None
    except ValueError:
        return None


def minor_of(version: str) -> tuple[int, int]:
    parts = key(version)
    return parts[0], parts[1]


def minor_distance(a: str, b: str) -> int:
    """How many minor versions apart two versions are (a major version counts as 1000 minors)."""
    (ma, na), (mb, nb) = minor_of(a), minor_of(b)
    return abs((ma * 1000 + na) - (mb * 1000 + nb))


def older(a: str, b: str) -> bool:
    return key(a) < key(b)
