"""Training and evaluation windows: coverage, padding, stitching, sampling, mirroring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffhpe.data.windows import EvalWindows, PoseSequence, TrainWindows

L = 27


def _sequence(n: int, seq_id: int = 0, joints: int = 17) -> PoseSequence:
    """Every value encodes (sequence, frame, joint, coord), so windows can be traced back."""
    frame = np.arange(n, dtype=np.float32)[:, None, None]
    joint = np.arange(joints, dtype=np.float32)[None, :, None]
    pose2d = 1000.0 * seq_id + frame + joint / 100.0 + np.array([0.0, 0.5], np.float32)
    pose3d = -(1000.0 * seq_id + frame + joint / 100.0) + np.array([0.0, 0.25, 0.75], np.float32)
    pose3d = pose3d - pose3d[:, :1]  # root-relative
    return PoseSequence(pose2d, pose3d, f"act{seq_id}", "S9", "cam0", f"clip{seq_id}")


def _asymmetric_sequence(n: int) -> PoseSequence:
    rng = np.random.default_rng(0)
    pose2d = rng.normal(size=(n, 17, 2)).astype(np.float32)
    pose3d = rng.normal(size=(n, 17, 3)).astype(np.float32)
    pose3d -= pose3d[:, :1]
    return PoseSequence(pose2d, pose3d, "walk", "S1", "cam1", "asym")


def _rename(seq: PoseSequence, name: str) -> PoseSequence:
    return PoseSequence(seq.pose2d, seq.pose3d, seq.action, seq.subject, seq.camera, name)


# ---------------------------------------------------------------- PoseSequence


def test_pose_sequence_validation_names_sequence_and_field() -> None:
    good = _sequence(5)
    with pytest.raises(ValueError, match=r"'bad'.*pose2d must have shape \(N, J, 2\)"):
        PoseSequence(good.pose3d, good.pose3d, "a", "S1", "c", "bad")
    with pytest.raises(ValueError, match=r"'bad'.*pose3d must have shape \(N, J, 3\)"):
        PoseSequence(good.pose2d, good.pose2d, "a", "S1", "c", "bad")
    with pytest.raises(ValueError, match=r"'bad'.*must share \(N, J\)"):
        PoseSequence(good.pose2d[:4], good.pose3d, "a", "S1", "c", "bad")
    with pytest.raises(ValueError, match=r"'bad'.*root-relative"):
        PoseSequence(good.pose2d, good.pose3d + 1.0, "a", "S1", "c", "bad")
    nan3d = good.pose3d.copy()
    nan3d[2, 4, 1] = np.nan
    with pytest.raises(ValueError, match=r"'bad'.*pose3d must be finite"):
        PoseSequence(good.pose2d, nan3d, "a", "S1", "c", "bad")
    with pytest.raises(ValueError, match="'odd'.*has 16 joints"):
        TrainWindows([good, _rename(_sequence(5, joints=16), "odd")], mirror=False)


# ----------------------------------------------------------------- EvalWindows


@pytest.mark.parametrize("n", [1, L - 1, L, L + 1, 2 * L + 5])
def test_eval_windows_cover_every_frame_once(n: int) -> None:
    seqs = [_sequence(n, 0), _sequence(n + 3, 1)]
    ev = EvalWindows(seqs, L)
    batches = list(ev.batches(batch_size=2))
    total = sum(int(b["frame_mask"].sum()) for b in batches)
    assert total == sum(len(s) for s in seqs) == ev.num_frames
    counts = [np.zeros(len(s), dtype=int) for s in seqs]
    for b in batches:
        for s, start, fm in zip(b["seq_index"], b["start"], b["frame_mask"], strict=True):
            counts[int(s)][int(start) + np.flatnonzero(fm.numpy())] += 1
        # Every window's values come from its own sequence and start (edge-padded).
        x2d = b["x2d"].numpy()
        for i, (s, start) in enumerate(zip(b["seq_index"], b["start"], strict=True)):
            frames = np.minimum(int(start) + np.arange(L), len(seqs[int(s)]) - 1)
            np.testing.assert_array_equal(x2d[i], seqs[int(s)].pose2d[frames])
    for c in counts:
        np.testing.assert_array_equal(c, 1)


def test_eval_windows_layout_2l_plus_5() -> None:
    ev = EvalWindows([_sequence(2 * L + 5)], L)
    np.testing.assert_array_equal(ev.start, [0, L, L + 5])
    # The last window ends on the last frame; only its final 5 frames are new.
    np.testing.assert_array_equal(ev.frame_mask[2], np.arange(L) >= L - 5)
    assert ev.frame_mask[:2].all()


def test_eval_windows_short_sequence_padded_and_masked() -> None:
    seq = _sequence(10, 3)
    ev = EvalWindows([seq], L)
    assert len(ev) == 1
    (b,) = list(ev.batches(8))
    assert b["x2d"].shape == (1, L, 17, 2) and b["x3d"].shape == (1, L, 17, 3)
    np.testing.assert_array_equal(b["frame_mask"][0].numpy(), np.arange(L) < 10)
    # Padding repeats the last real frame.
    for t in range(10, L):
        np.testing.assert_array_equal(b["x3d"][0, t].numpy(), seq.pose3d[9])
    assert b["actions"] == ["act3"]
    assert b["valid"].all()


def test_eval_batches_sizes_and_actions() -> None:
    seqs = [_sequence(100, 0), _sequence(30, 1), _sequence(5, 2)]
    ev = EvalWindows(seqs, L)
    assert len(ev) == 4 + 2 + 1
    batches = list(ev.batches(3))
    assert [len(b["actions"]) for b in batches] == [3, 3, 1]
    assert batches[0]["actions"] == ["act0"] * 3
    assert batches[1]["actions"] == ["act0", "act1", "act1"]
    with pytest.raises(ValueError, match="batch_size"):
        next(ev.batches(0))


@pytest.mark.parametrize("limit", [0, 1, 3, 4, 5, 7, 100, -1])
def test_eval_batches_limit_cuts_the_same_windows(limit: int) -> None:
    """``limit`` keeps the first windows, in the same batches, as cutting every batch."""
    ev = EvalWindows([_sequence(100, 0), _sequence(30, 1), _sequence(5, 2)], L)
    expected, seen = [], 0
    for b in ev.batches(3):  # the loop evaluation and validation used to write
        if seen >= limit:
            break
        n = min(len(b["actions"]), limit - seen)
        seen += n
        expected.append({k: v[:n] for k, v in b.items()})
    got = list(ev.batches(3, limit))
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.keys() == e.keys()
        assert g["actions"] == e["actions"]
        for k in ("x2d", "x3d", "valid", "frame_mask", "seq_index", "start"):
            assert g[k].dtype == e[k].dtype and torch.equal(g[k], e[k]), k
    assert sum(len(b["actions"]) for b in ev.batches(3, None)) == len(ev)


def test_stitch_ground_truth_returns_sequences_exactly() -> None:
    seqs = [_sequence(n, i) for i, n in enumerate([1, L - 1, L, L + 1, 2 * L + 5, 200])]
    ev = EvalWindows(seqs, L)
    batches = list(ev.batches(4))
    out3d = ev.stitch([b["x3d"] for b in batches])
    out2d = ev.stitch([b["x2d"].numpy() for b in batches])  # numpy input works too
    for seq, a3, a2 in zip(seqs, out3d, out2d, strict=True):
        np.testing.assert_array_equal(a3, seq.pose3d)
        np.testing.assert_array_equal(a2, seq.pose2d)


def test_stitch_rejects_wrong_window_count_and_shape() -> None:
    ev = EvalWindows([_sequence(60)], L)
    batches = list(ev.batches(2))
    with pytest.raises(ValueError, match="expected 3"):
        ev.stitch([batches[0]["x3d"]])
    with pytest.raises(ValueError, match=r"preds\[0\] must have shape"):
        ev.stitch([b["x3d"][:, :5] for b in batches])


def test_nan_2d_becomes_invalid_zero() -> None:
    seq = _sequence(40)
    seq.pose2d[5, 3, 1] = np.nan
    ev = EvalWindows([seq], L)
    b = next(ev.batches(1))
    assert not b["valid"][0, 5, 3] and int((~b["valid"]).sum()) == 1
    assert torch.equal(b["x2d"][0, 5, 3], torch.zeros(2))
    np.testing.assert_array_equal(b["x2d"][0, 5, 4].numpy(), seq.pose2d[5, 4])  # untouched


# ---------------------------------------------------------------- TrainWindows


def test_train_starts_uniform_over_valid_starts() -> None:
    lengths = [30, 50, L, 10]  # 4 + 24 + 1 + 1 = 30 valid starts
    tw = TrainWindows([_sequence(n, i) for i, n in enumerate(lengths)], L, mirror=False)
    b = tw.sample(30000, np.random.default_rng(1))
    seq, start = b["seq_index"].numpy(), b["start"].numpy()
    n = np.array(lengths)[seq]
    assert (start >= 0).all() and (start <= np.maximum(n - L, 0)).all()
    # Windows of sequences at least L long hold only real frames.
    assert b["frame_mask"][torch.from_numpy(n >= L)].all()
    key = np.concatenate([[0], np.cumsum(np.maximum(np.array(lengths) - L + 1, 1))])[seq] + start
    counts = np.bincount(key, minlength=30)
    assert len(counts) == 30
    expected = 30000 / 30
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 70  # 29 degrees of freedom: mean 29, P(chi2 > 70) ~ 3e-5
    # Windows hold the right frames: x2d[..., 0] at joint 0 is 1000 * seq + frame.
    frames = np.minimum(start[:, None] + np.arange(L), np.array(lengths)[seq][:, None] - 1)
    np.testing.assert_array_equal(b["x2d"][:, :, 0, 0].numpy(), 1000.0 * seq[:, None] + frames)


def test_train_short_sequence_padded() -> None:
    tw = TrainWindows([_sequence(10)], L, mirror=False)
    b = tw.sample(4)
    assert b["x2d"].shape == (4, L, 17, 2) and b["x3d"].shape == (4, L, 17, 3)
    assert b["valid"].shape == (4, L, 17) and b["frame_mask"].shape == (4, L)
    np.testing.assert_array_equal(b["frame_mask"].numpy(), np.tile(np.arange(L) < 10, (4, 1)))
    assert torch.equal(b["x2d"][:, 10:], b["x2d"][:, 9:10].expand(4, L - 10, 17, 2))
    assert b["start"].eq(0).all()


def test_train_mirror_half_and_exact() -> None:
    seq = _asymmetric_sequence(L)  # a single start: every window is the whole sequence
    tw = TrainWindows([seq], L, mirror=True)
    b = tw.sample(4000, np.random.default_rng(2))
    flip = b["mirrored"].numpy()
    assert abs(flip.mean() - 0.5) < 0.03
    x2d, x3d = b["x2d"].numpy(), b["x3d"].numpy()
    np.testing.assert_array_equal(x2d[~flip], np.broadcast_to(seq.pose2d, x2d[~flip].shape))
    i = int(np.flatnonzero(flip)[0])
    # Right hip (1) takes the left hip's (4) position with x negated, and vice versa;
    # centre joints (pelvis 0, spine 7) only have x negated.
    for j_out, j_in in [(1, 4), (4, 1), (3, 6), (16, 13), (13, 16), (0, 0), (7, 7)]:
        np.testing.assert_array_equal(x2d[i, :, j_out, 0], -seq.pose2d[:, j_in, 0])
        np.testing.assert_array_equal(x2d[i, :, j_out, 1], seq.pose2d[:, j_in, 1])
        np.testing.assert_array_equal(x3d[i, :, j_out, 0], -seq.pose3d[:, j_in, 0])
        np.testing.assert_array_equal(x3d[i, :, j_out, 1:], seq.pose3d[:, j_in, 1:])
    # All mirrored windows are identical to each other.
    assert (x3d[flip] == x3d[i]).all()
    assert not TrainWindows([seq], L, mirror=False).sample(200)["mirrored"].any()


def test_train_nan_handling_with_mirror() -> None:
    seq = _sequence(L)
    seq.pose2d[5, 3, 0] = np.nan  # right ankle of frame 5
    b = TrainWindows([seq], L, mirror=True).sample(64)
    flip = b["mirrored"]
    assert flip.any() and (~flip).any()
    invalid = ~b["valid"]
    assert int(invalid.sum()) == 64
    # The missing right ankle (3) becomes the missing left ankle (6) when mirrored.
    assert invalid[~flip, 5, 3].all() and invalid[flip, 5, 6].all()
    assert torch.equal(b["x2d"][invalid], torch.zeros(64, 2))
    assert not torch.signbit(b["x2d"][invalid]).any()  # +0, not -0
    assert torch.isfinite(b["x2d"]).all()


def test_train_determinism_and_iterate() -> None:
    seqs = [_sequence(n, i) for i, n in enumerate([40, 90, 12])]
    a = TrainWindows(seqs, L, seed=5)
    b = TrainWindows(seqs, L, seed=5)
    for _ in range(3):
        ba, bb = a.sample(16), b.sample(16)
        for k in ba:
            assert torch.equal(ba[k], bb[k]), k
    c = TrainWindows(seqs, L, seed=6).sample(16)
    assert not torch.equal(c["start"], TrainWindows(seqs, L, seed=5).sample(16)["start"])
    r1 = a.sample(8, np.random.default_rng(3))
    r2 = b.sample(8, np.random.default_rng(3))
    assert torch.equal(r1["x3d"], r2["x3d"])
    it = TrainWindows(seqs, L, seed=5).iterate(16)
    first = next(it)
    assert torch.equal(first["x2d"], TrainWindows(seqs, L, seed=5).sample(16)["x2d"])
    assert next(it)["x2d"].shape == (16, L, 17, 2)


def test_train_epoch_size_and_errors() -> None:
    tw = TrainWindows([_sequence(100), _sequence(62, 1)], L)
    assert tw.epoch_size == 162 // L == 6
    with pytest.raises(ValueError, match="batch_size"):
        tw.sample(0)
    with pytest.raises(ValueError, match="TrainWindows: sequences is empty"):
        TrainWindows([], L)
    with pytest.raises(ValueError, match="length must be a positive int"):
        TrainWindows([_sequence(5)], 0)
    with pytest.raises(ValueError, match="mirror needs 17-joint"):
        TrainWindows([_sequence(5, joints=5)], L, mirror=True)


def test_every_kth_eval_window_keeps_full_rate_windows():
    rng = np.random.default_rng(0)
    poses = [rng.normal(size=(n, 17, 3)) for n in (60, 100)]
    seqs = [
        PoseSequence(rng.normal(size=(len(p), 17, 2)), p - p[:, :1], "a", "s", "c", f"q{i}")
        for i, p in enumerate(poses)
    ]
    full = EvalWindows(seqs, 27)
    sub = full.every(2)
    assert len(sub) == (len(full) + 1) // 2
    assert np.array_equal(sub.start, full.start[::2]) and np.array_equal(
        sub.seq_index, full.seq_index[::2]
    )
    a = next(iter(sub.batches(100)))
    b = next(iter(full.batches(100)))
    assert torch.equal(a["x3d"], b["x3d"][::2]) and torch.equal(
        a["frame_mask"], b["frame_mask"][::2]
    )
    assert full.every(1) is full and len(full) == 7  # 2 + tail, 3 + tail
    with pytest.raises(ValueError, match="k must be >= 1"):
        full.every(0)
