"""BVH export: written by diffhpe, read back by bvhio (and diffhpe's own reader), forward
kinematics within 1 mm of the input with every bone at its median length."""

from __future__ import annotations

import sys
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():  # bvhio imports PyGLM the old way ("import glm")
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    import bvhio  # dev extra: an independent BVH reader

from diffhpe.cli import main
from diffhpe.io.bvh_export import BVH_NAMES, H36M_TO_BVH, write_bvh
from diffhpe.skeleton import JOINT_NAMES, PARENTS

SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))


def moving_person(frames: int = 80, seed: int = 0) -> np.ndarray:
    """(T, 17, 3) world joints (z up): the sample's motion, turned upright, walking over
    the floor and spinning twice about the vertical, with bone lengths that vary."""
    gt = np.load(SAMPLE)["gt3d"][:frames].astype(np.float64)  # camera frame, root-relative
    up = np.stack([gt[..., 0], gt[..., 2], -gt[..., 1]], -1)  # (x, z, -y): roughly z up
    t = np.arange(frames) / 50.0
    a = 4 * np.pi * t / t[-1]  # two full turns
    c, s = np.cos(a)[:, None], np.sin(a)[:, None]
    x, y = up[..., 0] * c - up[..., 1] * s, up[..., 0] * s + up[..., 1] * c
    w = np.stack([x, y, up[..., 2]], -1)
    w += np.random.default_rng(seed).normal(0, 0.012, w.shape)  # bones change length
    w += np.stack([0.9 * t, 0.3 * t, 0.95 + 0 * t], -1)[:, None]
    return w


def normalised(x: np.ndarray) -> np.ndarray:
    """The input with each bone rescaled to its median length (direction kept)."""
    out = x.copy()
    for c, p in enumerate(PARENTS):
        if p < 0:
            continue
        v = x[:, c] - x[:, p]
        length = np.median(np.linalg.norm(v, axis=-1))
        out[:, c] = out[:, p] + length * v / np.linalg.norm(v, axis=-1, keepdims=True)
    return out


def bvhio_positions(path: Path) -> tuple[np.ndarray, object]:
    """(T, 17, 3) joint positions by bvhio's forward kinematics, Human3.6M order."""
    root = bvhio.readAsHierarchy(str(path))
    joints = {j.Name: j for j, _, _ in root.layout()}
    frames = root.getKeyframeRange()[1] + 1
    out = np.zeros((frames, 17, 3))
    for t in range(frames):
        root.loadPose(t)
        out[t] = [list(joints[H36M_TO_BVH[n]].PositionWorld) for n in JOINT_NAMES]
    return out, root


@pytest.mark.parametrize(
    ("frame", "up"), [("world", "y"), ("world", "z"), ("camera", "y")], ids=["world-Yup", "world-Zup", "camera"]
)  # fmt: skip
def test_bvhio_reads_back_the_normalised_input(tmp_path, frame, up):
    world = moving_person()
    if frame == "world":
        joints, expected_world = world, world
    else:  # camera frame (x right, y down, z forward) = world (x, -z, y)
        joints = np.stack([world[..., 0], -world[..., 2], world[..., 1]], -1)
        expected_world = world
    path = write_bvh(tmp_path / "a.bvh", joints, fps=50, frame=frame, up=up)
    pos, root = bvhio_positions(path)
    w = normalised(expected_world)
    # Documented axes: Y up = world (x, z, -y); Z up = the world as it is.
    expected = np.stack([w[..., 0], w[..., 2], -w[..., 1]], -1) if up == "y" else w
    assert pos.shape == (80, 17, 3)
    assert np.abs(pos - expected).max() < 1e-3  # metres: within 1 mm
    assert np.abs(pos - expected).mean() < 1e-5
    for c, p in enumerate(PARENTS):  # constant bone lengths in the file
        if p >= 0:
            length = np.linalg.norm(pos[:, c] - pos[:, p], axis=-1)
            assert np.ptp(length) < 1e-4
    assert [j.Name for j, _, _ in root.layout()] == list(BVH_NAMES)


