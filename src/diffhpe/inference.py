"""Predicting 3D from 2D windows with any diffhpe model (paper section 3.5).

Shapes: x2d ``(B, T, J, 2)`` normalised, visible ``(B, T, J)`` bool, predictions
``(B, T, J, 3)`` root-relative camera metres, hypotheses ``(H, B, T, J, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from diffhpe.config import DiffusionConfig
from diffhpe.diffusion import aggregate, make_schedule, sample_hypotheses
from diffhpe.diffusion.registry import sampler_spec
from diffhpe.diffusion.samplers import Sampler
from diffhpe.diffusion.schedule import NoiseSchedule
from diffhpe.sampling import with_sampling

__all__ = ["Prediction", "is_diffusion", "make_sampler", "predict", "with_sampling"]


@dataclass
class Prediction:
    pose: Tensor  # (B, T, J, 3) aggregated, root-relative
    hypotheses: Tensor | None = None  # (H, B, T, J, 3), diffusion models only


def make_sampler(diff: DiffusionConfig, schedule: NoiseSchedule | None = None) -> Sampler:
    """The sampler named by ``diff.sampler`` (:mod:`diffhpe.diffusion.registry`), e.g. DDPM
    over every step from ``start_step`` (default T-1) to 0, or DDIM with K steps over that
    range. The sampler works in diffusion units (metres / ``diff.pose_scale``), so the
    ``clip_x0`` it gets is converted."""
    spec = sampler_spec(diff.sampler, "diffusion.sampler")
    schedule = schedule or make_schedule(diff.schedule, diff.num_steps)
    clip = None if diff.clip_x0 is None else diff.clip_x0 / diff.pose_scale
    return spec.build(
        schedule, steps=diff.sample_steps, eta=diff.eta, clip_x0=clip,
        start_step=diff.start_step,
    )  # fmt: skip


def is_diffusion(model: nn.Module) -> bool:
    return hasattr(model, "condition")


def _root_relative(x: Tensor) -> Tensor:
    return x - x[..., :1, :]


@torch.inference_mode()
def predict(
    model: nn.Module,
    x2d: Tensor,
    visible: Tensor | None,
    diff: DiffusionConfig,
    generator: torch.Generator | None = None,
    sampler: Sampler | None = None,
    keep_hypotheses: bool = False,
    camera: Any = None,
) -> Prediction:
    """Lift a batch of windows. The conditioning is computed once for all steps and
    hypotheses; the H hypotheses run as one batch of B * H windows. With
    ``diff.init='backbone'`` every hypothesis starts from the wrapper's MixSTE estimate
    noised to ``diff.start_step``. ``camera`` is used by ``diff.aggregation='reproj'``
    only: an :class:`~diffhpe.trajectory.Intrinsics` in normalised screen units (or one
    per window; :func:`diffhpe.diffusion.reproj.screen_intrinsics`), None: the focal
    guess. The reverse process runs on poses divided by ``diff.pose_scale`` (the start
    too); the hypotheses come back in metres."""
    if not is_diffusion(model):
        return Prediction(_root_relative(model(x2d, visible)))
    x_start = None
    if diff.init == "backbone":
        if not hasattr(model, "condition_and_estimate"):
            raise ValueError(
                f"diffusion.init='backbone' needs a DiffHPE-Wrapper, got {type(model).__name__}"
            )
        cond, estimate = model.condition_and_estimate(x2d, visible)
        x_start = _root_relative(estimate) / diff.pose_scale
    else:
        cond = model.condition(x2d, visible)
    sampler = sampler or make_sampler(diff)
    b, t, j, _ = x2d.shape
    hyps = sample_hypotheses(
        sampler,
        model,
        cond,
        (b, t, j, 3),
        diff.hypotheses,
        generator,
        x_start=x_start,
        device=x2d.device,
        dtype=x2d.dtype,
        prediction=diff.prediction,
    )
    hyps = _root_relative(hyps) * diff.pose_scale
    pose = aggregate(hyps, diff.aggregation, x2d=x2d, visible=visible, camera=camera)
    return Prediction(pose, hyps if keep_hypotheses else None)
