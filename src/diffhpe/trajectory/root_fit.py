"""The root (pelvis) translation in the camera frame, per frame, then smoothed over time.

The lifters predict root-relative joints ``pose3d`` (T, 17, 3): metres, camera frame
(x right, y down, z forward), pelvis at 0. Together with the 2D input (pixels) and a
pinhole camera (:class:`~diffhpe.trajectory.intrinsics.Intrinsics`) they also fix where the pelvis
is, up to the error of the 3D pose:

1. **Root translation per frame** (:func:`estimate_root`). For every visible joint j
   with normalised image coordinates ``(x_j, y_j) = ((u - cx) / fx, (v - cy) / fy)``
   the projection of ``pose3d[j] + T`` must hit the keypoint:
   ``x_j (Z_j + Tz) = X_j + Tx`` and ``y_j (Z_j + Tz) = Y_j + Ty``, two equations
   linear in T = (Tx, Ty, Tz). All visible joints give an over-determined linear system
   (the DLT-like one), solved per frame by weighted least squares, vectorised over
   frames. It is then re-solved a few times (iteratively reweighted least squares): each
   equation divided by ``Z_j + Tz`` of the previous solution, which turns the
   algebraic error into the reprojection error in pixels, and by a Huber weight on that
   error (threshold: twice the frame's median joint error), so one badly detected or
   badly lifted joint does not drag the root.
2. **Smoothing over time** (:func:`smooth_trajectory`): frames with no estimate (fewer
   than ``min_joints`` visible joints) are filled by linear interpolation; then the
   root's image direction ``(Tx / Tz, Ty / Tz)``, which the 2D fixes well, gets a
   Gaussian of ``smooth_s`` = 0.05 s, and the inverse depth ``1 / Tz``, which only the
   lifted body's size gives and is noisy, one of ``depth_smooth_s`` = 0.7 s (both chosen
   on the validation split, docs/TRAJECTORY.md). The filter is a local linear
   regression with Gaussian weights (:func:`gaussian_smooth`): steady motion, even at
   the ends of the sequence, passes unchanged.

Only numpy is needed. Shapes: T frames, J joints (17).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffhpe.skeleton import NUM_JOINTS
from diffhpe.trajectory.intrinsics import Intrinsics

DEFAULT_SMOOTH_S = 0.05  # std of the Gaussian over time of the root's image direction, s
DEFAULT_DEPTH_SMOOTH_S = 0.7  # std of the Gaussian over time of 1 / depth, s
MIN_DEPTH = 0.1  # metres: a root nearer than this (or behind the camera) is no estimate


def check_pose(pose3d: Any, name: str = "pose3d") -> np.ndarray:
    """``pose3d`` as a float64 (T, 17, 3) array, else a ValueError naming ``name``."""
    p = np.asarray(pose3d, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{name}: expected shape (T, 17, 3), got {p.shape}")
    return p


@dataclass
class RootEstimate:
    """Per-frame least-squares roots: ``root`` (T, 3) metres (NaN where not estimable),
    ``residual_px`` (T,) RMS reprojection error of the visible joints (NaN likewise)."""

    root: np.ndarray
    residual_px: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.root).all(-1)


def estimate_root(
    pose3d: Any,
    xy: Any,
    intrinsics: Intrinsics,
    weights: Any = None,
    iterations: int = 5,
    min_joints: int = 3,
) -> RootEstimate:
    """Per-frame root translation T (camera frame, metres) minimising the reprojection
    error of ``pose3d + T`` against the visible 2D keypoints ``xy`` (T, 17, 2) pixels
    (NaN = missing). ``weights`` (T, 17): optional per-keypoint confidence (0 = ignore).
    Frames with fewer than ``min_joints`` visible joints, an ill-conditioned system or a
    root less than ``MIN_DEPTH`` in front of the camera get NaN.
    """
    p = check_pose(pose3d)
    uv = np.asarray(xy, dtype=np.float64)
    if uv.shape != p.shape[:2] + (2,):
        raise ValueError(f"xy: expected shape {p.shape[:2] + (2,)}, got {uv.shape}")
    m = intrinsics.normalized(uv)  # (T, J, 2)
    vis = np.isfinite(m).all(-1) & np.isfinite(p).all(-1)
    base = vis.astype(np.float64)
    if weights is not None:
        w_in = np.asarray(weights, dtype=np.float64)
        if w_in.shape != vis.shape:
            raise ValueError(f"weights: expected shape {vis.shape}, got {w_in.shape}")
        base = base * np.where(np.isfinite(w_in), np.clip(w_in, 0.0, None), 0.0)
    m = np.where(vis[..., None], m, 0.0)
    P = np.where(vis[..., None], p, 0.0)
    x, y = m[..., 0], m[..., 1]
    X, Y, Z = P[..., 0], P[..., 1], P[..., 2]
    fx2, fy2 = intrinsics.fx**2, intrinsics.fy**2
    enough = (base > 0).sum(-1) >= max(2, min_joints)

    n = len(p)
    root = np.full((n, 3), np.nan)
    w = base.copy()
    depth_w = np.ones_like(base)  # 1 / (Z_j + Tz)^2 from the previous solution
    huber = np.ones_like(base)
    for _ in range(max(1, iterations)):
        w = base * depth_w * huber
        wx, wy = w * fx2, w * fy2
        # Normal equations of rows [1, 0, -x] . T = x Z - X and [0, 1, -y] . T = y Z - Y.
        A = np.zeros((n, 3, 3))
        A[:, 0, 0] = wx.sum(-1)
        A[:, 1, 1] = wy.sum(-1)
        A[:, 0, 2] = A[:, 2, 0] = -(wx * x).sum(-1)
        A[:, 1, 2] = A[:, 2, 1] = -(wy * y).sum(-1)
        A[:, 2, 2] = (wx * x * x).sum(-1) + (wy * y * y).sum(-1)
        bx, by = x * Z - X, y * Z - Y
        b = np.stack(
            [(wx * bx).sum(-1), (wy * by).sum(-1), -(wx * x * bx).sum(-1) - (wy * y * by).sum(-1)],
            axis=-1,
        )
        ev = np.linalg.eigvalsh(A)
        ok = enough & (ev[:, 0] > 1e-9 * np.maximum(ev[:, 2], 1e-300))
        sol = np.full((n, 3), np.nan)
        if ok.any():
            sol[ok] = np.linalg.solve(A[ok], b[ok][..., None])[..., 0]
        depth = Z + sol[:, None, 2]  # (T, J)
        ok &= np.isfinite(sol).all(-1) & (sol[:, 2] > MIN_DEPTH)
        root = np.where(ok[:, None], sol, np.nan)
        safe = np.where(ok[:, None] & (depth > 1e-3), depth, np.nan)
        ex = intrinsics.fx * (x - (X + sol[:, None, 0]) / safe)
        ey = intrinsics.fy * (y - (Y + sol[:, None, 1]) / safe)
        err = np.hypot(ex, ey)  # (T, J) px, NaN where no solution
        med = _row_median(np.where(ok[:, None] & (base > 0), err, np.nan))  # (T, 1)
        delta = np.maximum(2.0 * med, 1e-6)
        huber = np.where(np.isfinite(err) & (err > delta), delta / np.maximum(err, 1e-12), 1.0)
        depth_w = np.where(np.isfinite(safe), 1.0 / np.maximum(safe, 1e-3) ** 2, 1.0)
    used = (base > 0) & np.isfinite(err)
    rms = np.sqrt((np.where(used, err, 0.0) ** 2).sum(-1) / np.maximum(used.sum(-1), 1))
    rms = np.where(np.isfinite(root).all(-1), rms, np.nan)
    return RootEstimate(root=root, residual_px=rms)


def _row_median(a: np.ndarray) -> np.ndarray:
    """(T, J) with NaN -> (T, 1) median of each row's finite values (1.0 for none),
    without numpy's all-NaN warnings."""
    s = np.sort(np.where(np.isfinite(a), a, np.inf), axis=-1)
    n = np.isfinite(a).sum(-1)
    lo = s[np.arange(len(a)), np.maximum((n - 1) // 2, 0)]
    hi = s[np.arange(len(a)), np.maximum(n // 2, 0)]
    return np.where(n > 0, 0.5 * (lo + hi), 1.0)[:, None]


# ------------------------------------------------------------------------ smoothing
def fill_gaps(x: np.ndarray) -> np.ndarray:
    """(T, C) with NaN rows -> linearly interpolated (held constant before the first and
    after the last finite row). All-NaN input is returned unchanged."""
    x = np.asarray(x, dtype=np.float64)
    good = np.isfinite(x).all(-1)
    if good.all() or not good.any():
        return x.copy()
    t = np.arange(len(x))
    return np.stack([np.interp(t, t[good], x[good, c]) for c in range(x.shape[1])], axis=-1)


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """(T, C) smoothed along T by local linear regression with Gaussian weights of
    ``sigma`` frames: each frame gets the intercept of a weighted straight-line fit to
    its neighbourhood. Inside the sequence this is the plain Gaussian filter; near the
    ends it keeps a steady motion steady instead of bending it towards the end values,
    and a straight line comes out unchanged everywhere."""
    x = np.asarray(x, dtype=np.float64)
    if sigma < 0.3 or len(x) < 2:
        return x.copy()
    r = int(math.ceil(4 * sigma))
    tau = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (tau / sigma) ** 2)
    n = len(x)

    def around(a: np.ndarray, kernel: np.ndarray) -> np.ndarray:  # sum_s kernel[s - t] a[s]
        return np.convolve(a, kernel[::-1], mode="full")[r : r + n]

    ones = np.ones(n)
    s0, s1, s2 = around(ones, k), around(ones, k * tau), around(ones, k * tau**2)
    den = s0 * s2 - s1**2
    line = den > 1e-9 * s0**2
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        sy, sty = around(x[:, c], k), around(x[:, c], k * tau)
        out[:, c] = np.where(line, (s2 * sy - s1 * sty) / np.where(line, den, 1.0), sy / s0)
    return out


def smooth_trajectory(
    root: np.ndarray,
    fps: float = 50.0,
    smooth_s: float = DEFAULT_SMOOTH_S,
    depth_smooth_s: float = DEFAULT_DEPTH_SMOOTH_S,
) -> np.ndarray:
    """(T, 3) per-frame roots (NaN = none) -> gaps filled, then smoothed along the ray:
    the image direction ``(Tx / Tz, Ty / Tz)`` by a Gaussian of ``smooth_s`` seconds (it
    is well measured: the 2D fixes it) and the inverse depth ``1 / Tz`` by one of
    ``depth_smooth_s`` seconds (it is not: it comes from the lifted body's size)."""
    if not (fps > 0 and smooth_s >= 0 and depth_smooth_s >= 0):
        raise ValueError(
            f"fps must be > 0 and smooth_s, depth_smooth_s >= 0, got {fps}, {smooth_s}, "
            f"{depth_smooth_s}"
        )
    r = fill_gaps(root)
    if not np.isfinite(r).all():
        return r
    z = r[:, 2:3]
    inv = gaussian_smooth(1.0 / z, depth_smooth_s * fps)
    direction = gaussian_smooth(r[:, :2] / z, smooth_s * fps)
    depth = 1.0 / inv
    return np.concatenate([direction * depth, depth], axis=-1)
