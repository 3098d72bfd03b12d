"""Ed-Fi API JSON records: each resource's natural key, its school and year, and the few fields kept.

Student identifiers are replaced by a keyed hash on arrival; names and other personal fields are
never kept (only what the derived metrics need is copied out of a record).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


class RecordError(ValueError):
    """A record this resource cannot take (a missing key field, a bad date)."""


@dataclass(frozen=True)
class ParsedRecord:
    natural_key: str
    school_ref: str
    school_year: int | None
    student_key: str | None
    data: dict[str, Any]


def pseudonym(key: str, district_id: Any, student_unique_id: str) -> str:
    """Stable per deployment and district, useless without the key: HMAC-SHA256 of the SIS student id."""
    message = f"{district_id}:{student_unique_id}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def _get(record: dict, *path: str) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, dict) or part not in value:
            raise RecordError(f"missing {'.'.join(path)}")
        value = value[part]
    if value is None or value == "":
        raise RecordError(f"missing {'.'.join(path)}")
    return value


def _optional(record: dict, *path: str) -> Any:
    try:
        return _get(record, *path)
    except RecordError:
        return None


def _date(text: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise RecordError(f"{field} {text!r} is not a date") from None


def school_year_of(day: date) -> int:
    """The spring year of the school year a date falls in (school years turn on July 1)."""
    return day.year + 1 if day.month >= 7 else day.year


def descriptor_value(descriptor: str) -> str:
    """``uri://ed-fi.org/AttendanceEventCategoryDescriptor#Excused Absence`` -> ``Excused Absence``."""
    return str(descriptor).rsplit("#", 1)[-1].strip()


def weekdays_between(start: date, end: date) -> int:
    """Monday to Friday days from start to end, both included (0 when end is before start)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for i in range(rest):
        if (start + timedelta(days=weeks * 7 + i)).weekday() < 5:
            count += 1
    return count


VERSION_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, UTC: versions compare as strings


def version_of(when: datetime) -> str:
    return when.astimezone(UTC).strftime(VERSION_FORMAT)


def record_version(record: dict, fallback: str) -> str:
    """Which state of a record is newer: Ed-Fi's ``_lastModifiedDate`` when the SIS sends it, else when
    the delivery arrived. Deliveries may arrive out of order; the newest version of a record wins."""
    stamp = record.get("_lastModifiedDate")
    if not stamp:
        return fallback
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(f"_lastModifiedDate {stamp!r} is not a timestamp") from None
    return version_of(when if when.tzinfo else when.replace(tzinfo=UTC))


def _student(record: dict, key: str, district_id: Any) -> str:
    return pseudonym(key, district_id, str(_get(record, "studentReference", "studentUniqueId")))


def attendance_event(record: dict, key: str, district_id: Any) -> ParsedRecord:
    school = str(_get(record, "schoolReference", "schoolId"))
    day = _date(_get(record, "eventDate"), "eventDate")
    category = descriptor_value(_get(record, "attendanceEventCategoryDescriptor"))
    session = record.get("sessionReference") or {}
    year = int(session.get("schoolYear") or school_year_of(day))
    session_name = str(session.get("sessionName") or "")
    student = _student(record, key, district_id)
    duration = record.get("eventDuration")
    try:
        duration = 1.0 if duration is None else float(duration)
    except (TypeError, ValueError):
        raise RecordError(f"eventDuration {duration!r} is not a number") from None
    natural = "|".join((student, school, str(year), session_name, day.isoformat(), category))
    return ParsedRecord(natural, school, year, student, {"category": category, "date": day.isoformat(), "duration": duration})


def student_school_association(record: dict, key: str, district_id: Any) -> ParsedRecord:
    school = str(_get(record, "schoolReference", "schoolId"))
    entry = _date(_get(record, "entryDate"), "entryDate")
    exit_text = _optional(record, "exitWithdrawDate")
    year_ref = _optional(record, "schoolYearTypeReference", "schoolYear")
    year = int(year_ref) if year_ref else school_year_of(entry)
    student = _student(record, key, district_id)
    start = max(entry, date(year - 1, 8, 1))
    end = date(year, 5, 31)
    if exit_text:
        end = min(end, _date(exit_text, "exitWithdrawDate"))
    data = {"entryDate": entry.isoformat(), "exitWithdrawDate": exit_text, "enrolledDays": weekdays_between(start, end)}
    natural = "|".join((student, school, entry.isoformat()))
    return ParsedRecord(natural, school, year, student, data)


_SUBJECTS = {
    "ela": re.compile(r"english|language arts|reading|\bela\b|writing", re.IGNORECASE),
    "math": re.compile(r"math|algebra|geometry", re.IGNORECASE),
    "science": re.compile(r"science|biology|chemistry|physics", re.IGNORECASE),
}
_PROFICIENT = re.compile(r"proficient|advanced|meets|masters|exceeds|above", re.IGNORECASE)
_NOT_PROFICIENT = re.compile(r"not proficient|below|partially|approaches|does not", re.IGNORECASE)


def _subject(record: dict) -> str | None:
    texts = [str(record.get("academicSubjectDescriptor") or "")]
    texts += [str(s.get("academicSubjectDescriptor") or "") for s in record.get("academicSubjects") or [] if isinstance(s, dict)]
    texts.append(str((record.get("assessmentReference") or {}).get("assessmentIdentifier") or ""))
    for text in texts:
        for subject, pattern in _SUBJECTS.items():
            if pattern.search(descriptor_value(text)):
                return subject
    return None


def _proficient(record: dict) -> bool:
    levels = [descriptor_value(p.get("performanceLevelDescriptor", "")) for p in record.get("performanceLevels") or [] if isinstance(p, dict)]
    return any(_PROFICIENT.search(level) and not _NOT_PROFICIENT.search(level) for level in levels)


def student_assessment(record: dict, key: str, district_id: Any) -> ParsedRecord:
    assessment = str(_get(record, "assessmentReference", "assessmentIdentifier"))
    namespace = str(_optional(record, "assessmentReference", "namespace") or "")
    identifier = str(_get(record, "studentAssessmentIdentifier"))
    school = _optional(record, "schoolReference", "schoolId") or _optional(record, "reportedSchoolReference", "schoolId")
    if school is None:
        raise RecordError("missing schoolReference.schoolId (or reportedSchoolReference.schoolId)")
    year_ref = _optional(record, "schoolYearTypeReference", "schoolYear")
    if year_ref:
        year = int(year_ref)
    else:
        year = school_year_of(_date(_get(record, "administrationDate"), "administrationDate"))
    subject = _subject(record)
    if subject is None:
        raise RecordError("no academic subject (ELA, mathematics or science) can be told from the record")
    student = _student(record, key, district_id)
    natural = "|".join((assessment, namespace, identifier, student))
    return ParsedRecord(natural, str(school), year, student, {"subject": subject, "proficient": _proficient(record)})


RESOURCES = {
    "studentSchoolAttendanceEvents": attendance_event,
    "studentSchoolAssociations": student_school_association,
    "studentAssessments": student_assessment,
}
