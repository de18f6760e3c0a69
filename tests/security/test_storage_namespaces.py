"""A flow reads the files of its own namespace's executions, never another namespace's (Kestra's read() rule).

The rule lives in one place (lanner.files.access); these tests go through it with real
flows, by ``read()`` and by a script's ``inputFiles``, and check the exceptions Kestra makes:
the task's own execution, and the execution that started it (a subflow's parent).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanner.engine.shell.service import Executions
from lanner.files import StorageError
from lanner.files.access import (
    ExecutionFiles,
    Reader,
    StorageAccessDenied,
    check_readable,
)
from lanner.files.local import LocalStorage
from lanner.flows.validator import validate_source
from lanner.model.state import State
from lanner.server.runtime import Runtime
from lanner.store import flow_repository
from lanner.store.database import write_connection
from lanner.store.schema_guard import prepare_database
from tests.helpers import config_for

CONTENT = "content-of-another-namespace"

PRODUCER = """id: producer
namespace: {namespace}
tasks:
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [data.txt]
    commands: ["echo {content} > data.txt"]
"""

READER = """id: reader
namespace: lanner.security
inputs:
  - id: uri
    type: STRING
tasks:
  - id: read
    type: io.kestra.plugin.core.log.Log
    message: "read: {{ read(inputs.uri) }}"
"""

COPIER = """id: copier
namespace: lanner.security
inputs:
  - id: uri
    type: STRING
tasks:
  - id: copy
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      in.txt: "{{ inputs.uri }}"
    commands: ["cat in.txt"]
"""

# A flow of another namespace whose subflow (in lanner.security) reads the parent's own file.
PARENT = """id: parent
namespace: lanner.elsewhere
tasks:
  - id: make
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: [data.txt]
    commands: ["echo from-the-parent > data.txt"]
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: lanner.security
    flowId: reader
    inputs:
      uri: "{{ outputs.make.outputFiles['data.txt'] }}"
