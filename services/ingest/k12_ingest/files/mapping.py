"""A profile applied to a file's header: each row becomes observations, or row errors with reasons.

The mapper is compiled once per file (column positions, crosswalks, metric ranges), then applied
to each batch of rows; it runs in a thread so the worker's event loop keeps its heartbeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from operator import attrgetter
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from k12_ingest.files.reader import FileRefused, find_column
from k12_ingest.files.values import BadValue, Cell, parse_cell, parse_count
from k12_ingest.profiles.schemas import FieldSpec, MeasureSpec, OrgSpec, ProfileDefinition

Getter = Callable[[list[str]], str | None]
_YEAR = re.compile(r"^\s*(\d{4})\s*(?:[-/]\s*(\d{2}|\d{4}))?\s*$")
_NCES = re.compile(r"^\d{7}(\d{5})?$")
_SHORT_YEAR = re.compile(r"^\s*(\d{2})(\d{2})\s*$")


class RowError(Exception):
    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column


@lru_cache(maxsize=4096)  # a file names few periods, on every row
def parse_school_year(text: str) -> int:
    """2016, 2015-16, 2015-2016 and 1516 all name the school year 2015-16, stored as its spring year 2016."""
    raw = text.strip()
    if (m := _SHORT_YEAR.match(raw)) and not 1900 < int(raw) < 2100:
        first, second = int(m.group(1)), int(m.group(2))
        if (first + 1) % 100 != second:
            raise ValueError(f"{raw!r} is not one school year")
        year = 2000 + second if second < 70 else 1900 + second
    elif m := _YEAR.match(raw):
        first = int(m.group(1))
        if m.group(2) is None:
            year = first
        else:
            year = first + 1
            expected = str(year)[-len(m.group(2)) :]
            if m.group(2) != expected:
                raise ValueError(f"{raw!r} is not one school year")
    else:
        raise ValueError(f"{raw!r} is not a school year")
    if not 1900 < year < 2100:
        raise ValueError(f"{raw!r} is not a plausible school year")
    return year


@dataclass
class Catalog:
    metrics: dict[str, tuple[float | None, float | None]]  # code -> (min, max)
    subgroups: set[str]


@dataclass
class _Measure:
    metric: str
    subgroup: str
    label: str
    value: int
    numerator: int | None
    denominator: int | None
    zero_means_unpublished: bool
    low: float | None
    high: float | None


@dataclass
class OrgItem:
    """An organization a file names, as metrics-api's /internal/orgs/resolve takes it."""

    key: str
    body: dict[str, Any]


@dataclass
class _OrgLevel:
    type: str | None
    org_id: Getter | None
    nces_id: Getter | None
    state_id: Getter | None
    edfi_id: Getter | None
    name: Getter | None
    name_default: str | None
    state_code: Getter | None
    parent: _OrgLevel | None


