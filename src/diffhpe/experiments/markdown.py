"""The page's display names; its numbers, tables and durations are the shared Markdown
helpers of :mod:`diffhpe.markdown` (re-exported here).

A metric's display name, unit and number format are its entry in the metric registry
(:data:`diffhpe.metrics.METRICS`); ``DISPLAY`` adds the models and occlusion patterns.
"""

from __future__ import annotations

from diffhpe.markdown import hms, md_table, num
from diffhpe.metrics import METRICS

__all__ = ["DISPLAY", "hms", "md_table", "num"]

DISPLAY = {
    "mixste": "MixSTE",
    "diffhpe2d": "DiffHPE-2D",
    "wrapper": "DiffHPE-Wrapper",
    "wrapper_on_vanilla": "DiffHPE-Wrapper on vanilla MixSTE",
    **{m.name: m.display for m in METRICS},
    "none": "None",
    "random": "Random",
    "left_arm_right_leg": "Leg + arm",
    "consecutive_right_leg": "Consec. leg",
    "consecutive_frames": "Consec. frames",
}
