"""Read real state files: UTF-8 or latin-1, with or without BOM, CRLF, a header not on the first line.

The header is found in Python (the first of the first lines naming every required column); the rows
below it come in batches of text columns, each row with its line number in the file. A file with no
quote character below its header (the usual state file) is split by Arrow's C++ reader, where each
physical line is one row; a file with quotes (a field may then span lines) by Python's csv reader.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

HEADER_SCAN_LINES = 50
HEADER_SCAN_BYTES = 4 << 20
BLOCK_BYTES = 4 << 20  # of the file per batch of rows (about 50,000 rows of a long file)
PYTHON_BATCH_ROWS = 50_000
_LINE_END = re.compile(rb"\r\n|\r|\n")
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
class RowBatch:
    """Rows as text columns (the header's width), each row's line number, and the rows too short to map."""

    lines: list[int]
    columns: list[pa.Array]
    short: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, fields)

    def raw(self, position: int, delimiter: str) -> str:
        return delimiter.join(column[position].as_py() for column in self.columns)


@dataclass
class OpenedFile:
    header: list[str]
    header_line: int  # the header's (last) line in the file
    encoding: str
    batches: Iterator[RowBatch]
    _source: BinaryIO
    _size: int

    @property
    def progress(self) -> float:
        """Share of the file read so far, by bytes (the reader's buffered position: close enough for a progress bar)."""
        return min(self._source.tell() / self._size, 1.0)


def open_rows(path: Path, *, delimiter: str, required: list[str], stack) -> OpenedFile:
    """Open ``path``, find the header (the first line holding every required column) and batch the rows below it.

    ``stack`` (a contextlib.ExitStack) owns the open file.
    """
    encoding = detect_encoding(path)
    source = stack.enter_context(open(path, "rb"))
    header, header_line, offset = _find_header(source, encoding, delimiter, required)
    source.seek(offset)
    if _has_quote(source, offset):
        batches = _python_batches(source, encoding, delimiter, len(header), header_line)
    else:
        batches = _arrow_batches(source, encoding, delimiter, len(header), header_line)
    return OpenedFile(header, header_line, encoding, batches, source, max(path.stat().st_size, 1))


def _find_header(source: BinaryIO, encoding: str, delimiter: str, required: list[str]) -> tuple[list[str], int, int]:
    """The header, its line number, and the byte offset where the rows below it start."""
    head = source.read(HEADER_SCAN_BYTES)
    ends = [m.end() for m in _LINE_END.finditer(head)] + [len(head)]
    lines = (head[start:end].decode(encoding if start == 0 else encoding.removesuffix("-sig"), errors="replace") for start, end in zip([0, *ends], ends))
    reader = csv.reader(lines, delimiter=delimiter)
    best: tuple[int, list[str]] | None = None
    for row in reader:
        header = [cell.strip() for cell in row]
        if any(header):
            missing = [ref for ref in required if find_column(header, ref) is None]
            if not missing:
                return header, reader.line_num, ends[reader.line_num - 1]
            if best is None or len(missing) < best[0]:
                best = (len(missing), missing)
        if reader.line_num >= HEADER_SCAN_LINES:
            break
    if best is None:
        raise FileRefused("The file is empty")
    raise FileRefused(f"The file lacks required columns: {', '.join(best[1])}")


def _has_quote(source: BinaryIO, offset: int) -> bool:
    try:
        while block := source.read(1 << 20):
            if b'"' in block:
                return True
        return False
    finally:
        source.seek(offset)


def _is_blank(fields: list[str]) -> bool:
    return not any(cell.strip() for cell in fields)


def _python_batch(lines: list[int], rows: list[list[str]], width: int) -> RowBatch:
    """Rows split in Python as a batch: blank rows skipped, short ones set aside, long ones cut to the header."""
    batch = RowBatch([], [])
    kept: list[list[str]] = []
    for line, row in zip(lines, rows):
        if _is_blank(row):
            continue
        if len(row) < width:
            batch.short.append((line, row))
        else:
            batch.lines.append(line)
            kept.append(row[:width])
    columns = list(zip(*kept)) if kept else [()] * width
    batch.columns = [pa.array(column, pa.string()) for column in columns]
    return batch


def _python_batches(source: BinaryIO, encoding: str, delimiter: str, width: int, header_line: int) -> Iterator[RowBatch]:
    text = io.TextIOWrapper(source, encoding=encoding.removesuffix("-sig"), newline="")
    reader = csv.reader(text, delimiter=delimiter)
    while True:
        lines, rows = [], []
        for row in reader:
            lines.append(header_line + reader.line_num)
            rows.append(row)
            if len(rows) == PYTHON_BATCH_ROWS:
                break
        if not rows:
            return
        yield _python_batch(lines, rows, width)


def _arrow_batches(source: BinaryIO, encoding: str, delimiter: str, width: int, header_line: int) -> Iterator[RowBatch]:
    """Each physical line is a row (no quotes), so a row's line number is its place among the lines.

    The file is cut into blocks of whole lines, each split by Arrow on one thread (the other core copies the
    previous batch into the database; and Arrow numbers the lines only on one thread). Lines whose field count
    differs from the header's are set aside with their number and split in Python (short ones are row
    errors, longer ones are cut to the header), and their lines are passed over when numbering the rest."""
    first_line = header_line + 1
    for block in _blocks_of_lines(source):
        text = block if encoding.startswith("utf-8") else block.decode(encoding).encode()
        table, set_aside = _split(text, delimiter, width)
        set_aside = [(first_line - 1 + number, fields) for number, fields in set_aside]
        lines = _numbered(first_line, table.num_rows, sorted(line for line, _ in set_aside))
        batch = RowBatch(lines, [column.combine_chunks() for column in table.columns])
        extra = _python_batch([line for line, _ in set_aside], [fields for _, fields in set_aside], width)
        yield _without_blank_rows(_joined(batch, extra))
        first_line += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")


def _blocks_of_lines(source: BinaryIO) -> Iterator[bytes]:
    """The rest of the file in blocks of about BLOCK_BYTES, each ending at a line's end."""
    carry = b""
    while chunk := source.read(BLOCK_BYTES):
        data = carry + chunk
        end = data.rfind(b"\n")  # never between the \r and \n of a CRLF
        if end < 0:
            end = data.rfind(b"\r")  # lines ending with a lone CR
        data, carry = data[: end + 1], data[end + 1 :]
        if data:
            yield data
    if carry:
        yield carry


def _split(text: bytes, delimiter: str, width: int) -> tuple[pa.Table, list[tuple[int, list[str]]]]:
    """The block's rows as text columns, and the lines of another field count (numbered from 1 in the block)."""
    set_aside: list[tuple[int, list[str]]] = []

    def set_aside_row(row) -> str:
        set_aside.append((row.number, next(csv.reader([row.text], delimiter=delimiter))))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    table = pa_csv.read_csv(
        pa.BufferReader(text),
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES, column_names=names),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False, invalid_row_handler=set_aside_row),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
    )
    return table, set_aside


