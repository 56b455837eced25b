"""Noise schedules, the forward process and the DDPM training loss (paper sections 3.1, 3.4).

Shapes: B batch, T frames, J joints, C coordinates (3); poses are ``(B, T, J, C)``.

Index convention (used by every function of ``diffhpe.diffusion``): a diffusion step is an
integer ``t`` in ``{0, ..., S-1}`` where ``S = schedule.num_steps``; it stands for the
paper's step ``t + 1`` in ``{1, ..., T}``. So ``betas[0]`` is the paper's beta_1 and
``alphas_cumprod[t]`` is the paper's alpha_{t+1} of eq. (2); "x at index -1" is the clean
data x_0, whose alpha-bar is 1.

The schedule holds no weights and no network: the network is passed in as a callable
``model(x_t (B, T, J, C), t LongTensor (B,), cond) -> eps_hat (B, T, J, C)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

Model = Callable[[Tensor, Tensor, Any], Tensor]


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """A variance schedule beta_1..beta_T and every constant derived from it (eqs. 1-5).

    All tensors are float64 ``(S,)`` and computed once here. Index ``t`` is the paper's
    step ``t + 1`` (see the module docstring).

    Derived fields:
        alphas: 1 - beta_t.
        alphas_cumprod: the paper's alpha_t of eq. (2), prod_{s<=t} (1 - beta_s).
        alphas_cumprod_prev: alpha-bar of the previous step (1 at ``t = 0``, i.e. x_0).
        sqrt_alphas_cumprod, sqrt_one_minus_alphas_cumprod: scales of eq. (3).
        posterior_variance: beta_tilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t), the
            variance Sigma_t of q(x_{t-1} | x_t, x_0); 0 at ``t = 0``.
        k1, k2: eq. (5), mu = k1 (x_t - k2 eps) with k1 = 1 / sqrt(1 - beta_t) and
            k2 = beta_t / sqrt(1 - abar_t).
        posterior_mean_coef_x0, posterior_mean_coef_xt: the same mean written as
            c0 x_0 + ct x_t, used when the predicted x_0 is clipped.
    """

    betas: Tensor
    alphas: Tensor = field(init=False)
    alphas_cumprod: Tensor = field(init=False)
    alphas_cumprod_prev: Tensor = field(init=False)
    sqrt_alphas_cumprod: Tensor = field(init=False)
    sqrt_one_minus_alphas_cumprod: Tensor = field(init=False)
    posterior_variance: Tensor = field(init=False)
    k1: Tensor = field(init=False)
    k2: Tensor = field(init=False)
    posterior_mean_coef_x0: Tensor = field(init=False)
    posterior_mean_coef_xt: Tensor = field(init=False)

    def __post_init__(self) -> None:
        betas = torch.as_tensor(self.betas).to(torch.float64)
        if betas.ndim != 1 or betas.numel() == 0:
            raise ValueError(
                "NoiseSchedule: betas must be a non-empty 1D tensor, "
                f"got shape {tuple(betas.shape)}"
            )
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(
                "NoiseSchedule: every beta must lie in (0, 1), got range "
                f"[{betas.min().item():.3g}, {betas.max().item():.3g}]"
            )
        alphas = 1.0 - betas
        abar = torch.cumprod(alphas, dim=0)
        abar_prev = torch.cat([abar.new_ones(1), abar[:-1]])
        values = {
            "betas": betas,
            "alphas": alphas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "sqrt_alphas_cumprod": abar.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1.0 - abar).sqrt(),
            "posterior_variance": betas * (1.0 - abar_prev) / (1.0 - abar),
            "k1": 1.0 / alphas.sqrt(),
            "k2": betas / (1.0 - abar).sqrt(),
            "posterior_mean_coef_x0": abar_prev.sqrt() * betas / (1.0 - abar),
            "posterior_mean_coef_xt": alphas.sqrt() * (1.0 - abar_prev) / (1.0 - abar),
        }
        # The dataclass is frozen so that nobody edits one table and not the others.
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def num_steps(self) -> int:
        """Number of diffusion steps (the paper's T)."""
        return int(self.betas.shape[0])

    def to(self, device: torch.device | str) -> NoiseSchedule:
        """The same schedule with its tables on ``device`` (still float64).

        Avoids one host-to-device copy of a table per ``gather`` call on GPU.
        """
        return NoiseSchedule(self.betas.to(device))


def gather(table: Tensor, t: Tensor, like: Tensor) -> Tensor:
    """``table[t]`` reshaped to ``(B, 1, 1, 1)`` and cast to ``like``'s dtype and device.

    table: (S,) float64; t: (B,) long; like: (B, T, J, C). Indexing happens in float64,
    the cast comes last.
    """
    values = table.to(like.device)[t.to(like.device)]
    return values.to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def cosine_schedule(T: int = 50, s: float = 0.008, max_beta: float = 0.5) -> NoiseSchedule:
    """Cosine schedule of Nichol & Dhariwal (2021), as the DiffHPE authors use it.

    abar(u) = cos^2(((u / T + s) / (1 + s)) * pi / 2) and
    beta_u = min(1 - abar(u) / abar(u - 1), max_beta) for u = 1..T. The last beta would
    be 1 (abar(T) = 0); clipping at ``max_beta`` keeps alpha_T > 0 so x_0 stays
    recoverable from x_T. The authors clip at 0.5.
    """
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"cosine_schedule: T must be an integer >= 1, got {T!r}")
    if s < 0:
        raise ValueError(f"cosine_schedule: s must be >= 0, got {s}")
    if not 0 < max_beta < 1:
        raise ValueError(f"cosine_schedule: max_beta must lie in (0, 1), got {max_beta}")
    u = torch.arange(T + 1, dtype=torch.float64) / T
    abar = torch.cos((u + s) / (1 + s) * (math.pi / 2)) ** 2
    betas = (1.0 - abar[1:] / abar[:-1]).clamp(max=max_beta)
    return NoiseSchedule(betas)


