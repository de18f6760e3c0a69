"""Flow inputs (Kestra's ``inputs:``): their types, constraints, and checks of their defaults.

Each input type is a model selected by ``type``; its ``defaults`` is checked against the
type and constraints when the flow is validated, so a flow never starts with a default
it would itself reject.  Checking a value supplied at execution time reuses the same
rules (:meth:`InputSpec.check`).

An input may follow earlier ones (``dependsOn``): it is asked only when its ``condition``
holds.  Which inputs it may follow is a property of the whole list, checked by
:func:`dependency_problems`; deciding whether it is asked happens when the inputs are
resolved (``lanner.engine.core.inputs``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator

from lanner.durations import parse_duration
from lanner.model.spec import Duration, InputId, Spec, is_template

ITEM_TYPES = (
    "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATETIME", "DATE", "TIME", "DURATION", "JSON", "URI", "EMAIL"
)


class DependsOn(Spec):
    """Kestra's ``dependsOn`` of an input: the earlier inputs it follows, and when it is asked.

    The input is skipped (it gets no value, and being required does not matter) when one
    of ``inputs`` was skipped, or when ``condition`` does not render to ``true``.
    """

    inputs: list[InputId] = []
    condition: str | None = None


class InputSpec(Spec):
    TYPE_NAME: ClassVar[str] = ""

    id: InputId
    description: str | None = None
    display_name: str | None = None
    required: bool = True
    defaults: Any = None
    depends_on: DependsOn | None = None

    @model_validator(mode="after")
    def _defaults_fit(self) -> InputSpec:
        if self.defaults is not None and not is_template(self.defaults):
            try:
                self.check(self.defaults)
            except ValueError as exc:
                raise ValueError(f"defaults: {self.defaults!r} is not a valid {self.TYPE_NAME}: {exc}") from None
        return self

    def check(self, value: Any) -> Any:
        """Return ``value`` converted to this input's type, or raise ``ValueError`` saying why."""
        return value


def _number_bounds(spec: Any, number: float | timedelta) -> None:
    if spec.min is not None and number < spec.min:
        raise ValueError(f"must be >= {spec.min}")
    if spec.max is not None and number > spec.max:
        raise ValueError(f"must be <= {spec.max}")


