"""Script tasks run real local processes: commands, scripts, files, the output protocol, exit codes, kills."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from lanner.files.local import LocalStorage
from lanner.model.state import State
from lanner.tasks.core import process
from lanner.tasks.core.scripts import PythonCommands, PythonScript, ShellCommands, ShellScript
from lanner.tasks.runnable import Metric, TaskFailure
from tests.helpers import processes_with
from tests.unit.tasks.fake_context import FakeContext, task


@pytest.fixture
def context(tmp_path: Path) -> FakeContext:
    return FakeContext({"inputs": {"who": "ada"}}, storage=LocalStorage(tmp_path / "storage"))


def lines(context: FakeContext, level: str = "INFO") -> list[str]:
    return [message for logged, message in context.logs if logged == level]


def working_dir(context: FakeContext) -> Path:
    """The working directory the run reported (each test's script prints it as ``wd=...``)."""
    return Path(next(line[3:] for line in lines(context) if line.startswith("wd=")))


# --- commands, scripts, interpreters ----------------------------------------------------------------

def test_commands_run_in_one_shell_in_order(context):
    output = task(ShellCommands, commands=["GREETING=hello", "echo \"$GREETING {{ inputs.who }}\"", "echo second"]).run(context)
    assert lines(context) == ["hello ada", "second"]
    assert output.outputs == {"exitCode": 0, "vars": {}}
    assert output.state is State.SUCCESS


def test_before_commands_run_first_in_the_same_shell(context):
    task(ShellCommands, beforeCommands=["echo before", "export STAGE=prepared"], commands=["echo \"$STAGE\""]).run(context)
    assert lines(context) == ["before", "prepared"]


def test_a_shell_script_is_written_to_script_sh_in_a_working_dir_removed_afterwards(context):
    script = "echo \"wd=$WORKING_DIR\"\nls\npwd\necho '{{ inputs.who }}'\n"
    task(ShellScript, beforeCommands=["echo before"], script=script).run(context)
    workdir = working_dir(context)
    assert lines(context) == ["before", f"wd={workdir}", "script.sh", str(workdir), "ada"]
    assert workdir.name.startswith("lanner-script-") and not workdir.exists()


def test_the_interpreter_runs_the_body(context):
    task(PythonCommands, interpreter=[sys.executable, "-c"], failFast=False,
         commands=["import sys", "print(6 * 7, sys.argv[0])"]).run(context)
    assert lines(context) == ["42 -c"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_shell_script_is_read_by_the_interpreter_given(context):
    task(ShellScript, interpreter=["bash", "-c"], script="echo \"${BASH_VERSION:+bash}\"").run(context)
    assert lines(context) == ["bash"]


def test_python_script_runs_with_python3_from_path(context):
    task(PythonScript, script="import sys\nprint(sys.version_info[0])\nprint(sys.argv[0])").run(context)
    assert lines(context) == ["3", "script.py"]


def test_python_script_falls_back_to_lanners_python_when_path_has_none(context, tmp_path):
    empty = tmp_path / "no-python-here"
    empty.mkdir()
    task(PythonScript, env={"PATH": str(empty)}, script="import sys\nprint(sys.executable)").run(context)
    assert lines(context) == [sys.executable]


def test_python_commands_run_through_the_shell(context):
    task(PythonCommands, commands=["echo from the shell", "python3 -c 'print(\"from python\")'"]).run(context)
    assert lines(context) == ["from the shell", "from python"]


def test_python_tasks_run_unbuffered_so_lines_are_logged_as_printed(context):
    task(PythonScript, script="import os\nprint(os.environ['PYTHONUNBUFFERED'])").run(context)
    assert lines(context) == ["1"]


def test_a_missing_interpreter_fails_with_its_name(context):
    with pytest.raises(TaskFailure, match="^cannot start the interpreter '/no/such/shell': No such file or directory$"):
        task(ShellCommands, interpreter=["/no/such/shell", "-c"], commands=["true"]).run(context)


# --- environment -------------------------------------------------------------------------------------

def test_env_is_rendered_and_added_to_the_environment(context, monkeypatch):
    monkeypatch.setenv("FROM_WORKER", "inherited")
    monkeypatch.setenv("LANNER_DATABASE_URL", "postgresql://secret")
    task(ShellCommands, env={"WHO": "{{ inputs.who }}", "COUNT": 3, "ON": True},
         commands=["echo \"$WHO $COUNT $ON $FROM_WORKER [${LANNER_DATABASE_URL:-hidden}]\""]).run(context)
    assert lines(context) == ["ada 3 true inherited [hidden]"]


def test_a_script_gets_only_the_secrets_its_env_names(context, monkeypatch):
    monkeypatch.setenv("SECRET_DB_PASSWORD", "aHVudGVyMg==")  # base64 of hunter2
    monkeypatch.setenv("SECRET_API_TOKEN", "dG9rZW4=")
    context.variables = {"token": "token"}  # as secret('API_TOKEN') would render it
    task(ShellCommands, env={"TOKEN": "{{ token }}"},
         commands=["env | grep -c '^SECRET_' || true", "echo \"$TOKEN\""]).run(context)
    assert lines(context) == ["0", "token"]


def test_an_invalid_env_name_fails(context):
    with pytest.raises(TaskFailure, match=r"^env: 'A=B' is not a valid environment variable name$"):
        task(ShellCommands, env={"A=B": "x"}, commands=["true"]).run(context)


# --- input files -------------------------------------------------------------------------------------

def test_input_files_are_written_with_sub_folders(context):
    files = {"hello.txt": "hello {{ inputs.who }}", "data/deep/n.csv": "a,b\n1,2\n"}
    task(ShellCommands, inputFiles=files, commands=["cat hello.txt", "echo", "cat data/deep/n.csv"]).run(context)
    assert lines(context) == ["hello ada", "a,b", "1,2"]


def test_input_files_may_be_a_json_string(context):
    context.variables["inputs"]["files"] = '{"a.txt": "from json"}'
    task(ShellCommands, inputFiles="{{ inputs.files }}", commands=["cat a.txt"]).run(context)
    assert lines(context) == ["from json"]


def test_an_input_file_given_as_a_storage_uri_is_copied(context):
    uri = context.storage.put("kestra:///company/team/other/executions/e/tasks/t/r/data.bin", b"stored\xff\n")
    task(PythonScript, inputFiles={"in/copy.bin": uri}, script="print(open('in/copy.bin', 'rb').read())").run(context)
    assert lines(context) == ["b'stored\\xff\\n'"]


def test_an_input_file_naming_a_missing_storage_file_fails(context):
    with pytest.raises(TaskFailure, match=r"^inputFiles 'x': no file in internal storage at kestra:///nowhere/x"):
        task(ShellCommands, inputFiles={"x": "kestra:///nowhere/x"}, commands=["true"]).run(context)


@pytest.mark.parametrize("name", ["../escaped.txt", "a/../../escaped.txt", "/tmp/absolute.txt", "..", ""])
def test_input_files_escaping_the_working_dir_are_refused(context, tmp_path, name):
    with pytest.raises(TaskFailure, match=r"^inputFiles: .* is not a relative path inside the working directory"):
        task(ShellCommands, inputFiles={name: "x"}, commands=["echo never"]).run(context)
    assert not lines(context)
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_an_input_file_may_not_replace_the_script(context):
    with pytest.raises(TaskFailure, match="^inputFiles: 'script.py' is the file this task writes its script to"):
        task(PythonScript, inputFiles={"script.py": "print('sneaky')"}, script="print('mine')").run(context)


def test_input_files_that_are_no_map_fail(context):
    with pytest.raises(TaskFailure, match="^inputFiles is a string that is not JSON"):
        task(ShellCommands, inputFiles="not json", commands=["true"]).run(context)


# --- output files ------------------------------------------------------------------------------------

MADE = ["a.txt", "b.csv", "sub/c.txt", "sub/deep/d.csv", "e.json", "f.yaml"]


@pytest.mark.parametrize(("patterns", "stored"), [
    (["*.txt"], ["a.txt"]),
    (["**.txt"], ["a.txt", "sub/c.txt"]),
    (["**/*.csv"], ["sub/deep/d.csv"]),
    (["*.{json,yaml}", "sub/*"], ["e.json", "f.yaml", "sub/c.txt"]),
    (["[ab].*", "./sub/deep/?.csv"], ["a.txt", "b.csv", "sub/deep/d.csv"]),
    (["nothing.*"], []),
])
def test_output_files_matching_the_globs_are_stored(context, patterns, stored):
    make = [f"mkdir -p $(dirname {name}) && echo 'content of {name}' > {name}" for name in MADE]
    output = task(ShellCommands, commands=make, outputFiles=patterns).run(context)
    files = output.outputs["outputFiles"]
    assert sorted(files) == stored
    for name, uri in files.items():
        assert uri == context.storage_uri(name)
        with context.storage.open(uri) as handle:
            assert handle.read() == f"content of {name}\n".encode()


@pytest.mark.parametrize("pattern", ["../*.txt", "/etc/*"])
def test_output_patterns_escaping_the_working_dir_are_refused(context, pattern):
    with pytest.raises(TaskFailure, match=r"^outputFiles: .* is not a pattern relative to the working directory"):
        task(ShellCommands, commands=["true"], outputFiles=[pattern]).run(context)


# --- the output protocol -----------------------------------------------------------------------------

def test_outputs_lines_merge_into_vars(context):
    output = task(ShellCommands, commands=[
        "echo '::{\"outputs\":{\"a\":1,\"b\":\"x\"}}::'",
        "echo '::{\"outputs\":{\"b\":\"y\",\"nested\":{\"k\":[1,2]}}}::'",
    ]).run(context)
    assert output.outputs["vars"] == {"a": 1, "b": "y", "nested": {"k": [1, 2]}}
    assert lines(context) == []  # protocol lines are consumed, not logged


def test_metrics_lines_become_metrics(context):
    script = ("import json\n"
              "print('::' + json.dumps({'metrics': [{'name': 'rows', 'type': 'counter', 'value': 12, 'tags': {'table': 't'}},"
              " {'name': 'load', 'type': 'timer', 'value': 0.25}]}) + '::')\n")
    output = task(PythonScript, script=script).run(context)
    assert output.metrics == (Metric("rows", 12.0, "counter", {"table": "t"}), Metric("load", 0.25, "timer", {}))


def test_logs_lines_are_logged_at_their_level(context):
    task(ShellCommands, commands=[
        "echo '::{\"logs\":[{\"level\":\"ERROR\",\"message\":\"bad\"},{\"level\":\"debug\",\"message\":\"detail\"}]}::'",
        "echo '::{\"logs\":[{\"message\":\"plain\"}]}::'",
    ]).run(context)
    assert [entry for entry in context.logs if entry[0] != "DEBUG" or entry[1] == "detail"] == [
        ("ERROR", "bad"), ("DEBUG", "detail"), ("INFO", "plain")]


@pytest.mark.parametrize("line", [
    '::{"outputs":{"a":1}::',  # not JSON
    '::{"unknown":1}::',  # no protocol key
    '::{"outputs":[1]}::',  # outputs is no object
    '::{"metrics":[{"name":"m","type":"gauge","value":1}]}::',  # unknown metric type
    '::{"metrics":[{"name":"m","value":"many"}]}::',  # a value that is no number
    '::{"logs":[{"level":"LOUD","message":"m"}]}::',  # unknown level
    '::[1, 2]::',
])
def test_a_malformed_protocol_line_is_logged_as_it_is(context, line):
    quoted = line.replace("'", "'\\''")
    output = task(ShellCommands, commands=[f"echo '{quoted}'"]).run(context)
    assert lines(context) == [line]
    assert output.outputs["vars"] == {} and output.metrics == ()


# --- exit codes, stderr, failFast --------------------------------------------------------------------

def test_a_non_zero_exit_code_fails_with_it(context):
    with pytest.raises(TaskFailure, match="^command failed with exit code 3$"):
        task(ShellCommands, commands=["echo \"wd=$WORKING_DIR\"", "exit 3"]).run(context)
    assert not working_dir(context).exists()


def test_a_process_ended_by_a_signal_fails_with_it(context):
    with pytest.raises(TaskFailure, match=r"^command failed with exit code 137 \(ended by SIGKILL\)$"):
        task(ShellCommands, commands=["kill -KILL $$"]).run(context)


def test_stderr_with_exit_code_zero_ends_in_warning(context):
    output = task(ShellCommands, commands=["echo careful >&2"]).run(context)
    assert output.state is State.WARNING
    assert lines(context, "WARN") == ["careful"]


def test_stderr_is_only_logged_when_warning_on_stderr_is_off(context):
    output = task(ShellCommands, warningOnStdErr=False, commands=["echo careful >&2"]).run(context)
    assert output.state is State.SUCCESS
    assert lines(context, "WARN") == ["careful"]


def test_fail_fast_stops_at_the_first_failing_command(context):
    with pytest.raises(TaskFailure, match="^command failed with exit code 1$"):
        task(ShellCommands, commands=["echo first", "false", "echo never"]).run(context)
    assert lines(context) == ["first"]


def test_fail_fast_covers_a_shell_scripts_lines(context):
    with pytest.raises(TaskFailure, match="^command failed with exit code 1$"):
        task(ShellScript, script="echo first\nfalse\necho never\n").run(context)
    assert lines(context) == ["first"]


def test_without_fail_fast_the_last_command_decides(context):
    output = task(ShellCommands, failFast=False, commands=["false", "echo still here"]).run(context)
    assert output.outputs["exitCode"] == 0
    assert lines(context) == ["still here"]


def test_a_chatty_process_never_blocks_on_a_full_pipe(context):
    # Far more than a pipe holds (64 KiB) on both streams at once.
    script = "import sys\nfor i in range(20000):\n    print('o' * 40, i)\n    print('e' * 40, i, file=sys.stderr)\n"
    output = task(PythonScript, script=script).run(context)
    assert len(lines(context)) == 20000 and len(lines(context, "WARN")) == 20000
    assert lines(context)[-1] == "o" * 40 + " 19999"
    assert output.state is State.WARNING


def test_namespace_files_are_refused_at_run_time(context):
    with pytest.raises(TaskFailure, match="^namespaceFiles is not supported by Lanner yet"):
        task(ShellCommands, namespaceFiles={"enabled": True}, commands=["true"]).run(context)


# --- kill and timeout --------------------------------------------------------------------------------

def marker() -> str:
    """A sleep duration no other process has in its command line: 300 s plus a unique fraction."""
    return f"300.{uuid.uuid4().int % 10**12:012d}"



def stop_when_logged(context: FakeContext, text: str) -> threading.Thread:
    """A thread setting the context's stop event once a log line containing ``text`` arrives."""
    seen = threading.Event()
    record = context.log

    def log(level: str, message: str) -> None:
        record(level, message)
        if text in message:
            seen.set()

    context.log = log  # type: ignore[method-assign]
    stopper = threading.Thread(target=lambda: seen.wait(30) and context.stop_event.set())
    stopper.start()
    return stopper


def test_a_stop_ends_the_process_and_its_background_children_promptly(context):
    duration = marker()
    stopper = stop_when_logged(context, "child started")
    started = time.monotonic()
    with pytest.raises(TaskFailure, match="^stopped: the process and its children were terminated$"):
        task(ShellCommands, commands=["echo \"wd=$WORKING_DIR\"", f"sleep {duration} &", "echo \"child started $!\"",
                                      "wait"]).run(context)
    elapsed = time.monotonic() - started
    stopper.join()
    assert elapsed < process.STOP_GRACE  # SIGTERM sufficed: no wait for the grace
    assert processes_with(duration) == []
    assert not working_dir(context).exists()


def test_a_process_ignoring_sigterm_is_killed_after_the_grace(context, monkeypatch):
    monkeypatch.setattr(process, "STOP_GRACE", 0.3)
    duration = marker()
    stopper = stop_when_logged(context, "child started")
    started = time.monotonic()
    with pytest.raises(TaskFailure, match="^stopped: "):
        # An ignored signal stays ignored in the children too: only SIGKILL ends them.
        task(ShellCommands, commands=["trap '' TERM", f"sleep {duration} &", "echo \"child started $!\"",
                                      "wait"]).run(context)
    elapsed = time.monotonic() - started
    stopper.join()
    assert 0.3 <= elapsed < 5
    assert processes_with(duration) == []


def test_background_children_do_not_outlive_a_finished_task(context):
    duration = marker()
    started = time.monotonic()
    output = task(ShellCommands, commands=[f"sleep {duration} &", "echo \"left behind $!\""]).run(context)
    assert time.monotonic() - started < 5  # not blocked by the child holding stdout open
    assert output.state is State.SUCCESS
    assert processes_with(duration) == []


def test_a_stop_before_the_start_starts_nothing(context):
    context.stop_event.set()
    with pytest.raises(TaskFailure, match="^stopped before the process started$"):
        task(ShellCommands, commands=["echo never"]).run(context)
    assert context.logs == []


def test_the_working_dir_is_unique_per_run(context):
    for _ in range(2):
        task(ShellCommands, commands=["echo \"wd=$WORKING_DIR\""]).run(context)
    first, second = (line for line in lines(context) if line.startswith("wd="))
    assert first != second
    assert not os.path.exists(first[3:]) and not os.path.exists(second[3:])


def test_a_line_longer_than_the_readers_cap_is_cut_and_the_next_line_is_whole(context, monkeypatch):
    monkeypatch.setattr(process, "MAX_LINE_BYTES", 100)
    task(ShellCommands, commands=["head -c 250 /dev/zero | tr '\\0' x; echo", "echo next",
                                 "printf 'no newline at the end'"]).run(context)
    assert lines(context) == ["x" * 100 + process.CUT_MARK, "next", "no newline at the end"]
