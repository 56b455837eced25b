"""No silent wrong answers from the readers (issue 18, the rest): CSV headers, files
diffhpe writes read back by its own readers, per-frame suspect flags, human-sized
mocap, split files for `data build`, per-subject evaluation and subject subsets.

Each case asserts the exact outcome: the values read, the error text (naming the file
and the column, name or scale), the exit code, and that nothing was written.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from diffhpe import safety
from diffhpe.cli import main
from diffhpe.config import load_config
from diffhpe.data.build import build_benchmark, plan_clips, read_split_file
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.evaluation import EvalOptions, evaluate, format_report
from diffhpe.formats import detect_format, read_keypoints
from diffhpe.io.mocap import body_measures, load_motion
from diffhpe.io.videopose3d import load_2d
from diffhpe.lifting import Lifter, LiftResult, save_result
from diffhpe.metrics import MetricAccumulator, evaluate_batch, to_table
from diffhpe.skeleton import JOINT_NAMES
from diffhpe.video import VideoKeypoints, save_detections

MOCAP = Path(__file__).resolve().parent / "fixtures" / "mocap"


def error_line(capsys: pytest.CaptureFixture) -> str:
    """The one line the CLI printed on stderr (no traceback)."""
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("diffhpe: error: "), err
    return lines[0]


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a model gets loaded: the refusal must come before any work."""

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a model was loaded before the refusal")

    monkeypatch.setattr(Lifter, "from_checkpoint", classmethod(refuse))


def person(frames: int = 6, seed: int = 0, score: bool = True) -> np.ndarray:
    """(T, 17, 3) x, y pixels and a score, all different, inside a 1000 x 1000 image."""
    rng = np.random.default_rng(seed)
    xy = np.round(rng.uniform(300, 700, size=(frames, 17, 2)), 2)
    if not score:
        return xy
    return np.concatenate([xy, np.round(rng.uniform(0.5, 1, size=(frames, 17, 1)), 3)], -1)


