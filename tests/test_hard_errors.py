"""Gross detector errors for training (issue #15): each kind does what it says, on a run of
frames, and windows draw them at the configured rate."""

from __future__ import annotations

import numpy as np
import pytest

from diffhpe.config import load_config
from diffhpe.data import hard_errors as he
from diffhpe.data.windows import PoseSequence, TrainWindows
from diffhpe.skeleton import JOINT_NAMES

T, J = 27, 17
_J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _window(seed: int = 0, crouch: bool = False):
    """A standing (or crouched) person, camera looking at it: x2d ~ x3d[..., :2] / 5."""
    rng = np.random.default_rng(seed)
    # camera frame: y down. Standing: head at -0.7 m, ankles at +0.9 m below the pelvis.
    base = np.zeros((J, 3))
    ys = {"RHip": 0.05, "RKnee": 0.5, "RAnkle": 0.9, "LHip": 0.05, "LKnee": 0.5, "LAnkle": 0.9,
          "Spine": -0.25, "Thorax": -0.5, "Neck/Nose": -0.6, "Head": -0.72, "LShoulder": -0.48,
          "LElbow": -0.2, "LWrist": 0.05, "RShoulder": -0.48, "RElbow": -0.2, "RWrist": 0.05}  # fmt: skip
    xs = {"RHip": -0.12, "RKnee": -0.12, "RAnkle": -0.12, "LHip": 0.12, "LKnee": 0.12,
          "LAnkle": 0.12, "LShoulder": 0.18, "LElbow": 0.22, "LWrist": 0.24, "RShoulder": -0.18,
          "RElbow": -0.22, "RWrist": -0.24}  # fmt: skip
    for n, y in ys.items():
        base[_J[n], 1] = y
    for n, x in xs.items():
        base[_J[n], 0] = x
    if crouch:  # knees forward and ankles up: pelvis 0.35 m above the ankles
        for n in ("RKnee", "LKnee"):
            base[_J[n]] += [0, -0.2, -0.4]
        for n in ("RAnkle", "LAnkle"):
            base[_J[n], 1] = 0.35
    x3d = np.repeat(base[None], T, 0) + rng.normal(0, 0.005, (T, J, 3))
    x3d -= x3d[:, :1]
    x2d = (x3d[..., :2] / 5.0).astype(np.float32)
    return x2d, x3d.astype(np.float32), np.ones((T, J), dtype=bool)


def _changed_frames(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(a - b).reshape(T, -1).max(-1) > 0)


def test_limb_swap_exchanges_a_whole_limb_pair_for_a_run_of_frames():
    x2d, x3d, valid = _window()
    for seed in range(20):
        out, v = he.apply_hard_error("limb_swap", x2d, x3d, valid, np.random.default_rng(seed))
        frames = _changed_frames(out, x2d)
        assert 5 <= len(frames) <= 15 and np.all(np.diff(frames) == 1)
        f = frames[0]
        arms = np.allclose(out[f, _J["LWrist"]], x2d[f, _J["RWrist"]])
        legs = np.allclose(out[f, _J["LAnkle"]], x2d[f, _J["RAnkle"]])
        assert arms != legs  # one pair, all its joints
        if arms:
            assert np.allclose(out[f, _J["RShoulder"]], x2d[f, _J["LShoulder"]])
        assert v.all()


def test_limb_snap_puts_both_detections_on_one_limb():
    x2d, x3d, valid = _window()
    out, _ = he.apply_hard_error("limb_snap", x2d, x3d, valid, np.random.default_rng(3))
    f = _changed_frames(out, x2d)[0]
    pairs = [("LWrist", "RWrist"), ("LAnkle", "RAnkle")]
    assert any(np.allclose(out[f, _J[a]], out[f, _J[b]]) for a, b in pairs)


def test_hand_lost_hides_or_sticks_the_wrist_on_its_elbow():
    x2d, x3d, valid = _window()
    seen = set()
    for seed in range(20):
        out, v = he.apply_hard_error("hand_lost", x2d, x3d, valid, np.random.default_rng(seed))
        for side in ("L", "R"):
            w, e = _J[f"{side}Wrist"], _J[f"{side}Elbow"]
            if not v[:, w].all():
                seen.add("missing")
                assert (out[~v[:, w], w] == 0).all()
            elif np.allclose(out[:, w], x2d[:, w]) is False:
                stuck = np.flatnonzero(np.abs(out[:, w] - x2d[:, w]).max(-1) > 0)
                assert np.allclose(out[stuck, w], x2d[stuck, e])
                seen.add("stuck")
    assert seen == {"missing", "stuck"}


def test_head_failure_puts_the_head_below_the_thorax():
    x2d, x3d, valid = _window()
    out, _ = he.apply_hard_error("head_failure", x2d, x3d, valid, np.random.default_rng(0))
    frames = _changed_frames(out, x2d)
    assert 3 <= len(frames) <= 15
    thorax_y = out[frames, _J["Thorax"], 1]
    assert (out[frames, _J["Head"], 1] > thorax_y).all()  # y down: below the thorax
    assert (x2d[frames, _J["Head"], 1] < thorax_y).all()


def test_crouch_noise_only_when_crouched_and_scaled_by_the_person_height():
    x2d, x3d, valid = _window()
    assert not he.crouched(x3d).any()
    out, _ = he.apply_hard_error("crouch_noise", x2d, x3d, valid, np.random.default_rng(0))
    assert np.array_equal(out, x2d)
    x2d, x3d, valid = _window(crouch=True)
    assert he.crouched(x3d).all()
    out, _ = he.apply_hard_error("crouch_noise", x2d, x3d, valid, np.random.default_rng(0))
    h = he.person_height(x2d, valid)
    sd = (out - x2d).std() / h.mean()
    assert sd == pytest.approx(he.CROUCH_EXTRA_H, rel=0.1)


def test_windows_draw_hard_errors_at_the_configured_rate():
    x2d, x3d, _ = _window()
    n = 200
    seq = PoseSequence(np.tile(x2d, (n // T + 1, 1, 1))[:n], np.tile(x3d, (n // T + 1, 1, 1))[:n],
                       "a", "S", "c", "s")  # fmt: skip
    w = TrainWindows([seq], length=T, mirror=False, hard_errors=0.3)
    b = w.sample(2000)
    kind = b["hard_error"].numpy()
    assert 0.26 < (kind >= 0).mean() < 0.34
    assert set(np.unique(kind[kind >= 0])) == set(range(len(he.KINDS)))
    starts = b["start"].numpy()
    source = np.stack([seq.pose2d[s : s + T] for s in starts])
    same = np.abs(b["x2d"].numpy() - source).reshape(len(kind), -1).max(-1) == 0
    assert same[kind < 0].all()  # windows without an error are the data, unchanged
    assert not same[(kind >= 0) & (kind != he.KINDS.index("crouch_noise"))].any()
    with pytest.raises(ValueError, match="hard_errors must be in"):
        TrainWindows([seq], length=T, hard_errors=1.5)
    with pytest.raises(ValueError, match=r"data.hard_errors must be in \[0, 1\]"):
        load_config("tiny", ["data.hard_errors=2"])
    with pytest.raises(ValueError, match="unknown hard error 'blur'"):
        he.apply_hard_error("blur", x2d, x3d, np.ones((T, J), bool), np.random.default_rng())
