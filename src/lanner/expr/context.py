"""Helpers to build the variables a flow's templates see.

The context is a plain mapping (``flow``, ``execution``, ``inputs``, ``outputs``,
``vars``, ``labels``, ``trigger``, ``envs``, ``globals``...) assembled by the engine;
the expression language only looks keys up in it, strictly.  What lives here are the
rules that are Kestra's rather than the engine's, such as which environment variables
become ``envs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "ENV_"


def envs(environ: Mapping[str, str], prefix: str = ENV_PREFIX) -> dict[str, str]:
    """Kestra's ``envs``: ``ENV_FOO=bar`` becomes ``envs.foo`` (prefix removed, lower-cased)."""
    return {name[len(prefix) :].lower(): value for name, value in environ.items() if name.startswith(prefix)}


def build_context(
    *,
    flow: Mapping[str, Any] | None = None,
    execution: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A context with the usual variables; only those given are defined (lookups are strict)."""
    context: dict[str, Any] = {}
    for name, value in (("flow", flow), ("execution", execution), ("inputs", inputs), ("outputs", outputs)):
        if value is not None:
            context[name] = value
    if environ is not None:
        context["envs"] = envs(environ)
    context.update({name: value for name, value in more.items() if value is not None})
    return context
