"""``diffhpe evaluate``: every metric, per action, per subject and overall, for one checkpoint.

Each metric of the summary's ``metrics_mm`` holds ``per_action`` and ``per_subject``
means with ``action_averaged`` and ``subject_averaged``; ``evaluate(..., subjects=[...])``
(``--subjects``) evaluates a subset of the split's subjects. (Not an :class:`EvalOptions`
field: the experiments' cache keys are the options, and a subset is never cached.)

Test-time occlusions are drawn independently of the training ones (seeded), so one
checkpoint can fill a row of the paper's train x test matrices (Figures 3-5).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from diffhpe.config import RunConfig
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.data.families import FAMILIES, apply_family
from diffhpe.data.occlusion import OcclusionSpec, occlude
from diffhpe.data.windows import EvalWindows
from diffhpe.diffusion import oracle_best
from diffhpe.inference import is_diffusion, make_sampler, predict
from diffhpe.lifting import pretrained_path
from diffhpe.metrics import (
    METRIC_NAMES,
    REFERENCE_METRIC_NAMES,
    MetricAccumulator,
    evaluate_batch,
    mpjpe_frames,
    to_table,
)
from diffhpe.models.factory import load_model
from diffhpe.safety import (
    check_device,
    check_hypotheses,
    check_sampling_memory,
    write_text_atomic,
)
from diffhpe.sampling import SamplingOverride

# The summary's metrics (``metrics_mm``), in the order evaluate_batch walks the registry
# (diffhpe.metrics.METRICS); the printed report adds the ground truth's (``*_gt``).
TABLE_METRICS = list(METRIC_NAMES)


@dataclass
class EvalOptions:
    """What one evaluation runs. The sampling fields (hypotheses .. start_step, None: the
    checkpoint's) are those of :class:`~diffhpe.sampling.SamplingOverride`, read together
    as ``sampling``; ``EvalOptions(**override.describe(), ...)`` builds from one. The
    fields and their order are the experiments' cache keys: keep them."""

    split: str = "test"
    occlusion: str = "none"
    family: str = "exact"  # 2D joint definitions (diffhpe.data.families)
    hypotheses: int | None = None
    sampler: str | None = None
    steps: int | None = None
    eta: float | None = None
    aggregation: str | None = None
    clip_x0: float | None = None
    init: str | None = None
    start_step: int | None = None
    batch_size: int = 256
    seed: int = 0
    cameras: list[str] | None = None
    stride: int = 1
    window_stride: int = 1  # keep every k-th 27-frame window (frames stay at full rate)
    max_windows: int = 0  # 0: all
    data_root: str | None = None
    data_kind: str | None = None
    detector: str | None = None
    oracle: bool = False  # also report the oracle-best upper bound (uses ground truth)
    device: str = "cpu"

    @property
    def sampling(self) -> SamplingOverride:
        """The sampling fields as one override."""
        return SamplingOverride(**{k: getattr(self, k) for k in SamplingOverride.keys()})


def check_source(source: DataSource) -> None:
    """Clear errors, naming the fix, for a data folder that does not match ``source``:
    Human3.6M files read as the open benchmark, or a 2D file of another detector."""
    root = source.root
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} is not a folder (--data-root)")
    if source.kind == "open" and not (root / "benchmark.json").exists():
        if (root / "data_3d_h36m.npz").exists():
            raise ValueError(
                f"{root} holds Human3.6M files (data_3d_h36m.npz), not the open benchmark; "
                "pass --data-kind h36m (EvalOptions(data_kind='h36m'))"
            )
    if not source.file_3d.exists():
        hint = "; run `diffhpe data build`" if source.kind == "open" else ""
        raise FileNotFoundError(
            f"{root}: no {source.file_3d.name} (--data-kind {source.kind}){hint}"
        )
    if not source.file_2d.exists():
        prefix = f"data_2d_{source.kind}_"
        have = sorted(f.name[len(prefix) : -4] for f in root.glob(f"{prefix}*.npz"))
        raise FileNotFoundError(
            f"{root}: no {source.file_2d.name} for detector {source.detector!r}; "
            f"available --detector: {', '.join(have) or 'none'}"
        )


