"""Parse a spooled file with its profile into a staging CSV (observations) and row errors.

Runs in a thread, a chunk of rows at a time, so the worker can report progress and notice a
cancel between chunks while its event loop keeps the queue heartbeat going.
"""

from __future__ import annotations

import contextlib
import csv
import os
from itertools import islice
from dataclasses import dataclass, field
from pathlib import Path

from k12shared.bulk import cyclic_gc_paused
from k12_ingest.files.mapping import Catalog, Mapper, RowError
from k12_ingest.files.reader import open_rows
from k12_ingest.profiles.schemas import ProfileDefinition

STAGE_COLUMNS = [
    "line",
    "org_key",
    "metric_code",
    "subgroup_code",
    "school_year",
    "status",
    "value",
    "lower",
    "upper",
    "lower_inclusive",
    "upper_inclusive",
    "published_as",
    "numerator",
    "denominator",
]
RAW_LIMIT = 500


@dataclass
class RowProblem:
    line: int
    column: str | None
    reason: str
    raw: str | None


@dataclass
class FileParse:
    """Owns the open input and the staging output; ``step`` parses the next ``n`` rows."""

    path: Path
    stage_path: Path
    definition: ProfileDefinition
    catalog: Catalog
    rows_read: int = 0
    observations: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    done: bool = False

    def __post_init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._size = max(os.path.getsize(self.path), 1)
        opened = open_rows(self.path, delimiter=self.definition.delimiter, required=self.definition.required, stack=self._stack)
        self.encoding, self.header_line = opened.encoding, opened.header_line
        self.mapper = Mapper(self.definition, opened.header, self.catalog)
        self._rows = opened.rows
        self._stream = opened.stream
        self._out = self._stack.enter_context(open(self.stage_path, "w", newline="", encoding="utf-8"))
        self._writer = csv.writer(self._out)
        self._delimiter = self.definition.delimiter

    def close(self) -> None:
        self._stack.close()

    def step(self, n: int) -> None:
        with cyclic_gc_paused():
            self._step(n)
        if self.done:
            self._out.flush()

    def _step(self, n: int) -> None:
        chunk = list(islice(self._rows, n))
        if len(chunk) < n:
            self.done = True
        if chunk:
            lines, rows = zip(*chunk)
            self.rows_read += len(rows)
            mapped = self.mapper.map_chunk(rows)
            for position, error in sorted(mapped.errors.items()):
                self.reject(lines[position], error.column, error.reason, rows[position])
            self._writer.writerows(mapped.stage_rows(lines))
            self.observations += mapped.observations

    def reject(self, line: int, column: str | None, reason: str, row: list[str] | None) -> None:
        raw = self._delimiter.join(row)[:RAW_LIMIT] if row is not None else None
        self.errors.append(RowProblem(line, column, reason, raw))
        self.rejected_lines.add(line)

    @property
    def progress(self) -> float:
        """Share of the file read so far, by bytes (the input's buffered position: close enough for a progress bar)."""
        if self.done:
            return 1.0
        return min(self._stream.buffer.tell() / self._size, 1.0)
