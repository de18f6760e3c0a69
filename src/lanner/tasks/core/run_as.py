"""Scripts run as another, unprivileged user (``lanner.worker.run-as``).

A script runs as whoever runs the worker, so by default it can read what the worker can:
the configuration file, the SQLite database, the internal storage of every namespace.
With ``run-as``, a worker started as root runs each script process as that user
instead (its uid, its primary group and its supplementary groups, as ``initgroups``
sets them), with:

* a clean environment: ``HOME`` (the task's working folder), ``PATH`` (:data:`PATH`),
  ``USER`` and ``LOGNAME`` of that user, ``SHELL`` (``/bin/sh``), and the locale and
  time zone variables of the worker (``LANG``, ``LC_*``, ``TZ``); nothing else of the
  worker's environment;
* a working folder owned by that user, mode 0700, holding the ``inputFiles`` and the
  script file, also handed over to that user.

The server's own files are created with umask 077 (:mod:`lanner.cli.server`), so that
user cannot read the database, the storage nor the backups; the configuration file is
the operator's: it must be 0600 (docs/security.md).

:func:`resolve` checks the setting when a worker starts: an unknown user, the root user,
a worker that is not root (it could not switch users), or a temporary folder (where the
working folders are made) the user cannot enter are refused then, not at the first script.
"""

from __future__ import annotations

import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanner.errors import ConfigError

KEY = "lanner.worker.run-as"
PATH = "/usr/local/bin:/usr/bin:/bin"  # a script's PATH under run-as: the system's programs, nothing of root's
SHELL = "/bin/sh"
KEPT_FROM_WORKER = ("LANG", "LANGUAGE", "TZ")  # plus every LC_* variable: how text and dates look, nothing more


@dataclass(frozen=True)
class RunAs:
    """The user scripts run as, resolved once when the worker starts."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]  # every group of the user (its primary one included), as initgroups sets them

    def popen_arguments(self) -> dict[str, Any]:
        """What ``subprocess.Popen`` needs to start a process as this user (setgroups, setgid, setuid)."""
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}

    def environment(self, workdir: Path, worker_environment: dict[str, str]) -> dict[str, str]:
        """A script's starting environment: nothing of the worker's but its locale and time zone."""
        kept = {name: value for name, value in worker_environment.items()
                if name in KEPT_FROM_WORKER or name.startswith("LC_")}
        return {**kept, "HOME": str(workdir), "PATH": PATH, "USER": self.name, "LOGNAME": self.name,
                "SHELL": SHELL}

    def hand_over(self, workdir: Path) -> None:
        """Give this user the working folder and what the worker wrote into it, then close it to others (0700).

        Called once the worker has written the input files and the script file: until then the
        folder is the worker's own (0700), so no process of this user can touch it meanwhile.
        """
        for folder, names, files in os.walk(workdir):
            for name in (*names, *files):
                os.chown(Path(folder, name), self.uid, self.gid, follow_symlinks=False)
        os.chown(workdir, self.uid, self.gid)
        os.chmod(workdir, stat.S_IRWXU)


def resolve(name: str | None) -> RunAs | None:
    """The user ``lanner.worker.run-as`` names, checked; None when it is not set.  ConfigError (exit 2) otherwise."""
    if name is None or not name.strip():
        return None
    name = name.strip()
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(
            f"{KEY} names the user {name!r}, which does not exist on this machine",
            "Create it (an unprivileged system account without a login shell, e.g. useradd --system "
            f"--no-create-home --shell /usr/sbin/nologin {name}) or correct the setting.") from None
    if entry.pw_uid == 0:
        raise ConfigError(
            f"{KEY} names {name!r}, the root account: scripts would keep every privilege",
            "Name an unprivileged account that owns nothing of the server's, or unset the setting.")
    if os.geteuid() != 0:
        try:
            current = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            current = str(os.geteuid())
        if entry.pw_uid == os.geteuid():
            hint = f"The worker already runs as {name!r}: unset {KEY}, which has nothing left to do."
        else:
            hint = (f"Start the worker as root (it then runs every script as {name!r}), or unset {KEY} and "
                    "run the worker itself under a dedicated account.")
        raise ConfigError(
            f"{KEY} is set to {name!r} but this worker runs as {current!r} (uid {os.geteuid()}), which cannot "
            "switch users", hint)
    groups = tuple(dict.fromkeys([entry.pw_gid, *os.getgrouplist(name, entry.pw_gid)]))
    user = RunAs(name, entry.pw_uid, entry.pw_gid, groups)
    _check_temporary_folder(user, Path(tempfile.gettempdir()))
    return user


def _check_temporary_folder(user: RunAs, folder: Path) -> None:
    """Scripts' working folders are made in the temporary folder: the user must be able to walk down to it."""
    for step in (folder, *folder.parents):
        status = step.stat()
        if status.st_uid == user.uid:
            allowed = status.st_mode & stat.S_IXUSR
        elif status.st_gid in user.groups:
            allowed = status.st_mode & stat.S_IXGRP
        else:
            allowed = status.st_mode & stat.S_IXOTH
        if not allowed:
            raise ConfigError(
                f"{KEY} is set to {user.name!r}, but scripts' working folders are made in {folder}, which that user "
                f"cannot enter ({step} is mode {stat.S_IMODE(status.st_mode):04o})",
                "Give the worker a TMPDIR every user may enter (such as /tmp), or unset the setting.")
