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


def _comma_separated(value: object) -> object:
    """A list given as one text (an environment variable): ``a,b`` -> ``["a", "b"]``."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


# Kestra's default ``open-urls`` (its /ping is Lanner's /health, which is always open).
DEFAULT_OPEN_URLS = ("/api/v1/executions/webhook/", "/api/v1/main/executions/webhook/")


class BasicAuth(_Section):
    enabled: bool = Field(
        False,
        description="Require HTTP basic authentication on the API and the UI (health and metrics excepted); "
                    "without a configured username and password, the UI's setup page creates the user.",
    )
    username: str = Field("", description="The user name basic authentication accepts (overrides the user created "
                                          "on the setup page).")
    password: str = Field("", description="The password basic authentication accepts (shown masked).",
                          json_schema_extra={"secret": True})
    open_urls: Annotated[list[str], BeforeValidator(_comma_separated)] = Field(
        default_factory=lambda: list(DEFAULT_OPEN_URLS),
        description="Path prefixes that need no authentication (Kestra's open-urls), besides the health endpoints, "
                    "/metrics, the login and setup pages; comma-separated in the environment.",
    )

    @model_validator(mode="after")
    def _credentials(self) -> BasicAuth:
        if bool(self.username) != bool(self.password):
            missing = "password" if self.username else "username"
            raise ValueError(f"basic authentication has a {'username' if self.username else 'password'} but no "
                             f"{missing}: set both (lanner.server.basic-auth.username and .password), or neither "
                             "to create the user on the UI's setup page")
        for url in self.open_urls:
            if not url.startswith("/"):
                raise ValueError(f"open-urls holds {url!r}, which is not a path: each entry is a path prefix "
                                 "starting with /, e.g. /api/v1/executions/webhook/")
        return self

    @property
    def configured(self) -> bool:
        """Credentials given in the configuration (file or environment): they win over a stored user."""
        return bool(self.username and self.password)


class Multipart(_Section):
    max_part_size: Size = Field(
        1 << 20, description="The largest value one field of a form (multipart or URL-encoded) may hold.",
    )
    max_parts: int = Field(1000, ge=1, description="How many fields one form may hold.")


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
    max_request_size: Size = Field(
        10 << 20,
        description="The largest request body the webserver reads (flow sources, inputs, webhook bodies); larger "
                    "ones are answered 413 without being read.",
    )
    multipart: Multipart = Multipart()
    max_log_page_size: int = Field(
        10_000, ge=1, description="The most log lines one answer of GET /api/v1/logs/{executionId} holds.",
    )
    threads: int = Field(
        40, ge=1, description="Threads that run the webserver's blocking work (database reads and writes) at once.",
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
    pool_size: int = Field(
        5, ge=1, le=1000,
        description="Database connections each process keeps open (SQLAlchemy's pool_size).")
    max_overflow: int = Field(
        10, ge=0, le=1000,
        description="Connections a process may open beyond pool-size under load, closed when returned.")
    pool_timeout: Duration = Field(
        timedelta(seconds=30),
        description="How long a thread waits for a free connection when all are in use; a webserver request "
                    "that waits longer is answered 503.")
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
        "",
        description="Key (passphrase, or 64 hex digits for a raw 256-bit key) that encrypts backups (shown masked).",
        json_schema_extra={"secret": True},
    )
    folder: Path = Field(
        Path("./data/backups"),
        description="Where backups are written: lanner backups create (without -o) and those taken before migrations.",
    )


class Encryption(_Section):
    secret_key: str = Field(
        "",
        description="Base64 text of a 16, 24 or 32-byte AES key (openssl rand -base64 32) that encrypts SECRET "
                    "inputs and outputs; without it flows declaring them are refused (shown masked).",
        json_schema_extra={"secret": True},
    )

    @field_validator("secret_key")
    @classmethod
    def _usable_key(cls, key: str) -> str:
        from lanner.encryption import EncryptionError, key_bytes

        if key:
            try:
                key_bytes(key)
            except EncryptionError as exc:
                raise ValueError(f"expected a base64-encoded 32-byte key: {exc}") from None
        return key


class WorkerLogs(_Section):
    max_size_per_task: Size = Field(
        10 << 20,
        description="How much log output one task attempt may write; past it one line says the log was "
                    "truncated and the rest is dropped (the task goes on).",
    )


class Worker(_Section):
    logs: WorkerLogs = WorkerLogs()
    run_as: str | None = Field(
        None,
        description="Run script processes as this unprivileged user (the worker must run as root): scripts "
                    "then cannot read the server's database, storage or configuration; unset: as the "
                    "worker's own user.",
    )

    @field_validator("run_as")
    @classmethod
    def _user_name(cls, name: str | None) -> str | None:
        if name is None or not name.strip():
            return None
        if any(char.isspace() or char in ":/" for char in name.strip()):
            raise ValueError("expected a user name, such as lanner-scripts (no spaces, ':' or '/')")
        return name.strip()



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
    encryption: Encryption = Encryption()
