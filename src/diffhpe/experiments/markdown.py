"""Markdown helpers of the page: display names, numbers, tables, durations.

Nothing here knows about evaluations; a table is a header and rows of strings.
"""

from __future__ import annotations

import math

DISPLAY = {
    "mixste": "MixSTE",
    "diffhpe2d": "DiffHPE-2D",
    "wrapper": "DiffHPE-Wrapper",
    "wrapper_on_vanilla": "DiffHPE-Wrapper on vanilla MixSTE",
    "mpjpe": "MPJPE",
    "p_mpjpe": "P-MPJPE",
    "symmetry_gap": "Symmetry gap",
    "segment_std": "Segment std",
    "none": "None",
    "random": "Random",
    "left_arm_right_leg": "Leg + arm",
    "consecutive_right_leg": "Consec. leg",
    "consecutive_frames": "Consec. frames",
}


def num(v: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals; "–" for a value not measured (None or NaN)."""
    return "–" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def md_table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A markdown table; the first ``left`` columns are text (left-aligned), the rest numbers."""
    align = "|:--" * left + "|--:" * (len(header) - left) + "|"
    return ["| " + " | ".join(header) + " |", align] + ["| " + " | ".join(r) + " |" for r in rows]


def hms(seconds: float | None) -> str:
    """A duration in hours from one hour on, else in seconds."""
    if seconds is None:
        return "not recorded"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.0f} s"
