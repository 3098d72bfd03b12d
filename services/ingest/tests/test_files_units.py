"""Ingest's pure file pieces: published cells as what they are, school years, headers and encodings."""

from __future__ import annotations

import contextlib

import pytest

from k12_ingest.files.mapping import parse_school_year
from k12_ingest.files.reader import FileRefused, open_rows
from k12_ingest.files.values import BadValue, Cell, parse_cell, parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("87.5", Cell("exact", value=87.5)),
        (" 1,204 ", Cell("exact", value=1204.0)),
        ("PS", Cell("suppressed", published_as="PS")),
        ("*", Cell("suppressed", published_as="*")),
        (".", Cell("not_applicable", published_as=".")),
        ("", Cell("not_applicable", published_as=None)),
        ("GE95", Cell("lower_bound", lower=95.0, lower_inclusive=True, published_as="GE95")),
        ("GT80", Cell("lower_bound", lower=80.0, lower_inclusive=False, published_as="GT80")),
        ("LT50", Cell("upper_bound", upper=50.0, upper_inclusive=False, published_as="LT50")),
        ("le10", Cell("upper_bound", upper=10.0, upper_inclusive=True, published_as="le10")),
        ("90-94", Cell("range", lower=90.0, upper=94.0, lower_inclusive=True, upper_inclusive=True, published_as="90-94")),
    ],
)
def test_a_published_cell_is_stored_as_what_it_is_never_a_guessed_number(text, expected):
    assert parse_cell(text) == expected


@pytest.mark.parametrize("text", ["94-90", "about 90", "9O"])
def test_a_cell_that_is_neither_number_nor_code_is_refused_with_its_text(text):
    with pytest.raises(BadValue, match=repr(text)):
        parse_cell(text)


def test_a_count_is_a_number_or_unpublished_never_negative():
    assert parse_count("1,500") == 1500.0
    assert parse_count("PS") is None and parse_count(".") is None
    with pytest.raises(BadValue, match="negative"):
        parse_count("-3")


def test_a_bound_knows_whether_a_number_lies_outside_the_plausible_range():
    assert parse_cell("GE95").outside(0, 100) is False
    assert parse_cell("101").outside(0, 100) is True


@pytest.mark.parametrize("text", ["2016", "2015-16", "2015-2016", "1516", " 2015-16 "])
def test_every_spelling_of_a_school_year_names_its_spring(text):
    assert parse_school_year(text) == 2016


@pytest.mark.parametrize("text", ["2015-17", "1517", "spring", "3016"])
def test_what_is_not_one_school_year_is_refused(text):
    with pytest.raises(ValueError):
        parse_school_year(text)


def _open(tmp_path, content: bytes, required: list[str]):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    stack = contextlib.ExitStack()
    opened = open_rows(path, delimiter=",", required=required, stack=stack)
    rows = [(line, [column[i].as_py() for column in batch.columns]) for batch in opened.batches for i, line in enumerate(batch.lines)]
    stack.close()
    return opened, rows


def test_a_header_below_a_title_in_another_case_with_bom_and_crlf_is_found(tmp_path):
    content = "\ufeffDistrict graduation 2023\r\n\r\ncounty_district,GRAD_RATE\r\n096088,91.2\r\n".encode()
    opened, rows = _open(tmp_path, content, ["COUNTY_DISTRICT", "grad_rate"])
    assert opened.header == ["county_district", "GRAD_RATE"] and opened.header_line == 3
    assert rows == [(4, ["096088", "91.2"])]
    assert opened.encoding == "utf-8-sig"


def test_a_latin_1_file_is_read_as_latin_1(tmp_path):
    opened, rows = _open(tmp_path, "name,rate\nPeña Blanca,88\n".encode("latin-1"), ["name", "rate"])
    assert opened.encoding == "latin-1"
    assert rows[0][1][0] == "Peña Blanca"


def test_a_file_without_its_required_columns_is_refused_naming_them(tmp_path):
    with pytest.raises(FileRefused, match="lacks required columns: rate"):
        _open(tmp_path, b"name,value\nA,1\n", ["name", "rate"])
