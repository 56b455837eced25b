"""Video input: frames, a fake detector, saved detections, ``diffhpe lift clip.mp4``.

A tiny synthetic video (a white square moving on black, two empty frames) is written
with imageio-ffmpeg; the fake detector puts a 33-landmark stick figure on the square.
MediaPipe itself runs only in the slow test on a real clip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import diffhpe.video as video
from diffhpe.cli import main
from diffhpe.formats import read_keypoints
from diffhpe.formats.mapping import MEDIAPIPE_33
from diffhpe.skeleton import JOINT_NAMES
from diffhpe.video import (
    INSTALL_HINT,
    VideoKeypoints,
    detect_video,
    load_detections,
    probe_video,
    read_frames,
    save_detections,
)

W, H, FPS, T = 96, 64, 10, 12
EMPTY = (3, 7)  # frames with nobody in them
SQUARE = 10  # side of the white square, pixels
SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))


def square_center(t: int) -> tuple[float, float]:
    """Where the white square of frame t is centred (x, y) pixels."""
    return 20.0 + 4.0 * t, 30.0


def _offsets() -> np.ndarray:
    """(33, 2) a standing stick figure around its hips, pixels, MediaPipe order."""
    side = {"left": 1.0, "right": -1.0}
    place = {"nose": (0, -24), "eye_inner": (1, -25), "eye": (2, -25), "eye_outer": (3, -25),
             "ear": (4, -24), "mouth": (1, -22), "shoulder": (6, -18), "elbow": (8, -10),
             "wrist": (9, -2), "pinky": (9, 0), "index": (9, 1), "thumb": (8, 0), "hip": (4, 0),
             "knee": (4, 11), "ankle": (4, 22), "heel": (4, 23), "foot_index": (6, 24)}  # fmt: skip
    out = np.zeros((len(MEDIAPIPE_33), 2))
    for i, name in enumerate(MEDIAPIPE_33):
        s, _, part = name.partition("_")
        if name == "nose":
            out[i] = place["nose"]
        elif s == "mouth":  # mouth_left, mouth_right
            dx, dy = place["mouth"]
            out[i] = (side[part] * dx, dy)
        else:
            dx, dy = place[part]
            out[i] = (side[s] * dx, dy)
    return out


OFFSETS = _offsets()


def fake_detector(frame: np.ndarray) -> np.ndarray | None:
    """The stick figure at the centroid of the bright pixels, or None in a dark frame."""
    bright = frame.mean(-1) > 128
    if bright.sum() < 10:
        return None
    ys, xs = np.nonzero(bright)
    out = np.empty((33, 3))
    out[:, :2] = np.array([xs.mean(), ys.mean()]) + OFFSETS
    out[:, 2] = 0.9
    out[MEDIAPIPE_33.index("left_wrist"), 2] = 0.1  # below the 0.3 threshold: missing
    return out


class FakePose:
    """Stands in for MediaPipePose in the CLI; counts how many were built."""

    built = 0

    def __init__(self) -> None:
        FakePose.built += 1

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        return fake_detector(frame)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame 96x64 mp4 at 10 fps; frames 3 and 7 are black."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    writer = ffmpeg.write_frames(str(path), (W, H), fps=FPS, codec="libx264",
                                 pix_fmt_in="rgb24", macro_block_size=1)  # fmt: skip
    writer.send(None)
    for t in range(T):
        frame = np.zeros((H, W, 3), np.uint8)
        if t not in EMPTY:
            x, y = square_center(t)
            h = SQUARE // 2
            frame[int(y) - h : int(y) + h, int(x) - h : int(x) + h] = 255
        writer.send(frame)
    writer.close()
    return path


# ------------------------------------------------------------------------- frames
def test_probe_and_read_frames(clip: Path):
    info = probe_video(clip)
    assert (info.width, info.height, info.fps) == (W, H, FPS)
    frames = list(read_frames(clip))
    assert len(frames) == T
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    for t, f in enumerate(frames):
        bright = f.mean(-1) > 128
        if t in EMPTY:
            assert not bright.any()
        else:  # the square is where it was drawn: frames come in order, uncropped
            ys, xs = np.nonzero(bright)
            assert abs(xs.mean() - (square_center(t)[0] - 0.5)) < 1
            assert abs(ys.mean() - (square_center(t)[1] - 0.5)) < 1


def test_missing_or_broken_video(tmp_path: Path):
    pytest.importorskip("imageio_ffmpeg")
    with pytest.raises(FileNotFoundError, match="no such video file"):
        probe_video(tmp_path / "none.mp4")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(ValueError, match="bad.mp4: ffmpeg cannot read"):
        probe_video(bad)


# ---------------------------------------------------------------------- detection
def test_detect_video_with_a_fake_detector(clip: Path):
    det = detect_video(clip, detector=fake_detector, progress=False)
    assert det.landmarks.shape == (T, 33, 2) and det.scores.shape == (T, 33)
    assert det.image_size == (W, H) and det.fps == FPS and det.source == str(clip)
    assert det.detected.tolist() == [t not in EMPTY for t in range(T)]
    assert np.isnan(det.landmarks[list(EMPTY)]).all() and (det.scores[list(EMPTY)] == 0).all()
    for t in (0, 5, 11):
        cx, cy = square_center(t)
        np.testing.assert_allclose(det.landmarks[t], OFFSETS + [cx - 0.5, cy - 0.5], atol=1.0)


def test_mapping_to_human36m(clip: Path):
    k = detect_video(clip, detector=fake_detector, progress=False).to_keypoints2d(0.3)
    assert k.xy.shape == (T, 17, 2) and k.image_size == (W, H) and k.fps == FPS
    assert "left_hip" in k.mapping["Pelvis"]
    j = {n: i for i, n in enumerate(JOINT_NAMES)}
    cx, cy = square_center(0)
    np.testing.assert_allclose(k.xy[0, j["Pelvis"]], [cx - 0.5, cy - 0.5], atol=1.0)
    np.testing.assert_allclose(k.xy[0, j["Thorax"]] - k.xy[0, j["Pelvis"]], [0, -18], atol=1e-3)
    assert np.isnan(k.xy[:, j["LWrist"]]).all()  # visibility 0.1 < 0.3
    assert np.isfinite(k.xy[0, j["RWrist"]]).all() and k.score[0, j["RWrist"]] == pytest.approx(0.9)
    assert np.isnan(k.xy[list(EMPTY)]).all()
    assert np.isfinite(detect_video(clip, fake_detector, False).to_keypoints2d(0.05).xy[0]).all()


def test_detector_output_is_checked(clip: Path):
    with pytest.raises(ValueError, match=r"frame 0: the detector returned shape \(17, 3\)"):
        detect_video(clip, detector=lambda f: np.zeros((17, 3)), progress=False)


def test_video_keypoints_validation():
    with pytest.raises(ValueError, match="landmarks: expected shape"):
        VideoKeypoints(np.zeros((2, 17, 2)), np.zeros((2, 17)), (10, 10), 25.0)
    with pytest.raises(ValueError, match="image_size"):
        VideoKeypoints(np.zeros((2, 33, 2)), np.zeros((2, 33)), (0, 10), 25.0)
    with pytest.raises(ValueError, match="fps"):
        VideoKeypoints(np.zeros((2, 33, 2)), np.zeros((2, 33)), (10, 10), 0.0)


def test_saved_detections_round_trip(clip: Path, tmp_path: Path):
    det = detect_video(clip, detector=fake_detector, progress=False)
    back = load_detections(save_detections(tmp_path / "d.npz", det))
    np.testing.assert_array_equal(back.landmarks, det.landmarks)  # NaN where nobody
    np.testing.assert_array_equal(back.scores, det.scores)
    assert (back.image_size, back.fps, back.source) == (det.image_size, det.fps, det.source)
    # The JSON is MediaPipe's layout: the generic reader gives the same Human3.6M joints.
    js = save_detections(tmp_path / "d.json", det)
    doc = json.loads(js.read_text())
    assert doc["width"] == W and doc["frames"][3] is None and len(doc["frames"][0]) == 33
    (person,) = read_keypoints(js)
    ours = det.to_keypoints2d(0.3)
    np.testing.assert_allclose(person.xy, ours.xy, atol=1e-3)
    assert person.image_size == (W, H) and person.fps == FPS
    with pytest.raises(ValueError, match="saved as .json or .npz"):
        save_detections(tmp_path / "d.csv", det)


def test_load_detections_names_missing_fields(tmp_path: Path):
    np.savez(tmp_path / "x.npz", landmarks=np.zeros((2, 33, 2)))
    with pytest.raises(ValueError, match=r"x.npz: missing field\(s\) \['scores'"):
        load_detections(tmp_path / "x.npz")


# ------------------------------------------------------------------- missing extra
def test_clear_error_without_mediapipe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # `import mediapipe` fails
    with pytest.raises(ImportError, match=r'pip install "diffhpe\[video\]"'):
        video.MediaPipePose()
    assert INSTALL_HINT == 'video input needs the video extra: pip install "diffhpe[video]"'


def test_cli_reports_missing_imageio_ffmpeg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    (tmp_path / "clip.webm").write_bytes(b"\x1a\x45\xdf\xa3")
    assert main(["lift", str(tmp_path / "clip.webm")]) == 2
    assert 'pip install "diffhpe[video]" (imageio-ffmpeg is missing)' in capsys.readouterr().err


def test_cli_reports_missing_mediapipe(
    clip: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    assert main(["lift", str(clip)]) == 2
    assert 'video input needs the video extra: pip install "diffhpe[video]"' in (
        capsys.readouterr().err
    )


# --------------------------------------------------------------------------- CLI
def test_lift_video_end_to_end(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(video, "MediaPipePose", FakePose)
    FakePose.built = 0
    out, saved = tmp_path / "clip_3d.npz", tmp_path / "clip_2d.npz"
    gif, page = tmp_path / "clip.gif", tmp_path / "clip.html"
    rc = main(["lift", str(clip), "-o", str(out), "-H", "1", "--save-2d", str(saved),
               "--render", str(gif), "--html", str(page)])  # fmt: skip
    text = capsys.readouterr().out
    assert rc == 0 and FakePose.built == 1
    assert f"{W}x{H}, {FPS} fps; a person in 10 of 12 frames (83 %)" in text
    res = np.load(out, allow_pickle=False)
    assert res["pose3d"].shape == (T, 17, 3) and np.isfinite(res["pose3d"]).all()
    assert not res["visible"][list(EMPTY)].any() and res["visible"][0].sum() == 16  # no LWrist
    meta = json.loads(str(res["meta"]))
    assert meta["image_size"] == [W, H] and meta["fps"] == FPS
    assert meta["input_mapping"]["Pelvis"] == "mean(left_hip, right_hip)"

    # The left panel shows the video (black with a white square), not a blank canvas.
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames == T
        im.seek(5)
        img = np.asarray(im.convert("RGB"))
    assert img.shape == (360, 2 * 540, 3)
    left, right = img[:, :540], img[:, 540:]
    assert (left.mean(-1) < 40).mean() > 0.5 and (right.mean(-1) > 200).mean() > 0.5
    assert "null" in page.read_text()  # missing 2D joints stay missing in the viewer

    # Saved detections lift again without running the detector.
    again = tmp_path / "again.npz"
    assert main(["lift", str(saved), "-o", str(again), "-H", "1"]) == 0
    assert FakePose.built == 1
    np.testing.assert_allclose(np.load(again)["pose3d"], res["pose3d"], atol=1e-5)


def test_lift_video_with_nobody(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    class Nobody(FakePose):
        def __call__(self, frame: np.ndarray) -> None:
            return None

    monkeypatch.setattr(video, "MediaPipePose", Nobody)
    assert main(["lift", str(clip), "-o", str(tmp_path / "o.npz")]) == 2
    assert "no person detected in any frame" in capsys.readouterr().err


def test_save_2d_needs_a_video(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["lift", str(SAMPLE), "--save-2d", str(tmp_path / "x.npz")]) == 2
    assert "--save-2d: only for a video input" in capsys.readouterr().err


# ------------------------------------------------------------- missing 2D in viz
def test_render_and_viewer_accept_missing_2d_joints(tmp_path: Path):
    pytest.importorskip("matplotlib")
    from diffhpe.viz import render_frames
    from diffhpe.viz.html import viewer_data

    rng = np.random.default_rng(0)
    p3 = rng.normal(0, 0.3, (4, 17, 3))
    p2 = rng.uniform(0, 100, (4, 17, 2))
    p2[1] = np.nan  # nobody in frame 1
    p2[2, 5] = np.nan  # one joint lost in frame 2
    pics = list(render_frames(p3, pose2d=p2, image_size=(100, 100), size=(200, 100)))
    assert len(pics) == 4 and all(p.shape == (100, 200, 3) for p in pics)
    data = viewer_data(p3, pose2d=p2)
    assert data["pose2d"][1] == [None] * 17 and data["pose2d"][2][5] is None
    assert data["pose2d"][2][4] is not None
    json.dumps(data, allow_nan=False)  # valid JSON: no NaN literal
    with pytest.raises(ValueError, match="pose2d: contains NaN or infinite"):
        viewer_data(p3, pose2d=np.full((4, 17, 2), np.inf))


# ---------------------------------------------------------------- real MediaPipe
REAL_CLIP = Path(
    os.environ.get("DIFFHPE_TEST_VIDEO", "/usr/share/doc/opencv-doc/examples/data/vtest.avi")
)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_CLIP.is_file(), reason=f"no real clip at {REAL_CLIP}")
def test_real_mediapipe_on_a_real_clip(tmp_path: Path):
    """OpenCV's vtest.avi (Debian opencv-doc), cut to one walker as in docs/VIDEO.md."""
    pytest.importorskip("mediapipe")
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    cut = tmp_path / "walker.mp4"
    subprocess.run(
        [ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(REAL_CLIP), "-vf",
         "trim=start_frame=600:end_frame=720,setpts=PTS-STARTPTS,crop=480:360:0:216",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", str(cut)],
        check=True,
    )  # fmt: skip
    det = detect_video(cut, progress=False)
    assert det.num_frames == 120 and det.image_size == (480, 360) and det.fps == 10
    assert det.detected.mean() > 0.9
    lm = det.landmarks[det.detected]
    names = {n: i for i, n in enumerate(MEDIAPIPE_33)}
    hips = lm[:, [names["left_hip"], names["right_hip"]]].mean(1)
    shoulders = lm[:, [names["left_shoulder"], names["right_shoulder"]]].mean(1)
    ankles = lm[:, [names["left_ankle"], names["right_ankle"]]].mean(1)
    # An upright walker: shoulders above hips above ankles (image y grows downwards).
    assert (shoulders[:, 1] < hips[:, 1]).mean() > 0.9 and (hips[:, 1] < ankles[:, 1]).mean() > 0.9
    height = ankles[:, 1] - shoulders[:, 1]
    assert 40 < np.median(height) < 200  # she is about 100 px tall in this crop
