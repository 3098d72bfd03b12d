"""Turn the services' answers into what a screen shows (pure functions, tested without HTTP)."""

from __future__ import annotations

from typing import Any

# A component whose value is within this many percentage points of the next level down counts as at risk.
RISK_MARGIN_PP = 5.0
LARGEST_GAPS = 5
OPEN = {"open", "in_progress"}


def items(page: Any) -> list[dict[str, Any]]:
    if isinstance(page, dict):
        page = page.get("items", [])
    return list(page or [])


def score_summary(score: dict[str, Any]) -> dict[str, Any]:
    history = [h for h in score.get("history", []) if h.get("percent_of_possible") is not None]
    return {
        "framework": score.get("framework") or {},
        "period": score["period"],
        "points_earned": score["points_earned"],
        "points_possible": score["points_possible"],
        "percent_of_possible": score.get("percent_of_possible"),
        "classification": score.get("classification"),
        "components_without_data": score.get("components_without_data") or [],
        "trend": trend(score["period"], score.get("percent_of_possible"), history),
        "history": history,
    }


def trend(period: str, percent: float | None, history: list[dict[str, Any]]) -> dict[str, Any]:
    earlier = [h for h in history if h["period"] < period]
    if percent is None or not earlier:
        return {"direction": "unknown", "change_percent_points": None, "previous_period": None}
    previous = earlier[-1]
    change = round(percent - previous["percent_of_possible"], 2)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"direction": direction, "change_percent_points": change, "previous_period": previous["period"]}


def points_at_risk(risk: dict[str, Any]) -> dict[str, Any]:
    at_risk = [
        {"key": c["key"], "name": c["name"], "points_lost": c["down"]["points_lost"], "percentage_points": c["down"].get("percentage_points"),
         "students_margin": c["down"].get("students_margin"), "text": c["down"].get("text")}
        for c in risk.get("components", [])
        if c.get("down") and c["down"].get("percentage_points") is not None and c["down"]["percentage_points"] <= RISK_MARGIN_PP
    ]
    at_risk.sort(key=lambda c: c["percentage_points"])
    return {"period": risk.get("period", ""), "total_points": round(sum(c["points_lost"] for c in at_risk), 2),
            "margin_percentage_points": RISK_MARGIN_PP, "components": at_risk}


def _gap_size(gap: dict[str, Any]) -> float:
    for key in ("gap", "gap_points", "difference", "value"):
        if isinstance(gap.get(key), int | float):
            return abs(gap[key])
    return 0.0


def largest_gaps(answer: Any) -> list[dict[str, Any]]:
    gaps = items(answer.get("gaps", answer.get("items", [])) if isinstance(answer, dict) else answer)
    return sorted(gaps, key=_gap_size, reverse=True)[:LARGEST_GAPS]


def goal_card(goal: dict[str, Any], progress: dict[str, Any] | None, problem: str | None) -> dict[str, Any]:
    return {
        "id": goal["id"], "title": goal["title"], "metric": goal["metric"], "subgroup": goal["subgroup"], "owner": goal["owner"],
        "target_period": goal["target_period"], "target_value": goal["target_value"],
        "data_status": (progress or {}).get("data_status"), "latest_judgment": goal.get("latest_judgment"),
        "progress": progress, "progress_missing": problem,
    }


def due_soon(page: Any) -> list[dict[str, Any]]:
    return [a for a in items(page) if not a.get("overdue") and a.get("status") in OPEN]


def upcoming(page: Any) -> list[dict[str, Any]]:
    return [m for m in items(page) if m.get("status") != "cancelled"]


def overdue_first(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(actions, key=lambda a: (not a.get("overdue"), a.get("status") not in OPEN, a.get("due_date") or "9999-12-31"))


def overdue_first_page(page: Any) -> list[dict[str, Any]]:
    return overdue_first(items(page))