class StringInput(InputSpec):
    TYPE_NAME = "STRING"
    type: Literal["STRING"]
    validator: str | None = None
    min_length: int | None = Field(None, ge=0)
    max_length: int | None = Field(None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _regex_compiles(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("validator"), str):
            try:
                re.compile(data["validator"])
            except re.error as exc:
                raise ValueError(f"validator {data['validator']!r} is not a valid regular expression: {exc}") from None
        return data

    @model_validator(mode="after")
    def _lengths_ordered(self) -> StringInput:
        if self.min_length is not None and self.max_length is not None and self.min_length > self.max_length:
            raise ValueError(f"minLength: {self.min_length} is greater than maxLength {self.max_length}")
        return self

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if self.min_length is not None and len(value) < self.min_length:
            raise ValueError(f"must be at least {self.min_length} characters long (minLength)")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValueError(f"must be at most {self.max_length} characters long (maxLength)")
        if self.validator and not re.fullmatch(self.validator, value):
            raise ValueError(f"does not match the validator {self.validator!r}")
        return value


class SecretInput(StringInput):
    TYPE_NAME = "SECRET"
    type: Literal["SECRET"]  # type: ignore[assignment]


class IntInput(InputSpec):
    TYPE_NAME = "INT"
    type: Literal["INT"]
    min: int | None = None
    max: int | None = None

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValueError("expected an integer")
        try:
            number = int(value)
        except ValueError:
            raise ValueError("expected an integer") from None
        _number_bounds(self, number)
        return number


class FloatInput(InputSpec):
    TYPE_NAME = "FLOAT"
    type: Literal["FLOAT"]
    min: float | None = None
    max: float | None = None

    def check(self, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        _number_bounds(self, number)
        return number


class BooleanInput(InputSpec):
    TYPE_NAME = "BOOLEAN"
    type: Literal["BOOLEAN", "BOOL"]

    def check(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false")


def _iso(kind: str, parser: Any, value: Any) -> Any:
    if isinstance(value, str):
        try:
            return parser(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ValueError(f"expected an ISO-8601 {kind}")


def _comparable(moment: Any) -> Any:
    """A moment that compares with any other of its type: a date-time without zone is UTC, a time loses its zone."""
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(moment, time):
        return moment.replace(tzinfo=None)
    return moment


class _MomentInput(InputSpec):
    """DATETIME, DATE and TIME: an ISO-8601 value, strictly between ``after`` and ``before`` when they are given."""

    KIND: ClassVar[str] = ""
    after: str | None = None
    before: str | None = None

    @staticmethod
    def read(text: str) -> Any:
        raise NotImplementedError

    @field_validator("after", "before", mode="before")
    @classmethod
    def _bound_parses(cls, bound: Any) -> Any:
        if isinstance(bound, (date, time)):  # YAML read an unquoted date or time
            bound = bound.isoformat()
        if isinstance(bound, str):
            _iso(cls.KIND, cls.read, bound)
        return bound

    def check(self, value: Any) -> Any:
        moment = _iso(self.KIND, self.read, value)
        if self.after is not None and _comparable(moment) <= _comparable(_iso(self.KIND, self.read, self.after)):
            raise ValueError(f"must be after {self.after}")
        if self.before is not None and _comparable(moment) >= _comparable(_iso(self.KIND, self.read, self.before)):
            raise ValueError(f"must be before {self.before}")
        return moment


class DateTimeInput(_MomentInput):
    TYPE_NAME = "DATETIME"
    KIND = "date-time such as 2024-01-31T10:00:00Z"
    type: Literal["DATETIME"]
    @staticmethod
    def read(text: str) -> datetime:
        return datetime.fromisoformat(text)


class DateInput(_MomentInput):
    TYPE_NAME = "DATE"
    KIND = "date such as 2024-01-31"
    type: Literal["DATE"]
    @staticmethod
    def read(text: str) -> date:
        return date.fromisoformat(text)


class TimeInput(_MomentInput):
    TYPE_NAME = "TIME"
    KIND = "time such as 10:15:00"
    type: Literal["TIME"]
    @staticmethod
    def read(text: str) -> time:
        return time.fromisoformat(text)


class DurationInput(InputSpec):
    TYPE_NAME = "DURATION"
    type: Literal["DURATION"]
    min: Duration | None = None
    max: Duration | None = None

    def check(self, value: Any) -> Any:
        try:
            duration = parse_duration(value)
        except ValueError:
            raise ValueError("expected an ISO-8601 duration such as PT5M") from None
        _number_bounds(self, duration)
        return duration


class JsonInput(InputSpec):
    TYPE_NAME = "JSON"
    type: Literal["JSON"]

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ValueError(f"expected JSON: {exc}") from None
        return value


class YamlInput(InputSpec):
    TYPE_NAME = "YAML"
    type: Literal["YAML"]


class UriInput(InputSpec):
    TYPE_NAME = "URI"
    type: Literal["URI"]

    def check(self, value: Any) -> Any:
        if not isinstance(value, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value):
            raise ValueError("expected a URI with a scheme, such as https://example.com")
        return value


class EmailInput(InputSpec):
    TYPE_NAME = "EMAIL"
    type: Literal["EMAIL"]

    def check(self, value: Any) -> Any:
        if not isinstance(value, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("expected an e-mail address")
        return value


class FileInput(InputSpec):
    """A file: a ``kestra:///`` URI (or another URI, or a path) whose name may be limited to some extensions."""

    TYPE_NAME = "FILE"
    type: Literal["FILE"]
    allowed_file_extensions: list[str] | None = None

    @field_validator("allowed_file_extensions")
    @classmethod
    def _extensions_named(cls, extensions: list[str] | None) -> list[str] | None:
        if extensions is not None and any(not extension.strip(". ") for extension in extensions):
            raise ValueError("expected extensions such as .csv or csv, not an empty name")
        return extensions

    def check(self, value: Any) -> Any:
        if not self.allowed_file_extensions:
            return value
        if not isinstance(value, str):
            raise ValueError("expected a file: a kestra:/// URI or a path")
        name = file_name(value)
        allowed = [_dotted(extension) for extension in self.allowed_file_extensions]
        # Compared in lower case, as Kestra does: report.CSV is a .csv file.
        if not any(name.lower().endswith(extension) for extension in allowed):
            raise ValueError(f"file {name!r} has none of the allowed extensions ({', '.join(allowed)})")
        return value


def file_name(value: str) -> str:
    """The name of the file a FILE value points to: the last segment of its URI's path (or of the path)."""
    path = urlsplit(value).path if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/", value) else value
    return unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])


def _dotted(extension: str) -> str:
    return "." + extension.strip().lstrip(".").lower()


class EnumInput(InputSpec):
    TYPE_NAME = "ENUM"
    type: Literal["ENUM"]
    values: list[str] = Field(min_length=1)

    def check(self, value: Any) -> Any:
        if value not in self.values:
            raise ValueError(f"expected one of {', '.join(map(str, self.values))}")
        return value


class SelectInput(InputSpec):
    TYPE_NAME = "SELECT"
    type: Literal["SELECT"]
    values: list[str] | str = Field(min_length=1)
    allow_custom_value: bool = False

    def check(self, value: Any) -> Any:
        if not self.allow_custom_value and isinstance(self.values, list) and value not in self.values:
            raise ValueError(f"expected one of {', '.join(map(str, self.values))}")
        return value


class MultiselectInput(InputSpec):
    TYPE_NAME = "MULTISELECT"
    type: Literal["MULTISELECT"]
    values: list[str] | str | None = None
    options: list[str] | None = None  # Kestra's older name for values
    allow_custom_value: bool = False

    def check(self, value: Any) -> Any:
        if isinstance(value, str):  # from a form: a JSON array, or one value alone
            try:
                value = json.loads(value) if value.lstrip().startswith("[") else [value]
            except ValueError:
                raise ValueError("expected a list: a JSON array such as [\"a\", \"b\"], or repeat the field") from None
        if not isinstance(value, list):
            raise ValueError("expected a list")
        allowed = self.values if isinstance(self.values, list) else self.options
        if not self.allow_custom_value and allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise ValueError(f"{', '.join(map(str, unknown))} not among {', '.join(map(str, allowed))}")
        return value


class ArrayInput(InputSpec):
    TYPE_NAME = "ARRAY"
    type: Literal["ARRAY"]
    item_type: Literal[ITEM_TYPES]  # type: ignore[valid-type]

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise ValueError("expected a list") from None
        if not isinstance(value, list):
            raise ValueError("expected a list")
        item = INPUT_TYPES[self.item_type].model_construct(id="item", type=self.item_type)
        return [item.check(v) for v in value]


def dependency_problems(specs: Sequence[InputSpec], owner: str) -> list[tuple[tuple[Any, ...], str]]:
    """(path relative to the list, message) for each ``dependsOn.inputs`` that cannot be followed.

    An input may follow any other input of the list, declared before or after it, as in
    Kestra (:func:`resolution_order` puts them in order); not an unknown one, itself, or
    one that follows it back.  ``owner`` names the list in messages ("this flow").
    """
    known = {spec.id for spec in specs}
    found: list[tuple[tuple[Any, ...], str]] = []
    for index, spec in enumerate(specs):
        for position, other in enumerate(spec.depends_on.inputs if spec.depends_on else []):
            where = (index, "dependsOn", "inputs", position)
            if other == spec.id:
                found.append((where, f"input '{spec.id}' cannot depend on itself"))
            elif other not in known:
                found.append((where, f"input '{spec.id}' depends on '{other}', which is not an input of {owner}"))
    if not found:
        _, circular = _ordered(specs)
        first = next((index for index, spec in enumerate(specs) if spec.id in circular), None)
        if first is not None:  # said once, where the first of them is declared
            found.append(((first, "dependsOn", "inputs"),
                          f"input '{specs[first].id}' is in a dependsOn cycle ({', '.join(sorted(circular))}): "
                          "one of them must not depend on the others"))
    return found


def in_declared_order(values: Mapping[str, Any], specs: Sequence[InputSpec]) -> dict[str, Any]:
    """An execution's ``inputs`` with the declared ones in declaration order, any other key after them.

    PostgreSQL keeps an execution's inputs as JSONB, which does not keep key order (it
    sorts keys, shortest first); SQLite's JSON text does.  Whoever shows the inputs or
    hands them to expressions reorders them by the flow revision the execution runs, so
    both backends, and executions stored before this, read alike.
    """
    declared = [spec.id for spec in specs if spec.id in values]
    if list(values)[:len(declared)] == declared:
        return dict(values)
    return {**{key: values[key] for key in declared}, **values}


def resolution_order(specs: Sequence[InputSpec]) -> list[InputSpec]:
    """The inputs in an order where each comes after those it depends on; otherwise in declaration order."""
    ordered, _ = _ordered(specs)
    return ordered


def _ordered(specs: Sequence[InputSpec]) -> tuple[list[InputSpec], set[str]]:
    """(the order, the ids left in a cycle, which come last in declaration order)."""
    known = {spec.id for spec in specs}
    waiting = {spec.id: {o for o in (spec.depends_on.inputs if spec.depends_on else []) if o in known and o != spec.id}
               for spec in specs}
    ordered: list[InputSpec] = []
    done: set[str] = set()
    while len(done) < len(specs):
        ready = [spec for spec in specs if spec.id not in done and waiting[spec.id] <= done]
        if not ready:
            break
        ordered.append(ready[0])  # the first declared of those ready: declaration order where it is free
        done.add(ready[0].id)
    left = [spec for spec in specs if spec.id not in done]
    return ordered + left, {spec.id for spec in left}


INPUT_TYPES: dict[str, type[InputSpec]] = {
    "STRING": StringInput, "SECRET": SecretInput, "INT": IntInput, "FLOAT": FloatInput,
    "BOOLEAN": BooleanInput, "BOOL": BooleanInput, "DATETIME": DateTimeInput, "DATE": DateInput,
    "TIME": TimeInput, "DURATION": DurationInput, "JSON": JsonInput, "YAML": YamlInput, "URI": UriInput,
    "EMAIL": EmailInput, "FILE": FileInput, "ENUM": EnumInput, "SELECT": SelectInput,
    "MULTISELECT": MultiselectInput, "ARRAY": ArrayInput,
}

Input = Annotated[
    StringInput | SecretInput | IntInput | FloatInput | BooleanInput | DateTimeInput | DateInput | TimeInput
    | DurationInput | JsonInput | YamlInput | UriInput | EmailInput | FileInput | EnumInput | SelectInput
    | MultiselectInput | ArrayInput,
    Field(discriminator="type"),
]
