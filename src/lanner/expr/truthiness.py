"""When a rendered condition counts as true: Kestra's truthiness rule.

Kestra's conditions (``If``, ``Fail``, ``runIf``...) are templates, so what they
produce is text.  Kestra reads that text with one small rule: it is false when it is
exactly ``false``, ``0``, ``-0`` or the empty string (or when there is no value at
all), and true otherwise.  The comparison is exact: ``False``, ``FALSE``, ``" false"``
and ``0.0`` are all *true* in Kestra, and so they are here, so that a flow branches
the same way on both servers.

A condition written as a YAML literal (``condition: false``, ``condition: 0``) never
becomes text, so plain values get the same rule read through their meaning: ``None``
and ``False`` are false, a number is false when it is zero, and a list or mapping is
false when it is empty.  Everything else is true.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Exactly the strings Kestra treats as false (its TruthUtils); nothing is trimmed or lower-cased.
FALSE_TEXTS = frozenset({"false", "0", "-0", ""})


def truthy(value: Any) -> bool:
    """Whether a (rendered) condition value counts as true, by Kestra's rule."""
    if value is None:
        return False
    if isinstance(value, str):
        return value not in FALSE_TEXTS
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0  # -0.0 == 0 too
    if isinstance(value, (Mapping, Sequence)):
        return len(value) > 0
    return True
