"""Pictures of 3D results: rendered GIF/PNG/MP4 and the offline HTML viewer."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from diffhpe.skeleton import H36M, LEFT_JOINTS, RIGHT_JOINTS
from diffhpe.viz.html import viewer_data, write_html
from diffhpe.viz.render import (
    LEFT_COLOR,
    RIGHT_COLOR,
    camera_to_display,
    scene_box,
    view_basis,
)

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from diffhpe.viz.render import PoseRenderer, render, render_frames, save_video  # noqa: E402

# Camera frame (x right, y down, z forward), root-relative metres: a person standing
# upright facing the camera, so the head has negative y and the feet positive y.
REST = np.array(
    [
        [0.00, 0.00, 0.0], [-0.13, 0.02, 0.0], [-0.13, 0.45, 0.02], [-0.13, 0.87, 0.0],
        [0.13, 0.02, 0.0], [0.13, 0.45, 0.02], [0.13, 0.87, 0.0], [0.00, -0.23, 0.0],
        [0.00, -0.50, 0.0], [0.00, -0.60, -0.05], [0.00, -0.75, 0.0], [0.17, -0.48, 0.0],
        [0.20, -0.20, 0.0], [0.22, 0.05, -0.02], [-0.17, -0.48, 0.0], [-0.20, -0.20, 0.0],
        [-0.22, 0.05, -0.02],
    ]
)  # fmt: skip


def walking(frames: int) -> np.ndarray:
    """(T, 17, 3) camera metres: arms and legs swinging in depth (z), in antiphase."""
    x = np.repeat(REST[None], frames, axis=0)
    swing = 0.25 * np.sin(2 * np.pi * np.arange(frames) / 12.0)
    for j, s in (
        (2, 0.5),
        (3, 1.0),
        (5, -0.5),
        (6, -1.0),
        (12, 0.5),
        (13, 1.0),
        (15, -0.5),
        (16, -1.0),
    ):
        x[:, j, 2] += s * swing
    return x


def project(
    pose3d: np.ndarray, f: float = 500.0, cx: float = 320.0, cy: float = 240.0
) -> np.ndarray:
    """(T, 17, 2) pixels of the person 4 m in front of a pinhole camera."""
    z = pose3d[..., 2] + 4.0
    return np.stack([f * pose3d[..., 0] / z + cx, f * pose3d[..., 1] / z + cy], axis=-1)


def rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])


def color_pixels(img: np.ndarray, hex_color: str, tol: float = 40.0) -> int:
    """Number of pixels within ``tol`` (RGB distance) of a colour."""
    return int((np.linalg.norm(img.astype(float) - rgb(hex_color), axis=-1) < tol).sum())


# --------------------------------------------------------------------- geometry
def test_display_frame_is_upright_and_right_handed():
    # Camera y points down, so a point above the pelvis (y < 0) must get display Z > 0.
    np.testing.assert_array_equal(camera_to_display(np.array([1.0, -2.0, 3.0])), [1.0, 3.0, 2.0])
    b = view_basis(15.0, -65.0)
    np.testing.assert_allclose(b @ b.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(b) == pytest.approx(1.0)
    # azim -90, elev 0 is the recording camera's view: right = x, up = Z, viewer at -Y.
    np.testing.assert_allclose(
        view_basis(0.0, -90.0), [[1, 0, 0], [0, 0, 1], [0, -1, 0]], atol=1e-12
    )


def test_scene_box_holds_the_whole_sequence():
    seq = walking(24)
    seq[10] += [0.0, 0.0, 1.5]  # one frame far away: the box must grow for all frames
    unc = np.full((24, 17), 0.05)
    box = scene_box(seq, unc)
    pts = camera_to_display(seq).reshape(-1, 3)
    lim = box.limits
    assert (pts - 0.05 >= lim[:, 0]).all() and (pts + 0.05 <= lim[:, 1]).all()
    np.testing.assert_allclose(lim[:, 1] - lim[:, 0], 2 * box.half)  # a cube
    assert box.floor == pytest.approx(-0.87)  # the feet: display Z = -camera y
    assert scene_box(seq[:5]).half < box.half


# ----------------------------------------------------------------------- render
def test_view_is_steady_across_frames():
    seq = walking(6)
    seq[2] = seq[0]  # same pose at frames 0 and 2, something else in between
    seq[1] *= 1.3
    r = PoseRenderer(seq, size=(320, 180), show_counter=False)  # the counter text differs
    limits = r.limits2d
    imgs = [r.draw(t) for t in range(3)]
    assert r.limits2d == limits
    assert r.ax3d.get_xlim() == pytest.approx(limits[:2])
    assert r.ax3d.get_ylim() == pytest.approx(limits[2:])
    # Nothing jumps: the same pose gives the same picture whatever came between.
    np.testing.assert_array_equal(imgs[0], imgs[2])
    assert (imgs[0] != imgs[1]).any()
    r.close()


def test_skeleton_is_drawn_upright_with_left_right_colours():
    seq = walking(1)
    img = next(render_frames(seq, size=(320, 320), elev=0.0, azim=-90.0))
    # Seen from the recording camera the person's left (x > 0) is on the picture's right.
    left_cols = np.nonzero((np.linalg.norm(img - rgb(LEFT_COLOR), axis=-1) < 40).any(0))[0]
    right_cols = np.nonzero((np.linalg.norm(img - rgb(RIGHT_COLOR), axis=-1) < 40).any(0))[0]
    assert left_cols.size > 0 and right_cols.size > 0
    assert np.median(left_cols) > np.median(right_cols)
    # Upright: the dark head/spine pixels sit above the coloured feet.
    dark_rows = np.nonzero((img.max(-1) < 90).any(1))[0]
    leg_rows = np.nonzero((np.linalg.norm(img - rgb(LEFT_COLOR), axis=-1) < 40).any(1))[0]
    assert dark_rows.min() < leg_rows.max() - 100


def test_uncertainty_discs_grow_with_std():
    seq = walking(1)
    r = PoseRenderer(seq, uncertainty=np.full((1, 17), 0.08), size=(320, 320))
    covered = {}
    for std in (0.08, 0.02, 0.0):  # one renderer, one scene box: only the discs change
        r.uncertainty[:] = std
        covered[std] = r.draw(0)
    small = int((covered[0.02] != covered[0.0]).any(-1).sum())
    large = int((covered[0.08] != covered[0.0]).any(-1).sum())
    assert small > 50
    assert large > 3 * small  # area grows with the radius (partly hidden under the bones)


def test_gif_frames_size_and_colours(tmp_path: Path):
    seq = walking(8)
    unc = np.full((8, 17), 0.03)
    out = render(
        tmp_path / "walk.gif", seq, pose2d=project(seq), image_size=(640, 480),
        uncertainty=unc, gt3d=seq + 0.02, size=(320, 180), fps=10,
    )  # fmt: skip
    with Image.open(out) as im:
        assert im.size == (320, 180)
        assert im.n_frames == 8
        assert im.info["duration"] == 100
        im.seek(3)
        frame = np.asarray(im.convert("RGB"))
    assert frame.std() > 10  # not blank
    for half in (frame[:, :160], frame[:, 160:]):  # 2D panel, 3D panel
        assert color_pixels(half, LEFT_COLOR) > 20
        assert color_pixels(half, RIGHT_COLOR) > 20


def test_png_still_is_the_middle_frame(tmp_path: Path):
    seq = walking(9)
    out = render(tmp_path / "still.png", seq, size=(200, 160))
    with Image.open(out) as im:
        still = np.asarray(im.convert("RGB"))
    frames = list(render_frames(seq, size=(200, 160)))
    np.testing.assert_array_equal(still, frames[4])
    # save_video on an iterator keeps only the middle frame as well.
    save_video(tmp_path / "again.png", iter(frames), fps=25)
    with Image.open(tmp_path / "again.png") as im:
        np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[4])


def test_video_background_is_drawn_under_the_2d_skeleton():
    seq = walking(3)
    video = np.zeros((3, 48, 64, 3), np.uint8)
    video[..., 1] = 200  # a green video
    frames = list(
        render_frames(
            seq, pose2d=project(seq, 40, 32, 24), video_frames=iter(video), size=(320, 160)
        )
    )
    assert len(frames) == 3
    green = (frames[1][..., 1] > 150) & (frames[1][..., 0] < 60) & (frames[1][..., 2] < 60)
    assert green[:, :160].sum() > 2000 and green[:, 160:].sum() == 0


def test_mp4(tmp_path: Path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    seq = walking(5)
    out = render(tmp_path / "walk.mp4", seq, size=(160, 96), fps=25)
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == (160, 96) and meta["fps"] == pytest.approx(25)
    frames = [np.frombuffer(f, np.uint8).reshape(96, 160, 3) for f in reader]
    assert len(frames) == 5 and frames[2].std() > 10


def test_torch_input_matches_numpy():
    torch = pytest.importorskip("torch")
    seq = walking(2)
    a = next(render_frames(seq, size=(160, 96)))
    b = next(
        render_frames(torch.tensor(seq, dtype=torch.float64, requires_grad=True), size=(160, 96))
    )
    np.testing.assert_array_equal(a, b)


def test_bad_inputs_name_the_argument(tmp_path: Path):
    seq = walking(4)
    with pytest.raises(ValueError, match="pose3d: expected shape"):
        next(render_frames(seq[:, :16]))
    with pytest.raises(ValueError, match="uncertainty"):
        next(render_frames(seq, uncertainty=np.zeros((3, 17))))
    with pytest.raises(ValueError, match="suffix"):
        save_video(tmp_path / "x.avi", [np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match="frames"):
        next(render_frames(seq, frames=[7]))


# ------------------------------------------------------------------------- html
def _script_data(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="diffhpe-data">(.*?)</script>', text, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_html_is_self_contained_and_embeds_every_frame(tmp_path: Path):
    seq = walking(30)
    unc = np.full((30, 17), 0.0234)
    out = write_html(
        tmp_path / "v.html", seq, pose2d=project(seq), uncertainty=unc, gt3d=seq,
        title="walk </script><b>",
    )  # fmt: skip
    text = out.read_text(encoding="utf-8")
    for banned in ("http://", "https://", "<script src", "<link", "@import", "url("):
        assert banned not in text
    assert "<b>" not in text  # the title is escaped
    data = _script_data(text)
    assert data["numFrames"] == 30 and len(data["pose3d"]) == 30 and len(data["gt3d"]) == 30
    assert np.array(data["pose3d"]).shape == (30, 17, 3)
    np.testing.assert_array_equal(data["pose3d"], np.rint(seq * 1000))  # integer millimetres
    assert data["uncertainty"][0][0] == 23
    assert data["pose2d"][0][0] == pytest.approx(project(seq)[0, 0], abs=0.05)
    assert [data["side"][j] for j in LEFT_JOINTS] == [1] * 6
    assert [data["side"][j] for j in RIGHT_JOINTS] == [2] * 6
    assert data["bones"] == H36M.bones.tolist()


def test_html_rejects_bad_input(tmp_path: Path):
    with pytest.raises(ValueError, match="gt3d: expected shape"):
        viewer_data(walking(3), gt3d=walking(4))
    with pytest.raises(ValueError, match="fps"):
        viewer_data(walking(3), fps=0)
    with pytest.raises(ValueError, match=".html"):
        write_html(tmp_path / "v.txt", walking(3))


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe is not None
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr",
        "--v=0", "--virtual-time-budget=3000", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(
    not (shutil.which("chromium") or shutil.which("chromium-browser")),
    reason="chromium is not installed",
)
def test_html_viewer_draws_in_a_headless_browser(tmp_path: Path):
    seq = walking(40)
    page = write_html(
        tmp_path / "v.html", seq, pose2d=project(seq), uncertainty=np.full((40, 17), 0.04),
        gt3d=seq + 0.01, fps=50,
    )  # fmt: skip
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    errors = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', html, re.S)
    assert errors is not None and errors.group(1) == "", errors
    assert 'data-errors="0"' in html and "Uncaught" not in dom.stderr
    drawn = int(re.search(r'data-drawn="(\d+)"', html).group(1))
    assert drawn > 1  # the first draw, then playback under virtual time
    m = re.search(r'<span id="counter">frame (\d+) / (\d+)</span>', html)
    assert m is not None and int(m.group(2)) == 40 and 1 <= int(m.group(1)) <= 40

    shot = tmp_path / "shot.png"
    res = _chromium(f"--screenshot={shot}", "--window-size=900,600", page.as_uri(), tmp=tmp_path)
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    with Image.open(shot) as im:
        img = np.asarray(im.convert("RGB"))
    assert img.shape[:2] == (600, 900)
    assert img.std() > 5
    assert color_pixels(img, LEFT_COLOR) > 100 and color_pixels(img, RIGHT_COLOR) > 100


def test_geometry_and_writers_have_their_own_modules():
    """html shares the numpy geometry without the renderer; old import paths still work."""
    import ast
    import importlib
    import inspect

    from diffhpe.viz import encode, geometry, html

    render_module = importlib.import_module("diffhpe.viz.render")  # viz.render is the function

    assert render_module.scene_box is geometry.scene_box
    assert render_module.save_video is encode.save_video is save_video
    assert render_module.VIDEO_SUFFIXES is encode.VIDEO_SUFFIXES
    tree = ast.parse(inspect.getsource(html))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "diffhpe.viz.geometry" in imported and "diffhpe.viz.render" not in imported
