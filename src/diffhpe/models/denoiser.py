"""The DiffHPE noise predictor: a CSDI-style residual network of graph layers (section 3.3).

B batch, T frames, J joints, C channels; every tensor at the module boundary is
``(B, T, J, C)``, and stays so inside: 1x1 convolutions are ``nn.Linear`` on the channel
axis and BatchNorm runs on the ``(B*T*J, C)`` view, so the hot loop needs no permutes
except around the per-joint weights of the feature-wise graph layer.

Conditioning enters once, concatenated on channels with the noisy input, as in CSDI and
the authors' code. The input projection of the concatenation is split,
``W [a; b] + bias = (W_a a + bias) + W_b b``, so the conditioning half ``W_b b``
(``project_condition``) is computed once per batch and reused at every denoising step
and for every hypothesis; ``forward_concat`` evaluates the concatenated form directly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffhpe.config import DenoiserParams
from diffhpe.models.chunking import run_in_chunks, windows_per_chunk
from diffhpe.models.graph import (
    TEMPORAL_MIXINGS,
    GraphNonLocal,
    PreAggGraphConv,
    temporal_adjacency,
)
from diffhpe.skeleton import H36M


@dataclass(kw_only=True)
class DenoiserConfig(DenoiserParams):
    """Hyper-parameters of ``GraphDenoiser``: :class:`~diffhpe.config.DenoiserParams` (a
    run's ``model.denoiser``) plus what the data, the diffusion and the model fix. The
    defaults are the paper's (section 3.3), except ``dropout``: a network built directly
    has none unless asked (runs get ``model.denoiser.dropout``, 0.27 by default).

    ``in_channels`` counts the concatenated input: noisy channels plus conditioning
    channels (DiffHPE-2D: 3 + 2; DiffHPE-Wrapper: 2 x the backbone width).
    """

    dropout: float = 0.0
    in_channels: int
    num_steps: int = 50
    num_frames: int = 27
    num_joints: int = 17

    def __post_init__(self) -> None:
        for name in ("in_channels", "channels", "num_blocks", "num_steps", "num_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"DenoiserConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.step_embed_dim < 2 or self.step_embed_dim % 2:
            raise ValueError(
                f"DenoiserConfig.step_embed_dim must be even and >= 2, got {self.step_embed_dim}"
            )
        if self.channels < 2:
            raise ValueError(f"DenoiserConfig.channels must be >= 2, got {self.channels}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"DenoiserConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.temporal_mixing not in TEMPORAL_MIXINGS:
            raise ValueError(
                f"DenoiserConfig.temporal_mixing must be one of {TEMPORAL_MIXINGS}, "
                f"got {self.temporal_mixing!r}"
            )


def step_sinusoids(t: Tensor, dim: int) -> Tensor:
    """``(B,) -> (B, dim)`` CSDI/DiffWave step encoding: sin and cos of ``t * 10^(4k/(dim/2-1))``."""
    half = dim // 2
    exponents = torch.arange(half, device=t.device, dtype=torch.float32) / max(half - 1, 1)
    angles = t.to(torch.float32)[:, None] * (10.0 ** (4.0 * exponents))[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


def _batch_norm(norm: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """BatchNorm over channels with (B, T, J) statistics, on the channels-last view."""
    return norm(x.reshape(-1, x.shape[-1])).view(x.shape)


def folded_batch_norm(norm: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """``(scale, shift)``, both ``(C,)``: eval-mode ``norm(z) == z * scale + shift``."""
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("folded_batch_norm: the BatchNorm must track running statistics")
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


def train_dropout(x: Tensor, p: float) -> Tensor:
    """Training-mode dropout: zero each entry with probability ``p``, scale the rest by
    ``1 / (1 - p)``. Same law as ``F.dropout``; the mask comes from ``rand_like``, 3-4x
    faster on CPU than the ``bernoulli_`` that ``F.dropout`` draws."""
    if p == 0.0:
        return x
    with torch.no_grad():
        mask = torch.rand_like(x).ge_(p).mul_(1.0 / (1.0 - p))
    return x * mask


def gated_activation(gate: Tensor, filt: Tensor) -> Tensor:
    """DiffWave's gated unit ``sigmoid(gate) * tanh(filt)``, with ``tanh(f) = 2 sigmoid(2f) - 1``
    (exact identity; PyTorch's CPU ``tanh`` is ~5x slower than its ``sigmoid``)."""
    return torch.sigmoid(gate) * (2.0 * torch.sigmoid(2.0 * filt) - 1.0)


class ResidualBlock(nn.Module):
    """One CSDI residual block with graph layers: ``(B, T, J, C) -> (residual out, skip)``.

    In eval mode both BatchNorms are folded into the graph layers before them (a fixed
    per-channel affine map), so normalisation costs no pass over the activations.
    """

    def __init__(
        self,
        channels: int,
        step_embed_dim: int,
        joint_adjacency: np.ndarray,
        num_frames: int,
        temporal_mixing: str,
        dropout: float,
    ) -> None:
        super().__init__()
        c = channels
        self.step_proj = nn.Linear(step_embed_dim, c)
        # Time-wise: independent per joint, carried across frames, weights shared by frames.
        self.time_conv = PreAggGraphConv(
            c,
            c,
            temporal_adjacency(num_frames, temporal_mixing),
            node_dim=1,
            per_node_weights=False,
            bias=False,  # the BatchNorm right after removes any shared bias
        )
        self.time_norm = nn.BatchNorm1d(c)
        # Feature-wise: independent per frame, carried across joints, one weight per joint.
        self.joint_conv = PreAggGraphConv(c, c, joint_adjacency, node_dim=2, per_node_weights=True)
        self.joint_norm = nn.BatchNorm1d(c)
        self.dropout_p = dropout
        self.non_local = GraphNonLocal(c)
        self.mid_proj = nn.Linear(c, 2 * c)  # -> gate, filter
        self.out_proj = nn.Linear(c, 2 * c)  # -> residual, skip

    def _graph_layer(self, conv: PreAggGraphConv, norm: nn.BatchNorm1d, y: Tensor) -> Tensor:
        """``dropout(relu(norm(conv(y))))`` on ``(B, T, J, C)``; dropout in training only."""
        if self.training:
            # In-place ReLU on the BatchNorm output is safe: BatchNorm's backward needs its input.
            return train_dropout(F.relu(_batch_norm(norm, conv(y)), inplace=True), self.dropout_p)
        return F.relu(conv(y, *folded_batch_norm(norm)), inplace=True)

    def forward(self, x: Tensor, step_emb: Tensor) -> tuple[Tensor, Tensor]:
        y = x + self.step_proj(step_emb)[:, None, None, :]
        y = self._graph_layer(self.time_conv, self.time_norm, y)
        y = self._graph_layer(self.joint_conv, self.joint_norm, y)
        y = self.non_local(y)
        gate, filt = self.mid_proj(y).chunk(2, dim=-1)
        residual, skip = self.out_proj(gated_activation(gate, filt)).chunk(2, dim=-1)
        return torch.add(x, residual).mul_(1.0 / math.sqrt(2.0)), skip


class GraphDenoiser(nn.Module):
    """Noise predictor epsilon_theta (eqs. 7, 12): ``(B, T, J, C_x), t (B,), cond -> (B, T, J, 3)``.

    Args:
        cfg: hyper-parameters; ``cfg.in_channels = C_x + cond_channels``.
        cond_channels: channels of the conditioning features given to ``project_condition``.
        adjacency: ``(J, J)`` joint adjacency without self-loops; default: the normalised
            Human3.6M skeleton.
    """

    def __init__(
        self, cfg: DenoiserConfig, cond_channels: int, adjacency: np.ndarray | None = None
    ) -> None:
        super().__init__()
        if not 1 <= cond_channels < cfg.in_channels:
            raise ValueError(
                f"GraphDenoiser: cond_channels={cond_channels} must be in [1, in_channels="
                f"{cfg.in_channels}) so that the noisy input keeps at least one channel"
            )
        if adjacency is None:
            adjacency = H36M.adjacency(self_loops=False, normalize=True)
        if adjacency.shape != (cfg.num_joints, cfg.num_joints):
            raise ValueError(
                f"GraphDenoiser: adjacency has shape {adjacency.shape}, expected "
                f"(num_joints, num_joints) = ({cfg.num_joints}, {cfg.num_joints})"
            )
        self.cfg = cfg
        c = cfg.channels
        self.noisy_channels = cfg.in_channels - cond_channels
        self.cond_channels = cond_channels
        # The input 1x1 projection of concat([noisy, cond]), split in its two halves.
        self.input_noisy = nn.Linear(self.noisy_channels, c)
        self.input_cond = nn.Linear(cond_channels, c, bias=False)
        d = cfg.step_embed_dim
        self.step_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d), nn.SiLU())
        self.blocks = nn.ModuleList(
            ResidualBlock(c, d, adjacency, cfg.num_frames, cfg.temporal_mixing, cfg.dropout)
            for _ in range(cfg.num_blocks)
        )
        self.output_hidden = nn.Linear(c, c)
        self.output = nn.Linear(c, 3)
        self.max_rows_per_chunk = 8192  # eval on CPU, ~16 windows: see models/chunking.py
        self._compiled: CompileOrEager | None = None  # see enable_compile
        # Zero output: a fresh model predicts eps = 0, and training starts from there.
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def project_condition(self, cond_features: Tensor) -> Tensor:
        """``(B, T, J, cond_channels) -> (B, T, J, C)``: the conditioning half ``W_b b``."""
        _check_shape(cond_features, self.cfg, self.cond_channels, "cond_features")
        return self.input_cond(cond_features)

    def forward(self, x_noisy_features: Tensor, t: Tensor, cond_proj: Tensor) -> Tensor:
        """``(B, T, J, C_x), (B,) long, (B, T, J, C) -> eps_hat (B, T, J, 3)``.

        In eval mode on CPU a batch of more than ``max_rows_per_chunk`` rows (B*T*J) runs
        as consecutive chunks of whole windows (``models/chunking.py``); the result is the
        same up to float rounding.
        """
        _check_shape(x_noisy_features, self.cfg, self.noisy_channels, "x_noisy_features")
        expected = (*x_noisy_features.shape[:3], self.cfg.channels)
        if tuple(cond_proj.shape) != expected:
            raise ValueError(
                f"GraphDenoiser.forward: cond_proj has shape {tuple(cond_proj.shape)}, expected "
                f"{expected} (use project_condition on the conditioning features)"
            )
        self._check_steps(t, x_noisy_features.shape[0])
        chunk = windows_per_chunk(x_noisy_features, self.max_rows_per_chunk, self.training)
        run = self._compiled or self._forward_unchecked
        return run_in_chunks(run, chunk, x_noisy_features, t, cond_proj)

    def enable_compile(self) -> None:
        """Run ``forward``'s network (not its checks or chunking) through ``torch.compile``;
        if compiling fails (e.g. no C++ compiler for inductor on CPU) it warns once and
        runs eagerly. The first calls are slow (compilation); results match to rounding."""
        if self._compiled is None:
            self._compiled = CompileOrEager(self._forward_unchecked)

    def forward_concat(self, x_concat: Tensor, t: Tensor) -> Tensor:
        """Reference path on ``concat([noisy, cond])`` ``(B, T, J, in_channels)``; same output."""
        _check_shape(x_concat, self.cfg, self.cfg.in_channels, "x_concat")
        self._check_steps(t, x_concat.shape[0])
        weight = torch.cat([self.input_noisy.weight, self.input_cond.weight], dim=1)
        h = F.relu(F.linear(x_concat, weight, self.input_noisy.bias))
        return self._trunk(h, t)

    def _check_steps(self, t: Tensor, b: int) -> None:
        if t.dim() != 1 or t.shape[0] != b or t.dtype.is_floating_point:
            raise ValueError(
                f"GraphDenoiser: t must be an integer (B,) = ({b},) tensor, got "
                f"{t.dtype} of shape {tuple(t.shape)}"
            )
        if b and (int(t.min()) < 0 or int(t.max()) >= self.cfg.num_steps):
            raise ValueError(
                f"GraphDenoiser: diffusion steps t must be 0-based in [0, num_steps="
                f"{self.cfg.num_steps}), got range [{int(t.min())}, {int(t.max())}]"
            )

    def _forward_unchecked(self, x_noisy_features: Tensor, t: Tensor, cond_proj: Tensor) -> Tensor:
        h = F.relu(self.input_noisy(x_noisy_features) + cond_proj)
        return self._trunk(h, t)

    def _trunk(self, h: Tensor, t: Tensor) -> Tensor:
        """``(B, T, J, C), (B,) -> (B, T, J, 3)``: step embedding, blocks, output head."""
        step_emb = self.step_mlp(step_sinusoids(t, self.cfg.step_embed_dim))
        skips = None
        for block in self.blocks:
            h, skip = block(h, step_emb)
            skips = skip if skips is None else skips + skip
        out = F.relu(self.output_hidden(skips * (1.0 / math.sqrt(len(self.blocks)))))
        return self.output(out)