def write_csv(path: Path, header: list[str], rows: list[list[float]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def named_csv(path: Path, data: np.ndarray, style: str, seed: int = 1) -> Path:
    """``data`` (T, 17, 2|3) with a header naming every column, columns shuffled."""
    coords = ["x", "y", "score"][: data.shape[2]]
    names = {
        "name_x": lambda j, c: f"{JOINT_NAMES[j]}_{c}",
        "x_name": lambda j, c: f"{c}_{JOINT_NAMES[j]}",
        "lower.dot": lambda j, c: f"{JOINT_NAMES[j].lower()}.{c}",
        "index": lambda j, c: f"{j}_{c}",
        "x0": lambda j, c: f"{c}{j}",
        "conf": lambda j, c: f"{JOINT_NAMES[j]} {'conf' if c == 'score' else c}",
    }[style]
    cols = [(j, k) for j in range(17) for k in range(len(coords))]
    order = np.random.default_rng(seed).permutation(len(cols))
    header = [names(cols[i][0], coords[cols[i][1]]) for i in order]
    rows = [[float(data[t, cols[i][0], cols[i][1]]) for i in order] for t in range(len(data))]
    return write_csv(path, header, rows)


# ------------------------------------------------------------- 1. CSV headers
@pytest.mark.parametrize("style", ["name_x", "x_name", "lower.dot", "index", "x0", "conf"])
@pytest.mark.parametrize("with_score", [True, False])
def test_csv_header_in_another_order_is_honoured(tmp_path, style, with_score):
    data = person(score=with_score)
    path = named_csv(tmp_path / "kp.csv", data, style)
    assert detect_format(path) == "array"
    (k,) = read_keypoints(path, image_size=(1000, 1000), score_threshold=0.0)
    np.testing.assert_array_equal(k.xy, data[..., :2].astype(np.float32))  # not file order
    want = data[..., 2] if with_score else np.ones((6, 17))
    np.testing.assert_array_equal(k.score, want.astype(np.float32))


def test_csv_header_reordering_changes_what_is_read(tmp_path):
    """The same numbers read without the header (file order) give another pose."""
    data = person(score=False)
    named = named_csv(tmp_path / "named.csv", data, "name_x")
    with named.open() as f:
        body = f.read().split("\n", 1)[1]
    (tmp_path / "bare.csv").write_text(body)
    (a,) = read_keypoints(named, image_size=(1000, 1000))
    (b,) = read_keypoints(tmp_path / "bare.csv", image_size=(1000, 1000))
    assert np.abs(a.xy - b.xy).max() > 100


@pytest.mark.parametrize(
    ("edit", "text"),
    [
        (lambda h: ["Hipp_x" if c == "RHip_x" else c for c in h],
         r"unknown header columns \['Hipp_x'\]"),
        (lambda h: ["frame", *h], r"unknown header columns \['frame'\]"),
        (lambda h: ["Pelvis_z" if c == "Pelvis_y" else c for c in h],
         r"unknown header columns \['Pelvis_z'\]"),
        (lambda h: ["RKnee_x" if c == "LKnee_x" else c for c in h],
         r"header columns 'RKnee_x' and 'RKnee_x' both name RKnee x"),
    ],
)  # fmt: skip
def test_csv_header_with_unknown_or_repeated_columns_is_refused(tmp_path, edit, text):
    data = person(score=False)
    header = [f"{JOINT_NAMES[j]}_{c}" for j in range(17) for c in "xy"]
    rows = data.reshape(len(data), -1).tolist()
    new = edit(header)
    if len(new) > len(header):
        rows = [[0.0, *r] for r in rows]
    path = write_csv(tmp_path / "bad.csv", new, rows)
    with pytest.raises(ValueError, match=text) as e:
        read_keypoints(path, image_size=(1000, 1000))
    assert str(e.value).startswith(f"{path}: ")


def test_csv_header_missing_columns_are_named(tmp_path):
    data = person()
    header = [f"{JOINT_NAMES[j]}_{c}" for j in range(17) for c in ("x", "y", "score")]
    keep = [i for i, c in enumerate(header) if c not in ("RKnee_y", "LWrist_score")]
    rows = [[r[i] for i in keep] for r in data.reshape(len(data), -1).tolist()]
    path = write_csv(tmp_path / "short.csv", [header[i] for i in keep], rows)
    with pytest.raises(ValueError) as e:
        read_keypoints(path, image_size=(1000, 1000))
    assert str(e.value).startswith(
        f"{path}: header lacks the columns ['RKnee_y', 'LWrist_score']; a keypoint CSV header "
        "needs columns named JOINT_x, JOINT_y"
    )


def test_csv_rows_must_match_the_header(tmp_path):
    data = person(score=False)
    path = named_csv(tmp_path / "kp.csv", data, "name_x")
    with path.open("a") as f:
        f.write("1,2,3\n")
    with pytest.raises(
        ValueError, match=rf"{path.name}: line 8: 3 values where the header names 34"
    ):
        read_keypoints(path, image_size=(1000, 1000))


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("frame,landmark,x,z,visibility", "'y'"),
        ("frame,landmark,y,visibility", "'x'"),
        ("frame,x,y,visibility", "a landmark column"),
        ("landmark,x,y,z", "a frame column"),
        ("frame,landmark,visibility", "'x' and 'y'"),
    ],
)
def test_mediapipe_csv_missing_a_column_is_named_not_misdetected(tmp_path, header, missing):
    path = tmp_path / "mp.csv"
    n = len(header.split(","))
    path.write_text(header + "\n" + "\n".join(",".join(["0.5"] * n) for _ in range(3)) + "\n")
    for call in (
        lambda: detect_format(path),
        lambda: read_keypoints(path, image_size=(640, 480)),
        lambda: read_keypoints(path, format="mediapipe", image_size=(640, 480)),
    ):
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value).startswith(f"{path}: MediaPipe CSV header ")
        assert f"lacks {missing}" in str(e.value) and "; a MediaPipe CSV needs" in str(e.value)
        assert "expected 34" not in str(e.value)  # not the array layout's complaint


def test_cli_names_the_bad_csv_column_before_the_model(tmp_path, capsys, no_model):
    data = person(score=False)
    header = [f"{JOINT_NAMES[j]}_{c}" for j in range(17) for c in "xy"]
    header[5] = "Kneee_y"
    path = write_csv(tmp_path / "bad.csv", header, data.reshape(6, -1).tolist())
    assert main(["lift", str(path), "--image-size", "1000", "1000"]) == 2
    assert f"{path}: unknown header columns ['Kneee_y']" in error_line(capsys)
    assert not (tmp_path / "bad_3d.npz").exists()


