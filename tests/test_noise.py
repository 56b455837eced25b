"""Detector-noise model: fit to the Stacked Hourglass figures, sampling, statistics.

The figures come from ``tests/fixtures/detector_noise`` (the real file's figures that the
code reads, unchanged), so every test runs without ``../shared``; only
``test_fixture_stands_for_the_real_file`` needs the real file, and skips without it.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from diffhpe.data.noise import (
    LR_PAIRS,
    DetectorNoiseModel,
    compare_table,
    noise_statistics,
    noise_targets,
)
from diffhpe.data.noise.fitting import _swap_chains
from diffhpe.data.noise.numerics import _mix_norm_stats
from diffhpe.data.noise.processes import _ar1, _episodes, _UnitProcess
from diffhpe.skeleton import JOINT_NAMES, joint_index

FIXTURE_JSON = (
    Path(__file__).resolve().parent
    / "fixtures"
    / "detector_noise"
    / "stacked_hourglass_h36m_subset.json"
)
REAL_JSON = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "detector_noise"
    / "stacked_hourglass_h36m.json"
)
needs_real_json = pytest.mark.skipif(
    not REAL_JSON.is_file(),
    reason=f"needs the real Stacked Hourglass statistics at {REAL_JSON}",
)
J = joint_index


@pytest.fixture(scope="module")
def json_path() -> Path:
    """The statistics fixture (always there)."""
    return FIXTURE_JSON


@pytest.fixture(scope="module")
def model(json_path: Path) -> DetectorNoiseModel:
    return DetectorNoiseModel.from_json(json_path)


def walker(n: int, seed: int, height_px: float = 315.0) -> np.ndarray:
    """(n, 17, 2) px: a stick figure with Human3.6M bone lengths (mm) seen by a 1145 px
    camera 5.8 m away, walking (20 % of sequences) or shifting on the spot, turning
    about a diagonal view; rescaled so that its median h is ``height_px``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 50.0
    gait = 2 * np.pi * rng.uniform(0.7, 1.0) * t + rng.uniform(0, 2 * np.pi)
    walking = rng.random() < 0.2
    stride = np.radians(rng.uniform(12, 28) if walking else rng.uniform(0, 5))
    swing = np.radians(rng.uniform(5, 40) if walking else rng.uniform(0, 15))
    knee_flex = np.radians(35 if walking else rng.uniform(0, 10))
    elbow0 = np.radians(rng.uniform(10, 100))
    leg_out = rng.uniform(0.0, 0.05)  # legs a little apart
    hands_in = rng.uniform(-0.1, 0.4) if rng.random() < 0.4 else -0.1  # forearms inward
    yaw = np.radians(rng.choice([-45, 45, 135, 225]) + rng.uniform(-15, 15))
    yaw = yaw + np.radians(rng.uniform(5, 25)) * np.sin(
        2 * np.pi * rng.uniform(0.05, 0.2) * t + rng.uniform(0, 6.3)
    )
    zeros, ones = np.zeros(n), np.ones(n)
    p = np.zeros((n, 17, 3))  # body frame: x = the person's left, y up, z forward
    for side, sgn in (("R", -1.0), ("L", 1.0)):
        phase = gait if side == "R" else gait + np.pi
        thigh = stride * np.sin(phase)
        flex = knee_flex * np.clip(np.sin(phase + 1.2), 0, None) + np.radians(5)
        hip = np.stack([sgn * 132 * ones, zeros, zeros], -1)
        knee = hip + 442 * np.stack([sgn * leg_out * ones, -np.cos(thigh), np.sin(thigh)], -1)
        shin = thigh - flex
        ankle = knee + 454 * np.stack([sgn * leg_out * ones, -np.cos(shin), np.sin(shin)], -1)
        arm = -swing * np.sin(phase)  # arms swing against the legs
        shoulder = np.stack([sgn * 151 * ones, 470 * ones, zeros], -1)
        out = math.sin(math.radians(10))
        elbow = shoulder + 278 * np.stack([sgn * out * ones, -np.cos(arm), np.sin(arm)], -1)
        fore = arm + elbow0 + 0.3 * np.sin(phase)
        wrist = elbow + 252 * np.stack([-sgn * hands_in * ones, -np.cos(fore), np.sin(fore)], -1)
        for name, x in zip(
            ("Hip", "Knee", "Ankle", "Shoulder", "Elbow", "Wrist"),
            (hip, knee, ankle, shoulder, elbow, wrist),
            strict=True,
        ):
            p[:, J(side + name)] = x
    p[:, J("Spine")] = (0, 233, 10)
    p[:, J("Thorax")] = (0, 490, 0)
    p[:, J("Neck/Nose")] = (0, 600, 60)
    p[:, J("Head")] = (0, 725, 10)
    c, s = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
    x_cam = c * p[..., 0] + s * p[..., 2]
    depth = 5800.0 - s * p[..., 0] + c * p[..., 2]
    uv = np.stack([1145 * x_cam / depth, -1145 * (p[..., 1] - 200) / depth], -1)
    h = uv[..., 1].max(1) - uv[..., 1].min(1)
    uv *= height_px / np.median(h)
    drift = np.stack([60 * np.sin(2 * np.pi * 0.03 * t), 20 * np.sin(2 * np.pi * 0.05 * t)], -1)
    return uv + 500 + drift[:, None, :]


