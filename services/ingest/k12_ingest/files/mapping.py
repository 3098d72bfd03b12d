"""A profile applied to a file's header: each row becomes observations, or row errors with reasons.

The mapper is compiled once per file (column positions, crosswalks, metric ranges), then applied
to each row; it is pure Python and runs in a thread so the worker's event loop keeps its heartbeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from functools import lru_cache
from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Observed:
    org_key: str
    metric: str
    subgroup: str
    year: int
    cell: Cell
    numerator: float | None
    denominator: float | None


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

    # -- rows, a chunk at a time -------------------------------------------------------------------
    # State files repeat a few distinct texts per column (periods, codes, values), so each column is
    # mapped once per distinct text and the results are gathered back: C-speed set/dict/zip work
    # instead of a Python call per cell. Row errors keep the order a reader would check them in.

    def map_chunk(self, rows: Sequence[list[str]]) -> MappedChunk:
        """The chunk's observations as staging columns, and the rows refused with the reason."""
        chunk = MappedChunk(len(rows))
        for i, row in enumerate(rows):
            if len(row) < self.width:
                chunk.refuse(i, RowError(f"short row: {len(row)} fields where the header has {self.width}"))
        whole = [row for i, row in enumerate(rows) if i not in chunk.errors] if chunk.errors else rows
        columns = list(zip(*whole)) if whole else [()] * self.width
        index = [i for i in range(len(rows)) if i not in chunk.errors] if chunk.errors else range(len(rows))
        years = self._year_column(columns, len(whole))
        org_keys = self._org_key_column(whole, columns, years)
        chunk.refuse_where(index, years, org_keys)
        if self.definition.format == "long":
            self._long_chunk(chunk, index, columns, years, org_keys)
        else:
            self._wide_chunk(chunk, index, columns, years, org_keys)
        return chunk

    def _year_column(self, columns: list[tuple], count: int) -> list:
        if self._year_index is None:
            return [self._year(None)] * count
        name = self.header[self._year_index]

        def year(text: str) -> int:
            try:
                return parse_school_year(text)
            except ValueError as exc:
                raise RowError(str(exc), name) from None

        return by_distinct(columns[self._year_index], year)

    def _org_key_column(self, rows: Sequence[list[str]], columns: list[tuple], years: list) -> list:
        """Each row's organization key; organizations are noted only from rows with a good period."""
        keys = list(zip(*(columns[i] for i in self._org_columns_sorted))) if self._org_columns_sorted else [()] * len(rows)
        first_row = dict(zip(keys, rows))  # any row with those texts: the key reads only them
        good = [type(y) is not RowError for y in years]
        return by_distinct(keys, lambda key: self._org_key(self._org, first_row[key]), only=good)

    def _long_chunk(self, chunk: MappedChunk, index, columns, years, org_keys) -> None:
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
        chunk.refuse_where(index, metrics, subgroups)
        value_header = self.header[self._value_col]
        ranges = self.catalog.metrics

        def cell(pair: tuple[str, str]) -> tuple:
            text, code = pair
            low, high = ranges[code] if code in ranges else (None, None)
            return _staged_cell(_checked_cell(text, low, high).result(value_header))

        cells = by_distinct(list(zip(columns[self._value_col], metrics)), cell)
        numerators = self._count_column(columns, self._numerator_col, len(index))
        denominators = self._count_column(columns, self._denominator_col, len(index))
        chunk.refuse_where(index, cells, numerators, denominators)
        chunk.add(index, org_keys, metrics, subgroups, years, cells, numerators, denominators)

    def _wide_chunk(self, chunk: MappedChunk, index, columns, years, org_keys) -> None:
        measured = []
        for m in self._measures:
            cells = by_distinct(columns[m.value], lambda text, m=m: _staged_cell(_checked_cell(text, m.low, m.high).result(m.label)))
            numerators = self._count_column(columns, m.numerator, len(index))
            denominators = self._count_column(columns, m.denominator, len(index))
            chunk.refuse_where(index, cells, numerators, denominators)
            if m.zero_means_unpublished:
                cells = [_unpublished_zero(c, d, text) for c, d, text in zip(cells, denominators, columns[m.value])]
            measured.append((m, cells, numerators, denominators))
        for m, cells, numerators, denominators in measured:
            count = len(index)
            chunk.add(index, org_keys, [m.metric] * count, [m.subgroup] * count, years, cells, numerators, denominators)

    def _count_column(self, columns: list[tuple], at: int | None, count: int) -> list:
        if at is None:
            return [""] * count
        header = self.header[at]

        def count_text(text: str) -> str:
            try:
                return _stage_number(parse_count(text))
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


