"""Virtual cameras (issue #15): drawn phone/webcam/surveillance/sports/studio cameras that
keep the person in view, a benchmark folder that stores them, and training on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import synthetic_motion
from diffhpe.config import load_config
from diffhpe.data import virtual
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.io.videopose3d import load_2d, load_3d, save_2d
from diffhpe.training import Trainer


def test_look_at_camera_centres_its_target_and_sets_the_field_of_view():
    target = np.array([1.0, 2.0, 1.0])
    cam = virtual.look_at_camera("v", target, azimuth=0.7, distance=4.0, height=2.5,
                                 hfov_deg=60.0, size=(1920, 1080))  # fmt: skip
    np.testing.assert_allclose(cam.project_world(target), [960, 540], atol=1e-6)
    assert cam.K[0, 0] == pytest.approx(960 / np.tan(np.deg2rad(30)))
    # Camera above the target looks down: the floor below the target is lower in the image.
    below = cam.project_world(target - [0, 0, 1.0])
    assert below[1] > 540
    # Portrait keeps the lens (the same focal length) and swaps the image sides.
    tall = virtual.look_at_camera("v", target, 0.7, 4.0, 2.5, 60.0, (1080, 1920))
    assert tall.K[0, 0] == pytest.approx(cam.K[0, 0]) and (tall.width, tall.height) == (1080, 1920)
    np.testing.assert_allclose(tall.project_world(target), [540, 960], atol=1e-6)


def test_roll_turns_the_image_about_its_centre():
    target = np.array([0.0, 0.0, 1.0])
    flat = virtual.look_at_camera("v", target, 0.0, 3.0, 1.0, 60.0, (1000, 1000))
    rolled = virtual.look_at_camera("v", target, 0.0, 3.0, 1.0, 60.0, (1000, 1000), roll_deg=90)
    head = target + [0, 0, 0.5]
    a, b = flat.project_world(head) - 500, rolled.project_world(head) - 500
    assert np.linalg.norm(a) == pytest.approx(np.linalg.norm(b), rel=1e-9)
    assert abs(np.dot(a, b)) < 1e-6 * np.linalg.norm(a) ** 2  # a quarter turn


@pytest.mark.parametrize("setup", virtual.SETUP_NAMES)
def test_every_setup_keeps_the_person_inside_the_image_at_the_stated_rate(setup):
    rng = np.random.default_rng(0)
    for k in range(10):
        world = synthetic_motion(200, seed=k)
        world[..., :2] += np.linspace(0, 1.5, 200)[:, None, None]  # walks 1.5 m
        cam, rec = virtual.sample_virtual_camera("v0", world, rng, setup=setup)
        share = virtual.inside_share(cam, world)
        assert share >= virtual.MIN_INSIDE and rec["inside_share"] == pytest.approx(share)
        assert rec["setup"] == setup


def test_camera_records_round_trip_and_bad_records_name_the_place():
    cam = virtual.look_at_camera("v1", np.zeros(3), 1.0, 5.0, 1.5, 50.0, (1280, 720))
    back = virtual.camera_from_dict(json.loads(json.dumps(virtual.camera_to_dict(cam))), "v1", "x")
    for f in ("K", "dist", "R", "t"):
        np.testing.assert_array_equal(getattr(back, f), getattr(cam, f))
    assert (back.width, back.height, back.id) == (1280, 720, "v1")
    with pytest.raises(ValueError, match=r"clips.A.b.cameras: bad camera record"):
        virtual.camera_from_dict({"K": [1, 2]}, "v", "clips.A.b.cameras")
    with pytest.raises(ValueError, match="unknown camera setup 'drone'"):
        virtual.sample_virtual_camera(
            "v", synthetic_motion(10, 0), np.random.default_rng(), "drone"
        )


def _virtualise(src: Path, dst: Path, views: int = 2) -> Path:
    """A copy of a tiny benchmark whose clips are seen by drawn cameras (as the build does)."""
    dst.mkdir(parents=True)
    meta = json.loads((src / "benchmark.json").read_text())
    pos3d = load_3d(src / "data_3d_open.npz")
    rng = np.random.default_rng(0)
    gt: dict = {}
    for s, clips in pos3d.items():
        for c, world in clips.items():
            drawn = [virtual.sample_virtual_camera(f"v{k}", world, rng) for k in range(views)]
            gt.setdefault(s, {})[c] = [cam.project_world(world) for cam, _ in drawn]
            meta["clips"][s][c]["cameras"] = [rec for _, rec in drawn]
    save_2d(dst / "data_2d_open_gt.npz", gt)
    save_2d(dst / "data_2d_open_det.npz", gt)
    (dst / "data_3d_open.npz").write_bytes((src / "data_3d_open.npz").read_bytes())
    (dst / "benchmark.json").write_text(json.dumps(meta))
    return dst


def test_sequences_of_a_virtual_build_use_each_views_own_camera(tiny_benchmark, tmp_path):
    root = _virtualise(tiny_benchmark, tmp_path / "virtual")
    seqs = load_sequences(DataSource("open", root, "gt"), "test")
    assert {s.camera for s in seqs} == {"v0", "v1"}
    meta = json.loads((root / "benchmark.json").read_text())
    world = load_3d(root / "data_3d_open.npz")
    uv = load_2d(root / "data_2d_open_gt.npz")[0]
    for s in seqs:
        subject, clip, cid = s.name.split("/")
        rec = next(r for r in meta["clips"][subject][clip]["cameras"] if r["id"] == cid)
        cam = virtual.camera_from_dict(rec, cid, "test")
        x3d = cam.world_to_camera(world[subject][clip])
        np.testing.assert_allclose(s.pose3d, x3d - x3d[:, :1], atol=1e-5)
        # the 2D is the view's own projection, normalised by its own image size
        px = uv[subject][clip][int(cid[1:])]
        np.testing.assert_allclose(
            s.pose2d, px / cam.width * 2 - [1, cam.height / cam.width], atol=1e-5
        )
    with pytest.raises(
        ValueError, match=r"unknown camera ids \['54138969'\]; expected some of \['v0', 'v1'\]"
    ):
        load_sequences(DataSource("open", root, "gt"), "test", ("54138969",))


def test_training_adds_the_extra_roots_training_split(tiny_benchmark, tmp_path):
    root = _virtualise(tiny_benchmark, tmp_path / "virtual")
    base = load_config("tiny", [f"data.root={tiny_benchmark}", f"out_dir={tmp_path}/a"])
    more = load_config("tiny", [f"data.root={tiny_benchmark}", f"out_dir={tmp_path}/b",
                                f"data.train_extra_roots=[{root}]",
                                "data.train_extra_detectors=[gt]"])  # fmt: skip
    counts = []
    for cfg in (base, more):
        t = Trainer(cfg, progress=False)
        t.load_data()
        counts.append(t.windows.num_frames)
    train_frames = sum(
        len(s) for s in load_sequences(DataSource("open", tiny_benchmark, "det"), "train")
    )
    virtual_frames = sum(len(s) for s in load_sequences(DataSource("open", root, "det"), "train"))
    # base: det; more: det + gt (main root) + det + gt (virtual root, 2 views)
    assert counts[0] == train_frames
    assert counts[1] == 2 * train_frames + 2 * virtual_frames
