"""From student records to the district's private metrics, per school and for the district, per school year.

- ``excused_absence_days``, ``unexcused_absence_days``, ``tardy_count``: sums of event durations;
- where enrollment is known (studentSchoolAssociations, or a OneRoster roster): ``enrollment`` (students
  enrolled in the year), ``attendance_rate`` (100 × (1 − absence days /
  enrolled weekdays)) and ``chronic_absenteeism_rate`` (share of enrolled students absent 10% or more);
- ``proficiency_rate_<subject>`` from studentAssessments (share of tested students proficient).
The n of a count is the school's enrolled students (or, without enrollment, the students with events).
A cell whose n is below the suppression threshold is stored as suppressed, and a second cell is
suppressed with it when it alone could be worked out from the district total (complementary suppression).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.db import driver_connection
from k12shared.models import Organization
from k12shared.settings import Settings
from k12_ingest.observations import upsert_staged

ATTENDANCE = "studentSchoolAttendanceEvents"
ENROLLMENT = "studentSchoolAssociations"
ASSESSMENT = "studentAssessments"
CATEGORY_METRIC = {"Excused Absence": "excused_absence_days", "Unexcused Absence": "unexcused_absence_days", "Tardy": "tardy_count"}
ABSENCE_CATEGORIES = ("Excused Absence", "Unexcused Absence")
CHRONIC_SHARE = 0.10

_PER_STUDENT = text(
    """
    with events as (
        select school_org_id, student_key,
               sum((data->>'duration')::numeric) filter (where data->>'category' = 'Excused Absence') as excused,
               sum((data->>'duration')::numeric) filter (where data->>'category' = 'Unexcused Absence') as unexcused,
               sum((data->>'duration')::numeric) filter (where data->>'category' = 'Tardy') as tardy
        from sis_records
        where district_id = :district and resource = 'studentSchoolAttendanceEvents' and school_year = :year and data->>'deleted' is null
        group by 1, 2
    ), enrolled as (
        select school_org_id, student_key, sum((data->>'enrolledDays')::numeric) as days
        from sis_records
        where district_id = :district and resource = 'studentSchoolAssociations' and school_year = :year and data->>'deleted' is null
        group by 1, 2
    )
    select coalesce(e.school_org_id, n.school_org_id) as school, e.excused, e.unexcused, e.tardy, n.days
    from events e full join enrolled n on n.school_org_id = e.school_org_id and n.student_key = e.student_key
    """
)
_PROFICIENCY = text(
    """
    select school_org_id as school, data->>'subject' as subject, student_key, bool_or((data->>'proficient')::boolean) as proficient
    from sis_records
    where district_id = :district and resource = 'studentAssessments' and school_year = :year and data->>'deleted' is null
    group by 1, 2, 3
    """
)


@dataclass
class Cell:
    org_id: uuid.UUID
    metric: str
    value: float
    n: int
    numerator: float | None = None
    suppressed: bool = False


@dataclass
class _Tally:
    excused: float = 0.0
    unexcused: float = 0.0
    tardy: float = 0.0
    with_events: int = 0
    enrolled: int = 0
    enrolled_days: float = 0.0
    enrolled_absent_days: float = 0.0
    chronic: int = 0

    def add(self, excused, unexcused, tardy, days) -> None:
        excused, unexcused, tardy = float(excused or 0), float(unexcused or 0), float(tardy or 0)
        self.excused += excused
        self.unexcused += unexcused
        self.tardy += tardy
        self.with_events += 1 if (excused or unexcused or tardy) else 0
        if days:
            days = float(days)
            self.enrolled += 1
            self.enrolled_days += days
            self.enrolled_absent_days += excused + unexcused
            self.chronic += 1 if (excused + unexcused) >= CHRONIC_SHARE * days else 0

    def merge(self, other: _Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def cells(self, org_id: uuid.UUID) -> list[Cell]:
        n = self.enrolled or self.with_events
        out = [
            Cell(org_id, "excused_absence_days", self.excused, n),
            Cell(org_id, "unexcused_absence_days", self.unexcused, n),
            Cell(org_id, "tardy_count", self.tardy, n),
        ]
        if self.enrolled:
            out.append(Cell(org_id, "enrollment", self.enrolled, self.enrolled))
        if self.enrolled and self.enrolled_days:
            rate = 100 * (1 - self.enrolled_absent_days / self.enrolled_days)
            out.append(Cell(org_id, "attendance_rate", round(max(rate, 0.0), 4), self.enrolled))
            out.append(Cell(org_id, "chronic_absenteeism_rate", round(100 * self.chronic / self.enrolled, 4), self.enrolled, self.chronic))
        return out


async def derive_district_year(session: AsyncSession, settings: Settings, district: Organization, schools: dict[str, uuid.UUID], year: int) -> int:
    """Recompute and store every derived observation of the district for the school year; returns how many changed."""
    params = {"district": district.id, "year": year}
    by_school: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    for row in await session.execute(_PER_STUDENT, params):
        by_school[row.school].add(row.excused, row.unexcused, row.tardy, row.days)
    cells: list[Cell] = []
    district_tally = _Tally()
    for school, tally in by_school.items():
        cells += tally.cells(school)
        district_tally.merge(tally)
    if by_school:
        cells += district_tally.cells(district.id)
    cells += await _proficiency(session, params, district.id)
    _suppress(cells, district.id, settings.suppression_threshold)
    return await _store(session, cells, year)


async def _proficiency(session: AsyncSession, params: dict, district_id: uuid.UUID) -> list[Cell]:
    tested: dict[tuple[uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in await session.execute(_PROFICIENCY, params):
        for org in (row.school, district_id):
            counts = tested[(org, row.subject)]
            counts[0] += 1
            counts[1] += 1 if row.proficient else 0
    return [
        Cell(org, f"proficiency_rate_{subject}", round(100 * proficient / n, 4), n, proficient)
        for (org, subject), (n, proficient) in tested.items()
    ]


def _suppress(cells: list[Cell], district_id: uuid.UUID, threshold: int) -> None:
    for cell in cells:
        cell.suppressed = cell.n < threshold
    by_metric: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_metric[cell.metric].append(cell)
    for metric_cells in by_metric.values():
        schools = [c for c in metric_cells if c.org_id != district_id]
        totals = [c for c in metric_cells if c.org_id == district_id]
        hidden = [c for c in schools if c.suppressed]
        if len(hidden) == 1 and totals and not totals[0].suppressed:
            shown = sorted((c for c in schools if not c.suppressed), key=lambda c: c.n)
            if shown:
                shown[0].suppressed = True  # else the hidden one is the total minus the others
            else:
                totals[0].suppressed = True  # a single school: the district total is that school


async def _store(session: AsyncSession, cells: list[Cell], year: int) -> int:
    if not cells:
        return 0
    raw = await driver_connection(session)
    await raw.execute(
        """
        create temp table if not exists stage (
            line int, org_key text, metric_code text, subgroup_code text, school_year smallint, status text,
            value numeric(14,4), lower numeric(14,4), upper numeric(14,4), lower_inclusive bool, upper_inclusive bool,
            published_as text, numerator numeric(14,4), denominator numeric(14,4)
        ) on commit drop;
        create temp table if not exists org_map (org_key text primary key, org_id uuid not null) on commit drop;
        truncate stage; truncate org_map;
        """
    )
    records = [
        (
            0,
            str(c.org_id),
            c.metric,
            "all",
            year,
            "suppressed" if c.suppressed else "exact",
            None if c.suppressed else c.value,
            None if c.suppressed else c.numerator,
            None if c.suppressed else c.n,
        )
        for c in cells
    ]
    await raw.copy_records_to_table(
        "stage", records=records, columns=["line", "org_key", "metric_code", "subgroup_code", "school_year", "status", "value", "numerator", "denominator"]
    )
    org_ids = {c.org_id for c in cells}
    await raw.copy_records_to_table("org_map", records=[(str(o), o) for o in org_ids], columns=["org_key", "org_id"])
    outcome = await upsert_staged(raw, batch_id=None, visibility="district")
    return outcome.changed
