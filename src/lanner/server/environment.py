"""Credentials out of a server process's environment, where every script could read them.

A server is configured through ``LANNER_*`` variables (its database URL and password,
the basic-auth password, the backup key) and given secrets as ``SECRET_*`` ones.  Scripts
never inherit those (:mod:`lanner.tasks.core.scripts` filters them), but a script running
as the same user can still read the server's ``/proc/<pid>/environ``, which shows the
environment the process was started with, whatever the process removed since.

So a server process starts twice: the first time (:func:`hide_credentials`), it moves
those variables into an in-memory file (``memfd``) and executes itself again with a
clean environment and only that file's descriptor; the second time, it reads them back
into ``os.environ`` (the process's own memory, which ``/proc/<pid>/environ`` does not
show) and closes the file.  Same pid, same arguments.  Nothing happens when there is
nothing to hide, or where ``memfd_create`` does not exist (not Linux).
"""

from __future__ import annotations

import json
import os
import sys

HIDDEN_PREFIXES = ("LANNER_", "SECRET_")
HANDOFF = "_LANNER_HIDDEN_ENVIRONMENT_FD"  # not a LANNER_ variable: it names a descriptor, holds nothing


def hide_credentials() -> None:
    """Run first by every server command; returns once the process runs with a clean start-up environment."""
    handoff = os.environ.pop(HANDOFF, None)
    if handoff is not None:
        with os.fdopen(int(handoff), "rb") as stored:
            os.environ.update(json.loads(stored.read()))
        return
    hidden = {name: value for name, value in os.environ.items() if name.startswith(HIDDEN_PREFIXES)}
    if not hidden or not hasattr(os, "memfd_create"):
        return
    stored_fd = os.memfd_create("lanner-environment", 0)
    data = json.dumps(hidden).encode()
    while data:
        data = data[os.write(stored_fd, data):]
    os.lseek(stored_fd, 0, os.SEEK_SET)
    os.set_inheritable(stored_fd, True)
    clean = {name: value for name, value in os.environ.items() if name not in hidden}
    clean[HANDOFF] = str(stored_fd)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "lanner", *sys.argv[1:]], clean)
