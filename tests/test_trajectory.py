"""Root trajectory (least-squares reprojection, smoothing) and the world frame on the floor."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from conftest import REST_POSE, synthetic_motion
from diffhpe.cameras import load_cameras
from diffhpe.cli import main
from diffhpe.trajectory import (
    ANKLE_HEIGHT,
    Intrinsics,
    estimate_root,
    fill_gaps,
    fit_world_frame,
    focal_from_fov,
    root_trajectory,
    smooth_trajectory,
)

SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))
CAM = Intrinsics(fx=1145.0, fy=1143.8, cx=512.5, cy=515.5)
CAM_DIST = Intrinsics(
    fx=1145.0, fy=1143.8, cx=512.5, cy=515.5, dist=(-0.2071, 0.2478, -0.0014, -0.001, -0.0031)
)


def walker(frames: int = 200, seed: int = 1) -> np.ndarray:
    """(T, 17, 3) camera-frame joints of a person walking towards and across a camera:
    the conftest motion (world, z up) seen by a camera 1.6 m high, tilted 15 degrees down."""
    world = synthetic_motion(frames, seed)
    t = np.arange(frames)[:, None] / 50.0
    world[..., 0] += 0.4 * t  # across
    world[..., 1] -= 0.5 * t  # towards the camera
    R, c = camera_pose(tilt_deg=15.0, height=1.6, back=7.0)
    return (world - c) @ R.T


def camera_pose(tilt_deg: float, height: float, back: float) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera rotation and camera centre: looking along world +y, tilted down."""
    a = math.radians(tilt_deg)
    # camera axes in world coordinates: x right, y down, z forward
    z = np.array([0.0, math.cos(a), -math.sin(a)])
    x = np.array([1.0, 0.0, 0.0])
    y = np.cross(z, x)
    return np.stack([x, y, z]), np.array([0.0, -back, height])


def test_focal_guess_and_intrinsics():
    f = focal_from_fov((1000, 1002))
    assert f == pytest.approx(1002 / (2 * math.tan(math.radians(30))))
    k = Intrinsics.from_image((1920, 1080))
    assert (k.cx, k.cy, k.source) == (960.0, 540.0, "guess") and k.fx == pytest.approx(
        0.866 * 1920, rel=1e-3
    )
    assert Intrinsics.from_image((640, 480), focal=500).to_dict()["fx"] == 500.0
    with pytest.raises(ValueError, match="focal"):
        Intrinsics.from_image((640, 480), focal=-1)
    cam = load_cameras("S11")["54138969"]
    c = Intrinsics.from_camera(cam)
    assert c.source == "calibration" and c.fx == pytest.approx(cam.K[0, 0]) and len(c.dist) == 5


def test_undistortion_inverts_the_projection():
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(-2, 2, 500), rng.uniform(-2, 2, 500), rng.uniform(3, 8, 500)], -1)
    cam = load_cameras("S11")["54138969"]
    intr = Intrinsics.from_camera(cam)
    uv = intr.project(pts)
    assert np.allclose(uv, cam.project(pts), atol=1e-6)  # same model as diffhpe.cameras
    xy = intr.normalized(uv)
    assert np.abs(xy - pts[:, :2] / pts[:, 2:]).max() < 1e-8


@pytest.mark.parametrize("intr", [CAM, CAM_DIST], ids=["pinhole", "distorted"])
def test_root_is_exact_with_exact_pose_and_2d(intr):
    x = walker()
    uv = intr.project(x)
    est = estimate_root(x - x[:, :1], uv, intr)
    assert est.valid.all()
    assert np.abs(est.root - x[:, 0]).max() < 1e-6  # metres
    assert np.nanmax(est.residual_px) < 1e-3


