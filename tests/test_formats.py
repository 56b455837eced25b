"""Detector keypoint readers and joint tables (diffhpe.formats).

The fixtures in tests/fixtures/keypoints place source joint k of person p in frame f at
(100 + 10 k + 1000 p + f, 50 + 20 k + f) pixels, so every joint has its own position and
an oracle built from the detectors' published joint orders checks each mapped joint.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from diffhpe.formats import (
    FORMATS,
    TABLES,
    Keypoints2D,
    detect_format,
    mask_unreliable,
    read_keypoints,
    read_people,
    to_h36m,
)
from diffhpe.formats.readers import READERS
from diffhpe.io.safe_npz import UnsafePickleError
from diffhpe.skeleton import JOINT_NAMES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keypoints"
J = {name: i for i, name in enumerate(JOINT_NAMES)}
ALL = set(JOINT_NAMES)


def src_xy(n: int, frame: int, person: int = 0) -> np.ndarray:
    """(n, 2) source joints of the fixtures' coordinate rule."""
    k = np.arange(n, dtype=np.float64)
    return np.stack([100 + 10 * k + 1000 * person + frame, 50 + 20 * k + frame], -1)


# Source joint indices from each detector's documented order (written independently of
# diffhpe.formats.mapping). pelvis/thorax: one index, or a pair to average; head: an index
# (Halpe's head joint) or the (left eye, right eye) pair of the head-top estimate.
_COCO_LIMBS = {
    "RHip": 12, "RKnee": 14, "RAnkle": 16, "LHip": 11, "LKnee": 13, "LAnkle": 15,
    "Neck/Nose": 0, "LShoulder": 5, "LElbow": 7, "LWrist": 9, "RShoulder": 6,
    "RElbow": 8, "RWrist": 10,
}  # fmt: skip
SKELETONS = {
    "coco17": dict(n=17, direct=_COCO_LIMBS, pelvis=(11, 12), thorax=(5, 6), head=(1, 2)),
    "body25": dict(
        n=25,
        direct={
            "RHip": 9,
            "RKnee": 10,
            "RAnkle": 11,
            "LHip": 12,
            "LKnee": 13,
            "LAnkle": 14,
            "Neck/Nose": 0,
            "LShoulder": 5,
            "LElbow": 6,
            "LWrist": 7,
            "RShoulder": 2,
            "RElbow": 3,
            "RWrist": 4,
        },  # fmt: skip
        pelvis=8,
        thorax=1,
        head=(16, 15),
    ),
    "coco18": dict(
        n=18,
        direct={
            "RHip": 8,
            "RKnee": 9,
            "RAnkle": 10,
            "LHip": 11,
            "LKnee": 12,
            "LAnkle": 13,
            "Neck/Nose": 0,
            "LShoulder": 5,
            "LElbow": 6,
            "LWrist": 7,
            "RShoulder": 2,
            "RElbow": 3,
            "RWrist": 4,
        },  # fmt: skip
        pelvis=(11, 8),
        thorax=1,
        head=(15, 14),
    ),
    "halpe26": dict(n=26, direct=_COCO_LIMBS, pelvis=19, thorax=18, head=17),
    "mediapipe33": dict(
        n=33,
        direct={
            "RHip": 24,
            "RKnee": 26,
            "RAnkle": 28,
            "LHip": 23,
            "LKnee": 25,
            "LAnkle": 27,
            "Neck/Nose": 0,
            "LShoulder": 11,
            "LElbow": 13,
            "LWrist": 15,
            "RShoulder": 12,
            "RElbow": 14,
            "RWrist": 16,
        },  # fmt: skip
        pelvis=(23, 24),
        thorax=(11, 12),
        head=(2, 5),
    ),
}


def oracle(skeleton: str, frame: int, person: int) -> np.ndarray:
    """(17, 2) expected Human3.6M joints for the fixture rule."""
    if skeleton == "h36m17":
        return src_xy(17, frame, person)
    spec = SKELETONS[skeleton]
    s = src_xy(spec["n"], frame, person)

    def pick(idx: int | tuple[int, int]) -> np.ndarray:
        return s[idx] if isinstance(idx, int) else (s[idx[0]] + s[idx[1]]) / 2

    out = np.full((17, 2), np.nan)
    for name, k in spec["direct"].items():
        out[J[name]] = s[k]
    pelvis, thorax = pick(spec["pelvis"]), pick(spec["thorax"])
    out[J["Pelvis"]], out[J["Thorax"]], out[J["Spine"]] = pelvis, thorax, (pelvis + thorax) / 2
    if isinstance(spec["head"], int):
        out[J["Head"]] = s[spec["head"]]
    else:
        eyes = pick(spec["head"])
        out[J["Head"]] = eyes + 0.5 * (eyes - thorax)
    return out


