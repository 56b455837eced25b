"""The learning-rate schedules of ``diffhpe train`` (``train.schedule``).

"plateau" (the paper's): halve on a validation plateau, stepped with the validation
MPJPE. "cosine": linear warm-up, then a cosine to ``min_lr`` at ``max_steps``, stepped
every training step: a schedule planned for a budget, independent of a noisy
validation curve.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from diffhpe.config import TrainConfig


def cosine_factor(step: int, warmup: int, total: int, floor: float) -> float:
    """LR multiplier at ``step``: linear warm-up over ``warmup`` steps to 1, then a cosine
    from 1 down to ``floor`` at ``total`` steps (and ``floor`` after)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_lr_scheduler(opt: torch.optim.Optimizer, t: TrainConfig) -> Any:
    """``train.schedule``: "plateau" (stepped with the validation MPJPE) or "cosine"
    (warm-up then cosine to ``min_lr`` at ``max_steps``, stepped every training step)."""
    if t.schedule == "cosine":
        floor = min(1.0, t.min_lr / t.lr)
        return torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: cosine_factor(step, t.warmup_steps, t.max_steps, floor)
        )
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=t.plateau_factor, patience=t.plateau_patience, min_lr=t.min_lr
    )


def apply_schedule_settings(sched: Any, opt: torch.optim.Optimizer, t: TrainConfig) -> None:
    """After loading a saved scheduler state (which holds its settings too): the config in
    use wins, like every other setting of a resumed run (counters and current lr kept)."""
    if t.schedule == "plateau":
        sched.patience, sched.factor = t.plateau_patience, t.plateau_factor
        sched.min_lrs = [t.min_lr] * len(opt.param_groups)
        if hasattr(sched, "default_min_lr"):
            sched.default_min_lr = t.min_lr