# ------------------------------------------------ 2. what diffhpe writes reads back
def video_keypoints(frames: int = 5) -> VideoKeypoints:
    rng = np.random.default_rng(3)
    lm = rng.uniform(100, 500, size=(frames, 33, 2))
    sc = rng.uniform(0.5, 1.0, size=(frames, 33))
    lm[2] = np.nan  # nobody in frame 2
    sc[2] = 0.0
    return VideoKeypoints(landmarks=lm, scores=sc, image_size=(640, 480), fps=30.0, source="v.mp4")


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_read_keypoints_reads_the_save_2d_file(tmp_path, suffix):
    det = video_keypoints()
    path = save_detections(tmp_path / f"v_2d{suffix}", det)
    assert detect_format(path) == "mediapipe"
    (k,) = read_keypoints(path)
    want = det.to_keypoints2d()
    assert k.image_size == (640, 480) and k.fps == 30.0 and k.source_format == "mediapipe"
    np.testing.assert_array_equal(k.frame_index, np.arange(5))
    atol = 0 if suffix == ".npz" else 1e-3  # the JSON holds x/w, y/h rounded to 1e-6
    np.testing.assert_allclose(k.xy, want.xy, atol=atol)
    assert np.isnan(k.xy[2]).all() and not np.isnan(k.xy[[0, 1, 3, 4]]).any()
    np.testing.assert_allclose(k.score, want.score, atol=1e-4)


