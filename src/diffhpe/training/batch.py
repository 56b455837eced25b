"""One training batch: sampled windows, occluded 2D, and the loss's gradients.

- MixSTE is trained with MPJPE (paper: the official recipe without the hand-tuned
  weighted loss); the diffusion models with the DDPM noise-prediction L2 loss of paper
  section 3.4 (:func:`diffhpe.diffusion.training_loss`), the wrapper's MixSTE frozen.
- Micro-batches (``train.micro_batch``): the gradient is accumulated over passes of a
  few windows, each pass's loss weighted by its share of the batch, so the update equals
  the whole batch's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from diffhpe.data.occlusion import OcclusionSpec, occlude
from diffhpe.data.windows import TrainWindows
from diffhpe.diffusion import NoiseSchedule, training_loss


@dataclass
class TrainBatch:
    """``x2d`` (B, T, J, 2) with ``visible`` (B, T, J) after occlusion, ``x3d`` (B, T, J, 3)
    targets and ``frame_mask`` (B, T), on the training device."""

    x2d: Tensor
    visible: Tensor
    x3d: Tensor
    frame_mask: Tensor


def training_batch(
    windows: TrainWindows,
    size: int,
    rng: np.random.Generator,
    occlusion: OcclusionSpec,
    gen: torch.Generator,
    device: torch.device,
) -> TrainBatch:
    """``size`` random windows (drawn with ``rng``), their 2D occluded (drawn with ``gen``)."""
    b = windows.sample(size, rng)
    x2d, visible = occlude(b["x2d"], occlusion, gen, valid=b["valid"])
    x2d, visible = x2d.to(device), visible.to(device)
    x3d, fmask = b["x3d"].to(device), b["frame_mask"].to(device)
    return TrainBatch(x2d, visible, x3d, fmask)


def mpjpe_loss(pred: Tensor, target: Tensor, frame_mask: Tensor) -> Tensor:
    """Mean per-joint position error over valid frames (the supervised MixSTE loss)."""
    err = torch.linalg.vector_norm(pred - target, dim=-1).mean(-1)  # (B, T)
    m = frame_mask.to(err.dtype)
    return (err * m).sum() / m.sum().clamp(min=1)


def accumulate_gradients(
    model: nn.Module,
    net: nn.Module,
    batch: TrainBatch,
    micro: int,
    gen: torch.Generator,
    schedule: NoiseSchedule | None,
    prediction: str,
    pose_scale: float = 1.0,
) -> float:
    """Backpropagate the batch's loss in passes of ``micro`` windows (0: one pass);
    returns the batch's loss. ``net`` is ``model`` or its DDP wrapper; ``schedule``: the
    diffusion schedule of a diffusion model (DDPM loss on the poses divided by
    ``pose_scale``, noise drawn with ``gen``), None for MixSTE (MPJPE)."""
    x2d, visible, x3d, fmask = batch.x2d, batch.visible, batch.x3d, batch.frame_mask
    n = x2d.shape[0]
    micro = micro or n
    total = 0.0
    # Gradient accumulation: each pass's loss is weighted by its share of the batch,
    # so the update equals the whole batch's (the MPJPE loss averages over frames).
    for lo in range(0, n, micro):
        sl = slice(lo, min(lo + micro, n))
        if schedule is not None:
            cond = model.condition(x2d[sl], visible[sl])
            loss = training_loss(
                schedule,
                net,
                x3d[sl] / pose_scale,
                cond,
                gen,
                mask=fmask[sl],
                prediction=prediction,
            )
            weight = (sl.stop - sl.start) / n
        else:
            loss = mpjpe_loss(net(x2d[sl], visible[sl]), x3d[sl], fmask[sl])
            weight = float(fmask[sl].sum()) / max(float(fmask.sum()), 1.0)
        (loss * weight).backward()
        total += float(loss.detach()) * weight
    return total