def eval_windows(
    cfg: RunConfig, opts: EvalOptions, subjects: list[str] | None = None
) -> tuple[DataSource, EvalWindows]:
    """The data source (the checkpoint's unless ``opts`` names another) and the windows
    ``opts`` selects from it (split, cameras, frame and window strides; ``subjects``: a
    subset of the split's, None for all). Camera ids may be numbers (``54138969``) or
    strings."""
    kind = opts.data_kind or cfg.data.kind
    if kind not in ("open", "h36m"):
        raise ValueError(f"data kind must be 'open' or 'h36m', got {kind!r} (--data-kind)")
    source = DataSource(
        kind,
        Path(opts.data_root or cfg.data.root),
        opts.detector or cfg.data.detector,
    )
    check_source(source)
    cameras = tuple(str(c) for c in opts.cameras) if opts.cameras else None
    seqs = load_sequences(source, opts.split, cameras, opts.stride, subjects=subjects)
    return source, EvalWindows(seqs, cfg.data.length).every(opts.window_stride)


def sequence_cameras(source: DataSource, split: str, sequences: list) -> list:
    """Per sequence, its camera's intrinsics in normalised screen units, for
    ``aggregation='reproj'`` (:func:`diffhpe.diffusion.reproj.screen_intrinsics`): the
    evaluation data knows its cameras, so the true calibration (focal, principal point,
    distortion) is used, not the focal guess of ``diffhpe lift``. Human3.6M camera ids take
    the bundled calibration, virtual cameras (``data build --virtual-cameras``) their
    ``benchmark.json`` record; any other camera the focal guess."""
    from diffhpe.cameras import CAMERA_IDS, load_cameras
    from diffhpe.data.dataset import _subjects_and_extrinsics
    from diffhpe.data.virtual import camera_from_dict
    from diffhpe.diffusion.reproj import default_screen_intrinsics, screen_intrinsics
    from diffhpe.trajectory import Intrinsics

    def screen(cam: Any) -> Intrinsics:
        return screen_intrinsics(Intrinsics.from_camera(cam), cam.width, cam.height)

    h36m = {cid: screen(c) for cid, c in load_cameras().items()}
    virtual = _subjects_and_extrinsics(source, split)[3]
    out = []
    for seq in sequences:
        subject, *clip, cid = seq.name.split("/")
        records = virtual.get(subject, {}).get("/".join(clip)) or []
        rec = next((r for r in records if r.get("id") == cid), None)
        if rec is not None:
            out.append(screen(camera_from_dict(rec, cid, f"{source.root}: {seq.name}")))
        elif cid in CAMERA_IDS:
            out.append(h36m[cid])
        else:
            out.append(default_screen_intrinsics())
    return out