"""


@pytest.fixture
def lanner(sqlite_url, tmp_path) -> Iterator[Executions]:
    engine = prepare_database(config_for(sqlite_url), may_migrate=True)
    try:
        sources = [PRODUCER.format(namespace="lanner.other", content=CONTENT),
                   PRODUCER.format(namespace="lanner.security", content="own-namespace-content").replace(
                       "id: producer", "id: own_producer"),
                   READER, COPIER, PARENT]
        for source in sources:
            validation = validate_source(source)
            assert validation.valid, [problem.format() for problem in validation.errors]
            with write_connection(engine) as connection, connection.begin():
                flow_repository.save_flow(connection, validation.flow, source)
        with Runtime(engine, executors=1, worker_threads=2, storage_path=tmp_path / "storage") as runtime:
            yield Executions(engine, runtime.queue, runtime.flows)
    finally:
        engine.dispose()


def _produced(lanner: Executions, namespace: str, flow_id: str) -> str:
    execution = lanner.wait(lanner.create(namespace, flow_id).id, timeout=60)
    assert execution.current is State.SUCCESS
    return execution.task_runs[0].outputs["outputFiles"]["data.txt"]


def _messages(lanner: Executions, execution_id: str) -> list[str]:
    return [entry.message for entry in lanner.logs(execution_id)]


def test_a_file_of_the_flows_own_namespace_is_read_by_read_and_input_files(lanner):
    uri = _produced(lanner, "lanner.security", "own_producer")
    read = lanner.wait(lanner.create("lanner.security", "reader", {"uri": uri}).id, timeout=60)
    assert read.current is State.SUCCESS
    assert "read: own-namespace-content\n" in _messages(lanner, read.id)
    copied = lanner.wait(lanner.create("lanner.security", "copier", {"uri": uri}).id, timeout=60)
    assert copied.current is State.SUCCESS
    assert "own-namespace-content" in _messages(lanner, copied.id)


def test_read_refuses_a_file_of_another_namespace_and_shows_none_of_it(lanner):
    uri = _produced(lanner, "lanner.other", "producer")
    execution = lanner.wait(lanner.create("lanner.security", "reader", {"uri": uri}).id, timeout=60)
    assert execution.current is State.FAILED
    messages = _messages(lanner, execution.id)
    expected = (f"the file {uri} belongs to namespace lanner.other; "
                "a flow of namespace lanner.security cannot read it")
    assert any(expected in message for message in messages), messages
    assert not any(CONTENT in message for message in messages)


def test_input_files_refuse_a_file_of_another_namespace_and_the_script_never_runs(lanner):
    uri = _produced(lanner, "lanner.other", "producer")
    execution = lanner.wait(lanner.create("lanner.security", "copier", {"uri": uri}).id, timeout=60)
    assert execution.current is State.FAILED
    messages = _messages(lanner, execution.id)
    assert any(message.startswith(f"inputFiles 'in.txt': the file {uri} belongs to namespace lanner.other; "
                                  "a flow of namespace lanner.security cannot read it") for message in messages), \
        messages
    assert not any(CONTENT in message for message in messages)


def test_a_subflow_reads_the_files_of_the_execution_that_started_it_whatever_its_namespace(lanner):
    parent = lanner.wait(lanner.create("lanner.elsewhere", "parent").id, timeout=60)
    assert parent.current is State.SUCCESS, [(run.task_id, run.current) for run in parent.task_runs]
    child_id = next(run for run in parent.task_runs if run.task_id == "child").outputs["executionId"]
    assert "read: from-the-parent\n" in _messages(lanner, child_id)


# --- the rule itself -------------------------------------------------------------------------------

def _uri(namespace: str, flow: str = "f", execution: str = "E1", name: str = "out.csv") -> str:
    return f"kestra:///{namespace.replace('.', '/')}/{flow}/executions/{execution}/tasks/t/r1/{name}"


READER_OF_TEAM = Reader.of("company.team", "flow", "E0", None)


def test_the_rule_allows_the_own_execution_and_any_execution_of_the_own_namespace():
    check_readable(_uri("company.team", "flow", "E0"), READER_OF_TEAM)
    check_readable("kestra:///company/team/flow/executions/E0/inputs/file/upload.csv", READER_OF_TEAM)
    check_readable(_uri("company.team", "another_flow", "E9", "deep/er/x.bin"), READER_OF_TEAM)


@pytest.mark.parametrize("namespace", ["company.other", "company", "company.team.sub", "other.company.team"])
def test_the_rule_refuses_every_other_namespace_parents_and_children_too(namespace):
    with pytest.raises(StorageAccessDenied, match=f"belongs to namespace {namespace}; a flow of namespace "
                                                  "company.team cannot read it"):
        check_readable(_uri(namespace), READER_OF_TEAM)


def test_the_rule_refuses_a_uri_that_names_no_execution_file():
    with pytest.raises(StorageAccessDenied, match="is not a file of an execution"):
        check_readable("kestra:///company/team/_files/notes.txt", READER_OF_TEAM)
    with pytest.raises(StorageAccessDenied, match="is not a file of an execution"):
        check_readable("kestra:///company/team/flow/executions/E9/trigger/x.json", READER_OF_TEAM)


def test_the_starting_execution_of_a_subflow_or_a_flow_trigger_is_readable_not_its_namespace():
    for kind in ("io.kestra.plugin.core.flow.Subflow", "io.kestra.plugin.core.trigger.Flow"):
        reader = Reader.of("company.team", "flow", "E0",
                           {"type": kind, "namespace": "sales", "flowId": "up", "executionId": "P1"})
        check_readable(_uri("sales", "up", "P1"), reader)
        with pytest.raises(StorageAccessDenied, match="belongs to namespace sales"):
            check_readable(_uri("sales", "up", "P2"), reader)  # another execution of that namespace


def test_trigger_variables_of_other_triggers_name_no_starting_execution():
    # A webhook's variables come from its caller: they never open another namespace.
    reader = Reader.of("company.team", "flow", "E0", {"type": "io.kestra.plugin.core.trigger.Webhook",
                                                      "namespace": "sales", "flowId": "up", "executionId": "P1"})
    with pytest.raises(StorageAccessDenied, match="belongs to namespace sales"):
        check_readable(_uri("sales", "up", "P1"), reader)


def test_an_ambiguous_path_is_refused_when_one_reading_of_it_is_another_namespace():
    # Namespace a.b.executions.c, flow tasks: read naively from the left, it would be namespace a's.
    uri = "kestra:///a/b/executions/c/tasks/executions/E1/tasks/t/r/file"
    with pytest.raises(StorageAccessDenied, match="belongs to namespace a.b.executions.c"):
        check_readable(uri, Reader.of("a", "flow", "E0", None))


def test_malformed_uris_keep_their_own_error():
    with pytest.raises(StorageError, match="not an internal storage URI") as raised:
        check_readable("file:///etc/passwd", READER_OF_TEAM)
    assert not isinstance(raised.value, StorageAccessDenied)


def test_every_read_of_the_task_view_is_checked_before_the_storage_is_touched(tmp_path):
    storage = LocalStorage(tmp_path)
    foreign = storage.put(_uri("company.other"), b"not yours")
    own = storage.put(_uri("company.team"), b"yours")
    files = ExecutionFiles(storage, READER_OF_TEAM)
    with files.open(own) as handle:
        assert handle.read() == b"yours"
    assert files.size(own) == 5 and files.exists(own)
    for read in (files.open, files.size, files.exists, files.delete):
        with pytest.raises(StorageAccessDenied):
            read(foreign)
    assert storage.exists(foreign)
