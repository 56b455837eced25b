"""Uncertainty calibration (diffhpe.uncertainty) and how the Lifter applies it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from diffhpe.checkpoint import file_sha256
from diffhpe.config import load_config
from diffhpe.lifting import Lifter, pretrained_path, save_result
from diffhpe.uncertainty import (
    UncertaintyCalibration,
    auroc,
    calibration_path,
    fit_calibration,
    sampling_of,
    worst_auroc,
)


def brute_auroc(score: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = score[positive], score[~positive]
    diff = pos[:, None] - neg[None]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auroc_matches_its_definition():
    rng = np.random.default_rng(0)
    score = rng.integers(0, 6, 300).astype(float)  # many ties
    positive = rng.random(300) < 0.3
    assert auroc(score, positive) == pytest.approx(brute_auroc(score, positive))
    assert auroc(np.arange(10.0), np.arange(10) >= 7) == 1.0
    assert auroc(-np.arange(10.0), np.arange(10) >= 7) == 0.0
    assert np.isnan(auroc(np.ones(4), np.zeros(4, bool)))
    err = rng.random(1000)
    assert worst_auroc(err, err) == 1.0  # the error ranks itself perfectly
    assert 0.4 < worst_auroc(rng.random(1000), err) < 0.6  # noise ranks at chance


def calibration(**kw) -> UncertaintyCalibration:
    j = np.arange(17)
    args = dict(
        scale=np.where(j > 0, 1.5, 0.0), window_scale=np.where(j > 0, 2.0, 0.0),
        floor_visible=np.where(j > 0, 0.03 + 0.002 * j, 0.0),
        floor_missing=np.where(j > 0, 0.09 + 0.004 * j, 0.0),
        model_sha256="abc", sampling={"hypotheses": 5, "sampler": "ddim"},
    )  # fmt: skip
    return UncertaintyCalibration(**{**args, **kw})


def test_fit_recovers_known_parameters():
    rng = np.random.default_rng(1)
    true = calibration()
    m = 60000
    joint = rng.integers(1, 17, m)
    visible = rng.random(m) < 0.7
    spread = rng.uniform(0.0, 0.08, m)
    window = rng.uniform(0.0, 0.04, m)
    u = true.apply(spread, window, visible, joint=joint)
    error = np.linalg.norm(rng.normal(size=(m, 3)) * (u / np.sqrt(3))[:, None], axis=-1)
    fit = fit_calibration(spread, window, error, visible, joint)
    for name in ("scale", "window_scale", "floor_visible", "floor_missing"):
        got, want = fit[name][1:], getattr(true, name)[1:]
        assert np.median(np.abs(got / want - 1)) < 0.1, name
        assert fit[name][0] == 0.0  # the root
    # calibrated u ranks the errors better than the raw spread
    cal = UncertaintyCalibration(**fit)
    assert worst_auroc(cal.apply(spread, window, visible, joint=joint), error) > worst_auroc(
        spread, error
    )


def test_round_trip_and_mismatch(tmp_path):
    cal = calibration()
    path = cal.save(tmp_path / "m.uncertainty.json")
    back = UncertaintyCalibration.load(path)
    assert np.allclose(back.floor_missing, cal.floor_missing, atol=1e-6)
    diff = load_config("tiny").diffusion
    diff = replace(diff, hypotheses=5, sampler="ddim")
    back.sampling = sampling_of(diff)
    assert back.mismatch("abc", diff) is None
    assert "another model" in back.mismatch("xyz", diff)
    assert "hypotheses 5 -> 9" in back.mismatch("abc", replace(diff, hypotheses=9))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="unreadable uncertainty calibration"):
        UncertaintyCalibration.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="17 finite values"):
        calibration(scale=np.ones(16))
    assert calibration_path("a/model.safetensors").name == "model.uncertainty.json"


class Noisy(nn.Module):
    """A 'lifter' whose output depends on the window: windows disagree, so the window
    spread is positive."""

    def forward(self, x2d: torch.Tensor, visible: torch.Tensor | None = None) -> torch.Tensor:
        z = x2d[:, :1, :, :1].expand_as(x2d[..., :1])  # depends on the window's first frame
        return torch.cat([x2d, z], dim=-1)


def test_lifter_applies_a_matching_calibration_and_falls_back_otherwise(tmp_path):
    cfg = load_config("tiny", ["data.length=9"])
    rng = np.random.default_rng(0)
    xy = 500 + np.cumsum(rng.normal(0, 2, (60, 17, 2)), axis=0)
    xy[10:20, 13] = np.nan  # a missing wrist
    cal = calibration(model_sha256="", sampling=sampling_of(cfg.diffusion))
    lifter = Lifter(Noisy(), cfg, stride=3, identity_check=False, calibration=cal)
    res = lifter.lift(xy, (1000, 1000))
    assert res.uncertainty_info["kind"] == "calibrated"
    want = cal.apply(res.spread, res.window_spread, res.visible)
    assert np.allclose(res.uncertainty, want, atol=1e-6)
    assert res.window_spread[:, 1:].max() > 0 and np.all(res.spread == 0)
    # a missing joint gets its (larger) missing floor
    assert res.uncertainty[15, 13] > res.uncertainty[15, 16]
    save_result(tmp_path / "o.npz", res, {})
    with np.load(tmp_path / "o.npz") as f:
        assert json.loads(str(f["meta"]))["uncertainty_info"]["kind"] == "calibrated"
        assert f["window_spread"].shape == (60, 17) and f["spread"].shape == (60, 17)
    lifter.diffusion = replace(cfg.diffusion, hypotheses=cfg.diffusion.hypotheses + 1)
    res = lifter.lift(xy, (1000, 1000))
    assert res.uncertainty_info["kind"] == "spread" and "hypotheses" in res.uncertainty_info["note"]
    assert np.array_equal(res.uncertainty, res.spread)
    res = Lifter(Noisy(), cfg).lift(xy, (1000, 1000))
    assert res.uncertainty_info == {"kind": "spread", "note": "no calibration file for this model"}


def test_checkpoint_calibration_is_found_checked_and_shipped(tmp_path):
    shipped = pretrained_path()
    # The shipped model has a current calibration: rerun scripts/calibrate_uncertainty.py
    # when this fails after re-shipping a model.
    lifter = Lifter.from_pretrained()
    cal, info = lifter.uncertainty_setup()
    assert info["kind"] == "calibrated", info
    assert cal.model_sha256 == file_sha256(shipped)
    # missing joints are predicted to be worse than visible ones
    assert (cal.floor_missing[1:] >= cal.floor_visible[1:]).mean() >= 0.75
    # a copied model with the calibration of another model: raw spread, with the reason
    ckpt = tmp_path / "m.safetensors"
    shutil.copy(shipped, ckpt)
    calibration(sampling=cal.sampling).save(calibration_path(ckpt))
    _, info = Lifter.from_checkpoint(ckpt).uncertainty_setup()
    assert info["kind"] == "spread" and "another model" in info["note"]
    calibration_path(ckpt).write_text("not json")
    with pytest.warns(UserWarning, match="unreadable uncertainty calibration"):
        lifter = Lifter.from_checkpoint(ckpt)
    assert lifter.uncertainty_setup()[1]["kind"] == "spread"
