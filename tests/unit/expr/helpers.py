"""Shorthands for the expression tests: render with keyword context, expect an error."""

from __future__ import annotations

from typing import Any

import pytest

from lanner.expr import ExpressionError, render


def r(template: str, **context: Any) -> str:
    return render(template, context)


def fails(template: str, *fragments: str, **context: Any) -> str:
    """Render, expect ExpressionError whose message holds every fragment; return the message."""
    with pytest.raises(ExpressionError) as caught:
        render(template, context)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message
