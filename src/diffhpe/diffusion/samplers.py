"""Reverse-process samplers (DDPM, DDIM) and the denoising loops (paper section 3.5).

Shapes: B batch, T frames, J joints, C coordinates (3); H hypotheses. Diffusion steps
follow ``schedule.py``'s convention: index ``t`` in ``0..S-1`` is the paper's ``t + 1``,
and index ``-1`` is the clean data x_0 (alpha-bar 1).

A sampler holds only the schedule: ``step`` maps a noise prediction and x_t to
(x_prev, x0_pred). The network is a callable ``model(x_t, t (B,) long, cond)``; ``cond``
(e.g. frozen MixSTE features) is computed once by the caller and passed unchanged to
every step. Each sampler is registered by name in ``registry.py`` (what the command line,
configs and manifests offer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch
from torch import Tensor

from .schedule import Model, NoiseSchedule, add_noise, eps_from_output, sample_noise

Callback = Callable[[int, int, Tensor, Tensor], None]


def _check_clip(clip_x0: float | None, where: str) -> None:
    if clip_x0 is not None and not clip_x0 > 0:
        raise ValueError(f"{where}: clip_x0 must be None or > 0, got {clip_x0}")


def _start_step(start_step: int | None, total: int, where: str) -> int:
    """The first visited step: ``start_step`` (checked to lie in 0..S-1), or S-1."""
    if start_step is None:
        return total - 1
    if not isinstance(start_step, int) or not 0 <= start_step < total:
        raise ValueError(
            f"{where}: start_step must be an integer in 0..{total - 1}, got {start_step!r}"
        )
    return start_step


class Sampler(Protocol):
    """What the loops need: the visited steps and one reverse transition per step."""

    schedule: NoiseSchedule
    timesteps: tuple[int, ...]

    def advance(
        self, eps: Tensor, i: int, x_t: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]: ...


class DDPMSampler:
    """Ancestral DDPM sampling (Ho et al. 2020), the paper's inference, eqs. (5)/(12).

    Visits every step: ``timesteps = (S-1, ..., 0)``, or ``(start_step, ..., 0)`` when
    sampling starts from a noised estimate (see :func:`sample`). ``clip_x0`` (default
    None, as in the paper) clamps the predicted x_0 to [-clip_x0, clip_x0] before forming
    the mean.
    """

    def __init__(
        self, schedule: NoiseSchedule, clip_x0: float | None = None, start_step: int | None = None
    ) -> None:
        _check_clip(clip_x0, "DDPMSampler")
        start = _start_step(start_step, schedule.num_steps, "DDPMSampler")
        self.schedule = schedule
        self.clip_x0 = clip_x0
        self.timesteps: tuple[int, ...] = tuple(range(start, -1, -1))

    def step(
        self, eps: Tensor, t: int, x_t: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """One draw of x_{t-1} ~ N(mu_t, Sigma_t) from eps_hat (B, T, J, C) and x_t.

        mu_t = k1 (x_t - k2 eps) (eq. 5); Sigma_t is the posterior variance
        beta_t (1 - abar_{t-1}) / (1 - abar_t). No noise is added at ``t = 0``, where the
        mean equals the predicted x_0. Returns (x_prev, x0_pred), both (B, T, J, C).
        """
        s = self.schedule
        if not 0 <= t < s.num_steps:
            raise ValueError(f"DDPMSampler.step: t must lie in 0..{s.num_steps - 1}, got {t}")
        abar = float(s.alphas_cumprod[t])
        x0_pred = (x_t - (1.0 - abar) ** 0.5 * eps) / abar**0.5
        if self.clip_x0 is None:
            mean = float(s.k1[t]) * (x_t - float(s.k2[t]) * eps)
        else:
            # Clipping changes x0_pred, so the mean must be rebuilt from it (same value
            # as eq. 5 when nothing is clipped).
            x0_pred = x0_pred.clamp(-self.clip_x0, self.clip_x0)
            mean = float(s.posterior_mean_coef_x0[t]) * x0_pred
            mean = mean + float(s.posterior_mean_coef_xt[t]) * x_t
        if t == 0:
            return mean, x0_pred
        std = float(s.posterior_variance[t]) ** 0.5
        return mean + std * sample_noise(tuple(x_t.shape), x_t, generator), x0_pred

    def advance(
        self, eps: Tensor, i: int, x_t: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``step`` from the i-th visited step ``timesteps[i]``."""
        return self.step(eps, self.timesteps[i], x_t, generator)


