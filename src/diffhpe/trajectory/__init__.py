"""Where the person is: root trajectory in the camera frame, and a world frame on the floor.

The lifters predict root-relative joints ``pose3d`` (T, 17, 3): metres, camera frame
(x right, y down, z forward), pelvis at 0. :func:`root_trajectory` adds where the pelvis
is, from the 2D input (pixels) and a pinhole camera:

1. **Root translation per frame** (:func:`~diffhpe.trajectory.root_fit.estimate_root`): weighted,
   iteratively reweighted least squares on the reprojection error of the visible joints.
2. **Smoothing over time** (:func:`~diffhpe.trajectory.root_fit.smooth_trajectory`): gaps filled,
   the root's image direction smoothed over 0.05 s and its inverse depth over 0.7 s.
3. **World frame** (:func:`~diffhpe.trajectory.world_frame.fit_world_frame`): z up, the floor
   fitted to the lowest ankle of every frame, origin under the first frame's pelvis.

The parts: :mod:`diffhpe.trajectory.intrinsics` (the camera: focal given, calibrated or guessed
from a 60 degree field of view), :mod:`diffhpe.trajectory.root_fit` (steps 1-2),
:mod:`diffhpe.trajectory.world_frame` (step 3); their names are importable from here too. See
docs/TRAJECTORY.md for the error this gives on the open benchmark.

Only numpy is needed. Shapes: T frames, J joints (17).
"""

from diffhpe.trajectory.fit import Trajectory, root_trajectory
from diffhpe.trajectory.intrinsics import DEFAULT_FOV_DEG, Intrinsics, focal_from_fov
from diffhpe.trajectory.root_fit import (
    DEFAULT_DEPTH_SMOOTH_S,
    DEFAULT_SMOOTH_S,
    MIN_DEPTH,
    RootEstimate,
    estimate_root,
    fill_gaps,
    gaussian_smooth,
    smooth_trajectory,
)
from diffhpe.trajectory.world_frame import (
    ANKLE_HEIGHT,
    MAX_BODY_TILT_DEG,
    UP_PRIOR,
    WorldFrame,
    body_up,
    fit_world_frame,
)

__all__ = [
    "ANKLE_HEIGHT",
    "DEFAULT_DEPTH_SMOOTH_S",
    "DEFAULT_FOV_DEG",
    "DEFAULT_SMOOTH_S",
    "Intrinsics",
    "MAX_BODY_TILT_DEG",
    "MIN_DEPTH",
    "RootEstimate",
    "Trajectory",
    "UP_PRIOR",
    "WorldFrame",
    "body_up",
    "estimate_root",
    "fill_gaps",
    "fit_world_frame",
    "focal_from_fov",
    "gaussian_smooth",
    "root_trajectory",
    "smooth_trajectory",
]
