"""Issue 11, item 7: the dashboard's CSV downloads never hand a spreadsheet a formula.

A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return)
as a formula. Excel with a ";" list separator (most of Europe) splits a line on
";" and, out of step with the commas' quotes, reads `Budget;=cmd|' /C calc'!A0`
as two cells, the second a formula. So every field is quoted, and a ' goes
before every place a cell could start: the field's start and after each ";" or
line break inside it.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from dashboard import frames

SECURITY = "Security audit"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DDE = "Budget;=cmd|' /C calc'!A0"


def record(title: str) -> dict[str, Any]:
    return {
        "published": "2019-07-16T12:00:00Z",
        "category": "Project News",
        "headline": title,
        "title": title,
        "link": "https://www.icmpd.org/news/x",
        "regions": ["Africa"],
        "countries": ["MA"],
        "programmes": [],
        "month": "2019-07",
        "feed_url": "https://www.icmpd.org/home/?type=100",
        "key": "ITEM#x",
    }


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").split("\r\n")[:-1]


def cells_read_with_semicolons(data: bytes) -> list[str]:
    """Every cell a reader splitting on ";" sees: by Python's csv reader and by a plain split."""
    text = data.decode("utf-8-sig")
    by_reader = [
        cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=";") for cell in row
    ]
    by_split = [cell for line in text.splitlines() for cell in line.split(";")]
    return by_reader + by_split


def starts_a_formula(cell: str) -> bool:
    # A reader may strip the spaces and quotes in front of the formula character.
    return cell.lstrip(' "').startswith(FORMULA_STARTS)


@pytest.mark.reliability(
    group=SECURITY,
    case="CSV download: an item titled `Budget;=cmd|' /C calc'!A0`",
    must_hold="every field quoted; read with ';' as the list separator, no cell starts "
    "with a formula character",
)
def test_every_field_is_quoted_and_a_semicolon_reader_sees_no_formula() -> None:
    # When an item with a DDE payload after a ";" is exported
    data = frames.items_csv([record(DDE)])
    # Then every field of every line is quoted
    for line in lines(data):
        fields = next(csv.reader([line]))
        assert line == ",".join('"' + f.replace('"', '""') + '"' for f in fields), line
    # And a spreadsheet splitting on ";" finds no formula cell
    cells = cells_read_with_semicolons(data)
    assert not [c for c in cells if starts_a_formula(c)], cells
    # And a reader splitting on "," gets the title back with only the defusing '
    row = next(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert row["title"] == "Budget;'=cmd|' /C calc'!A0"


@pytest.mark.reliability(
    group=SECURITY,
    case="CSV download: values starting with = + - @ tab or CR, bare or after ';', "
    "a line break, spaces or quotes",
    must_hold="the value prefixed with ' wherever a cell could start; read with ',' or ';', "
    "no cell starts with a formula character",
)
@pytest.mark.parametrize("start", FORMULA_STARTS)
@pytest.mark.parametrize(
    "template",
    ["{s}cmd|' /C calc'!A0", "x;{s}1+1", 'x; "{s}1+1', "x\n{s}1+1", ' "{s}1+1'],
)
def test_a_formula_start_is_neutralised_wherever_a_cell_could_start(
    start: str, template: str
) -> None:
    value = template.format(s=start)
    for data in (frames.items_csv([record(value)]), counts_csv_with(value)):
        # Read with ","
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert not [c for row in rows for c in row if starts_a_formula(c)], rows
        # Read with ";"
        cells = cells_read_with_semicolons(data)
        assert not [c for c in cells if starts_a_formula(c)], cells


def counts_csv_with(value: str) -> bytes:
    """The counts CSV of one cell whose category is `value`."""
    return frames._csv(
        ["dimension", "month", "category", "region", "items"], [["category", "", value, "", 1]]
    )
