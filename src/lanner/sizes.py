"""Sizes as operators write them: ``10MB``, ``512KB``, ``1GB``, or a bare number of bytes.

As in Kestra's configuration (Micronaut's readable bytes), the units are binary: ``1KB``
is 1,024 bytes and ``1MB`` 1,048,576.  ``KiB``, ``MiB`` and ``GiB`` are accepted as the
same units, and the case of the unit does not matter.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "kib": 1 << 10, "k": 1 << 10, "mb": 1 << 20, "mib": 1 << 20, "m": 1 << 20,
          "gb": 1 << 30, "gib": 1 << 30, "g": 1 << 30}
_SIZE = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>[a-zA-Z]*)")
EXPECTED = "a size such as 10MB, 512KB, 1GB or a number of bytes"


def parse_size(value: object) -> int:
    """Bytes in a configured size; raise ``ValueError`` naming the accepted forms."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected {EXPECTED}")
    if isinstance(value, (int, float)):
        size = float(value)
    else:
        match = _SIZE.fullmatch(value.strip())
        unit = match.group("unit").lower() if match else None
        if match is None or unit not in _UNITS:
            raise ValueError(f"expected {EXPECTED}")
        size = float(match.group("num")) * _UNITS[unit]
    if size < 1:
        raise ValueError(f"expected a size of at least one byte: {EXPECTED}")
    return int(size)


def format_size(size: int) -> str:
    """``10485760`` -> ``10MB``; ``1536`` -> ``1.5KB``; ``100`` -> ``100B``."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + unit
    return f"{size}B"
