"""Coherence of one pose sequence (paper section 5.4): symmetry gap (eq. 13) and
segment-length std (eq. 14). They need no ground truth; computed on it, they give the
floor a prediction can reach (``*_gt`` in the evaluation summary).
"""

from __future__ import annotations

import torch
from torch import Tensor

from diffhpe.metrics.common import _check_mask, _check_poses, _check_skeleton, _finish
from diffhpe.skeleton import H36M, Skeleton


def bone_lengths(x: Tensor, skeleton: Skeleton = H36M) -> Tensor:
    """(B, T, J, 3) -> (B, T, S): length of every bone, ordered as ``skeleton.bones``."""
    _check_poses(x, "x")
    _check_skeleton(x, skeleton, "x")
    child = torch.as_tensor(skeleton.bones[:, 0], device=x.device)
    parent = torch.as_tensor(skeleton.bones[:, 1], device=x.device)
    return torch.linalg.vector_norm(x[:, :, child] - x[:, :, parent], dim=-1)


def _prepare_single(
    x: Tensor, mask: Tensor | None, skeleton: Skeleton, name: str
) -> tuple[Tensor, Tensor, Tensor]:
    """Float64 bone lengths (B, T, S) with masked/non-finite frames zeroed, valid, finite."""
    _check_poses(x, name)
    _check_skeleton(x, skeleton, name)
    b, t = x.shape[:2]
    valid = _check_mask(mask, b, t, x.device)
    y = bone_lengths(x.detach().to(torch.float64), skeleton)
    finite = torch.isfinite(y).all(dim=-1)
    return torch.where((valid & finite)[..., None], y, 0.0), valid, finite


def symmetry_gap_frames(
    pred: Tensor, mask: Tensor | None = None, skeleton: Skeleton = H36M
) -> Tensor:
    """(B, T, J, 3) -> (B, T): sagittal symmetry gap, the summand of eq. (13).

    Per frame, the mean over the left segments (pelvis-hip, thigh, shin,
    thorax-shoulder, upper arm, forearm) of ``|y_left - y_right|``. Averaging over all
    valid frames gives eq. (13).
    """
    y, valid, finite = _prepare_single(pred, mask, skeleton, "pred")
    pairs = torch.as_tensor(skeleton.symmetric_bone_pairs, device=y.device)
    gap = (y[..., pairs[:, 0]] - y[..., pairs[:, 1]]).abs().mean(dim=-1)
    return _finish(gap, valid, finite, pred.dtype)


def segment_length_std(
    pred: Tensor, mask: Tensor | None = None, skeleton: Skeleton = H36M
) -> Tensor:
    """(B, T, J, 3) -> (B,): time-wise segment-length deviation, the summand of eq. (14).

    For each sequence (each row of B is one of the K sequences) and each of the S
    segments, the population standard deviation (1/L, as eq. 14) of its length over the
    valid frames; then the mean over segments. Sequences with fewer than 2 valid frames
    have no meaningful deviation and give NaN (the accumulator skips them), as do
    sequences with a non-finite valid frame. With equal-length sequences, the mean over
    sequences is eq. (14).
    """
    y, valid, finite = _prepare_single(pred, mask, skeleton, "pred")
    w = valid.to(torch.float64)[..., None]  # (B, T, 1)
    n = w.sum(dim=1)  # (B, 1)
    mean = (y * w).sum(dim=1) / n.clamp_min(1.0)  # (B, S)
    var = (((y - mean[:, None]) ** 2) * w).sum(dim=1) / n.clamp_min(1.0)
    std = var.sqrt().mean(dim=-1)  # (B,)
    ok = (n[:, 0] >= 2) & (finite | ~valid).all(dim=1)
    return torch.where(ok, std, torch.nan).to(pred.dtype)
