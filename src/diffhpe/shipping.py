"""``diffhpe ship``: put a trained wrapper inside the package, with its model card.

The shipped file is the wrapper's ``best.safetensors`` (it carries its frozen MixSTE
and both configs, so it alone rebuilds the model), with the optimizer state dropped.
The card states the data and licences, the protocol, the training runs and the test
metrics, all read from files and evaluations, not typed by hand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffhpe.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from diffhpe.config import DiffusionConfig
from diffhpe.evaluation import EvalOptions, evaluate
from diffhpe.hardware import environment
from diffhpe.lifting import PRETRAINED, Lifter
from diffhpe.markdown import md_table, num
from diffhpe.metrics import metric_spec, to_table
from diffhpe.safety import write_text_atomic
from diffhpe.sampling import SamplingOverride
from diffhpe.training.state import run_state

MAX_BYTES = 20 * 1024 * 1024
SAMPLE_BOUND_MARGIN = 1.25  # the card's bound on the sample: 25% above the measured MPJPE
CARD_METRICS = ("mpjpe", "p_mpjpe", "symmetry_gap", "segment_std")  # the card's test table
TWO_D = {"det": "detected 2D", "gt": "exact 2D"}  # the 2D a card's test row was given


def _train_info(run_dir: Path) -> dict[str, Any]:
    """Step, best validation MPJPE and wall time of a training run (its train state, from
    last.safetensors or train_state.json: :func:`diffhpe.training.state.run_state`)."""
    best_ckpt = run_dir / "best.safetensors"
    state, last_meta = run_state(best_ckpt)
    if state is None:
        raise ValueError(
            f"{run_dir}: no last.safetensors or train_state.json; the model card needs the "
            "run's training record"
        )
    seconds = state.training_seconds()  # summed over resumed sessions
    # The training error at the best validation (runs that log it: train.train_eval_windows).
    best = min(state.history, key=lambda h: h["val_mpjpe_mm"], default={})
    config = last_meta.get("config") or read_metadata(best_ckpt).get("config")
    return {
        "run": str(run_dir),
        "steps": state.step,
        "best_val_mpjpe_mm": state.best,
        "train_mpjpe_mm_at_best": best.get("train_mpjpe_mm"),
        "train_minutes": round(seconds / 60, 1) if seconds is not None else None,
        "train_hardware": state.hardware(),
        "init_from": json.loads(config)["train"].get("init_from") if config else None,
    }


def hardware() -> str:
    """One line: CPU model, torch threads, GPU, torch version (see hardware.environment)."""
    env = environment("cuda" if torch.cuda.is_available() else "cpu")
    return f"{env['cpu']}, {env['threads']} torch threads, {env['gpu'] or 'no GPU'}, torch {env['torch']}"


def ship(
    wrapper_run: str | Path,
    out_dir: str | Path | None = None,
    sample: str | Path | None = None,
    eval_opts: EvalOptions | None = None,
    progress: bool = True,
    sampling: SamplingOverride | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy ``wrapper_run/best.safetensors`` into the package and write its model card.

    ``sampling`` overrides the default sampling settings stored with the shipped model: a
    :class:`SamplingOverride`, or a mapping with the names of ``diffusion`` in the config
    (sampler, sample_steps, hypotheses, clip_x0, ...).
    """
    override = _override(sampling)
    run = Path(wrapper_run)
    pkg = Path(__file__).resolve().parent / "assets" / "models"
    out = Path(out_dir) if out_dir else pkg
    out.mkdir(parents=True, exist_ok=True)
    tensors, meta = load_checkpoint(run / "best.safetensors")
    backbone = Path(json.loads(meta["config"])["model"]["backbone"])  # its MixSTE run, if here
    # The card's training records, read before anything is written: a failure leaves the
    # shipped model as it was.
    wrapper_info = _train_info(run)
    mixste_info = _train_info(backbone.parent) if backbone.exists() else None
    model_tensors = {k: v for k, v in tensors.items() if k.startswith("model.")}
    if override.config_overrides():
        cfg = json.loads(meta["config"])
        cfg["diffusion"] = asdict(override.apply(DiffusionConfig(**cfg["diffusion"])))
        meta = {**meta, "config": json.dumps(cfg, sort_keys=True)}
    target = out / PRETRAINED["default"]
    save_checkpoint(target, model_tensors, meta)
    size = target.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(
            f"{target}: {size / 2**20:.1f} MB exceeds the 20 MB budget for shipped weights"
        )
    cfg = json.loads(meta["config"])
    bcfg = json.loads(meta["backbone_config"])
    t0 = time.time()
    opts = eval_opts or EvalOptions(split="test")
    summary = evaluate(target, opts, progress=progress)
    mixste_summary = evaluate(backbone, opts, progress=progress) if backbone.exists() else None
    sample_path = (
        Path(sample)
        if sample
        else Path(__file__).resolve().parent / "assets" / "samples" / "cmu03_03_walk.npz"
    )
    lifter = Lifter.from_checkpoint(target)
    if out == pkg and lifter.uncertainty_setup()[1]["kind"] != "calibrated":
        import warnings  # a new model makes the shipped calibration stale (docs/UNCERTAINTY.md)

        warnings.warn(
            f"{target.name}: its uncertainty is the raw spread until "
            "scripts/calibrate_uncertainty.py is rerun for it",
            UserWarning,
            stacklevel=2,
        )
    with np.load(sample_path, allow_pickle=False) as f:
        res = lifter.lift(f["keypoints"], tuple(int(v) for v in f["image_size"]))
        gt = f["gt3d"].astype(np.float64)
    sample_mpjpe = float(np.linalg.norm(res.pose3d - (gt - gt[:, :1]), axis=-1).mean() * 1000)
    info = {
        "file": target.name,
        "bytes": size,
        "wrapper": wrapper_info,
        "mixste": mixste_info,
        "config": cfg,
        "backbone_config": bcfg,
        "test": summary,
        "test_mixste": mixste_summary,
        "sample": {
            "file": sample_path.name,
            "mpjpe_mm": sample_mpjpe,
            "bound_mm": round(sample_mpjpe * SAMPLE_BOUND_MARGIN + 1, 0),
        },
        "hardware": hardware(),
        "eval_seconds": round(time.time() - t0, 1),
        "command": ship_command(run, override, opts.cameras),
    }
    write_text_atomic(out / "MODEL_CARD.json", json.dumps(info, indent=1))
    write_text_atomic(out / "MODEL_CARD.md", model_card(info))
    return info


