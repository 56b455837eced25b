"""Fixed-length windows cut from pose sequences: random ones to train, tiling ones to evaluate.

Shapes: B batch (windows), L window length (frames), N frames of a sequence, J joints
(17), C coordinates. Batches are dicts of torch tensors laid out ``(B, L, J, C)``.

2D inputs are normalised screen coordinates: x in [0, w] maps to [-1, 1] (and y
keeps the aspect ratio), so the image centre is x = 0 and negating x is the
horizontal image mirror. This is what makes :func:`diffhpe.skeleton.mirror_poses`
a valid augmentation for 2D and camera-frame 3D alike.

Joints whose 2D coordinates are NaN (or infinite), e.g. outside the image, come out
with ``valid`` False and their coordinates set to 0, the value occlusions use too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from diffhpe.data.families import apply_family, parse_families
from diffhpe.data.hard_errors import apply_hard_errors
from diffhpe.skeleton import H36M, Skeleton, mirror_poses


@dataclass
class PoseSequence:
    """One clip seen by one camera.

    pose2d: (N, J, 2) float32 normalised screen coordinates, may hold NaN.
    pose3d: (N, J, 3) float32 root-relative camera-frame metres (pose3d[:, 0] == 0).
    """

    pose2d: np.ndarray
    pose3d: np.ndarray
    action: str
    subject: str
    camera: str
    name: str

    def __post_init__(self) -> None:
        where = f"PoseSequence {self.name!r}"
        self.pose2d = np.asarray(self.pose2d, dtype=np.float32)
        self.pose3d = np.asarray(self.pose3d, dtype=np.float32)
        if self.pose2d.ndim != 3 or self.pose2d.shape[-1] != 2:
            raise ValueError(f"{where}: pose2d must have shape (N, J, 2), got {self.pose2d.shape}")
        if self.pose3d.ndim != 3 or self.pose3d.shape[-1] != 3:
            raise ValueError(f"{where}: pose3d must have shape (N, J, 3), got {self.pose3d.shape}")
        if self.pose2d.shape[:2] != self.pose3d.shape[:2]:
            raise ValueError(
                f"{where}: pose2d {self.pose2d.shape} and pose3d {self.pose3d.shape} "
                f"must share (N, J)"
            )
        if min(self.pose2d.shape[:2]) < 1:
            raise ValueError(
                f"{where}: pose2d and pose3d need at least one frame and one joint, "
                f"got (N, J) = {self.pose2d.shape[:2]}"
            )
        if not np.isfinite(self.pose3d).all():
            raise ValueError(f"{where}: pose3d must be finite (NaN/inf found)")
        if np.abs(self.pose3d[:, 0]).max() > 1e-5:
            raise ValueError(f"{where}: pose3d must be root-relative (pose3d[:, 0] == 0)")

    def __len__(self) -> int:
        return self.pose2d.shape[0]


class _Concatenated:
    """All sequences stacked once along frames, with a vectorised window gather."""

    def __init__(self, sequences: Sequence[PoseSequence], length: int, owner: str) -> None:
        if not isinstance(length, int) or length < 1:
            raise ValueError(f"{owner}: length must be a positive int, got {length!r}")
        if len(sequences) == 0:
            raise ValueError(f"{owner}: sequences is empty; expected at least one PoseSequence")
        for i, seq in enumerate(sequences):
            if not isinstance(seq, PoseSequence):
                raise ValueError(
                    f"{owner}: sequences[{i}] must be a PoseSequence, got {type(seq).__name__}"
                )
        joints = sequences[0].pose2d.shape[1]
        for seq in sequences:
            if seq.pose2d.shape[1] != joints:
                raise ValueError(
                    f"{owner}: PoseSequence {seq.name!r} has {seq.pose2d.shape[1]} joints, "
                    f"{sequences[0].name!r} has {joints}; all sequences must share J"
                )
        self.length = length
        self.joints = joints
        self.lengths = np.array([len(s) for s in sequences], dtype=np.int64)  # (S,)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        pose2d = np.concatenate([s.pose2d for s in sequences])  # (sum N, J, 2)
        self.valid = np.isfinite(pose2d).all(axis=-1)  # (sum N, J)
        self.pose2d = np.where(self.valid[..., None], pose2d, np.float32(0.0))
        self.pose3d = np.concatenate([s.pose3d for s in sequences])  # (sum N, J, 3)

    def gather(
        self, seq: np.ndarray, start: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Windows ``(B, L, ...)`` of sequences ``seq`` (B,) from frames ``start`` (B,).

        Frames past a sequence's end repeat its last frame (edge padding); the returned
        ``real`` (B, L) is False on them. Returns ``(x2d, x3d, valid, real)``.
        """
        local = start[:, None] + np.arange(self.length)[None, :]  # (B, L)
        n = self.lengths[seq][:, None]
        real = local < n
        index = self.offsets[seq][:, None] + np.minimum(local, n - 1)
        return self.pose2d[index], self.pose3d[index], self.valid[index], real


