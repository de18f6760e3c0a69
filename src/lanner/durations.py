"""Durations as operators write them: ``5m``, ``300s``, ``1h30m``, ``250ms``, ``PT5M``.

Kestra's configuration accepts both the Micronaut shorthand and ISO-8601, and its own
docs mix them, so Lanner accepts both everywhere a duration is configured.  A bare
number means seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_SHORTHAND = re.compile(r"(?P<num>\d+(?:\.\d+)?)(?P<unit>ms|d|h|m|s)")
_ISO = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)

EXPECTED = "a duration such as 5m, 300s, 1h30m, 250ms or ISO-8601 PT5M"


def parse_duration(value: object) -> timedelta:
    """Parse a configured duration; raise ``ValueError`` naming the accepted forms."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected {EXPECTED}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"expected a positive duration, {EXPECTED}")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected {EXPECTED}")
    text = value.strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    if text[:1] in "pP":
        match = _ISO.fullmatch(text)
        if match and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
            parts = {k: float(v) for k, v in match.groupdict().items() if v}
            return timedelta(
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
        raise ValueError(f"expected {EXPECTED}")
    pos, total = 0, 0.0
    for match in _SHORTHAND.finditer(text):
        if match.start() != pos:
            break
        total += float(match["num"]) * _UNITS[match["unit"]]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"expected {EXPECTED}")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Render a duration in the shorthand form, the inverse of :func:`parse_duration`."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
