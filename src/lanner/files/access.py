"""Which files of internal storage a task may read: Kestra's rule for ``read()``, applied to every read.

A ``kestra:///`` URI names the execution that stored it
(``kestra:///<namespace as path>/<flow>/executions/<execution>/tasks/<task>/<task run>/<file>``),
and URIs reach tasks from many hands: a FILE input given through the API, another flow's
outputs, a value typed into a flow.  A task of namespace ``a`` reading ``kestra:///b/...``
would read another team's outputs.  So, as Kestra's file functions do
(``AbstractFileFunction``), a task may read:

1. the files of its own execution;
2. the files of the execution that started it: the parent execution of a subflow, or the
   execution whose end fired a Flow trigger (``trigger.executionId``);
3. any other execution file of its own namespace (Kestra's namespace check: in Kestra's
   open-source edition every namespace passes it; in its enterprise edition only the
   namespaces a namespace's ``allowedNamespaces`` lists do.  Lanner has no such
   setting, so it allows the namespace itself, never another one).

Anything else is refused with :class:`StorageAccessDenied` (a :class:`StorageError`, so
every caller already reports it), before the storage is touched: another namespace's file,
and a URI that names no execution file at all.  Kestra applies the rule in its ``read()``
and ``fileSize()`` functions; Lanner applies it to every read a task makes through
:class:`ExecutionFiles` (those functions, ``inputFiles`` of scripts, HTTP ``formData``).

The namespace a URI belongs to is read from its path, which is ambiguous when namespace or
flow names are themselves ``executions`` or ``tasks``: every reading of the path is
considered, and the URI is allowed only when each of them is (an ambiguous URI of another
namespace can then never pass for one of the reader's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from lanner.files import Entry, Readable, Storage, StorageError, parse

# The triggers whose variables name the execution that started this one (its files are readable).
STARTING_EXECUTION_TRIGGERS = ("io.kestra.plugin.core.flow.Subflow", "io.kestra.plugin.core.trigger.Flow")


class StorageAccessDenied(StorageError):
    """A file the reading task may not read (another namespace's, or no execution's)."""


@dataclass(frozen=True)
class Execution:
    namespace: str
    flow_id: str
    execution_id: str

    def holds(self, segments: tuple[str, ...]) -> bool:
        """Whether the checked URI segments name a file of this execution."""
        prefix = (*self.namespace.split("."), self.flow_id, "executions", self.execution_id)
        return len(segments) > len(prefix) and segments[:len(prefix)] == prefix


@dataclass(frozen=True)
class Reader:
    """The execution a task runs in, and the one that started it (if any): whose files it may read."""

    current: Execution
    starter: Execution | None = None

    @classmethod
    def of(cls, namespace: str, flow_id: str, execution_id: str, trigger: Mapping[str, Any] | None) -> Reader:
        """The reader for a task of that execution; ``trigger`` is its ``trigger`` variables."""
        starter = None
        trigger = trigger or {}
        if trigger.get("type") in STARTING_EXECUTION_TRIGGERS and all(
                isinstance(trigger.get(key), str) and trigger.get(key)
                for key in ("namespace", "flowId", "executionId")):
            starter = Execution(trigger["namespace"], trigger["flowId"], trigger["executionId"])
        return cls(Execution(namespace, flow_id, execution_id), starter)


def owners(segments: tuple[str, ...]) -> list[str]:
    """Every namespace the path may belong to as an execution file.

    Execution files are at ``.../executions/<id>/tasks/<task>/<run>/<file>``.
    """
    found = []
    for index in range(2, len(segments) - 5):  # at least one namespace part and the flow before it
        if segments[index] == "executions" and segments[index + 2] == "tasks":
            found.append(".".join(segments[:index - 1]))
    return found


def check_readable(uri: str, reader: Reader) -> None:
    """Nothing when ``reader`` may read ``uri``; StorageAccessDenied (StorageError for a malformed URI) otherwise."""
    segments = parse(uri)
    if reader.current.holds(segments) or (reader.starter is not None and reader.starter.holds(segments)):
        return
    namespace = reader.current.namespace
    candidates = owners(segments)
    if not candidates:
        raise StorageAccessDenied(
            f"the file {uri} is not a file of an execution "
            "(kestra:///<namespace>/<flow>/executions/<execution>/tasks/<task>/<task run>/<file>): "
            f"a flow of namespace {namespace} reads only its own namespace's execution files")
    foreign = next((owner for owner in candidates if owner != namespace), None)
    if foreign is not None:
        raise StorageAccessDenied(
            f"the file {uri} belongs to namespace {foreign}; a flow of namespace {namespace} cannot read it "
            "(a flow reads the files of its own namespace's executions and of the execution that started it: "
            "pass the content itself, e.g. as an output or a subflow input, instead of the URI)")


class ExecutionFiles:
    """Internal storage as one task sees it: reads checked by :func:`check_readable`, writes as they are.

    What a worker hands its tasks as ``context.storage``: ``read()``, ``fileSize()``, ``inputFiles``
    and every other task read go through :meth:`open` and :meth:`size`, the one place the rule is applied.
    """

    def __init__(self, storage: Storage, reader: Reader) -> None:
        self._storage, self.reader = storage, reader

    def put(self, uri: str, data: Readable | bytes) -> str:
        return self._storage.put(uri, data)

    def open(self, uri: str) -> BinaryIO:
        check_readable(uri, self.reader)
        return self._storage.open(uri)

    def size(self, uri: str) -> int:
        check_readable(uri, self.reader)
        return self._storage.size(uri)

    def exists(self, uri: str) -> bool:
        check_readable(uri, self.reader)
        return self._storage.exists(uri)

    def delete(self, uri: str) -> bool:
        check_readable(uri, self.reader)
        return self._storage.delete(uri)

    def list(self, uri: str) -> list[Entry]:
        check_readable(uri, self.reader)
        return self._storage.list(uri)

    def make_folder(self, uri: str) -> None:
        check_readable(uri, self.reader)
        self._storage.make_folder(uri)

    def is_folder(self, uri: str) -> bool:
        check_readable(uri, self.reader)
        return self._storage.is_folder(uri)

    def delete_folder(self, uri: str) -> bool:
        check_readable(uri, self.reader)
        return self._storage.delete_folder(uri)
