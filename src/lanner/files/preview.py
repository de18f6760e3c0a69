"""A file's first rows, for a human to look at (Kestra's file preview): what the UI shows of an output file.

By extension, as Kestra's preview renders them:

* ``ion``: a LIST, one item per line (Kestra writes Ion files one value per line); a line that is
  also JSON (numbers, strings, lists, objects with quoted names) is sent parsed, any other as its text;
* ``jpg``, ``jpeg``, ``png``, ``gif``, ``bmp``, ``webp``, ``svg``: an IMAGE, base64 (whole file);
* ``pdf``: a PDF, base64 (whole file); ``md``: MARKDOWN, its first lines;
* anything else (``txt``, ``csv``, ``json``, ``log``...): TEXT, its first ``max_rows`` lines.

``truncated`` says lines were left out.  Files read whole (images, PDF) are refused past
:data:`MAX_WHOLE_BYTES`.
"""

from __future__ import annotations

import base64
import codecs
import json
from dataclasses import dataclass
from typing import IO, Any

IMAGES = ("jpg", "jpeg", "png", "gif", "bmp", "webp", "svg")
MAX_WHOLE_BYTES = 10 * 1024 * 1024
MAX_LINE_CHARS = 100_000  # a line longer than this is cut (a minified JSON of 1 GB is one line)


class PreviewError(ValueError):
    """The file cannot be previewed (too large, an unknown encoding)."""


@dataclass(frozen=True)
class Preview:
    extension: str
    type: str
    content: Any
    truncated: bool
    max_line: int


def extension_of(uri: str) -> str:
    name = uri.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def preview(stream: IO[bytes], uri: str, max_rows: int, encoding: str = "UTF-8") -> Preview:
    extension = extension_of(uri)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise PreviewError(f"unknown encoding {encoding[:50]!r}: use a name such as UTF-8 or ISO-8859-1") from None
    if extension in IMAGES or extension == "pdf":
        data = stream.read(MAX_WHOLE_BYTES + 1)
        if len(data) > MAX_WHOLE_BYTES:
            raise PreviewError(f"the file is larger than {MAX_WHOLE_BYTES // (1024 * 1024)} MB: download it instead")
        kind = "PDF" if extension == "pdf" else "IMAGE"
        return Preview(extension, kind, base64.b64encode(data).decode("ascii"), False, max_rows)
    lines, truncated = _lines(stream, max_rows, encoding)
    if extension == "ion":
        return Preview(extension, "LIST", [_value(line) for line in lines if line.strip()], truncated, max_rows)
    kind = "MARKDOWN" if extension == "md" else "TEXT"
    return Preview(extension, kind, "\n".join(lines), truncated, max_rows)


def _lines(stream: IO[bytes], max_rows: int, encoding: str) -> tuple[list[str], bool]:
    reader = codecs.getreader(encoding)(stream, "replace")
    lines: list[str] = []
    while True:
        line = reader.readline(MAX_LINE_CHARS)
        if not line:
            return lines, False
        if len(lines) == max_rows:
            return lines, True
        lines.append(line.rstrip("\r\n"))


def _value(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return line
