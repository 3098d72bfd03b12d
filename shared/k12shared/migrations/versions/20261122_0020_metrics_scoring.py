"""metrics and scoring: frameworks (versioned documents), scores with history, targets; ships Missouri MSIP 5

Revision ID: 20261122_0020
Revises: 20261122_0010
Create Date: 2026-11-22 17:30:00
"""

from __future__ import annotations


import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261122_0020"
down_revision = "20261122_0010"
branch_labels = None
depends_on = None


def _param(value: float, description: str) -> dict:
    return {"value": value, "description": description}


_UNPUBLISHED = "Platform default: the exact DESE cut was not found in the published sources; edit by posting a new framework version."


def _status_component(key: str, name: str, points: float, metric: str, subgroup: str = "all", *, extra_inputs: list | None = None) -> dict:
    inputs = [{"metric": metric, "subgroup": subgroup}, *(extra_inputs or [])]
    return {
        "key": key,
        "name": name,
        "points_possible": points,
        "inputs": inputs,
        "rule": "status",
        "levels": [
            {"name": level, "threshold": f"{key}.{level.lower().replace(' ', '_')}", "share": f"share.{level.lower().replace(' ', '_')}"}
            for level in ("Exceeding", "On Target", "Approaching", "Floor")
        ],
    }


def _thresholds(key: str, exceeding: float, on_target: float, approaching: float, floor: float, what: str) -> dict:
    return {
        f"{key}.exceeding": _param(exceeding, f"{what}: lowest value rated Exceeding. {_UNPUBLISHED}"),
        f"{key}.on_target": _param(on_target, f"{what}: lowest value rated On Target. {_UNPUBLISHED}"),
        f"{key}.approaching": _param(approaching, f"{what}: lowest value rated Approaching. {_UNPUBLISHED}"),
        f"{key}.floor": _param(floor, f"{what}: lowest value that earns any points (Floor). {_UNPUBLISHED}"),
    }


MSIP5 = {
    "code": "mo-msip5",
    "version": 1,
    "name": "Missouri School Improvement Program 5 (district APR)",
    "state_code": "MO",
    "description": (
        "MSIP 5 Annual Performance Report for a K-12 district: 140 points possible. Each component is rated on status "
        "(Exceeding / On Target / Approaching / Floor) and earns that level's share of its points. Components without data "
        "are reported and left out of points possible. Classification by percent of points possible."
    ),
    "components": [
        _status_component("academic_achievement", "Academic Achievement", 56, "map_performance_index_ela",
                          extra_inputs=[{"metric": "map_performance_index_math", "subgroup": "all"}]),
        _status_component("subgroup_achievement", "Subgroup Achievement", 14, "map_performance_index_ela", "econ_disadv",
                          extra_inputs=[{"metric": "map_performance_index_math", "subgroup": "econ_disadv"}]),
        _status_component("college_career_readiness", "College and Career Readiness", 30, "college_career_ready_rate"),
        _status_component("attendance", "Attendance", 10, "proportional_attendance"),
        _status_component("graduation", "Graduation", 30, "graduation_rate_4yr"),
    ],
    "parameters": {
        "share.exceeding": _param(1.0, "Share of a component's points earned at Exceeding."),
        "share.on_target": _param(0.75, f"Share of a component's points earned at On Target. {_UNPUBLISHED}"),
        "share.approaching": _param(0.5, f"Share of a component's points earned at Approaching. {_UNPUBLISHED}"),
        "share.floor": _param(0.25, f"Share of a component's points earned at Floor. {_UNPUBLISHED}"),
        "map_weight.below_basic": _param(1, "MAP Performance Index weight of Below Basic (published)."),
        "map_weight.basic": _param(3, "MAP Performance Index weight of Basic (published)."),
        "map_weight.proficient": _param(4, "MAP Performance Index weight of Proficient (published)."),
        "map_weight.advanced": _param(5, "MAP Performance Index weight of Advanced (published)."),
        **_thresholds("academic_achievement", 360, 330, 300, 270, "MAP Performance Index (mean of ELA and math), all students"),
        **_thresholds("subgroup_achievement", 340, 310, 280, 250, "MAP Performance Index, economically disadvantaged students"),
        **_thresholds("college_career_readiness", 80, 70, 60, 50, "Graduates college or career ready, percent"),
        **_thresholds("attendance", 90, 87.5, 85, 80, "Proportional attendance (students attending 90% of the time), percent"),
        **_thresholds("graduation", 92, 85, 75, 65, "Four-year adjusted cohort graduation rate, percent"),
    },
    "classification": [
        {"name": "Accredited with Distinction", "min_percent": 90},
        {"name": "Accredited", "min_percent": 70},
        {"name": "Provisionally Accredited", "min_percent": 50},
        {"name": "Unaccredited", "min_percent": 0},
    ],
}


def upgrade() -> None:
    op.create_table(
        "frameworks",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("state_code", sa.String(length=2), nullable=True),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frameworks")),
        sa.UniqueConstraint("code", "version", name="uq_frameworks_code_version"),
    )
    op.create_table(
        "scores",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("district_id", sa.UUID(), nullable=True),
        sa.Column("framework_code", sa.String(length=64), nullable=False),
        sa.Column("framework_version", sa.SmallInteger(), nullable=False),
        sa.Column("school_year", sa.SmallInteger(), nullable=False),
        sa.Column("points_earned", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("points_possible", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("classification", sa.String(length=64), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_scores_org_id_organizations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
    )
    op.create_index("ix_scores_org_framework_year", "scores", ["org_id", "framework_code", "school_year", "computed_at"])
    op.create_table(
        "targets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("district_id", sa.UUID(), nullable=True),
        sa.Column("metric_code", sa.String(length=64), nullable=False),
        sa.Column("subgroup_code", sa.String(length=40), nullable=False),
        sa.Column("baseline_year", sa.SmallInteger(), nullable=False),
        sa.Column("baseline_value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("target_year", sa.SmallInteger(), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("trajectory", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tolerance", sa.Numeric(precision=14, scale=4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], name=op.f("fk_targets_org_id_organizations")),
        sa.ForeignKeyConstraint(["metric_code"], ["metrics.code"], name=op.f("fk_targets_metric_code_metrics")),
        sa.ForeignKeyConstraint(["subgroup_code"], ["subgroups.code"], name=op.f("fk_targets_subgroup_code_subgroups")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
    )
    op.create_index("ix_targets_org_id", "targets", ["org_id"])
    frameworks = sa.table(
        "frameworks", sa.column("code"), sa.column("version"), sa.column("name"), sa.column("state_code"),
        sa.column("document", postgresql.JSONB),
    )
    op.bulk_insert(frameworks, [{"code": MSIP5["code"], "version": MSIP5["version"], "name": MSIP5["name"], "state_code": "MO", "document": MSIP5}])


def downgrade() -> None:
    op.drop_index("ix_targets_org_id", table_name="targets")
    op.drop_table("targets")
    op.drop_index("ix_scores_org_framework_year", table_name="scores")
    op.drop_table("scores")
    op.drop_table("frameworks")