class CompileOrEager:
    """``torch.compile(fn)`` that falls back to ``fn`` for good, with one warning, the first
    time compiling or running the compiled code raises. A genuine error in ``fn`` then
    re-raises from the eager call."""

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        self.fn = fn
        self.failed = False
        try:
            self.compiled: Callable[..., Tensor] = torch.compile(fn)
        except Exception as err:  # any failure means: run eagerly
            self._fail(err)

    def _fail(self, err: Exception) -> None:
        self.failed = True
        warnings.warn(
            f"torch.compile failed ({type(err).__name__}: {err}); running eagerly",
            RuntimeWarning,
            stacklevel=3,
        )

    def __call__(self, *args: Tensor) -> Tensor:
        if not self.failed:
            try:
                return self.compiled(*args)
            except Exception as err:
                self._fail(err)
        return self.fn(*args)


def _check_shape(x: Tensor, cfg: DenoiserConfig, channels: int, name: str) -> None:
    if x.dim() != 4 or x.shape[2] != cfg.num_joints or x.shape[3] != channels:
        raise ValueError(
            f"GraphDenoiser: {name} must be (B, T, J={cfg.num_joints}, {channels}), "
            f"got {tuple(x.shape)}"
        )
    if not 1 <= x.shape[1] <= cfg.num_frames:
        raise ValueError(
            f"GraphDenoiser: {name} has T={x.shape[1]} frames, expected 1 <= T <= "
            f"num_frames={cfg.num_frames}"
        )


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (only those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def denoiser_flops(cfg: DenoiserConfig, num_frames: int, num_joints: int) -> float:
    """Rough FLOPs (2 x multiply-adds) of one ``GraphDenoiser`` call on one window.

    Counts every matrix product of ``forward_concat``: the input projection, the step MLP,
    per block the step projection, both graph layers (dense aggregation plus the
    aggregated and self transforms), the non-local layer (projections and attention) and
    the two 1x1 projections, then the output head. Normalisation and activations are
    ignored. ``forward`` costs ``2 * T * J * cond_channels * C`` less per step, as the
    conditioning half of the input projection is computed once.
    """
    n, c, t, j = num_frames * num_joints, cfg.channels, num_frames, num_joints
    inner = c // 2
    macs = n * cfg.in_channels * c  # input projection
    macs += 2 * cfg.step_embed_dim**2  # step MLP
    per_block = (
        cfg.step_embed_dim * c  # step projection (once per window)
        + t * t * j * c  # time-wise aggregation
        + j * j * t * c  # joint-wise aggregation
        + 2 * (2 * n * c * c)  # both graph layers: aggregated and self transforms
        + n * c * 3 * inner  # theta, phi, g
        + 2 * t * j * j * inner  # affinities and their weighted sum
        + n * inner * c  # non-local output projection
        + 2 * (n * c * 2 * c)  # mid and output 1x1 projections
    )
    macs += cfg.num_blocks * per_block
    macs += n * c * c + n * c * 3  # output head
    return 2.0 * macs
