"""The byte layout of a backup file: magic, header, then framed compressed JSON lines.

::

    b"LANNERBK" | u32 header length | header (JSON) | frame | frame | ... | final frame
    frame = u32 payload length | u8 flags (1: the last frame) | payload

The payload is a piece of one zstd stream (with zstd's own content checksum); when the
file is encrypted it is sealed (nonce + ciphertext + tag, :mod:`.crypto`) with the
header's SHA-256, the frame's index and its flags as associated data.  The final frame
(possibly empty) is what tells a complete file from a truncated one.
"""

from __future__ import annotations

import hashlib
import io
import struct
from collections.abc import Iterator
from typing import BinaryIO

from lanner.errors import BackupInvalidError
from lanner.ops.backups.crypto import Sealer
from lanner.ops.backups.manifest import MAGIC, Header

FRAME_BYTES = 1 << 20  # plaintext bytes per frame
MAX_FRAME = 64 << 20  # a larger length can only be damage: refuse instead of allocating it
LINES_PER_FLUSH = 1 << 18  # bytes of JSON lines handed to zstd at once
READ_BYTES = 1 << 20  # decompressed bytes read at once: bounds a reader's memory whatever the ratio
FINAL = 1
_LEN = struct.Struct(">I")
_FRAME = struct.Struct(">IB")


def aad(header_digest: bytes, index: int, flags: int) -> bytes:
    return header_digest + struct.pack(">QB", index, flags)


class LineWriter:
    """JSON lines in, framed (and sealed) zstd out."""

    def __init__(self, out: BinaryIO, header: Header, sealer: Sealer | None) -> None:
        import zstandard

        raw = header.to_bytes()
        out.write(MAGIC + _LEN.pack(len(raw)) + raw)
        self.header_sha256 = hashlib.sha256(raw).hexdigest()
        self._digest = bytes.fromhex(self.header_sha256)
        self._out = out
        self._sealer = sealer
        self._zstd = zstandard.ZstdCompressor(level=3, write_checksum=True).compressobj()
        self._lines: list[bytes] = []
        self._pending = 0
        self._frame = bytearray()
        self._index = 0

    def write_line(self, line: bytes) -> None:
        self._lines.append(line)
        self._pending += len(line) + 1
        if self._pending >= LINES_PER_FLUSH:
            self._flush_lines()

    def _flush_lines(self) -> None:
        if self._lines:
            self._lines.append(b"")
            self._frame += self._zstd.compress(b"\n".join(self._lines))
            self._lines, self._pending = [], 0
        while len(self._frame) >= FRAME_BYTES:
            self._emit(bytes(self._frame[:FRAME_BYTES]), 0)
            del self._frame[:FRAME_BYTES]

    def finish(self) -> None:
        self._flush_lines()
        self._frame += self._zstd.flush()
        while len(self._frame) > FRAME_BYTES:
            self._emit(bytes(self._frame[:FRAME_BYTES]), 0)
            del self._frame[:FRAME_BYTES]
        self._emit(bytes(self._frame), FINAL)
        self._frame.clear()

    def _emit(self, plaintext: bytes, flags: int) -> None:
        payload = plaintext
        if self._sealer is not None:
            payload = self._sealer.seal(plaintext, aad(self._digest, self._index, flags))
        self._out.write(_FRAME.pack(len(payload), flags) + payload)
        self._index += 1


def read_header(source: BinaryIO, where: str) -> tuple[Header, str]:
    """The header of an open backup file (left positioned at the first frame) and its SHA-256."""
    start = source.read(len(MAGIC) + _LEN.size)
    if len(start) < len(MAGIC) or start[: len(MAGIC)] != MAGIC:
        raise BackupInvalidError(f"{where} is not a Lanner backup (it does not start with the backup signature)")
    if len(start) < len(MAGIC) + _LEN.size:
        raise BackupInvalidError(f"{where} is truncated: it ends inside its header")
    (length,) = _LEN.unpack(start[len(MAGIC):])
    raw = source.read(length) if length <= MAX_FRAME else b""
    if len(raw) != length:
        raise BackupInvalidError(f"{where} is truncated or damaged: it ends inside its header")
    return Header.from_bytes(raw, where), hashlib.sha256(raw).hexdigest()


def read_frames(source: BinaryIO, header_sha256: str, sealer: Sealer | None, where: str) -> Iterator[bytes]:
    """Every frame's plaintext, in order; BackupInvalidError for a truncated, reordered or altered file."""
    digest = bytes.fromhex(header_sha256)
    index = 0
    while True:
        head = source.read(_FRAME.size)
        if len(head) < _FRAME.size:
            raise _truncated(where, index)
        length, flags = _FRAME.unpack(head)
        if length > MAX_FRAME or flags & ~FINAL:
            raise _damaged(where, index)
        payload = source.read(length)
        if len(payload) < length:
            raise _truncated(where, index)
        if sealer is not None:
            opened = sealer.open(payload, aad(digest, index, flags))
            if opened is None:
                raise BackupInvalidError(
                    f"{where} is damaged or altered: frame {index} fails its authentication check "
                    "(the key itself is right)",
                    "Use another copy of the backup; nothing was written.",
                )
            payload = opened
        yield payload
        index += 1
        if flags & FINAL:
            break
    if source.read(1):
        raise _damaged(where, index, "there are bytes after the final frame")


class _FrameStream(io.RawIOBase):
    """The frames' plaintexts as one readable stream (what zstd's stream reader pulls from)."""

    def __init__(self, frames: Iterator[bytes]) -> None:
        self._frames = frames
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: memoryview | bytearray) -> int:  # type: ignore[override]  # io's stub: Buffer
        while not self._buffer:
            chunk = next(self._frames, None)
            if chunk is None:
                return 0
            self._buffer = memoryview(chunk)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def read_lines(source: BinaryIO, header_sha256: str, sealer: Sealer | None, where: str) -> Iterator[bytes]:
    """Every JSON line after the header, decompressed a bounded piece at a time (memory stays flat)."""
    import zstandard

    frames = read_frames(source, header_sha256, sealer, where)
    # zstandard reads any object with read(); its stubs ask for a file.
    stream = zstandard.ZstdDecompressor().stream_reader(
        _FrameStream(frames), read_size=FRAME_BYTES)  # type: ignore[arg-type]
    rest = b""
    try:
        while chunk := stream.read(READ_BYTES):
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield from lines
    except zstandard.ZstdError as exc:
        raise _damaged(where, -1, f"the compressed stream is corrupt ({exc})") from None
    if rest:
        raise _damaged(where, -1, "the compressed stream does not end with a complete line")
    for extra in frames:  # to the end marker (and its checks)
        if extra:
            raise _damaged(where, -1, "data after the end of the compressed stream")


def _truncated(where: str, index: int) -> BackupInvalidError:
    return BackupInvalidError(
        f"{where} is truncated: it ends at frame {index} before its end marker (an interrupted copy or a full disk?)",
        "Use a complete copy of the backup; nothing was written.",
    )


def _damaged(where: str, index: int, detail: str = "") -> BackupInvalidError:
    at = f" at frame {index}" if index >= 0 else ""
    return BackupInvalidError(
        f"{where} is damaged or altered{at}" + (f": {detail}" if detail else ""),
        "Use another copy of the backup; nothing was written.",
    )
