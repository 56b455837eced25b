"""Human3.6M cameras: calibration, world/camera transforms, distorted projection.

The calibration is the real Human3.6M one as published by K. Iskakov (MIT licence,
shipped in ``assets/h36m_cameras``): per camera an intrinsic matrix K and distortion
``[k1, k2, p1, p2, k3]`` (OpenCV order), and per subject a world-to-camera rotation R
and translation t (millimetres): ``X_cam = R @ X_world + t``. diffhpe works in metres.

Shapes: points ``(..., 3)`` in metres, pixels ``(..., 2)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

CAMERA_IDS: tuple[str, ...] = ("54138969", "55011271", "58860488", "60457274")
SUBJECTS: tuple[str, ...] = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11")
# Cameras 54138969 and 60457274 record 1000 x 1002 images, the other two 1000 x 1000.
IMAGE_SIZES: dict[str, tuple[int, int]] = {
    "54138969": (1000, 1002),
    "55011271": (1000, 1000),
    "58860488": (1000, 1000),
    "60457274": (1000, 1002),
}


@dataclass(frozen=True)
class Camera:
    """One calibrated camera. ``R`` world-to-camera, ``t`` in metres, image ``(w, h)``."""

    id: str
    K: np.ndarray  # (3, 3)
    dist: np.ndarray  # (5,) k1, k2, p1, p2, k3
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,) metres
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        """(3,) camera centre in world coordinates: C = -R^T t."""
        return -self.R.T @ self.t

    @property
    def optical_axis(self) -> np.ndarray:
        """(3,) unit viewing direction in world coordinates (camera +z)."""
        return self.R[2]

    def world_to_camera(self, x: np.ndarray) -> np.ndarray:
        """(..., 3) world metres -> (..., 3) camera metres."""
        return x @ self.R.T + self.t

    def camera_to_world(self, x: np.ndarray) -> np.ndarray:
        """(..., 3) camera metres -> (..., 3) world metres (inverse of world_to_camera)."""
        return (x - self.t) @ self.R

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixels, with lens distortion.

        Brown-Conrady model as in OpenCV: radial ``1 + k1 r^2 + k2 r^4 + k3 r^6`` and
        tangential ``(2 p1 x y + p2 (r^2 + 2 x^2), p1 (r^2 + 2 y^2) + 2 p2 x y)``.
        Points must lie in front of the camera (z > 0).
        """
        z = x_cam[..., 2:3]
        if np.any(z <= 0):
            raise ValueError(
                f"camera {self.id}: points behind the camera (z <= 0) cannot be projected"
            )
        xy = x_cam[..., :2] / z
        x, y = xy[..., 0], xy[..., 1]
        k1, k2, p1, p2, k3 = self.dist
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        u = self.K[0, 0] * xd + self.K[0, 1] * yd + self.K[0, 2]
        v = self.K[1, 1] * yd + self.K[1, 2]
        return np.stack([u, v], axis=-1)

    def project_world(self, x_world: np.ndarray) -> np.ndarray:
        """(..., 3) world metres -> (..., 2) pixels."""
        return self.project(self.world_to_camera(x_world))

    def inside_image(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels -> (...) bool, True where the point falls inside the image."""
        return (
            (uv[..., 0] >= 0)
            & (uv[..., 0] < self.width)
            & (uv[..., 1] >= 0)
            & (uv[..., 1] < self.height)
        )


def normalize_screen(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """(..., 2) pixels -> normalised coordinates ``uv / w * 2 - [1, h / w]``.

    x spans [-1, 1] and y keeps the aspect ratio, so the image centre maps near 0 and a
    horizontal mirror is the negation of x.
    """
    return uv / width * 2 - np.array([1.0, height / width], dtype=uv.dtype)


def image_coordinates(xy: np.ndarray, width: int, height: int) -> np.ndarray:
    """Inverse of :func:`normalize_screen`: normalised (..., 2) -> pixels."""
    return (xy + np.array([1.0, height / width], dtype=xy.dtype)) * width / 2


def _default_calibration_path() -> Path:
    return Path(
        str(resources.files("diffhpe") / "assets" / "h36m_cameras" / "camera-parameters.json")
    )


@cache
def _read_calibration(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read camera calibration JSON ({e})") from e
    for field in ("intrinsics", "extrinsics"):
        if field not in data:
            raise ValueError(
                f"{path}: missing field {field!r} (expected 'intrinsics' and 'extrinsics')"
            )
    return data


def load_cameras(subject: str = "S1", path: str | Path | None = None) -> dict[str, Camera]:
    """The four Human3.6M cameras with ``subject``'s extrinsics, keyed by camera id."""
    path = str(path or _default_calibration_path())
    data = _read_calibration(path)
    if subject not in data["extrinsics"]:
        raise KeyError(
            f"{path}: no extrinsics for subject {subject!r}; have {sorted(data['extrinsics'])}"
        )
    cams = {}
    for cid in CAMERA_IDS:
        try:
            intr = data["intrinsics"][cid]
            extr = data["extrinsics"][subject][cid]
            K = np.asarray(intr["calibration_matrix"], dtype=np.float64).reshape(3, 3)
            dist = np.asarray(intr["distortion"], dtype=np.float64).reshape(5)
            R = np.asarray(extr["R"], dtype=np.float64).reshape(3, 3)
            t = np.asarray(extr["t"], dtype=np.float64).reshape(3) / 1000.0
        except (KeyError, ValueError) as e:
            raise ValueError(
                f"{path}: camera {cid} subject {subject}: bad or missing field ({e})"
            ) from e
        w, h = IMAGE_SIZES[cid]
        cams[cid] = Camera(id=cid, K=K, dist=dist, R=R, t=t, width=w, height=h)
    return cams


def capture_volume_center(cameras: dict[str, Camera]) -> np.ndarray:
    """(3,) world point closest (least squares) to all cameras' optical axes.

    The four Human3.6M cameras look at the middle of the capture area; the point where
    their axes (nearly) meet is where we place people. Its z is set to 0 (the floor).
    """
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for cam in cameras.values():
        d = cam.optical_axis / np.linalg.norm(cam.optical_axis)
        p = np.eye(3) - np.outer(d, d)  # projector orthogonal to the axis
        a += p
        b += p @ cam.center
    c = np.linalg.solve(a, b)
    c[2] = 0.0
    return c
