"""``diffhpe lift`` end to end on the bundled sample, with a tiny trained checkpoint."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from diffhpe.cli import main
from diffhpe.config import load_config
from diffhpe.io.safe_npz import load_npz
from diffhpe.training import train

SAMPLE = Path(str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz"))


@pytest.fixture(scope="module")
def tiny_ckpt(tiny_benchmark: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lift_model")
    cfg = load_config("tiny", [f"data.root={tiny_benchmark}", "model.kind=diffhpe2d"])
    cfg.out_dir = str(out)
    train(cfg, progress=False)
    return out / "best.safetensors"


def test_bundled_sample_is_plain_data():
    f = load_npz(SAMPLE)
    assert f["keypoints"].shape == f["gt3d"].shape[:2] + (2,) == (400, 17, 2)
    assert tuple(f["image_size"]) == (1000, 1002)
    assert "CMU" in str(f["source"])
    assert np.allclose(f["gt3d"][:, 0], 0)


def test_lift_sample_to_npz_and_json(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "walk_3d.npz"
    assert (
        main(["lift", str(SAMPLE), "--checkpoint", str(tiny_ckpt), "-o", str(out), "-H", "2"]) == 0
    )
    assert "MPJPE vs the sample's ground truth" in capsys.readouterr().out
    res = np.load(out, allow_pickle=False)
    assert res["pose3d"].shape == (400, 17, 3) and res["uncertainty"].shape == (400, 17)
    assert np.allclose(res["pose3d"][:, 0], 0, atol=1e-6)  # root-relative
    assert (res["uncertainty"] >= 0).all() and res["uncertainty"].max() > 0  # H = 2 differs
    meta = json.loads(str(res["meta"]))
    assert meta["units"] == "metres" and meta["image_size"] == [1000, 1002]
    assert meta["sampler"]["hypotheses"] == 2 and list(res["joint_names"])[11] == "LShoulder"
    js = tmp_path / "walk.json"
    assert main(["lift", str(SAMPLE), "--checkpoint", str(tiny_ckpt), "-o", str(js)]) == 0
    doc = json.loads(js.read_text())
    assert len(doc["pose3d"]) == 400 and len(doc["pose3d"][0]) == 17


def test_lift_array_needs_image_size(tiny_ckpt, tmp_path, capsys):
    arr = tmp_path / "kp.npy"
    xy = 500.0 + np.random.default_rng(0).uniform(-100, 100, (30, 17, 2))
    np.save(arr, xy.astype(np.float32))
    assert (
        main(["lift", str(arr), "--checkpoint", str(tiny_ckpt), "-o", str(tmp_path / "o.npz")]) == 2
    )
    assert "--image-size" in capsys.readouterr().err
    rc = main(["lift", str(arr), "--checkpoint", str(tiny_ckpt), "--image-size", "1000", "1000",
               "-o", str(tmp_path / "o.npz")])  # fmt: skip
    assert rc == 0 and np.load(tmp_path / "o.npz")["pose3d"].shape == (30, 17, 3)


def test_missing_video_is_named(tmp_path, capsys):
    assert main(["lift", str(tmp_path / "clip.mp4")]) == 2  # video input: tests/test_video.py
    assert "clip.mp4: no such video file" in capsys.readouterr().err


def test_lift_start_flags(tiny_ckpt, tmp_path, capsys):
    """The shipped wrapper lifts from pure noise on request (recorded in the output); a
    DiffHPE-2D has no estimate of its own to start from, and says so."""
    out = tmp_path / "noise.npz"
    rc = main(["lift", str(SAMPLE), "-o", str(out), "--init", "noise", "--steps", "2", "-H", "2"])
    assert rc == 0
    meta = json.loads(str(np.load(out, allow_pickle=False)["meta"]))
    assert meta["sampler"]["init"] == "noise" and meta["sampler"]["start_step"] is None
    rc = main(["lift", str(SAMPLE), "--checkpoint", str(tiny_ckpt), "-o", str(out),
               "--init", "backbone", "--start-step", "3", "--steps", "2"])  # fmt: skip
    assert rc == 2 and "needs a DiffHPE-Wrapper" in capsys.readouterr().err
    rc = main(["lift", str(SAMPLE), "-o", str(out), "--start-step", "60"])
    assert rc == 2 and "start_step must be in 0..49" in capsys.readouterr().err
