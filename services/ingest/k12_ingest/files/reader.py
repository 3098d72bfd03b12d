"""Read real state files: UTF-8 or latin-1, with or without BOM, CRLF, a header not on the first line."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HEADER_SCAN_LINES = 50
csv.field_size_limit(1024 * 1024)


class FileRefused(Exception):
    """The file as a whole cannot be read with this profile (nothing is loaded)."""


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """``utf-8-sig`` when the whole file decodes as UTF-8 (a BOM is dropped), else ``latin-1``."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        try:
            while block := f.read(chunk):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1"
    return "utf-8-sig"


def compile_ref(ref: str) -> re.Pattern[str]:
    return re.compile(ref, re.IGNORECASE)


def find_column(header: list[str], ref: str) -> int | None:
    pattern = compile_ref(ref)
    for i, name in enumerate(header):
        if pattern.fullmatch(name):
            return i
    return None


@dataclass
class OpenedFile:
    header: list[str]
    header_line: int
    encoding: str
    rows: Iterator[tuple[int, list[str]]]  # (line number in the file, fields)
    stream: object = None  # the open text file (its .buffer.tell() gives bytes read so far)


def open_rows(path: Path, *, delimiter: str, required: list[str], stack) -> OpenedFile:
    """Open ``path``, find the header (the first line holding every required column) and iterate rows.

    ``stack`` (a contextlib.ExitStack) owns the open file.
    """
    encoding = detect_encoding(path)
    f = stack.enter_context(open(path, newline="", encoding=encoding))
    reader = csv.reader(f, delimiter=delimiter)
    best: tuple[int, list[str]] | None = None
    for row in reader:
        header = [cell.strip() for cell in row]
        if any(header):
            missing = [ref for ref in required if find_column(header, ref) is None]
            if not missing:
                return OpenedFile(header, reader.line_num, encoding, _data_rows(reader), f)
            if best is None or len(missing) < best[0]:
                best = (len(missing), missing)
        if reader.line_num >= HEADER_SCAN_LINES:
            break
    if best is None:
        raise FileRefused("The file is empty")
    raise FileRefused(f"The file lacks required columns: {', '.join(best[1])}", ) from None


def _data_rows(reader) -> Iterator[tuple[int, list[str]]]:
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield reader.line_num, row
