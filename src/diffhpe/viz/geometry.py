"""Geometry and colours shared by the rendered pictures and the HTML viewer (numpy only).

Shapes: T frames, J joints (17). ``pose3d`` and ``gt3d`` are ``(T, J, 3)`` metres in
the camera frame (x right, y down, z forward), ``pose2d`` is ``(T, J, 2)`` in image
pixels (or any 2D unit), ``uncertainty`` is ``(T, J)`` metres (std across diffusion
hypotheses).

Display axes: the camera frame is shown upright with ``display = (x, z, -y)``, i.e.
display X = camera x (right), display Y = camera z (depth, away from the camera),
display Z = -camera y (up). This is a right-handed frame with Z up, so the person
stands on a floor at their lowest joint. Absolute joints in a world frame (z up, floor
z = 0) are used as they are (``frame="world"``). The 3D view is an orthographic
projection (:func:`view_basis`) inside one cube for the whole sequence (:func:`scene_box`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from diffhpe.skeleton import H36M, Skeleton

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
LEFT_COLOR = "#0072B2"  # blue
RIGHT_COLOR = "#D55E00"  # vermillion
CENTER_COLOR = "#3C3C3C"  # dark grey: pelvis, spine, neck, head
GT_COLOR = "#8C8C8C"  # grey, dashed
FLOOR_COLOR = "#D9D9D9"
TRACK_COLOR = "#009E73"  # bluish green: the pelvis's path over the floor


# --------------------------------------------------------------------------- inputs
def as_array(
    x: Any, name: str, shape: tuple[int | None, ...], allow_nan: bool = False
) -> np.ndarray:
    """``x`` (numpy or torch) as a float64 array of ``shape`` (None: any size), or ValueError.

    ``allow_nan``: NaN marks a missing value (infinities are still refused)."""
    if hasattr(x, "detach"):  # torch tensor: leave autograd and the device behind
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    ok = a.ndim == len(shape) and all(
        s is None or s == n for s, n in zip(shape, a.shape, strict=True)
    )
    if not ok:
        want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {tuple(a.shape)}")
    if np.isinf(a).any() or (not allow_nan and np.isnan(a).any()):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def check_inputs(
    pose3d: Any,
    pose2d: Any = None,
    uncertainty: Any = None,
    gt3d: Any = None,
    skeleton: Skeleton = H36M,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Validate shapes ``(T, J, 3)``, ``(T, J, 2)``, ``(T, J)``, ``(T, J, 3)`` and equal T."""
    j = skeleton.num_joints
    p3 = as_array(pose3d, "pose3d", (None, j, 3))
    t = p3.shape[0]
    if t == 0:
        raise ValueError("pose3d: expected at least one frame, got T = 0")
    # 2D keypoints may be missing (NaN, e.g. a joint or frame the detector lost): not drawn.
    p2 = None if pose2d is None else as_array(pose2d, "pose2d", (t, j, 2), allow_nan=True)
    unc = None if uncertainty is None else as_array(uncertainty, "uncertainty", (t, j))
    if unc is not None and (unc < 0).any():
        raise ValueError("uncertainty: expected a non-negative std per joint (metres)")
    gt = None if gt3d is None else as_array(gt3d, "gt3d", (t, j, 3))
    return p3, p2, unc, gt


def side_colors(skeleton: Skeleton = H36M) -> tuple[list[str], list[str]]:
    """Colours per joint (J,) and per bone (S,): a bone takes its child's side."""
    joint = [CENTER_COLOR] * skeleton.num_joints
    for j in skeleton.left:
        joint[j] = LEFT_COLOR
    for j in skeleton.right:
        joint[j] = RIGHT_COLOR
    bone = [joint[c] for c, _ in skeleton.bones]
    return joint, bone


# ------------------------------------------------------------------------- geometry
def camera_to_display(x: np.ndarray) -> np.ndarray:
    """(..., 3) camera frame (x right, y down, z forward) -> display (x, z, -y), Z up."""
    return np.stack([x[..., 0], x[..., 2], -x[..., 1]], axis=-1)


