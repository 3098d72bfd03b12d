"""School years as shown ("2025-26") and as stored (the spring year, 2026)."""

from __future__ import annotations

import re

from k12shared.errors import Unprocessable

_SHOWN = re.compile(r"^(\d{4})-(\d{2})$")


def show(year: int) -> str:
    return f"{year - 1}-{year % 100:02d}"


def parse(text: str | int, field: str = "period") -> int:
    value = str(text).strip()
    match = _SHOWN.match(value)
    if match and (int(match[1]) + 1) % 100 == int(match[2]):
        return int(match[1]) + 1
    if value.isdigit() and len(value) == 4:
        return int(value)
    raise Unprocessable(f"'{value}' is not a school year like 2025-26", field=field)
