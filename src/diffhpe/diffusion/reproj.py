"""Reprojection-aware aggregation of hypotheses (JPMA-style, D3DP's joint-wise choice).

Beside "mean" and "median", ``diffusion.aggregation: reproj`` combines the H sampled
hypotheses per joint by how well each agrees with the 2D input, and with nothing else
(never the ground truth):

1. The root translation of every frame is fitted to the 2D input by least squares
   (:func:`diffhpe.trajectory.estimate_root`, the same fit as ``root_cam``) with the
   mean of the H hypotheses, on the visible keypoints, per frame (no smoothing).
2. Every hypothesis's joint, put at that root, is projected through the camera and
   compared with the visible 2D keypoint of that joint: the reprojection error.
3. Per joint and frame the hypotheses are averaged with weights
   ``w_h ~ exp(-e_h^2 / (2 s^2))``: the posterior of each hypothesis if the 2D keypoint
   had Gaussian noise of std ``s = DEFAULT_SIGMA`` (0.07) times the person's 2D size in
   that frame (RMS distance of the visible keypoints from their centroid, so the same
   setting fits any resolution and distance). ``sigma=0`` is D3DP's hard per-joint
   choice (JPMA); on the validation split soft weights beat it, and the mean, at H = 5
   and 20 with detected and exact 2D (docs/AGGREGATION.md). Where the joint is not
   visible, the frame has no root (fewer than 3 visible joints) or no hypothesis
   projects (behind the camera), the joint is the mean of the hypotheses.

Coordinates: :func:`diffhpe.inference.predict` works on normalised windows, 2D in
:func:`diffhpe.cameras.normalize_screen` units (``u / w * 2 - 1``, ``v / w * 2 - h / w``).
A pinhole camera stays a pinhole camera under that affine map: focal ``2 f / w``,
principal point ``2 c / w - (1, h / w)``, the same distortion (it acts on the rays).
:func:`screen_intrinsics` converts an :class:`~diffhpe.trajectory.Intrinsics` in pixels;
without a camera, :func:`default_screen_intrinsics` is the documented focal guess of
:mod:`diffhpe.trajectory` (60 degrees across the image width: focal ``1 / tan(30 deg)``
= 1.732, principal point at the image centre, i.e. 0).

Shapes: hypotheses ``(H, B, T, J, 3)`` root-relative camera metres, x2d ``(B, T, J, 2)``,
visible ``(B, T, J)`` bool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from diffhpe.trajectory import DEFAULT_FOV_DEG, MIN_DEPTH, Intrinsics, estimate_root

# Std of the assumed 2D noise, relative to the person's 2D size (RMS distance of the
# keypoints from their centroid; median 98 px on the open validation split, camera
# 54138969, so 0.07 ~ 7 px there): the lowest validation MPJPE averaged over detected
# and exact 2D at H = 5 and 20 among 0.03 .. 0.2 (scripts/aggregation_ablation.py,
# docs/AGGREGATION.md).
DEFAULT_SIGMA = 0.07

# The focal guess of diffhpe.trajectory in normalised screen units (60-degree field of view
# across the image width): 2 f / w with f = w / (2 tan 30 deg).
DEFAULT_SCREEN_FOCAL = 1.0 / math.tan(math.radians(DEFAULT_FOV_DEG) / 2.0)

Cameras = Intrinsics | Sequence[Intrinsics] | None


def screen_intrinsics(intr: Intrinsics, width: float, height: float) -> Intrinsics:
    """The camera ``intr`` (pixels) of a ``width`` x ``height`` image in
    :func:`~diffhpe.cameras.normalize_screen` units (see the module notes)."""
    if not (width > 0 and height > 0):
        raise ValueError(f"screen_intrinsics: image size must be > 0, got {width} x {height}")
    s = 2.0 / float(width)
    return Intrinsics(
        fx=intr.fx * s, fy=intr.fy * s, cx=intr.cx * s - 1.0, cy=intr.cy * s - height / width,
        dist=intr.dist, source=intr.source,
    )  # fmt: skip


def default_screen_intrinsics() -> Intrinsics:
    """The focal guess (60 degrees across the width, centred) in normalised units."""
    f = DEFAULT_SCREEN_FOCAL
    return Intrinsics(fx=f, fy=f, cx=0.0, cy=0.0, source="guess")


def _per_window(camera: Cameras, b: int) -> list[Intrinsics]:
    if camera is None:
        return [default_screen_intrinsics()] * b
    if isinstance(camera, Intrinsics):
        return [camera] * b
    cams = list(camera)
    if len(cams) != b or not all(isinstance(c, Intrinsics) for c in cams):
        raise ValueError(
            f"reproj aggregation: camera must be one Intrinsics or one per window (B={b}), "
            f"got {len(cams)} item(s)"
        )
    return cams


def reprojection_errors(
    hyps: Tensor, x2d: Tensor, visible: Tensor | None = None, camera: Cameras = None
) -> np.ndarray:
    """(H, B, T, J) reprojection error of each hypothesis's joints against ``x2d``, in
    normalised screen units (multiply by ``w / 2`` for pixels); NaN where the keypoint is
    not visible, the frame has no root or the joint does not project. ``camera``: one
    :class:`Intrinsics` in normalised units for all windows, one per window, or None (the
    focal guess, :func:`default_screen_intrinsics`)."""
    if hyps.ndim != 5 or hyps.shape[-1] != 3:
        raise ValueError(
            f"reproj aggregation: hyps must be (H, B, T, J, 3), got {tuple(hyps.shape)}"
        )
    h, b, t, j, _ = hyps.shape
    if tuple(x2d.shape) != (b, t, j, 2):
        raise ValueError(
            f"reproj aggregation: x2d must be (B, T, J, 2) = {(b, t, j, 2)}, got {tuple(x2d.shape)}"
        )
    hy = hyps.detach().to("cpu", torch.float64).numpy()
    xy = x2d.detach().to("cpu", torch.float64).numpy()
    vis = np.isfinite(xy).all(-1)
    if visible is not None:
        if tuple(visible.shape) != (b, t, j):
            raise ValueError(
                f"reproj aggregation: visible must be (B, T, J) = {(b, t, j)}, "
                f"got {tuple(visible.shape)}"
            )
        vis &= visible.detach().to("cpu").numpy().astype(bool)
    xy = np.where(vis[..., None], xy, np.nan)
    mean = hy.mean(axis=0)  # (B, T, J, 3)
    err = np.full((h, b, t, j), np.nan)
    cams = _per_window(camera, b)
    groups: dict[Intrinsics, list[int]] = {}
    for i, c in enumerate(cams):
        groups.setdefault(c, []).append(i)
    for cam, idx in groups.items():
        n = len(idx) * t
        pose = mean[idx].reshape(n, j, 3)
        obs = xy[idx].reshape(n, j, 2)
        root = estimate_root(pose, obs, cam).root  # (n, 3), NaN where none
        pts = hy[:, idx].reshape(h, n, j, 3) + root[None, :, None, :]
        z = pts[..., 2]
        front = np.isfinite(z) & (z > MIN_DEPTH)
        safe = np.where(front[..., None], pts, np.array([0.0, 0.0, 1.0]))
        proj = cam.project(safe)  # (h, n, j, 2)
        e = np.linalg.norm(proj - obs[None], axis=-1)
        e = np.where(front, e, np.nan)
        err[:, idx] = e.reshape(h, len(idx), t, j)
    return err


def person_size(x2d: Tensor, visible: Tensor | None = None) -> np.ndarray:
    """(B, T) the person's 2D size per frame: the RMS distance of the visible keypoints
    from their centroid (normalised units; NaN with fewer than 2 visible keypoints)."""
    x = x2d.detach().to("cpu", torch.float64).numpy()
    v = np.isfinite(x).all(-1)
    if visible is not None:
        v &= visible.detach().to("cpu").numpy().astype(bool)
    w = v.astype(np.float64)[..., None]
    x = np.where(v[..., None], x, 0.0)
    n = w.sum(-2)  # (B, T, 1)
    c = (x * w).sum(-2) / np.maximum(n, 1.0)
    r2 = (((x - c[..., None, :]) ** 2) * w).sum((-1, -2)) / np.maximum(n[..., 0], 1.0)
    return np.where(n[..., 0] >= 2, np.sqrt(r2), np.nan)


def reproj_weights(
    hyps: Tensor,
    x2d: Tensor,
    visible: Tensor | None = None,
    camera: Cameras = None,
    sigma: float = DEFAULT_SIGMA,
) -> np.ndarray:
    """(H, B, T, J) weights of the hypotheses per joint, summing to 1 over H: the
    posterior of each hypothesis under Gaussian 2D noise of std ``sigma`` times the
    person's 2D size (:func:`person_size`), ``w_h ~ exp(-e_h^2 / (2 s^2))`` with ``e_h``
    the reprojection error (:func:`reprojection_errors`). ``sigma=0``: all weight on the
    smallest error (a hard choice). Equal weights (the mean) where no hypothesis has an
    error: keypoint missing, no root, nothing projects."""
    if not (math.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"reproj aggregation: sigma must be a number >= 0, got {sigma}")
    err = reprojection_errors(hyps, x2d, visible, camera)
    h = err.shape[0]
    finite = np.isfinite(err)
    if sigma == 0:
        best = np.where(finite, err, np.inf).argmin(axis=0)
        w = ((np.arange(h)[:, None, None, None] == best[None]) & finite.any(axis=0)[None]).astype(
            np.float64
        )
    else:
        s = sigma * person_size(x2d, visible)[None, ..., None]  # (1, B, T, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            logit = -0.5 * (np.where(finite, err, np.inf) / s) ** 2
        logit = np.where(np.isfinite(logit), logit, -np.inf)
        top = logit.max(axis=0, keepdims=True)
        w = np.where(np.isfinite(top), np.exp(logit - np.where(np.isfinite(top), top, 0.0)), 0.0)
    total = w.sum(axis=0, keepdims=True)
    return np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / h)


def reproj_choice(
    hyps: Tensor, x2d: Tensor, visible: Tensor | None = None, camera: Cameras = None
) -> Tensor:
    """(B, T, J) long: the hypothesis with the smallest reprojection error per joint, or
    -1 where there is none (a diagnostic; the aggregation weighs, see
    :func:`reproj_weights`)."""
    err = reprojection_errors(hyps, x2d, visible, camera)
    finite = np.isfinite(err)
    best = np.where(finite, err, np.inf).argmin(axis=0)
    best = np.where(finite.any(axis=0), best, -1)
    return torch.from_numpy(best).to(hyps.device)


def reproj_aggregate(
    hyps: Tensor,
    x2d: Tensor,
    visible: Tensor | None = None,
    camera: Cameras = None,
    sigma: float = DEFAULT_SIGMA,
) -> Tensor:
    """(B, T, J, 3): per joint the hypotheses weighted by their agreement with the visible
    2D keypoint (:func:`reproj_weights`); the mean where the keypoint is missing."""
    w = torch.from_numpy(reproj_weights(hyps, x2d, visible, camera, sigma))
    return (w.to(hyps.device, hyps.dtype)[..., None] * hyps).sum(dim=0)
