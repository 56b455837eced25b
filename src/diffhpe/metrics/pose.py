"""Pose errors against the ground truth: the accuracy protocols of paper section 4.1.

Each takes ``pred`` and ``target`` (B, T, J, 3) and an optional (B, T) mask, and returns
one value per frame (per frame pair for MPJVE): 0 at masked frames, NaN at a valid frame
holding NaN or inf.
"""

from __future__ import annotations

import torch
from torch import Tensor

from diffhpe.metrics.common import (
    _EPS,
    _finish,
    _mean_joint_distance,
    _out_dtype,
    _prepare,
    _root_relative,
)


def mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): MPJPE, Protocol #1 (paper section 4.1).

    Both poses are root-aligned (pelvis subtracted), then the Euclidean distance is
    averaged over joints.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    err = _mean_joint_distance(_root_relative(p), _root_relative(g))
    return _finish(err, valid, finite, _out_dtype(pred, target))


def p_mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): P-MPJPE, Protocol #2.

    Per frame, ``pred`` is aligned onto ``target`` by the similarity transform
    (rotation, translation, scale) minimising the squared error (Umeyama / orthogonal
    Procrustes), then the mean joint distance is taken. The rotation is proper
    (det +1): a mirrored pose is not aligned for free.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    b, t, j, c = p.shape
    x = p.reshape(b * t, j, c)
    y = g.reshape(b * t, j, c)
    mu_x, mu_y = x.mean(dim=1, keepdim=True), y.mean(dim=1, keepdim=True)
    x, y = x - mu_x, y - mu_y

    # Row-vector convention: the aligned pose is s * x @ r + mu_y. With
    # x^T y = U diag(sigma) V^T, r = U diag(1, 1, d) V^T maximises tr(r^T x^T y) among
    # rotations, d = det(U V^T) flipping the weakest axis when U V^T is a reflection.
    u, sigma, vh = torch.linalg.svd(x.transpose(1, 2) @ y)  # (N, 3, 3), (N, 3), (N, 3, 3)
    d = torch.where(torch.linalg.det(u @ vh) < 0, -1.0, 1.0)  # (N,)
    signs = torch.ones_like(sigma)
    signs[:, -1] = d
    r = (u * signs[:, None, :]) @ vh
    scale = (sigma * signs).sum(dim=1) / (x**2).sum(dim=(1, 2)).clamp_min(_EPS)  # (N,)
    aligned = scale[:, None, None] * (x @ r)

    err = _mean_joint_distance(aligned, y).reshape(b, t)
    return _finish(err, valid, finite, _out_dtype(pred, target))


def n_mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): N-MPJPE (VideoPose3D), scale-only alignment.

    Both poses are root-aligned; the root-relative ``pred`` is multiplied by the
    per-frame least-squares scale ``<pred, target> / <pred, pred>``, then MPJPE.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    x, y = _root_relative(p), _root_relative(g)
    scale = (x * y).sum(dim=(-1, -2)) / (x**2).sum(dim=(-1, -2)).clamp_min(_EPS)  # (B, T)
    err = _mean_joint_distance(scale[..., None, None] * x, y)
    return _finish(err, valid, finite, _out_dtype(pred, target))


def velocity_mask(mask: Tensor) -> Tensor:
    """(B, T) -> (B, T-1): a velocity counts only if both of its frames are valid."""
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.ndim != 2:
        raise ValueError(f"mask: expected a (B, T) bool tensor, got {mask!r:.80}")
    return mask[:, 1:] & mask[:, :-1]


def mpjve_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T-1): MPJVE, mean per-joint velocity error.

    Velocities are first differences in time of root-aligned poses (unit per frame);
    entry ``l`` compares the steps from frame ``l`` to ``l + 1``. With a mask, entry
    ``l`` counts only if frames ``l`` and ``l + 1`` are both valid
    (:func:`velocity_mask`); other entries are 0.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    x, y = _root_relative(p), _root_relative(g)
    err = _mean_joint_distance(x[:, 1:] - x[:, :-1], y[:, 1:] - y[:, :-1])
    return _finish(
        err, velocity_mask(valid), finite[:, 1:] & finite[:, :-1], _out_dtype(pred, target)
    )