# file, format, source_format, skeleton, {track_id: person}, frame_index,
# {(track, frame): joints missing}, score of present joints, "several people" warning
CASES = [
    ("mmpose_tracks.json", "coco", "coco/mmpose", "coco17", {3: 1, 7: 0}, [1, 2, 3, 4],
     {(3, 3): ALL, (7, 2): {"LWrist"}}, 0.9, False),
    ("detectron2.json", "coco", "coco/detectron2", "coco17", {None: 0}, [10, 11, 12, 13, 14],
     {(None, 12): ALL, (None, 13): ALL, (None, 11): {"RShoulder", "Thorax", "Spine", "Head"}},
     0.8, False),
    ("yolo_track.json", "coco", "coco/yolo", "coco17", {1: 0, 2: 1}, [0, 1, 2],
     {(2, 1): ALL, (1, 2): {"LAnkle"}}, 0.95, False),
    ("yolo_list.json", "coco", "coco/yolo", "coco17", {None: 0}, [0, 1, 2],
     {(None, 1): ALL, (None, 2): {"Neck/Nose"}}, 0.9, True),
    ("coco_results.json", "coco-results", "coco-results", "coco17", {None: 0}, [0, 1, 2, 3],
     {(None, 2): ALL, (None, 3): {"RHip", "Pelvis", "Spine"}}, 0.9, True),
    ("openpose_body25", "openpose", "openpose/body25", "body25", {None: 0}, [8, 9, 10, 11],
     {(None, 10): ALL, (None, 11): {"RWrist"}}, 0.8, True),
    ("openpose_coco18", "openpose", "openpose/coco18", "coco18", {None: 0}, [0, 1, 2],
     {(None, 1): {"LElbow"}}, 0.7, False),
    ("mediapipe.json", "mediapipe", "mediapipe", "mediapipe33", {None: 0}, [0, 1, 2, 3],
     {(None, 2): ALL, (None, 3): {"RKnee"}}, 0.95, False),
    ("mediapipe.csv", "mediapipe", "mediapipe", "mediapipe33", {None: 0}, [0, 1, 2, 3],
     {(None, 2): ALL, (None, 1): {"LHip", "Pelvis", "Spine"}}, 0.9, False),
    ("alphapose_halpe26.json", "alphapose", "alphapose/halpe26", "halpe26", {1: 0, 2: 1},
     [0, 1, 2, 3], {(2, 2): ALL, (1, 1): {"Head"}}, 0.85, False),
    ("alphapose_coco17.json", "alphapose", "alphapose/coco17", "coco17", {0: 0}, [0, 1, 2],
     {}, 0.9, True),
    ("array_h36m.csv", "array", "array", "h36m17", {None: 0}, [0, 1, 2],
     {(None, 1): {"LElbow"}}, 1.0, False),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fixture_reads_maps_and_cleans(case):
    name, fmt, source_format, skeleton, tracks, frames, missing, score, crowded = case
    path = FIXTURES / name
    assert detect_format(path) == fmt
    size = (2000, 1000) if fmt == "mediapipe" else None  # MediaPipe fixtures: 2000 x 1000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = read_keypoints(path, image_size=size)
    assert any("several people" in str(w.message) for w in caught) == crowded
    assert [r.track_id for r in result] == list(tracks)
    for kp in result:
        assert kp.source_format == source_format
        np.testing.assert_array_equal(kp.frame_index, frames)
        assert kp.xy.dtype == np.float32 and kp.xy.shape == (len(frames), 17, 2)
        for t, frame in enumerate(frames):
            gone = missing.get((kp.track_id, frame), set())
            expected = oracle(skeleton, frame, tracks[kp.track_id])
            expected[[J[n] for n in gone]] = np.nan
            np.testing.assert_allclose(kp.xy[t], expected, atol=2e-3, rtol=0)
            want_score = np.where(np.isnan(expected[:, 0]), 0.0, score)
            np.testing.assert_allclose(kp.score[t], want_score, atol=1e-6)


def test_every_table_keeps_left_and_right_apart():
    # A left joint must come only from "left_*" source joints and a right one only from
    # "right_*", whatever the format.
    for table in TABLES.values():
        for side, other in (("L", "right"), ("R", "left")):
            for j, name in enumerate(JOINT_NAMES):
                if name.startswith(side) and table.name != "h36m17":
                    used = [table.source_joints[k] for k in table.inputs(j)]
                    assert len(used) == 1 and not used[0].startswith(other), (table.name, name)
        np.testing.assert_allclose(table.weights.sum(1), 1.0)  # affine: translation-safe
        assert list(table.mapping) == list(JOINT_NAMES)


def test_coco_mapping_exact_values():
    pts = src_xy(17, 0)[None]  # (1, 17, 2)
    xy, score = to_h36m(pts, np.full((1, 17), 0.5), TABLES["coco17"])
    assert xy[0, J["LShoulder"]].tolist() == pts[0, 5].tolist()  # COCO 5 = left shoulder
    assert xy[0, J["RWrist"]].tolist() == pts[0, 10].tolist()  # COCO 10 = right wrist
    assert xy[0, J["Pelvis"]].tolist() == ((pts[0, 11] + pts[0, 12]) / 2).tolist()
    assert xy[0, J["Thorax"]].tolist() == ((pts[0, 5] + pts[0, 6]) / 2).tolist()
    assert xy[0, J["Neck/Nose"]].tolist() == pts[0, 0].tolist()
    assert TABLES["coco17"].mapping["Pelvis"] == "mean(left_hip, right_hip)"
    assert np.all(score == 0.5)


def test_combined_joint_missing_if_any_input_missing_and_score_is_minimum():
    pts = src_xy(17, 0)[None].copy()
    scores = np.linspace(0.3, 0.9, 17)[None]
    pts[0, 11] = np.nan  # left hip
    xy, score = to_h36m(pts, scores, TABLES["coco17"])
    for name in ("LHip", "Pelvis", "Spine"):
        assert np.isnan(xy[0, J[name]]).all() and score[0, J[name]] == 0
    assert np.isfinite(xy[0, J["RHip"]]).all()
    assert score[0, J["Thorax"]] == pytest.approx(min(scores[0, 5], scores[0, 6]))
    assert score[0, J["Head"]] == pytest.approx(scores[0, [1, 2, 5, 6]].min())


def test_mask_unreliable_rules():
    pts = np.array([[10.0, 20.0], [0.0, 0.0], [0.0, 0.0], [np.nan, 3.0], [5.0, 6.0]])
    sc = np.array([0.9, 0.0, 0.8, 0.9, 0.29])
    p, s = mask_unreliable(pts, sc, 0.3)
    assert np.isnan(p[:, 0]).tolist() == [False, True, False, True, True]
    assert s.tolist() == [0.9, 0.0, 0.8, 0.0, 0.0]
    p0, _ = mask_unreliable(pts, sc, 0.0)  # (0, 0) with zero confidence stays missing
    assert np.isnan(p0[:, 0]).tolist() == [False, True, False, True, False]


def test_openpose_orders_files_by_frame_number_not_name():
    names = sorted(p.name for p in (FIXTURES / "openpose_body25").iterdir())
    assert names[0] == "clip_10_keypoints.json"  # lexical order would be wrong
    with pytest.warns(UserWarning, match="most confident"):
        (kp,) = read_keypoints(FIXTURES / "openpose_body25")
    nose_x = kp.xy[:, J["Neck/Nose"], 0]
    np.testing.assert_array_equal(nose_x, [108, 109, np.nan, 111])  # person 0 kept in 9
    (one,) = read_keypoints(FIXTURES / "openpose_body25" / "clip_11_keypoints.json")
    assert one.frame_index.tolist() == [11] and one.source_format == "openpose/body25"
    np.testing.assert_array_equal(one.xy, kp.xy[-1:])


def test_mediapipe_needs_image_size_and_reads_it_from_the_file(tmp_path):
    path = FIXTURES / "mediapipe.json"
    with pytest.raises(ValueError, match=r"mediapipe\.json.*--image-size W H"):
        read_keypoints(path)
    frames = json.loads(path.read_text())
    wrapped = tmp_path / "pose.json"
    wrapped.write_text(json.dumps({"width": 2000, "height": 1000, "fps": 30, "frames": frames}))
    (kp,) = read_keypoints(wrapped)
    assert kp.image_size == (2000, 1000) and kp.fps == 30.0
    np.testing.assert_allclose(kp.xy[0], oracle("mediapipe33", 0, 0), atol=2e-3)
    # Pixel values are not normalised coordinates: refused instead of silently scaled.
    frames[0][0]["x"] = 640.0
    wrapped.write_text(json.dumps(frames))
    with pytest.raises(ValueError, match="normalised"):
        read_keypoints(wrapped, image_size=(2000, 1000))


def test_image_size_from_file_wins(tmp_path):
    with pytest.warns(UserWarning, match="ignoring image_size"):
        kps = read_keypoints(FIXTURES / "mmpose_tracks.json", image_size=(1920, 1080))
    assert all(k.image_size == (640, 480) for k in kps)  # ori_shape is (height, width)
    kps = read_keypoints(FIXTURES / "alphapose_halpe26.json", image_size=(1920, 1080))
    assert all(k.image_size == (1920, 1080) for k in kps)
    (kp,) = read_keypoints(FIXTURES / "openpose_coco18")
    assert kp.image_size is None


def _save_vp3d(path: Path, positions_2d: dict, metadata: dict) -> None:
    """What VideoPose3D's prepare_data_2d_custom.py writes (pickled dicts)."""
    np.savez_compressed(path, positions_2d=positions_2d, metadata=metadata)


def test_vp3d_custom_npz(tmp_path):
    coco = np.stack([src_xy(17, f) for f in range(4)])  # (4, 17, 2) COCO order
    meta = {
        "layout_name": "coco",
        "num_joints": 17,
        "video_metadata": {"a.mp4": {"w": 64, "h": 48}},
    }
    _save_vp3d(tmp_path / "data_2d_custom_x.npz", {"a.mp4": {"custom": [coco]}}, meta)
    (kp,) = read_keypoints(tmp_path / "data_2d_custom_x.npz")
    assert (kp.source_format, kp.track_id, kp.image_size) == ("vp3d", "a.mp4", (64, 48))
    np.testing.assert_array_equal(kp.frame_index, np.arange(4))
    for f in range(4):
        np.testing.assert_allclose(kp.xy[f], oracle("coco17", f, 0), atol=1e-4)
    assert np.all(kp.score == 1.0)
    h36m = {"S1": {"Walk": [np.stack([src_xy(17, 0)])] * 2}}
    _save_vp3d(tmp_path / "h.npz", h36m, {"layout_name": "h36m"})
    kps = read_keypoints(tmp_path / "h.npz")
    assert [k.track_id for k in kps] == ["S1/Walk/0", "S1/Walk/1"]
    np.testing.assert_array_equal(kps[0].xy[0], src_xy(17, 0))  # identity order


class _Exploit:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_vp3d_refuses_crafted_pickle(tmp_path):
    target = tmp_path / "pwned"
    bad = {"v": {"custom": [_Exploit(str(target))]}}
    _save_vp3d(tmp_path / "evil.npz", bad, {})
    with pytest.raises(UnsafePickleError, match=r"evil\.npz.*refused"):
        read_keypoints(tmp_path / "evil.npz")
    assert not target.exists()


def test_array_npy_and_errors(tmp_path):
    arr = np.stack([np.concatenate([src_xy(17, f), np.full((17, 1), 0.8)], -1) for f in range(3)])
    arr[2, J["RKnee"], 2] = 0.1
    np.save(tmp_path / "p.npy", arr)
    (kp,) = read_keypoints(tmp_path / "p.npy")
    assert kp.source_format == "array" and np.isnan(kp.xy[2, J["RKnee"]]).all()
    np.testing.assert_array_equal(kp.xy[1], src_xy(17, 1))
    np.save(tmp_path / "xy.npy", arr[..., :2])
    (kp,) = read_keypoints(tmp_path / "xy.npy")
    assert np.all(kp.score == 1.0)
    np.save(tmp_path / "bad.npy", arr[:, :16])
    with pytest.raises(ValueError, match=r"bad\.npy.*\(T, 17, 2 or 3\)"):
        read_keypoints(tmp_path / "bad.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"obj\.npy"):
        read_keypoints(tmp_path / "obj.npy")
    (tmp_path / "short.csv").write_text("1,2,3,4,5\n")
    with pytest.raises(ValueError, match=r"short\.csv: line 1: expected 34 .* or 51"):
        read_keypoints(tmp_path / "short.csv")


def test_other_coco_layouts(tmp_path):
    """mmpose predictions / single image, Detectron2 image fields, YOLO normalised, JSONL."""
    kps = [src_xy(17, f).tolist() for f in range(3)]
    preds = {"predictions": [[{"keypoints": k, "keypoint_scores": [0.9] * 17}] for k in kps]}
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    (kp,) = read_keypoints(tmp_path / "pred.json")
    assert kp.source_format == "coco/mmpose" and kp.num_frames == 3
    np.testing.assert_allclose(kp.xy[2], oracle("coco17", 2, 0))

    (tmp_path / "img.json").write_text(
        json.dumps([{"keypoints": kps[0], "keypoint_scores": [1] * 17}])
    )
    (kp,) = read_keypoints(tmp_path / "img.json")
    assert kp.num_frames == 1

    d2 = [{"image_id": 5, "pred_keypoints": [[p + [0.9] for p in kps[0]]], "scores": [0.99]}]
    (tmp_path / "d2.json").write_text(json.dumps(d2))
    (kp,) = read_keypoints(tmp_path / "d2.json")
    assert kp.source_format == "coco/detectron2" and kp.frame_index.tolist() == [5]

    norm = [[{"keypoints": {"x": [0.1 + 0.01 * k for k in range(17)], "y": [0.5] * 17}}]]
    (tmp_path / "yn.json").write_text(json.dumps(norm))
    with pytest.raises(ValueError, match=r"yn\.json.*--image-size"):
        read_keypoints(tmp_path / "yn.json")
    (kp,) = read_keypoints(tmp_path / "yn.json", image_size=(100, 200))
    assert kp.xy[0, J["LShoulder"]].tolist() == pytest.approx([15.0, 100.0])

    lines = [
        json.dumps([{"keypoints": {"x": [p[0] for p in k], "y": [p[1] for p in k]}}]) for k in kps
    ]
    (tmp_path / "y.jsonl").write_text("\n".join(lines))
    (kp,) = read_keypoints(tmp_path / "y.jsonl")
    np.testing.assert_allclose(kp.xy[1], oracle("coco17", 1, 0))


def test_frame_axis_is_regular(tmp_path):
    def result(image_id: int) -> dict:
        flat = np.concatenate([src_xy(17, image_id), np.ones((17, 1))], -1).ravel()
        return {"image_id": image_id, "category_id": 1, "keypoints": flat.tolist(), "score": 1}

    (tmp_path / "strided.json").write_text(json.dumps([result(i) for i in (0, 2, 6)]))
    (kp,) = read_keypoints(tmp_path / "strided.json")
    assert kp.frame_index.tolist() == [0, 2, 4, 6]  # step = gcd of the gaps
    assert np.isnan(kp.xy[2]).all() and np.isfinite(kp.xy[3]).all()
    (tmp_path / "sparse.json").write_text(json.dumps([result(i) for i in (1, 3, 900_000)]))
    with pytest.warns(UserWarning, match="too sparse"):
        (kp,) = read_keypoints(tmp_path / "sparse.json")
    assert kp.frame_index.tolist() == [1, 3, 900_000]


def test_errors_name_the_file_and_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        read_keypoints(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="format: unknown 'bvh'"):
        read_keypoints(FIXTURES / "coco_results.json", format="bvh")
    (tmp_path / "odd.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match=r"odd\.json: cannot recognise .* format="):
        read_keypoints(tmp_path / "odd.json")
    (tmp_path / "k.txt").write_text("1 2")
    with pytest.raises(ValueError, match=r"k\.txt: .*extension '\.txt'"):
        read_keypoints(tmp_path / "k.txt")
    (tmp_path / "op_1_keypoints.json").write_text(
        json.dumps({"people": [{"pose_keypoints_2d": [1] * 30}]})
    )
    with pytest.raises(ValueError, match=r"op_1_keypoints\.json.*75 \(BODY_25\) or 54 \(COCO-18\)"):
        read_keypoints(tmp_path)
    bad = [{"frame_id": 0, "instances": [{"keypoints": [[1, 2]] * 16}]}]
    (tmp_path / "mm.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match=r"mm\.json: frame 0 instance 0 'keypoints': expected 17"):
        read_keypoints(tmp_path / "mm.json")
    (tmp_path / "ap.json").write_text(
        json.dumps([{"image_id": "0.jpg", "keypoints": [1] * 60, "idx": 1}])
    )
    with pytest.raises(ValueError, match=r"ap\.json: result 0: 'keypoints' .*17, 26, 133 or 136"):
        read_keypoints(tmp_path / "ap.json")
    (tmp_path / "mp.csv").write_text("frame,landmark,x,y\n0,99,0.1,0.1\n")
    with pytest.raises(ValueError, match=r"mp\.csv: line 2: landmark '99'"):
        read_keypoints(tmp_path / "mp.csv", image_size=(10, 10))
    with pytest.raises(ValueError, match="image_size: expected"):
        read_keypoints(FIXTURES / "coco_results.json", image_size=(0, 10))


def test_keypoints2d_validation():
    xy = np.zeros((2, 17, 2), np.float32)
    ok = dict(
        xy=xy,
        score=np.ones((2, 17)),
        frame_index=np.array([0, 1]),
        source_format="array",
        mapping=TABLES["h36m17"].mapping,
    )
    Keypoints2D(**ok)
    with pytest.raises(ValueError, match=r"Keypoints2D\.xy: expected shape \(T, 17, 2\)"):
        Keypoints2D(**{**ok, "xy": np.zeros((2, 16, 2))})
    nan = xy.copy()
    nan[0, 3] = np.nan
    with pytest.raises(ValueError, match="missing .* score 0"):
        Keypoints2D(**{**ok, "xy": nan})
    with pytest.raises(ValueError, match="strictly increasing"):
        Keypoints2D(**{**ok, "frame_index": np.array([1, 1])})
    with pytest.raises(ValueError, match="mapping"):
        Keypoints2D(**{**ok, "mapping": {"Pelvis": "x"}})
    with pytest.raises(ValueError, match="image_size"):
        Keypoints2D(**{**ok, "image_size": (640, -1)})


def test_registry_names_every_format_once_in_order():
    assert tuple(r.name for r in READERS) == FORMATS == (
        "coco", "coco-results", "openpose", "mediapipe", "alphapose", "vp3d", "array",
    )  # fmt: skip
    assert all(r.description and callable(r.detect) and callable(r.read) for r in READERS)
    assert {r.name for r in READERS if r.framed} == {"coco", "mediapipe"}


def test_frames_wrapper_is_detected_by_its_frames(tmp_path):
    lm = [{"x": 0.5, "y": 0.5, "visibility": 1.0}] * 33
    cases = {
        "mp.json": ({"width": 20, "height": 10, "frames": [lm, None]}, "mediapipe"),
        "yolo.json": ({"frames": [[[[1.0, 2.0, 0.9]] * 17]]}, "coco"),
        "ann.json": ({"annotations": [], "frames": [lm]}, "coco-results"),
    }
    for name, (doc, fmt) in cases.items():
        (tmp_path / name).write_text(json.dumps(doc))
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "op.json").write_text(json.dumps({"frames": {"people": []}}))
    with pytest.raises(ValueError, match="cannot recognise"):
        detect_format(tmp_path / "op.json")  # only coco and mediapipe come wrapped


def test_read_people_keypoint_files_and_samples(tmp_path):
    path = FIXTURES / "mmpose_tracks.json"
    people = read_people(path)
    assert [p["name"] for p in people] == ["mmpose_tracks_track3", "mmpose_tracks_track7"]
    for person, kp in zip(people, read_keypoints(path), strict=True):
        np.testing.assert_array_equal(person["xy"], kp.xy)
        assert person["format"] == "coco/mmpose" and person["gt3d"] is None
    with pytest.warns(UserWarning, match="several people"):
        (single,) = read_people(FIXTURES / "coco_results.json", image_size=(640, 480))
    assert single["name"] == "coco_results" and single["image_size"] == (640, 480)

    xy = src_xy(17, 0)[None].repeat(3, 0)
    np.savez(tmp_path / "s.npz", keypoints=xy, image_size=np.array([640, 480]), fps=25.0)
    (sample,) = read_people(tmp_path / "s.npz", image_size=(800, 600))
    assert sample["image_size"] == (800, 600) and sample["fps"] == 25.0  # the argument wins
    assert sample["focal"] is None and sample["gt3d"] is None
    np.testing.assert_array_equal(sample["xy"], xy)
    with pytest.raises(ValueError, match="save_2d: only for a video input"):
        read_people(path, save_2d=tmp_path / "d.npz")
