"""Section 2, paper Table 4 (section 5.2): MPJPE with train pattern = test pattern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diffhpe.experiments.cache import Evaluation, Evaluator, metric
from diffhpe.experiments.job import Job
from diffhpe.experiments.manifest import TABLE4_COLUMNS, TABLE4_METRIC, Manifest
from diffhpe.experiments.markdown import DISPLAY, md_table, num
from diffhpe.experiments.notes import backbone_notes, checkpoint_path, occlusion_notes, unique
from diffhpe.experiments.provenance import provenance_lines
from diffhpe.experiments.results import Collected
from diffhpe.metrics import metric_spec

Table4 = Collected[Mapping[str, Mapping[str, Evaluation | None]]]
"""Per column (``TABLE4_COLUMNS``) one evaluation per pattern."""


def collect(m: Manifest, ev: Evaluator) -> Table4 | None:
    """Run or reuse the section's evaluations; None without an ``occlusion`` block."""
    occ = m.occlusion
    if occ is None:
        return None
    missing: list[str] = []
    cells: dict[str, dict[str, Evaluation | None]] = {}
    for col in TABLE4_COLUMNS:
        cells[col] = {}
        for p in occ.patterns:
            if col == "wrapper_on_vanilla" and isinstance(occ.wrapper_on_vanilla, str):
                path, where = occ.wrapper_on_vanilla, "occlusion.wrapper_on_vanilla"
            else:
                source = (
                    occ.wrapper_on_vanilla if col == "wrapper_on_vanilla" else getattr(occ, col)
                )
                path, where = (source or {}).get(p), f"occlusion.{col}.{p}"
            path = checkpoint_path(path, where, missing)
            cells[col][p] = (
                None
                if path is None
                else ev.run(Job(path, p, occ.hypotheses, occ.sampler, occ.subset))
            )
    return Collected(cells, tuple(missing))


def render(m: Manifest, t4: Table4 | None, command: str, bench: dict[str, Any]) -> list[str]:
    lines = ["## 2. Known occlusion patterns (paper Table 4)", ""]
    occ = m.occlusion
    if occ is None or t4 is None:
        return lines + ["- not run: no `occlusion` section in the manifest", ""]
    cells, missing = t4.cells, t4.missing
    vanilla = (
        "one wrapper on the vanilla MixSTE, trained without occlusions, tested under each pattern "
        "(the paper trains one per pattern)"
        if isinstance(occ.wrapper_on_vanilla, str)
        else "a wrapper on the vanilla MixSTE trained with each pattern"
    )
    spec = metric_spec(TABLE4_METRIC)
    lines += [
        f"{spec.heading} under each test occlusion pattern, with the training pattern equal to it; {vanilla}. "
        f"Test subset: {occ.subset.describe()}. Paper values (Human3.6M) in brackets, for reference only."
        + (f" {occ.note}" if occ.note else ""),
        "",
    ]
    ref = m.paper_reference["table4"]
    rows = []
    for p in occ.patterns:
        row = [DISPLAY[p]]
        for col in TABLE4_COLUMNS:
            paper = ref.get(p, {}).get(col)
            row.append(
                num(metric(cells[col][p], spec.name), spec.digits)
                + (f" ({num(paper, spec.digits)})" if paper is not None else "")
            )
        rows.append(row)
    lines += md_table(["Occlusion", *[DISPLAY[c] for c in TABLE4_COLUMNS]], rows)
    lines += ["", *[f"- {x}" for x in sorted(set(missing))]] if missing else []
    lines.append("")
    lines += occlusion_notes(cells, occ)
    mix = cells.get("mixste", {})
    pairs = [(cells.get("wrapper", {}).get(p), mix.get(p)) for p in occ.patterns]
    pairs += [(e, mix.get("none")) for e in cells.get("wrapper_on_vanilla", {}).values()]
    notes = backbone_notes(pairs)
    lines += [*notes, ""] if notes else []
    evals = unique(e for col in cells.values() for e in col.values())
    return lines + provenance_lines(evals, m, command, bench)
