"""``Trajectory`` and :func:`root_trajectory`: the steps of :mod:`diffhpe.trajectory` put together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from diffhpe.trajectory.intrinsics import DEFAULT_FOV_DEG, Intrinsics
from diffhpe.trajectory.root_fit import (
    DEFAULT_DEPTH_SMOOTH_S,
    DEFAULT_SMOOTH_S,
    check_pose,
    estimate_root,
    smooth_trajectory,
)
from diffhpe.trajectory.world_frame import (
    WorldFrame,
    fit_world_frame,
)


@dataclass
class Trajectory:
    """Everything :func:`root_trajectory` found: the smoothed ``root_cam`` (T, 3), the
    per-frame least-squares roots ``raw`` (NaN where none), their reprojection RMS, the
    intrinsics used and the world frame (None when no frame had a root)."""

    root_cam: np.ndarray
    raw: np.ndarray
    residual_px: np.ndarray
    intrinsics: Intrinsics
    world: WorldFrame | None
    smooth_s: float
    depth_smooth_s: float
    fps: float

    def pose_world(self, pose3d: np.ndarray) -> np.ndarray:
        """(T, 17, 3) root-relative camera joints -> world joints (NaN without a world)."""
        p = np.asarray(pose3d, dtype=np.float64) + self.root_cam[:, None]
        if self.world is None:
            return np.full(p.shape, np.nan)
        return self.world.apply(p)

    def meta(self) -> dict[str, Any]:
        """JSON-ready description for the output files."""
        est = np.isfinite(self.raw).all(-1)
        res = self.residual_px[est]
        return {
            "intrinsics": self.intrinsics.to_dict(),
            "fov_deg_default": DEFAULT_FOV_DEG,
            "smooth_s": self.smooth_s,
            "depth_smooth_s": self.depth_smooth_s,
            "fps": self.fps,
            "frames_estimated": int(est.sum()),
            "frames": int(len(self.raw)),
            "reprojection_rms_px_median": round(float(np.median(res)), 3) if len(res) else None,
            "world": None if self.world is None else self.world.to_dict(),
        }


def root_trajectory(
    pose3d: Any,
    xy: Any,
    image_size: tuple[float, float],
    focal: float | None = None,
    intrinsics: Intrinsics | None = None,
    fps: float = 50.0,
    smooth_s: float = DEFAULT_SMOOTH_S,
    depth_smooth_s: float = DEFAULT_DEPTH_SMOOTH_S,
    weights: Any = None,
    world: bool = True,
) -> Trajectory:
    """Root translation per frame (least squares + smoothing) and the world frame.

    ``intrinsics`` wins over ``focal`` (pixels), which wins over the field-of-view guess.
    """
    intr = intrinsics or Intrinsics.from_image(image_size, focal)
    p = check_pose(pose3d)
    est = estimate_root(p, xy, intr, weights=weights)
    if est.valid.any():
        root = smooth_trajectory(est.root, fps, smooth_s, depth_smooth_s)
    else:
        root = np.full((len(p), 3), np.nan)
    wf = fit_world_frame(p + root[:, None]) if world and est.valid.any() else None
    return Trajectory(
        root_cam=root, raw=est.root, residual_px=est.residual_px, intrinsics=intr,
        world=wf, smooth_s=smooth_s, depth_smooth_s=depth_smooth_s, fps=fps,
    )  # fmt: skip