def _override(sampling: SamplingOverride | Mapping[str, Any] | None) -> SamplingOverride:
    if isinstance(sampling, SamplingOverride):
        return sampling
    return SamplingOverride.from_config(sampling or {})


def ship_command(
    run: str | Path,
    sampling: SamplingOverride | Mapping[str, Any] | None,
    cameras: list[str] | None,
) -> str:
    """The ``diffhpe ship`` line that reproduces a shipping (run, test cameras, sampling)."""
    parts = ["diffhpe ship", str(run)]
    if cameras:
        parts.append("--cameras " + " ".join(cameras))
    parts += _override(sampling).to_flags("ship")
    return " ".join(parts)


def _input_lines(bcfg: dict[str, Any], cfg: dict[str, Any]) -> list[str]:
    """What the pair was trained on beyond the paper's inputs (masks, 2D families, cameras,
    gross errors); nothing for runs that predate those settings."""
    d = cfg["data"]
    lines = []
    if bcfg["model"]["mixste"].get("mask_token") or cfg["model"].get("use_visibility"):
        lines.append(
            "- Missing keypoints are masked, not zeros: MixSTE "
            + ("has a learned missing-joint embedding" if bcfg["model"]["mixste"].get("mask_token")
               else "reads zeros")
            + "; the denoiser "
            + ("gets the mask as a channel." if cfg["model"].get("use_visibility")
               else "sees the mask through MixSTE's features.")
        )  # fmt: skip
    extra = [
        f"2D files {d['detector']} + {', '.join(d['train_extra_detectors'])}"
        if d.get("train_extra_detectors") else "",
        f"more cameras from {', '.join(d['train_extra_roots'])}" if d.get("train_extra_roots") else "",
        f"2D joint families `{d['families']}`" if d.get("families", "exact") != "exact" else "",
        f"gross detector errors in {d['hard_errors']:.0%} of windows" if d.get("hard_errors") else "",
    ]  # fmt: skip
    extra = [e for e in extra if e]
    if extra:
        lines.append("- Training inputs (wrapper): " + "; ".join(extra) + ".")
    return lines