def test_roots_added_and_scale(tmp_path):
    world = moving_person(40)
    rel, root = world - world[:, :1], world[:, 0]
    a = write_bvh(tmp_path / "a.bvh", world, fps=25)
    b = write_bvh(tmp_path / "b.bvh", rel, fps=25, root=root, scale=100.0)
    pa, _ = bvhio_positions(a)
    pb, _ = bvhio_positions(b)
    assert np.abs(pb / 100.0 - pa).max() < 1e-5  # centimetres
    text = b.read_text()
    assert "Frames: 40" in text and "Frame Time: 0.04000000" in text


def test_diffhpe_reader_agrees(tmp_path):
    from diffhpe.io.bvh import forward_kinematics, read_bvh

    world = moving_person(30)
    path = write_bvh(tmp_path / "a.bvh", world, fps=50)
    data = read_bvh(path)
    kin = forward_kinematics(data)
    idx = [kin.names.index(H36M_TO_BVH[n]) for n in JOINT_NAMES]
    w = normalised(world)
    expected = np.stack([w[..., 0], w[..., 2], -w[..., 1]], -1)
    assert data.fps == 50.0
    assert np.abs(kin.positions[:, idx] - expected).max() < 1e-3


def test_angles_do_not_wrap_between_frames(tmp_path):
    world = moving_person(80)  # two full turns in 80 frames
    path = write_bvh(tmp_path / "a.bvh", world, fps=50)
    lines = path.read_text().splitlines()
    motion = np.array([[float(v) for v in ln.split()] for ln in lines[lines.index("MOTION") + 3 :]])
    assert motion.shape == (80, 3 + 3 * len(BVH_NAMES))
    assert np.abs(np.diff(motion[:, 3:], axis=0)).max() < 90  # degrees per frame
    assert np.ptp(motion[:, 3:6]) > 360  # the root really turned (unwrapped, not folded)


def test_bad_input_is_refused(tmp_path):
    world = moving_person(5)
    bad = world.copy()
    bad[2, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_bvh(tmp_path / "a.bvh", bad, fps=50)
    with pytest.raises(ValueError, match=r"\(T, 17, 3\)"):
        write_bvh(tmp_path / "a.bvh", world[:, :16], fps=50)
    with pytest.raises(ValueError, match="fps"):
        write_bvh(tmp_path / "a.bvh", world, fps=0)
    with pytest.raises(ValueError, match="frame"):
        write_bvh(tmp_path / "a.bvh", world, fps=50, frame="image")
    assert not (tmp_path / "a.bvh").exists()


def test_lift_sample_to_bvh(tmp_path, capsys):
    out = tmp_path / "walk.bvh"
    assert main(["lift", "sample", "-o", str(out), "-H", "1"]) == 0
    assert "walk.bvh" in capsys.readouterr().out
    pos, root = bvhio_positions(out)
    assert pos.shape == (400, 17, 3)
    assert bvhio.readAsBvh(str(out)).FrameTime == pytest.approx(0.02)  # the sample's 50 Hz
    npz = tmp_path / "walk.npz"
    assert main(["lift", "sample", "-o", str(npz), "-H", "1"]) == 0
    res = np.load(npz, allow_pickle=False)
    w = normalised(res["pose3d_world"].astype(np.float64))
    assert np.abs(pos - np.stack([w[..., 0], w[..., 2], -w[..., 1]], -1)).max() < 1e-3
    assert np.ptp(pos[:, 0, [0, 2]], axis=0).max() > 1.0  # the person moves over the floor
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.bvh", "walk.npz"]  # no temp


def test_bvh_needs_scipy_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "scipy.spatial.transform", None)  # import fails
    out = tmp_path / "walk.bvh"
    assert main(["lift", "sample", "-o", str(out)]) == 2
    assert "diffhpe[bvh]" in capsys.readouterr().err
    assert not out.exists()


def test_output_suffix_and_fps_checks(tmp_path, capsys):
    assert main(["lift", "sample", "-o", str(tmp_path / "walk.fbx")]) == 2
    err = capsys.readouterr().err
    assert ".bvh" in err and "unsupported extension" in err
    assert main(["lift", "sample", "-o", str(tmp_path / "o.npz"), "--fps", "30"]) == 2
    assert "-o .bvh" in capsys.readouterr().err
    rc = main(["lift", "sample", "-o", str(tmp_path / "o.bvh"), "--fps", "30", "-H", "1"])
    assert rc == 0 and "Frame Time: 0.03333333" in (tmp_path / "o.bvh").read_text()
