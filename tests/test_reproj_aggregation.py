"""Reprojection-aware aggregation (``diffusion.aggregation: reproj``, issue 19 item 3)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from diffhpe.cameras import load_cameras, normalize_screen
from diffhpe.cli import build_parser, main
from diffhpe.config import AGGREGATIONS, DiffusionConfig, validate_sampling
from diffhpe.diffusion import aggregate
from diffhpe.diffusion.aggregate import METHODS
from diffhpe.diffusion.reproj import (
    DEFAULT_SCREEN_FOCAL,
    DEFAULT_SIGMA,
    default_screen_intrinsics,
    reproj_aggregate,
    reproj_choice,
    reproj_weights,
    reprojection_errors,
    screen_intrinsics,
)
from diffhpe.trajectory import Intrinsics, focal_from_fov

CAM = load_cameras("S9")["54138969"]
SCREEN = screen_intrinsics(Intrinsics.from_camera(CAM), CAM.width, CAM.height)


def _truth(b: int = 2, t: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(B, T, 17, 3) root-relative poses and (B, T, 3) roots about 4.5 m in front."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 0.3, (b, t, 17, 3))
    pose[..., 0, :] = 0.0
    root = np.stack(
        [rng.uniform(-0.5, 0.5, (b, t)), rng.uniform(-0.3, 0.3, (b, t)), rng.uniform(4, 5, (b, t))],
        axis=-1,
    )
    return pose, root


def _observed(pose: np.ndarray, root: np.ndarray) -> torch.Tensor:
    """What the camera sees, in normalised screen units, through the real calibration
    (with distortion): pixels, then normalize_screen."""
    uv = CAM.project(pose + root[..., None, :])
    return torch.from_numpy(normalize_screen(uv, CAM.width, CAM.height))


def _oracle_hyps(
    pose: np.ndarray, h: int = 3, offset: float = 0.2
) -> tuple[torch.Tensor, np.ndarray]:
    """H hypotheses of which exactly one is right for each joint (joint j: hypothesis
    j % H), the others shifted sideways by +-``offset`` metres so that their mean is the
    truth. Returns the hypotheses and the index of the right one per joint."""
    b, t, j, _ = pose.shape
    right = np.arange(j) % h
    hyps = np.repeat(pose[None], h, axis=0).copy()
    shifts = np.array([[offset, -offset * 0.5, 0.0], [-offset, offset * 0.5, 0.0]])
    for jj in range(1, j):
        others = [k for k in range(h) if k != right[jj]]
        for k, s in zip(others, shifts[: len(others)], strict=True):
            hyps[k, :, :, jj] += s
    return torch.from_numpy(hyps), right


def test_screen_intrinsics_project_like_pixels_then_normalize():
    pose, root = _truth()
    x_cam = pose + root[..., None, :]
    expected = normalize_screen(CAM.project(x_cam), CAM.width, CAM.height)
    assert np.allclose(SCREEN.project(x_cam), expected, atol=1e-9)
    # The focal guess in normalised units is the pixel guess over w / 2.
    guess = screen_intrinsics(Intrinsics.from_image((1280, 720)), 1280, 720)
    assert guess.fx == pytest.approx(2 * focal_from_fov((1280, 720)) / 1280)
    assert guess.fx == pytest.approx(DEFAULT_SCREEN_FOCAL) and abs(guess.cy) < 1e-12
    assert default_screen_intrinsics().fx == pytest.approx(DEFAULT_SCREEN_FOCAL)


def test_reproj_picks_the_hypothesis_that_matches_the_2d_per_joint():
    """Oracle-style: per joint one hypothesis reprojects exactly onto the 2D, the others
    are 20 cm off sideways; reproj must take the exact one for every visible joint (all
    but a negligible weight with the soft weights, exactly with ``sigma=0``)."""
    pose, root = _truth()
    hyps, right = _oracle_hyps(pose)
    x2d = _observed(pose, root)
    choice = reproj_choice(hyps, x2d, camera=SCREEN)
    assert (choice[..., 1:] == torch.from_numpy(right[1:])).all()
    w = reproj_weights(hyps, x2d, camera=SCREEN)  # (H, B, T, J)
    assert np.allclose(w.sum(0), 1.0)
    assert (np.take_along_axis(w, right[None, None, None, :], axis=0)[..., 1:] > 0.99).all()
    out = aggregate(hyps, "reproj", x2d=x2d, camera=SCREEN)
    assert torch.allclose(out, torch.from_numpy(pose), atol=2e-3)
    hard = reproj_aggregate(hyps, x2d, camera=SCREEN, sigma=0.0)
    assert torch.allclose(hard, torch.from_numpy(pose), atol=1e-12)
    err = reprojection_errors(hyps, x2d, camera=SCREEN)  # (H, B, T, J)
    best = np.take_along_axis(err, right[None, None, None, :], axis=0)[..., 1:]
    assert np.nanmax(best) < 1e-6  # the right one reprojects exactly (normalised units)
    wrong = np.ones(err.shape, dtype=bool)
    np.put_along_axis(wrong, right[None, None, None, :], False, axis=0)
    wrong[..., 0] = False  # the pelvis: 0 in every hypothesis
    assert (err[wrong] * CAM.width / 2 > 5).all()  # the others are > 5 px off
    # Per-window cameras: a list of one Intrinsics per window gives the same.
    same = aggregate(hyps, "reproj", x2d=x2d, camera=[SCREEN] * pose.shape[0])
    assert torch.equal(out, same)


def test_reproj_with_an_off_mean_still_prefers_the_matching_hypothesis():
    """Errors that do not cancel: the wrong hypotheses are 8-20 cm off in random
    directions, so the mean (and the root fitted with it) is off too; the hypothesis
    that agrees with the 2D still wins for (nearly) every visible joint. (A bias shared by
    all hypotheses and joints would be taken up by the root instead: the 2D cannot tell
    it from a translation.)"""
    pose, root = _truth(seed=3)
    h = 4
    right = np.arange(17) % h
    rng = np.random.default_rng(1)
    hyps = np.repeat(pose[None], h, axis=0).copy()
    for jj in range(1, 17):
        for k in range(h):
            if k != right[jj]:
                angle = rng.uniform(0, 2 * np.pi, pose.shape[:2])
                size = rng.uniform(0.08, 0.2, pose.shape[:2])
                hyps[k, :, :, jj, 0] += size * np.cos(angle)
                hyps[k, :, :, jj, 1] += size * np.sin(angle)
    choice = reproj_choice(torch.from_numpy(hyps), _observed(pose, root), camera=SCREEN)
    assert (choice[..., 1:] == torch.from_numpy(right[1:])).float().mean() > 0.95


def test_missing_2d_falls_back_to_the_mean():
    pose, root = _truth()
    hyps, right = _oracle_hyps(pose)
    assert right[5] != 0 and right[7] != 0
    hyps[0, :, :, [5, 7]] += 0.3  # a wrong hypothesis further off: the mean is not the truth
    x2d = _observed(pose, root)
    visible = torch.ones(x2d.shape[:3], dtype=torch.bool)
    visible[0, 1, 5] = False  # one joint not visible
    x2d[1, 2, 7] = float("nan")  # one keypoint NaN
    visible[1, 0] = False  # one frame without any visible joint (no root)
    mean = hyps.mean(dim=0)
    for sigma in (DEFAULT_SIGMA, 0.0):
        out = reproj_aggregate(hyps, x2d, visible, SCREEN, sigma=sigma)
        for b, t, j in ((0, 1, 5), (1, 2, 7)):
            assert torch.allclose(out[b, t, j], mean[b, t, j], rtol=0, atol=1e-12)
            assert not torch.allclose(out[b, t, j], torch.from_numpy(pose[b, t, j]), atol=0.01)
        assert torch.allclose(out[1, 0], mean[1, 0], rtol=0, atol=1e-12)
        assert torch.allclose(out[0, 0], torch.from_numpy(pose[0, 0]), atol=1e-4)  # others: chosen
    choice = reproj_choice(hyps, x2d, visible, SCREEN)
    assert choice[0, 1, 5] == -1 and choice[1, 2, 7] == -1 and (choice[1, 0] == -1).all()


def test_reproj_uses_only_2d_and_checks_shapes():
    pose, root = _truth()
    hyps, _ = _oracle_hyps(pose)
    x2d = _observed(pose, root)
    with pytest.raises(ValueError, match="needs the 2D input"):
        aggregate(hyps, "reproj")
    with pytest.raises(ValueError, match="x2d must be"):
        reproj_aggregate(hyps, x2d[:1])
    with pytest.raises(ValueError, match="one per window"):
        reproj_aggregate(hyps, x2d, camera=[SCREEN])
    with pytest.raises(ValueError, match="sigma must be"):
        reproj_aggregate(hyps, x2d, sigma=-1.0)
    # H = 1: the only hypothesis.
    assert torch.allclose(reproj_aggregate(hyps[:1], x2d, camera=SCREEN), hyps[0])
    # Without a camera: the focal guess (runs, picks, finite).
    assert torch.isfinite(reproj_aggregate(hyps, x2d)).all()


def test_config_and_methods_know_reproj():
    assert AGGREGATIONS == METHODS
    validate_sampling(DiffusionConfig(aggregation="reproj"))
    with pytest.raises(
        ValueError, match="diffusion.aggregation must be one of mean, median, reproj"
    ):
        validate_sampling(DiffusionConfig(aggregation="best"))


def test_cli_accepts_aggregation_reproj(h36m_root, tmp_path, capsys):
    for cmd in (["evaluate", "default"], ["lift", "sample"]):
        assert build_parser().parse_args([*cmd, "--aggregation", "reproj"]).aggregation == "reproj"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["evaluate", "default", "--aggregation", "best"])
    out = tmp_path / "reproj.json"
    argv = ["evaluate", "default", "--data-kind", "h36m", "--data-root", str(h36m_root),
            "--detector", "gt", "--cameras", "54138969", "-H", "3", "--aggregation", "reproj",
            "--quiet", "--json", str(out)]  # fmt: skip
    assert main(argv) == 0
    s = json.loads(out.read_text())
    assert s["sampling"]["aggregation"] == "reproj"
    assert "calibration" in s["sampling"]["reproj_camera"]
    assert 0 < s["metrics_mm"]["mpjpe"]["frame_weighted"] < 200


def test_lift_with_reproj(tmp_path, capsys):
    out = tmp_path / "walk.npz"
    assert main(["lift", "sample", "-o", str(out), "-H", "3", "--aggregation", "reproj"]) == 0
    res = np.load(out)
    meta = json.loads(str(res["meta"]))
    assert meta["sampler"]["aggregation"] == "reproj"
    assert np.isfinite(res["pose3d"]).all()
