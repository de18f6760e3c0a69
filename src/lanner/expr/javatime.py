"""Java ``DateTimeFormatter`` patterns, formatting and parsing, in Python.

Kestra flows write date formats the Java way (``yyyy-MM-dd'T'HH:mm:ss.SSSXXX``), and
``strftime`` cannot express them (``SSS``, ``XXX``, quoting with ``'``), so a pattern
is compiled here into a list of small functions, once, and cached.  The named
formats Kestra adds (``iso``, ``sql``, ``iso_date_time``...) and the localized
styles (``short``... ``full``) are here too.  Names of months and days are English:
other locales print English names.

Weeks (``w``, ``Y``) follow ISO-8601 (weeks start on Monday), where Java would follow
the locale.  ``[`` and ``]`` (optional sections) print what they contain.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from lanner.expr.errors import EvalError
from lanner.expr.values import offset_text

Piece = Callable[[datetime], str]
_MONTHS = [calendar.month_name[i] for i in range(1, 13)]
_DAYS = [calendar.day_name[i] for i in range(7)]


def _offset(dt: datetime) -> timedelta:
    return dt.utcoffset() or timedelta(0)


def _pad(value: int, width: int) -> str:
    return f"{value:0{width}d}" if value >= 0 else "-" + f"{-value:0{width}d}"


def _text(full: str, count: int) -> str:
    return full[:3] if count <= 3 else full if count == 4 else full[:1]


def _zone_id(dt: datetime) -> str:
    key = getattr(dt.tzinfo, "key", None)
    return key if isinstance(key, str) else offset_text(_offset(dt), zero="Z")


def _field(letter: str, count: int) -> Piece:  # noqa: C901  (one branch per pattern letter)
    if letter in "yu" or letter == "Y":
        iso = letter == "Y"

        def year(dt: datetime) -> str:
            value = dt.isocalendar()[0] if iso else dt.year
            return f"{value % 100:02d}" if count == 2 else _pad(value, count if count > 2 else 1)

        return year
    if letter in "ML":
        if count >= 3:
            return lambda dt: _text(_MONTHS[dt.month - 1], count)
        return lambda dt: _pad(dt.month, count)
    simple: dict[str, Callable[[datetime], int]] = {
        "d": lambda dt: dt.day,
        "D": lambda dt: dt.timetuple().tm_yday,
        "H": lambda dt: dt.hour,
        "k": lambda dt: dt.hour or 24,
        "K": lambda dt: dt.hour % 12,
        "h": lambda dt: dt.hour % 12 or 12,
        "m": lambda dt: dt.minute,
        "s": lambda dt: dt.second,
        "w": lambda dt: dt.isocalendar()[1],
        "A": lambda dt: ((dt.hour * 60 + dt.minute) * 60 + dt.second) * 1000 + dt.microsecond // 1000,
        "n": lambda dt: dt.microsecond * 1000,
        "N": lambda dt: (((dt.hour * 60 + dt.minute) * 60 + dt.second) * 1_000_000 + dt.microsecond) * 1000,
    }
    if letter in simple:
        if count > (3 if letter == "D" else 2) and letter not in "AnN":
            raise EvalError(f"too many pattern letters `{letter}` in the date format")
        get = simple[letter]
        return lambda dt: _pad(get(dt), count)
    if letter == "S":
        if count > 9:
            raise EvalError("too many pattern letters `S` in the date format")
        return lambda dt: f"{dt.microsecond:06d}000"[:count]
    if letter in "Qq":
        if count >= 3:
            return lambda dt: f"Q{(dt.month - 1) // 3 + 1}" if count == 3 else f"{(dt.month - 1) // 3 + 1}"
        return lambda dt: _pad((dt.month - 1) // 3 + 1, count)
    if letter == "E":
        return lambda dt: _text(_DAYS[dt.weekday()], count)
    if letter in "ec":
        if count >= 3:
            return lambda dt: _text(_DAYS[dt.weekday()], count)
        return lambda dt: _pad((dt.weekday() + 1) % 7 + 1, count)  # US locale: Sunday is day 1
    if letter == "a":
        return lambda dt: "AM" if dt.hour < 12 else "PM"
    if letter == "G":
        return lambda dt: "AD" if count <= 3 else "Anno Domini" if count == 4 else "A"
    return _zone_field(letter, count)


def _zone_field(letter: str, count: int) -> Piece:
    if letter in "Xx":
        zero = "Z" if letter == "X" else ""
        if count == 1:
            return lambda dt: _short_offset(_offset(dt), zero)
        if count > 5:
            raise EvalError(f"too many pattern letters `{letter}` in the date format")
        colon, seconds = count in (3, 5), count >= 4
        return lambda dt: (
            offset_text(_offset(dt), zero=zero, colon=colon, seconds=seconds) or ("+00:00" if colon else "+0000")
        )
    if letter == "Z":
        if count <= 3:
            return lambda dt: offset_text(_offset(dt), zero="", colon=False, seconds=False) or "+0000"
        if count == 4:
            return lambda dt: "GMT" + offset_text(_offset(dt), zero="", colon=True) if _offset(dt) else "GMT"
        return lambda dt: offset_text(_offset(dt), zero="Z", colon=True)
    if letter == "O":
        return lambda dt: "GMT" + (_short_offset(_offset(dt), "", gmt=count == 1) if _offset(dt) else "")
    if letter == "V":
        return _zone_id
    if letter == "z":
        return lambda dt: (dt.tzname() or _zone_id(dt)) if count < 4 else _zone_id(dt)
    raise EvalError(f"unknown pattern letter `{letter}` in the date format")


def _short_offset(offset: timedelta, zero: str, gmt: bool = False) -> str:
    total = int(offset.total_seconds())
    if total == 0:
        return zero or "+00"
    sign, total = ("-" if total < 0 else "+"), abs(total)
    hours, minutes = total // 3600, total % 3600 // 60
    if gmt:
        return f"{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"{sign}{hours:02d}" + (f"{minutes:02d}" if minutes else "")


def _tokens(pattern: str) -> list[tuple[str, str | int]]:
    """("literal", text) and (letter, count) pairs; raises on a malformed pattern."""
    tokens: list[tuple[str, str | int]] = []
    index, size = 0, len(pattern)
    while index < size:
        char = pattern[index]
        if char == "'":
            end = index + 1
            text: list[str] = []
            while True:
                if end >= size:
                    raise EvalError("the date format has an unclosed quote")
                if pattern[end] == "'":
                    if end + 1 < size and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            tokens.append(("literal", "".join(text) if end > index + 1 else "'"))
            index = end + 1
        elif char.isascii() and char.isalpha():
            end = index
            while end < size and pattern[end] == char:
                end += 1
            tokens.append((char, end - index))
            index = end
        elif char in "[]":
            index += 1
        elif char in "{}#":
            raise EvalError(f"the character `{char}` is reserved in date formats")
        else:
            tokens.append(("literal", char))
            index += 1
    return tokens


def _literal(text: str) -> Piece:
    return lambda dt: text


# A memo of a pure function (same text, same immutable result): it has no observable effect,
# so decide may reach it (see lanner.engine.core.surroundings).
@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Piece:
    pieces: list[Piece] = []
    for kind, value in _tokens(pattern):
        if kind == "literal":
            pieces.append(_literal(str(value)))
        else:
            pieces.append(_field(kind, int(value)))
    return lambda dt: "".join(piece(dt) for piece in pieces)


# --- named formats ----------------------------------------------------------------------


def _fraction(dt: datetime, groups: bool) -> str:
    if not dt.microsecond:
        return ""
    digits = f"{dt.microsecond:06d}"
    if groups:
        return "." + (digits[:3] if digits.endswith("000") else digits)
    return "." + digits.rstrip("0")


def _local_time(dt: datetime) -> str:
    return dt.strftime("%H:%M:%S") + _fraction(dt, groups=False)


def _iso_offset(dt: datetime) -> str:
    return offset_text(_offset(dt), zero="Z")


def _region(dt: datetime) -> str:
    key = getattr(dt.tzinfo, "key", None)
    return f"[{key}]" if isinstance(key, str) else ""


def _date(dt: datetime) -> str:
    return f"{_pad(dt.year, 4)}-{dt.month:02d}-{dt.day:02d}"


def _rfc_1123(dt: datetime) -> str:
    zone = "GMT" if not _offset(dt) else offset_text(_offset(dt), zero="", colon=False, seconds=False)
    return f"{_DAYS[dt.weekday()][:3]}, {dt.day} {_MONTHS[dt.month - 1][:3]} {dt.year} {dt.strftime('%H:%M:%S')} {zone}"


NAMED: dict[str, Piece] = {
    "iso": compile_pattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"),
    "iso_sec": compile_pattern("yyyy-MM-dd'T'HH:mm:ssXXX"),
    "sql": compile_pattern("yyyy-MM-dd HH:mm:ss.SSSSSS"),
    "sql_seq": compile_pattern("yyyy-MM-dd HH:mm:ss"),
    "iso_local_date": _date,
    "iso_date": lambda dt: _date(dt) + _iso_offset(dt),
    "iso_local_time": _local_time,
    "iso_time": lambda dt: _local_time(dt) + _iso_offset(dt),
    "iso_offset_time": lambda dt: _local_time(dt) + _iso_offset(dt),
    "iso_local_date_time": lambda dt: _date(dt) + "T" + _local_time(dt),
    "iso_date_time": lambda dt: _date(dt) + "T" + _local_time(dt) + _iso_offset(dt) + _region(dt),
    "iso_zoned_date_time": lambda dt: _date(dt) + "T" + _local_time(dt) + _iso_offset(dt) + _region(dt),
    "iso_instant": lambda dt: (
        _date(dt.astimezone(UTC)) + "T" + dt.astimezone(UTC).strftime("%H:%M:%S") + _fraction(dt, groups=True) + "Z"
    ),
    "iso_ordinal_date": lambda dt: f"{_pad(dt.year, 4)}-{dt.timetuple().tm_yday:03d}" + _iso_offset(dt),
    "iso_week_date": lambda dt: "{:04d}-W{:02d}-{}".format(*dt.isocalendar()) + _iso_offset(dt),
    "rfc_1123_date_time": _rfc_1123,
    # Java's localized styles for the US locale.
    "short": compile_pattern("M/d/yy, h:mm a"),
    "medium": compile_pattern("MMM d, y, h:mm:ss a"),
    "long": compile_pattern("MMMM d, y 'at' h:mm:ss a z"),
    "full": compile_pattern("EEEE, MMMM d, y 'at' h:mm:ss a zzzz"),
}


def formatter(format_: str) -> Piece:
    return NAMED.get(format_) or compile_pattern(format_)


# --- parsing with a pattern (existingFormat) ----------------------------------------------

_MONTH_ALTERNATIVES = "|".join(sorted(_MONTHS + [m[:3] for m in _MONTHS], key=len, reverse=True))
_DAY_ALTERNATIVES = "|".join(sorted(_DAYS + [d[:3] for d in _DAYS], key=len, reverse=True))
_NUMERIC_FIELDS = {"d": "day", "H": "hour", "k": "hour", "h": "hour12", "K": "hour12", "m": "minute", "s": "second",
                   "D": "yday"}  # fmt: skip


def _regex_for(letter: str, count: int, seen: set[str]) -> str:
    def group(name: str, body: str) -> str:
        if name in seen:  # the same field twice: the second must merely match
            return f"(?:{body})"
        seen.add(name)
        return f"(?P<{name}>{body})"

    digits = r"\d{1,2}" if count == 1 else rf"\d{{{count}}}"
    if letter in "yuY":
        if count == 2:
            return group("year2", r"\d{2}")
        return group("year", r"[+-]?\d{4,9}" if count >= 4 else r"[+-]?\d+")
    if letter in "ML":
        return group("month", digits) if count <= 2 else group("monthname", _MONTH_ALTERNATIVES)
    if letter in _NUMERIC_FIELDS:
        return group(_NUMERIC_FIELDS[letter], r"\d{1,3}" if letter == "D" and count == 1 else digits)
    if letter == "S":
        return group("fraction", rf"\d{{{count}}}")
    if letter == "n":
        return group("nanos", r"\d{1,9}")
    if letter == "a":
        return group("ampm", "(?i:AM|PM)")
    if letter in "Ee":
        return f"(?:{_DAY_ALTERNATIVES})"
    if letter in "XxZO":
        return group("offset", r"Z|(?:GMT|UTC)?[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?|GMT|UTC")
    if letter in "Vz":
        return group("zone", r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*")
    if letter == "G":
        return "(?:AD|BC)"
    raise EvalError(f"unknown pattern letter `{letter}` in the date format")


# A memo of a pure function (same text, same immutable result): it has no observable effect,
# so decide may reach it (see lanner.engine.core.surroundings).
@lru_cache(maxsize=256)
def parser(pattern: str) -> re.Pattern[str]:
    seen: set[str] = set()
    parts = []
    for kind, value in _tokens(pattern):
        parts.append(re.escape(str(value)) if kind == "literal" else _regex_for(kind, int(value), seen))
    return re.compile("".join(parts))


def parse(text: str, pattern: str, zone_of: Callable[[str], tzinfo]) -> tuple[datetime, bool]:
    """A datetime from ``text`` read with ``pattern``, and whether it carried a zone."""
    match = parser(pattern).fullmatch(text.strip())
    if match is None:
        raise EvalError("the date does not match its `existingFormat`")
    found = match.groupdict()
    if found.get("year") is None and found.get("year2") is None:
        raise EvalError("the `existingFormat` has no year")
    year = int(found["year"]) if found.get("year") else 2000 + int(found["year2"])
    month = int(found["month"]) if found.get("month") else 1
    if found.get("monthname"):
        name = found["monthname"][:3].lower()
        month = next(i for i, full in enumerate(_MONTHS, 1) if full[:3].lower() == name)
    hour = int(found.get("hour") or 0)
    if found.get("hour12"):
        hour = int(found["hour12"]) % 12 + (12 if (found.get("ampm") or "").upper() == "PM" else 0)
    fraction = (found.get("fraction") or found.get("nanos") or "").ljust(6, "0")[:6]
    try:
        value = datetime(year, month, int(found.get("day") or 1), hour, int(found.get("minute") or 0),
                         int(found.get("second") or 0), int(fraction or 0))  # fmt: skip
        if found.get("yday"):
            value = value.replace(month=1, day=1) + timedelta(days=int(found["yday"]) - 1)
    except (ValueError, OverflowError):
        raise EvalError("the date matches its `existingFormat` but is not a valid date") from None
    if found.get("offset"):
        return value.replace(tzinfo=zone_of(found["offset"])), True
    if found.get("zone"):
        return value.replace(tzinfo=zone_of(found["zone"])), True
    return value, False
