"""Diffusion core: schedules, training loss, DDPM/DDIM samplers, hypothesis aggregation.

Samplers are registered by name in ``registry.py`` (``SAMPLERS``), aggregations in
``aggregate.METHODS``.

Schedule, sampler and network stay separate: the network is any callable
``model(x_t (B, T, J, 3), t (B,) long, cond) -> eps_hat (B, T, J, 3)``. Step index ``t`` in
``0..T-1`` is the paper's ``t + 1`` (see ``schedule.py``).
"""

from __future__ import annotations

from .aggregate import METHODS, aggregate, hypothesis_std, oracle_best
from .registry import INITS, SAMPLERS, SamplerSpec, sampler_names, sampler_spec
from .samplers import (
    DDIMSampler,
    DDPMSampler,
    Sampler,
    sample,
    sample_hypotheses,
    tile_cond,
)
from .schedule import (
    PREDICTIONS,
    SCHEDULES,
    Model,
    NoiseSchedule,
    add_noise,
    cosine_schedule,
    eps_from_output,
    gather,
    linear_schedule,
    make_schedule,
    predict_eps,
    predict_x0,
    prediction_target,
    sample_noise,
    training_loss,
)

__all__ = [
    "INITS",
    "METHODS",
    "PREDICTIONS",
    "SAMPLERS",
    "SCHEDULES",
    "DDIMSampler",
    "DDPMSampler",
    "Model",
    "NoiseSchedule",
    "Sampler",
    "SamplerSpec",
    "add_noise",
    "aggregate",
    "cosine_schedule",
    "eps_from_output",
    "gather",
    "hypothesis_std",
    "linear_schedule",
    "make_schedule",
    "oracle_best",
    "predict_eps",
    "predict_x0",
    "prediction_target",
    "sample",
    "sample_hypotheses",
    "sampler_names",
    "sampler_spec",
    "sample_noise",
    "tile_cond",
    "training_loss",
]
