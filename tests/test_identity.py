"""Identity jumps (diffhpe.identity) and how the Lifter uses them."""

from __future__ import annotations

import json
import warnings
from importlib import resources

import numpy as np
import pytest
import torch
from torch import nn

from conftest import synthetic_motion
from diffhpe.cameras import capture_volume_center, load_cameras
from diffhpe.config import load_config
from diffhpe.identity import JumpSettings, body_path, find_identity_jumps, mask_jumps
from diffhpe.lifting import Lifter, save_result

LEFT_LEG = (5, 6)  # LKnee, LAnkle
RIGHT_ARM = (15, 16)  # RElbow, RWrist


def walker(frames: int = 250, seed: int = 0, shift: tuple[float, float, float] = (0, 0, 0)):
    """(N, 17, 2) pixels: a person swinging limbs, seen by a Human3.6M camera at 50 Hz."""
    cams = load_cameras("S11")
    world = synthetic_motion(frames, seed) + capture_volume_center(cams) * [1, 1, 0]
    return cams["54138969"].project_world(world + np.asarray(shift))


def with_partner_limb(xy: np.ndarray, partner: np.ndarray, joints, frames: slice) -> np.ndarray:
    out = xy.copy()
    out[frames, list(joints)] = partner[frames, list(joints)]
    return out


def test_clean_motion_is_not_flagged():
    for seed in range(3):
        xy = walker(300, seed)
        assert find_identity_jumps(xy, 50).count == 0
        # the same motion at 10 frames/s (5x the per-frame displacement): still clean
        assert find_identity_jumps(xy[::5], 10).count == 0


def test_fast_real_motion_is_not_flagged():
    """A wrist circling at 2.5 Hz, 0.5 m radius (~8 m/s), and a jab that reaches 0.6 m
    in 0.1 s: fast, but built up over frames."""
    cams = load_cameras("S11")
    world = synthetic_motion(300, 1) + capture_volume_center(cams) * [1, 1, 0]
    t = np.arange(300) / 50.0
    shoulder = world[:, 14]
    world[:, 16] = shoulder + 0.5 * np.stack(
        [np.cos(5 * np.pi * t), np.zeros_like(t), np.sin(5 * np.pi * t)], -1
    )
    world[:, 15] = (shoulder + world[:, 16]) / 2
    tau = np.clip((t - 3.0) / 0.1, 0, 1)  # min-jerk reach of the left wrist at t = 3 s
    reach = 10 * tau**3 - 15 * tau**4 + 6 * tau**5
    world[:, 13] += 0.6 * reach[:, None] * np.array([0.0, -1.0, 0.3])
    xy = cams["54138969"].project_world(world)
    jumps = find_identity_jumps(xy, 50)
    assert jumps.count == 0, jumps.describe()


def test_a_limb_on_a_partner_is_flagged_and_only_there():
    xy = walker(300, 0)
    partner = walker(300, 5, shift=(0.5, 0.0, 0.0))  # another motion, half a metre away
    bad = slice(100, 140)
    swapped = with_partner_limb(xy, partner, LEFT_LEG, bad)
    jumps = find_identity_jumps(swapped, 50)
    flagged = np.flatnonzero(jumps.frames)
    assert set(range(100, 140)) <= set(flagged.tolist())
    assert len(flagged) <= 42  # at most the jump back and one frame of slack
    assert jumps.joints[bad][:, list(LEFT_LEG)].all()
    others = [j for j in range(17) if j not in LEFT_LEG]
    assert not jumps.joints[:, others].any()
    assert not jumps.switches.any()
    masked = mask_jumps(swapped, jumps)
    assert np.isnan(masked[bad][:, list(LEFT_LEG)]).all() and np.isfinite(masked[:100]).all()


def test_an_arm_swap_till_the_end_is_flagged_once():
    xy = walker(200, 0)
    partner = walker(200, 7, shift=(-0.6, 0.0, 0.0))
    swapped = with_partner_limb(xy, partner, RIGHT_ARM, slice(150, None))
    jumps = find_identity_jumps(swapped, 50)
    assert jumps.frames[150] and jumps.count <= 2  # no return: the jump itself only


