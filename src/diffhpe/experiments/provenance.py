"""Where the page's numbers come from: each checkpoint's run record, and the block every
section ends with (command, data, hardware, checkpoints, evaluations).

A run's record is its train state (:class:`diffhpe.training.state.TrainState`), read from
``last.safetensors`` beside the checkpoint or from the committed ``train_state.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffhpe.checkpoint import file_sha256, read_metadata
from diffhpe.experiments.markdown import hms, md_table, num
from diffhpe.hardware import describe
from diffhpe.training.state import TrainState, run_state, training_hardware, training_time

if TYPE_CHECKING:
    from diffhpe.experiments.cache import Evaluation
    from diffhpe.experiments.manifest import Manifest


@dataclass(frozen=True)
class CheckpointInfo:
    """What the page states about a checkpoint: training step, time, validation MPJPE."""

    path: str
    label: str
    kind: str
    train_occlusion: str
    backbone_occlusion: str | None  # wrappers only: the occlusion their MixSTE saw
    step: int | None
    val_mpjpe_mm: float | None
    last_step: int | None  # from last.safetensors beside it
    train_seconds: float | None  # summed over resumed sessions, up to the last validation
    sha256: str
    init_from: str | None = None  # the run it was fine-tuned from (train.init_from)
    init_from_sha256: str | None = None  # that file's hash when training started (if recorded)
    train_hardware: str = "not recorded"  # from the run's session records
    ended_by: str = "not recorded"  # why training stopped (see `training_end`)
    val_occlusion: str = "none"  # the validation 2D's occlusion (data.val_occlusion)


# training_time and training_hardware are re-exported (they live in diffhpe.training.state).
__all__ = [
    "CheckpointInfo",
    "checkpoint_info",
    "provenance_lines",
    "run_state",
    "training_end",
    "training_hardware",
    "training_time",
]


def training_end(state: TrainState | dict[str, Any], train_cfg: dict[str, Any]) -> str:
    """Why a run's last training session ended, from its saved train state (a
    :class:`TrainState` or its JSON object).

    ``early_stop`` means converged on the validation split (``train.early_stop`` validations
    in a row without a new best); the limits mean the budget ended it first.
    """
    if not isinstance(state, TrainState):
        state = TrainState.from_dict(state)
    reason = state.stop_reason
    if reason == "early_stop":
        n = train_cfg.get("early_stop", "?")
        return f"converged: no new best in {n} validations"
    if reason == "max_steps":
        return f"step limit ({train_cfg.get('max_steps', '?')}), not converged"
    if reason == "max_minutes":
        return f"time limit ({train_cfg.get('max_minutes', '?')} min), not converged"
    if reason in ("signal", "interrupted"):
        return "stopped by hand, not converged"
    vals = [float(h["val_mpjpe_mm"]) for h in state.history if "val_mpjpe_mm" in h]
    if len(vals) > 1 and vals[-1] <= min(vals):  # runs saved before the reason was recorded
        return "not recorded; still improving at its last validation, not converged"
    return "not recorded"


def checkpoint_info(path: str, label: str) -> CheckpointInfo:
    """Metadata of ``path`` (and of ``last.safetensors`` in the same run folder)."""
    meta = read_metadata(path)
    if "config" not in meta:
        raise ValueError(f"{path}: checkpoint metadata lacks 'config'; not a diffhpe checkpoint")
    cfg = json.loads(meta["config"])
    backbone = json.loads(meta["backbone_config"]) if "backbone_config" in meta else None
    last_step, seconds, hardware, ended = None, None, "not recorded", "not recorded"
    state, last_meta = run_state(path)
    if state is not None:
        last_step = state.step
        seconds = state.training_seconds()
        hardware = state.hardware()
        run_cfg = Path(path).parent / "config.json"  # the run's latest config, as trained
        if "config" in last_meta:
            last_cfg = json.loads(last_meta["config"])
        elif run_cfg.is_file():
            last_cfg = json.loads(run_cfg.read_text(encoding="utf-8"))
        else:
            last_cfg = cfg
        ended = training_end(state, last_cfg.get("train", {}))
    return CheckpointInfo(
        path=path,
        label=label,
        kind=meta.get("kind", cfg["model"]["kind"]),
        train_occlusion=cfg["data"].get("occlusion", "none"),
        backbone_occlusion=backbone["data"].get("occlusion", "none") if backbone else None,
        step=int(meta["step"]) if "step" in meta else None,
        val_mpjpe_mm=float(meta["val_mpjpe_mm"]) if "val_mpjpe_mm" in meta else None,
        last_step=last_step,
        train_seconds=seconds,
        sha256=file_sha256(path),
        init_from=cfg.get("train", {}).get("init_from"),
        init_from_sha256=meta.get("init_from_sha256"),
        train_hardware=hardware,
        ended_by=ended,
        val_occlusion=_val_occlusion(cfg["data"]),
    )


def _val_occlusion(data: dict[str, Any]) -> str:
    spec = data.get("val_occlusion", "none")  # absent: checkpoints from before the option
    return data.get("occlusion", "none") if spec == "train" else spec


def _validation_curve(path: str) -> list[tuple[int, float]]:
    """(step, validation MPJPE mm) of the run that wrote ``path``, from its train state."""
    state, _ = run_state(path)
    return [] if state is None else state.validation_curve()


def _started_from(i: CheckpointInfo) -> str:
    """The ``train.init_from`` path as the run named it, with its hash when recorded and a
    warning when the file now at that path is another one."""
    if not i.init_from:
        return "scratch"
    if i.init_from_sha256 is None:
        return f"`{i.init_from}`"
    text = f"`{i.init_from}` (SHA-256 {i.init_from_sha256[:12]}"
    now = Path(i.init_from)
    if now.is_file() and file_sha256(now) != i.init_from_sha256:
        text += "; the file there now differs"
    return text + ")"


def _sampling_text(ev: Evaluation) -> str:
    s = ev.summary.get("sampling")
    if not s:
        return "deterministic"
    clip = s.get("clip_x0")
    clip_text = f", x0 clipped to {clip:g} m" if clip else ", no x0 clipping"
    start = (
        f", from the MixSTE estimate at step {s.get('start_step')}"
        if s.get("init") == "backbone"
        else ""
    )
    return (
        f"{s['sampler']} {s['steps']} steps, H={s['hypotheses']}, {s['aggregation']}"
        f"{clip_text}{start}"
    )


def provenance_lines(
    evals: list[Evaluation], m: Manifest, command: str, bench: dict[str, Any]
) -> list[str]:
    """How a section's numbers were made: command, seed, data, hardware, checkpoints, times."""
    if not evals:
        return []
    envs = sorted(
        {json.dumps(e.summary["experiment"]["environment"], sort_keys=True) for e in evals}
    )
    hardware = []
    for text in envs:
        env = json.loads(text)
        hardware.append(describe(env))
    subsets = sorted({e.job.subset.describe() for e in evals})
    total = sum(float(e.summary["seconds"]) for e in evals)
    lines = [
        f"- Command: `{command}` (seed {m.seed}; the equivalent `diffhpe evaluate` lines are below)",
        f"- Data: `{m.data_root}`, build format `{bench.get('format', 'not recorded')}`, "
        f"build seed {bench.get('seed', 'not recorded')}; split `{m.eval.split}`; "
        + "; ".join(subsets),
        "- Hardware: " + " | ".join(hardware),
        f"- {len(evals)} evaluations, {total:.1f} s of evaluation wall time in all",
        "",
    ]
    infos = {e.info.path: e.info for e in evals}
    rows = [
        [
            f"`{i.path}`",
            i.kind,
            i.train_occlusion
            + (f" (MixSTE: {i.backbone_occlusion})" if i.backbone_occlusion else ""),
            str(i.step) if i.step is not None else "–",
            num(i.val_mpjpe_mm, 2)
            + (f" (2D occluded: {i.val_occlusion})" if i.val_occlusion != "none" else ""),
            f"{hms(i.train_seconds)} to step {i.last_step}"
            if i.last_step
            else hms(i.train_seconds),
            _started_from(i),
            i.ended_by,
            i.train_hardware,
            i.sha256[:12],
        ]
        for i in infos.values()
    ]
    lines += md_table(
        [
            "Checkpoint",
            "Kind",
            "Train occlusion",
            "Best step",
            "Val MPJPE (mm, clean 2D unless noted)",
            "Training time",
            "Started from (path when trained)",
            "Training ended by",
            "Training hardware",
            "SHA-256",
        ],
        rows,
        left=3,
    )
    ev_rows = [
        [
            f"[{e.file.name}](results/{e.file.name})",
            e.summary["occlusion_test"],
            _sampling_text(e),
            str(e.summary["frames"]),
            f"{float(e.summary['seconds']):.1f}",
            f"{e.summary['frames_per_second']}",
        ]
        for e in evals
    ]
    lines += ["", "<details><summary>Evaluations: wall time and equivalent commands</summary>", ""]
    lines += md_table(
        ["Result", "Test occlusion", "Sampling", "Frames", "Wall time (s)", "Frames/s"],
        ev_rows,
        left=3,
    )
    lines += (
        ["", "```"]
        + [e.summary["experiment"]["command"] for e in evals]
        + ["```", "", "</details>", ""]
    )
    return lines
