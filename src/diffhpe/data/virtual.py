"""Virtual cameras: phones, webcams, surveillance, sports and studio setups (issue #15).

Every open-benchmark clip is seen by the four Human3.6M cameras (~5 m away, chest
height, 1000 px images). People's videos are not: ``diffhpe data build --virtual-cameras
N --out data/open-virtual`` renders each clip through N cameras drawn from :data:`SETUPS`
instead (a second benchmark folder in the same layout, whose ``benchmark.json`` stores
each view's camera), so models can train on them (``data.train_extra_roots``) and be
measured on a fixed, seeded set of them (``diffhpe evaluate --data-root
data/open-virtual``).

A camera looks at the clip's mean pelvis from a random direction, at a drawn distance
and height, with a drawn horizontal field of view, aim offset, roll and image size
(portrait included). If fewer than :data:`MIN_INSIDE` of the clip's joint-frames fall
inside the image, the camera steps back by 20 % and tries again (at most
:data:`MAX_TRIES` times; the achieved share is recorded per view). The ranges are
assumptions about common footage, stated in :data:`SETUPS`; no lens distortion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffhpe.cameras import Camera

MIN_INSIDE = 0.98  # share of a clip's joint-frames inside the image, per view
MAX_TRIES = 12


@dataclass(frozen=True)
class Setup:
    """Ranges (uniform unless said) of one kind of camera setup."""

    name: str
    weight: float  # how often it is drawn
    hfov_deg: tuple[float, float]  # horizontal field of view of a landscape frame
    distance_m: tuple[float, float]  # horizontal distance to the clip's mean pelvis
    height_m: tuple[float, float]  # camera height above the floor
    aim_jitter_deg: float  # +- offset of the aim from the person (yaw and pitch)
    roll_deg: float  # +- roll
    sizes: tuple[tuple[int, int], ...]  # (width, height) landscape sizes, drawn uniformly
    portrait: float  # probability of turning the frame to portrait


SETUPS: tuple[Setup, ...] = (
    Setup("phone", 0.30, (55, 75), (2.0, 6.0), (0.9, 1.8), 8, 8,
          ((1920, 1080), (1280, 720)), 0.5),
    Setup("webcam", 0.15, (55, 80), (1.8, 3.5), (0.7, 1.4), 5, 3,
          ((1280, 720), (640, 480)), 0.0),
    Setup("surveillance", 0.20, (50, 95), (4.0, 12.0), (2.5, 5.0), 6, 3,
          ((1920, 1080), (1280, 720)), 0.0),
    Setup("sports", 0.15, (8, 25), (12.0, 40.0), (1.0, 8.0), 1.5, 2,
          ((1920, 1080),), 0.0),
    Setup("studio", 0.20, (35, 60), (3.0, 7.0), (0.8, 2.2), 5, 2,
          ((1000, 1000), (1920, 1080)), 0.0),
)  # fmt: skip
SETUP_NAMES: tuple[str, ...] = tuple(s.name for s in SETUPS)


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """World-to-camera rotation (camera x right, y down, z forward; world z up) of a camera
    looking along azimuth ``yaw`` (radians from +x), ``pitch`` up from horizontal, ``roll``."""
    forward = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)])
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    c, s = np.cos(roll), np.sin(roll)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ rot


def look_at_camera(
    cam_id: str,
    target: np.ndarray,
    azimuth: float,
    distance: float,
    height: float,
    hfov_deg: float,
    size: tuple[int, int],
    aim: tuple[float, float] = (0.0, 0.0),
    roll_deg: float = 0.0,
) -> Camera:
    """A pinhole camera ``distance`` m from ``target`` (horizontally) at ``azimuth``
    (radians), ``height`` m up, aimed at ``target`` plus ``aim`` (yaw, pitch degrees)."""
    center = np.array(
        [target[0] + distance * np.cos(azimuth), target[1] + distance * np.sin(azimuth), height]
    )
    d = target - center
    yaw = np.arctan2(d[1], d[0]) + np.deg2rad(aim[0])
    pitch = np.arctan2(d[2], np.hypot(d[0], d[1])) + np.deg2rad(aim[1])
    R = _rotation(yaw, pitch, np.deg2rad(roll_deg))
    w, h = size
    # The field of view is that of the long side: a phone turned to portrait keeps its lens.
    f = max(w, h) / 2 / np.tan(np.deg2rad(hfov_deg) / 2)
    K = np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])
    return Camera(id=cam_id, K=K, dist=np.zeros(5), R=R, t=-R @ center, width=w, height=h)


def inside_share(cam: Camera, world: np.ndarray) -> float:
    """Share of the joint-frames of ``world`` (N, J, 3) inside ``cam``'s image (0 if any
    point is less than 0.2 m in front of it)."""
    x = cam.world_to_camera(world)
    if (x[..., 2] < 0.2).any():
        return 0.0
    return float(cam.inside_image(cam.project(x)).mean())


def sample_virtual_camera(
    cam_id: str, world: np.ndarray, rng: np.random.Generator, setup: str | None = None
) -> tuple[Camera, dict]:
    """A camera of a drawn (or the named) setup that sees the clip ``world`` (N, J, 3)
    (z-up metres, floor at 0). Returns the camera and a record of how it was drawn."""
    if setup is None:
        weights = np.array([s.weight for s in SETUPS])
        s = SETUPS[int(rng.choice(len(SETUPS), p=weights / weights.sum()))]
    else:
        if setup not in SETUP_NAMES:
            raise ValueError(f"unknown camera setup {setup!r}; expected one of {SETUP_NAMES}")
        s = SETUPS[SETUP_NAMES.index(setup)]
    target = world[:, 0].mean(0)
    target[2] = world[:, 0, 2].mean()
    azimuth = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(*s.distance_m)
    height = rng.uniform(*s.height_m)
    hfov = rng.uniform(*s.hfov_deg)
    size = s.sizes[int(rng.integers(len(s.sizes)))]
    portrait = bool(rng.random() < s.portrait)
    if portrait:
        size = (size[1], size[0])
    aim = (rng.uniform(-1, 1) * s.aim_jitter_deg, rng.uniform(-1, 1) * s.aim_jitter_deg)
    roll = rng.uniform(-1, 1) * s.roll_deg
    tries = 0
    while True:
        tries += 1
        cam = look_at_camera(cam_id, target, azimuth, distance, height, hfov, size, aim, roll)
        share = inside_share(cam, world)
        if share >= MIN_INSIDE or tries == MAX_TRIES:
            break
        distance *= 1.2
        aim = (aim[0] * 0.7, aim[1] * 0.7)  # and aims closer to the person
    record = {
        "id": cam_id, "setup": s.name, "hfov_deg": hfov, "distance_m": distance,
        "height_m": height, "azimuth_deg": float(np.rad2deg(azimuth)), "aim_deg": list(aim),
        "roll_deg": roll, "portrait": portrait, "inside_share": share, "tries": tries,
        **camera_to_dict(cam),
    }  # fmt: skip
    return cam, record


def camera_to_dict(cam: Camera) -> dict:
    """JSON-ready camera parameters (metres), read back by :func:`camera_from_dict`."""
    return {
        "K": cam.K.tolist(), "dist": cam.dist.tolist(), "R": cam.R.tolist(),
        "t": cam.t.tolist(), "width": cam.width, "height": cam.height,
    }  # fmt: skip


def camera_from_dict(d: dict, cam_id: str, where: str) -> Camera:
    """The camera of a ``benchmark.json`` view record (``where`` names it in errors)."""
    try:
        return Camera(
            id=cam_id,
            K=np.asarray(d["K"], dtype=np.float64).reshape(3, 3),
            dist=np.asarray(d["dist"], dtype=np.float64).reshape(5),
            R=np.asarray(d["R"], dtype=np.float64).reshape(3, 3),
            t=np.asarray(d["t"], dtype=np.float64).reshape(3),
            width=int(d["width"]),
            height=int(d["height"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{where}: bad camera record ({e!r})") from e
