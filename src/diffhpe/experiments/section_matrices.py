"""Section 3, paper Figures 3-5 (sections 5.3-5.4): train pattern x test pattern matrices."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.experiments.cache import Evaluation, Evaluator
from diffhpe.experiments.job import Job
from diffhpe.experiments.manifest import MATRIX_METRICS, MATRIX_MODELS, Manifest
from diffhpe.experiments.markdown import DISPLAY, md_table, num
from diffhpe.experiments.notes import checkpoint_path, occlusion_notes, unique
from diffhpe.experiments.provenance import provenance_lines
from diffhpe.experiments.results import Collected, grid
from diffhpe.metrics import metric_spec

Matrices = Collected[Mapping[str, Mapping[tuple[str, str], Evaluation | None]]]
"""Per model (``MATRIX_MODELS``) one evaluation per (train, test) pattern."""


def collect(m: Manifest, ev: Evaluator) -> Matrices | None:
    """Run or reuse the section's evaluations; None without an ``occlusion`` block."""
    occ = m.occlusion
    if occ is None:
        return None
    missing: list[str] = []
    cells: dict[str, dict[tuple[str, str], Evaluation | None]] = {}
    for model in MATRIX_MODELS:
        cells[model] = {}
        for train_p in occ.patterns:
            path = checkpoint_path(
                getattr(occ, model).get(train_p), f"occlusion.{model}.{train_p}", missing
            )
            for test_p in occ.patterns:
                job = Job(path, test_p, occ.hypotheses, occ.sampler, occ.subset) if path else None
                cells[model][(train_p, test_p)] = ev.run(job) if job else None
    return Collected(cells, tuple(missing))


def render(
    m: Manifest, mx: Matrices | None, command: str, bench: dict[str, Any], out_dir: Path
) -> tuple[list[str], list[Path]]:
    """The section's lines and the figures it drew under ``out_dir/figures``."""
    lines = ["## 3. Occlusion-pattern misspecification (paper Figures 3-5)", ""]
    occ = m.occlusion
    if occ is None or mx is None:
        return lines + ["- not run: no `occlusion` section in the manifest", ""], []
    cells, missing = mx.cells, mx.missing
    lines += [
        f"Rows: training occlusion; columns: test occlusion. Test subset: {occ.subset.describe()}. "
        "Difference = MixSTE - DiffHPE-Wrapper (positive favours the wrapper)."
        + (f" {occ.note}" if occ.note else ""),
        "",
    ]
    lines += [f"- {x}" for x in sorted(set(missing))] + ([""] if missing else [])
    figures: list[Path] = []
    for spec in (metric_spec(k) for k in MATRIX_METRICS):
        name, title = spec.name, spec.display
        mats = {k: grid(cells[k], occ.patterns, name) for k in MATRIX_MODELS}
        diff = mats["mixste"] - mats["wrapper"]
        fig = out_dir / "figures" / f"occlusion_{name}.png"
        if np.isfinite(diff).any() or any(np.isfinite(v).any() for v in mats.values()):
            drawn = draw_matrices(
                fig, title, occ.patterns, mats["mixste"], mats["wrapper"], diff,
                unit=spec.unit, digits=spec.digits,
            )  # fmt: skip
            if drawn is None:
                figures.append(fig)
                lines += [f"![{title} train x test matrices](figures/{fig.name})", ""]
            else:
                lines += [f"- figure not drawn: {drawn}", ""]
        for which, mat in (
            ("MixSTE", mats["mixste"]),
            ("DiffHPE-Wrapper", mats["wrapper"]),
            ("MixSTE - DiffHPE-Wrapper", diff),
        ):
            lines += [f"**{title} ({spec.unit}), {which}**", ""]
            rows = [
                [DISPLAY[p]] + [num(v, spec.digits) for v in mat[i]]
                for i, p in enumerate(occ.patterns)
            ]
            lines += md_table(["train \\ test", *[DISPLAY[p] for p in occ.patterns]], rows) + [""]
    lines += occlusion_notes(
        {k: {tr: cells[k][(tr, occ.patterns[0])] for tr in occ.patterns} for k in MATRIX_MODELS},
        occ,
    )
    evals = unique(e for mat in cells.values() for e in mat.values())
    return lines + provenance_lines(evals, m, command, bench), figures


def draw_matrices(
    path: Path,
    title: str,
    patterns: tuple[str, ...],
    mixste: np.ndarray,
    wrapper: np.ndarray,
    diff: np.ndarray,
    unit: str = "mm",
    digits: int = 1,
) -> str | None:
    """Three annotated heatmaps (MixSTE, wrapper, difference) as a PNG, values in ``unit``
    with ``digits`` decimals; returns why not, or None."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return "matplotlib is not installed (pip install 'diffhpe[viz]')"
    labels = [DISPLAY[p] for p in patterns]
    fig = Figure(figsize=(4.8 * 3, 4.4), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend, without touching pyplot's global state
    axes = fig.subplots(1, 3)
    finite = np.concatenate([mixste[np.isfinite(mixste)], wrapper[np.isfinite(wrapper)]])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    panels = (
        ("MixSTE", mixste, "viridis_r", lo, hi),
        ("DiffHPE-Wrapper", wrapper, "viridis_r", lo, hi),
        ("MixSTE - Wrapper (blue: Wrapper better)", diff, "RdBu", -span or -1.0, span or 1.0),
    )
    for ax, (name, mat, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        im = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, vmin=vmin, vmax=vmax)
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                r, g, b, _ = im.cmap(im.norm(mat[i, j])) if np.isfinite(mat[i, j]) else (1, 1, 1, 1)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on dark cells
                color = "white" if dark else "black"
                ax.text(
                    j, i, num(mat[i, j], digits), ha="center", va="center", fontsize=8, color=color
                )
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("test occlusion")
        ax.set_ylabel("training occlusion")
        ax.set_title(name, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8, label=unit)
    fig.suptitle(f"{title} ({unit})")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return None
