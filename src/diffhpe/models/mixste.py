"""MixSTE (Zhang et al., CVPR 2022): seq2seq mixed spatio-temporal transformer lifter.

B batch, T frames, J joints, D model width. ``(B, T, J, 2) -> (B, T, J, 3)``.

Each joint's 2D coordinates are embedded to D channels (plus a learned per-joint
position embedding), then ``depth`` pairs of pre-norm transformer blocks alternate:
spatial (attention over the J joints of each frame) and temporal (attention over the T
frames of each joint; a learned per-frame position embedding is added before the first
one). Stochastic depth grows linearly from 0 to ``drop_path`` across the pairs. A final
LayerNorm gives the features ``E2D`` of eq. (10) (``features``); a linear head maps them
to 3D on every frame (``forward``). The paper's frozen conditioner is the default config.

Windows shorter than ``num_frames`` use the first T rows of the temporal position
embedding; longer ones raise ``ValueError``.

Missing keypoints (``mask_token``): a joint whose ``visible`` flag is False gets a learned
"missing" embedding in place of the embedding of its coordinates (as BERT's and MAE's
mask tokens), so the network tells "missing" from "at the image centre", and its output
does not depend on whatever coordinate sits under the mask. Without ``mask_token`` (the
checkpoints trained before it) ``visible`` is ignored and missing joints are zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from diffhpe.config import MixSTEParams
from diffhpe.models.chunking import run_in_chunks, windows_per_chunk


@dataclass(kw_only=True)
class MixSTEConfig(MixSTEParams):
    """MixSTE hyper-parameters (:class:`~diffhpe.config.MixSTEParams`, a run's
    ``model.mixste``: width, depth, dropouts, ``mask_token`` (see module doc), ...) plus the
    shape the data fixes; the defaults are the DiffHPE conditioner preset."""

    num_joints: int = 17
    num_frames: int = 27

    def __post_init__(self) -> None:
        for name in ("num_joints", "in_channels", "dim", "depth", "heads", "num_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"MixSTEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"MixSTEConfig.dim={self.dim} must be divisible by heads={self.heads}")
        if self.mlp_ratio <= 0:
            raise ValueError(f"MixSTEConfig.mlp_ratio must be > 0, got {self.mlp_ratio}")
        for name in ("dropout", "attn_dropout", "drop_path"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(
                    f"MixSTEConfig.{name} must be in [0, 1), got {getattr(self, name)}"
                )


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth: drop the whole residual branch per sample (dim 0), rescale the rest."""
    if p == 0.0 or not training:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * mask / keep