def _to_batch(
    x2d: np.ndarray, x3d: np.ndarray, valid: np.ndarray, frame_mask: np.ndarray
) -> dict[str, Tensor]:
    return {
        "x2d": torch.from_numpy(np.ascontiguousarray(x2d)),
        "x3d": torch.from_numpy(np.ascontiguousarray(x3d)),
        "valid": torch.from_numpy(np.ascontiguousarray(valid)),
        "frame_mask": torch.from_numpy(np.ascontiguousarray(frame_mask)),
    }


class TrainWindows:
    """Random training windows, each start frame of each sequence equally likely.

    A sequence of N >= L frames offers N - L + 1 starts (windows stay inside it), so
    sequences are drawn in proportion to their length. A sequence shorter than L
    offers one start, 0, and is edge-padded with ``frame_mask`` False on the padding.
    With ``mirror``, each window is left/right mirrored with probability 0.5. With
    ``families`` (e.g. ``"exact:2,mpii:1,coco:1"``, see :mod:`diffhpe.data.families`),
    each window's 2D is turned into one drawn detector family's joint definitions (the
    3D targets stay the mocap joints). With ``hard_errors`` = p, each window gets, with
    probability p, one gross detector error (:mod:`diffhpe.data.hard_errors`).
    """

    def __init__(
        self,
        sequences: Sequence[PoseSequence],
        length: int = 27,
        mirror: bool = True,
        seed: int = 0,
        skeleton: Skeleton = H36M,
        families: str = "exact",
        hard_errors: float = 0.0,
    ) -> None:
        self.data = _Concatenated(sequences, length, "TrainWindows")
        self.families, self.family_probs = parse_families(families)
        if not 0.0 <= hard_errors <= 1.0:
            raise ValueError(f"TrainWindows: hard_errors must be in [0, 1], got {hard_errors}")
        self.hard_errors = hard_errors
        if self.families != ("exact",) and self.data.joints != skeleton.num_joints:
            raise ValueError(
                f"TrainWindows: 2D definition families need {skeleton.num_joints}-joint "
                f"poses, got J={self.data.joints}"
            )
        if mirror and self.data.joints != skeleton.num_joints:
            raise ValueError(
                f"TrainWindows: mirror needs {skeleton.num_joints}-joint poses to swap "
                f"sides, got J={self.data.joints}"
            )
        self.length = length
        self.mirror = mirror
        self.skeleton = skeleton
        self.rng = np.random.default_rng(seed)
        # Cumulative index over valid starts: global start u belongs to the sequence s
        # with cum_starts[s-1] <= u < cum_starts[s].
        self.num_starts = np.maximum(self.data.lengths - length + 1, 1)  # (S,)
        self.cum_starts = np.cumsum(self.num_starts)

    @property
    def num_frames(self) -> int:
        return int(self.data.lengths.sum())

    @property
    def epoch_size(self) -> int:
        """Windows per "epoch": total frames // L (at least 1)."""
        return max(1, self.num_frames // self.length)

    def sample(self, batch_size: int, rng: np.random.Generator | None = None) -> dict[str, Tensor]:
        """One random batch (``rng`` defaults to the one seeded at construction).

        Returns ``x2d (B, L, J, 2)``, ``x3d (B, L, J, 3)``, ``valid (B, L, J)`` bool,
        ``frame_mask (B, L)`` bool, ``seq_index (B,)``, ``start (B,)`` and
        ``mirrored (B,)`` bool.
        """
        if batch_size < 1:
            raise ValueError(f"TrainWindows.sample: batch_size must be >= 1, got {batch_size}")
        rng = self.rng if rng is None else rng
        u = rng.integers(0, self.cum_starts[-1], size=batch_size)
        seq = np.searchsorted(self.cum_starts, u, side="right")
        start = u - (self.cum_starts[seq] - self.num_starts[seq])
        x2d, x3d, valid, real = self.data.gather(seq, start)
        if self.mirror:
            flip = rng.random(batch_size) < 0.5
        else:
            flip = np.zeros(batch_size, dtype=bool)
        if flip.any():
            x2d[flip] = mirror_poses(x2d[flip], self.skeleton)
            x3d[flip] = mirror_poses(x3d[flip], self.skeleton)
            valid[flip] = valid[flip][..., self.skeleton.mirror_perm]
            # Negating a zeroed missing joint gives -0.0; keep it a plain 0.
            x2d[~valid] = 0.0
        family = np.zeros(batch_size, dtype=np.int64)
        if self.families != ("exact",):
            family = rng.choice(len(self.families), size=batch_size, p=self.family_probs)
            for k, name in enumerate(self.families):
                sel = family == k
                if name != "exact" and sel.any():
                    x2d[sel], valid[sel] = apply_family(name, x2d[sel], x3d[sel], valid[sel])
        hard = np.full(batch_size, -1, dtype=np.int64)
        if self.hard_errors > 0:
            x2d, valid, hard = apply_hard_errors(self.hard_errors, x2d, x3d, valid, rng)
        batch = _to_batch(x2d, x3d, valid, real)
        batch["seq_index"] = torch.from_numpy(seq)
        batch["start"] = torch.from_numpy(start)
        batch["mirrored"] = torch.from_numpy(flip)
        batch["family"] = torch.from_numpy(family)  # index into self.families
        batch["hard_error"] = torch.from_numpy(hard)  # index into hard_errors.KINDS, -1: none
        return batch

    def iterate(self, batch_size: int) -> Iterator[dict[str, Tensor]]:
        """Endless stream of :meth:`sample` batches from the constructor-seeded rng."""
        while True:
            yield self.sample(batch_size)


class EvalWindows:
    """Deterministic windows covering every frame of every sequence exactly once.

    Each sequence is tiled with consecutive non-overlapping windows; when L does not
    divide N, the last window is shifted back to end on the last frame (full context
    of real frames) and its ``frame_mask`` is True only on the frames the previous
    window did not cover. Sequences shorter than L get one edge-padded window whose
    ``frame_mask`` is False on the padding.
    """

    def __init__(self, sequences: Sequence[PoseSequence], length: int = 27) -> None:
        self.data = _Concatenated(sequences, length, "EvalWindows")
        self.sequences = list(sequences)
        self.length = length
        seqs, starts, masks = [], [], []
        t = np.arange(length)
        for s, n in enumerate(self.data.lengths.tolist()):
            full = max(1, n // length)  # short sequences still get their one window
            for k in range(full):
                seqs.append(s)
                starts.append(k * length)
                masks.append(k * length + t < n)
            covered = full * length
            if covered < n:
                start = n - length
                seqs.append(s)
                starts.append(start)
                masks.append(start + t >= covered)
        self.seq_index = np.array(seqs, dtype=np.int64)  # (W,)
        self.start = np.array(starts, dtype=np.int64)  # (W,)
        self.frame_mask = np.stack(masks)  # (W, L)

    def __len__(self) -> int:
        return len(self.seq_index)

    def every(self, k: int) -> EvalWindows:
        """Keep every ``k``-th window (a test subset spread over every clip, each window at
        the full frame rate); ``k = 1`` keeps all."""
        if k < 1:
            raise ValueError(f"EvalWindows.every: k must be >= 1, got {k}")
        if k == 1:
            return self
        sub = copy.copy(self)
        sub.seq_index, sub.start = self.seq_index[::k], self.start[::k]
        sub.frame_mask = self.frame_mask[::k]
        return sub

    @property
    def num_frames(self) -> int:
        return int(self.data.lengths.sum())

    def batches(self, batch_size: int, limit: int | None = None) -> Iterator[dict]:
        """Windows in order, ``batch_size`` at a time (the last batch may be smaller).

        ``limit``: only the first ``limit`` windows (None: all), the batches cut where
        they would pass it: the same windows, in the same batches, as taking every
        batch and keeping its windows up to the limit.

        Each dict holds ``x2d (B, L, J, 2)``, ``x3d (B, L, J, 3)``, ``valid (B, L, J)``,
        ``frame_mask (B, L)``, ``seq_index (B,)``, ``start (B,)`` and ``actions``
        (list of B str).
        """
        if batch_size < 1:
            raise ValueError(f"EvalWindows.batches: batch_size must be >= 1, got {batch_size}")
        stop = len(self) if limit is None else max(0, min(limit, len(self)))
        for lo in range(0, stop, batch_size):
            hi = min(lo + batch_size, stop)
            seq = self.seq_index[lo:hi]
            start = self.start[lo:hi]
            x2d, x3d, valid, _ = self.data.gather(seq, start)
            batch: dict = _to_batch(x2d, x3d, valid, self.frame_mask[lo:hi])
            batch["seq_index"] = torch.from_numpy(seq.copy())
            batch["start"] = torch.from_numpy(start.copy())
            batch["actions"] = [self.sequences[s].action for s in seq.tolist()]
            yield batch

    def stitch(self, preds: Sequence[Tensor | np.ndarray]) -> list[np.ndarray]:
        """Per-window predictions ``(B, L, J, C)`` (in :meth:`batches` order) -> sequences.

        Returns one ``(N_i, J, C)`` array per sequence; each frame is taken from the
        single window whose ``frame_mask`` covers it.
        """
        arrays = [
            p.detach().cpu().numpy() if isinstance(p, Tensor) else np.asarray(p) for p in preds
        ]
        if not arrays:
            raise ValueError("EvalWindows.stitch: preds is empty")
        for i, a in enumerate(arrays):
            if a.ndim != 4 or a.shape[1] != self.length or a.shape[2:] != arrays[0].shape[2:]:
                raise ValueError(
                    f"EvalWindows.stitch: preds[{i}] must have shape (B, {self.length}, J, C) "
                    f"like preds[0] {arrays[0].shape}, got {a.shape}"
                )
        windows = np.concatenate(arrays)  # (W, L, J, C)
        if len(windows) != len(self):
            raise ValueError(
                f"EvalWindows.stitch: got {len(windows)} windows of predictions, "
                f"expected {len(self)}"
            )
        local = self.start[:, None] + np.arange(self.length)[None, :]  # (W, L)
        index = (self.data.offsets[self.seq_index][:, None] + local)[self.frame_mask]
        out = np.empty((self.num_frames, *windows.shape[2:]), dtype=windows.dtype)
        out[index] = windows[self.frame_mask]
        return np.split(out, self.data.offsets[1:])
