"""CSV a spreadsheet opens without running anything: the one defence against formula injection.

A spreadsheet runs a cell that starts with = + - @ (or a tab or carriage return)
as a formula. Excel with a ";" list separator (most of Europe) splits a line on
";" and, out of step with the commas' quotes, reads `Budget;=cmd|' /C calc'!A0`
as two cells, the second a formula. So every field is quoted, and a ' goes
before every place a cell could start: the field's start and after each ";" or
line break inside it. The dashboard's downloads and `feed-archiver sql`/`export`
both write CSV through here.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = "=+-@\t\r"
# Where a cell can start: the field's start, and, for a spreadsheet that splits on
# ";" (the list separator in most of Europe) or breaks the row, after a ";" or a
# line break inside it; spaces and quotes before the formula character do not help.
_FORMULA_CELL = re.compile(rf'(?:^|(?<=[;\n\r]))(?=[ "]*[{re.escape(FORMULA_STARTS)}])')
# With a BOM, spreadsheets read the file as UTF-8 ("Kızılay", en dashes).
ENCODING = "utf-8-sig"


def spreadsheet_text(value: Any) -> str:
    """The value with a ' before every place a spreadsheet could read a formula from."""
    return _FORMULA_CELL.sub("'", "" if value is None else str(value))


def write_csv(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and rows, every field quoted and made safe; returns the rows written."""
    # Every field quoted: a ";" or "," inside a value never splits it in a reader that
    # honours the quotes (what a reader splitting on ";" may still do: spreadsheet_text).
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow([spreadsheet_text(h) for h in header])
    written = 0
    for row in rows:
        writer.writerow([spreadsheet_text(v) for v in row])
        written += 1
    return written
