"""Parse a spooled file with its profile into staging rows (CSV, a batch at a time) and row errors.

Runs in a thread, a batch of rows at a time, so the worker can report progress and notice a
cancel between batches while its event loop keeps the queue heartbeat going.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from k12_ingest.files.mapping import STAGE_SCHEMA, Catalog, Mapper
from k12_ingest.files.reader import RowBatch, open_rows
from k12_ingest.profiles.schemas import ProfileDefinition

STAGE_COLUMNS = STAGE_SCHEMA.names
RAW_LIMIT = 500


@dataclass
class RowProblem:
    line: int
    column: str | None
    reason: str
    raw: str | None


@dataclass
class FileParse:
    """Owns the open input; ``step`` parses the next batch of rows."""

    path: Path
    definition: ProfileDefinition
    catalog: Catalog
    rows_read: int = 0
    observations: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    done: bool = False

    def __post_init__(self) -> None:
        self._stack = contextlib.ExitStack()
        opened = open_rows(self.path, delimiter=self.definition.delimiter, required=self.definition.required, stack=self._stack)
        self._opened = opened
        self.encoding, self.header_line = opened.encoding, opened.header_line
        self.mapper = Mapper(self.definition, opened.header, self.catalog)
        self.keys = ObservationKeys()
        self._delimiter = self.definition.delimiter

    def close(self) -> None:
        self._stack.close()

    def step(self) -> bytes | None:
        """The next batch's staging rows (STAGE_COLUMNS) as CSV; None past the last batch."""
        batch = next(self._opened.batches, None)
        if batch is None:
            self.done = True
            return None
        table = self._map(batch)
        out = pa.BufferOutputStream()
        pa_csv.write_csv(table, out, write_options=pa_csv.WriteOptions(include_header=False))
        return out.getvalue().to_pybytes()

    def _map(self, batch: RowBatch) -> pa.Table:
        self.rows_read += len(batch.lines) + len(batch.short)
        width = len(self.mapper.header)
        for line, fields in batch.short:
            self.reject(line, None, f"short row: {len(fields)} fields where the header has {width}", self._delimiter.join(fields))
        mapped = self.mapper.map_batch(batch.columns)
        for position, error in sorted(mapped.errors.items()):
            self.reject(batch.lines[position], error.column, error.reason, batch.raw(position, self._delimiter))
        table = mapped.stage_table(pa.array(batch.lines, pa.int32()))
        self.keys.add(table)
        self.observations += table.num_rows
        return table

    def reject(self, line: int, column: str | None, reason: str, raw: str | None) -> None:
        self.errors.append(RowProblem(line, column, reason, raw[:RAW_LIMIT] if raw is not None else None))
        self.rejected_lines.add(line)

    @property
    def progress(self) -> float:
        return 1.0 if self.done else self._opened.progress


class ObservationKeys:
    """Whether a file names an observation (organization, metric, subgroup, year) twice: each key packed
    into one integer, counted at the end. Lets the load skip its de-duplicating sort for the usual file."""

    _BITS = {"org_key": 24, "metric_code": 10, "subgroup_code": 10}  # and 16 for the year: 60 bits

    def __init__(self) -> None:
        self._codes: dict[str, dict[str, int]] = {name: {} for name in self._BITS}
        self._packed: list[pa.Array] = []
        self._overflow = False

    def add(self, table: pa.Table) -> None:
        if self._overflow or table.num_rows == 0:
            return
        packed = pc.cast(table["school_year"], pa.int64())
        shift = 16
        for name, bits in self._BITS.items():
            codes = self._code(name, table[name])
            if len(self._codes[name]) >= 1 << bits:
                self._overflow = True
                return
            packed = pc.add(packed, pc.shift_left(codes, shift))
            shift += bits
        self._packed.append(packed)

    def _code(self, name: str, column: pa.ChunkedArray) -> pa.Array:
        encoded = column.combine_chunks().dictionary_encode()
        known = self._codes[name]
        codes = [known.setdefault(text, len(known)) for text in encoded.dictionary.to_pylist()]
        return pa.array(codes, pa.int64()).take(encoded.indices)

    @property
    def all_distinct(self) -> bool:
        if self._overflow:
            return False
        total = sum(len(p) for p in self._packed)
        return total == 0 or len(pc.unique(pa.chunked_array(self._packed, pa.int64()))) == total
