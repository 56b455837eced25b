"""Validation during training: MPJPE on fixed evaluation windows, in eval mode.

The sampling noise and the occlusion masks come from fixed seeds, never from the
training RNG streams: the same noise and masks at every validation, and validating
changes no later training draw.
"""

from __future__ import annotations

import torch
from torch import nn

from diffhpe.config import DiffusionConfig
from diffhpe.data.occlusion import OcclusionSpec, occlude
from diffhpe.data.windows import EvalWindows
from diffhpe.diffusion import NoiseSchedule
from diffhpe.inference import make_sampler, predict
from diffhpe.metrics import mpjpe_frames


def windows_mpjpe(
    model: nn.Module,
    windows: EvalWindows,
    limit: int,
    batch_size: int,
    diffusion: DiffusionConfig,
    schedule: NoiseSchedule | None,
    occlusion: OcclusionSpec,
    device: torch.device,
) -> float:
    """MPJPE (mm) of ``model`` over the first ``limit`` of ``windows`` (batches of
    ``batch_size``), under ``occlusion``; ``schedule``: a diffusion model's (its sampler
    is built from ``diffusion``), None for MixSTE."""
    model.eval()
    gen = torch.Generator().manual_seed(1234)  # fixed: never touches training RNG
    occ_gen = torch.Generator().manual_seed(4321)  # the same masks at every validation
    sampler = make_sampler(diffusion, schedule) if schedule is not None else None
    total, count = 0.0, 0
    for b in windows.batches(max(1, batch_size), limit):
        x2d, vis = b["x2d"], b["valid"]
        if occlusion.patterns != ("none",):
            x2d, vis = occlude(x2d, occlusion, occ_gen, valid=vis)
        x2d, vis = x2d.to(device), vis.to(device)
        pred = predict(model, x2d, vis, diffusion, gen, sampler).pose
        m = b["frame_mask"].to(device)
        err = mpjpe_frames(pred.float(), b["x3d"].to(device), m)
        total += float(err[m].sum())
        count += int(m.sum())
    return 1000.0 * total / max(count, 1)
