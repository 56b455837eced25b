"""Section 6 (issue #16): learning curves by model size, validation and training error
against training time, read from each run's train state (no evaluation is run).

The x axis is the CPU budget each run spent: the wall time it recorded while training
(``history[].time_s`` summed over its sessions) times its training threads, in core-hours
(:meth:`TrainState.elapsed_curve`), validation included, on the machine named in the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from safetensors import safe_open

from diffhpe.experiments.manifest import Manifest
from diffhpe.experiments.markdown import md_table, num
from diffhpe.experiments.provenance import run_state
from diffhpe.training.state import CurvePoint

FIGURE = "learning_curves.png"


@dataclass(frozen=True)
class Curve:
    """One listed run: its size, its curve, and where it stands; ``missing`` when absent."""

    label: str
    path: str
    params: int = 0
    size: str = ""
    batch: int = 0
    step: int = 0
    stop_reason: str | None = None
    hardware: str = ""
    points: tuple[CurvePoint, ...] = ()
    missing: str | None = None


def _model_size(path: Path) -> tuple[int, str]:
    """(parameter count, "depth x width" text) of the model in a checkpoint."""
    from diffhpe.checkpoint import read_metadata
    from diffhpe.config import config_from_json

    with safe_open(str(path), "pt") as f:
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    cfg = config_from_json(read_metadata(path)["config"])
    if cfg.model.kind == "mixste":
        size = f"MixSTE {cfg.model.mixste.depth} x {cfg.model.mixste.dim}"
    else:
        d = cfg.model.denoiser
        size = f"{cfg.model.kind} denoiser {d.num_blocks} x {d.channels}"
    return params, size


def collect(m: Manifest) -> tuple[Curve, ...] | None:
    """Read every listed run's curve; None without a ``learning`` block."""
    if m.learning is None:
        return None
    out = []
    for label, path in m.learning.runs.items():
        best = Path(path)
        state, _ = run_state(str(best))
        if not best.is_file() or state is None:
            out.append(
                Curve(label, path, missing=f"not run: `{path}` or its train state is missing")
            )
            continue
        from diffhpe.checkpoint import read_metadata
        from diffhpe.config import config_from_json

        cfg = config_from_json(read_metadata(best)["config"])
        params, size = _model_size(best)
        out.append(
            Curve(
                label=label,
                path=path,
                params=params,
                size=size,
                batch=cfg.train.batch_size,
                step=int(state.step or 0),
                stop_reason=state.stop_reason,
                hardware=state.hardware(),
                points=tuple(state.elapsed_curve(cfg.train.threads)),
            )
        )
    return tuple(out)


def render(
    m: Manifest, curves: tuple[Curve, ...] | None, out_dir: Path
) -> tuple[list[str], list[Path]]:
    """The section's lines and its figure (``out_dir/figures/learning_curves.png``)."""
    if m.learning is None or curves is None:
        return [], []
    lines = ["## 6. Learning curves by model size", ""]
    lines += [
        "Validation MPJPE (the split's camera, every validation) and training MPJPE (fixed "
        "training windows in eval mode, `train.train_eval_windows`; runs before it have none) "
        "at each validation, against the CPU budget the run spent: the wall time it recorded "
        "times its training threads (core-hours), validation included, on the machine named. "
        f"{m.learning.note}".rstrip(),
        "",
    ]
    rows = []
    for c in curves:
        if c.missing:
            lines.append(f"- {c.missing}")
            continue
        last = c.points[-1] if c.points else None
        best = min(c.points, key=lambda p: p.val_mm) if c.points else None
        train = next((p.train_mm for p in reversed(c.points) if p.train_mm is not None), None)
        rows.append(
            [
                c.label,
                c.size,
                f"{c.params / 1e6:.2f} M",
                f"{c.step} x {c.batch}",
                num(last.hours, 1) if last else "–",
                num(last.core_hours, 1) if last else "–",
                f"{num(best.val_mm)} (step {best.step})" if best else "–",
                num(last.val_mm) if last else "–",
                num(train) if train is not None else "–",
                c.stop_reason or "–",
            ]
        )
    if rows:
        lines += md_table(
            ["run", "model", "parameters", "steps x batch", "wall hours", "core-hours",
             "best validation (mm)",
             "last validation (mm)", "last training error (mm)", "stopped by"],
            rows,
        )  # fmt: skip
    figures: list[Path] = []
    drawn = [c for c in curves if c.points]
    if drawn:
        fig_path = out_dir / "figures" / FIGURE
        _draw(drawn, fig_path)
        figures.append(fig_path)
        lines += ["", f"![learning curves](figures/{FIGURE})", ""]
    hw = list(dict.fromkeys(c.hardware for c in curves if c.hardware))
    if hw:
        lines += [f"Hardware: {'; '.join(hw)}.", ""]
    return lines, figures


def _draw(curves: list[Curve], path: Path) -> None:
    """Validation (solid) and training (dashed) MPJPE against core-hours, one colour per
    run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2), dpi=110)
    for i, c in enumerate(curves):
        colour = f"C{i}"
        hours = [p.core_hours for p in c.points]
        ax.plot(hours, [p.val_mm for p in c.points], "-o", ms=3, color=colour,
                label=f"{c.label}: validation")  # fmt: skip
        tr = [(p.core_hours, p.train_mm) for p in c.points if p.train_mm is not None]
        if tr:
            ax.plot(*zip(*tr, strict=True), "--", color=colour, label=f"{c.label}: training")
    ax.set_xlabel("training CPU budget (core-hours: wall hours x threads)")
    ax.set_ylabel("MPJPE (mm)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