def linear_schedule(
    T: int, beta_start: float = 1e-4, beta_end: float = 0.02, rescale: bool = True
) -> NoiseSchedule:
    """Linear betas from ``beta_start`` to ``beta_end`` (Ho et al. 2020).

    The defaults are DDPM's values for a 1000-step chain. With ``rescale`` (default) both
    ends are multiplied by ``1000 / T`` so a shorter chain destroys about as much signal
    (Nichol & Dhariwal's rescaling): T = 1000 gives DDPM exactly, T = 50 gives betas from
    0.002 to 0.4. Pass ``rescale=False`` to use ``beta_start``/``beta_end`` as given.
    """
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"linear_schedule: T must be an integer >= 1, got {T!r}")
    scale = 1000.0 / T if rescale else 1.0
    lo, hi = beta_start * scale, beta_end * scale
    if not (0 < lo <= hi < 1):
        raise ValueError(
            f"linear_schedule: need 0 < beta_start <= beta_end < 1 after scaling by {scale:g}, "
            f"got {lo:g} .. {hi:g} (T={T}; try rescale=False or smaller betas)"
        )
    return NoiseSchedule(torch.linspace(lo, hi, T, dtype=torch.float64))


SCHEDULES: dict[str, Callable[[int], NoiseSchedule]] = {
    "cosine": cosine_schedule,
    "linear": linear_schedule,
}


def make_schedule(name: str, T: int) -> NoiseSchedule:
    """Schedule ``name`` ("cosine" or "linear", with their default parameters) of T steps."""
    if name not in SCHEDULES:
        raise ValueError(
            f"make_schedule: unknown schedule {name!r}; expected one of {sorted(SCHEDULES)}"
        )
    return SCHEDULES[name](T)


