"""Functions: ``range``, ``max``, ``uuid``..., ``render()``, ``secret()`` and the runtime hooks.

Three kinds:

- pure ones (``range``, ``max``, ``min``), and ``uuid`` and ``randomInt``, which draw
  from the services' random source when they have one;
- ``render(text)`` and ``renderOnce(text)``, which render a string again with the
  variables in scope.  ``render`` repeats until the text stops changing (a variable
  holding ``{{ secret('X') }}`` gets resolved), at most 10 passes and 3 levels deep;
- the doors to the outside: ``secret('NAME')`` reads the environment variable
  ``SECRET_NAME`` (base64, Kestra OSS's convention; the services' environment when they
  have one) and records the value so logs can mask it; ``encrypt(key, plaintext)`` and ``decrypt(key, encrypted)`` use
  Kestra's AES-GCM format (:mod:`lanner.encryption`), and what ``decrypt`` returns is
  masked like a secret; ``kv``, ``read``, ``fileSize``, ``errorLogs`` and
  ``currentEachOutput`` call the caller's :class:`~lanner.expr.services.Services`.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lanner import encryption
from lanner.expr.errors import EvalError, ExpressionError, type_name
from lanner.expr.frame import Frame
from lanner.expr.registry import bool_arg, function, int_arg, required, string_arg
from lanner.expr.services import Services, environment_value, new_uuid, not_available, random_source
from lanner.expr.values import compare, is_number, to_text

MAX_RANGE = 1_000_000
MAX_RENDER_DEPTH = 3
MAX_RENDER_PASSES = 10


def inclusive_range(start: Any, end: Any, step: Any) -> list[Any]:
    """Pebble's ``range`` and ``..``: both ends included, at most a million numbers.

    Single characters count too (``'a'..'e'``), as in Pebble.
    """
    if isinstance(start, str) and isinstance(end, str) and len(start) == 1 and len(end) == 1:
        return [chr(code) for code in inclusive_range(ord(start), ord(end), step)]
    for name, value in (("start", start), ("end", end), ("increment", step)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise EvalError(f"range expects an integer `{name}`, not a {type_name(value)}")
    if step == 0:
        raise EvalError("range expects a non-zero `increment`")
    size = (end - start) // step + 1
    if size > MAX_RANGE:
        raise EvalError(f"range cannot produce more than {MAX_RANGE} numbers")
    return list(range(start, end + (1 if step > 0 else -1), step))


@function("range", "start", "end", "increment")
def range_(args: dict[str, Any], frame: Frame) -> Any:
    owner = "the `range` function"
    start, end = required(args, "start", owner), required(args, "end", owner)
    return inclusive_range(start, end, int_arg(args, "increment", owner, 1))


def _extreme(args: dict[str, Any], owner: str, operator: str) -> Any:
    values = args["values"]
    if not values:
        raise EvalError(f"the `{owner}` function expects at least one argument")
    best = values[0]
    for value in values[1:]:
        if compare(value, best, operator):
            best = value
    return best


@function("max", variadic=True)
def max_(args: dict[str, Any], frame: Frame) -> Any:
    return _extreme(args, "max", ">")


@function("min", variadic=True)
def min_(args: dict[str, Any], frame: Frame) -> Any:
    return _extreme(args, "min", "<")


@function("uuid")
def uuid_(args: dict[str, Any], frame: Frame) -> Any:
    return new_uuid(frame.rt.services)


@function("randomInt", "lower", "upper")
def random_int(args: dict[str, Any], frame: Frame) -> Any:
    """An integer from ``lower`` (included) to ``upper`` (excluded)."""
    owner = "the `randomInt` function"
    lower, upper = int_arg(args, "lower", owner), int_arg(args, "upper", owner)
    if upper < lower:
        raise EvalError("the `randomInt` function expects `upper` to be at least `lower`")
    return lower if upper == lower else random_source(frame.rt.services).randrange(lower, upper)


# --- rendering again ----------------------------------------------------------------------


def _render(args: dict[str, Any], frame: Frame, recursive: bool) -> Any:
    template = required(args, "template", "the `render` function")
    if not isinstance(template, str):
        return template  # a number or a map has nothing to render
    rt = frame.rt
    if rt.depth >= MAX_RENDER_DEPTH:
        raise EvalError(f"render() is nested more than {MAX_RENDER_DEPTH} levels deep")
    rt.depth += 1
    try:
        text = rt.render(template, frame.vars, rt)
        passes = 1
        while recursive and text != template:
            if passes >= MAX_RENDER_PASSES:
                raise EvalError(f"render() still changed the text after {MAX_RENDER_PASSES} passes")
            template, text = text, rt.render(text, frame.vars, rt)
            passes += 1
        return text
    finally:
        rt.depth -= 1


@function("render", "template", "recursive")
def render(args: dict[str, Any], frame: Frame) -> Any:
    return _render(args, frame, bool_arg(args, "recursive", "the `render` function", True))


@function("renderOnce", "template")
def render_once(args: dict[str, Any], frame: Frame) -> Any:
    return _render(args, frame, recursive=False)


# --- secrets --------------------------------------------------------------------------------


@function("secret", "key", "namespace", "subkey")
def secret(args: dict[str, Any], frame: Frame) -> Any:
    """The base64-decoded value of ``SECRET_<KEY>``, read from the environment now."""
    key = string_arg(args, "key", "the `secret` function")
    variable = "SECRET_" + key.upper()
    encoded = environment_value(frame.rt.services, variable)
    if encoded is None:
        raise EvalError(
            f"Unable to find the secret `{key}`: set the environment variable `{variable}` to its base64-encoded value"
        )
    try:
        value = base64.b64decode("".join(encoded.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise EvalError(f"the environment variable `{variable}` of the secret `{key}` is not valid base64") from None
    frame.rt.reveal(value)
    subkey = args.get("subkey")
    if not subkey:
        return value
    try:
        document = json.loads(value)
    except ValueError:
        raise EvalError(f"the secret `{key}` is not a JSON object, so it has no sub-key `{subkey}`") from None
    if not isinstance(document, dict) or subkey not in document:
        raise EvalError(f"the secret `{key}` has no sub-key `{subkey}`")
    part = document[subkey]
    part = part if isinstance(part, str) else to_text(part)
    frame.rt.reveal(part)
    return part


@function("encrypt", "key", "plaintext")
def encrypt(args: dict[str, Any], frame: Frame) -> Any:
    """Kestra's ``encrypt(key, plaintext)``: AES-GCM under a base64 key, as ``base64(nonce + ciphertext + tag)``."""
    owner = "the `encrypt` function"
    key, plaintext = string_arg(args, "key", owner), string_arg(args, "plaintext", owner)
    try:
        return encryption.encrypt(key, plaintext)
    except encryption.EncryptionError as exc:
        raise EvalError(f"{owner} cannot encrypt: {exc}") from None


