"""Every configuration key Lanner knows, with its type and default: the one place defaults live.

The models mirror Kestra's ``kestra.*`` keys under a ``lanner:`` root.  They are frozen
values; ``loader`` builds them from files and the environment.  A key's description
here is what ``docs/configuration.md`` and ``lanner configs show`` explain.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from lanner.durations import parse_duration
from lanner.sizes import parse_size

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]  # bytes


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # Other spellings a key is known by (normalised to snake_case) -> its field name.
    aliases: ClassVar[dict[str, str]] = {}


class WorkerTaskRestartStrategy(StrEnum):
    AFTER_TERMINATION_GRACE_PERIOD = "AFTER_TERMINATION_GRACE_PERIOD"
    IMMEDIATELY = "IMMEDIATELY"
    NEVER = "NEVER"


class Liveness(_Section):
    enabled: bool = Field(True, description="Detect dead instances and resubmit their work.")
    interval: Duration = Field(timedelta(seconds=2), description="How often the coordinator checks instances.")
    timeout: Duration = Field(
        timedelta(seconds=10), description="Silence after which an instance is declared disconnected."
    )
    initial_delay: Duration = Field(
        timedelta(seconds=10), description="Grace given to a freshly started instance before it is checked."
    )
    heartbeat_interval: Duration = Field(timedelta(seconds=1), description="How often an instance heartbeats.")


class BasicAuth(_Section):
    enabled: bool = Field(False, description="Require HTTP basic authentication on the API (health excepted).")
    username: str = Field("", description="The user name basic authentication accepts.")
    password: str = Field("", description="The password basic authentication accepts (shown masked).")

    @model_validator(mode="after")
    def _credentials(self) -> BasicAuth:
        if self.enabled and not (self.username and self.password):
            raise ValueError("basic authentication is enabled but has no username or password: set both")
        return self


class Server(_Section):
    aliases: ClassVar[dict[str, str]] = {"terminate_grace_period": "termination_grace_period"}

    termination_grace_period: Duration = Field(
        timedelta(minutes=5), description="How long a stopping component may take to finish its work."
    )
    worker_task_restart_strategy: WorkerTaskRestartStrategy = Field(
        WorkerTaskRestartStrategy.AFTER_TERMINATION_GRACE_PERIOD,
        description="When the tasks of a worker that stopped are resubmitted.",
    )
    max_resubmissions: int = Field(
        3, ge=0, description="How many times a task run is resubmitted after its worker died before it fails instead.",
    )
    liveness: Liveness = Liveness()
    basic_auth: BasicAuth = BasicAuth()
    host: str = Field(
        "127.0.0.1",
        description="The address the webserver listens on (0.0.0.0: every interface, which needs authentication "
                    "or allow-unauthenticated).",
    )
    allow_unauthenticated: bool = Field(
        False,
        description="Let the webserver listen on a non-loopback address without authentication (a warning is "
                    "logged at every start): anyone who reaches it can run code on the workers.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the webserver answers to (Host header), against DNS rebinding; empty means "
                    "the loopback names when it listens on loopback, any name otherwise.",
    )
    drain_delay: Duration = Field(
        timedelta(0), description="How long a stopping webserver answers unready before it stops accepting requests."
    )


class Database(_Section):
    url: str = Field(
        "sqlite:///./data/lanner.db",
        description="SQLAlchemy URL: sqlite:///path (embedded) or postgresql://user:pass@host/db.",
        json_schema_extra={"secret_url": True},
    )
    auto_migrate: bool = Field(True, description="Apply pending schema migrations when a server component starts.")
    migration_lock_timeout: Duration = Field(
        timedelta(minutes=30), description="How long to wait for another process's migration lock."
    )
    schema_wait_timeout: Duration = Field(
        timedelta(minutes=5),
        description="How long a component that does not migrate waits for the schema to reach its version.",
    )
    busy_timeout: Duration = Field(
        timedelta(seconds=5), description="SQLite only: how long a write waits for another writer."
    )
    backup_before_migrate: bool | None = Field(
        None,
        description="Take a backup before applying migrations; unset means on for SQLite, off for PostgreSQL.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="SQLite only: NORMAL syncs the disk at checkpoints (a power cut may undo the last "
                    "commits, never corrupt); FULL syncs at every commit (slower).",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        scheme = url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                "expected a database URL starting with sqlite:/// (embedded file) "
                "or postgresql:// (server), e.g. postgresql://lanner:secret@db:5432/lanner"
            )
        return url


class Storage(_Section):
    path: Path = Field(Path("./data/storage"), description="Folder of the internal storage (local backend).")


class Backup(_Section):
    encryption_key: str = Field(
        "", description="Key (passphrase, or 64 hex digits for a raw 256-bit key) that encrypts backups (shown masked)."
    )
    folder: Path = Field(Path("./data/backups"), description="Where backups are written: lanner backups create (without -o) and those taken before migrations.")


class WorkerLogs(_Section):
    max_size_per_task: Size = Field(
        10 << 20,
        description="How much log output one task attempt may write; past it one line says the log was "
                    "truncated and the rest is dropped (the task goes on).",
    )


class Worker(_Section):
    logs: WorkerLogs = WorkerLogs()


class Queue(_Section):
    max_deliveries: int = Field(
        3, ge=1,
        description="How many times an executor message may be delivered without its processing completing "
                    "(each delivery crashed, was killed or raised) before it is set aside and its execution failed.",
    )


class Settings(_Section):
    server: Server = Server()
    worker: Worker = Worker()
    queue: Queue = Queue()
    database: Database = Database()
    storage: Storage = Storage()
    backup: Backup = Backup()
