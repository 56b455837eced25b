"""Tests of diffhpe.metrics: exact values on hand-made poses, oracles, aggregation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from diffhpe.metrics import (
    METRIC_NAMES,
    REFERENCE_METRIC_NAMES,
    MetricAccumulator,
    MetricSpec,
    bone_lengths,
    evaluate_batch,
    metric_spec,
    mpjpe_frames,
    mpjve_frames,
    n_mpjpe_frames,
    p_mpjpe_frames,
    segment_length_std,
    summary_value,
    symmetry_gap_frames,
    to_table,
    velocity_mask,
)
from diffhpe.skeleton import H36M, PARENTS, joint_index

J = 17
FRAME_METRICS = (mpjpe_frames, p_mpjpe_frames, n_mpjpe_frames)


def random_poses(b: int = 2, t: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, t, J, 3, generator=g, dtype=torch.float64) * 0.3


def random_rotation(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def skeleton_pose(lengths: dict[int, float] | None = None, default: float = 0.3) -> torch.Tensor:
    """(J, 3) pose by forward kinematics: joint j sits ``length(j)`` from its parent
    along a fixed, joint-specific unit direction."""
    lengths = lengths or {}
    g = torch.Generator().manual_seed(123)
    dirs = torch.randn(J, 3, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    pose = torch.zeros(J, 3, dtype=torch.float64)
    for j, p in enumerate(PARENTS):
        if p >= 0:
            pose[j] = pose[p] + lengths.get(j, default) * dirs[j]
    return pose


def bone_of_child(child: int) -> int:
    return int(np.flatnonzero(H36M.bones[:, 0] == child)[0])


# ----------------------------------------------------------------- per-frame errors


@pytest.mark.parametrize("fn", (*FRAME_METRICS, mpjve_frames))
def test_identical_poses_give_zero(fn) -> None:
    x = random_poses()
    out = fn(x, x.clone())
    expected_t = x.shape[1] - 1 if fn is mpjve_frames else x.shape[1]
    assert out.shape == (2, expected_t)
    assert torch.allclose(out, torch.zeros_like(out), atol=1e-7)


@pytest.mark.parametrize("fn", (*FRAME_METRICS, mpjve_frames))
def test_global_translation_is_ignored(fn) -> None:
    x = random_poses()
    shifted = x + torch.tensor([1.5, -2.0, 0.7], dtype=torch.float64)
    assert fn(shifted, x).abs().max().item() < 1e-7


def test_mpjpe_single_joint_moved_by_3_4_5() -> None:
    target = random_poses(1, 1)
    pred = target.clone()
    pred[0, 0, 13] += torch.tensor([0.003, 0.004, 0.0], dtype=torch.float64)
    out = mpjpe_frames(pred, target)
    assert out.item() == pytest.approx(0.005 / J, abs=1e-12)


def test_mpjpe_moving_root_moves_all_root_relative_joints() -> None:
    target = random_poses(1, 1)
    pred = target.clone()
    pred[0, 0, 0] += torch.tensor([0.003, 0.004, 0.0], dtype=torch.float64)
    # The root itself has error 0 after alignment; the 16 others shift by 5 mm.
    assert mpjpe_frames(pred, target).item() == pytest.approx(16 * 0.005 / J, abs=1e-12)


def test_p_mpjpe_recovers_similarity_transform() -> None:
    target = random_poses(3, 4, seed=1)
    rot = random_rotation(7)
    pred = 1.7 * target @ rot + torch.tensor([0.2, -1.0, 3.0], dtype=torch.float64)
    out = p_mpjpe_frames(pred, target)
    assert out.shape == (3, 4)
    assert out.abs().max().item() < 1e-6
    assert mpjpe_frames(pred, target).min().item() > 1e-2  # not trivially aligned


def test_p_mpjpe_mirror_needs_proper_rotation() -> None:
    # Points +-a e1, +-b e2, +-c e3 (centroid 0); the target negates x. The best proper
    # rotation is 180 deg about y (flips z, the weakest axis), the optimal scale
    # s = (a^2 + b^2 - c^2) / (a^2 + b^2 + c^2) = 6/7 and the errors are
    # 2a(1 - s) + 2b(1 - s) + 2c(1 + s) over 6 points = 6/7 for a, b, c = 3, 2, 1.
    a, b, c = 3.0, 2.0, 1.0
    pts = torch.tensor(
        [[a, 0, 0], [-a, 0, 0], [0, b, 0], [0, -b, 0], [0, 0, c], [0, 0, -c]],
        dtype=torch.float64,
    )
    target = pts.clone()
    target[:, 0] *= -1
    out = p_mpjpe_frames(pts[None, None], target[None, None])
    assert out.item() == pytest.approx(6 / 7, abs=1e-9)


def test_p_mpjpe_matches_per_frame_numpy_oracle() -> None:
    pred, target = random_poses(2, 3, seed=2), random_poses(2, 3, seed=3)
    out = p_mpjpe_frames(pred, target).numpy()
    for i in range(2):
        for t in range(3):
            x = pred[i, t].numpy() - pred[i, t].numpy().mean(0)
            y = target[i, t].numpy() - target[i, t].numpy().mean(0)
            # Umeyama in column-vector form: y ~ s R x, R = V diag(1,1,d) U^T.
            u, sig, vt = np.linalg.svd(y.T @ x)
            d = np.sign(np.linalg.det(u @ vt))
            rot = u @ np.diag([1.0, 1.0, d]) @ vt
            s = (sig * [1.0, 1.0, d]).sum() / (x**2).sum()
            err = np.linalg.norm((s * (rot @ x.T)).T - y, axis=-1).mean()
            assert out[i, t] == pytest.approx(err, abs=1e-10)


def test_n_mpjpe_scaled_copy_is_zero_and_hand_value() -> None:
    target = random_poses(2, 3, seed=4)
    pred = 0.6 * (target - target[:, :, :1]) + 5.0
    assert n_mpjpe_frames(pred, target).abs().max().item() < 1e-9
    # Two joints, root at the origin: pred (0,1,0) vs target (1,0,0) is orthogonal, so
    # the best scale is 0 and the joint's error is 1; mean over 2 joints = 0.5.
    p = torch.tensor([[[[0.0, 0, 0], [0.0, 1, 0]]]], dtype=torch.float64)
    g = torch.tensor([[[[0.0, 0, 0], [1.0, 0, 0]]]], dtype=torch.float64)
    assert n_mpjpe_frames(p, g).item() == pytest.approx(0.5, abs=1e-12)
    assert mpjpe_frames(p, g).item() == pytest.approx(math.sqrt(2) / 2, abs=1e-12)


def test_mpjve_constant_velocity_joint_drift() -> None:
    target = random_poses(1, 6, seed=5)
    v = torch.tensor([0.003, 0.0, 0.004], dtype=torch.float64)
    steps = torch.arange(6, dtype=torch.float64)[:, None]
    pred = target.clone()
    pred[0, :, 16] += steps * v  # one joint drifts: velocity error |v| every step
    pred[0, :, :] += 2 * steps[:, None] * v  # plus a whole-body drift, removed by the root
    out = mpjve_frames(pred, target)
    assert out.shape == (1, 5)
    assert torch.allclose(out, torch.full((1, 5), 0.005 / J, dtype=torch.float64), atol=1e-12)


def test_velocity_mask_needs_both_frames() -> None:
    mask = torch.tensor([[True, True, False, True, True]])
    assert velocity_mask(mask).tolist() == [[True, False, False, True]]


@pytest.mark.parametrize("fn", (*FRAME_METRICS, mpjve_frames, symmetry_gap_frames))
def test_masked_frames_are_zero_and_garbage_does_not_leak(fn) -> None:
    pred, target = random_poses(2, 5, seed=6), random_poses(2, 5, seed=7)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[0, 3:] = False
    args = (pred,) if fn is symmetry_gap_frames else (pred, target)
    clean = fn(*args, mask)
    dirty_pred = pred.clone()
    dirty_pred[0, 3:] = torch.nan
    dirty_pred[0, 4, 2] = 1e30
    dirty = fn(*((dirty_pred,) if fn is symmetry_gap_frames else (dirty_pred, target)), mask)
    assert torch.equal(clean, dirty)
    ref = fn(*args)  # unmasked values agree on valid frames, masked ones are 0
    vmask = velocity_mask(mask) if fn is mpjve_frames else mask
    assert torch.equal(clean[vmask], ref[vmask])
    assert (clean[~vmask] == 0).all()


def test_non_finite_valid_frame_gives_nan_not_an_error() -> None:
    pred, target = random_poses(1, 3, seed=8), random_poses(1, 3, seed=9)
    pred[0, 1, 5, 0] = torch.nan
    for fn in FRAME_METRICS:
        out = fn(pred, target)
        assert torch.isnan(out[0, 1]) and torch.isfinite(out[0, [0, 2]]).all()
    assert torch.isnan(mpjve_frames(pred, target)).all()  # both steps touch frame 1


@pytest.mark.parametrize(
    "fn", (*FRAME_METRICS, mpjve_frames, symmetry_gap_frames, segment_length_std)
)
def test_float32_inputs_match_float64(fn) -> None:
    pred, target = random_poses(2, 4, seed=10), random_poses(2, 4, seed=11)
    single = fn in (symmetry_gap_frames, segment_length_std)
    out32 = fn(pred.float().requires_grad_(), *(() if single else (target.float(),)))
    out64 = fn(pred, *(() if single else (target,)))
    assert out32.dtype == torch.float32 and not out32.requires_grad
    assert out64.abs().min().item() > 1e-3  # nonzero values, so the comparison means something
    assert torch.allclose(out32.double(), out64, atol=1e-6)


def test_bad_inputs_raise_clear_errors() -> None:
    x = random_poses()
    with pytest.raises(ValueError, match=r"pred: expected shape \(B, T, J, 3\)"):
        mpjpe_frames(x[..., :2], x[..., :2])
    with pytest.raises(ValueError, match="shapes differ"):
        mpjpe_frames(x, x[:, :3])
    with pytest.raises(ValueError, match="mask: expected a bool tensor"):
        mpjpe_frames(x, x, torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"mask: expected shape \(2, 5\)"):
        mpjpe_frames(x, x, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="16 joints but the skeleton has 17"):
        bone_lengths(x[:, :, :16])


# ------------------------------------------------------------------------ coherence


def test_bone_lengths_of_forward_kinematics_pose() -> None:
    lengths = {j: 0.1 * j for j in range(1, J)}
    y = bone_lengths(skeleton_pose(lengths)[None, None])
    assert y.shape == (1, 1, 16)
    expected = torch.tensor([lengths[int(c)] for c in H36M.bones[:, 0]], dtype=torch.float64)
    assert torch.allclose(y[0, 0], expected, atol=1e-12)


def test_symmetry_gap_left_thigh_longer() -> None:
    pose = skeleton_pose({joint_index("LKnee"): 0.5, joint_index("RKnee"): 0.4})
    gap = symmetry_gap_frames(pose[None, None])
    assert gap.item() == pytest.approx(0.1 / 6, abs=1e-12)
    # The symmetric pose (all bones 0.3) has no gap.
    assert symmetry_gap_frames(skeleton_pose()[None, None]).item() == pytest.approx(0, abs=1e-12)


def _alternating_forearm(t: int) -> torch.Tensor:
    """(1, t, J, 3): the left forearm alternates between lengths 1 and 3."""
    wrist = joint_index("LWrist")
    frames = [skeleton_pose({wrist: 1.0 if i % 2 == 0 else 3.0}) for i in range(t)]
    return torch.stack(frames)[None]


def test_segment_std_alternating_bone() -> None:
    x = _alternating_forearm(4)
    assert bone_lengths(x)[0, :, bone_of_child(joint_index("LWrist"))].tolist() == pytest.approx(
        [1.0, 3.0, 1.0, 3.0]
    )
    # Population std of 1, 3, 1, 3 is 1; the 15 constant bones have std 0.
    assert segment_length_std(x).item() == pytest.approx(1 / 16, abs=1e-12)


def test_segment_std_mask_and_short_sequences() -> None:
    x = torch.cat([_alternating_forearm(4), _alternating_forearm(4)])  # (2, 4, J, 3)
    x[:, 3] = x[:, 2]  # frames 0..2 hold lengths 1, 3, 1
    x[0, 3] = torch.nan  # garbage in a padded frame
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    out = segment_length_std(x, mask)
    # 1, 3, 1: mean 5/3, population std sqrt(8/9) = 2 sqrt(2) / 3.
    assert out[0].item() == pytest.approx(2 * math.sqrt(2) / 3 / 16, abs=1e-12)
    assert math.isnan(out[1].item())  # one valid frame: undefined


# ---------------------------------------------------------------------- aggregation


def test_accumulator_frame_weighted_and_action_averaged() -> None:
    acc = MetricAccumulator()
    values = torch.tensor([[1.0, 2.0, 3.0], [10.0, 99.0, 99.0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    acc.update_frames("mpjpe", values, mask, ["Walking", "Eating"])
    s = acc.summary()["mpjpe"]
    assert s["per_action"] == {"Eating": 10.0, "Walking": 2.0}
    assert s["frame_weighted"] == pytest.approx(16 / 4)
    assert s["action_averaged"] == pytest.approx((2.0 + 10.0) / 2)
    assert s["num_frames"] == 4 and s["skipped"] == 0
    assert acc.summary(scale=1000.0)["mpjpe"]["frame_weighted"] == pytest.approx(4000.0)


def test_accumulator_update_weights_and_nan_skipped() -> None:
    acc = MetricAccumulator()
    acc.update(
        "segment_std",
        torch.tensor([1.0, math.nan, 4.0, 2.0]),
        torch.tensor([3.0, 5.0, 1.0, 0.0]),
        ["A", "A", "B", "B"],
    )
    s = acc.summary()["segment_std"]
    assert s["per_action"] == {"A": 1.0, "B": 4.0}
    assert s["frame_weighted"] == pytest.approx((3 * 1.0 + 4.0) / 4)
    assert s["skipped"] == 1
    with pytest.raises(ValueError, match="weights: expected finite values >= 0"):
        acc.update("x", torch.ones(2), torch.tensor([1.0, -1.0]), ["A", "A"])
    with pytest.raises(ValueError, match="actions: expected a sequence of 2"):
        acc.update("x", torch.ones(2), torch.ones(2), ["A"])


def test_update_sequences_weighs_by_valid_frames() -> None:
    acc = MetricAccumulator()
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    acc.update_sequences("segment_std", torch.tensor([2.0, 8.0]), mask, ["A", "A"])
    assert acc.summary()["segment_std"]["frame_weighted"] == pytest.approx((3 * 2 + 8) / 4)


def _fill(acc: MetricAccumulator, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(3, 4, generator=g, dtype=torch.float64)
    mask = torch.rand(3, 4, generator=g) > 0.3
    actions = ["Sitting", "Walking", "Sitting"][: 3 - seed % 2] + ["Posing"] * (seed % 2)
    acc.update_frames("mpjpe", values, mask, actions)
    acc.update_sequences("segment_std", values[:, 0], mask, actions)


def test_merge_equals_single_accumulator_and_state_roundtrip() -> None:
    whole, left, right = MetricAccumulator(), MetricAccumulator(), MetricAccumulator()
    for seed in range(4):
        _fill(whole, seed)
        _fill(left if seed < 2 else right, seed)
    merged = MetricAccumulator().merge(left).merge(right)
    a, b = whole.summary(), merged.summary()
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["per_action"] == pytest.approx(b[name]["per_action"], rel=1e-12)
        assert a[name]["frame_weighted"] == pytest.approx(b[name]["frame_weighted"], rel=1e-12)
    restored = MetricAccumulator.from_state_dict(json.loads(json.dumps(merged.state_dict())))
    assert restored.summary() == merged.summary()
    with pytest.raises(ValueError, match="state: expected a mapping"):
        MetricAccumulator().load_state_dict({"metrics": {}})


def test_to_table_rows_and_values() -> None:
    acc = MetricAccumulator()
    acc.update_frames("mpjpe", torch.tensor([[0.04, 0.05]]), None, ["Walking"])
    acc.update_frames("p_mpjpe", torch.tensor([[0.02, 0.02]]), None, ["Eating"])
    table = to_table(acc.summary(scale=1000.0), metrics=["mpjpe", "p_mpjpe"])
    lines = table.splitlines()
    assert lines[0].split() == ["action", "mpjpe", "p_mpjpe"]
    body = {line.split()[0]: line.split()[1:] for line in lines if not line.startswith("-")}
    assert body["Eating"] == ["-", "20.0"]
    assert body["Walking"] == ["45.0", "-"]
    assert body["frame_weighted"] == ["45.0", "20.0"]
    assert body["action_averaged"] == ["45.0", "20.0"]
    with pytest.raises(ValueError, match="'mpjve' not in the summary"):
        to_table(acc.summary(), metrics=["mpjve"])


def test_evaluate_batch_identity_and_reference() -> None:
    target = torch.stack([_alternating_forearm(4)[0], skeleton_pose()[None].expand(4, J, 3)])
    acc = MetricAccumulator(with_reference=True)
    evaluate_batch(target.clone(), target, None, ["A", "B"], acc)
    s = acc.summary()
    assert set(s) == set(METRIC_NAMES) | {"symmetry_gap_gt", "segment_std_gt"}
    for name in ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve"):
        assert s[name]["frame_weighted"] == pytest.approx(0, abs=1e-7)
    assert s["segment_std"]["per_action"] == pytest.approx({"A": 1 / 16, "B": 0.0}, abs=1e-12)
    assert s["segment_std_gt"] == s["segment_std"]
    assert s["mpjve"]["num_frames"] == 6  # 2 sequences x 3 steps


def test_evaluate_batch_matches_direct_masked_means() -> None:
    pred = random_poses(3, 5, seed=12).float().requires_grad_()
    target = random_poses(3, 5, seed=13).float()
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1, 2:] = False
    acc = MetricAccumulator()
    evaluate_batch(pred, target, mask, ["A", "B", "A"], acc)
    s = acc.summary()
    assert "symmetry_gap_gt" not in s
    with torch.no_grad():
        p = mpjpe_frames(pred, target, mask).double()
        vel = mpjve_frames(pred, target, mask).double()
    vmask = velocity_mask(mask)
    assert s["mpjpe"]["frame_weighted"] == pytest.approx(p[mask].mean().item(), rel=1e-6)
    assert s["mpjpe"]["per_action"]["B"] == pytest.approx(p[1, :2].mean().item(), rel=1e-6)
    assert s["mpjve"]["frame_weighted"] == pytest.approx(vel[vmask].mean().item(), rel=1e-6)
    assert s["mpjve"]["num_frames"] == int(vmask.sum())
    with pytest.raises(ValueError, match="actions: expected a sequence of 3"):
        evaluate_batch(pred, target, mask, ["A"], acc)


# --------------------------------------------------------------------------- registry


def test_summary_keys_follow_the_registry_order() -> None:
    """The stored summary's keys (and so the JSON's order) are the registry's, as before."""
    assert METRIC_NAMES == ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve", "symmetry_gap", "segment_std")
    assert REFERENCE_METRIC_NAMES == ("symmetry_gap_gt", "segment_std_gt")
    acc = MetricAccumulator(with_reference=True)
    evaluate_batch(random_poses(2, 4, 1), random_poses(2, 4, 2), None, ["A", "B"], acc)
    assert list(acc.summary()) == [*METRIC_NAMES, *REFERENCE_METRIC_NAMES]


