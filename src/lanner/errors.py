"""Errors an operator can act on, each with the process exit code it maps to.

Every failure Lanner expects (bad configuration, a database it must not touch, a
migration that changed after it was applied...) is raised as a :class:`LannerError`
subclass.  The CLI prints its message and hint and exits with its code; it never
shows a traceback for these.  The codes are documented in ``docs/cli.md`` and are
part of the public interface: scripts and orchestrators (systemd, Kubernetes)
branch on them, so never renumber one.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2  # bad command line or configuration
    SCHEMA_NEWER = 3  # the database was migrated by a newer Lanner: refuse to touch it
    SCHEMA_OUTDATED = 4  # migrations are pending and this process may not apply them
    CHECKSUM_MISMATCH = 5  # an applied migration file changed since it ran
    DATABASE_UNAVAILABLE = 6
    TIMEOUT = 7  # waited too long for the migration lock or for another process to migrate
    MIGRATION_FAILED = 8
    BACKUP_INVALID = 9  # a backup file that is truncated, tampered, wrongly keyed or of an unknown format
    RESTORE_REFUSED = 10  # the target database is not empty (without --yes) or at another schema version
    UPGRADE_BLOCKED = 11  # lanner sys upgrade check found a blocker: do not upgrade yet
    RESTORE_BLOCKED = 12  # live Lanner instances use the target database (or --force outside maintenance mode)
    DATABASE_RESTORED = 13  # a server stopped because its database was restored under it: start it again
    INTERRUPTED = 130


class LannerError(Exception):
    """An expected failure: a message saying what went wrong, a hint saying how to fix it."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"


class ConfigError(LannerError):
    exit_code = ExitCode.USAGE


class UsageError(LannerError):
    exit_code = ExitCode.USAGE


class SchemaNewerError(LannerError):
    exit_code = ExitCode.SCHEMA_NEWER


class SchemaOutdatedError(LannerError):
    exit_code = ExitCode.SCHEMA_OUTDATED


class ChecksumMismatchError(LannerError):
    exit_code = ExitCode.CHECKSUM_MISMATCH


class DatabaseUnavailableError(LannerError):
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class WaitTimeoutError(LannerError):
    exit_code = ExitCode.TIMEOUT


class MigrationFailedError(LannerError):
    exit_code = ExitCode.MIGRATION_FAILED


class BackupInvalidError(LannerError):
    exit_code = ExitCode.BACKUP_INVALID


class RestoreRefusedError(LannerError):
    exit_code = ExitCode.RESTORE_REFUSED


class RestoreBlockedError(LannerError):
    exit_code = ExitCode.RESTORE_BLOCKED
