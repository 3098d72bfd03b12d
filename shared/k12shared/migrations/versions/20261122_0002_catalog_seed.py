"""catalog seed: canonical subgroup and metric codes

Revision ID: 20261122_0002
Revises: 20261122_0001
Create Date: 2026-11-22 15:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261122_0002"
down_revision = "20261122_0001"
branch_labels = None
depends_on = None

SUBGROUPS = [
    ("all", "All students", "all", 0),
    ("american_indian", "American Indian or Alaska Native", "race_ethnicity", 10),
    ("asian", "Asian", "race_ethnicity", 11),
    ("asian_pacific_islander", "Asian or Pacific Islander", "race_ethnicity", 12),
    ("black", "Black or African American", "race_ethnicity", 13),
    ("hispanic", "Hispanic or Latino", "race_ethnicity", 14),
    ("multiracial", "Two or more races", "race_ethnicity", 15),
    ("pacific_islander", "Native Hawaiian or Pacific Islander", "race_ethnicity", 16),
    ("white", "White", "race_ethnicity", 17),
    ("econ_disadv", "Economically disadvantaged", "program", 20),
    ("swd", "Students with disabilities", "program", 21),
    ("ell", "English learners", "program", 22),
]

STATE = "State education agency publication"
SIS = "District student information system"
# code, name, unit, direction, category, source, privacy, min, max
METRICS = [
    *[
        (f"graduation_rate_{y}yr", f"{y}-year adjusted cohort graduation rate", "percent", "higher_is_better", "graduation", STATE, "public", 0, 100)
        for y in (4, 5, 6, 7)
    ],
    ("proportional_attendance", "Students attending 90% or more of the time", "percent", "higher_is_better", "attendance", STATE, "public", 0, 100),
    ("attendance_rate", "Average daily attendance rate", "percent", "higher_is_better", "attendance", SIS, "private", 0, 100),
    ("chronic_absenteeism_rate", "Students missing 10% or more of enrolled days", "percent", "lower_is_better", "attendance", SIS, "private", 0, 100),
    ("excused_absence_days", "Excused absence days", "days", "lower_is_better", "attendance", SIS, "private", 0, None),
    ("unexcused_absence_days", "Unexcused absence days", "days", "lower_is_better", "attendance", SIS, "private", 0, None),
    ("tardy_count", "Tardies", "count", "lower_is_better", "attendance", SIS, "private", 0, None),
    ("enrollment", "Enrollment", "count", "higher_is_better", "operations", STATE, "public", 0, None),
    ("students_per_teacher", "Students per classroom teacher", "ratio", "lower_is_better", "operations", STATE, "public", 0, None),
    ("discipline_incident_rate", "Discipline incidents per 100 students", "rate_per_100", "lower_is_better", "climate", STATE, "public", 0, None),
    ("proficiency_rate_ela", "Proficient or advanced, English language arts", "percent", "higher_is_better", "academic", STATE, "public", 0, 100),
    ("proficiency_rate_math", "Proficient or advanced, mathematics", "percent", "higher_is_better", "academic", STATE, "public", 0, 100),
    ("proficiency_rate_science", "Proficient or advanced, science", "percent", "higher_is_better", "academic", STATE, "public", 0, 100),
    ("map_performance_index_ela", "MAP performance index, English language arts", "index", "higher_is_better", "academic", STATE, "public", 0, 500),
    ("map_performance_index_math", "MAP performance index, mathematics", "index", "higher_is_better", "academic", STATE, "public", 0, 500),
    ("act_composite", "ACT composite score", "score", "higher_is_better", "readiness", STATE, "public", 1, 36),
    ("college_career_ready_rate", "Graduates college or career ready", "percent", "higher_is_better", "readiness", STATE, "public", 0, 100),
    ("graduate_follow_up_rate", "Graduates in college, training, work or service six months on", "percent", "higher_is_better", "readiness", STATE, "public", 0, 100),
    ("per_pupil_expenditure", "Current expenditure per pupil", "dollars", "lower_is_better", "finance", "District finance system", "public", 0, None),
    ("fund_balance_ratio", "Unrestricted fund balance as share of expenditure", "percent", "higher_is_better", "finance", "District finance system", "public", 0, None),
    ("bus_on_time_rate", "Bus routes arriving on time", "percent", "higher_is_better", "operations", "District operations system", "private", 0, 100),
]


def upgrade() -> None:
    subgroups = sa.table("subgroups", sa.column("code"), sa.column("name"), sa.column("kind"), sa.column("sort_order"))
    op.bulk_insert(subgroups, [dict(zip(("code", "name", "kind", "sort_order"), row)) for row in SUBGROUPS])
    metrics = sa.table(
        "metrics",
        sa.column("code"),
        sa.column("name"),
        sa.column("unit"),
        sa.column("direction"),
        sa.column("category"),
        sa.column("source"),
        sa.column("privacy"),
        sa.column("min_value"),
        sa.column("max_value"),
        sa.column("aliases", postgresql.ARRAY(sa.String)),
    )
    keys = ("code", "name", "unit", "direction", "category", "source", "privacy", "min_value", "max_value")
    op.bulk_insert(metrics, [{**dict(zip(keys, row)), "aliases": []} for row in METRICS])


def downgrade() -> None:
    op.execute(sa.text("delete from metrics where code = any(:codes)").bindparams(codes=[m[0] for m in METRICS]))
    op.execute(sa.text("delete from subgroups where code = any(:codes)").bindparams(codes=[s[0] for s in SUBGROUPS]))