class DDIMSampler:
    """DDIM sampling (Song et al. 2021, eq. 12 of their paper) on a subset of the steps.

    ``timesteps`` are ``floor(linspace(S-1, 0, num_steps) + 0.5)``: they always start at
    S-1 (the x_T of eq. 8), or at ``start_step`` when sampling starts from a noised
    estimate (see :func:`sample`), and, for ``num_steps >= 2``, end at 0; each transition goes to
    the next visited step and the last one goes to x_0 itself (alpha-bar 1). So
    ``num_steps = 1`` jumps from S-1 straight to x_0. ``eta`` scales the injected noise:
    0 is deterministic given x_T; with ``num_steps = S`` and ``eta = 1`` every transition
    has DDPM's mean and variance, so the sampler coincides with ``DDPMSampler``.
    """

    def __init__(
        self,
        schedule: NoiseSchedule,
        num_steps: int,
        eta: float = 0.0,
        clip_x0: float | None = None,
        start_step: int | None = None,
    ) -> None:
        start = _start_step(start_step, schedule.num_steps, "DDIMSampler")
        if not isinstance(num_steps, int) or not 1 <= num_steps <= start + 1:
            raise ValueError(
                f"DDIMSampler: num_steps must be an integer in 1..{start + 1} (the steps from "
                f"{start} down to 0), got {num_steps!r}"
            )
        if not eta >= 0:
            raise ValueError(f"DDIMSampler: eta must be >= 0, got {eta}")
        _check_clip(clip_x0, "DDIMSampler")
        self.schedule = schedule
        self.num_steps = num_steps
        self.eta = float(eta)
        self.clip_x0 = clip_x0
        grid = torch.linspace(start, 0, num_steps, dtype=torch.float64)
        # floor(x + 0.5), not round(): half-to-even rounding could merge two neighbours.
        self.timesteps: tuple[int, ...] = tuple(int(v) for v in torch.floor(grid + 0.5))
        self.prev_timesteps: tuple[int, ...] = self.timesteps[1:] + (-1,)

    def step(
        self,
        eps: Tensor,
        t: int,
        t_prev: int,
        x_t: Tensor,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """One DDIM transition from step t to step ``t_prev < t`` (-1 means x_0).

        x_prev = sqrt(abar_prev) x0_pred + sqrt(1 - abar_prev - sigma^2) eps + sigma z with
        sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev).
        eps, x_t: (B, T, J, C). Returns (x_prev, x0_pred).
        """
        s = self.schedule
        if not (0 <= t < s.num_steps and -1 <= t_prev < t):
            raise ValueError(
                f"DDIMSampler.step: need 0 <= t < {s.num_steps} and -1 <= t_prev < t, "
                f"got t={t}, t_prev={t_prev}"
            )
        abar = float(s.alphas_cumprod[t])
        abar_prev = float(s.alphas_cumprod[t_prev]) if t_prev >= 0 else 1.0
        x0_pred = (x_t - (1.0 - abar) ** 0.5 * eps) / abar**0.5
        if self.clip_x0 is not None:
            x0_pred = x0_pred.clamp(-self.clip_x0, self.clip_x0)
            # Keep eps consistent with the clipped x_0 so both terms describe one x_t.
            eps = (x_t - abar**0.5 * x0_pred) / (1.0 - abar) ** 0.5
        var = self.eta**2 * (1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev)
        x_prev = abar_prev**0.5 * x0_pred + max(1.0 - abar_prev - var, 0.0) ** 0.5 * eps
        if var > 0:
            x_prev = x_prev + var**0.5 * sample_noise(tuple(x_t.shape), x_t, generator)
        return x_prev, x0_pred

    def advance(
        self, eps: Tensor, i: int, x_t: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """``step`` from ``timesteps[i]`` to ``prev_timesteps[i]``."""
        return self.step(eps, self.timesteps[i], self.prev_timesteps[i], x_t, generator)


def sample(
    sampler: Sampler,
    model: Model,
    cond: Any,
    shape: tuple[int, int, int, int],
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    *,
    x_T: Tensor | None = None,
    x_start: Tensor | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    prediction: str = "eps",
) -> Tensor:
    """Run the reverse process from x_T ~ N(0, I) (eq. 8) down to x_0: (B, T, J, C).
    ``prediction`` says what ``model`` outputs (eps, x0 or v; turned into eps here).

    ``shape`` is (B, T, J, C). ``cond`` goes unchanged to every model call. ``x_T``
    (optional, (B, T, J, C)) replaces the initial draw; otherwise it is drawn from
    ``generator`` with ``device``/``dtype``. ``x_start`` (optional, (B, T, J, C), not
    with ``x_T``) is a clean estimate of x_0, e.g. the backbone's 3D pose: sampling then
    starts from its forward-noised draw ``q(x_t0 | x_start)`` (eq. 3) at the sampler's
    first step t0 (SDEdit-style; use a sampler with ``start_step`` below S-1).
    ``callback(i, t, x_t, x0_pred)`` is called after each step with the state x_t that
    step started from. Runs under ``torch.inference_mode()``.
    """
    if len(shape) != 4:
        raise ValueError(f"sample: shape must be (B, T, J, C), got {tuple(shape)}")
    if x_T is not None and x_start is not None:
        raise ValueError("sample: pass x_T or x_start, not both")
    with torch.inference_mode():
        given, name = (x_T, "x_T") if x_start is None else (x_start, "x_start")
        if given is not None and tuple(given.shape) != tuple(shape):
            raise ValueError(
                f"sample: {name} shape {tuple(given.shape)} differs from shape {tuple(shape)}"
            )
        if x_T is not None:
            x = x_T
        else:
            like = torch.empty(0, device=device, dtype=dtype) if x_start is None else x_start
            x = sample_noise(tuple(shape), like, generator)
            if x_start is not None:
                x = add_noise(sampler.schedule, x_start, x, sampler.timesteps[0])
        for i, t in enumerate(sampler.timesteps):
            t_batch = torch.full((shape[0],), t, dtype=torch.long, device=x.device)
            out = model(x, t_batch, cond)
            if not isinstance(out, Tensor) or out.shape != x.shape:
                got = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise ValueError(
                    f"sample: model must return eps_hat of shape {tuple(x.shape)}, got {got}"
                )
            eps = eps_from_output(sampler.schedule, out, x, t, prediction)
            x_prev, x0_pred = sampler.advance(eps, i, x, generator)
            if callback is not None:
                callback(i, t, x, x0_pred)
            x = x_prev
    return x


def tile_cond(cond: Any, num_hypotheses: int, batch: int | None = None) -> Any:
    """Repeat ``cond`` H times along dim 0, hypothesis-major: row h * B + b is ``cond[b]``.

    Tensors (B, ...) are tiled with ``Tensor.repeat`` (not ``repeat_interleave``);
    tuples, lists and dicts are handled leaf by leaf; None, bool, int, float and str are
    batch-independent and returned as is. With ``batch``, every tensor must have it as
    its first dimension.
    """
    if isinstance(cond, Tensor):
        if cond.ndim == 0 or (batch is not None and cond.shape[0] != batch):
            raise ValueError(
                f"tile_cond: conditioning tensor must be (B, ...) with B={batch}, "
                f"got shape {tuple(cond.shape)}"
            )
        return cond.repeat(num_hypotheses, *([1] * (cond.ndim - 1)))
    if isinstance(cond, (tuple, list)):
        items = [tile_cond(c, num_hypotheses, batch) for c in cond]
        # Named tuples take their fields as positional arguments.
        return type(cond)(*items) if hasattr(cond, "_fields") else type(cond)(items)
    if isinstance(cond, Mapping):
        return {k: tile_cond(v, num_hypotheses, batch) for k, v in cond.items()}
    if cond is None or isinstance(cond, (bool, int, float, str)):
        return cond
    raise ValueError(
        f"tile_cond: cannot repeat a conditioning of type {type(cond).__name__}; "
        "pass repeat_cond=... to sample_hypotheses"
    )


def sample_hypotheses(
    sampler: Sampler,
    model: Model,
    cond: Any,
    shape: tuple[int, int, int, int],
    num_hypotheses: int,
    generator: torch.Generator | None = None,
    repeat_cond: Callable[[Any, int], Any] | None = None,
    *,
    x_start: Tensor | None = None,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    prediction: str = "eps",
) -> Tensor:
    """H hypotheses per window in one batched reverse process: (H, B, T, J, C).

    ``shape`` is (B, T, J, C) and ``cond`` is for B windows. The model sees batches of
    B * H, hypothesis-major (row h * B + b is hypothesis h of window b), so the output
    reshapes to (H, B, ...) without copies. ``cond`` is repeated once before the loop by
    ``repeat_cond(cond, H)`` (default ``tile_cond``, which must match that layout) and
    reused by every step. ``x_start`` (optional, (B, T, J, C)) is a clean estimate every
    hypothesis starts from, noised independently per hypothesis (see :func:`sample`).
    Runs under ``torch.inference_mode()``.
    """
    if not isinstance(num_hypotheses, int) or num_hypotheses < 1:
        raise ValueError(
            f"sample_hypotheses: num_hypotheses must be an integer >= 1, got {num_hypotheses!r}"
        )
    if len(shape) != 4:
        raise ValueError(f"sample_hypotheses: shape must be (B, T, J, C), got {tuple(shape)}")
    batch = shape[0]
    with torch.inference_mode():
        if repeat_cond is None:
            cond_h = tile_cond(cond, num_hypotheses, batch)
        else:
            cond_h = repeat_cond(cond, num_hypotheses)
        big = (batch * num_hypotheses, *shape[1:])
        start = None if x_start is None else tile_cond(x_start, num_hypotheses, batch)
        x0 = sample(
            sampler, model, cond_h, big, generator, x_start=start, device=device, dtype=dtype,
            prediction=prediction,
        )  # fmt: skip
    return x0.reshape(num_hypotheses, *shape)
