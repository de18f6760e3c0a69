"""Script tasks, run as local processes (Kestra's Process task runner semantics).

Lanner runs no containers: a ``taskRunner`` other than ``io.kestra.plugin.core.runner.Process``
is a validation error rather than a surprise at run time.

One run of a script task, in order:

1. a fresh temporary working directory (``WORKING_DIR`` in the environment), removed at
   the end whatever happens;
2. ``inputFiles`` written into it: text, or a ``kestra:///`` URI copied from internal storage;
3. one shell invocation, ``interpreter + [body]``, where the body is ``set -e`` (when
   ``failFast``), the ``beforeCommands``, then the ``commands`` — or, for the Script types,
   the command that runs the script file (``script.sh`` is read by that shell itself,
   so ``failFast`` applies to its lines as when Kestra inlines it; ``script.py`` is run
   by ``python3``);
4. stdout lines logged at INFO and read for Kestra's ``::{...}::`` protocol (outputs,
   metrics, logs), stderr lines logged at WARN (:mod:`lanner.tasks.core.process` streams
   them and stops the whole process group on a kill or a timeout);
5. after a zero exit code, the files matching ``outputFiles`` stored in internal storage.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, ClassVar

from pydantic import Field

from lanner.files import SCHEME, StorageError
from lanner.log_level import LEVEL_NAMES
from lanner.model.state import State
from lanner.tasks.core import process
from lanner.tasks.core.run_as import RunAs
from lanner.tasks.runnable import Metric, RunContext, RunnableTask, TaskFailure, TaskOutput

SCRIPTS = "io.kestra.plugin.scripts"
PROCESS_RUNNER = "io.kestra.plugin.core.runner.Process"
DEFAULT_INTERPRETER = ("/bin/sh", "-c")
# The worker's own configuration (database URL and password...) is no business of the scripts it runs.
# The server's configuration (database URL, passwords) and its secrets: a script gets a secret only
# through its own `env` (rendered with secret()), never the whole SECRET_* set.
HIDDEN_ENV_PREFIXES = ("LANNER_", "SECRET_")


class _ScriptTask(RunnableTask):
    before_commands: list[str] = []
    env: dict[str, Any] = {}
    input_files: dict[str, str] | str | None = None
    output_files: list[str] = []
    namespace_files: dict[str, Any] | None = None
    interpreter: list[str] | None = None
    warning_on_std_err: bool = True
    fail_fast: bool = True
    task_runner: dict[str, Any] | None = None
    container_image: str | None = None
    docker: dict[str, Any] | None = None

    # Python tasks get unbuffered output, so their lines are logged as they are printed.
    PYTHON: ClassVar[bool] = False
    # The file the Script types write their script to (None for Commands).
    SCRIPT_FILE: ClassVar[str | None] = None

    def problems(self) -> list[tuple[tuple[Any, ...], str]]:
        runner = (self.task_runner or {}).get("type")
        if runner is not None and str(runner).lower() != PROCESS_RUNNER.lower():
            return [(("taskRunner", "type"),
                     f"task runner '{runner}' is not supported: Lanner runs scripts as local processes; "
                     f"use {PROCESS_RUNNER} or remove taskRunner")]
        return []

    def run(self, context: RunContext) -> TaskOutput:
        if _namespace_files_enabled(self.namespace_files):
            raise TaskFailure("namespaceFiles is not supported by Lanner yet: pass the files with inputFiles")
        if context.stop_event.is_set():
            raise TaskFailure("stopped before the process started")
        with tempfile.TemporaryDirectory(prefix="lanner-script-", ignore_cleanup_errors=True) as folder:
            return self._run_in(Path(folder).resolve(), context)

    def _run_in(self, workdir: Path, context: RunContext) -> TaskOutput:
        env = self._environment(context, workdir)
        write_input_files(context, workdir, self.input_files, reserved=self.SCRIPT_FILE)
        body = _shell_body(self.fail_fast, _strings(context.render(self.before_commands), "beforeCommands"),
                           self._main_commands(context, workdir, env))
        argv = [*self._interpreter(context), body]
        output = _Output(context)
        run_as = context.run_as
        if run_as is not None:
            run_as.hand_over(workdir)  # the folder, the input files and the script file become the user's
        context.log("DEBUG", f"running {shlex.join(argv[:-1])} in {workdir}"
                             + (f" as {run_as.name}" if run_as is not None else ""))
        try:
            finished = process.run(argv, cwd=workdir, env=env, stop=context.stop_event,
                                   on_stdout=output.stdout, on_stderr=output.stderr, run_as=run_as)
        except OSError as exc:  # the interpreter is missing or not executable
            raise TaskFailure(f"cannot start the interpreter {argv[0]!r}: {exc.strerror or exc}") from None
        _check(finished)
        outputs: dict[str, Any] = {"exitCode": finished.exit_code, "vars": output.vars}
        if self.output_files:
            outputs["outputFiles"] = store_output_files(context, workdir, self.output_files)
        warned = self.warning_on_std_err and output.stderr_lines > 0
        return TaskOutput(outputs=outputs, metrics=tuple(output.metrics),
                          state=State.WARNING if warned else State.SUCCESS)

    def _main_commands(self, context: RunContext, workdir: Path, env: dict[str, str]) -> list[str]:
        raise NotImplementedError

    def _interpreter(self, context: RunContext) -> list[str]:
        if self.interpreter is None:
            return list(DEFAULT_INTERPRETER)
        interpreter = _strings(context.render(self.interpreter), "interpreter")
        if not interpreter:
            raise TaskFailure("interpreter is empty: expected a program and its arguments, such as [/bin/sh, -c]")
        return interpreter

    def _environment(self, context: RunContext, workdir: Path) -> dict[str, str]:
        if context.run_as is not None:  # a clean start: nothing of the worker's but its locale
            env = context.run_as.environment(workdir, dict(os.environ))
        else:
            env = {name: value for name, value in os.environ.items() if not name.startswith(HIDDEN_ENV_PREFIXES)}
        if self.PYTHON:
            env["PYTHONUNBUFFERED"] = "1"
        env["WORKING_DIR"] = str(workdir)
        rendered = context.render(self.env)
        if not isinstance(rendered, dict):
            raise TaskFailure(f"env must be a map of variable name to value, not {type(rendered).__name__}")
        for name, value in rendered.items():
            if not isinstance(name, str) or not name or "=" in name or "\x00" in name:
                raise TaskFailure(f"env: {name!r} is not a valid environment variable name")
            env[name] = value if isinstance(value, str) else json.dumps(value)
        return env


class _Commands(_ScriptTask):
    commands: list[str] = Field(min_length=1)

    def _main_commands(self, context: RunContext, workdir: Path, env: dict[str, str]) -> list[str]:
        return _strings(context.render(self.commands), "commands")


class _Script(_ScriptTask):
    script: str

    def _main_commands(self, context: RunContext, workdir: Path, env: dict[str, str]) -> list[str]:
        assert self.SCRIPT_FILE is not None
        (workdir / self.SCRIPT_FILE).write_bytes(str(context.render(self.script)).encode("utf-8"))
        return [self._run_script(env)]

    def _run_script(self, env: dict[str, str]) -> str:
        raise NotImplementedError


class ShellCommands(_Commands):
    TYPE = f"{SCRIPTS}.shell.Commands"


class ShellScript(_Script):
    TYPE = f"{SCRIPTS}.shell.Script"
    SCRIPT_FILE = "script.sh"

    def _run_script(self, env: dict[str, str]) -> str:
        # Read by the interpreter's shell itself rather than a child shell: `set -e` then covers its lines.
        return f". ./{self.SCRIPT_FILE}"


class PythonCommands(_Commands):
    TYPE = f"{SCRIPTS}.python.Commands"
    PYTHON = True


class PythonScript(_Script):
    TYPE = f"{SCRIPTS}.python.Script"
    PYTHON = True
    SCRIPT_FILE = "script.py"

    def _run_script(self, env: dict[str, str]) -> str:
        return f"{shlex.quote(python_executable(env))} {self.SCRIPT_FILE}"


TYPES = [ShellCommands, ShellScript, PythonCommands, PythonScript]


def python_executable(env: dict[str, str]) -> str:
    """``python3`` as the script's PATH finds it (where users install their packages), else Lanner's own."""
    return shutil.which("python3", path=env.get("PATH")) or sys.executable


def _shell_body(fail_fast: bool, before: list[str], main: list[str]) -> str:
    return "\n".join([*(["set -e"] if fail_fast else []), *before, *main])


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TaskFailure(f"{name} must be a list of strings")
    return value


def _namespace_files_enabled(value: Any) -> bool:
    # Kestra enables namespace files as soon as the block is there, unless it says enabled: false.
    return isinstance(value, dict) and value.get("enabled", True) not in (False, "false")


def _check(finished: process.Finished) -> None:
    if finished.stopped:
        raise TaskFailure("stopped: the process and its children were terminated")
    if finished.exit_code != 0:
        ended = f" (ended by {finished.signal.name})" if finished.signal else ""
        raise TaskFailure(f"command failed with exit code {finished.exit_code}{ended}")


# --- the output protocol -------------------------------------------------------------------------

_PROTOCOL = re.compile(r"^::(\{.*\})::$")


@dataclass
class _Message:
    """One ``::{...}::`` line of Kestra's output protocol."""

    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)


