"""Shared fixtures: a tiny benchmark in the VideoPose3D layout, made on the fly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffhpe.cameras import CAMERA_IDS, capture_volume_center, load_cameras
from diffhpe.io.videopose3d import save_2d, save_3d

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# A standing person (metres, z up, facing +y), Human3.6M joint order.
REST_POSE = np.array(
    [
        [0.00, 0.0, 0.95], [-0.13, 0.0, 0.93], [-0.13, 0.02, 0.50], [-0.13, 0.0, 0.08],
        [0.13, 0.0, 0.93], [0.13, 0.02, 0.50], [0.13, 0.0, 0.08], [0.00, 0.0, 1.18],
        [0.00, 0.0, 1.45], [0.00, 0.05, 1.55], [0.00, 0.0, 1.70], [0.17, 0.0, 1.43],
        [0.20, 0.0, 1.15], [0.22, 0.02, 0.90], [-0.17, 0.0, 1.43], [-0.20, 0.0, 1.15],
        [-0.22, 0.02, 0.90],
    ]
)  # fmt: skip


def synthetic_motion(frames: int, seed: int) -> np.ndarray:
    """(N, 17, 3) world metres: a person swinging arms and legs while drifting."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / 50.0
    x = np.repeat(REST_POSE[None], frames, axis=0).copy()
    f = rng.uniform(0.5, 1.5)
    swing = 0.15 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
    for j, s in ((12, 1), (13, 1.5), (15, -1), (16, -1.5), (2, -0.5), (3, -1), (5, 0.5), (6, 1)):
        x[:, j, 1] += s * swing[:, 0]
    x[:, :, :2] += np.cumsum(rng.normal(0, 0.002, size=(frames, 1, 2)), axis=0)
    return x


def make_tiny_benchmark(root: Path, frames: int = 60, clips_per_subject: int = 2) -> Path:
    """Write data_3d_open.npz, data_2d_open_{gt,det}.npz and benchmark.json under root."""
    splits = {"train": ["TR1", "TR2"], "validation": ["VA1"], "test": ["TE1"]}
    extr = {"train": "S1", "validation": "S9", "test": "S11"}
    pos3d, pos2d, pos_det, clips = {}, {}, {}, {}
    rng = np.random.default_rng(0)
    k = 0
    for split, subjects in splits.items():
        cams = load_cameras(extr[split])
        centre = capture_volume_center(cams)
        for s in subjects:
            for c in range(clips_per_subject):
                k += 1
                clip = f"{s}_{c:02d}"
                world = synthetic_motion(frames + 7 * c, seed=k) + centre * [1, 1, 0]
                views = [cams[cid].project_world(world) for cid in CAMERA_IDS]
                pos3d.setdefault(s, {})[clip] = world
                pos2d.setdefault(s, {})[clip] = views
                pos_det.setdefault(s, {})[clip] = [v + rng.normal(0, 3, v.shape) for v in views]
                clips.setdefault(s, {})[clip] = {
                    "subject": s, "clip_id": clip, "split": split,
                    "action": ["walk", "wave"][c % 2], "extrinsics": extr[split],
                }  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    save_3d(root / "data_3d_open.npz", pos3d)
    save_2d(root / "data_2d_open_gt.npz", pos2d)
    save_2d(root / "data_2d_open_det.npz", pos_det)
    meta = {"format": "diffhpe-open-benchmark/1", "splits": splits, "clips": clips}
    (root / "benchmark.json").write_text(json.dumps(meta))
    return root


@pytest.fixture(scope="session")
def tiny_benchmark(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_benchmark(tmp_path_factory.mktemp("bench") / "open")


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


def swinging_motion(frames: int, seed: int) -> np.ndarray:
    """(N, 17, 3) world metres (z up): :data:`REST_POSE` swinging the arms."""
    t = np.arange(frames)[:, None] / 50.0
    x = np.repeat(REST_POSE[None], frames, axis=0)
    swing = 0.15 * np.sin(2 * np.pi * t + seed)
    x[:, [12, 13], 1] += swing
    x[:, [15, 16], 1] -= swing
    return x


@pytest.fixture(scope="session")
def h36m_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Human3.6M folder in the VideoPose3D layout: data_3d_h36m.npz (32 joints,
    world metres) and data_2d_h36m_gt.npz (4 cameras, pixels), test subjects S9 and S11,
    two actions of 30 frames, projected with the bundled Human3.6M calibration."""
    from diffhpe.skeleton import H36M_32_TO_17

    root = tmp_path_factory.mktemp("h36m")
    pos3d, pos2d = {}, {}
    for k, subject in enumerate(("S9", "S11")):
        cams = load_cameras(subject)
        centre = capture_volume_center(cams)
        for a, action in enumerate(("Walking 1", "Directions")):
            world17 = swinging_motion(30, 10 * k + a) + centre * [1, 1, 0]
            world32 = np.zeros((30, 32, 3))
            world32[:, list(H36M_32_TO_17)] = world17
            pos3d.setdefault(subject, {})[action] = world32
            pos2d.setdefault(subject, {})[action] = [
                cams[cid].project_world(world17) for cid in CAMERA_IDS
            ]
    save_3d(root / "data_3d_h36m.npz", pos3d)
    save_2d(root / "data_2d_h36m_gt.npz", pos2d)
    return root
