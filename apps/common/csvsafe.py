"""Formula-safe CSV: the one way the project writes a CSV cell (CSV injection, OWASP).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula, so such a cell gets a leading apostrophe, which spreadsheets show as
text. That is why E.164 numbers appear as ``'+1...`` in our CSV files (never in JSON).
``unescape_cell`` undoes it for our own importers, so an export imports back unchanged.
Hashes and signatures are never computed over CSV text as data: the audit export's chain
covers the canonical JSON events, and the CSV is only a file listed (and hashed) as written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unescape_cell(text: str) -> str:
    """The value ``safe_cell`` escaped (a cell it did not escape comes back as it is)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, out: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


class SafeDictWriter:
    """``csv.DictWriter`` whose every cell goes through ``safe_cell`` (the header too)."""

    def __init__(self, out: IO[str], fieldnames: list[str], **kwargs: Any) -> None:
        self.fieldnames = fieldnames
        self._writer = SafeWriter(out, **kwargs)

    def writeheader(self) -> None:
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow([row.get(name) for name in self.fieldnames])

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)