def test_a_wrong_joint_does_not_drag_the_root():
    x = walker()
    uv = CAM.project(x)
    uv[:, 13] += 120.0  # one wrist detected 120 px off in every frame
    rel = x - x[:, :1]
    robust = np.linalg.norm(estimate_root(rel, uv, CAM).root - x[:, 0], axis=-1)
    plain = np.linalg.norm(estimate_root(rel, uv, CAM, iterations=1).root - x[:, 0], axis=-1)
    assert robust.mean() < 0.3 * plain.mean()
    assert robust.mean() < 0.03  # 3 cm at 5-7 m


def test_missing_frames_and_joints():
    x = walker()
    uv = CAM.project(x)
    uv[40:60] = np.nan  # the person is lost for 20 frames
    uv[:, 9:17] = np.nan  # and the upper body is never seen
    tr = root_trajectory(
        x - x[:, :1], uv, (1000, 1002), intrinsics=CAM, smooth_s=0, depth_smooth_s=0
    )
    assert np.isnan(tr.raw[40:60]).all() and np.isfinite(tr.raw[:40]).all()
    assert np.isfinite(tr.root_cam).all()
    assert np.abs(tr.root_cam[:40] - x[:40, 0]).max() < 1e-6
    assert np.abs(tr.root_cam[40:60] - x[40:60, 0]).max() < 0.03  # interpolated
    uv[:, 2:] = np.nan  # two joints: not enough for three unknowns
    assert not estimate_root(x - x[:, :1], uv, CAM).valid.any()


def test_smoothing_reduces_noise_and_keeps_steady_motion():
    x = walker(300)
    rng = np.random.default_rng(0)
    rel = x - x[:, :1]
    rel_noisy = rel * (1 + rng.normal(0, 0.03, (len(x), 1, 1)))  # lifted size wobbles 3 %
    uv = CAM.project(x) + rng.normal(0, 3.0, (len(x), 17, 2))
    raw = estimate_root(rel_noisy, uv, CAM).root
    smooth = smooth_trajectory(raw, fps=50)
    e_raw = np.linalg.norm(raw - x[:, 0], axis=-1).mean()
    e_smooth = np.linalg.norm(smooth - x[:, 0], axis=-1).mean()
    assert e_smooth < 0.6 * e_raw
    across = np.linspace([-2.0, 0.0, 5.0], [2.0, 0.5, 5.0], 100)  # steady motion stays put,
    assert np.abs(smooth_trajectory(across, fps=50) - across).max() < 1e-9  # ends included
    away = np.linspace([0.0, 0.0, 4.0], [2.0, 0.5, 6.0], 200)  # 0.5 m/s: 1/depth bends a bit
    assert np.abs(smooth_trajectory(away, fps=50) - away).max() < 0.03


def test_fill_gaps():
    a = np.array([[np.nan] * 3, [1.0, 2, 3], [np.nan] * 3, [3.0, 4, 5], [np.nan] * 3])
    assert np.allclose(fill_gaps(a), [[1, 2, 3], [1, 2, 3], [2, 3, 4], [3, 4, 5], [3, 4, 5]])


def test_depth_scales_with_the_focal():
    x = walker()
    uv = CAM.project(x)
    rel = x - x[:, :1]
    for k in (0.75, 1.5):
        wrong = Intrinsics(fx=k * CAM.fx, fy=k * CAM.fy, cx=CAM.cx, cy=CAM.cy)
        ratio = estimate_root(rel, uv, wrong).root[:, 2] / x[:, 0, 2]
        assert np.abs(ratio - k).max() < 0.03 * k


