"""Opening a backup file and proving it whole before anything is written from it.

:meth:`BackupFile.verify` reads the file once to its end: every frame authenticates
(encrypted files), the compressed stream is intact, sections come in the known order,
each section's row count and SHA-256 match the end record, the end record matches the
header's counts and the header's own digest, and nothing follows the end marker.  Only
then does a restore read it a second time to load it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lanner.errors import BackupInvalidError, UsageError
from lanner.ops.backups import crypto
from lanner.ops.backups.frames import read_header, read_lines
from lanner.ops.backups.manifest import ENTITY_NAMES, STORAGE_FILES, Header

_ORDER = {name: i for i, name in enumerate((*ENTITY_NAMES, STORAGE_FILES))}


@dataclass(frozen=True)
class Verified:
    header: Header
    counts: dict[str, int]
    sha256: dict[str, str]


@dataclass(frozen=True)
class Section:
    name: str
    columns: list[str]
    kinds: list[str]


class BackupFile:
    """A backup file on disk, its header read and its key checked (``key`` given explicitly or configured)."""

    def __init__(self, path: Path, key: str | None, *, key_explicit: bool = False) -> None:
        self.path = Path(path)
        self.where = str(path)
        try:
            with self.path.open("rb") as source:
                self.header, self.header_sha256 = read_header(source, self.where)
        except FileNotFoundError:
            raise UsageError(f"no backup file at {path}") from None
        except IsADirectoryError:
            raise UsageError(f"{path} is a folder, not a backup file") from None
        encryption = self.header.encryption
        self._sealer: crypto.Sealer | None = None
        if encryption is None:
            if key and key_explicit:
                raise BackupInvalidError(
                    f"{path} is not encrypted, but an encryption key was given: refusing a file that is not "
                    "what you expected (an encrypted backup may have been replaced)",
                    "If this unencrypted backup is the right one, run again without --encryption-key.",
                )
        else:
            if not key:
                raise UsageError(
                    f"{path} is encrypted ({encryption.algorithm}) and no key was given",
                    "Give the key it was created with: --encryption-key KEY, lanner.backup.encryption-key "
                    "or LANNER_BACKUP_ENCRYPTION_KEY.",
                )
            self._sealer = crypto.Sealer(crypto.open_key(key, encryption, self.where))

    @property
    def encrypted(self) -> bool:
        return self.header.encryption is not None

    def _lines(self) -> Iterator[bytes]:
        with self.path.open("rb") as source:
            read_header(source, self.where)
            yield from read_lines(source, self.header_sha256, self._sealer, self.where)

    def verify(self) -> Verified:
        counts: dict[str, int] = {}
        sums: dict[str, str] = {}
        section: Section | None = None
        digest = hashlib.sha256()
        count = 0
        end: dict[str, Any] | None = None
        for line in self._lines():
            if end is not None:
                raise self._damaged("there are records after the end record")
            if line.startswith(b"["):
                if section is None:
                    raise self._damaged("rows before any section")
                digest.update(line + b"\n")
                if section.name != STORAGE_FILES:
                    count += 1
                elif json.loads(line)[1] == 0:
                    count += 1
                continue
            record = self._object(line)
            if section is not None:
                counts[section.name], sums[section.name] = count, digest.hexdigest()
            if "section" in record:
                section = self._section(record, section)
                digest, count = hashlib.sha256(), 0
            elif record.get("end") is True:
                end, section = record, None
            else:
                raise self._damaged("an unknown record")
        if end is None:
            raise self._damaged("the end record is missing")
        if end.get("header_sha256") != self.header_sha256:
            raise self._damaged("the header does not match the one the backup was written with (edited?)")
        if end.get("counts") != counts or end.get("sha256") != sums:
            said_counts, said_sums = end.get("counts", {}), end.get("sha256", {})
            bad = sorted(n for n in set(counts) | set(said_counts)
                         if counts.get(n) != said_counts.get(n) or sums.get(n) != said_sums.get(n))
            raise self._damaged(f"the rows of {', '.join(bad) or 'some entities'} do not match their checksum or count")
        declared = dict(self.header.counts)
        if declared != counts:
            raise self._damaged(f"the header announces {declared} rows but the file holds {counts}")
        return Verified(self.header, counts, sums)

    def sections(self) -> Iterator[tuple[Section, Iterator[list[Any]]]]:
        """Each section with an iterator of its rows (parsed); consume each before the next."""
        lines = self._lines()
        pending: bytes | None = next(lines, None)
        while pending is not None:
            record = self._object(pending)
            if "section" not in record:
                return  # the end record (verified beforehand)
            section = Section(record["section"], record["columns"], record["kinds"])
            holder: list[bytes | None] = [None]

            def rows(holder: list[bytes | None] = holder) -> Iterator[list[Any]]:
                loads = json.loads
                for line in lines:
                    if not line.startswith(b"["):
                        holder[0] = line
                        return
                    yield loads(line)

            iterator = rows()
            yield section, iterator
            for _ in iterator:  # whatever the caller left unread
                pass
            pending = holder[0]

    def _object(self, line: bytes) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except ValueError:
            raise self._damaged("a record is not valid JSON") from None
        if not isinstance(record, dict):
            raise self._damaged("a record is not an object")
        return record

    def _section(self, record: dict[str, Any], previous: Section | None) -> Section:
        name = record.get("section")
        columns, kinds = record.get("columns"), record.get("kinds")
        if name not in _ORDER or not isinstance(columns, list) or not isinstance(kinds, list) \
                or len(columns) != len(kinds):
            raise self._damaged(f"an unknown or malformed section {name!r}")
        if previous is not None and _ORDER[name] <= _ORDER[previous.name]:
            raise self._damaged(f"section {name} is out of order")
        return Section(name, columns, kinds)

    def _damaged(self, detail: str) -> BackupInvalidError:
        return BackupInvalidError(f"{self.where} is damaged or altered: {detail}",
                                  "Use another copy of the backup; nothing was written.")
