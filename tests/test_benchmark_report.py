"""benchmarks/report.py: the issue #6 speed target when the shipped default samples H = 50."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def report() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        import report as mod  # benchmarks/report.py (imports benchmarks/common.py)
    finally:
        sys.path.remove(str(BENCH))
    return mod


def _row(setting: str, batch: int, h: int, fps: float, start: int | None = 5) -> dict:
    return {
        "setting": setting, "batch": batch, "sampler": "ddim", "steps": 2, "hypotheses": h,
        "eta": 1.0, "clip_x0": 1.0, "init": "backbone" if start else "noise",
        "start_step": start, "frames_per_s": fps,
    }  # fmt: skip


def _doc(rows: list[dict]) -> dict:
    return {"benchmark": "inference_speed", "model": "shipped", "_file": "x.json", "rows": rows}


def test_an_h50_default_is_judged_by_its_sampler_at_h5(report: Any) -> None:
    rows = [
        _row("default", 1, 50, 20.0),
        _row("default", 64, 50, 25.0),
        _row("ddim-2-5-from5", 64, 5, 400.0),
        _row("ddim-2-5", 64, 5, 900.0, start=None),  # from noise: not the default's sampler
    ]
    lines = "\n".join(report.targets([_doc(rows)]))
    target = next(line for line in lines.splitlines() if "H = 5: >= 30" in line)
    assert "400.0 frames/s" in target and "`ddim-2-5-from5`" in target and "| met |" in target
    context = next(line for line in lines.splitlines() if "its own H = 50" in line)
    assert "25.0 frames/s at batch 64" in context


def test_an_h50_default_without_the_h5_row_is_not_met(report: Any) -> None:
    lines = "\n".join(report.targets([_doc([_row("default", 64, 50, 25.0)])]))
    target = next(line for line in lines.splitlines() if "H = 5: >= 30" in line)
    assert "not measured" in target and "NOT met" in target


def test_an_h5_default_is_its_own_row(report: Any) -> None:
    lines = "\n".join(report.targets([_doc([_row("default", 64, 5, 29.0)])]))
    target = next(line for line in lines.splitlines() if "H = 5: >= 30" in line)
    assert "29.0 frames/s" in target and "NOT met" in target and "setting `" not in target
    assert "its own H" not in lines