def _numbered(first: int, count: int, skipped: list[int]) -> list[int]:
    """``count`` line numbers from ``first`` on, passing over the ``skipped`` ones (sorted)."""
    lines: list[int] = []
    for line in skipped:
        if len(lines) == count:
            break
        if line >= first:
            lines.extend(range(first, min(line, first + count - len(lines))))
            first = line + 1
    lines.extend(range(first, first + count - len(lines)))
    return lines


def _joined(batch: RowBatch, extra: RowBatch) -> RowBatch:
    if not extra.lines:
        return RowBatch(batch.lines, batch.columns, extra.short)
    columns = [pa.concat_arrays([a, b]) for a, b in zip(batch.columns, extra.columns)]
    return RowBatch(batch.lines + extra.lines, columns, extra.short)


def _without_blank_rows(batch: RowBatch) -> RowBatch:
    """Blank lines come from Arrow as rows of empty fields: skipped, as Python's reader skips them."""
    blank = None
    for column in batch.columns:
        empty = pc.equal(pc.utf8_trim_whitespace(column), "")
        blank = empty if blank is None else pc.and_(blank, empty)
    if blank is None or not pc.any(blank).as_py():
        return batch
    keep = pc.invert(blank)
    lines = [line for line, kept in zip(batch.lines, keep.to_pylist()) if kept]
    return RowBatch(lines, [column.filter(keep) for column in batch.columns], batch.short)