def model_card(info: dict[str, Any]) -> str:
    """The Markdown model card, from :func:`ship`'s measurements."""
    cfg, bcfg, s = info["config"], info["backbone_config"], info["test"]
    m = s["metrics_mm"]
    sampling = s["sampling"]
    lines = [
        "# diffhpe default model: DiffHPE-Wrapper trained on the open benchmark",
        "",
        f"File: `{info['file']}` ({info['bytes'] / 2**20:.1f} MB, safetensors; carries its frozen MixSTE and both configs).",
        "",
        "## Data and licences",
        "- Trained on the open benchmark built by `diffhpe data build` from real optical motion capture: "
        'CMU Graphics Lab Motion Capture Database ("The data used in this project was obtained from '
        'mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."; free for research, '
        "may be included in products, not resold) and HDM05 (M. Müller et al., Technical Report CG-2007-2, "
        "Universität Bonn, 2007; CC BY-SA 3.0). These weights are trained on HDM05 data.",
        "- Rendered through the real Human3.6M cameras (calibration MIT, K. Iskakov; Human3.6M: Ionescu et al., TPAMI 2014) "
        "with detector-like 2D noise fitted to Stacked Hourglass errors on Human3.6M.",
        "- Protocol: split by person. Train CMU 01, 02, 08-13, 131, HDM05 bd, bk; validation (checkpoint "
        "selection only) CMU 14; test (reported only) CMU 03, HDM05 dg.",
        "",
        "## Model",
        f"- MixSTE backbone: {bcfg['model']['mixste']['depth']} layers x {bcfg['model']['mixste']['dim']} channels, "
        f"{bcfg['model']['mixste']['heads']} heads, L = {bcfg['data']['length']}, trained with occlusion `{bcfg['data']['occlusion']}`.",
        f"- Denoiser: {cfg['model']['denoiser']['num_blocks']} blocks x {cfg['model']['denoiser']['channels']} channels, "
        f"T = {cfg['diffusion']['num_steps']} ({cfg['diffusion']['schedule']} schedule), trained with occlusion "
        f"`{cfg['data']['occlusion']}`.",
        *_input_lines(bcfg, cfg),
        f"- Default sampling: {sampling['sampler']} {sampling['steps']} steps"
        + (f" (eta {sampling['eta']:g})" if sampling["sampler"] == "ddim" else "")
        + f", H = {sampling['hypotheses']}, "
        f"{sampling['aggregation']}, predicted x0 clipped to {cfg['diffusion'].get('clip_x0')} m"
        + (
            f"; sampling starts from the MixSTE estimate noised to step {sampling.get('start_step')} "
            "(not the paper's pure noise)."
            if sampling.get("init") == "backbone"
            else "; sampling starts from pure noise (the paper)."
        ),
        "",
        "## Training runs",
    ]
    for key in ("mixste", "wrapper"):
        t = info.get(key)
        if t:
            fit = t.get("train_mpjpe_mm_at_best")
            fit_text = "" if fit is None else f" (training error there {fit:.1f} mm)"
            lines.append(f"- {key}: {t['steps']} steps, best validation MPJPE {t['best_val_mpjpe_mm']:.1f} mm"
                         f"{fit_text}, {t['train_minutes']} min ({t['run']}"
                         + (f", started from {t['init_from']}" if t.get("init_from") else "")
                         + "); hardware: "
                         f"{t.get('train_hardware', 'not recorded')}")  # fmt: skip
    lines += [
        "",
        f"## Test split ({s['frames']} frames, cameras: {', '.join(s['data']['cameras'] or ['all four'])}, "
        f"{TWO_D.get(s['data']['detector'], s['data']['detector'] + ' 2D')}, no occlusion, "
        f"seed {s['seed']})",
        "",
        "Frame-weighted, mm:",
        "",
    ]
    models = [("DiffHPE-Wrapper (this file)", m)]
    if info.get("test_mixste"):
        models.insert(0, ("its MixSTE", info["test_mixste"]["metrics_mm"]))
    specs = [metric_spec(k) for k in CARD_METRICS]
    rows = [[name, *(num(mm[sp.name]["frame_weighted"], sp.digits) for sp in specs)]
            for name, mm in models]  # fmt: skip
    # The ground truth's coherence is the floor; its pose errors against itself are 0.
    floor = [num(m[f"{sp.name}_gt"]["frame_weighted"], sp.digits) if sp.of_pose else "0"
             for sp in specs]  # fmt: skip
    rows.append(["ground truth (floor)", *floor])
    lines += md_table(["model", *(sp.in_text for sp in specs)], rows, aligned=False)
    lines += [
        "",
        "<details><summary>Per action</summary>",
        "",
        "```",
        to_table(m, metrics=list(CARD_METRICS)),
        "```",
        "</details>",
        "",
        "## Bundled sample",
        f"`{info['sample']['file']}`: MPJPE {info['sample']['mpjpe_mm']:.1f} mm. The package test checks it stays "
        f"below {info['sample']['bound_mm']:.0f} mm.",
        "",
        f"Measured on {info['hardware']} in {info['eval_seconds']} s by "
        f"`{info.get('command') or 'diffhpe ship ' + info['wrapper']['run']}`.",
        "",
    ]
    return "\n".join(lines)