def evaluate(
    checkpoint: str | Path,
    opts: EvalOptions,
    progress: bool = True,
    subjects: list[str] | None = None,
) -> dict[str, Any]:
    """Evaluate ``checkpoint`` (``"default"``: the shipped model); returns a JSON-ready
    summary with per-action and per-subject metrics (mm). ``subjects``: only these of the
    split's subjects (None: all; an unknown one is an error naming the split's). Hypotheses
    and the memory of one batch are checked (:mod:`diffhpe.safety`) before anything is
    sampled."""
    t0 = time.time()
    if str(checkpoint) == "default":
        checkpoint = pretrained_path()
    check_device(opts.device, "device (--device)")
    check_hypotheses(opts.hypotheses, "hypotheses (-H)")
    device = torch.device(opts.device)
    model, cfg = load_model(checkpoint, device)
    diff = opts.sampling.apply(cfg.diffusion)
    if is_diffusion(model):
        check_sampling_memory(
            diff.hypotheses, opts.batch_size, cfg.data.length, cfg.model.denoiser.channels,
            device=opts.device, fix="use fewer hypotheses (-H) or a smaller --batch-size",
        )  # fmt: skip
    if opts.family not in FAMILIES:
        raise ValueError(f"family: expected one of {FAMILIES}, got {opts.family!r}")
    source, windows = eval_windows(cfg, opts, subjects)
    spec = OcclusionSpec.parse(opts.occlusion)
    gen_occ = torch.Generator().manual_seed(opts.seed)
    gen_smp = torch.Generator().manual_seed(opts.seed + 1)
    sampler = make_sampler(diff) if is_diffusion(model) else None
    reproj = is_diffusion(model) and diff.aggregation == "reproj"
    seq_cams = sequence_cameras(source, opts.split, windows.sequences) if reproj else None
    acc = MetricAccumulator(with_reference=True)
    subject_acc = MetricAccumulator(with_reference=True)  # the same values, per subject
    oracle_acc = MetricAccumulator() if opts.oracle and is_diffusion(model) else None
    limit = opts.max_windows or len(windows)
    n_frames = 0
    seen = 0
    bar = tqdm(total=min(limit, len(windows)), desc="evaluate", unit="win", disable=not progress)
    t_pred = 0.0
    for b in windows.batches(opts.batch_size, limit):
        n = len(b["actions"])
        seen += n
        x2d, visible = b["x2d"], b["valid"]
        if opts.family != "exact":
            fx, fv = apply_family(opts.family, x2d.numpy(), b["x3d"].numpy(), visible.numpy())
            x2d, visible = torch.from_numpy(fx), torch.from_numpy(fv)
        x2d, visible = occlude(x2d, spec, gen_occ, valid=visible)
        x2d, visible = x2d.to(device), visible.to(device)
        target, mask = b["x3d"].to(device), b["frame_mask"].to(device)
        ts = time.time()
        cams = [seq_cams[s] for s in b["seq_index"].tolist()] if seq_cams else None
        pred = predict(
            model, x2d, visible, diff, gen_smp, sampler, keep_hypotheses=oracle_acc is not None,
            camera=cams,
        )  # fmt: skip
        t_pred += time.time() - ts
        actions = b["actions"]
        who = [windows.sequences[s].subject for s in b["seq_index"].tolist()]
        evaluate_batch(
            pred.pose.float().cpu(), target.cpu(), mask.cpu(), actions, acc,
            by=((subject_acc, who),),
        )  # fmt: skip
        if oracle_acc is not None and pred.hypotheses is not None:
            best = oracle_best(pred.hypotheses, target)
            oracle_acc.update_frames(
                "mpjpe_oracle_upper_bound",
                mpjpe_frames(best.cpu(), target.cpu(), mask.cpu()),
                mask.cpu(),
                actions,
            )
        n_frames += int(mask.sum())
        bar.update(n)
    bar.close()
    summary: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "model": cfg.model.kind,
        "split": opts.split,
        "data": {
            "kind": source.kind,
            "root": str(source.root),
            "detector": source.detector,
            "cameras": opts.cameras,
            "subjects": sorted({s.subject for s in windows.sequences}),
            "stride": opts.stride,
            "window_stride": opts.window_stride,
        },  # fmt: skip
        "family": opts.family,
        "occlusion_test": spec.to_string(),
        "occlusion_train": cfg.data.occlusion,
        "sampling": {
            **SamplingOverride.of(diff).describe(),
            **({"reproj_camera": "calibration of each sequence's camera"} if reproj else {}),
        }
        if is_diffusion(model)
        else None,  # fmt: skip
        "seed": opts.seed,
        "frames": n_frames,
        "windows": seen,
        "seconds": round(time.time() - t0, 2),
        "predict_seconds": round(t_pred, 2),
        "frames_per_second": round(n_frames / max(t_pred, 1e-9), 1),
        "device": str(device),
        "metrics_mm": _with_subjects(acc.summary(scale=1000.0), subject_acc.summary(1000.0)),
    }
    if oracle_acc is not None:
        summary["oracle_upper_bound_mm"] = oracle_acc.summary(scale=1000.0)
    return summary


