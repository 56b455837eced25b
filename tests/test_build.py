"""The open-benchmark build on the real open data (skipped without ../shared/data)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from diffhpe.cameras import capture_volume_center, load_cameras
from diffhpe.data.build import (
    SPLITS,
    build_benchmark,
    discover_clips,
    format_summary,
    place_in_volume,
    split_of,
)
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.io.videopose3d import load_2d, load_3d


def test_split_protocol():
    assert split_of("CMU14") == "validation"
    assert split_of("HDM_dg") == "test" and split_of("CMU03") == "test"
    assert split_of("CMU131") == "train"
    with pytest.raises(KeyError, match="no split"):
        split_of("CMU99")
    everyone = [s for ss in SPLITS.values() for s in ss]
    assert len(everyone) == len(set(everyone))  # nobody in two splits


def test_place_in_volume_centres_and_keeps_floor():
    world = np.zeros((5, 17, 3))
    world[:, :, 2] = np.linspace(0.05, 1.7, 17)
    world[:, 0, :2] = [[3.0, -2.0]]
    centre = np.array([0.1, 0.4, 0.0])
    out = place_in_volume(world, 90.0, centre)
    assert np.allclose(out[:, 0, :2].mean(0), centre[:2])
    assert np.allclose(out[..., 2], world[..., 2])  # yaw about z keeps heights
    # Bone lengths are unchanged by the rigid placement.
    assert np.allclose(
        np.linalg.norm(out[:, 5] - out[:, 4], axis=-1),
        np.linalg.norm(world[:, 5] - world[:, 4], axis=-1),
    )


def test_discover_clips_on_real_data(shared_data):
    clips = discover_clips(shared_data)
    by_split = {s: [c for c in clips if c.split == s] for s in SPLITS}
    assert {c.subject for c in by_split["test"]} == {"CMU03", "HDM_dg"}
    assert {c.subject for c in by_split["validation"]} == {"CMU14"}
    assert len(by_split["test"]) == 4 + 61
    assert {c.extrinsics for c in by_split["train"]} == {"S1", "S5", "S6", "S7", "S8"}
    assert {c.extrinsics for c in by_split["test"]} == {"S11"}
    hdm = next(c for c in clips if c.subject == "HDM_dg" and "kickLFront" in c.clip_id)
    assert hdm.action == "kickLFront1Reps"
    cmu = next(c for c in clips if c.clip_id == "01_01")
    assert cmu.action.startswith("playground")
    assert len({(c.subject, c.clip_id) for c in clips}) == len(clips)


def _small_root(shared: Path, dst: Path) -> Path:
    """A copy of ../shared/data with one short clip per source (links, not copies)."""
    picks = {
        "cmu_asfamc/03": ["03.asf", "03_01.amc"],
        "hdm05/dg": ["HDM_dg.asf", "HDM_dg_kickLFront1Reps_013_120.amc"],
        "cmu_bvh_daz/14": ["14_04.bvh"],
        "cmu_bvh_131": ["131_01.bvh"],
        "detector_noise": ["stacked_hourglass_h36m.json"],
    }
    for folder, names in picks.items():
        (dst / folder).mkdir(parents=True, exist_ok=True)
        for n in names:
            src = shared / folder / n
            if not src.exists():
                pytest.skip(f"{src} missing")
            (dst / folder / n).symlink_to(src)
    shutil.copy(shared / "cmu_bvh_daz" / "CMU-INDEX.md", dst / "cmu_bvh_daz" / "CMU-INDEX.md")
    return dst


def test_build_small_subset_end_to_end(shared_data, tmp_path):
    root = _small_root(shared_data, tmp_path / "data")
    out = tmp_path / "bench"
    summary = build_benchmark(root, out, seed=0, workers=1, progress=False)
    assert summary["clips_per_split"] == {"train": 1, "validation": 1, "test": 2}
    text = format_summary(summary)
    assert (
        "validation" in text and "median_err_excl_px" in text and "conf_any_if_sep20/Ankle" in text
    )
    # Files in the VideoPose3D layout, loadable by plain numpy.
    p3 = np.load(out / "data_3d_open.npz", allow_pickle=True)["positions_3d"].item()
    world = p3["HDM_dg"]["HDM_dg_kickLFront1Reps_013"]
    assert world.shape[1:] == (17, 3)
    # Placed at the capture volume centre (S11's extrinsics), feet on the floor.
    centre = capture_volume_center(load_cameras("S11"))
    assert np.allclose(world[:, 0, :2].mean(0), centre[:2], atol=1e-3)
    assert 0.0 < np.percentile(world[:, [3, 6], 2], 1) < 0.15
    gt, meta = load_2d(out / "data_2d_open_gt.npz")
    det, _ = load_2d(out / "data_2d_open_det.npz")
    assert meta["num_joints"] == 17 and len(gt["HDM_dg"]["HDM_dg_kickLFront1Reps_013"]) == 4
    g, d = gt["CMU14"]["14_04"][0], det["CMU14"]["14_04"][0]
    err = np.linalg.norm(d - g, axis=-1)
    assert 3 < np.nanmedian(err) < 25  # detector-like, not exact, not wild
    # The exact 2D is the projection of the 3D through the recorded extrinsics.
    bench = json.loads((out / "benchmark.json").read_text())
    ex = bench["clips"]["CMU14"]["14_04"]["extrinsics"]
    cams = load_cameras(ex)
    assert np.allclose(
        cams["54138969"].project_world(
            load_3d(out / "data_3d_open.npz")["CMU14"]["14_04"].astype(float)
        ),
        g,
        atol=1e-2,
    )
    # Deterministic: the same seed gives identical detections.
    out2 = tmp_path / "bench2"
    build_benchmark(root, out2, seed=0, workers=1, progress=False)
    det2, _ = load_2d(out2 / "data_2d_open_det.npz")
    assert np.array_equal(det2["CMU14"]["14_04"][2], det["CMU14"]["14_04"][2], equal_nan=True)
    # And the model-facing loader reads it.
    seqs = load_sequences(DataSource("open", out, "det"), "test")
    assert len(seqs) == 2 * 4 and all(abs(s.pose3d[:, 0]).max() == 0 for s in seqs)


def test_build_with_virtual_cameras(shared_data, tmp_path):
    """`data build --virtual-cameras N`: N drawn cameras per clip, stored in benchmark.json,
    the same world poses as the Human3.6M build, and a loader that uses each view's camera."""
    root = _small_root(shared_data, tmp_path / "data")
    out = tmp_path / "virtual"
    summary = build_benchmark(root, out, seed=0, workers=1, progress=False, virtual_cameras=3)
    assert summary["virtual_cameras"]["per_clip"] == 3
    assert "3 virtual cameras per clip" in format_summary(summary)
    bench = json.loads((out / "benchmark.json").read_text())
    recs = bench["clips"]["HDM_dg"]["HDM_dg_kickLFront1Reps_013"]["cameras"]
    assert [r["id"] for r in recs] == ["v0", "v1", "v2"]
    assert all(r["inside_share"] >= 0.98 for r in recs)
    det, _ = load_2d(out / "data_2d_open_det.npz")
    assert len(det["HDM_dg"]["HDM_dg_kickLFront1Reps_013"]) == 3
    seqs = load_sequences(DataSource("open", out, "gt"), "test", ("v1",))
    assert len(seqs) == 2 and {s.camera for s in seqs} == {"v1"}
    # Deterministic cameras: a second build draws the same ones.
    again = build_benchmark(root, tmp_path / "v2", seed=0, workers=1, progress=False,
                            virtual_cameras=3)  # fmt: skip
    assert again["clips"]["HDM_dg"]["HDM_dg_kickLFront1Reps_013"]["cameras"] == recs
    with pytest.raises(ValueError, match="virtual_cameras must be >= 0"):
        build_benchmark(root, tmp_path / "v3", virtual_cameras=-1)


def test_benchmark_digest_ignores_the_build_but_not_the_data(tmp_path):
    """Cached evaluations are keyed by the data a benchmark holds, not by how long its build
    took or where its source folder was (a rebuild elsewhere reuses them)."""
    from diffhpe.data.build import benchmark_digest

    doc = {"format": "diffhpe-open-benchmark/1", "seed": 0, "clips": {"A": {"a": {"frames": 3}}},
           "build_seconds": 16.1, "data_root": "/work/shared/data", "skipped": []}  # fmt: skip
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text(json.dumps(doc, indent=1))
    b.write_text(
        json.dumps({**doc, "build_seconds": 14.7, "data_root": "/tmp/x", "skipped": ["Z"]})
    )
    c.write_text(json.dumps({**doc, "seed": 1}))
    assert benchmark_digest(a) == benchmark_digest(b) != benchmark_digest(c)
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ValueError, match="must be a JSON object"):
        benchmark_digest(tmp_path / "bad.json")
