"""Pure scoring: framework document + observations in, explained score out. No database, no I/O."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import NamedTuple

from k12_metrics.frameworks.schemas import Component, FrameworkDocument
from k12_metrics.periods import show

BELOW_FLOOR = "Below Floor"


class Obs(NamedTuple):  # a tuple: tens of thousands are built per state-wide rescore
    metric: str
    subgroup: str
    school_year: int
    status: str
    value: float | None
    lower: float | None = None
    n: float | None = None


def usable_value(obs: Obs) -> tuple[float | None, str]:
    """The value a rule may rely on: exact, or the known lower bound of a protected value (conservative)."""
    if obs.status == "exact" and obs.value is not None:
        return obs.value, "exact value"
    if obs.status in ("lower_bound", "range") and obs.lower is not None:
        return obs.lower, f"lower bound of a protected value ({obs.status})"
    return None, f"not usable ({obs.status})"


def _index(observations: list[Obs]) -> dict[tuple[str, str, int], Obs]:
    return {(o.metric, o.subgroup, o.school_year): o for o in observations}


def component_value(component: Component, by_key: dict, year: int) -> tuple[float | None, float | None, list[dict]]:
    read, values, n_total = [], [], 0.0
    for item in component.inputs:
        obs = by_key.get((item.metric, item.subgroup, year))
        if obs is None:
            read.append({"metric": item.metric, "subgroup": item.subgroup, "period": show(year), "status": "missing", "value": None, "n": None})
            continue
        value, how = usable_value(obs)
        read.append({"metric": obs.metric, "subgroup": obs.subgroup, "period": show(year), "status": obs.status,
                     "value": obs.value, "used_value": value, "used_as": how, "n": obs.n})
        if value is not None:
            values.append(value)
            n_total += obs.n or 0
    if not values:
        return None, None, read
    return statistics.fmean(values), (n_total or None), read


def _meets(component: Component, value: float, threshold: float) -> bool:
    return value >= threshold if component.direction == "higher_is_better" else value <= threshold


def rate_level(doc: FrameworkDocument, component: Component, value: float) -> tuple[int | None, list[dict]]:
    """Index of the best level whose threshold is met (None: below floor), and each threshold met or missed."""
    checks, found = [], None
    for i, level in enumerate(component.levels):
        threshold = doc.param(level.threshold)
        met = _meets(component, value, threshold)
        checks.append({"level": level.name, "parameter": level.threshold, "threshold": threshold, "met": met})
        if met and found is None:
            found = i
    return found, checks


def level_points(doc: FrameworkDocument, component: Component, index: int | None) -> float:
    if index is None:
        return 0.0
    return round(component.points_possible * doc.param(component.levels[index].share), 2)


@dataclass(frozen=True, slots=True)
class Rule:
    """A component with its parameters resolved: what scoring thousands of orgs reads in its loop."""

    key: str
    name: str
    points: float
    inputs: tuple[tuple[str, str], ...]
    rule: str
    higher: bool
    levels: tuple[tuple[str, str, float, float], ...]  # name, threshold parameter, threshold, share


_COMPILED: dict[int, tuple[FrameworkDocument, tuple[Rule, ...]]] = {}


def compiled(doc: FrameworkDocument) -> tuple[Rule, ...]:
    cached = _COMPILED.get(id(doc))
    if cached is not None and cached[0] is doc:
        return cached[1]
    rules = tuple(
        Rule(c.key, c.name, c.points_possible, tuple((i.metric, i.subgroup) for i in c.inputs), c.rule, c.direction == "higher_is_better",
             tuple((lv.name, lv.threshold, doc.param(lv.threshold), doc.param(lv.share)) for lv in c.levels))
        for c in doc.components
    )
    if len(_COMPILED) > 64:
        _COMPILED.clear()
    _COMPILED[id(doc)] = (doc, rules)
    return rules


def score_component(doc: FrameworkDocument, component: Component, by_key: dict, year: int) -> dict:
    rule = next(r for r in compiled(doc) if r.key == component.key)
    return _score_rule(rule, by_key, year, show(year), True)


def _score_rule(rule: Rule, by_key: dict, year: int, period: str, explain: bool) -> dict:
    """One component's value, level and points; with ``explain``, the observations read, each threshold met
    or missed and a sentence (stored history keeps only the figures: the framework version and the
    observations regenerate the rest)."""
    read, values, n_total = [], [], 0.0
    for metric, subgroup in rule.inputs:
        obs = by_key.get((metric, subgroup, year))
        if obs is None:
            if explain:
                read.append({"metric": metric, "subgroup": subgroup, "period": period, "status": "missing", "value": None, "n": None})
            continue
        used, how = usable_value(obs)
        if explain:
            read.append({"metric": metric, "subgroup": subgroup, "period": period, "status": obs.status,
                         "value": obs.value, "used_value": used, "used_as": how, "n": obs.n})
        if used is not None:
            values.append(used)
            n_total += obs.n or 0
    out = {"key": rule.key, "name": rule.name, "points_possible": rule.points}
    if not values:
        out.update(value=None, n=None, has_data=False, points_earned=None, level=None)
        if explain:
            out["explanation"] = {"observations": read, "rule": rule.rule, "thresholds": [],
                                  "text": f"No usable data for {period}: left out of points possible."}
        return out
    value = values[0] if len(values) == 1 else math.fsum(values) / len(values)
    checks, index = [], None
    for i, (name, parameter, threshold, _) in enumerate(rule.levels):
        met = value >= threshold if rule.higher else value <= threshold
        if explain:
            checks.append({"level": name, "parameter": parameter, "threshold": threshold, "met": met})
        if met and index is None:
            index = i
            if not explain:
                break
    if index is None:
        level, share, points = BELOW_FLOOR, 0.0, 0.0
    else:
        level, share = rule.levels[index][0], rule.levels[index][3]
        points = round(rule.points * share, 2)
    out.update(value=value, n=n_total or None, has_data=True, points_earned=points, level=level)
    if explain:
        text = (f"Value {value:g} rated {level} (status rule: best level whose threshold is met); "
                f"{level} earns {share:g} of {rule.points:g} points = {points:g}.")
        out["explanation"] = {"observations": read, "rule": rule.rule, "thresholds": checks, "text": text}
    return out


def classify(doc: FrameworkDocument, percent: float | None) -> str | None:
    if percent is None:
        return None
    return next((c.name for c in doc.classification if percent >= c.min_percent), doc.classification[-1].name)


def score(doc: FrameworkDocument, observations: list[Obs], year: int, explain: bool = True) -> dict:
    by_key = _index(observations)
    period = show(year)
    components = [_score_rule(rule, by_key, year, period, explain) for rule in compiled(doc)]
    scored = [c for c in components if c["has_data"]]
    earned = round(sum(c["points_earned"] for c in scored), 2)
    possible = round(sum(c["points_possible"] for c in scored), 2)
    percent = round(100 * earned / possible, 1) if possible else None
    missing = [c["key"] for c in components if not c["has_data"]]
    notes = []
    if missing:
        full = sum(c.points_possible for c in doc.components)
        notes.append(f"Components without data ({', '.join(missing)}) are left out: {possible:g} of {full:g} points possible.")
    return {
        "framework": {"code": doc.code, "version": doc.version, "name": doc.name},
        "period": show(year),
        "points_earned": earned,
        "points_possible": possible,
        "percent_of_possible": percent,
        "classification": classify(doc, percent),
        "components": components,
        "components_without_data": missing,
        "notes": notes,
    }


def years_with_data(doc: FrameworkDocument, observations: list[Obs]) -> list[int]:
    wanted = {(i.metric, i.subgroup) for c in doc.components for i in c.inputs}
    return sorted({o.school_year for o in observations if (o.metric, o.subgroup) in wanted and usable_value(o)[0] is not None})


def apply_changes(observations: list[Obs], year: int, changes: list[tuple[str, str, float]]) -> list[Obs]:
    """What-if: the given (metric, subgroup) take the given value in ``year``, keeping their n."""
    by_key = _index(observations)
    for metric, subgroup, value in changes:
        old = by_key.get((metric, subgroup, year))
        by_key[(metric, subgroup, year)] = Obs(metric, subgroup, year, "exact", value, None, old.n if old else None)
    return list(by_key.values())


def _students(points_of_percent: float, n: float | None) -> int | None:
    return None if not n else math.ceil(round(points_of_percent * n / 100, 6))


def _projection(component: Component, doc: FrameworkDocument, observations: list[Obs], year: int) -> dict | None:
    by_key = _index(observations)
    series = [(y, component_value(component, by_key, y)[0]) for y in range(year - 4, year + 1)]
    series = [(y, v) for y, v in series if v is not None]
    if len(series) < 2:
        return None
    slope, intercept = statistics.linear_regression([y for y, _ in series], [v for _, v in series])
    projected = round(slope * (year + 1) + intercept, 2)
    index, _ = rate_level(doc, component, projected)
    return {"period": show(year + 1), "value": projected, "slope_per_year": round(slope, 3), "level": component.levels[index].name if index is not None else BELOW_FLOOR,
            "points": level_points(doc, component, index), "method": f"least-squares line through {len(series)} years"}


def risk(doc: FrameworkDocument, observations: list[Obs], year: int) -> dict:
    """Per component: distance to the next level up and down, in points, percentage points and students."""
    by_key = _index(observations)
    out = []
    for component in doc.components:
        value, n, _ = component_value(component, by_key, year)
        item: dict = {"key": component.key, "name": component.name, "value": value, "n": n, "has_data": value is not None}
        if value is None:
            out.append(item)
            continue
        index, _ = rate_level(doc, component, value)
        current = level_points(doc, component, index)
        item.update(level=component.levels[index].name if index is not None else BELOW_FLOOR, points_earned=current)
        up_index = (len(component.levels) - 1) if index is None else index - 1
        if up_index >= 0:
            need = abs(doc.param(component.levels[up_index].threshold) - value)
            students = _students(need, n)
            item["up"] = {"level": component.levels[up_index].name, "points_gained": round(level_points(doc, component, up_index) - current, 2),
                          "percentage_points": round(need, 2), "students": students,
                          "text": f"{students} more students would reach {component.levels[up_index].name}" if students is not None else None}
        if index is not None:
            down_index = index + 1 if index + 1 < len(component.levels) else None
            margin = abs(value - doc.param(component.levels[index].threshold))
            # Students who can be lost while keeping the level: losing one more drops it.
            keep = None if not n else max(0, math.floor(round(margin * n / 100, 6)))
            name = component.levels[down_index].name if down_index is not None else BELOW_FLOOR
            item["down"] = {"level": name, "points_lost": round(current - level_points(doc, component, down_index), 2),
                            "percentage_points": round(margin, 2), "students_margin": keep,
                            "text": f"{keep + 1} fewer students would drop to {name}" if keep is not None else None}
        item["projection"] = _projection(component, doc, observations, year)
        out.append(item)
    return {"framework": {"code": doc.code, "version": doc.version}, "period": show(year), "components": out}