def _with_subjects(per_action: dict, per_subject: dict) -> dict:
    """Each metric of ``per_action`` (a :meth:`MetricAccumulator.summary`) with the
    ``per_subject`` means and their ``subject_averaged`` added."""
    for name, entry in per_action.items():
        by = per_subject.get(name, {})
        entry["per_subject"] = by.get("per_action", {})
        entry["subject_averaged"] = by.get("action_averaged", math.nan)
    return per_action


def format_report(summary: dict[str, Any]) -> str:
    """A readable table (mm) of the summary from :func:`evaluate`."""
    head = (
        f"{summary['model']} on {summary['split']} ({summary['frames']} frames), "
        f"test occlusion {summary['occlusion_test']}, train occlusion {summary['occlusion_train']}"
    )
    if summary.get("family", "exact") != "exact":
        head += f", 2D definitions {summary['family']}"
    if summary.get("sampling"):
        s = summary["sampling"]
        head += f"\nsampler {s['sampler']} {s['steps']} steps, eta {s['eta']}, H={s['hypotheses']}, {s['aggregation']}, clip_x0 {s.get('clip_x0')}"
        if s.get("init") == "backbone":
            head += f", from the backbone estimate at step {s.get('start_step')}"
    metrics = TABLE_METRICS + list(REFERENCE_METRIC_NAMES)
    lines = [head, "", to_table(summary["metrics_mm"], metrics=metrics)]
    if any("per_subject" in summary["metrics_mm"][m] for m in metrics):
        lines += ["", to_table(summary["metrics_mm"], metrics=metrics, by="subject")]
    if "oracle_upper_bound_mm" in summary:
        ob = summary["oracle_upper_bound_mm"]["mpjpe_oracle_upper_bound"]
        lines.append(
            f"\noracle-best MPJPE (UPPER BOUND, picks hypotheses with the ground truth): {ob['frame_weighted']:.1f} mm"
        )
    lines.append(f"\n{summary['frames_per_second']} frames/s of prediction on {summary['device']}")
    return "\n".join(lines)


def write_summary(summary: dict[str, Any], path: str | Path) -> None:
    """Write the summary as JSON, atomically (temp file + rename)."""
    write_text_atomic(path, json.dumps(summary, indent=1))


