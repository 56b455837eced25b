"""Predicting 3D from 2D windows with any diffhpe model (paper section 3.5).

Shapes: x2d ``(B, T, J, 2)`` normalised, visible ``(B, T, J)`` bool, predictions
``(B, T, J, 3)`` root-relative camera metres, hypotheses ``(H, B, T, J, 3)``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor, nn

from diffhpe.config import DiffusionConfig, validate_sampling
from diffhpe.diffusion import DDIMSampler, DDPMSampler, aggregate, make_schedule, sample_hypotheses
from diffhpe.diffusion.schedule import NoiseSchedule


@dataclass
class Prediction:
    pose: Tensor  # (B, T, J, 3) aggregated, root-relative
    hypotheses: Tensor | None = None  # (H, B, T, J, 3), diffusion models only


def make_sampler(
    diff: DiffusionConfig, schedule: NoiseSchedule | None = None
) -> DDPMSampler | DDIMSampler:
    """The sampler named by ``diff.sampler``: DDPM over every step from ``start_step``
    (default T-1) to 0, or DDIM with K steps over that range."""
    schedule = schedule or make_schedule(diff.schedule, diff.num_steps)
    start = diff.start_step
    if diff.sampler == "ddpm":
        return DDPMSampler(schedule, clip_x0=diff.clip_x0, start_step=start)
    if diff.sampler == "ddim":
        return DDIMSampler(
            schedule, diff.sample_steps, eta=diff.eta, clip_x0=diff.clip_x0, start_step=start
        )
    raise ValueError(f"diffusion.sampler must be 'ddpm' or 'ddim', got {diff.sampler!r}")


def with_sampling(diff: DiffusionConfig, **overrides: Any) -> DiffusionConfig:
    """A copy of ``diff`` with the non-None ``overrides`` (sampler, sample_steps,
    hypotheses, eta, aggregation, clip_x0, init, start_step), checked; DDPM always runs
    every step from ``start_step`` (T-1 by default); ``clip_x0=0`` turns clipping off;
    ``init='noise'`` resets ``start_step`` to T-1."""
    names = {f.name for f in fields(DiffusionConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(
            f"unknown sampling settings {sorted(unknown)}; expected some of {sorted(names)}"
        )
    d = replace(diff, **{k: v for k, v in overrides.items() if v is not None})
    if d.init == "noise":
        d.start_step = None
    if d.sampler == "ddpm":
        d.sample_steps = d.num_steps if d.start_step is None else d.start_step + 1
    if d.clip_x0 == 0:
        d.clip_x0 = None
    validate_sampling(d)
    return d


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
    sampler: DDPMSampler | DDIMSampler | None = None,
    keep_hypotheses: bool = False,
    camera: Any = None,
) -> Prediction:
    """Lift a batch of windows. The conditioning is computed once for all steps and
    hypotheses; the H hypotheses run as one batch of B * H windows. With
    ``diff.init='backbone'`` every hypothesis starts from the wrapper's MixSTE estimate
    noised to ``diff.start_step``. ``camera`` is used by ``diff.aggregation='reproj'``
    only: an :class:`~diffhpe.trajectory.Intrinsics` in normalised screen units (or one
    per window; :func:`diffhpe.diffusion.reproj.screen_intrinsics`), None: the focal
    guess."""
    if not is_diffusion(model):
        return Prediction(_root_relative(model(x2d, visible)))
    x_start = None
    if diff.init == "backbone":
        if not hasattr(model, "condition_and_estimate"):
            raise ValueError(
                f"diffusion.init='backbone' needs a DiffHPE-Wrapper, got {type(model).__name__}"
            )
        cond, estimate = model.condition_and_estimate(x2d, visible)
        x_start = _root_relative(estimate)
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
    hyps = _root_relative(hyps)
    pose = aggregate(hyps, diff.aggregation, x2d=x2d, visible=visible, camera=camera)
    return Prediction(pose, hyps if keep_hypotheses else None)
