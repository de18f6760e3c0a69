"""The process that runs jq programs for :mod:`lanner.expr.jq_process` (run by path, no Lanner imports).

One request per line on standard input, ``{"program", "input", "max"}`` (``input`` a
JSON text), one answer per line on standard output: ``{"results": [...]}`` or
``{"error": "compile" | "input" | "too-many"}``.  Its address space is capped (first
argument, bytes) before jq is loaded: a program that builds a huge value makes jq fail
to allocate and this process die, not the server.  It is started with an empty
environment, so jq's ``$ENV`` and ``env`` are empty.
"""

import itertools
import json
import os
import resource
import sys
from typing import Any


def main() -> None:
    limit = int(sys.argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.clear()  # started with none; Python itself may add its locale (LC_CTYPE)
    import jq

    programs: dict[str, object] = {}
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.write(json.dumps(_answer(jq, programs, request), separators=(",", ":")) + "\n")
        sys.stdout.flush()


def _answer(jq: object, programs: dict[str, object], request: dict[str, Any]) -> dict[str, Any]:
    text = request["program"]
    program = programs.get(text)
    if program is None:
        try:
            program = jq.compile(text)  # type: ignore[attr-defined]
        except ValueError:
            return {"error": "compile"}
        if len(programs) >= 256:
            programs.clear()
        programs[text] = program
    try:
        found = list(itertools.islice(iter(program.input_text(request["input"])), request["max"] + 1))  # type: ignore[attr-defined]
    except ValueError:
        return {"error": "input"}
    if len(found) > request["max"]:
        return {"error": "too-many"}
    return {"results": found}


if __name__ == "__main__":
    main()
