"""What a backup holds, and how a row becomes one JSON line and back.

The stream inside a backup is a sequence of JSON lines.  An object opens a section
(``{"section": "flows", "columns": [...], "kinds": [...]}``); the arrays after it are
that section's rows, values in column order: datetimes as ISO-8601 in UTC, JSON
columns as they are, everything else as JSON's own scalars.  A last object
``{"end": ...}`` carries each section's row count and the SHA-256 of its lines, and
the SHA-256 of the header, so a reader can prove it saw every row and nothing else.

Internal-storage files travel in the ``storage_files`` section as rows
``[path, offset, base64 chunk]``; a file is the concatenation of its rows.

Not included, ever: ``service_instances``, ``lanner_schema_history`` and Alembic's
version table (they describe the installation the backup was taken on, not its
content), ``queue_offsets`` (unused), and the ``maintenance`` and ``database.epoch``
instance settings (the restore keeps the target's maintenance mode when it is on, and
gives the target a new epoch: :mod:`.restore_guard`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lanner.errors import BackupInvalidError
from lanner.store import database_epoch
from lanner.timestamps import as_utc, offset_iso

MAGIC = b"LANNERBK"
FORMAT_VERSION = 1
SUFFIX = ".lbak"
STORAGE_FILES = "storage_files"
EXCLUDED_SETTINGS = ("maintenance", database_epoch.KEY)


@dataclass(frozen=True)
class Entity:
    table: str
    data: bool  # only with --include-data
    order_by: tuple[str, ...]


# Restore order: parents first (task_runs reference executions).
ENTITIES: tuple[Entity, ...] = (
    Entity("instance_settings", False, ("key",)),
    Entity("flows", False, ("tenant_id", "namespace", "flow_id")),
    Entity("flow_revisions", False, ("tenant_id", "namespace", "flow_id", "revision")),
    Entity("triggers", False, ("tenant_id", "namespace", "flow_id", "trigger_id")),
    Entity("kv_store", False, ("tenant_id", "namespace", "key")),
    Entity("dashboards", False, ("tenant_id", "id")),
    Entity("executions", True, ("tenant_id", "id")),
    Entity("task_runs", True, ("tenant_id", "id")),
    Entity("logs", True, ("id",)),
    Entity("queue_messages", True, ("id",)),
    Entity("worker_jobs_running", True, ("tenant_id", "task_run_id", "attempt")),
)
ENTITY_NAMES = tuple(e.table for e in ENTITIES)
# Tables whose integer id comes from a sequence on PostgreSQL, reset after a restore.
SEQUENCED = ("logs", "queue_messages")


def entities(include_data: bool) -> tuple[Entity, ...]:
    return tuple(e for e in ENTITIES if include_data or not e.data)


@dataclass(frozen=True)
class Encryption:
    algorithm: str  # AES-256-GCM
    kdf: str  # scrypt (a passphrase) or hkdf-sha256 (a raw 256-bit key)
    salt: str  # base64
    key_check: str  # base64: a sealed empty message, to tell a wrong key from a damaged file
    params: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Header:
    format: int
    lanner_version: str
    schema_version: str
    created_at: str
    source_backend: str
    include_data: bool
    counts: dict[str, int]
    encryption: Encryption | None = None
    compression: str = "zstd"

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes, where: str) -> Header:
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or "format" not in data:
                raise ValueError("no format version")
            if data["format"] != FORMAT_VERSION:
                raise BackupInvalidError(
                    f"{where} is a Lanner backup of format version {data['format']} (made by Lanner "
                    f"{data.get('lanner_version', 'unknown')}); this Lanner reads format {FORMAT_VERSION} only",
                    f"Restore it with Lanner {data.get('lanner_version', 'at that version')} or later.",
                )
            encryption = data.pop("encryption", None)
            return cls(**data, encryption=Encryption(**encryption) if encryption else None)
        except BackupInvalidError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise BackupInvalidError(f"{where}: the backup header is damaged ({exc})") from None


def column_kinds(table: sa.Table, names: list[str]) -> list[str]:
    kinds = []
    for name in names:
        type_ = table.c[name].type
        kind = "datetime" if isinstance(type_, sa.DateTime) else "json" if isinstance(type_, sa.JSON) else "plain"
        kinds.append(kind)
    return kinds


def row_encoder(kinds: list[str]) -> Callable[[Any], bytes]:
    """A function turning a database row into its JSON line (bytes, no newline)."""
    dates = [i for i, kind in enumerate(kinds) if kind == "datetime"]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def encode(row: Any) -> bytes:
        values = list(row)
        for i in dates:
            if values[i] is not None:
                values[i] = offset_iso(as_utc(values[i]))
        return dumps(values).encode()

    return encode


def row_decoder(kinds: list[str]) -> Callable[[list[Any]], list[Any]]:
    """The inverse of :func:`row_encoder`, from the parsed list of values."""
    dates = [i for i, kind in enumerate(kinds) if kind == "datetime"]

    def decode(values: list[Any]) -> list[Any]:
        for i in dates:
            if values[i] is not None:
                values[i] = datetime.fromisoformat(values[i])
        return values

    return decode


def encode_line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)