class Attention(nn.Module):
    """Multi-head self-attention over axis -2 of ``(..., N, D)``."""

    def __init__(self, dim: int, heads: int, attn_dropout: float, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.attn_dropout = attn_dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        *lead, n, d = x.shape
        qkv = self.qkv(x).reshape(-1, n, 3, self.heads, d // self.heads)
        # (R, H, N, d_head), the leading dims flattened: SDPA's fused CPU kernel takes 4D
        # inputs only (5D falls back to the math path, ~1.3x slower for the whole MixSTE).
        # Non-negative dims: the TorchScript ONNX exporter writes negative perm entries that
        # ONNX Runtime rejects.
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        p = self.attn_dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        return self.proj_drop(self.proj(y.transpose(1, 2).reshape(*lead, n, d)))


class Block(nn.Module):
    """Pre-norm transformer block (attention then GELU MLP) over axis -2 of ``(..., N, D)``."""

    def __init__(self, cfg: MixSTEConfig, drop_path_p: float) -> None:
        super().__init__()
        hidden = int(cfg.dim * cfg.mlp_ratio)
        self.drop_path_p = drop_path_p
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.attn = Attention(cfg.dim, cfg.heads, cfg.attn_dropout, cfg.dropout)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.dim, hidden),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(hidden, cfg.dim),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + drop_path(self.attn(self.norm1(x)), self.drop_path_p, self.training)
        return x + drop_path(self.mlp(self.norm2(x)), self.drop_path_p, self.training)


class MixSTE(nn.Module):
    """MixSTE lifter: ``features(x2d) -> (B, T, J, D)``, ``forward(x2d) -> (B, T, J, 3)``."""

    def __init__(self, cfg: MixSTEConfig | None = None) -> None:
        super().__init__()
        cfg = MixSTEConfig() if cfg is None else cfg
        self.cfg = cfg
        self.joint_embed = nn.Linear(cfg.in_channels, cfg.dim)
        # (D,) replaces the coordinate embedding of a missing joint (cfg.mask_token).
        self.missing_embed = nn.Parameter(torch.zeros(cfg.dim)) if cfg.mask_token else None
        self.spatial_pos = nn.Parameter(torch.zeros(cfg.num_joints, cfg.dim))
        self.temporal_pos = nn.Parameter(torch.zeros(cfg.num_frames, cfg.dim))
        self.pos_drop = nn.Dropout(cfg.dropout)
        rates = torch.linspace(0.0, cfg.drop_path, cfg.depth).tolist()
        self.spatial_blocks = nn.ModuleList(Block(cfg, r) for r in rates)
        self.temporal_blocks = nn.ModuleList(Block(cfg, r) for r in rates)
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 3)
        # Eval on CPU: batches over ~8 windows run in chunks (models/chunking.py).
        self.max_rows_per_chunk = 4096
        self.apply(_init_weights)
        nn.init.trunc_normal_(self.spatial_pos, std=0.02)
        nn.init.trunc_normal_(self.temporal_pos, std=0.02)
        if self.missing_embed is not None:
            nn.init.trunc_normal_(self.missing_embed, std=0.02)

    def features(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        """``(B, T, J, in_channels), (B, T, J) bool | None -> (B, T, J, D)``: normalised
        features E2D (eq. 10). ``visible`` None: every joint visible."""
        cfg = self.cfg
        if x2d.dim() != 4 or x2d.shape[2] != cfg.num_joints or x2d.shape[3] != cfg.in_channels:
            raise ValueError(
                f"MixSTE: x2d must be (B, T, J={cfg.num_joints}, {cfg.in_channels}), "
                f"got {tuple(x2d.shape)}"
            )
        t = x2d.shape[1]
        if not 1 <= t <= cfg.num_frames:
            raise ValueError(
                f"MixSTE: x2d has T={t} frames, expected 1 <= T <= num_frames={cfg.num_frames} "
                "(the temporal position embedding has num_frames rows)"
            )
        if visible is not None and tuple(visible.shape) != tuple(x2d.shape[:3]):
            raise ValueError(
                f"MixSTE: visible must be (B, T, J) = {tuple(x2d.shape[:3])}, "
                f"got {tuple(visible.shape)}"
            )
        if self.missing_embed is None or visible is None:
            visible = None  # nothing to mask: every joint goes through joint_embed
        chunk = windows_per_chunk(x2d, self.max_rows_per_chunk, self.training)
        if visible is None:
            return run_in_chunks(self._features, chunk, x2d)
        return run_in_chunks(self._features, chunk, x2d, visible.to(torch.bool))

    def _features(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        t = x2d.shape[1]
        x = self.joint_embed(x2d)  # (B, T, J, D)
        if visible is not None:
            x = torch.where(visible[..., None], x, self.missing_embed)
        x = self.pos_drop(x + self.spatial_pos)
        for i, (spatial, temporal) in enumerate(
            zip(self.spatial_blocks, self.temporal_blocks, strict=True)
        ):
            x = spatial(x)  # attention over joints
            x = x.transpose(1, 2)  # (B, J, T, D): attention over frames
            if i == 0:
                x = self.pos_drop(x + self.temporal_pos[:t])
            x = temporal(x).transpose(1, 2)
        return self.norm(x)

    def forward(self, x2d: Tensor, visible: Tensor | None = None) -> Tensor:
        """``(B, T, J, in_channels), (B, T, J) bool | None -> (B, T, J, 3)``: 3D poses for
        every frame (seq2seq)."""
        return self.head(self.features(x2d, visible))


def _init_weights(m: nn.Module) -> None:
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