def test_registry_entries_say_how_to_show_a_metric() -> None:
    seg = metric_spec("segment_std")
    assert (seg.display, seg.long, seg.abbreviated, seg.in_text) == (
        "Segment std", "Segment-length std", "seg. std", "segment std"
    )  # fmt: skip
    assert seg.heading == "Segment-length std (mm)" and seg.of_pose and seg.digits == 1
    assert metric_spec("segment_std_gt") is seg
    mpjpe, fps = metric_spec("mpjpe"), metric_spec("frames_per_second")
    assert (mpjpe.in_text, mpjpe.heading, fps.heading) == ("MPJPE", "MPJPE (mm)", "Frames/s")
    assert mpjpe.better(40.0, 50.0) and not mpjpe.better(50.0, 50.0)
    assert fps.better(50.0, 40.0) and fps.compute is None
    assert metric_spec("mpjve").unit == "mm/frame"
    with pytest.raises(ValueError, match="unknown name 'mpjpe_gt'"):
        metric_spec("mpjpe_gt")  # a pose error has no ground-truth floor
    with pytest.raises(ValueError, match="unknown name 'pck'"):
        metric_spec("pck")
    summary = {"frames_per_second": 12.5, "metrics_mm": {"mpjpe": {"frame_weighted": 41.0}}}
    assert summary_value(summary, "frames_per_second") == 12.5
    assert summary_value(summary, "mpjpe") == 41.0


def test_a_new_registry_entry_reaches_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a metric is one function and one entry: evaluate_batch walks the registry."""
    import diffhpe.metrics.registry as registry

    def max_error_frames(
        pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        err = torch.linalg.vector_norm(pred - target, dim=-1).amax(dim=-1)
        return torch.where(mask, err, 0.0)

    extra = MetricSpec("max_error", "Max error", max_error_frames)
    monkeypatch.setattr(registry, "METRICS", (*registry.METRICS, extra))
    pred, target = random_poses(2, 4, 3), random_poses(2, 4, 4)
    acc = MetricAccumulator()
    evaluate_batch(pred, target, None, ["A", "B"], acc)
    want = torch.linalg.vector_norm(pred - target, dim=-1).amax(dim=-1).mean().item()
    assert list(acc.summary()) == [*METRIC_NAMES, "max_error"]
    assert acc.summary()["max_error"]["frame_weighted"] == pytest.approx(want)
