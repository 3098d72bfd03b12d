"""Small-n suppression for aggregates computed from student-level records.

Primary suppression hides a cell whose n is below the threshold (or unknown). Complementary
suppression then hides more cells, so that a hidden cell cannot be derived from a total minus
the other cells of a partition: within every partition that has a hidden cell, at least two
cells are hidden and together they hold at least ``threshold`` students.

A *partition* is a set of mutually exclusive groups that add up to a total (the race/ethnicity
groups add up to all students; the schools of a district add up to the district). Cells are
named by any hashable key; the caller says which keys form a partition.

Ingest and metrics-api use this module, so one rule decides what is shown.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

# Subgroups that add up to "all" (the catalog's race/ethnicity codes; a source reports either
# asian + pacific_islander or the combined asian_pacific_islander).
RACE_ETHNICITY = ("american_indian", "asian", "black", "hispanic", "multiracial", "pacific_islander", "white")
RACE_ETHNICITY_COMBINED = ("american_indian", "asian_pacific_islander", "black", "hispanic", "multiracial", "white")
TOTAL = "all"


def subgroup_partitions(keys: Iterable[Hashable]) -> list[tuple[str, ...]]:
    """The race/ethnicity partition the reported subgroups follow (combined Asian/Pacific Islander or not)."""
    return [RACE_ETHNICITY_COMBINED if "asian_pacific_islander" in set(keys) else RACE_ETHNICITY]


def threshold_for(settings, state_code: str | None = None) -> int:
    """The state's threshold when one is configured, else the platform's."""
    by_state = getattr(settings, "suppression_thresholds_by_state", None) or {}
    return int(by_state.get((state_code or "").upper(), settings.suppression_threshold))


def is_small(n: float | None, threshold: int) -> bool:
    """Primary rule: below the threshold, or of unknown size (never shown on a guess)."""
    return n is None or n < threshold


def _complete_partition(members: Mapping[Hashable, float | None], hidden: set[Hashable], threshold: int) -> bool:
    """Hide the smallest shown cells until the hidden ones cannot be told apart from the total.

    False when that is impossible (too few cells): the caller then hides the total itself.
    """
    while True:
        hidden_here = [k for k in members if k in hidden]
        if not hidden_here:
            return True
        hidden_n = sum(members[k] or 0 for k in hidden_here)
        if len(hidden_here) >= 2 and hidden_n >= threshold:
            return True
        shown = sorted((k for k in members if k not in hidden), key=lambda k: (members[k] or 0, str(k)))
        if not shown:
            return False
        hidden.add(shown[0])


def cells_to_hide(
    cells: Mapping[Hashable, float | None],
    threshold: int,
    partitions: Iterable[Iterable[Hashable]] | None = None,
    total: Hashable = TOTAL,
) -> set[Hashable]:
    """The keys of ``cells`` (key -> n) to hide: primary, then complementary within each partition.

    Each partition adds up to the ``total`` cell. Cells outside every partition get only the
    primary rule (default partitions: the subgroups'). Runs to a fixed point, since a cell hidden for one partition may open another.
    """
    if partitions is None:
        partitions = subgroup_partitions(cells)
    hidden = {k for k, n in cells.items() if is_small(n, threshold)}
    groups = [{k: cells[k] for k in part if k in cells} for part in partitions]
    while True:
        before = len(hidden)
        for members in groups:
            if not _complete_partition(members, hidden, threshold) and total in cells:
                hidden.add(total)
        if len(hidden) == before:
            return hidden


def suppress_rows(rows: list[dict], threshold: int, *, key: str = "subgroup", n: str = "n",
                  partitions: Iterable[Iterable[Hashable]] | None = None, total: Hashable = TOTAL,
                  hide: Iterable[str] = ("value", "n")) -> list[dict]:
    """Rows of one table (one org, metric, period): hidden rows lose their value and n, marked suppressed."""
    hidden = cells_to_hide({row[key]: row.get(n) for row in rows}, threshold, partitions, total)
    out = []
    for row in rows:
        if row[key] in hidden:
            row = {**row, **{field: None for field in hide}, "status": "suppressed", "suppressed_reason": f"fewer than {threshold} students, or would reveal a group that has"}
        out.append(row)
    return out
