"""A file's rows through the reader and the mapper into staging rows: line numbers, protected values, duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from k12_ingest.files.mapping import STAGE_SCHEMA, Catalog
from k12_ingest.files.reader import BLOCK_BYTES
from k12_ingest.jobs.parse import FileParse
from k12_ingest.profiles.schemas import ProfileDefinition

PROFILES = Path(__file__).resolve().parents[1] / "k12_ingest" / "profiles" / "builtin"
CATALOG = Catalog(
    {"graduation_rate_4yr": (0.0, 100.0), "enrollment": (0.0, None)},
    {"all", "black", "hispanic", "white", "asian", "ell", "swd", "econ_disadv"},
)
HEADER = "org_id,metric,subgroup,period,value,n"


def _parse(tmp_path: Path, content: bytes, profile: str = "long-format") -> tuple[FileParse, list[dict]]:
    definition = ProfileDefinition.model_validate(json.loads((PROFILES / f"{profile}.json").read_text())["definition"])
    source = tmp_path / "file.csv"
    source.write_bytes(content)
    parse = FileParse(source, definition, CATALOG)
    staged: list[dict] = []
    options = pa_csv.ConvertOptions(column_types=STAGE_SCHEMA, strings_can_be_null=True, quoted_strings_can_be_null=False)
    try:
        while (batch := parse.step()) is not None:
            if batch:
                table = pa_csv.read_csv(pa.BufferReader(batch), read_options=pa_csv.ReadOptions(column_names=STAGE_SCHEMA.names), convert_options=options)
                staged += table.to_pylist()
    finally:
        parse.close()
    return parse, staged


def _by_subgroup(staged: list[dict]) -> dict[str, dict]:
    return {row["subgroup_code"]: row for row in staged}


@pytest.mark.parametrize("quoted", [False, True], ids=["arrow", "python"])
def test_every_protected_value_is_staged_as_what_it_is(tmp_path, quoted):
    cells = {"all": "PS", "black": "*", "hispanic": ".", "white": "", "asian": "GE95", "ell": "LT50", "swd": "LE10", "econ_disadv": "90-94"}
    org = '"D1"' if quoted else "D1"  # a quote sends the file to Python's reader: both must agree
    rows = [f"{org},graduation_rate_4yr,{subgroup},2015-16,{text},40" for subgroup, text in cells.items()]
    parse, staged = _parse(tmp_path, (HEADER + "\n" + "\n".join(rows) + "\n").encode())
    assert parse.errors == []
    got = {s: (r["status"], r["value"], r["lower"], r["upper"], r["lower_inclusive"], r["upper_inclusive"], r["published_as"]) for s, r in _by_subgroup(staged).items()}
    assert got == {
        "all": ("suppressed", None, None, None, None, None, "PS"),
        "black": ("suppressed", None, None, None, None, None, "*"),
        "hispanic": ("not_applicable", None, None, None, None, None, "."),
        "white": ("not_applicable", None, None, None, None, None, None),
        "asian": ("lower_bound", None, 95.0, None, True, None, "GE95"),
        "ell": ("upper_bound", None, None, 50.0, None, False, "LT50"),
        "swd": ("upper_bound", None, None, 10.0, None, True, "LE10"),
        "econ_disadv": ("range", None, 90.0, 94.0, True, True, "90-94"),
    }
    assert {r["org_key"] for r in staged} == {"ref:D1"} and {r["school_year"] for r in staged} == {2016}
    assert {r["denominator"] for r in staged} == {40.0}


@pytest.mark.parametrize("quoted", [False, True], ids=["arrow", "python"])
def test_row_errors_carry_their_line_in_the_file(tmp_path, quoted):
    org = '"D1"' if quoted else "D1"
    lines = [
        "A title above the header",
        HEADER,
        f"{org},graduation_rate_4yr,all,2015-16,91.5,200",
        "",  # blank lines are skipped, still counted
        f"{org},graduation_rate_4yr,black,2015-16,abc,40",
        f"{org},graduation_rate_4yr,asian",  # short
        f"{org},graduation_rate_4yr,white,2015-16,88,120,an extra field",  # longer than the header: kept
        f"{org},graduation_rate_4yr,martian,2015-16,80,12",
        f"{org},graduation_rate_4yr,hispanic,2015-17,80,12",
        f"{org},graduation_rate_4yr,ell,2015-16,101,12",
        f"{org},graduation_rate_4yr,swd,2015-16,70,-3",
    ]
    parse, staged = _parse(tmp_path, ("\r\n".join(lines) + "\r\n").encode("latin-1"))
    errors = {e.line: (e.column, e.reason) for e in parse.errors}
    assert set(errors) == {5, 6, 8, 9, 10, 11}
    assert errors[5][0] == "value" and "unparseable" in errors[5][1]
    assert "short row: 3 fields" in errors[6][1]
    assert "unknown subgroup code 'martian'" in errors[8][1]
    assert errors[9][0] == "period"
    assert "outside 0–100" in errors[10][1]
    assert errors[11][0] == "n" and "negative" in errors[11][1]
    assert [(r["line"], r["subgroup_code"]) for r in staged] == [(3, "all"), (7, "white")]
    assert parse.rows_read == 8 and parse.observations == 2
    assert next(e.raw for e in parse.errors if e.line == 6).endswith("graduation_rate_4yr,asian")


def test_line_numbers_hold_across_batches(tmp_path):
    row = "D{i},enrollment,all,2015-16,{i},"
    count = BLOCK_BYTES // len(row.format(i=100_000)) * 2 + 1_000  # a few batches
    lines = [HEADER] + [row.format(i=i) for i in range(count)]
    bad = {count // 2: "D0,enrollment,all", count - 10: "D1,enrollment,all,2015-16,many,"}  # a short row, a bad value
    for at, text in bad.items():
        lines[at] = text
    parse, staged = _parse(tmp_path, ("\n".join(lines) + "\n").encode())
    assert sorted(e.line for e in parse.errors) == sorted(at + 1 for at in bad)
    assert len(staged) == count - 2
    assert all(r["line"] == int(r["org_key"].removeprefix("ref:D")) + 2 for r in staged)


def test_a_file_naming_an_observation_twice_is_known_to(tmp_path):
    once, _ = _parse(tmp_path, f"{HEADER}\nD1,enrollment,all,2016,10,\nD1,enrollment,all,2017,11,\n".encode())
    twice, _ = _parse(tmp_path, f"{HEADER}\nD1,enrollment,all,2016,10,\nD1,enrollment,all,2015-16,11,\n".encode())
    assert once.keys.all_distinct and not twice.keys.all_distinct
