"""A profile applied to a file's header: each row becomes observations, or row errors with reasons.

The mapper is compiled once per file (column positions, crosswalks, metric ranges), then applied
to each row; it is pure Python and runs in a thread so the worker's event loop keeps its heartbeat.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
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

    def __post_init__(self) -> None:
        self.width = len(self.header)
        self._org = self._compile_org(self.definition.org)
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

    def _compile_period(self) -> Callable[[list[str]], int]:
        period = self.definition.period
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
        index = self._column(period.column)
        name = self.header[index]

        def from_column(row: list[str]) -> int:
            try:
                return parse_school_year(row[index])
            except ValueError as exc:
                raise RowError(str(exc), name) from None

        return from_column

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

    # -- rows ----------------------------------------------------------------------------------

    def map_row(self, row: list[str]) -> list[Observed]:
        """The row's observations; raises RowError (with the column) for a bad row."""
        if len(row) < self.width:
            raise RowError(f"short row: {len(row)} fields where the header has {self.width}")
        year = self._year(row)
        org_key = self._org_key(self._org, row)
        if self.definition.format == "long":
            return [self._long_observation(row, org_key, year)]
        out = []
        for m in self._measures:
            cell = self._cell(row[m.value], m.label, m.low, m.high)
            numerator = self._count(row, m.numerator)
            denominator = self._count(row, m.denominator)
            if m.zero_means_unpublished and cell.value == 0 and not denominator:
                cell = Cell("suppressed", published_as=row[m.value].strip())
            out.append(Observed(org_key, m.metric, m.subgroup, year, cell, numerator, denominator))
        return out

    def _long_observation(self, row: list[str], org_key: str, year: int) -> Observed:
        raw_metric = row[self._metric_col].strip()
        metric = self._metric_names.get(raw_metric.lower())
        if metric is None:
            raise RowError(f"unknown metric {raw_metric!r}", self.header[self._metric_col])
        raw_subgroup = row[self._subgroup_col].strip()
        subgroup = self._subgroup_names.get(raw_subgroup.lower())
        if subgroup is None:
            raise RowError(f"unknown subgroup code {raw_subgroup!r}", self.header[self._subgroup_col])
        low, high = self.catalog.metrics[metric]
        cell = self._cell(row[self._value_col], self.header[self._value_col], low, high)
        return Observed(org_key, metric, subgroup, year, cell, self._count(row, self._numerator_col), self._count(row, self._denominator_col))

    def _cell(self, text: str, column: str, low: float | None, high: float | None) -> Cell:
        return _checked_cell(text, low, high).result(column)

    def _count(self, row: list[str], index: int | None) -> float | None:
        if index is None:
            return None
        try:
            return parse_count(row[index])
        except BadValue as exc:
            raise RowError(f"unparseable count: {exc}", self.header[index]) from None

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
