"""Pure trajectory arithmetic: the value expected in a year, and an actual judged against it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Plan:
    baseline_year: int
    baseline_value: float
    target_year: int
    target_value: float
    kind: str = "linear"  # linear | stepped | points
    points: dict[int, float] = field(default_factory=dict)
    tolerance: float = 1.0
    higher_is_better: bool = True


def _interpolate(anchors: list[tuple[int, float]], year: int) -> float:
    for (y0, v0), (y1, v1) in zip(anchors, anchors[1:]):
        if y0 <= year <= y1:
            return v0 + (v1 - v0) * (year - y0) / (y1 - y0)
    return anchors[-1][1]


def expected(plan: Plan, year: int) -> float | None:
    """linear: a straight line baseline -> target; stepped: each point's value held until the next
    (the baseline until the first); points: the given points, straight lines between them.
    After the target year the target stands; before the baseline there is no expectation."""
    if year < plan.baseline_year:
        return None
    if year >= plan.target_year:
        return plan.target_value
    anchors = sorted({plan.baseline_year: plan.baseline_value, **plan.points, plan.target_year: plan.target_value}.items())
    if plan.kind == "stepped":
        return next(v for y, v in reversed(anchors) if y <= year)
    if plan.kind == "points":
        return _interpolate(anchors, year)
    return _interpolate([(plan.baseline_year, plan.baseline_value), (plan.target_year, plan.target_value)], year)


def judge(plan: Plan, expected_value: float, actual: float) -> dict:
    """green: at or ahead of the trajectory; amber: behind by no more than the tolerance (still on track);
    red: behind by more (off track)."""
    behind = (expected_value - actual) if plan.higher_is_better else (actual - expected_value)
    if behind <= 1e-9:
        rag = "green"
    elif behind <= plan.tolerance + 1e-9:
        rag = "amber"
    else:
        rag = "red"
    return {"status": "off_track" if rag == "red" else "on_track", "rag": rag, "behind_by": round(max(behind, 0.0), 4),
            "deviation": round(actual - expected_value, 4)}