def to_display(x: np.ndarray, frame: str = "camera") -> np.ndarray:
    """(..., 3) points -> display coordinates (Z up): the camera frame through
    :func:`camera_to_display`, a world frame (z up) as it is."""
    if frame == "world":
        return np.asarray(x, dtype=np.float64)
    if frame == "camera":
        return camera_to_display(x)
    raise ValueError(f"frame: expected 'camera' or 'world', got {frame!r}")


def show_track(pose3d: np.ndarray, frame: str = "camera", track: bool | None = None) -> bool:
    """Whether to draw the pelvis's track: ``track``, or when None, when the pelvis moves
    more than 5 cm over the floor (never for root-relative poses)."""
    if track is not None:
        return bool(track)
    xy = to_display(pose3d[:, 0], frame)[:, :2]
    return bool(np.ptp(xy, axis=0).max() > 0.05) if len(xy) else False


def view_basis(elev: float, azim: float) -> np.ndarray:
    """(3, 3) rows: screen right, screen up and the unit vector towards the viewer.

    Angles in degrees with matplotlib's meaning: azim = -90, elev = 0 looks along
    display +Y, i.e. from the camera that recorded the 2D input.
    """
    e, a = np.deg2rad(elev), np.deg2rad(azim)
    toward = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    right = np.array([-np.sin(a), np.cos(a), 0.0])
    up = np.cross(toward, right)
    return np.stack([right, up, toward])


@dataclass(frozen=True)
class SceneBox:
    """A cube in display coordinates holding every point of a sequence, computed once.

    ``center`` (3,), ``half`` the half side in metres, ``floor`` the display height
    of the lowest joint (the ground the person stands on).
    """

    center: np.ndarray
    half: float
    floor: float

    @property
    def limits(self) -> np.ndarray:
        """(3, 2) [min, max] per display axis (X right, Y depth, Z up)."""
        return np.stack([self.center - self.half, self.center + self.half], axis=1)

    def corners(self) -> np.ndarray:
        """(8, 3) the cube's corners."""
        lim = self.limits
        idx = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
        return np.stack([lim[0, idx[:, 0]], lim[1, idx[:, 1]], lim[2, idx[:, 2]]], axis=1)


def scene_box(
    pose3d: np.ndarray,
    uncertainty: np.ndarray | None = None,
    gt3d: np.ndarray | None = None,
    margin: float = 0.1,
    min_half: float = 0.25,
    frame: str = "camera",
) -> SceneBox:
    """The steady 3D frame of a whole sequence: one cube for all frames, so nothing jumps.

    Points are ``(T, J, 3)`` metres in ``frame`` (see :func:`to_display`); each joint is
    padded by its std when given. In the world frame the floor is z = 0.
    """
    pts = to_display(pose3d, frame).reshape(-1, 3)
    pad = np.zeros(len(pts)) if uncertainty is None else np.asarray(uncertainty).reshape(-1)
    lo, hi = (pts - pad[:, None]).min(0), (pts + pad[:, None]).max(0)
    floor = pts[:, 2].min()
    if gt3d is not None:
        g = to_display(gt3d, frame).reshape(-1, 3)
        lo, hi = np.minimum(lo, g.min(0)), np.maximum(hi, g.max(0))
        floor = min(floor, g[:, 2].min())
    if frame == "world":  # the fitted floor, in the box
        floor = 0.0
        lo[2], hi[2] = min(lo[2], 0.0), max(hi[2], 0.0)
    half = max(float((hi - lo).max()) / 2 * (1 + margin), min_half)
    return SceneBox(center=(lo + hi) / 2, half=half, floor=float(floor))


def screen_limits(
    box: SceneBox, basis: np.ndarray, aspect: float
) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the projected cube plus 4 %, widened to ``aspect`` = width / height."""
    s = (box.corners() - box.center) @ basis[:2].T  # (8, 2) screen coordinates
    w, h = 2.08 * np.abs(s[:, 0]).max(), 2.08 * np.abs(s[:, 1]).max()
    w, h = max(w, h * aspect), max(h, w / aspect)
    return -w / 2, w / 2, -h / 2, h / 2