def parse_protocol_line(line: str) -> _Message | None:
    """The protocol message on ``line``; None for an ordinary line, or a malformed one (logged as it is)."""
    match = _PROTOCOL.match(line.strip())
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
    except ValueError:
        return None
    if not isinstance(data, dict) or not data.keys() & {"outputs", "metrics", "logs"}:
        return None
    try:
        return _Message(_protocol_outputs(data.get("outputs", {})),
                        [_protocol_metric(item) for item in _protocol_list(data.get("metrics", []))],
                        [_protocol_log(item) for item in _protocol_list(data.get("logs", []))])
    except (TypeError, ValueError):
        return None


def _protocol_outputs(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError("outputs is not an object")
    return value


def _protocol_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return value


def _protocol_metric(item: Any) -> Metric:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise ValueError("a metric needs a name")
    value, kind, tags = item.get("value"), item.get("type", "counter"), item.get("tags") or {}
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a metric's value is a number")
    if kind not in ("counter", "timer") or not isinstance(tags, dict):
        raise ValueError("a metric's type is counter or timer, its tags an object")
    return Metric(item["name"], float(value), kind, {str(k): str(v) for k, v in tags.items()})


def _protocol_log(item: Any) -> tuple[str, str]:
    if not isinstance(item, dict) or "message" not in item:
        raise ValueError("a log needs a message")
    level = str(item.get("level", "INFO")).upper()
    level = "WARN" if level == "WARNING" else level
    if level not in LEVEL_NAMES:
        raise ValueError(f"unknown log level {level}")
    return level, str(item["message"])


class _Output:
    """What the process says: logs its lines, gathers vars and metrics, counts stderr lines."""

    def __init__(self, context: RunContext) -> None:
        self._context = context
        self.vars: dict[str, Any] = {}
        self.metrics: list[Metric] = []
        self.stderr_lines = 0

    def stdout(self, line: str) -> None:
        message = parse_protocol_line(line)
        if message is None:
            self._context.log("INFO", line)
            return
        self.vars.update(message.outputs)
        self.metrics.extend(message.metrics)
        for level, text in message.logs:
            self._context.log(level, text)

    def stderr(self, line: str) -> None:
        self.stderr_lines += 1
        self._context.log("WARN", line)


# --- files -----------------------------------------------------------------------------------------

def write_input_files(context: RunContext, workdir: Path, raw: Any, *, reserved: str | None) -> None:
    """Write ``inputFiles`` (a map, or a JSON string of one, rendered) into the working directory."""
    for name, content in _input_files(context.render(raw)).items():
        target = _inside(workdir, name, "inputFiles")
        if reserved is not None and target == workdir / reserved:
            raise TaskFailure(f"inputFiles: {name!r} is the file this task writes its script to; choose another name")
        target.parent.mkdir(parents=True, exist_ok=True)
        if _is_storage_uri(content):
            try:
                with context.storage.open(content.strip()) as source, target.open("wb") as copy:
                    shutil.copyfileobj(source, copy, 1 << 20)
            except StorageError as exc:
                raise TaskFailure(f"inputFiles {name!r}: {exc}") from None
        else:
            target.write_bytes(content.encode("utf-8"))


def _input_files(rendered: Any) -> dict[str, str]:
    if rendered is None:
        return {}
    if isinstance(rendered, str):
        try:
            rendered = json.loads(rendered) if rendered.strip() else {}
        except ValueError:
            raise TaskFailure("inputFiles is a string that is not JSON: expected a map of file name to content, "
                              "or a JSON object of one") from None
    if not isinstance(rendered, dict):
        raise TaskFailure(f"inputFiles must be a map of file name to content, not {type(rendered).__name__}")
    for name, content in rendered.items():
        if not isinstance(content, str):
            raise TaskFailure(f"inputFiles {name!r}: expected text or a kestra:/// URI, not {type(content).__name__}")
    return rendered


def _is_storage_uri(content: str) -> bool:
    stripped = content.strip()
    return stripped.startswith(SCHEME + "/") and not any(char.isspace() for char in stripped)


def _inside(workdir: Path, name: Any, what: str) -> Path:
    """``workdir / name`` for a relative name that stays inside the working directory; TaskFailure otherwise."""
    relative = PurePosixPath(str(name).replace("\\", "/"))
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise TaskFailure(f"{what}: {name!r} is not a relative path inside the working directory "
                          "(absolute paths and '..' are refused)")
    target = workdir.joinpath(*relative.parts)
    if not target.resolve().is_relative_to(workdir):  # through a symbolic link written earlier
        raise TaskFailure(f"{what}: {name!r} leads outside the working directory")
    return target


def store_output_files(context: RunContext, workdir: Path, raw_patterns: Any) -> dict[str, str]:
    """Store every regular file matching a pattern; returns relative path -> internal storage URI."""
    patterns = [_glob(pattern) for pattern in _strings(context.render(raw_patterns), "outputFiles")]
    stored: dict[str, str] = {}
    for relative in _files(workdir):
        if any(pattern.fullmatch(relative) for pattern in patterns):
            try:
                with _open_output(workdir, relative, context.run_as) as content:
                    stored[relative] = context.storage.put(context.storage_uri(relative), content)
            except StorageError as exc:
                raise TaskFailure(f"outputFiles: cannot store {relative!r}: {exc}") from None
    return stored


def _open_output(workdir: Path, relative: str, run_as: RunAs | None) -> BinaryIO:
    """The output file ``relative``, opened without following any symbolic link on the way.

    The folder is the script's: a process of it that outlived the task could swap a file or a
    folder for a link between the listing and this open, and the worker would store what the
    link points to.  So each folder is opened below the previous one (``O_NOFOLLOW``), the file
    must be a regular one and, under run-as, the user's own.
    """
    parts = relative.split("/")
    try:
        folder = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
                os.close(folder)
                folder = below
            handle = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
        finally:
            os.close(folder)
    except OSError as exc:
        swapped = exc.errno in (errno.ELOOP, errno.ENOTDIR)  # a link where the listing found a file or a folder
        raise TaskFailure(f"outputFiles: cannot read {relative!r}: {exc.strerror or exc}"
                          + (" (it or a folder above it was replaced by a symbolic link)" if swapped else "")) from None
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode) or (run_as is not None and status.st_uid != run_as.uid):
        os.close(handle)
        raise TaskFailure(f"outputFiles: {relative!r} changed while it was stored: it is no longer a regular file "
                          + (f"of {run_as.name}" if run_as is not None else "of the working directory"))
    return os.fdopen(handle, "rb")


