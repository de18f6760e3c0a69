"""Lanner's expression language: Kestra's dialect of Pebble for ``{{ ... }}`` in flows.

    >>> render("Hello {{ inputs.name | upper }}", {"inputs": {"name": "ada"}})
    'Hello ADA'

A template is lexed (``lexer``), parsed into a frozen tree (``parser``, ``nodes``)
and compiled into Python closures once (``compiler`` for tags, ``expressions`` for the
rest); ``template`` caches the result and renders it as often as needed.  What values
mean (printing, equality, Java-style arithmetic, closed lookups) is ``values``; the
built-ins live in ``strings``, ``sequences``, ``formats``, ``dates`` (with
``javatime``), ``functions`` and ``predicates``, registered in ``registry``; ``frame``
holds a render's variables and state.  The world outside is reached only through
``services`` and ``secret()``.
``docs/expressions.md`` is the user's guide.
"""

from lanner.expr.context import build_context, envs
from lanner.expr.errors import ExpressionError
from lanner.expr.services import Services
from lanner.expr.template import Template, compile_template, is_expression, render, render_value

__all__ = [
    "ExpressionError",
    "Services",
    "Template",
    "build_context",
    "compile_template",
    "envs",
    "is_expression",
    "render",
    "render_value",
]