@pytest.fixture(scope="module")
def walk(model: DetectorNoiseModel) -> dict:
    """100 sequences x 2000 frames (200k frames) at a median height of 315 px."""
    gts = [walker(2000, seed) for seed in range(100)]
    rng = np.random.default_rng(0)
    dets = [model.sample(g, rng) for g in gts]
    return {"gts": gts, "dets": dets, "stats": noise_statistics(gts, dets)}


@pytest.fixture(scope="module")
def targets(json_path: Path) -> dict:
    return noise_targets(json_path)


# ------------------------------------------------------------------ fit against the JSON


@pytest.mark.data
@needs_real_json
def test_fixture_stands_for_the_real_file() -> None:
    """The fixture gives the real file's fitted model and targets, so the tests below
    check the published figures; every section of the real file fits."""
    for section in ("all", "test_S9_S11"):
        real = DetectorNoiseModel.from_json(REAL_JSON, section).to_dict()
        fixture = DetectorNoiseModel.from_json(FIXTURE_JSON, section).to_dict()
        assert real.pop("source") == f"{REAL_JSON.name}:{section}"
        assert fixture.pop("source") == f"{FIXTURE_JSON.name}:{section}"
        assert real == fixture, section
        assert noise_targets(REAL_JSON, section) == noise_targets(FIXTURE_JSON, section)
    train = DetectorNoiseModel.from_json(REAL_JSON, section="train_S1_S5_S6_S7_S8")
    assert train.ref_height_px == 310.0


def test_columns_are_read_by_name(json_path: Path, tmp_path: Path) -> None:
    """The joint tables' columns in reverse order fit the same model."""
    doc = json.loads(json_path.read_text())
    for section in ("all", "test_S9_S11"):
        sec = doc[section]
        sec["columns"] = sec["columns"][::-1]
        sec["joints"] = {name: row[::-1] for name, row in sec["joints"].items()}
    flipped = tmp_path / json_path.name
    flipped.write_text(json.dumps(doc))
    for section in ("all", "test_S9_S11"):
        want = DetectorNoiseModel.from_json(json_path, section).to_dict()
        assert DetectorNoiseModel.from_json(flipped, section).to_dict() == want


def test_from_json_is_deterministic(json_path: Path, model: DetectorNoiseModel) -> None:
    """The fit gives the same model twice (its time: benchmarks/reading_speed.py)."""
    again = DetectorNoiseModel.from_json(json_path)
    assert again.to_dict() == model.to_dict()
    # Every section fits (train/test borrow shape columns from "all").
    test = DetectorNoiseModel.from_json(json_path, section="test_S9_S11")
    assert test.ref_height_px == 326.0 and test.source.endswith(":test_S9_S11")


ACCEPTANCE = [
    "median_err_excl_px",
    "mean_err_excl_head_spine_px",
    "f20_excl",
    "f50_excl",
    "lr_conf/Ankle",
    "lr_conf/Wrist",
    "lr_conf/Knee",
    "ac1",
    "ac5",
    "ac25",
]


