"""A pinhole camera in pixels for lifting: the focal length given, calibrated or guessed.

The principal point is the image centre unless given; the focal length is ``--focal`` /
``focal=`` when known, else a guess from the image size,
``f = max(w, h) / (2 tan(DEFAULT_FOV_DEG / 2))`` with a 60 degree field of view across
the longer side (``f = 0.866 max(w, h)``; phones and webcams film at 60-75 degrees;
Human3.6M's cameras at 47, i.e. f = 1145 px for 1000 px). Depth scales with the focal:
a focal 20 % off puts the person about 20 % too near or too far (:mod:`diffhpe.trajectory`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_FOV_DEG = 60.0  # field of view across the longer image side for the focal guess


def focal_from_fov(image_size: tuple[float, float], fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels for a field of view of ``fov_deg`` across the longer side."""
    if not 1.0 <= fov_deg <= 179.0:
        raise ValueError(f"fov_deg must be in 1..179 degrees, got {fov_deg:g}")
    return max(float(image_size[0]), float(image_size[1])) / (
        2.0 * math.tan(math.radians(fov_deg) / 2.0)
    )


@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera in pixels: focal lengths, principal point and (optional) the
    Brown-Conrady distortion ``(k1, k2, p1, p2, k3)`` of :mod:`diffhpe.cameras`.

    ``source`` says where the focal came from: ``"guess"`` (field of view),
    ``"given"`` (``--focal`` or ``focal=``) or ``"calibration"``.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, ...] | None = None
    source: str = "given"

    def __post_init__(self) -> None:
        for name in ("fx", "fy", "cx", "cy"):
            v = getattr(self, name)
            if not math.isfinite(v):
                raise ValueError(f"intrinsics: {name} must be finite, got {v}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"intrinsics: focal lengths must be > 0 px, got {self.fx}, {self.fy}")
        if self.dist is not None and len(self.dist) != 5:
            raise ValueError(f"intrinsics: dist must be (k1, k2, p1, p2, k3), got {self.dist}")

    @classmethod
    def from_image(
        cls,
        image_size: tuple[float, float],
        focal: float | None = None,
        fov_deg: float = DEFAULT_FOV_DEG,
    ) -> Intrinsics:
        """Principal point at the image centre; ``focal`` in pixels, or the field-of-view
        guess (:func:`focal_from_fov`) when None."""
        w, h = float(image_size[0]), float(image_size[1])
        if focal is None:
            f, source = focal_from_fov((w, h), fov_deg), "guess"
        else:
            f, source = float(focal), "given"
            if not (math.isfinite(f) and f > 0):
                raise ValueError(f"focal must be a number of pixels > 0, got {focal}")
        return cls(fx=f, fy=f, cx=w / 2.0, cy=h / 2.0, source=source)

    @classmethod
    def from_camera(cls, camera: Any, distortion: bool = True) -> Intrinsics:
        """From a calibrated :class:`diffhpe.cameras.Camera` (K and distortion)."""
        K = np.asarray(camera.K, dtype=np.float64)
        dist = tuple(float(v) for v in camera.dist) if distortion else None
        return cls(
            fx=float(K[0, 0]), fy=float(K[1, 1]), cx=float(K[0, 2]), cy=float(K[1, 2]),
            dist=dist, source="calibration",
        )  # fmt: skip

    @property
    def focal(self) -> float:
        return 0.5 * (self.fx + self.fy)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dist"] = None if self.dist is None else list(self.dist)
        return d

    def normalized(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) pixels -> (..., 2) normalised coordinates (x / z, y / z) of the rays,
        undistorted when ``dist`` is set (fixed-point inversion, 20 iterations)."""
        uv = np.asarray(uv, dtype=np.float64)
        xd = (uv[..., 0] - self.cx) / self.fx
        yd = (uv[..., 1] - self.cy) / self.fy
        if self.dist is None or not any(self.dist):
            return np.stack([xd, yd], axis=-1)
        k1, k2, p1, p2, k3 = self.dist
        x, y = xd.copy(), yd.copy()
        for _ in range(20):
            r2 = x * x + y * y
            radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
            dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
            dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
            x, y = (xd - dx) / radial, (yd - dy) / radial
        return np.stack([x, y], axis=-1)

    def project(self, x_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points (z > 0) -> (..., 2) pixels (with distortion)."""
        x_cam = np.asarray(x_cam, dtype=np.float64)
        x, y = x_cam[..., 0] / x_cam[..., 2], x_cam[..., 1] / x_cam[..., 2]
        if self.dist is not None and any(self.dist):
            k1, k2, p1, p2, k3 = self.dist
            r2 = x * x + y * y
            radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
            x, y = (
                x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
                y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y,
            )
        return np.stack([self.fx * x + self.cx, self.fy * y + self.cy], axis=-1)
