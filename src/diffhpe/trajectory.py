"""Where the person is: root trajectory in the camera frame, and a world frame on the floor.

The lifters predict root-relative joints ``pose3d`` (T, 17, 3): metres, camera frame
(x right, y down, z forward), pelvis at 0. Together with the 2D input (pixels) and a
pinhole camera they also fix where the pelvis is, up to the error of the 3D pose:

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
3. **World frame** (:func:`fit_world_frame`): z up, the floor fitted to the lowest
   ankle of every frame (robust plane fit, leaning towards the body's own up direction
   where the footprints do not span a plane, e.g. a straight walk or standing still),
   the ankles at contact ``ANKLE_HEIGHT`` above the floor z = 0. x is the camera's x
   (image right) laid on the floor, y = z x x points away from the camera, and the
   origin is the floor point under the pelvis of the first frame.

Intrinsics: the principal point is the image centre unless given; the focal length is
``--focal`` / ``focal=`` when known, else a guess from the image size,
``f = max(w, h) / (2 tan(DEFAULT_FOV_DEG / 2))`` with a 60 degree field of view across
the longer side (``f = 0.866 max(w, h)``; phones and webcams film at 60-75 degrees;
Human3.6M's cameras at 47, i.e. f = 1145 px for 1000 px). Depth scales with the focal:
a focal 20 % off puts the person about 20 % too near or too far. See docs/TRAJECTORY.md
for the error this gives on the open benchmark.

Only numpy is needed. Shapes: T frames, J joints (17).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS

DEFAULT_FOV_DEG = 60.0  # field of view across the longer image side for the focal guess
DEFAULT_SMOOTH_S = 0.05  # std of the Gaussian over time of the root's image direction, s
DEFAULT_DEPTH_SMOOTH_S = 0.7  # std of the Gaussian over time of 1 / depth, s
ANKLE_HEIGHT = 0.09  # metres: ankle joint above the floor when the foot is on it
UP_PRIOR = 0.25  # m^2: how strongly the floor leans towards the body's up (see fit_world_frame)
MAX_BODY_TILT_DEG = 45.0  # body up further than this from the camera's up: not upright
MIN_DEPTH = 0.1  # metres: a root nearer than this (or behind the camera) is no estimate

_R_ANKLE, _L_ANKLE = JOINT_NAMES.index("RAnkle"), JOINT_NAMES.index("LAnkle")
_THORAX = JOINT_NAMES.index("Thorax")


# ----------------------------------------------------------------------- intrinsics
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


# ------------------------------------------------------------------ root per frame
@dataclass
class RootEstimate:
    """Per-frame least-squares roots: ``root`` (T, 3) metres (NaN where not estimable),
    ``residual_px`` (T,) RMS reprojection error of the visible joints (NaN likewise)."""

    root: np.ndarray
    residual_px: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return np.isfinite(self.root).all(-1)


def _check_pose(pose3d: Any, name: str = "pose3d") -> np.ndarray:
    p = np.asarray(pose3d, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{name}: expected shape (T, 17, 3), got {p.shape}")
    return p


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
    p = _check_pose(pose3d)
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


# ---------------------------------------------------------------------- world frame
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
    x = _check_pose(joints_cam, "joints_cam")
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


# ------------------------------------------------------------------------- together
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
    p = _check_pose(pose3d)
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
