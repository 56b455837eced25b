"""2D joint-definition families (issue #15): MPII offsets from the detector JSON, COCO
keypoints through the lift command's own mapping, and their use in training windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REST_POSE
from diffhpe.data import families as fam
from diffhpe.data.windows import PoseSequence, TrainWindows
from diffhpe.formats.mapping import COCO17_TABLE, TABLES, to_h36m
from diffhpe.skeleton import JOINT_NAMES

J = len(JOINT_NAMES)


def _camera_view(pose_world: np.ndarray, yaw_deg: float = 0.0, depth: float = 5.0):
    """Root-relative camera-frame 3D and its normalised 2D (pinhole, f = 2) of a rest
    pose turned by ``yaw`` about the vertical, ``depth`` metres in front of the camera."""
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    p = pose_world @ rot.T
    # World (x right, y away from the camera, z up) -> camera (x right, y down, z forward).
    cam = np.stack([p[:, 0], -p[:, 2], p[:, 1]], axis=-1)
    cam = cam - cam[:1] + [0, 0, depth]
    x2d = 2.0 * cam[:, :2] / cam[:, 2:]
    x3d = cam - cam[:1]
    return x2d[None, None].astype(np.float32), x3d[None, None].astype(np.float32)


def test_mpii_offsets_are_the_detector_json_figures(shared_data):
    doc = json.loads((shared_data / "detector_noise" / "stacked_hourglass_h36m.json").read_text())[
        "definition_offsets"
    ]
    rows = {k: v for k, v in doc.items() if k != "format"}
    assert set(rows) == set(fam.MPII_OFFSETS)
    for joint, (others, coefs) in fam.MPII_OFFSETS.items():
        assert tuple(rows[joint][0]) == others and tuple(rows[joint][1]) == coefs, joint


def test_mpii_family_moves_spine_towards_thorax_and_drops_the_nose():
    x2d, x3d = _camera_view(REST_POSE)
    valid = np.ones((1, 1, J), dtype=bool)
    out, ok = fam.mpii_family(x2d, valid)
    s, t = JOINT_NAMES.index("Spine"), JOINT_NAMES.index("Thorax")
    expected = x2d[0, 0, s] + 0.773 * (x2d[0, 0, t] - x2d[0, 0, s])
    np.testing.assert_allclose(out[0, 0, s], expected, rtol=1e-6)
    assert not ok[0, 0, JOINT_NAMES.index("Neck/Nose")] and ok.sum() == J - 1
    assert (out[~ok] == 0).all()
    # An untouched joint stays exactly where it was.
    e = JOINT_NAMES.index("LElbow")
    assert np.array_equal(out[0, 0, e], x2d[0, 0, e])


def test_weak_perspective_scale_recovers_the_projection_scale():
    x3d = np.random.default_rng(0).normal(0, 0.3, (2, 3, J, 3))
    x2d = 0.4 * x3d[..., :2] + 0.1
    s = fam.weak_perspective_scale(x2d, x3d, np.ones((2, 3, J), dtype=bool))
    np.testing.assert_allclose(s, 0.4, rtol=1e-9)
    none = fam.weak_perspective_scale(x2d, x3d, np.zeros((2, 3, J), dtype=bool))
    assert (none == 0).all()


def test_coco_family_uses_the_lift_commands_mapping():
    assert TABLES["coco17"] is COCO17_TABLE  # the table `diffhpe lift` reads COCO with
    x2d, x3d = _camera_view(REST_POSE, yaw_deg=30)
    valid = np.ones((1, 1, J), dtype=bool)
    coco = fam.coco_keypoints(x2d, x3d, valid)
    out, ok = fam.coco_family(x2d, x3d, valid)
    ref, _ = to_h36m(coco.reshape(-1, 17, 2), np.ones((1, 17)), COCO17_TABLE)
    np.testing.assert_allclose(out[0, 0], ref[0], rtol=1e-6)
    assert ok.all()
    # Pelvis becomes the mid-hip (of the widened COCO hips), as in `diffhpe lift`.
    hips = coco[0, 0, [11, 12]].mean(0)
    np.testing.assert_allclose(out[0, 0, 0], hips, rtol=1e-6)


def test_the_coco_nose_points_where_the_person_faces():
    """Seen from the front the nose is on the head's axis; in profile it sticks out."""
    nose = 0  # COCO order
    for yaw, expect_offset in ((0.0, False), (90.0, True)):
        x2d, x3d = _camera_view(REST_POSE, yaw_deg=yaw)
        coco = fam.coco_keypoints(x2d, x3d, np.ones((1, 1, J), dtype=bool))
        offset = np.abs(coco[0, 0, nose, 0] - x2d[0, 0, JOINT_NAMES.index("Neck/Nose"), 0])
        # 10 cm at 5 m with f = 2 (normalised) is 0.04.
        assert (offset > 0.03) == expect_offset, (yaw, offset)


def test_a_missing_head_makes_the_face_keypoints_missing():
    x2d, x3d = _camera_view(REST_POSE)
    valid = np.ones((1, 1, J), dtype=bool)
    valid[..., JOINT_NAMES.index("Head")] = False
    out, ok = fam.coco_family(x2d, x3d, valid)
    # Neck/Nose (the nose) and Head (from the eyes) use the face.
    assert not ok[0, 0, JOINT_NAMES.index("Neck/Nose")] and not ok[0, 0, JOINT_NAMES.index("Head")]
    assert ok[0, 0, JOINT_NAMES.index("LWrist")]


def test_parse_families():
    assert fam.parse_families("exact:2,mpii:1,coco:1") == (
        ("exact", "mpii", "coco"),
        (0.5, 0.25, 0.25),
    )
    assert fam.parse_families("exact") == (("exact",), (1.0,))
    with pytest.raises(ValueError, match="unknown family 'cocoa'"):
        fam.parse_families("cocoa")
    with pytest.raises(ValueError, match="each family once"):
        fam.parse_families("exact,exact")
    with pytest.raises(ValueError, match="unknown 2D definition family"):
        fam.apply_family("openpose", *_camera_view(REST_POSE), np.ones((1, 1, J), bool))


def test_training_windows_draw_a_family_per_window():
    x2d, x3d = _camera_view(REST_POSE)
    n = 400
    seq = PoseSequence(np.repeat(x2d[0], n, 0), np.repeat(x3d[0], n, 0), "a", "S", "c", "s")
    windows = TrainWindows([seq], length=9, mirror=False, families="exact:2,mpii:1,coco:1")
    b = windows.sample(2000)
    family = b["family"].numpy()
    share = np.bincount(family, minlength=3) / len(family)
    np.testing.assert_allclose(share, [0.5, 0.25, 0.25], atol=0.04)
    nose = JOINT_NAMES.index("Neck/Nose")
    assert not b["valid"][family == 1][..., nose].any()  # MPII has no nose
    assert b["valid"][family != 1].all()
    exact = b["x2d"][family == 0]
    assert np.allclose(exact.numpy(), x2d[0, 0], atol=1e-6)
    assert not np.allclose(b["x2d"][family == 2].numpy(), x2d[0, 0], atol=1e-3)
