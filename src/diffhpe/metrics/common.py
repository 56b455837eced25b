"""What every metric shares: argument checks, float64 preparation, masked output.

Poses are ``(B, T, J, 3)``; masks ``(B, T)`` bool, True for the frames to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from diffhpe.skeleton import Skeleton

# Guards divisions by a squared norm that is zero only for degenerate (all-equal) poses.
_EPS = 1e-12


def _check_poses(x: Any, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"{name}: expected shape (B, T, J, 3), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {x.dtype}")


def _check_pair(pred: Tensor, target: Tensor) -> None:
    _check_poses(pred, "pred")
    _check_poses(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}"
        )


def _check_mask(mask: Tensor | None, b: int, t: int, device: torch.device) -> Tensor:
    """The ``(B, T)`` bool mask on ``device`` (all True when ``mask`` is None)."""
    if mask is None:
        return torch.ones(b, t, dtype=torch.bool, device=device)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor of shape ({b}, {t}), got {mask!r:.80}")
    if tuple(mask.shape) != (b, t):
        raise ValueError(f"mask: expected shape ({b}, {t}), got {tuple(mask.shape)}")
    return mask.to(device)


def _check_actions(actions: Sequence[str], n: int) -> None:
    if isinstance(actions, str) or len(actions) != n:
        raise ValueError(f"actions: expected a sequence of {n} action names, got {actions!r:.80}")


def _check_skeleton(x: Tensor, skeleton: Skeleton, name: str) -> None:
    if x.shape[2] != skeleton.num_joints:
        raise ValueError(f"{name}: {x.shape[2]} joints but the skeleton has {skeleton.num_joints}")


def _prepare(
    pred: Tensor, target: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Float64 copies with masked or non-finite frames zeroed, plus the two frame masks.

    Returns ``(pred, target, valid, finite)``: ``valid`` (B, T) is the mask, ``finite``
    (B, T) marks frames where both poses are finite. Zeroing keeps NaN out of sums and
    SVDs (which raise on non-finite input).
    """
    _check_pair(pred, target)
    b, t = pred.shape[:2]
    valid = _check_mask(mask, b, t, pred.device)
    p = pred.detach().to(torch.float64)
    g = target.detach().to(torch.float64)
    finite = torch.isfinite(p).all(dim=(-1, -2)) & torch.isfinite(g).all(dim=(-1, -2))
    keep = (valid & finite)[..., None, None]
    return torch.where(keep, p, 0.0), torch.where(keep, g, 0.0), valid, finite


def _finish(values: Tensor, valid: Tensor, finite: Tensor, dtype: torch.dtype) -> Tensor:
    """0 at masked frames, NaN at valid non-finite frames, cast to ``dtype``."""
    out = torch.where(finite, values, torch.nan)
    return torch.where(valid, out, 0.0).to(dtype)


def _out_dtype(pred: Tensor, target: Tensor) -> torch.dtype:
    return torch.promote_types(pred.dtype, target.dtype)


def _root_relative(x: Tensor) -> Tensor:
    """(B, T, J, 3) -> same, with joint 0 (the pelvis) at the origin."""
    return x - x[:, :, :1]


def _mean_joint_distance(a: Tensor, b: Tensor) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): mean over joints of the Euclidean distance."""
    return torch.linalg.vector_norm(a - b, dim=-1).mean(dim=-1)
