"""OneRoster 1.1 / 1.2 CSV bulk files as the Ed-Fi shaped records the SIS pipeline already applies.

``orgs.csv`` schools become ``schools`` records; student rows of ``enrollments.csv`` (class enrollments)
become one ``studentSchoolAssociations`` record per student, school and school year, from the earliest
begin date to the latest end date (a class's term in ``academicSessions.csv`` stands in for a missing
date). ``users.csv`` is never opened: the platform keeps no names, and the user's ``sourcedId`` is the
student identifier, pseudonymized by the pipeline like any SIS id.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from k12_ingest.rosters.archive import ArchiveLimits, ArchiveRefused, SafeArchive, open_archive
from k12_ingest.sis.edfi import school_year_of

FILES = {"manifest.csv", "orgs.csv", "enrollments.csv", "classes.csv", "academicSessions.csv"}
REQUIRED = {"orgs.csv": ("sourcedId", "name", "type"), "enrollments.csv": ("schoolSourcedId", "userSourcedId", "role")}
PROBLEM_LIMIT = 50


@dataclass
class Roster:
    version: str | None = None
    schools: list[dict] = field(default_factory=list)
    associations: list[dict] = field(default_factory=list)
    rows_skipped: int = 0
    problems: list[str] = field(default_factory=list)
    ignored_members: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.rows_skipped += 1
        if len(self.problems) < PROBLEM_LIMIT:
            self.problems.append(text)


@dataclass(frozen=True)
class Term:
    school_year: int | None
    start: date | None


def read_roster(path: Path, limits: ArchiveLimits) -> Roster:
    """The archive's schools and student school associations; refuses the archive as a whole when it cannot be trusted."""
    with open_archive(path, FILES, limits) as archive:
        for required in REQUIRED:
            if not archive.has(required):
                raise ArchiveRefused(f"The archive has no {required} (a OneRoster CSV bulk export has orgs.csv and enrollments.csv)", member=required)
        roster = Roster(ignored_members=archive.ignored)
        roster.version = _manifest_version(archive)
        school_refs = _schools(archive, roster)
        terms = _terms(archive)
        class_terms = _class_terms(archive)
        roster.associations = _associations(archive, roster, school_refs, terms, class_terms)
        return roster


def _rows(archive: SafeArchive, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) with header names matched without regard to case or surrounding spaces."""
    with archive.text(name) as text:
        reader = csv.reader(text)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in REQUIRED.get(name, ()) if c.lower() not in header]
            if missing:
                raise ArchiveRefused(f"{name} lacks required columns: {', '.join(missing)}", member=name)
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(header) if h}
        except UnicodeDecodeError:
            raise ArchiveRefused(f"{name} is not UTF-8 text", member=name) from None
        except csv.Error as exc:
            raise ArchiveRefused(f"{name} line {reader.line_num}: {exc}", member=name) from None


def _active(row: dict[str, str]) -> bool:
    return row.get("status", "").lower() != "tobedeleted"


def _manifest_version(archive: SafeArchive) -> str | None:
    if not archive.has("manifest.csv"):
        return None
    for _, row in _rows(archive, "manifest.csv"):
        if row.get("propertyname") == "oneroster.version":
            return row.get("value") or None
    return None


def _schools(archive: SafeArchive, roster: Roster) -> dict[str, str]:
    """Schools by sourcedId -> the id the platform will know them by (the org's identifier when it has one)."""
    refs: dict[str, str] = {}
    for line, row in _rows(archive, "orgs.csv"):
        if row["type"].lower() != "school" or not _active(row):
            continue
        if not row["sourcedid"] or not row["name"]:
            roster.problem(f"orgs.csv line {line}: a school needs a sourcedId and a name")
            continue
        school_id = row.get("identifier") or row["sourcedid"]
        refs[row["sourcedid"]] = school_id
        roster.schools.append({"schoolId": school_id, "nameOfInstitution": row["name"]})
    return refs


def _terms(archive: SafeArchive) -> dict[str, Term]:
    if not archive.has("academicSessions.csv"):
        return {}
    terms = {}
    for _, row in _rows(archive, "academicSessions.csv"):
        year = row.get("schoolyear", "")
        terms[row.get("sourcedid", "")] = Term(int(year) if year.isdigit() else None, _date(row.get("startdate")))
    return terms


def _class_terms(archive: SafeArchive) -> dict[str, str]:
    """A class's first term (``termSourcedIds`` may list several)."""
    if not archive.has("classes.csv"):
        return {}
    return {row.get("sourcedid", ""): row.get("termsourcedids", "").split(",")[0].strip() for _, row in _rows(archive, "classes.csv")}


def _associations(archive: SafeArchive, roster: Roster, school_refs: dict[str, str], terms: dict[str, Term], class_terms: dict[str, str]) -> list[dict]:
    spans: dict[tuple[str, str, int], list[date | None]] = {}  # (student, school, year) -> [entry, exit]
    for line, row in _rows(archive, "enrollments.csv"):
        if row["role"].lower() != "student" or not _active(row):
            continue
        term = terms.get(class_terms.get(row.get("classsourcedid", ""), ""), Term(None, None))
        own_begin = _date(row.get("begindate"))
        begin = own_begin or term.start
        if not row["usersourcedid"] or not row["schoolsourcedid"] or begin is None:
            roster.problem(f"enrollments.csv line {line}: a student enrollment needs userSourcedId, schoolSourcedId and a begin date (or a class term)")
            continue
        school = school_refs.get(row["schoolsourcedid"], row["schoolsourcedid"])  # an unknown school is held, not dropped
        year = school_year_of(own_begin) if own_begin else term.school_year or school_year_of(begin)  # the student's own dates first
        key = (row["usersourcedid"], school, year)
        end = _date(row.get("enddate"))
        span = spans.setdefault(key, [begin, end])
        span[0] = min(span[0], begin)
        span[1] = None if span[1] is None or end is None else max(span[1], end)
    return [
        {
            "studentReference": {"studentUniqueId": student},
            "schoolReference": {"schoolId": school},
            "schoolYearTypeReference": {"schoolYear": year},
            "entryDate": entry.isoformat(),
            **({"exitWithdrawDate": exit_.isoformat()} if exit_ else {}),
        }
        for (student, school, year), (entry, exit_) in spans.items()
    ]


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return None