@function("decrypt", "key", "encrypted")
def decrypt(args: dict[str, Any], frame: Frame) -> Any:
    """Kestra's ``decrypt(key, encrypted)``: the text ``encrypt`` sealed; masked like a secret wherever it goes."""
    owner = "the `decrypt` function"
    key, encrypted = string_arg(args, "key", owner), string_arg(args, "encrypted", owner)
    try:
        plaintext = encryption.decrypt(key, encrypted)
    except encryption.EncryptionError as exc:
        raise EvalError(f"{owner} cannot decrypt: {exc}") from None
    frame.rt.reveal(plaintext)
    return plaintext


# --- runtime hooks --------------------------------------------------------------------------


def _call_hook(frame: Frame, hook: str, function_name: str, *arguments: Any) -> Any:
    services = frame.rt.services
    method = getattr(services, hook, None) if services is not None else None
    # A class that subclasses the Services protocol inherits its empty stubs: not a hook.
    if method is None or getattr(type(services), hook, None) is getattr(Services, hook):
        raise not_available(function_name)
    try:
        return method(*arguments)
    except (ExpressionError, EvalError):
        raise
    except Exception as exc:  # a storage or database error: say which function failed
        raise EvalError(f"the `{function_name}` function failed: {type(exc).__name__}: {str(exc)[:200]}") from exc


@function("kv", "key", "namespace", "errorOnMissing")
def kv(args: dict[str, Any], frame: Frame) -> Any:
    owner = "the `kv` function"
    key = string_arg(args, "key", owner)
    namespace = args.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise EvalError(f"{owner} expects `namespace` to be a string, not a {type_name(namespace)}")
    value = _call_hook(frame, "kv", "kv", key, namespace)
    if value is None and bool_arg(args, "errorOnMissing", owner, True):
        where = f"the namespace `{namespace}`" if namespace else "the flow's namespace"
        raise EvalError(f"the key `{key}` does not exist in {where}")
    return value


@function("read", "path")
def read(args: dict[str, Any], frame: Frame) -> Any:
    return _call_hook(frame, "read", "read", string_arg(args, "path", "the `read` function"))


@function("fileSize", "path")
def file_size(args: dict[str, Any], frame: Frame) -> Any:
    size = _call_hook(frame, "file_size", "fileSize", string_arg(args, "path", "the `fileSize` function"))
    if not is_number(size):
        raise EvalError("the `fileSize` function's service returned something that is not a number")
    return size


@function("errorLogs")
def error_logs(args: dict[str, Any], frame: Frame) -> Any:
    return _call_hook(frame, "error_logs", "errorLogs")


@function("currentEachOutput", "outputs")
def current_each_output(args: dict[str, Any], frame: Frame) -> Any:
    outputs = required(args, "outputs", "the `currentEachOutput` function")
    return _call_hook(frame, "current_each_output", "currentEachOutput", outputs)
