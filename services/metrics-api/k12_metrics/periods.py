"""School years as shown ("2015-16") and as stored (the spring year, 2016)."""

from __future__ import annotations

import re

from k12shared.errors import BadRequest

_SHOWN = re.compile(r"^(\d{4})-(\d{2})$")


def show(year: int) -> str:
    return f"{year - 1}-{year % 100:02d}"


def parse_one(text: str, field: str = "period") -> int:
    text = text.strip()
    match = _SHOWN.match(text)
    if match:
        start, end = int(match[1]), int(match[2])
        if (start + 1) % 100 != end:
            raise BadRequest(f"'{text}' is not a school year like 2015-16", field=field)
        return start + 1
    if text.isdigit() and len(text) == 4:
        return int(text)
    raise BadRequest(f"'{text}' is not a school year like 2015-16", field=field)


def parse_range(text: str, field: str = "period") -> tuple[int, int]:
    """``2015-16`` or ``2019-20..2022-23`` (either end may be omitted) -> inclusive spring years."""
    if ".." not in text:
        year = parse_one(text, field)
        return year, year
    low, high = text.split("..", 1)
    return (parse_one(low, field) if low else 0, parse_one(high, field) if high else 9999)
