"""A flow's ``disabled`` property set in its source, as Kestra's enable/disable routes do.

The change is made to the YAML text itself (the top-level ``disabled:`` line replaced, or one
appended), so the rest of the source stays exactly as written, comments included, and the new
revision's source says what the flow is.
"""

from __future__ import annotations

import re

_TOP_LEVEL = re.compile(r"(?m)^disabled[ \t]*:[^\n]*$")


def with_disabled(source: str, disabled: bool) -> str:
    """``source`` with its top-level ``disabled`` set to ``disabled``."""
    line = f"disabled: {'true' if disabled else 'false'}"
    if _TOP_LEVEL.search(source):
        return _TOP_LEVEL.sub(line, source, count=1)
    return f"{source.rstrip()}\n{line}\n"
