"""A published cell as what it is: an exact number, suppressed, not applicable, a bound or a range.

``PS``, ``*`` (and the like) are suppressed; ``.`` and empty are not applicable; ``GE95``/``GT95``
are lower bounds; ``LT50``/``LE10`` upper bounds; ``90-94`` a range. Never a guessed number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

SUPPRESSED = frozenset({"PS", "*", "**", "***", "S", "N<10", "<10", "SUPPRESSED", "DS", "RV", "N/S"})
NOT_APPLICABLE = frozenset({"", ".", "NA", "N/A", "-", "--"})
_BOUND = re.compile(r"^(GE|GT|LE|LT|>=|>|<=|<)\s*(\d+(?:\.\d+)?)%?$", re.IGNORECASE)
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)%?$")
_LOWER = {"GE": True, "GT": False, ">=": True, ">": False}
_UPPER = {"LE": True, "LT": False, "<=": True, "<": False}


class BadValue(ValueError):
    """A cell that is neither a number nor a known protection code."""


@dataclass(frozen=True, slots=True)
class Cell:
    status: str
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    lower_inclusive: bool | None = None
    upper_inclusive: bool | None = None
    published_as: str | None = None

    def outside(self, low: float | None, high: float | None) -> bool:
        """Whether any number this cell states lies outside [low, high]."""
        numbers = [n for n in (self.value, self.lower, self.upper) if n is not None]
        return any((low is not None and n < low) or (high is not None and n > high) for n in numbers)


NOT_APPLICABLE_CELL = Cell("not_applicable", published_as=None)


@lru_cache(maxsize=65536)
def parse_cell(text: str) -> Cell:
    raw = text.strip()
    upper = raw.upper()
    if upper in NOT_APPLICABLE:
        return Cell("not_applicable", published_as=raw or None)
    if upper in SUPPRESSED:
        return Cell("suppressed", published_as=raw)
    try:
        return Cell("exact", value=float(raw.replace(",", "")))
    except ValueError:
        pass
    if m := _BOUND.match(upper):
        op, number = m.group(1), float(m.group(2))
        if op in _LOWER:
            return Cell("lower_bound", lower=number, lower_inclusive=_LOWER[op], published_as=raw)
        return Cell("upper_bound", upper=number, upper_inclusive=_UPPER[op], published_as=raw)
    if m := _RANGE.match(upper):
        low, high = float(m.group(1)), float(m.group(2))
        if low > high:
            raise BadValue(f"range {raw!r} runs backwards")
        return Cell("range", lower=low, upper=high, lower_inclusive=True, upper_inclusive=True, published_as=raw)
    raise BadValue(f"{raw!r} is neither a number nor a known protection code")


def parse_count(text: str) -> float | None:
    """A numerator or n: a number, or None when not published (suppressed or not applicable)."""
    raw = text.strip().replace(",", "")
    if raw.upper() in NOT_APPLICABLE or raw.upper() in SUPPRESSED:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise BadValue(f"{text.strip()!r} is not a number") from None
    if number < 0:
        raise BadValue(f"{text.strip()!r} is negative")
    return number
