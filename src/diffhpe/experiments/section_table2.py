"""Section 1, paper Table 2 (section 5.1): accuracy and coherence of the three models."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from diffhpe.experiments.cache import Evaluation, Evaluator, metric
from diffhpe.experiments.job import Job
from diffhpe.experiments.manifest import (
    REFERENCE_METRICS,
    TABLE2_METRICS,
    TABLE2_MODELS,
    Manifest,
)
from diffhpe.experiments.markdown import DISPLAY, md_table, num
from diffhpe.experiments.notes import backbone_notes, checkpoint_path, unique
from diffhpe.experiments.provenance import provenance_lines
from diffhpe.experiments.results import Collected
from diffhpe.metrics import metric_spec

Table2 = Collected[Mapping[str, Evaluation | None]]
"""One evaluation per model (None: not run)."""


def collect(m: Manifest, ev: Evaluator) -> Table2 | None:
    """Run or reuse the section's evaluations; None without a ``table2`` block."""
    t2 = m.table2
    if t2 is None:
        return None
    missing: list[str] = []
    cells: dict[str, Evaluation | None] = {}
    for model in TABLE2_MODELS:
        path = checkpoint_path(t2.checkpoints.get(model), f"table2.{model}", missing)
        cells[model] = (
            None
            if path is None
            else ev.run(Job(path, "none", t2.hypotheses, t2.sampler, t2.subset))
        )
    return Collected(cells, tuple(missing))


def render(m: Manifest, t2: Table2 | None, command: str, bench: dict[str, Any]) -> list[str]:
    lines = ["## 1. MixSTE vs DiffHPE (paper Table 2)", ""]
    if t2 is None:
        return lines + ["- not run: no `table2` section in the manifest", ""]
    cells, missing = t2.cells, t2.missing
    ref = m.paper_reference["table2"]
    lines.append(
        f"Frame-weighted means over the `{m.eval.split}` split (mm), no occlusion. The paper's "
        "Human3.6M figures are shown beside ours for reference only: the data differ."
        + (f" {m.table2.note}" if m.table2 is not None and m.table2.note else "")
    )
    lines.append("")
    specs = [metric_spec(k) for k in TABLE2_METRICS]
    refs = [metric_spec(k) for k in REFERENCE_METRICS]
    rows = []
    for model in TABLE2_MODELS:
        e = cells[model]
        paper = [num(ref.get(model, {}).get(r.name, math.nan), r.digits) for r in refs]
        if e is None:
            rows.append([DISPLAY[model], "–", "not run", *["–"] * (len(specs) - 1), *paper])
            continue
        h = str(e.summary["sampling"]["hypotheses"]) if e.summary.get("sampling") else "1"
        values = [num(metric(e, s.name), s.digits) for s in specs]
        rows.append([DISPLAY[model], h, *values, *paper])
    first = next((e for e in cells.values() if e is not None), None)
    if first is not None:  # the coherence of the ground truth: the floor of those metrics
        floor = [num(metric(first, f"{s.name}_gt"), s.digits) if s.of_pose else "–" for s in specs]
        rows.append(["Ground truth (floor)", "–", *floor, *["–"] * len(refs)])
    header = ["Model", "H", *[s.display for s in specs]]
    lines += md_table(header + [f"Paper {r.abbreviated}" for r in refs], rows)
    lines += ["", *[f"- {x}" for x in missing]] if missing else []
    lines += ["", *_per_action(cells), ""]
    lines += backbone_notes([(cells.get("wrapper"), cells.get("mixste"))])
    evals = unique(cells.values())
    for k, e in cells.items():
        if e is not None and e.info.kind != k:
            lines.append(
                f"- note: `{e.info.path}` (listed as {DISPLAY[k]}) is a {e.info.kind} model"
            )
    return lines + provenance_lines(evals, m, command, bench)


def _per_action(evals: Mapping[str, Evaluation | None]) -> list[str]:
    present = {k: e for k, e in evals.items() if e is not None}
    if not present:
        return []
    lines = ["<details><summary>Per action (mm)</summary>", ""]
    for spec in (metric_spec(k) for k in TABLE2_METRICS):
        name = spec.name
        actions = sorted(
            {a for e in present.values() for a in e.summary["metrics_mm"][name]["per_action"]}
        )
        gt = next(iter(present.values())).summary["metrics_mm"].get(f"{name}_gt")
        rows = []
        for a in actions:
            row = [a] + [
                num(e.summary["metrics_mm"][name]["per_action"].get(a, math.nan), spec.digits)
                for e in present.values()
            ]
            if gt is not None:
                row.append(num(gt["per_action"].get(a, math.nan), spec.digits))
            rows.append(row)
        header = ["Action"] + [DISPLAY[k] for k in present] + (["Ground truth"] if gt else [])
        lines += [f"**{spec.display}**", "", *md_table(header, rows), ""]
    return lines + ["</details>"]
