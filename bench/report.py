"""The summary table: one row per figure, collected from every section of the run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    figure: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: informational, no target


ROWS: list[Row] = []


def add(row: Row) -> None:
    ROWS.append(row)


def _met(met: bool | None) -> str:
    return "" if met is None else ("yes" if met else "NO")


def table(rows: list[Row]) -> list[str]:
    header = ("figure", "value", "reference", "ratio", "target", "met")
    cells = [
        (
            r.figure,
            r.value,
            r.reference,
            r.ratio,
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [header, *cells]) for i in range(len(header))]

    def line(c: tuple[str, ...]) -> str:
        return "  ".join(str(v).ljust(w) for v, w in zip(c, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(header), rule, *(line(c) for c in cells)]
