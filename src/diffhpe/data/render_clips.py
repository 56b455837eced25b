"""Rendering one clip of the open benchmark: read, placed, projected, detector noise.

Every clip is read at 120 Hz, resampled to Human3.6M's 50 Hz, turned about the vertical
axis by its seeded random yaw, and placed with its mean pelvis position over the point
where the four Human3.6M cameras' optical axes meet, feet on the floor (z = 0). It is
rendered through the four real Human3.6M cameras with its split's extrinsics
(:mod:`diffhpe.data.clips`), or through drawn virtual cameras
(:mod:`diffhpe.data.virtual`); the detected 2D adds the fitted detector-noise model
(:mod:`diffhpe.data.noise`), NaN where a joint leaves the image.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from diffhpe.cameras import CAMERA_IDS, Camera, capture_volume_center, load_cameras
from diffhpe.data.clips import Clip
from diffhpe.data.noise import DetectorNoiseModel
from diffhpe.data.virtual import sample_virtual_camera
from diffhpe.io.mocap import load_motion

FPS = 50.0
VIRTUAL_SEED = 2024  # seed of the drawn virtual cameras (fixed: a comparable test split)


def place_in_volume(world: np.ndarray, yaw_deg: float, center: np.ndarray) -> np.ndarray:
    """(N, J, 3) z-up metres, floor at 0 -> turned by ``yaw`` and centred on ``center``."""
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    x = world @ rot.T
    offset = center.copy()
    offset[:2] -= x[:, 0, :2].mean(0)
    offset[2] = 0.0  # the reader already put the floor at z = 0
    return x + offset


@dataclass
class RenderedClip:
    clip: Clip
    world: np.ndarray  # (N, 17, 3) float32
    gt2d: list[np.ndarray]  # per camera (N, 17, 2)
    det2d: list[np.ndarray]  # per camera (N, 17, 2), NaN outside the image
    frames_outside: list[int]  # per camera: frames with at least one joint outside
    joints_outside: list[int]  # per camera: joint-frames outside
    cameras: list[dict] = field(default_factory=list)  # virtual views: how each was drawn


def render_clip(
    clip: Clip, noise: DetectorNoiseModel, seed: int, virtual_cameras: int = 0
) -> RenderedClip:
    """Read, place, project and add detector noise to one clip (deterministic). With
    ``virtual_cameras`` > 0, the clip is seen by that many drawn cameras
    (:mod:`diffhpe.data.virtual`) instead of the four Human3.6M ones."""
    motion = load_motion(clip.path, asf=clip.asf, fps_out=FPS)
    h36m = load_cameras(clip.extrinsics)
    world = place_in_volume(motion.positions, clip.yaw_deg, capture_volume_center(h36m))
    views: list[Camera] = [h36m[cid] for cid in CAMERA_IDS]
    records: list[dict] = []
    if virtual_cameras > 0:
        # Its own stream: the drawn cameras do not depend on the noise seed.
        cam_rng = np.random.default_rng([VIRTUAL_SEED, clip.index])
        drawn = [sample_virtual_camera(f"v{k}", world, cam_rng) for k in range(virtual_cameras)]
        views = [cam for cam, _ in drawn]
        records = [rec for _, rec in drawn]
    gts, dets, f_out, j_out = [], [], [], []
    for ci, cam in enumerate(views):
        uv = cam.project_world(world)
        inside = cam.inside_image(uv)
        rng = np.random.default_rng([seed, clip.index, ci])
        det = noise.sample(uv, rng)
        det[~inside] = np.nan
        gts.append(uv.astype(np.float32))
        dets.append(det.astype(np.float32))
        f_out.append(int((~inside).any(1).sum()))
        j_out.append(int((~inside).sum()))
    return RenderedClip(clip, world.astype(np.float32), gts, dets, f_out, j_out, records)


def _render_job(args: tuple[Clip, dict, int, int]) -> RenderedClip:
    clip, noise_params, seed, virtual_cameras = args
    return render_clip(clip, DetectorNoiseModel.from_dict(noise_params), seed, virtual_cameras)


def render_all(
    clips: list[Clip], noise: DetectorNoiseModel, seed: int, workers: int, virtual_cameras: int
) -> Iterator[RenderedClip]:
    """Every clip rendered, in order: here, or in ``workers`` processes when > 1."""
    jobs = [(c, noise.to_dict(), seed, virtual_cameras) for c in clips]
    if workers <= 1:
        yield from map(_render_job, jobs)
        return
    with ProcessPoolExecutor(workers) as ex:
        yield from ex.map(_render_job, jobs, chunksize=2)