def sample_noise(
    shape: tuple[int, ...],
    like: Tensor,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Standard normal ``shape`` with ``like``'s dtype and device.

    Drawn on the generator's device then moved, so a CPU generator also serves CUDA data.
    """
    device = generator.device if generator is not None else like.device
    z = torch.randn(shape, dtype=like.dtype, device=device, generator=generator)
    return z.to(like.device)


def _timesteps(t: Tensor | int, x: Tensor, schedule: NoiseSchedule, where: str) -> Tensor:
    """Validate ``t`` (int or (B,) long) against x (B, ...) and return it as (B,) long."""
    batch = x.shape[0]
    if isinstance(t, int):
        t = torch.full((batch,), t, dtype=torch.long, device=x.device)
    if t.ndim != 1 or t.shape[0] != batch or t.dtype != torch.long:
        raise ValueError(
            f"{where}: t must be an int or a (B,) long tensor with B={batch}, "
            f"got {t.dtype} of shape {tuple(t.shape)}"
        )
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= schedule.num_steps):
        raise ValueError(f"{where}: t must lie in 0..{schedule.num_steps - 1}, got {t.tolist()}")
    return t


def _check_pose(x: Tensor, name: str, where: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{where}: {name} must be (B, T, J, C), got shape {tuple(x.shape)}")


def add_noise(schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor | int) -> Tensor:
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, a draw of q(x_t | x_0), eq. (3).

    x0, noise: (B, T, J, C); t: (B,) long or int. Returns x_t (B, T, J, C).
    """
    _check_pose(x0, "x0", "add_noise")
    if noise.shape != x0.shape:
        raise ValueError(
            f"add_noise: noise shape {tuple(noise.shape)} differs from x0 {tuple(x0.shape)}"
        )
    t = _timesteps(t, x0, schedule, "add_noise")
    return _q_sample(schedule, x0, noise, t)


def _q_sample(schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    a = gather(schedule.sqrt_alphas_cumprod, t, x0)
    b = gather(schedule.sqrt_one_minus_alphas_cumprod, t, x0)
    return a * x0 + b * noise


def predict_x0(schedule: NoiseSchedule, x_t: Tensor, eps: Tensor, t: Tensor | int) -> Tensor:
    """x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t), eq. (3) solved for x_0.

    x_t, eps: (B, T, J, C); t: (B,) long or int. Returns (B, T, J, C).
    """
    _check_pose(x_t, "x_t", "predict_x0")
    t = _timesteps(t, x_t, schedule, "predict_x0")
    a = gather(schedule.sqrt_alphas_cumprod, t, x_t)
    b = gather(schedule.sqrt_one_minus_alphas_cumprod, t, x_t)
    return (x_t - b * eps) / a


def predict_eps(schedule: NoiseSchedule, x_t: Tensor, x0: Tensor, t: Tensor | int) -> Tensor:
    """eps = (x_t - sqrt(abar_t) x_0) / sqrt(1 - abar_t), eq. (3) solved for the noise.

    x_t, x0: (B, T, J, C); t: (B,) long or int. Returns (B, T, J, C). This is what an
    ideal noise predictor that knows x_0 returns (the oracle of the tests).
    """
    _check_pose(x_t, "x_t", "predict_eps")
    t = _timesteps(t, x_t, schedule, "predict_eps")
    a = gather(schedule.sqrt_alphas_cumprod, t, x_t)
    b = gather(schedule.sqrt_one_minus_alphas_cumprod, t, x_t)
    return (x_t - a * x0) / b


# What the network outputs (``diffusion.prediction``): the noise (the paper), the clean
# pose, or the velocity v = sqrt(abar) eps - sqrt(1 - abar) x_0 (Salimans & Ho 2022).
PREDICTIONS: tuple[str, ...] = ("eps", "x0", "v")


def _check_prediction(prediction: str, where: str) -> None:
    if prediction not in PREDICTIONS:
        raise ValueError(f"{where}: prediction must be one of {PREDICTIONS}, got {prediction!r}")


def prediction_target(
    schedule: NoiseSchedule, x0: Tensor, noise: Tensor, t: Tensor | int, prediction: str
) -> Tensor:
    """What a ``prediction``-type network should output for x_t = q(x0, noise, t):
    ``noise`` (eps), ``x0``, or ``v = sqrt(abar_t) noise - sqrt(1 - abar_t) x0``."""
    _check_prediction(prediction, "prediction_target")
    if prediction == "eps":
        return noise
    if prediction == "x0":
        return x0
    t = _timesteps(t, x0, schedule, "prediction_target")
    a = gather(schedule.sqrt_alphas_cumprod, t, x0)
    b = gather(schedule.sqrt_one_minus_alphas_cumprod, t, x0)
    return a * noise - b * x0


def eps_from_output(
    schedule: NoiseSchedule, out: Tensor, x_t: Tensor, t: Tensor | int, prediction: str
) -> Tensor:
    """The noise estimate implied by a ``prediction``-type output ``out`` at (x_t, t):
    eps itself; from x_0 by :func:`predict_eps`; from v, eps = sqrt(1 - abar) x_t +
    sqrt(abar) v. All (B, T, J, C)."""
    _check_prediction(prediction, "eps_from_output")
    if prediction == "eps":
        return out
    if prediction == "x0":
        return predict_eps(schedule, x_t, out, t)
    t = _timesteps(t, x_t, schedule, "eps_from_output")
    a = gather(schedule.sqrt_alphas_cumprod, t, x_t)
    b = gather(schedule.sqrt_one_minus_alphas_cumprod, t, x_t)
    return b * x_t + a * out


def training_loss(
    schedule: NoiseSchedule,
    model: Model,
    x0: Tensor,
    cond: Any,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
    return_details: bool = False,
    prediction: str = "eps",
) -> Tensor | tuple[Tensor, dict[str, Tensor]]:
    """DDPM noise-prediction loss of paper section 3.4 (steps 1-4).

    x0: (B, T, J, C) clean poses; cond: passed to ``model`` unchanged; mask: (B, T), true
    (or nonzero) for valid frames, padded frames are ignored exactly (even if they hold
    NaN). Draws t ~ U{0..S-1} per sample, then eps ~ N(0, I) of x0's shape (both from
    ``generator``), and returns the mean of (eps - model(x_t, t, cond))^2 over valid
    frames, joints and coordinates: a scalar. ``prediction`` "x0" or "v" regresses that
    target instead (:func:`prediction_target`). With ``return_details`` also returns
    ``{"t": (B,) steps, "loss_per_sample": (B,) detached mean per sample}`` for per-step
    logging (a sample without valid frames counts 0).
    """
    _check_prediction(prediction, "training_loss")
    _check_pose(x0, "x0", "training_loss")
    batch, frames = x0.shape[:2]
    device = generator.device if generator is not None else x0.device
    t = torch.randint(0, schedule.num_steps, (batch,), device=device, generator=generator)
    t = t.to(x0.device)
    noise = sample_noise(tuple(x0.shape), x0, generator)
    eps_hat = model(_q_sample(schedule, x0, noise, t), t, cond)
    if not isinstance(eps_hat, Tensor) or eps_hat.shape != x0.shape:
        got = tuple(eps_hat.shape) if isinstance(eps_hat, Tensor) else type(eps_hat).__name__
        raise ValueError(
            f"training_loss: model must return eps_hat of shape {tuple(x0.shape)}, got {got}"
        )
    target = prediction_target(schedule, x0, noise, t, prediction)
    sq = (eps_hat - target) ** 2  # (B, T, J, C)
    per_frame = x0.shape[2] * x0.shape[3]
    if mask is None:
        per_sample_sum = sq.flatten(1).sum(1)
        count = torch.full((batch,), float(frames * per_frame), dtype=sq.dtype, device=x0.device)
    else:
        if mask.shape != (batch, frames):
            raise ValueError(
                f"training_loss: mask must be (B, T) = {(batch, frames)}, got {tuple(mask.shape)}"
            )
        valid = mask.to(device=x0.device, dtype=torch.bool)
        # where() rather than a product: 0 * NaN from padded garbage would still be NaN.
        sq = torch.where(valid[:, :, None, None], sq, torch.zeros_like(sq))
        per_sample_sum = sq.flatten(1).sum(1)
        count = valid.sum(1).to(sq.dtype) * per_frame
    loss = per_sample_sum.sum() / count.sum().clamp(min=1)
    if not return_details:
        return loss
    details = {"t": t, "loss_per_sample": (per_sample_sum / count.clamp(min=1)).detach()}
    return loss, details
