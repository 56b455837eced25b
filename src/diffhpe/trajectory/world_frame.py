"""A world frame on the floor for absolute camera-frame joints (``pose3d + root_cam``).

:func:`fit_world_frame`: z up, the floor fitted to the lowest ankle of every frame
(robust plane fit, leaning towards the body's own up direction where the footprints do
not span a plane, e.g. a straight walk or standing still), the ankles at contact
``ANKLE_HEIGHT`` above the floor z = 0. x is the camera's x (image right) laid on the
floor, y = z x x points away from the camera, and the origin is the floor point under
the pelvis of the first frame.

Only numpy is needed. Shapes: T frames, J joints (17).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from diffhpe.skeleton import JOINT_NAMES
from diffhpe.trajectory.root_fit import check_pose

ANKLE_HEIGHT = 0.09  # metres: ankle joint above the floor when the foot is on it
UP_PRIOR = 0.25  # m^2: how strongly the floor leans towards the body's up (see fit_world_frame)
MAX_BODY_TILT_DEG = 45.0  # body up further than this from the camera's up: not upright

_R_ANKLE, _L_ANKLE = JOINT_NAMES.index("RAnkle"), JOINT_NAMES.index("LAnkle")
_THORAX = JOINT_NAMES.index("Thorax")


@dataclass
class WorldFrame:
    """A rigid camera -> world transform: ``x_world = rotation @ x_cam + translation``.

    World: z up (normal of the fitted floor, z = 0 on it), x the camera's x laid on the
    floor, y = z x x (away from the camera), origin under the first frame's pelvis.
    ``up_cam`` is the floor normal in camera coordinates, ``camera_height`` the camera
    centre's height above the floor (metres), ``contacts`` how many frames had a foot on
    the fitted floor, ``method`` "floor" (the footprints span the floor) or "body-up"
    (they do not: the tilt came from the body's mean up direction).
    """

    rotation: np.ndarray
    translation: np.ndarray
    up_cam: np.ndarray
    camera_height: float
    contacts: int
    method: str
    ankle_height: float = ANKLE_HEIGHT
    extra: dict[str, Any] = field(default_factory=dict)

    def apply(self, x_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame metres -> (..., 3) world metres."""
        return np.asarray(x_cam, dtype=np.float64) @ self.rotation.T + self.translation

    def inverse(self, x_world: np.ndarray) -> np.ndarray:
        """(..., 3) world metres -> (..., 3) camera-frame metres."""
        return (np.asarray(x_world, dtype=np.float64) - self.translation) @ self.rotation

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the 4x4 camera-to-world matrix and the fit's facts."""
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = self.rotation, self.translation
        return {
            "camera_to_world": np.round(m, 6).tolist(),
            "convention": "x_world = R @ x_cam + t; world z up (floor z = 0), x = camera x "
            "on the floor, y away from the camera, origin under the first frame's pelvis",
            "up_in_camera": np.round(self.up_cam, 6).tolist(),
            "camera_height_m": round(float(self.camera_height), 4),
            "ankle_height_m": self.ankle_height,
            "floor_contacts": int(self.contacts),
            "method": self.method,
            **self.extra,
        }


def body_up(joints_cam: np.ndarray, max_tilt_deg: float = MAX_BODY_TILT_DEG) -> np.ndarray:
    """(3,) unit up direction in camera coordinates, from the body: the mean direction
    from the mid-ankle to the thorax over the most extended quarter of the frames (the
    person standing tallest: upright for standing, walking, running, squatting or
    bending). When that is more than ``max_tilt_deg`` away from the camera's up (-y),
    the person never stood (lying, crawling) and the camera's up is returned instead."""
    cam_up = np.array([0.0, -1.0, 0.0])
    mid = 0.5 * (joints_cam[:, _R_ANKLE] + joints_cam[:, _L_ANKLE])
    v = joints_cam[:, _THORAX] - mid
    n = np.linalg.norm(v, axis=-1)
    good = np.isfinite(v).all(-1) & (n > 1e-6)
    if not good.any():
        return cam_up
    v, n = v[good], n[good]
    tall = n >= np.percentile(n, 75) - 1e-12
    u = (v[tall] / n[tall, None]).mean(0)
    norm = np.linalg.norm(u)
    if norm < 1e-6:
        return cam_up
    u = u / norm
    return u if u @ cam_up >= math.cos(math.radians(max_tilt_deg)) else cam_up


def fit_world_frame(
    joints_cam: Any,
    ankle_height: float = ANKLE_HEIGHT,
    up_prior: float = UP_PRIOR,
    iterations: int = 8,
) -> WorldFrame:
    """The world frame of a sequence of absolute camera-frame joints (T, 17, 3) metres
    (``pose3d + root_cam``): see :class:`WorldFrame` and the module notes.

    Floor: the lower ankle of each frame (along the body's up) is a footprint candidate.
    The normal n minimises ``n' C n - up_prior (n . u_body)^2`` (C the weighted
    covariance of the footprints): the smallest eigenvector of ``C - up_prior u u'``.
    Where the footprints spread over metres the data decide; along directions they do
    not span (a straight walk, standing still) the body's up does. Reweighted so that
    footprints more than 3 cm above the current floor (a swinging foot) fade out.
    """
    x = check_pose(joints_cam, "joints_cam")
    good = np.isfinite(x).all((-1, -2))
    if not good.any():
        raise ValueError("fit_world_frame: no frame with finite joints")
    xs = x[good]
    u = body_up(xs)
    ankles = xs[:, [_R_ANKLE, _L_ANKLE]]  # (T, 2, 3)
    low = np.argmin(ankles @ u, axis=1)
    feet = ankles[np.arange(len(xs)), low]  # (T, 3)
    w = np.ones(len(feet))
    n = u.copy()
    for _ in range(max(1, iterations)):
        c = (w[:, None] * feet).sum(0) / w.sum()
        d = feet - c
        cov = (w[:, None, None] * d[:, :, None] * d[:, None, :]).sum(0) / w.sum()
        evals, evecs = np.linalg.eigh(cov - up_prior * np.outer(u, u))
        n = evecs[:, 0]
        n = n if n @ u >= 0 else -n
        h = d @ n
        ref = np.percentile(h, 20)
        over = np.maximum(h - ref - 0.03, 0.0)
        w = np.exp(-((over / 0.03) ** 2)) + 1e-9
    contact = w > 0.5
    steps = feet[contact] if contact.any() else feet
    level = float(np.median(steps @ n)) - ankle_height
    # The data decide the tilt both ways when the footprints spread in two directions.
    d = steps - steps.mean(0)
    spread = np.linalg.eigvalsh(d.T @ d / len(d))
    method = "floor" if spread[1] > up_prior else "body-up"
    ex = np.array([1.0, 0.0, 0.0])
    xw = ex - (ex @ n) * n
    if np.linalg.norm(xw) < 1e-6:  # camera looking straight down/up: use its z instead
        ez = np.array([0.0, 0.0, 1.0])
        xw = ez - (ez @ n) * n
    xw /= np.linalg.norm(xw)
    yw = np.cross(n, xw)
    R = np.stack([xw, yw, n])
    pelvis0 = xs[0, 0]
    origin = pelvis0 - (pelvis0 @ n - level) * n  # floor point under the first pelvis
    t = -R @ origin
    tilt = math.degrees(math.acos(float(np.clip(n @ u, -1.0, 1.0))))
    return WorldFrame(
        rotation=R, translation=t, up_cam=n, camera_height=float(t[2]),
        contacts=int(contact.sum()), method=method, ankle_height=ankle_height,
        extra={"floor_vs_body_up_deg": round(tilt, 2)},
    )  # fmt: skip
