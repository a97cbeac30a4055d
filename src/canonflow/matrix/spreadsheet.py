"""CSV whose cells a spreadsheet cannot take for a formula (OWASP "CSV injection").

Workflow and environment names are tenant input. A CSV cell that begins with `=`, `+`, `-`
or `@` (or a tab or carriage return, which some spreadsheets skip before reading one) is
run as a formula when the file is opened; a leading single quote makes it text. Only the
CSV export needs this: JSON is data, never evaluated.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """`value` as a cell that reads as text: quoted when it would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class InertCsvWriter:
    """`csv.writer`'s `writerow`, with every cell made inert first."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([inert_cell(value) for value in row])