@pytest.mark.parametrize("key", ACCEPTANCE)
def test_achieved_figures_match_the_json(walk: dict, targets: dict, key: str) -> None:
    """At the JSON's median person height, each figure within 15 % of its target."""
    assert walk["stats"]["bbox_h_median"] == pytest.approx(315.0, rel=0.01)
    achieved, target = walk["stats"][key], targets[key]
    assert achieved == pytest.approx(target, rel=0.15), compare_table(walk["stats"], targets)


def test_per_joint_medians_follow_the_json(walk: dict, targets: dict) -> None:
    """Every joint's median within 15 % of its own (definition-corrected) target: wrists
    and ankles noisier than thorax and shoulders, Spine near 5.3 px not 42 px."""
    for name in JOINT_NAMES:
        key = f"median_px/{name}"
        assert walk["stats"][key] == pytest.approx(targets[key], rel=0.15), key
    stats = walk["stats"]
    assert stats["mean_px/LWrist"] > 1.5 * stats["mean_px/Thorax"]


def test_no_systematic_offsets(walk: dict) -> None:
    """Neither the Spine/Head definition offsets nor the +2.2 px x bias come out."""
    err = np.concatenate([d - g for g, d in zip(walk["gts"], walk["dets"], strict=True)])
    mean = err.mean(axis=0)  # (17, 2)
    assert np.abs(mean[J("Spine")]).max() < 1.0
    assert np.abs(mean[J("Head")]).max() < 2.0
    assert abs(mean[:, 0].mean()) < 0.5


def test_tails_are_heavy(walk: dict) -> None:
    """A single Gaussian with the same median would put almost nothing above 50 px."""
    stats = walk["stats"]
    sigma = stats["median_err_excl_px"] / math.sqrt(2 * math.log(2))  # Rayleigh median
    assert stats["f50_excl"] > 100 * math.exp(-(50**2) / (2 * sigma**2))


def test_errors_scale_with_person_height(model: DetectorNoiseModel, walk: dict) -> None:
    gts = [walker(2000, 500 + seed, height_px=157.5) for seed in range(40)]
    rng = np.random.default_rng(1)
    half = noise_statistics(gts, [model.sample(g, rng) for g in gts])
    ratio = half["median_err_excl_px"] / walk["stats"]["median_err_excl_px"]
    assert ratio == pytest.approx(0.5, rel=0.10)
    assert half["median_err_excl_h"] == pytest.approx(walk["stats"]["median_err_excl_h"], rel=0.10)


# ------------------------------------------------------------------ sampling contract


def _tiny_model(**changes: object) -> DetectorNoiseModel:
    """A hand-made model that needs no JSON (h units)."""
    p = len(LR_PAIRS)
    fields = {
        "core_sd": np.full((17, 2), 0.02),
        "seq_sd": np.full(17, 0.01),
        "common_sd": np.full(2, 0.005),
        "outlier_prob": np.full(17, 0.1),
        "outlier_sd": np.full((17, 2), 0.1),
        "swap_both": np.full(p, 0.01),
        "swap_left": np.full(p, 0.01),
        "swap_right": np.full(p, 0.01),
    }
    fields.update(changes)
    return DetectorNoiseModel(**fields)


def test_same_seed_same_output_other_seed_differs() -> None:
    m, gt = _tiny_model(), walker(300, 3)
    a = m.sample(gt, np.random.default_rng(7))
    b = m.sample(gt, np.random.default_rng(7))
    c = m.sample(gt, np.random.default_rng(8))
    assert a.shape == gt.shape and np.array_equal(a, b)
    assert np.abs(a - c).mean() > 1.0


def test_long_sequences_cross_chunks_seamlessly() -> None:
    """Frames 32767 -> 32768 (a chunk boundary) move as little as any neighbours."""
    no = np.zeros(6)
    m = _tiny_model(outlier_prob=np.zeros(17), swap_both=no, swap_left=no, swap_right=no)
    gt = np.zeros((40_000, 17, 2))
    gt[:, :, 1] = np.linspace(0, 100, 17)  # h = 100 px
    err = m.sample(gt, np.random.default_rng(0)) - gt
    step = np.abs(np.diff(err, axis=0)).mean(axis=(1, 2))  # (N - 1,)
    assert step[32767] < 3 * step.mean()