@dataclass
class Mapper:
    definition: ProfileDefinition
    header: list[str]
    catalog: Catalog
    width: int = 0
    org_items: dict[str, OrgItem] = field(default_factory=dict)
    org_lookups: set[str] = field(default_factory=set)
    _org_columns: set[int] = field(default_factory=set)  # what an organization's key depends on

    def __post_init__(self) -> None:
        self.width = len(self.header)
        self._org = self._compile_org(self.definition.org)
        self._org_columns_sorted = sorted(self._org_columns)
        self._year = self._compile_period()
        if self.definition.format == "wide":
            self._measures = self._compile_measures(self.definition.measures)
            if not self._measures:
                raise FileRefused("None of the profile's measure columns is in the file")
        else:
            self._compile_long()

    # -- compile -------------------------------------------------------------------------------

    def _column(self, ref: str, *, required: bool = True) -> int | None:
        index = find_column(self.header, ref)
        if index is None and required:
            raise FileRefused(f"The file lacks required columns: {ref}")
        return index

    def _getter(self, spec: str | FieldSpec | None) -> Getter | None:
        if spec is None:
            return None
        if isinstance(spec, str):
            spec = FieldSpec(column=spec)
        if spec.constant is not None:
            constant = spec.constant
            return lambda row: constant
        index = self._column(spec.column, required=False)
        if index is None:
            return None
        self._org_columns.add(index)
        pad, mapping, title = spec.pad, {k.upper(): v for k, v in (spec.map or {}).items()}, spec.title_case

        def get(row: list[str]) -> str | None:
            text = row[index].strip() if index < len(row) else ""
            if not text:
                return None
            if mapping:
                text = mapping.get(text.upper(), text)
            if pad:
                text = text.zfill(pad)
            if title:
                text = text.title()
            return text

        return get

    def _compile_org(self, spec: OrgSpec) -> _OrgLevel:
        level = _OrgLevel(
            type=spec.type,
            org_id=self._getter(spec.org_id),
            nces_id=self._getter(spec.nces_id),
            state_id=self._getter(spec.state_id),
            edfi_id=self._getter(spec.edfi_id),
            name=self._getter(spec.name),
            name_default=spec.name_default,
            state_code=self._getter(spec.state_code),
            parent=self._compile_org(spec.parent) if spec.parent else None,
        )
        if level.org_id is None and level.nces_id is None and level.state_id is None:
            raise FileRefused("The file has no column identifying the organization")
        if level.org_id is None and level.type is None:
            raise FileRefused("The profile names no organization type")
        return level

    def _compile_period(self) -> Callable[[list[str] | None], int]:
        period = self.definition.period
        self._year_index: int | None = None
        if period.constant is not None:
            year = parse_school_year(period.constant)
            return lambda row: year
        if period.header is not None:
            index = self._column(period.header)
            digits = re.findall(r"\d", self.header[index])[-4:]
            try:
                year = parse_school_year("".join(digits))
            except ValueError:
                raise FileRefused(f"Column {self.header[index]!r} does not end with a school year such as 1516") from None
            return lambda row: year
        self._year_index = self._column(period.column)
        return lambda row: parse_school_year(row[self._year_index])

    def _metric_range(self, code: str) -> tuple[float | None, float | None]:
        if code not in self.catalog.metrics:
            raise FileRefused(f"The profile names an unknown metric {code!r}")
        return self.catalog.metrics[code]

    def _compile_measures(self, measures: list[MeasureSpec]) -> list[_Measure]:
        compiled: list[_Measure] = []
        for spec in measures:
            low, high = self._metric_range(spec.metric)
            pairs = spec.subgroups.items() if spec.subgroups else [("", spec.subgroup)]
            for key, subgroup in pairs:
                if subgroup not in self.catalog.subgroups:
                    raise FileRefused(f"The profile names an unknown subgroup {subgroup!r}")
                value = self._column(spec.value.replace("{sg}", key), required=False)
                if value is None:
                    continue  # an optional column this file does not have
                numerator = self._column(spec.numerator.replace("{sg}", key), required=False) if spec.numerator else None
                denominator = self._column(spec.denominator.replace("{sg}", key), required=False) if spec.denominator else None
                compiled.append(
                    _Measure(spec.metric, subgroup, self.header[value], value, numerator, denominator, spec.zero_means_unpublished, low, high)
                )
        return compiled

    def _compile_long(self) -> None:
        spec = self.definition.long
        assert spec is not None
        self._metric_col = self._column(spec.metric)
        self._subgroup_col = self._column(spec.subgroup)
        self._value_col = self._column(spec.value)
        self._numerator_col = self._column(spec.numerator, required=False) if spec.numerator else None
        self._denominator_col = self._column(spec.denominator, required=False) if spec.denominator else None
        self._metric_names = {m: m for m in self.catalog.metrics} | {k.lower(): v for k, v in self.definition.metric_crosswalk.items()}
        self._subgroup_names = {s: s for s in self.catalog.subgroups} | {k.lower(): v for k, v in self.definition.subgroup_crosswalk.items()}

    # -- rows, a batch at a time -------------------------------------------------------------------
    # State files repeat a few distinct texts per column (periods, codes, values), so each column is
    # mapped once per distinct text (Arrow finds them) and the results are gathered back by Arrow:
    # no Python work per row. Row errors keep the order a reader would check them in.

    def map_batch(self, columns: Sequence[pa.Array]) -> MappedBatch:
        """A batch's observations as a staging table (line numbers added by the caller), and the rows refused."""
        count = len(columns[0]) if columns else 0
        batch = MappedBatch(count)
        years = self._year_column(columns, count)
        batch.refuse(years)
        org_keys = self._org_key_column(columns, years, count)
        batch.refuse(org_keys)
        if self.definition.format == "long":
            self._long_batch(batch, columns, years, org_keys)
        else:
            self._wide_batch(batch, columns, years, org_keys)
        return batch

    def _year_column(self, columns: Sequence[pa.Array], count: int) -> Mapped:
        if self._year_index is None:
            return Mapped.constant(self._year(None), count)
        name = self.header[self._year_index]

        def year(text: str) -> int:
            try:
                return parse_school_year(text)
            except ValueError as exc:
                raise RowError(str(exc), name) from None

        return by_distinct(columns[self._year_index], year)

    def _org_key_column(self, columns: Sequence[pa.Array], years: Mapped, count: int) -> Mapped:
        """Each row's organization key; organizations are noted only from rows with a good period."""
        at = self._org_columns_sorted

        def org_key(joined: str) -> str:
            row = [""] * self.width  # the key reads only the organization's columns
            for index, text in zip(at, joined.split(_SEPARATOR)):
                row[index] = text
            return self._org_key(self._org, row)

        if not at:
            return Mapped.constant(_result(org_key, ""), count)
        return by_distinct(_joined([columns[i] for i in at]), org_key, only=pc.invert(years.refused_mask()))

    def _long_batch(self, batch: MappedBatch, columns, years: Mapped, org_keys: Mapped) -> None:
        metric_header, subgroup_header = self.header[self._metric_col], self.header[self._subgroup_col]

        def metric(text: str) -> str:
            found = self._metric_names.get(text.strip().lower())
            if found is None:
                raise RowError(f"unknown metric {text.strip()!r}", metric_header)
            return found

        def subgroup(text: str) -> str:
            found = self._subgroup_names.get(text.strip().lower())
            if found is None:
                raise RowError(f"unknown subgroup code {text.strip()!r}", subgroup_header)
            return found

        metrics = by_distinct(columns[self._metric_col], metric)
        subgroups = by_distinct(columns[self._subgroup_col], subgroup)
        batch.refuse(metrics, subgroups)
        value_header = self.header[self._value_col]
        ranges = self.catalog.metrics

        def cell(joined: str) -> Cell:
            text, metric_text = joined.split(_SEPARATOR)
            low, high = ranges.get(self._metric_names.get(metric_text.strip().lower()), (None, None))
            return _checked_cell(text, low, high).result(value_header)

        cells = by_distinct(_joined([columns[self._value_col], columns[self._metric_col]]), cell)
        numerators = self._count_column(columns, self._numerator_col, batch.size)
        denominators = self._count_column(columns, self._denominator_col, batch.size)
        batch.refuse(cells, numerators, denominators)
        batch.add(org_keys, metrics, subgroups, years, cells, numerators, denominators)

    def _wide_batch(self, batch: MappedBatch, columns, years: Mapped, org_keys: Mapped) -> None:
        measured = []
        for m in self._measures:
            cells = self._wide_cells(columns, m)
            numerators = self._count_column(columns, m.numerator, batch.size)
            denominators = self._count_column(columns, m.denominator, batch.size)
            batch.refuse(cells, numerators, denominators)
            measured.append((m, cells, numerators, denominators))
        for m, cells, numerators, denominators in measured:
            metric, subgroup = Mapped.constant(m.metric, batch.size), Mapped.constant(m.subgroup, batch.size)
            batch.add(org_keys, metric, subgroup, years, cells, numerators, denominators)

    def _wide_cells(self, columns, m: _Measure) -> Mapped:
        if not m.zero_means_unpublished:
            return by_distinct(columns[m.value], lambda text: _checked_cell(text, m.low, m.high).result(m.label))

        def cell(joined: str) -> Cell:
            text, _, denominator = joined.partition(_SEPARATOR)
            return _unpublished_zero(_checked_cell(text, m.low, m.high).result(m.label), denominator, text)

        with_denominator = [columns[m.value]] + ([columns[m.denominator]] if m.denominator is not None else [])
        return by_distinct(_joined(with_denominator), cell)

    def _count_column(self, columns: Sequence[pa.Array], at: int | None, count: int) -> Mapped:
        if at is None:
            return Mapped.constant(None, count)
        header = self.header[at]

        def count_text(text: str) -> float | None:
            try:
                return parse_count(text)
            except BadValue as exc:
                raise RowError(f"unparseable count: {exc}", header) from None

        return by_distinct(columns[at], count_text)

    def _org_key(self, level: _OrgLevel, row: list[str]) -> str:
        if level.org_id is not None:
            ref = level.org_id(row)
            if not ref:
                raise RowError("no organization id")
            self.org_lookups.add(ref)
            return "ref:" + ref
        nces = level.nces_id(row) if level.nces_id else None
        state_id = level.state_id(row) if level.state_id else None
        state_code = (level.state_code(row) if level.state_code else None) or ""
        if not nces and not state_id:
            raise RowError(f"no identifier for the {level.type}")
        if nces and not _NCES.match(nces):
            raise RowError(f"{nces!r} is not an NCES id (7 or 12 digits)")
        key = f"{level.type}|n:{nces}" if nces else f"{level.type}|{state_code}|s:{state_id}"
        if key not in self.org_items:
            self.org_items[key] = OrgItem(key, self._org_body(level, row, nces, state_id, state_code))
        return key

    def _org_body(self, level: _OrgLevel, row: list[str], nces: str | None, state_id: str | None, state_code: str) -> dict[str, Any]:
        if len(state_code) != 2:
            raise RowError(f"no two-letter state code for the {level.type} ({state_code!r})")
        name = (level.name(row) if level.name else None) or (level.name_default or "{type} {nces_id}{state_id}").format(
            type=level.type, nces_id=nces or "", state_id=state_id or ""
        )
        body: dict[str, Any] = {"type": level.type, "name": name[:300], "state_code": state_code, "nces_id": nces, "state_id": state_id}
        if level.edfi_id and (edfi := level.edfi_id(row)):
            body["edfi_id"] = edfi
        if level.parent is not None:
            self._org_key(level.parent, row)
            parent_nces = level.parent.nces_id(row) if level.parent.nces_id else None
            parent_state = level.parent.state_id(row) if level.parent.state_id else None
            if parent_nces:
                body["parent_nces_id"] = parent_nces
            elif parent_state:
                body["parent_state_id"] = parent_state
        return body


