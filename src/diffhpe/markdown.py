"""Markdown helpers shared by every page diffhpe writes: numbers, tables, durations.

The results page (``experiments``), the model card (``shipping``) and
docs/PERFORMANCE.md (``benchmarks/report.py``) write their numbers and tables through
these. Nothing here knows about evaluations; a table is a header and rows of strings.
"""

from __future__ import annotations

import math

NOT_MEASURED = "–"  # a cell without a value


def num(v: float | None, digits: int = 1, thousands: bool = False) -> str:
    """A number with ``digits`` decimals (``thousands``: comma-grouped, "12,345.6");
    "–" for a value not measured (None or NaN)."""
    if v is None or math.isnan(v):
        return NOT_MEASURED
    return f"{v:,.{digits}f}" if thousands else f"{v:.{digits}f}"


def md_table(
    header: list[str], rows: list[list[str]], left: int = 1, aligned: bool = True
) -> list[str]:
    """A Markdown table's lines; the first ``left`` columns are text (left-aligned), the
    rest numbers (right-aligned). ``aligned=False``: plain ``|---|`` columns, the
    renderer's default alignment."""
    if aligned:
        align = "|:--" * left + "|--:" * (len(header) - left) + "|"
    else:
        align = "|" + "---|" * len(header)
    return ["| " + " | ".join(header) + " |", align] + ["| " + " | ".join(r) + " |" for r in rows]


def hms(seconds: float | None) -> str:
    """A duration in hours from one hour on, else in seconds."""
    if seconds is None:
        return "not recorded"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.0f} s"