def test_nan_joints_stay_nan_and_break_nothing() -> None:
    m = _tiny_model(swap_left=np.full(6, 0.9))
    gt = walker(500, 4)
    gt[10:20, J("LWrist")] = np.nan
    gt[30] = np.nan
    gt[:, J("RAnkle")] = np.nan  # the left ankle cannot be swapped onto it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = m.sample(gt, np.random.default_rng(0))
    missing = np.isnan(gt).any(-1)
    assert np.array_equal(np.isnan(det).any(-1), missing)
    assert np.isfinite(det[~missing]).all()
    # The left ankle stays near its own position, swap or not.
    assert np.nanmax(np.abs(det[:, J("LAnkle")] - gt[:, J("LAnkle")])) < 200


def test_swaps_put_the_detection_on_the_other_side() -> None:
    """With noise off and every frame swapped, L and R exchange places exactly."""
    zero = np.zeros((17, 2))
    m = _tiny_model(
        core_sd=zero, seq_sd=np.zeros(17), common_sd=np.zeros(2),
        outlier_prob=np.zeros(17), outlier_sd=zero, swap_both=np.full(6, 0.9999),
        swap_episode_frames=1e6,
    )  # fmt: skip
    gt = walker(50, 5)
    det = m.sample(gt, np.random.default_rng(0))
    for _, lj, rj in LR_PAIRS:
        assert np.allclose(det[:, lj], gt[:, rj]) and np.allclose(det[:, rj], gt[:, lj])
    assert np.allclose(det[:, J("Spine")], gt[:, J("Spine")])


@pytest.mark.parametrize("shape", [(10, 16, 2), (10, 17, 3), (17, 2), (2, 10, 17, 2)])
def test_wrong_shapes_are_rejected(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"gt2d: expected shape \(N, 17, 2\)"):
        _tiny_model().sample(np.zeros(shape), np.random.default_rng(0))