class MappedChunk:
    """A chunk's staging columns (without line numbers) and its refused rows by position."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.errors: dict[int, RowError] = {}
        self._parts: list[tuple[list[int], list[tuple]]] = []

    def refuse(self, position: int, error: RowError) -> None:
        self.errors.setdefault(position, error)

    def refuse_where(self, positions: Sequence[int], *columns: list) -> None:
        """Refuse each row whose value in any of ``columns`` is a RowError (the first one found)."""
        for column in columns:
            if RowError in set(map(type, column)):
                for position, value in zip(positions, column):
                    if type(value) is RowError:
                        self.refuse(position, value)

    def add(self, positions, org_keys, metrics, subgroups, years, cells, numerators, denominators) -> None:
        """One observation per row kept; ``cells`` hold each cell's seven staging fields."""
        self._parts.append((list(positions), [org_keys, metrics, subgroups, years, cells, numerators, denominators]))

    @property
    def observations(self) -> int:
        return sum(len([p for p in positions if p not in self.errors]) for positions, _ in self._parts)

    def stage_rows(self, lines: Sequence[int]) -> Iterator[tuple]:
        """Rows for the staging CSV (jobs.parse.STAGE_COLUMNS order), refused rows left out; built with
        zip and map so the csv writer pulls them without a Python frame per row."""
        for positions, (org_keys, metrics, subgroups, years, cells, numerators, denominators) in self._parts:
            columns = [org_keys, metrics, subgroups, years, cells, numerators, denominators]
            if self.errors:
                kept = [i for i, p in enumerate(positions) if p not in self.errors]
                positions = [positions[i] for i in kept]
                columns = [[c[i] for i in kept] for c in columns]
            org_keys, metrics, subgroups, years, cells, numerators, denominators = columns
            cell_fields = [map(itemgetter(k), cells) for k in range(7)]
            yield from zip(map(lines.__getitem__, positions), org_keys, metrics, subgroups, years, *cell_fields, numerators, denominators)


def by_distinct(values: Sequence[Hashable], fn: Callable[[Any], Any], only: Sequence[bool] | None = None) -> list:
    """``fn`` of each value, computed once per distinct value; a RowError it raises stands in for the result.
    With ``only``, values at False positions are not computed (None stands in)."""
    results: dict = {}
    distinct = set(values) if only is None else {v for v, wanted in zip(values, only) if wanted}
    if only is not None:
        results = dict.fromkeys(values)
    for value in distinct:
        try:
            results[value] = fn(value)
        except RowError as exc:
            results[value] = exc
    return list(map(results.__getitem__, values))


def _stage_number(x: float | None) -> str:
    if x is None:
        return ""
    return repr(x) if not x.is_integer() else str(int(x))


def _stage_flag(x: bool | None) -> str:
    return "" if x is None else ("t" if x else "f")


@lru_cache(maxsize=65536)
def _staged_cell(cell: Cell) -> tuple[str, ...]:
    """The cell's seven staging fields: status, value, lower, upper, the two inclusive flags, published_as."""
    return (cell.status, _stage_number(cell.value), _stage_number(cell.lower), _stage_number(cell.upper),
            _stage_flag(cell.lower_inclusive), _stage_flag(cell.upper_inclusive), cell.published_as or "")


def _unpublished_zero(cell: tuple | RowError, denominator: str | RowError, text: str) -> tuple | RowError:
    """A 0 with no denominator in a file that writes 0 for 'not published': suppressed, not a zero."""
    if type(cell) is RowError or cell[0] != "exact" or cell[1] != "0" or denominator not in ("", "0"):
        return cell
    return _staged_cell(Cell("suppressed", published_as=text.strip()))