def _files(workdir: Path) -> list[str]:
    """Regular files under ``workdir`` (symbolic links are not followed nor stored), as sorted POSIX paths."""
    found = []
    for folder, _, names in os.walk(workdir):
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(workdir).as_posix())
    return sorted(found)


def _glob(pattern: str) -> re.Pattern[str]:
    """A regular expression for a glob as Kestra (Java's PathMatcher) reads it.

    ``*`` and ``?`` stay within a folder, ``**`` crosses folders, ``{a,b}`` gives choices
    and ``[a-z]``/``[!a]`` classes; ``\\`` escapes the next character.
    """
    relative = PurePosixPath(pattern)
    if not pattern or relative.is_absolute() or ".." in relative.parts:
        raise TaskFailure(f"outputFiles: {pattern!r} is not a pattern relative to the working directory "
                          "(absolute paths and '..' are refused)")
    text = pattern[2:] if pattern.startswith("./") else pattern
    out, index, in_group = [], 0, False
    while index < len(text):
        char = text[index]
        if char == "*":
            double = text.startswith("**", index)
            out.append(".*" if double else "[^/]*")
            index += 2 if double else 1
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "{" and not in_group:
            out.append("(?:")
            in_group = True
        elif char == "}" and in_group:
            out.append(")")
            in_group = False
        elif char == "," and in_group:
            out.append("|")
        elif char == "[" and (end := text.find("]", index + 2)) > 0:
            out.append(_glob_class(text[index + 1:end]))
            index = end
        elif char == "\\" and index + 1 < len(text):
            index += 1
            out.append(re.escape(text[index]))
        else:
            out.append(re.escape(char))
        index += 1
    if in_group:
        raise TaskFailure(f"outputFiles: {pattern!r} opens a '{{' group it never closes")
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error as exc:
        raise TaskFailure(f"outputFiles: {pattern!r} is not a valid pattern: {exc}") from None


def _glob_class(members: str) -> str:
    """A ``[...]`` class of a glob (``!`` negates it), which never matches a folder separator."""
    negate = members.startswith("!")
    members = members[1:] if negate else members
    escaped = members.replace("\\", "\\\\").replace("[", "\\[")
    if not negate and escaped.startswith("^"):
        escaped = "\\" + escaped
    return "(?!/)[" + ("^" if negate else "") + escaped + "]"
