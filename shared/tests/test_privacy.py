"""Small-n suppression: an attacker who knows the total and every shown cell cannot recover a hidden one."""

from __future__ import annotations

import random

import pytest

from k12shared.privacy import RACE_ETHNICITY, cells_to_hide, suppress_rows, threshold_for
from k12shared.settings import Settings

THRESHOLD = 10


def derive_hidden(cells: dict[str, dict], hidden: set[str], partition=RACE_ETHNICITY) -> dict[str, tuple[float, float]]:
    """The attack: total minus the shown cells of a partition. Returns what it pins down exactly:
    key -> (n, rate) for a cell hidden alone, or for a lone hidden group below the threshold."""
    total = cells.get("all")
    if total is None or "all" in hidden:
        return {}
    members = [k for k in partition if k in cells]
    secret = [k for k in members if k in hidden]
    shown = [k for k in members if k not in hidden]
    rest_n = total["n"] - sum(cells[k]["n"] for k in shown)
    rest_passed = total["n"] * total["rate"] / 100 - sum(cells[k]["n"] * cells[k]["rate"] / 100 for k in shown)
    derived = {}
    if len(secret) == 1:
        derived[secret[0]] = (rest_n, round(100 * rest_passed / rest_n, 6) if rest_n else 0.0)
    elif secret and rest_n < THRESHOLD:
        derived["+".join(secret)] = (rest_n, None)  # a combined group still small: as good as revealed
    return derived


def table(ns: dict[str, int], rng: random.Random) -> dict[str, dict]:
    cells = {k: {"n": n, "rate": round(rng.uniform(40, 100), 1)} for k, n in ns.items()}
    total_n = sum(ns.values())
    passed = sum(c["n"] * c["rate"] / 100 for c in cells.values())
    cells["all"] = {"n": total_n, "rate": 100 * passed / total_n}
    return cells


def test_without_complementary_suppression_the_attack_recovers_a_small_group():
    cells = table({"black": 400, "white": 300, "asian": 4, "hispanic": 60}, random.Random(1))
    primary_only = {k for k, c in cells.items() if c["n"] < THRESHOLD}
    derived = derive_hidden(cells, primary_only)
    assert derived["asian"][0] == 4 and derived["asian"][1] == pytest.approx(cells["asian"]["rate"])


def test_complementary_suppression_hides_the_next_smallest_group():
    cells = table({"black": 400, "white": 300, "asian": 4, "hispanic": 60, "multiracial": 25}, random.Random(2))
    hidden = cells_to_hide({k: c["n"] for k, c in cells.items()}, THRESHOLD)
    assert hidden == {"asian", "multiracial"}
    assert derive_hidden(cells, hidden) == {}


def test_two_tiny_groups_together_below_threshold_take_a_third():
    cells = table({"black": 400, "white": 300, "asian": 3, "american_indian": 2, "hispanic": 60}, random.Random(3))
    hidden = cells_to_hide({k: c["n"] for k, c in cells.items()}, THRESHOLD)
    assert hidden == {"asian", "american_indian", "hispanic"}
    assert derive_hidden(cells, hidden) == {}


def test_a_lone_group_with_nothing_to_pair_hides_the_total():
    cells = {"all": 7 + 0, "black": 7}
    assert cells_to_hide(cells, THRESHOLD) == {"all", "black"}
    assert cells_to_hide({"all": 300, "black": 5}, THRESHOLD) == {"all", "black"}


@pytest.mark.parametrize("seed", range(200))
def test_no_hidden_cell_can_be_derived_from_random_tables(seed):
    rng = random.Random(seed)
    groups = rng.sample(RACE_ETHNICITY, rng.randint(2, len(RACE_ETHNICITY)))
    ns = {g: rng.choice([rng.randint(1, 12), rng.randint(1, 400)]) for g in groups}
    cells = table(ns, rng)
    cells["econ_disadv"] = {"n": rng.randint(1, 30), "rate": 50.0}  # outside the partition: primary rule only
    hidden = cells_to_hide({k: c["n"] for k, c in cells.items()}, THRESHOLD)
    assert {k for k, c in cells.items() if c["n"] < THRESHOLD} <= hidden
    assert derive_hidden(cells, hidden) == {}
    assert ("econ_disadv" in hidden) == (cells["econ_disadv"]["n"] < THRESHOLD)


def test_rows_lose_value_and_n_and_the_threshold_is_per_state():
    rows = [{"subgroup": "all", "value": 80.0, "n": 500}, {"subgroup": "black", "value": 70.0, "n": 480},
            {"subgroup": "asian", "value": 100.0, "n": 8}, {"subgroup": "white", "value": 75.0, "n": 12}]
    out = {r["subgroup"]: r for r in suppress_rows(rows, THRESHOLD)}
    assert out["asian"]["value"] is None and out["asian"]["n"] is None and out["asian"]["status"] == "suppressed"
    assert out["white"]["value"] is None and out["black"]["value"] == 70.0
    settings = Settings(suppression_thresholds_by_state={"TX": 5})
    assert threshold_for(settings, "tx") == 5 and threshold_for(settings, "MO") == settings.suppression_threshold