@torch.inference_mode()
def one_step_errors(
    model: torch.nn.Module,
    schedule: Any,
    diff: Any,
    x0: torch.Tensor,
    cond: torch.Tensor,
    eps: torch.Tensor,
    t: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Errors of one denoising step from ground truth ``x0`` (B, T, J, 3), metres.

    The diffusion space is ``x0 / diff.pose_scale``: it is noised there by eq. (3) with
    ``eps`` (B, T, J, 3) at step index ``t``, the model's output turned into eps_hat, and
    x0_hat (eq. 4 inverted) scaled back to metres. Returns three (B, T) tensors: the eps
    squared error (eq. 7) per frame, the root-relative x0 error (m) per frame, and the same
    after clipping x0_hat to ``diff.clip_x0`` metres (unclipped when it is unset).
    """
    from diffhpe.diffusion.schedule import add_noise, eps_from_output, predict_x0

    scale, clip = diff.pose_scale, diff.clip_x0
    steps = torch.full((x0.shape[0],), t, dtype=torch.long, device=x0.device)
    x_t = add_noise(schedule, x0 / scale, eps, t)
    eps_hat = eps_from_output(schedule, model(x_t, steps, cond), x_t, t, diff.prediction)
    x0_hat = predict_x0(schedule, x_t, eps_hat, t) * scale
    eps_err = ((eps_hat - eps) ** 2).mean(dim=(-1, -2))
    x0_errs = []
    for x in (x0_hat, x0_hat.clamp(-clip, clip) if clip else x0_hat):
        x = x - x[..., :1, :]
        x0_errs.append((x - x0).norm(dim=-1).mean(-1))
    return eps_err, x0_errs[0], x0_errs[1]


def denoising_profile(
    checkpoint: str | Path, steps: list[int], opts: EvalOptions, progress: bool = True
) -> dict[str, Any]:
    """One-step denoising error by noise level: how well a diffusion model recovers x0.

    For each step index ``t`` (0 = the paper's t = 1, the least noise), the test windows'
    ground truth is noised by eq. (3), ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``, the
    model predicts eps, and ``x0_hat = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)`` is
    compared with x0: MPJPE (mm, root-relative, unclipped), the same after clipping x0_hat to
    the checkpoint's ``clip_x0`` when it has one, and the eps MSE of eq. (7). At large t the
    x0 error is the eps error times ``sqrt((1 - abar_t) / abar_t)``, so it shows where the
    model's conditioning (not x_t) carries the pose. A model with ``diffusion.pose_scale``
    noises and predicts x0 / pose_scale; errors are converted back to metres.
    Returns ``{"steps": [{"t", "alpha_bar", "eps_mse", "x0_mpjpe_mm", "x0_mpjpe_clipped_mm"}],
    "frames", "seconds", ...}``.
    """
    from diffhpe.diffusion import make_schedule

    t0 = time.time()
    device = torch.device(opts.device)
    model, cfg = load_model(checkpoint, device)
    if not is_diffusion(model):
        raise ValueError(f"{checkpoint}: denoising_profile needs a diffusion model, got a MixSTE")
    schedule = make_schedule(cfg.diffusion.schedule, cfg.diffusion.num_steps).to(device)
    bad = [t for t in steps if not 0 <= t < schedule.num_steps]
    if bad:
        raise ValueError(f"denoising_profile: steps {bad} outside 0..{schedule.num_steps - 1}")
    _, windows = eval_windows(cfg, opts)
    gen = torch.Generator().manual_seed(opts.seed)
    sums = {t: [0.0, 0.0, 0.0, 0.0] for t in steps}  # eps sq err, x0 err, clipped err, count
    limit = opts.max_windows or len(windows)
    seen, frames = 0, 0
    bar = tqdm(total=min(limit, len(windows)), desc="denoising", unit="win", disable=not progress)
    for b in windows.batches(opts.batch_size, limit):
        n = len(b["actions"])
        seen += n
        x2d, visible = b["x2d"], b["valid"]
        x2d = torch.where(visible[..., None], x2d, torch.zeros_like(x2d)).to(device)
        x0, mask = b["x3d"].to(device), b["frame_mask"].to(device)
        cond = model.condition(x2d, visible.to(device))
        frames += int(mask.sum())
        for t in steps:
            eps = torch.randn(x0.shape, generator=gen).to(device)
            errs = one_step_errors(model, schedule, cfg.diffusion, x0, cond, eps, t)
            s = sums[t]
            for k, e in enumerate(errs):
                s[k] += float((e * mask).sum())
            s[3] += float(mask.sum())
        bar.update(n)
    bar.close()
    abar = schedule.alphas_cumprod
    rows = [
        {
            "t": t,
            "alpha_bar": float(abar[t]),
            "eps_mse": sums[t][0] / sums[t][3],
            "x0_mpjpe_mm": 1000.0 * sums[t][1] / sums[t][3],
            "x0_mpjpe_clipped_mm": 1000.0 * sums[t][2] / sums[t][3],
        }
        for t in steps
    ]
    return {
        "checkpoint": str(checkpoint),
        "split": opts.split,
        "cameras": opts.cameras,
        "stride": opts.stride,
        "clip_x0": cfg.diffusion.clip_x0,
        "seed": opts.seed,
        "frames": frames,
        "windows": seen,
        "steps": rows,
        "seconds": round(time.time() - t0, 2),
    }