def test_world_frame_puts_the_feet_on_the_floor():
    frames = 300
    world = synthetic_motion(frames, 3)  # z up, ankles 0.08 m above z = 0
    t = np.arange(frames) / 50.0
    world[..., 0] += 1.2 * np.sin(0.7 * t)[:, None]  # wander over the floor in 2D
    world[..., 1] += 1.5 * t[:, None] - 2.0
    R, c = camera_pose(tilt_deg=20.0, height=1.7, back=5.0)
    cam = (world - c) @ R.T
    wf = fit_world_frame(cam)
    true_up = R @ np.array([0.0, 0.0, 1.0])
    angle = math.degrees(math.acos(np.clip(wf.up_cam @ true_up, -1, 1)))
    assert angle < 1.0
    assert wf.method == "floor"
    w = wf.apply(cam)
    assert np.abs(w[..., 2] - world[..., 2] - (ANKLE_HEIGHT - 0.08)).max() < 0.03
    assert wf.camera_height == pytest.approx(1.7 + ANKLE_HEIGHT - 0.08, abs=0.03)
    assert np.allclose(w[0, 0, :2], 0, atol=1e-9)  # origin under the first pelvis
    assert np.allclose(wf.inverse(w), cam)
    m = np.array(wf.to_dict()["camera_to_world"])
    assert np.allclose(cam @ m[:3, :3].T + m[:3, 3], w, atol=1e-5)
    # Right-handed, x along the camera's x: the person's right/left stays right/left.
    assert np.linalg.det(wf.rotation) == pytest.approx(1.0)
    assert wf.rotation[0, 0] > 0.99


def test_world_frame_of_someone_standing_uses_the_body():
    world = np.repeat(REST_POSE[None], 50, axis=0)
    R, c = camera_pose(tilt_deg=10.0, height=1.5, back=4.0)
    wf = fit_world_frame((world - c) @ R.T)
    assert wf.method == "body-up"
    angle = math.degrees(math.acos(np.clip(wf.up_cam @ (R @ [0.0, 0, 1]), -1, 1)))
    assert angle < 2.0
    heights = wf.apply((world - c) @ R.T)[0, :, 2]
    assert np.abs(heights - REST_POSE[:, 2] - (ANKLE_HEIGHT - 0.08)).max() < 0.03


def test_lift_gives_root_and_world_joints():
    from diffhpe.io.safe_npz import load_npz
    from diffhpe.lifting import Lifter

    f = load_npz(SAMPLE)
    xy, size = f["keypoints"][:200], tuple(int(v) for v in f["image_size"])
    lifter = Lifter.from_pretrained()
    res = lifter.lift(xy, size, focal=1145.5)
    assert res.root_cam.shape == (200, 3) and res.pose3d_world.shape == (200, 17, 3)
    assert np.isfinite(res.root_cam).all() and (res.root_cam[:, 2] > 1).all()
    absolute = res.pose3d + res.root_cam[:, None]
    uv = Intrinsics.from_image(size, 1145.5).project(absolute)
    err = np.linalg.norm(uv - xy, axis=-1)
    assert np.nanmedian(err) < 25  # px: the root puts the lifted body onto the 2D
    feet = res.pose3d_world[:, [3, 6], 2].min(1)
    assert 0.0 < np.median(feet) < 0.3  # on (an uneven) floor, not under or above it
    assert res.trajectory["intrinsics"]["source"] == "given"
    half = lifter.lift(xy, size, focal=1145.5 / 2)
    assert np.median(half.root_cam[:, 2] / res.root_cam[:, 2]) == pytest.approx(0.5, abs=0.04)
    guess = lifter.lift(xy, size)
    assert guess.trajectory["intrinsics"]["source"] == "guess"
    assert guess.trajectory["intrinsics"]["fx"] == pytest.approx(focal_from_fov(size))