def test_bad_values_and_rng_are_rejected() -> None:
    gt = walker(5, 0)
    gt[2, 3, 0] = np.inf
    with pytest.raises(ValueError, match="gt2d: contains"):
        _tiny_model().sample(gt, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        _tiny_model().sample(walker(5, 0), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outlier_prob"):
        _tiny_model(outlier_prob=np.full(17, 1.0))
    with pytest.raises(ValueError, match=r"core_sd.*shape \(17, 2\)"):
        _tiny_model(core_sd=np.zeros((16, 2)))


# ------------------------------------------------------------------ building blocks


def test_ar1_matches_the_recursion() -> None:
    rng = np.random.default_rng(0)
    u, x0 = rng.standard_normal((700, 3)), rng.standard_normal(3)
    for rho in (0.3, 0.862, 0.9845):
        want, x = np.empty_like(u), x0
        for t in range(len(u)):
            x = rho * x + u[t]
            want[t] = x
        assert np.allclose(_ar1(u, rho, x0), want, rtol=1e-9, atol=1e-9)


def test_unit_process_has_the_temporal_model_acf() -> None:
    weights, rhos = (0.131, 0.269, 0.6), (0.862, 0.9845)
    proc = _UnitProcess(np.random.default_rng(0), 8, weights, rhos)
    x = np.concatenate([proc.draw(40_000) for _ in range(5)])  # (200k, 8)
    assert x.var(axis=0).mean() == pytest.approx(1.0, abs=0.05)
    for lag in (1, 5, 25):
        want = weights[1] * rhos[0] ** lag + weights[2] * rhos[1] ** lag
        got = (x[:-lag] * x[lag:]).mean() / x.var()
        assert got == pytest.approx(want, abs=0.03), lag


def test_episodes_have_the_rate_and_length() -> None:
    states = _episodes(np.random.default_rng(0), 2_000_000, np.array([0.2, 0.03, 0.0]), 40.0)
    assert states[:, 0].mean() == pytest.approx(0.2, rel=0.05)
    assert states[:, 1].mean() == pytest.approx(0.03, rel=0.15)
    assert not states[:, 2].any()
    starts = np.flatnonzero(np.diff(states[:, 0].astype(int)) == 1)
    assert states[:, 0].sum() / len(starts) == pytest.approx(40.0, rel=0.1)


def test_swap_chains_reproduce_the_three_rates() -> None:
    c_l, c_r, c_b = 0.033, 0.032, 0.011
    b, a_l, a_r = _swap_chains(c_l, c_r, c_b)
    assert b + (1 - b) * a_l == pytest.approx(c_l, abs=1e-12)
    assert b + (1 - b) * a_r == pytest.approx(c_r, abs=1e-12)
    assert b + (1 - b) * a_l * a_r == pytest.approx(c_b, abs=1e-12)
    assert _swap_chains(0.01, 0.01, 0.0)[0] == 0.0  # fewer double swaps than chance


def test_mixture_norm_formulas_against_rayleigh_and_simulation() -> None:
    sf, pdf, mean = _mix_norm_stats(np.array([1.0]), np.array([[2.0, 2.0]]), np.array([3.0]))
    assert sf[0] == pytest.approx(math.exp(-9 / 8), rel=1e-12)
    assert pdf[0] == pytest.approx(3 / 4 * math.exp(-9 / 8), rel=1e-12)
    assert mean == pytest.approx(2 * math.sqrt(math.pi / 2), rel=1e-12)
    w, sds = np.array([0.7, 0.3]), np.array([[1.0, 3.0], [6.0, 4.0]])
    sf, _, mean = _mix_norm_stats(w, sds, np.array([2.0, 10.0]))
    rng = np.random.default_rng(0)
    comp = rng.random(1_000_000) < 0.3
    e = rng.standard_normal((1_000_000, 2)) * np.where(comp[:, None], sds[1], sds[0])
    r = np.hypot(e[:, 0], e[:, 1])
    assert sf == pytest.approx([(r > 2).mean(), (r > 10).mean()], abs=2e-3)
    assert mean == pytest.approx(r.mean(), rel=3e-3)


# ------------------------------------------------------------------ statistics, targets


def _frame(h: float = 100.0) -> np.ndarray:
    """(17, 2): joints spread over y in 0..h, L/R pairs level and 40 px apart."""
    g = np.zeros((17, 2))
    g[:, 1] = np.linspace(0.0, h, 17)
    for _, lj, rj in LR_PAIRS:
        g[lj], g[rj] = (20.0, g[rj, 1]), (-20.0, g[rj, 1])
    return g


def test_statistics_exact_on_hand_made_errors() -> None:
    gt = np.repeat(_frame()[None], 4, axis=0)  # 4 frames, h = 100
    det = gt + np.array([3.0, 4.0])  # every error 5 px ...
    det[0, J("Pelvis")] = gt[0, J("Pelvis")] + (30.0, 40.0)  # ... but one of 50 px
    det[1, J("Spine")] = gt[1, J("Spine")] + (0.0, 60.0)  # and a 60 px on Spine
    det[2, J("LAnkle")] = gt[2, J("RAnkle")] + (2.0, 0.0)  # left ankle on the right one
    s = noise_statistics([gt], [det])
    n_all, n_excl = 4 * 17, 4 * 14
    err_ankle = float(np.hypot(-38.0, 0.0))
    assert s["median_err_px"] == 5.0
    assert s["mean_err_px"] == pytest.approx((5 * (n_all - 3) + 50 + 60 + err_ankle) / n_all)
    assert s["f20"] == pytest.approx(3 / n_all) and s["f50"] == pytest.approx(1 / n_all)
    assert s["mean_err_excl_head_spine_px"] == pytest.approx(
        (5 * (n_excl - 2) + 50 + err_ankle) / n_excl
    )
    assert s["f50_excl"] == 0.0 and s["f20_excl"] == pytest.approx(2 / n_excl)
    assert s["median_err_h"] == pytest.approx(0.05) and s["bbox_h_median"] == 100.0
    # lr_conf: |d - g_same| - |d - g_other| = 38 - 2 > max(0.5 * 40, 10).
    assert s["lr_conf_L/Ankle"] == 0.25 and s["lr_conf_R/Ankle"] == 0.0
    assert s["lr_conf/Ankle"] == 0.125 and s["swap_both/Ankle"] == 0.0
    assert s["frac_sep20/Ankle"] == 1.0


def test_statistics_autocorrelation_and_nan_frames() -> None:
    gt = np.repeat(_frame()[None], 9, axis=0)
    det = gt.copy()
    det[..., 0] += np.array([1.0, -1.0] * 4 + [1.0])[:, None]  # x alternates, y exact
    gt_nan = gt.copy()
    gt_nan[4, 0] = np.nan  # ignored, and not counted as an error
    s = noise_statistics([gt], [det])
    # mean 1/9 removed: r(1) = sum e_t e_t+1 / sum e_t^2 with e = +-1 - 1/9.
    e = np.array([1.0, -1.0] * 4 + [1.0]) - 1 / 9
    assert s["ac1"] == pytest.approx((e[:-1] * e[1:]).sum() / (e**2).sum())
    assert s["ac5"] == pytest.approx((e[:-5] * e[5:]).sum() / (e**2).sum())
    assert math.isnan(s["ac25"])  # sequence too short
    s_nan = noise_statistics([gt_nan], [det])
    assert s_nan["mean_err_px"] == 1.0 and s_nan["median_err_px"] == 1.0


def test_statistics_reject_mismatched_inputs() -> None:
    with pytest.raises(ValueError, match="equally long"):
        noise_statistics([np.zeros((3, 17, 2))], [])
    with pytest.raises(ValueError, match=r"gts\[0\] \(3, 17, 2\) != dets\[0\] \(4, 17, 2\)"):
        noise_statistics([np.zeros((3, 17, 2))], [np.zeros((4, 17, 2))])


def test_targets_read_and_derived(targets: dict) -> None:
    assert targets["mean_err_excl_head_spine_px"] == 11.0
    assert targets["ac1"] == 0.83 and targets["ac25"] == 0.41
    assert targets["lr_conf/Ankle"] == pytest.approx((0.0329 + 0.0317) / 2)
    assert targets["f50_excl"] == pytest.approx(0.252694 / 14)  # mean of 14 joints' f50
    # The pooled median lies between the 14 joints' medians (6.17 .. 12.9 px).
    assert 7.0 < targets["median_err_excl_px"] < 10.0
    assert targets["median_px/Spine"] == 5.33 and targets["median_px/Neck/Nose"] == 8.05


def test_compare_table_lists_relative_differences() -> None:
    table = compare_table(
        {"f20": 0.22, "ac1": 0.8, "extra": 1.0},
        {"f20": 0.2, "ac1": None, "notes": {"f20": "raw"}},
    )
    lines = table.splitlines()
    assert len(lines) == 3 and "extra" not in table
    assert "+10.0%" in lines[1] and "(raw)" in lines[1]
    assert lines[2].split()[0] == "ac1" and lines[2].split()[-1] == "-"


# ------------------------------------------------------------------ serialisation, errors


def test_dict_round_trip_through_json(model: DetectorNoiseModel) -> None:
    text = json.dumps(model.to_dict())
    back = DetectorNoiseModel.from_dict(json.loads(text))
    assert back.to_dict() == model.to_dict()
    gt = walker(200, 1)
    assert np.array_equal(
        back.sample(gt, np.random.default_rng(3)), model.sample(gt, np.random.default_rng(3))
    )
    data = model.to_dict()
    data["colour"] = 1
    with pytest.raises(ValueError, match="unknown fields \\['colour'\\]"):
        DetectorNoiseModel.from_dict(data)
    del data["colour"], data["seq_sd"]
    with pytest.raises(ValueError, match="missing fields \\['seq_sd'\\]"):
        DetectorNoiseModel.from_dict(data)


def test_json_errors_name_the_file_and_field(json_path: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ValueError, match="nope.json: cannot read"):
        DetectorNoiseModel.from_json(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json: not valid JSON"):
        DetectorNoiseModel.from_json(broken)
    doc = json.loads(json_path.read_text())
    del doc["all"]["lr_pairs"]["Ankle"]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="cut.json: missing field 'all.lr_pairs.Ankle'"):
        DetectorNoiseModel.from_json(cut)
    with pytest.raises(ValueError, match="cut.json: missing field 'all.lr_pairs.Ankle'"):
        noise_targets(cut)
    doc = json.loads(json_path.read_text())
    doc["all"]["joints"]["LWrist"] = doc["all"]["joints"]["LWrist"][:-1]
    n_columns = len(doc["all"]["columns"])
    short = tmp_path / "short.json"
    short.write_text(json.dumps(doc))
    with pytest.raises(
        ValueError, match=f"short.json: field 'all.joints.LWrist' must list {n_columns} values"
    ):
        DetectorNoiseModel.from_json(short)
    with pytest.raises(ValueError, match="missing field 'nosuch'"):
        DetectorNoiseModel.from_json(json_path, section="nosuch")