@dataclass(frozen=True, slots=True)
class _Checked:
    cell: Cell | None
    reason: str | None

    def result(self, column: str) -> Cell:
        if self.cell is None:
            raise RowError(self.reason, column)
        return self.cell


@lru_cache(maxsize=65536)  # values repeat a lot in state files; parsing and the range check are pure
def _checked_cell(text: str, low: float | None, high: float | None) -> _Checked:
    try:
        cell = parse_cell(text)
    except BadValue as exc:
        return _Checked(None, f"unparseable value: {exc}")
    if cell.outside(low, high):
        return _Checked(None, f"value {text.strip()!r} outside {_fmt(low)}–{_fmt(high)}")
    return _Checked(cell, None)


def _fmt(x: float | None) -> str:
    if x is None:
        return "∞"
    return str(int(x)) if float(x).is_integer() else str(x)


# Staging columns, as the load's ``stage`` table takes them (jobs.load).
STAGE_SCHEMA = pa.schema(
    [
        ("line", pa.int32()),
        ("org_key", pa.string()),
        ("metric_code", pa.string()),
        ("subgroup_code", pa.string()),
        ("school_year", pa.int16()),
        ("status", pa.string()),
        ("value", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
        ("lower_inclusive", pa.bool_()),
        ("upper_inclusive", pa.bool_()),
        ("published_as", pa.string()),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
    ]
)
_CELL_FIELDS = ["status", "value", "lower", "upper", "lower_inclusive", "upper_inclusive", "published_as"]
_SEPARATOR = "\x1f"  # joins a row's texts of several columns into one distinct text (a character files never hold)


@dataclass
class Mapped:
    """A column mapped once per distinct text: each distinct text's result (a RowError where refused), and
    each row's distinct text by index."""

    results: list
    indices: pa.Array

    @classmethod
    def constant(cls, result: Any, count: int) -> Mapped:
        return cls([result], pa.repeat(pa.scalar(0, pa.int32()), count))

    def _refused_indices(self) -> list[int]:
        return [i for i, result in enumerate(self.results) if type(result) is RowError]

    def refused_mask(self) -> pa.Array:
        return pc.is_in(self.indices, pa.array(self._refused_indices(), self.indices.type))

    def refusals(self) -> list[tuple[int, RowError]]:
        if not self._refused_indices():
            return []
        positions = pc.indices_nonzero(self.refused_mask())
        return [(p, self.results[i]) for p, i in zip(positions.to_pylist(), self.indices.take(positions).to_pylist())]

    def column(self, type_: pa.DataType, pick: Callable[[Any], Any] | None = None) -> pa.Array:
        results = [None if result is None or type(result) is RowError else (pick(result) if pick else result) for result in self.results]
        return pa.array(results, type_).take(self.indices)


def by_distinct(column: pa.Array, fn: Callable[[str], Any], only: pa.Array | None = None) -> Mapped:
    """``fn`` of each distinct text of ``column``, once; a RowError it raises stands in for the result.
    With ``only`` (a mask), texts found only at False positions are not computed (None stands in)."""
    encoded = column.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    wanted = range(len(distinct)) if only is None else set(pc.unique(encoded.indices.filter(only)).to_pylist())
    results = [_result(fn, text) if i in wanted else None for i, text in enumerate(distinct)]
    return Mapped(results, encoded.indices)


def _result(fn: Callable[[str], Any], text: str) -> Any:
    try:
        return fn(text)
    except RowError as exc:
        return exc


def _joined(columns: list[pa.Array]) -> pa.Array:
    return columns[0] if len(columns) == 1 else pc.binary_join_element_wise(*columns, _SEPARATOR)


class MappedBatch:
    """A batch's observations (one part per measure) and its refused rows by position."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.errors: dict[int, RowError] = {}
        self._parts: list[tuple[Mapped, ...]] = []

    def refuse(self, *columns: Mapped) -> None:
        """Refuse each row whose value in any of ``columns`` is a RowError (the first one found)."""
        for column in columns:
            for position, error in column.refusals():
                self.errors.setdefault(position, error)

    def add(self, org_keys: Mapped, metrics: Mapped, subgroups: Mapped, years: Mapped, cells: Mapped, numerators: Mapped, denominators: Mapped) -> None:
        self._parts.append((org_keys, metrics, subgroups, years, cells, numerators, denominators))

    def stage_table(self, lines: pa.Array) -> pa.Table:
        """The staging rows (STAGE_SCHEMA) of the rows kept."""
        keep = pc.invert(pc.is_in(pa.array(range(self.size), pa.int32()), pa.array(list(self.errors), pa.int32()))) if self.errors else None
        tables = []
        for org_keys, metrics, subgroups, years, cells, numerators, denominators in self._parts:
            arrays = [
                lines,
                org_keys.column(pa.string()),
                metrics.column(pa.string()),
                subgroups.column(pa.string()),
                years.column(pa.int16()),
                *(cells.column(STAGE_SCHEMA.field(name).type, attrgetter(name)) for name in _CELL_FIELDS),
                numerators.column(pa.float64()),
                denominators.column(pa.float64()),
            ]
            table = pa.Table.from_arrays(arrays, schema=STAGE_SCHEMA)
            tables.append(table.filter(keep) if keep is not None else table)
        return pa.concat_tables(tables) if tables else STAGE_SCHEMA.empty_table()


def _unpublished_zero(cell: Cell, denominator_text: str, text: str) -> Cell:
    """A 0 with no denominator in a file that writes 0 for 'not published': suppressed, not a zero."""
    if cell.status != "exact" or cell.value != 0:
        return cell
    try:
        denominator = parse_count(denominator_text)
    except BadValue:
        return cell  # the row is refused for its denominator
    if denominator:
        return cell
    return Cell("suppressed", published_as=text.strip())