def test_cli_writes_root_and_world_to_npz_and_json(tmp_path, capsys):
    out = tmp_path / "walk.npz"
    assert main(["lift", "sample", "-o", str(out), "--focal", "1145.5", "-H", "1"]) == 0
    assert "m deep" in capsys.readouterr().out
    res = np.load(out, allow_pickle=False)
    assert res["root_cam"].shape == (400, 3) and res["pose3d_world"].shape == (400, 17, 3)
    meta = json.loads(str(res["meta"]))
    tr = meta["trajectory"]
    assert tr["intrinsics"]["fx"] == 1145.5 and tr["intrinsics"]["source"] == "given"
    m = np.array(tr["world"]["camera_to_world"])
    absolute = res["pose3d"] + res["root_cam"][:, None]
    assert np.allclose(absolute @ m[:3, :3].T + m[:3, 3], res["pose3d_world"], atol=1e-4)
    js = tmp_path / "walk.json"
    assert main(["lift", "sample", "-o", str(js), "--focal", "1145.5", "-H", "1"]) == 0
    doc = json.loads(js.read_text())
    assert np.allclose(doc["root_cam"], res["root_cam"], atol=1e-4)
    assert np.array(doc["pose3d_world"]).shape == (400, 17, 3)


def test_cli_refuses_a_bad_focal(tmp_path, capsys):
    assert main(["lift", "sample", "-o", str(tmp_path / "o.npz"), "--focal", "-5"]) == 2
    assert "--focal must be a number of pixels > 0" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()


def _color_pixels(img: np.ndarray, hex_color: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img[..., :3].astype(int) - rgb).max(-1) < tol).sum())


def test_pictures_show_the_person_moving_over_the_floor(tmp_path):
    pytest.importorskip("matplotlib")
    from diffhpe.viz.html import viewer_data
    from diffhpe.viz.render import TRACK_COLOR, render_frames

    world = synthetic_motion(60, 2)
    world[..., 0] += np.linspace(0, 3, 60)[:, None]  # 3 m across the floor
    data = viewer_data(world, frame="world")
    assert data["frame"] == "world" and data["track"] and data["box"]["floor"] == 0.0
    assert data["box"]["half"] > 1.5  # the box holds the whole walk
    still = viewer_data(world - world[:, :1])  # root-relative camera frame: no path
    assert still["frame"] == "camera" and not still["track"]
    moving = next(render_frames(world, frame="world", frames=[30]))
    assert _color_pixels(moving, TRACK_COLOR) > 100
    rel = next(render_frames(world - world[:, :1], frames=[30]))
    assert _color_pixels(rel, TRACK_COLOR) == 0
    with pytest.raises(ValueError, match="frame"):
        viewer_data(world, frame="image")


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="chromium is not installed",
)
def test_html_viewer_draws_the_path(tmp_path):
    from PIL import Image

    from diffhpe.viz.html import write_html
    from diffhpe.viz.render import TRACK_COLOR

    world = synthetic_motion(60, 2)
    world[..., 0] += np.linspace(0, 3, 60)[:, None]
    page = write_html(tmp_path / "v.html", world, frame="world", fps=50)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    shot = tmp_path / "shot.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=2000", f"--screenshot={shot}", "--window-size=900,600",
           page.as_uri()]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    with Image.open(shot) as im:
        img = np.asarray(im.convert("RGB"))
    assert _color_pixels(img, TRACK_COLOR) > 100


def test_a_sample_file_can_carry_the_focal(tmp_path):
    f = np.load(SAMPLE)
    src = tmp_path / "clip.npz"
    assert float(f["focal"]) == pytest.approx(1145.5, abs=0.1)  # the bundled sample has it
    fields = {k: f[k][:60] if k in ("keypoints", "gt3d") else f[k] for k in f.files}
    np.savez(src, **{**fields, "focal": np.float64(1145.5)})
    out = tmp_path / "clip_3d.npz"
    assert main(["lift", str(src), "-o", str(out), "-H", "1"]) == 0
    intr = json.loads(str(np.load(out)["meta"]))["trajectory"]["intrinsics"]
    assert intr["fx"] == 1145.5 and intr["source"] == "given"
    assert main(["lift", str(src), "-o", str(out), "-H", "1", "--focal", "900"]) == 0
    assert json.loads(str(np.load(out)["meta"]))["trajectory"]["intrinsics"]["fx"] == 900.0