def test_read_keypoints_reads_a_data_sample(tmp_path, tiny_benchmark, capsys):
    out = tmp_path / "s.npz"
    argv = ["data", "sample", "--bench", str(tiny_benchmark), "--subject", "TE1", "--clip",
            "TE1_00", "--length", "20", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    (k,) = read_keypoints(out)
    with np.load(out, allow_pickle=False) as f:
        np.testing.assert_array_equal(k.xy, f["keypoints"])
        assert k.image_size == tuple(int(v) for v in f["image_size"])
    assert k.source_format == "array" and k.fps == 50.0 and k.num_frames == 20


def test_read_keypoints_reads_the_benchmark_2d(tiny_benchmark):
    people = read_keypoints(tiny_benchmark / "data_2d_open_det.npz")
    first = next(p for p in people if p.track_id == "TE1/TE1_00/0")
    want = load_2d(tiny_benchmark / "data_2d_open_det.npz")[0]["TE1"]["TE1_00"][0]
    np.testing.assert_allclose(first.xy, want, atol=1e-3)
    assert len(people) == 4 * 2 * 4  # subjects x clips x cameras


def lift_result(frames: int = 4) -> LiftResult:
    rng = np.random.default_rng(0)
    suspect = np.zeros(frames, bool)
    suspect[1] = True
    unc = rng.uniform(0.01, 0.02, (frames, 17)).astype(np.float32)
    unc[1] = np.nan
    return LiftResult(
        pose3d=rng.normal(size=(frames, 17, 3)).astype(np.float32),
        uncertainty=unc,
        visible=np.ones((frames, 17), bool),
        suspect=suspect,
    )


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_a_lift_result_is_refused_as_3d_not_2d(tmp_path, suffix, capsys, no_model):
    path = save_result(tmp_path / f"walk_3d{suffix}", lift_result(), {"input": "x"})
    text = f"{path}: this is a 3D lift result (diffhpe lift output: 'pose3d' (N, 17, 3) metres), not 2D keypoints"
    for call in (lambda: read_keypoints(path), lambda: detect_format(path),
                 lambda: read_keypoints(path, format="vp3d")):  # fmt: skip
        with pytest.raises(ValueError) as e:
            call()
        assert str(e.value).startswith(text)
    assert main(["lift", str(path), "-o", str(tmp_path / "again.npz")]) == 2
    assert text in error_line(capsys)


def test_a_3d_benchmark_file_is_refused_as_3d(tiny_benchmark):
    with pytest.raises(ValueError, match=r"this is 3D motion \(VideoPose3D 'positions_3d'"):
        read_keypoints(tiny_benchmark / "data_3d_open.npz")


# --------------------------------------------------------- 3. per-frame suspect
class FrameLocal(nn.Module):
    """A deterministic per-frame 'lifter': (x, y) -> (x, y, 0)."""

    def forward(self, x2d: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([x2d, torch.zeros_like(x2d[..., :1])], dim=-1)


def frame_lifter() -> Lifter:
    return Lifter(FrameLocal(), load_config("tiny", ["data.length=9"]))


def suspicious_xy() -> np.ndarray:
    """30 frames: frames 3 and 4 show 7 joints, frame 9 none, frame 20 lies far outside."""
    xy = person(30, score=False)
    xy[3, 7:] = np.nan  # 7 visible joints: fewer than 8
    xy[4, :10] = np.nan
    xy[9] = np.nan
    xy[20, :, 0] += 5000
    return xy


def test_suspect_frames_are_flagged_and_their_uncertainty_is_nan():
    xy = suspicious_xy()
    assert safety.MIN_VISIBLE_JOINTS == 8
    np.testing.assert_array_equal(
        np.flatnonzero(safety.suspect_frames(xy, (1000, 1000))), [3, 4, 9, 20]
    )
    with pytest.warns(UserWarning) as rec:
        res = frame_lifter().lift(xy, (1000, 1000))
    texts = [str(w.message) for w in rec]
    assert (
        "lift: 3 of 30 frames have fewer than 8 visible joints (frames 3, 4, 9); they are "
        "flagged suspect, with NaN uncertainty" in texts
    )
    assert any("in 1 of 29 frames most visible keypoints lie far outside" in t for t in texts)
    np.testing.assert_array_equal(np.flatnonzero(res.suspect), [3, 4, 9, 20])
    assert np.isnan(res.uncertainty[[3, 4, 9, 20]]).all()
    assert np.isfinite(res.uncertainty[~res.suspect]).all()
    assert (res.uncertainty[~res.suspect] == 0).all()  # a deterministic model elsewhere
    assert np.isfinite(res.pose3d).all()  # the pose is still given


def test_a_clean_sequence_has_no_suspect_frame():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = frame_lifter().lift(person(30, score=False), (1000, 1000))
    assert res.suspect.shape == (30,) and not res.suspect.any()
    assert LiftResult(res.pose3d, res.uncertainty, res.visible).suspect.tolist() == [False] * 30


def test_saved_results_carry_the_flag_and_no_nan_token(tmp_path):
    res = lift_result()
    npz = np.load(save_result(tmp_path / "r.npz", res, {}), allow_pickle=False)
    np.testing.assert_array_equal(npz["suspect"], [False, True, False, False])
    assert np.isnan(npz["uncertainty"][1]).all() and np.isfinite(npz["uncertainty"][0]).all()

    def no_nan(token: str) -> float:
        raise AssertionError(f"JSON holds the non-standard token {token}")

    doc = json.loads((save_result(tmp_path / "r.json", res, {})).read_text(), parse_constant=no_nan)
    assert doc["suspect"] == [False, True, False, False]
    assert doc["uncertainty"][1] == [None] * 17
    assert doc["uncertainty"][0] == pytest.approx(res.uncertainty[0].tolist(), abs=1e-5)


def test_pictures_get_the_widest_spread_on_suspect_frames():
    res = lift_result()
    shown = res.uncertainty_for_display()
    assert np.isfinite(shown).all()
    np.testing.assert_array_equal(shown[1], np.full(17, np.nanmax(res.uncertainty)))
    np.testing.assert_array_equal(shown[[0, 2, 3]], res.uncertainty[[0, 2, 3]])


def test_cli_lift_writes_the_flag_and_an_html_viewer(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(Lifter, "from_checkpoint", classmethod(lambda cls, *a, **k: frame_lifter()))
    src = tmp_path / "kp.npz"
    np.savez(src, keypoints=suspicious_xy().astype(np.float32), image_size=np.array([1000, 1000]))
    out, page = tmp_path / "kp_3d.json", tmp_path / "kp.html"
    assert main(["lift", str(src), "-o", str(out), "--html", str(page)]) == 0
    doc = json.loads(out.read_text())
    assert [i for i, s in enumerate(doc["suspect"]) if s] == [3, 4, 9, 20]
    assert doc["uncertainty"][9] == [None] * 17 and doc["uncertainty"][0] == [0.0] * 17
    assert page.stat().st_size > 0 and "NaN" not in page.read_text()
    err = capsys.readouterr().err
    assert "warning: lift: 3 of 30 frames have fewer than 8 visible joints" in err


# ------------------------------------------------------ 4. human-sized mocap
def bvh_text(scale: float) -> str:
    """A Daz-named T-pose body, 2 frames at 120 Hz; offsets in cm times ``scale``."""
    spec = [
        ("hip", None, (0, 95, 0)),
        ("lThigh", "hip", (10, -5, 0)), ("lShin", "lThigh", (0, -42, 0)),
        ("lFoot", "lShin", (0, -40, 0)),
        ("rThigh", "hip", (-10, -5, 0)), ("rShin", "rThigh", (0, -42, 0)),
        ("rFoot", "rShin", (0, -40, 0)),
        ("abdomen", "hip", (0, 12, 0)), ("chest", "abdomen", (0, 13, 0)),
        ("neck", "chest", (0, 25, 0)), ("head", "neck", (0, 10, 0)),
        ("lShldr", "chest", (18, 22, 0)), ("lForeArm", "lShldr", (28, 0, 0)),
        ("lHand", "lForeArm", (25, 0, 0)),
        ("rShldr", "chest", (-18, 22, 0)), ("rForeArm", "rShldr", (-28, 0, 0)),
        ("rHand", "rForeArm", (-25, 0, 0)),
    ]  # fmt: skip
    children: dict[str | None, list[str]] = {}
    for name, parent, _ in spec:
        children.setdefault(parent, []).append(name)
    offsets = {name: off for name, _, off in spec}

    def block(name: str, depth: int) -> str:
        pad, kw = "  " * depth, "ROOT" if depth == 0 else "JOINT"
        ch = "6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if depth == 0 else (
            "3 Zrotation Xrotation Yrotation")  # fmt: skip
        off = " ".join(f"{v * scale:g}" for v in offsets[name])
        s = f"{pad}{kw} {name}\n{pad}{{\n{pad}  OFFSET {off}\n{pad}  CHANNELS {ch}\n"
        for c in children.get(name, []):
            s += block(c, depth + 1)
        if name not in children:
            s += f"{pad}  End Site\n{pad}  {{\n{pad}    OFFSET 0 {-5 * scale:g} 0\n{pad}  }}\n"
        return s + f"{pad}}}\n"

    n_ch = 6 + 3 * (len(spec) - 1)
    rows = "\n".join(" ".join(["0"] * n_ch) for _ in range(2))
    return f"HIERARCHY\n{block('hip', 0)}MOTION\nFrames: 2\nFrame Time: 0.0083333\n{rows}\n"


def test_a_bvh_at_1_128_scale_is_refused_naming_file_and_scale(tmp_path):
    good = tmp_path / "good.bvh"
    good.write_text(bvh_text(1.0))
    m = load_motion(good, fps_out=None)
    height, leg, thigh = body_measures(m.positions)
    assert m.skeleton_kind == "daz" and height == pytest.approx(1.6)
    assert (leg, thigh) == (pytest.approx(0.82), pytest.approx(0.42))
    small = tmp_path / "small.bvh"
    small.write_text(bvh_text(1 / 128))
    with pytest.raises(ValueError) as e:
        load_motion(small, fps_out=None)
    text = str(e.value)
    assert text.startswith(f"{small}: read at 0.01 m per file unit (the unit of daz BVH files)")
    assert "with 0.00641 m legs and a 0.00328 m thigh (a person: 0.5-2.6 m tall, thigh " in text
    assert "scale found: about 1/125 of an adult's size (legs of 0.8 m)" in text  # 0.82 / 128


def test_an_asf_with_wrong_units_is_refused(tmp_path):
    for name in ("toy_body.asf", "toy_body.amc"):
        shutil.copy(MOCAP / name, tmp_path / name)
    assert load_motion(tmp_path / "toy_body.amc", fps_out=None).positions.shape == (2, 17, 3)
    asf = tmp_path / "toy_body.asf"
    asf.write_text(asf.read_text().replace("length 0.45", "length 45"))
    with pytest.raises(ValueError) as e:
        load_motion(tmp_path / "toy_body.amc", fps_out=None)
    assert str(e.value).startswith(
        f"{tmp_path / 'toy_body.amc'}: read at 0.000564444 m per file unit (the ASF's "
        "':units length 45'), the body is 0.0079 m tall with 0.00452 m legs"
    )


def test_an_explicit_unit_scale_only_warns(tmp_path):
    small = tmp_path / "small.bvh"
    small.write_text(bvh_text(1 / 128))
    with pytest.warns(UserWarning, match=r"0\.02 m per file unit \(unit_scale given\), the body "
                      r"is 0\.382 m tall with 0\.0128 m legs"):  # fmt: skip
        m = load_motion(small, fps_out=None, unit_scale=0.02)
    assert m.positions.shape == (2, 17, 3)  # loaded: the caller chose the scale
    good = tmp_path / "good.bvh"
    good.write_text(bvh_text(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = load_motion(good, fps_out=None, unit_scale=0.01)  # a right scale: silent
    assert body_measures(m.positions)[0] == pytest.approx(1.6)


# ------------------------------------------------------------ 5. split files
def data_root(root: Path, amc_frames: int = 0) -> Path:
    """Toy mocap in the shared-data layout: CMU01 and CMU03 (protocol subjects), CMU05
    and HDM_zz (in no split of the protocol). ``amc_frames`` > 0 writes real toy clips of
    that many frames (else empty files: enough for discovery)."""
    amc = ""
    if amc_frames:
        lines = (MOCAP / "toy_body.amc").read_text().splitlines()
        header, frame = lines[:3], lines[4:27]
        amc = "\n".join(header + [r for f in range(1, amc_frames + 1) for r in [str(f), *frame]])
    for folder, asf, clips in (
        ("cmu_asfamc/01", "01.asf", ["01_01.amc", "01_02.amc"]),
        ("cmu_asfamc/03", "03.asf", ["03_01.amc"]),
        ("cmu_asfamc/05", "05.asf", ["05_01.amc", "05_02.amc"]),
        ("hdm05/zz", "HDM_zz.asf", ["HDM_zz_walk_001_120.amc"]),
    ):
        (root / folder).mkdir(parents=True)
        (root / folder / asf).write_text((MOCAP / "toy_body.asf").read_text() if amc else "")
        for c in clips:
            (root / folder / c).write_text(amc + "\n" if amc else "")
    return root


def test_the_protocol_reports_folders_in_no_split(tmp_path):
    clips, skipped = plan_clips(data_root(tmp_path / "d"))
    assert [(c.subject, c.clip_id, c.split) for c in clips] == [
        ("CMU01", "01_01", "train"), ("CMU01", "01_02", "train"), ("CMU03", "03_01", "test")
    ]  # fmt: skip
    assert skipped == [
        {"subject": "CMU05", "folder": "cmu_asfamc/05", "clips": 2},
        {"subject": "HDM_zz", "folder": "hdm05/zz", "clips": 1},
    ]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_split_file_declares_a_new_test_set(tmp_path, suffix):
    root = data_root(tmp_path / "d")
    doc = {"train": ["cmu_asfamc/01", "HDM_zz"], "test": ["CMU05/05_02"]}
    path = tmp_path / f"splits{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(doc))
    else:
        path.write_text("train: [cmu_asfamc/01, HDM_zz]\ntest:\n  - CMU05/05_02\n")
    assert read_split_file(path) == {**doc, "validation": []}
    clips, skipped = plan_clips(root, path)
    assert [(c.subject, c.clip_id, c.split, c.extrinsics) for c in clips] == [
        ("CMU01", "01_01", "train", "S1"), ("CMU01", "01_02", "train", "S5"),
        ("CMU05", "05_02", "test", "S11"), ("HDM_zz", "HDM_zz_walk_001", "train", "S6"),
    ]  # fmt: skip
    assert skipped == [
        {"subject": "CMU03", "folder": "cmu_asfamc/03", "clips": 1},
        {"subject": "CMU05", "folder": "cmu_asfamc/05", "clips": 1},
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("test: [CMU99, cmu_asfamc/07]\n", "unknown names ['CMU99', 'cmu_asfamc/07']: no such "
         "subject, folder or clip id under {root}; subjects found: ['CMU01', 'CMU03', 'CMU05', "
         "'HDM_zz']; folders: ['cmu_asfamc/01', 'cmu_asfamc/03', 'cmu_asfamc/05', 'hdm05/zz']"),
        ("tests: [CMU01]\n", "unknown splits ['tests']; expected some of ['train', "
         "'validation', 'test']"),
        ("test: [03_01]\n", "test[0] = 193 is not a name; write subjects, folders and clip "
         "ids as strings (in YAML quote them, e.g. '03_01')"),
        ("test: CMU03\n", "'test' must be a list of names, got 'CMU03'"),
        ("train: [CMU01]\ntest: ['01_02']\n", "CMU01/01_02 is in both 'train' and 'test' "
         "('01_02'); each clip goes in one split"),
        ("train: ['01_01']\ntest: ['01_02']\n", "subjects with clips in several splits: "
         "{'CMU01': ['test', 'train']}"),
        ("[CMU01]\n", "expected a mapping {train: [...], validation: [...], test: [...]}"),
        ("test: []\n", "every split is empty"),
        ("test: [CMU01\n", "not valid yaml ("),
    ],
)  # fmt: skip
def test_bad_split_files_are_refused(tmp_path, text, error):
    root = data_root(tmp_path / "d")
    path = tmp_path / "splits.yaml"
    path.write_text(text)
    with pytest.raises(ValueError) as e:
        plan_clips(root, path)
    assert str(e.value).startswith(f"split file {path}: ")
    assert error.replace("{root}", str(root)) in str(e.value)


def test_cli_build_refuses_a_bad_split_file_before_rendering(tmp_path, capsys):
    root = data_root(tmp_path / "d")
    (tmp_path / "s.yaml").write_text("test: [CMU99]\n")
    out = tmp_path / "bench"
    assert main(["data", "build", "--data-root", str(root), "--out", str(out),
                 "--splits", str(tmp_path / "s.yaml")]) == 2  # fmt: skip
    assert "unknown names ['CMU99']" in error_line(capsys)
    assert not out.exists() or not any(out.iterdir())


def test_cli_build_with_a_split_file_end_to_end(tmp_path, capsys, shared_data):
    root = data_root(tmp_path / "d", amc_frames=150)
    noise = shared_data / "detector_noise" / "stacked_hourglass_h36m.json"
    if not noise.exists():
        pytest.skip(f"{noise} missing")
    (root / "detector_noise").mkdir()
    shutil.copy(noise, root / "detector_noise" / noise.name)
    (tmp_path / "s.yaml").write_text(
        "train: [CMU01]\nvalidation: [HDM_zz]\ntest: [cmu_asfamc/05]\n"
    )
    out = tmp_path / "bench"
    argv = ["data", "build", "--data-root", str(root), "--out", str(out), "--workers", "1",
            "--splits", str(tmp_path / "s.yaml")]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert f"splits from {tmp_path / 's.yaml'}: train CMU01; validation HDM_zz; test CMU05" in text
    assert "skipped (found, in no split): 1 clips: cmu_asfamc/03 (CMU03, 1 clips)" in text
    bench = json.loads((out / "benchmark.json").read_text())
    assert bench["splits"] == {"train": ["CMU01"], "validation": ["HDM_zz"], "test": ["CMU05"]}
    assert bench["skipped"] == [{"subject": "CMU03", "folder": "cmu_asfamc/03", "clips": 1}]
    assert bench["clips_per_split"] == {"train": 2, "validation": 1, "test": 2}
    seqs = load_sequences(DataSource("open", out, "gt"), "test")
    assert sorted({s.name.rsplit("/", 1)[0] for s in seqs}) == ["CMU05/05_01", "CMU05/05_02"]
    # A clip at the wrong scale stops the build with the file named, nothing written.
    bad = root / "cmu_bvh_daz" / "15" / "15_01.bvh"
    bad.parent.mkdir(parents=True)
    bad.write_text(bvh_text(1 / 128))
    with pytest.raises(ValueError, match=re.escape(f"{bad}: read at 0.01 m per file unit")):
        build_benchmark(root, tmp_path / "b2", workers=1, progress=False,
                        splits={"train": ["CMU01"], "test": ["CMU15"]})  # fmt: skip
    assert not (tmp_path / "b2" / "benchmark.json").exists()


# ------------------------------------------- 6. per-subject evaluation, subsets
def test_evaluate_batch_per_subject_matches_separate_accumulators():
    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(6, 9, 17, 3, generator=g), torch.randn(6, 9, 17, 3, generator=g)
    mask = torch.ones(6, 9, dtype=torch.bool)
    mask[2, 5:] = False
    actions = ["walk", "wave", "walk", "sit", "wave", "walk"]
    subjects = ["S9", "S9", "S11", "S11", "S11", "S9"]
    acc, by_subject = MetricAccumulator(True), MetricAccumulator(True)
    evaluate_batch(pred, target, mask, actions, acc, by=((by_subject, subjects),))
    per = by_subject.summary()
    for s in ("S9", "S11"):
        rows = [i for i, x in enumerate(subjects) if x == s]
        alone = MetricAccumulator(True)
        evaluate_batch(pred[rows], target[rows], mask[rows], [s] * len(rows), alone)
        for name, entry in alone.summary().items():
            assert per[name]["per_action"][s] == pytest.approx(entry["frame_weighted"], rel=1e-12)
    for name in acc.summary():  # the per-action accumulator is untouched by `by`
        assert acc.summary()[name]["frame_weighted"] == pytest.approx(
            per[name]["frame_weighted"], rel=1e-12
        )
    table = to_table({"mpjpe": {**acc.summary()["mpjpe"], "per_subject": per["mpjpe"]["per_action"],
                                "subject_averaged": 1.0}}, by="subject")  # fmt: skip
    assert table.splitlines()[0].split() == ["subject", "mpjpe"]
    assert [ln.split()[0] for ln in table.splitlines()[2:4]] == ["S11", "S9"]
    with pytest.raises(ValueError, match="by: expected 'action' or 'subject'"):
        to_table(acc.summary(), by="camera")


EVAL = ["evaluate", "default", "--data-kind", "h36m", "--detector", "gt", "--quiet",
        "--cameras", "54138969", "-H", "1"]  # fmt: skip


def test_evaluate_reports_per_subject(h36m_root, tmp_path, capsys):
    out = tmp_path / "all.json"
    assert main([*EVAL, "--data-root", str(h36m_root), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    s = json.loads(out.read_text())
    assert s["data"]["subjects"] == ["S11", "S9"] and s["frames"] == 2 * 2 * 30
    for name, m in s["metrics_mm"].items():
        assert sorted(m["per_subject"]) == ["S11", "S9"], name
        assert m["subject_averaged"] == pytest.approx(np.mean(list(m["per_subject"].values())))
    m = s["metrics_mm"]["mpjpe"]  # equal frames per subject: the pooled mean is their mean
    assert m["frame_weighted"] == pytest.approx(m["subject_averaged"], rel=1e-9)
    assert sorted(m["per_action"]) == ["Directions", "Walking"]
    tables = printed.split("\n\n")
    subject_table = next(t for t in tables if t.startswith("subject"))
    rows = {r[0]: r[1] for r in (ln.split() for ln in subject_table.splitlines()[2:]) if len(r) > 1}
    assert rows["S9"] == f"{m['per_subject']['S9']:.1f}"
    assert rows["S11"] == f"{m['per_subject']['S11']:.1f}"
    assert rows["subject_averaged"] == f"{m['subject_averaged']:.1f}"
    assert format_report(s) == printed.rsplit(f"\nwrote {out}", 1)[0].rstrip("\n")


def test_evaluate_a_subset_of_subjects(h36m_root, tmp_path, capsys):
    out = tmp_path / "s11.json"
    assert main([*EVAL, "--data-root", str(h36m_root), "--json", str(out),
                 "--subjects", "S11"]) == 0  # fmt: skip
    s = json.loads(out.read_text())
    assert s["frames"] == 2 * 30 and s["data"]["subjects"] == ["S11"]
    assert list(s["metrics_mm"]["mpjpe"]["per_subject"]) == ["S11"]
    seqs = load_sequences(DataSource("h36m", h36m_root, "gt"), "test", subjects=["S9"])
    assert {q.subject for q in seqs} == {"S9"} and len(seqs) == 2 * 4
    opts = EvalOptions(data_kind="h36m", data_root=str(h36m_root), detector="gt",
                       cameras=["54138969"], hypotheses=1)  # fmt: skip
    assert "subjects" not in EvalOptions.__dataclass_fields__  # experiments' cache keys
    s9 = evaluate("default", opts, progress=False, subjects=["S9"])
    assert s9["frames"] == 2 * 30 and list(s9["metrics_mm"]["mpjpe"]["per_subject"]) == ["S9"]


@pytest.mark.parametrize(
    ("subjects", "text"),
    [
        (["S7"], "unknown subjects ['S7'] for split 'test' (--subjects); available: ['S9', 'S11']"),
        (["S9", "s11"], "unknown subjects ['s11'] for split 'test'"),
    ],
)
def test_evaluate_an_unknown_subject_names_the_available_ones(h36m_root, capsys, subjects, text):
    assert main([*EVAL, "--data-root", str(h36m_root), "--subjects", *subjects]) == 2
    assert f"{h36m_root}: {text}" in error_line(capsys)


def test_subject_subsets_on_the_open_benchmark(tiny_benchmark):
    src = DataSource("open", tiny_benchmark, "det")
    seqs = load_sequences(src, "train", subjects=["TR2"])
    assert {q.subject for q in seqs} == {"TR2"} and len(seqs) == 2 * 4
    with pytest.raises(ValueError, match=r"unknown subjects \['TE1'\] for split 'train'.*"
                       r"available: \['TR1', 'TR2'\]"):  # fmt: skip
        load_sequences(src, "train", subjects=["TE1"])
    with pytest.raises(ValueError, match=r"none given; split 'train' has \['TR1', 'TR2'\]"):
        load_sequences(src, "train", subjects=[])
    assert len(load_sequences(src, "train")) == 2 * 2 * 4  # None: every subject