def test_the_whole_skeleton_on_someone_else():
    xy = walker(300, 0)
    other = walker(300, 3, shift=(1.2, 0.0, 0.3))
    swapped = xy.copy()
    swapped[120:150] = other[120:150]
    jumps = find_identity_jumps(swapped, 50)
    assert jumps.switches[120] and jumps.switches[150]
    assert jumps.joints[120:150].all()  # every keypoint of those frames is masked
    assert not jumps.joints[:120].any() and not jumps.joints[151:].any()


def test_missing_keypoints_do_not_make_jumps():
    xy = walker(300, 2)
    gappy = xy.copy()
    gappy[80:95, 13] = np.nan  # a wrist missing for 0.3 s
    gappy[150:200, [11, 12, 13]] = np.nan  # a whole arm for 1 s
    gappy[210:230, [0, 1, 4, 7]] = np.nan  # hips and spine
    gappy[240:245] = np.nan  # nobody
    path = body_path(gappy)
    assert np.isnan(path[240:245]).all() and np.isfinite(path[:240]).all()
    assert find_identity_jumps(gappy, 50).count == 0


def test_a_long_bone_flags_its_child():
    xy = walker(200, 0)
    bad = xy.copy()
    scale = np.linalg.norm(xy[:, 11] - xy[:, 4], axis=-1)
    bad[50, 16] += np.stack([2.0 * scale[50], 0.0])  # a wrist two torsos to the side
    jumps = find_identity_jumps(bad, 50, JumpSettings(spike=1e9))  # the bone check alone
    assert jumps.joints[50, 16] and jumps.count == 1


def test_bad_shape_and_short_inputs():
    with pytest.raises(ValueError, match=r"\(N, 17, 2\)"):
        find_identity_jumps(np.zeros((10, 16, 2)))
    assert find_identity_jumps(np.zeros((2, 17, 2))).count == 0
    assert find_identity_jumps(np.full((20, 17, 2), np.nan)).count == 0


def test_bundled_sample_is_nearly_clean():
    """The bundled clip's 2D is the detector-noise model: it has one left/right knee swap
    (frame 192) and no other jump."""
    path = resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"
    with np.load(str(path)) as f:
        xy, fps = f["keypoints"], float(f["fps"])
    jumps = find_identity_jumps(xy, fps)
    assert jumps.count <= 4 and jumps.frames[192]
    assert jumps.joints[192, 2] and jumps.joints[192, 5]


class FrameLocal(nn.Module):
    def forward(self, x2d: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([x2d, torch.zeros_like(x2d[..., :1])], dim=-1)


def test_lifter_masks_flags_warns_and_saves(tmp_path):
    xy = walker(200, 0)
    swapped = with_partner_limb(xy, walker(200, 5, shift=(0.5, 0, 0)), LEFT_LEG, slice(60, 90))
    lifter = Lifter(FrameLocal(), load_config("tiny", ["data.length=9"]), stride=3)
    with pytest.warns(UserWarning, match=r"identity jumps .* in 3\d of 200 frames"):
        res = lifter.lift(swapped, (1000, 1002), fps=50)
    assert res.identity_jump[60:90].all() and res.identity_jump.sum() <= 32
    assert not res.visible[60:90][:, list(LEFT_LEG)].any()
    assert res.identity_jump_joints[60:90][:, list(LEFT_LEG)].all()
    for name in ("out.npz", "out.json"):
        save_result(tmp_path / name, res, {"model": "test"})
    with np.load(tmp_path / "out.npz") as f:
        assert f["identity_jump"].tolist() == res.identity_jump.tolist()
        assert f["identity_jump_joints"].shape == (200, 17)
        assert json.loads(str(f["meta"]))["identity_jump_frames"] == int(res.identity_jump.sum())
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["identity_jump"] == res.identity_jump.tolist()
    lifter.identity_check = False  # off: nothing masked, nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = lifter.lift(swapped, (1000, 1002), fps=50)
    assert not res.identity_jump.any() and res.visible.all()
