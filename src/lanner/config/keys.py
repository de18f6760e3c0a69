"""Key spellings: Kestra's docs mix ``terminationGracePeriod`` and ``termination-grace-period``.

Every key is normalised to snake_case before it is matched against the settings
models, so camelCase, kebab-case and snake_case all name the same setting.  Users see
keys in kebab-case, the spelling of Kestra's reference documentation.
"""

from __future__ import annotations

import re

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(key: str) -> str:
    """``terminationGracePeriod`` / ``termination-grace-period`` -> ``termination_grace_period``."""
    return _CAMEL_BOUNDARY.sub("_", key).replace("-", "_").lower()


def display(path: tuple[str, ...]) -> str:
    """The user-facing dotted key.

    ``("server", "liveness", "initial_delay")`` -> ``lanner.server.liveness.initial-delay``.
    """
    return ".".join(("lanner", *(part.replace("_", "-") for part in path)))


def env_name(path: tuple[str, ...]) -> str:
    """The environment variable for a key path: ``LANNER_SERVER_TERMINATION_GRACE_PERIOD``."""
    return "_".join(("LANNER", *(part.upper() for part in path)))
