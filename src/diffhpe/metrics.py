"""Evaluation metrics: accuracy protocols (paper section 4.1) and coherence (section 5.4).

Shape legend: B batch (the "sequences" K of eqs. 13-14), T frames (L in the paper),
J joints, S bones (16 for Human3.6M). Poses are ``(B, T, J, 3)`` in metres; every
metric comes back in the input's unit (metres, or metres per frame for MPJVE).

Masks are ``(B, T)`` bool tensors, True for the frames to count; padded frames are
False. Per-frame functions return 0 at masked frames, whatever garbage they hold, so a
masked mean is ``(values * mask).sum() / mask.sum()``. A valid frame holding NaN or inf
gives NaN (never an exception), which :class:`MetricAccumulator` skips and counts.

Computation runs in float64 whatever the input dtype (Procrustes' SVD is touchy in
float32); results are cast back to the inputs' dtype.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from diffhpe.skeleton import H36M, Skeleton

__all__ = [
    "METRIC_NAMES",
    "REFERENCE_METRIC_NAMES",
    "MetricAccumulator",
    "bone_lengths",
    "evaluate_batch",
    "mpjpe_frames",
    "mpjve_frames",
    "n_mpjpe_frames",
    "p_mpjpe_frames",
    "segment_length_std",
    "symmetry_gap_frames",
    "to_table",
    "velocity_mask",
]

# Names used by evaluate_batch, in table order; the *_gt ones need with_reference=True.
METRIC_NAMES: tuple[str, ...] = (
    "mpjpe",
    "p_mpjpe",
    "n_mpjpe",
    "mpjve",
    "symmetry_gap",
    "segment_std",
)
REFERENCE_METRIC_NAMES: tuple[str, ...] = ("symmetry_gap_gt", "segment_std_gt")

# Guards divisions by a squared norm that is zero only for degenerate (all-equal) poses.
_EPS = 1e-12


# ----------------------------------------------------------------------------- checks


def _check_poses(x: Any, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"{name}: expected shape (B, T, J, 3), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {x.dtype}")


def _check_pair(pred: Tensor, target: Tensor) -> None:
    _check_poses(pred, "pred")
    _check_poses(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target: shapes differ, {tuple(pred.shape)} vs {tuple(target.shape)}"
        )


def _check_mask(mask: Tensor | None, b: int, t: int, device: torch.device) -> Tensor:
    """The ``(B, T)`` bool mask on ``device`` (all True when ``mask`` is None)."""
    if mask is None:
        return torch.ones(b, t, dtype=torch.bool, device=device)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise ValueError(f"mask: expected a bool tensor of shape ({b}, {t}), got {mask!r:.80}")
    if tuple(mask.shape) != (b, t):
        raise ValueError(f"mask: expected shape ({b}, {t}), got {tuple(mask.shape)}")
    return mask.to(device)


def _check_actions(actions: Sequence[str], n: int) -> None:
    if isinstance(actions, str) or len(actions) != n:
        raise ValueError(f"actions: expected a sequence of {n} action names, got {actions!r:.80}")


def _check_skeleton(x: Tensor, skeleton: Skeleton, name: str) -> None:
    if x.shape[2] != skeleton.num_joints:
        raise ValueError(f"{name}: {x.shape[2]} joints but the skeleton has {skeleton.num_joints}")


# ---------------------------------------------------------------------------- helpers


def _prepare(
    pred: Tensor, target: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Float64 copies with masked or non-finite frames zeroed, plus the two frame masks.

    Returns ``(pred, target, valid, finite)``: ``valid`` (B, T) is the mask, ``finite``
    (B, T) marks frames where both poses are finite. Zeroing keeps NaN out of sums and
    SVDs (which raise on non-finite input).
    """
    _check_pair(pred, target)
    b, t = pred.shape[:2]
    valid = _check_mask(mask, b, t, pred.device)
    p = pred.detach().to(torch.float64)
    g = target.detach().to(torch.float64)
    finite = torch.isfinite(p).all(dim=(-1, -2)) & torch.isfinite(g).all(dim=(-1, -2))
    keep = (valid & finite)[..., None, None]
    return torch.where(keep, p, 0.0), torch.where(keep, g, 0.0), valid, finite


def _finish(values: Tensor, valid: Tensor, finite: Tensor, dtype: torch.dtype) -> Tensor:
    """0 at masked frames, NaN at valid non-finite frames, cast to ``dtype``."""
    out = torch.where(finite, values, torch.nan)
    return torch.where(valid, out, 0.0).to(dtype)


def _out_dtype(pred: Tensor, target: Tensor) -> torch.dtype:
    return torch.promote_types(pred.dtype, target.dtype)


def _root_relative(x: Tensor) -> Tensor:
    """(B, T, J, 3) -> same, with joint 0 (the pelvis) at the origin."""
    return x - x[:, :, :1]


def _mean_joint_distance(a: Tensor, b: Tensor) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): mean over joints of the Euclidean distance."""
    return torch.linalg.vector_norm(a - b, dim=-1).mean(dim=-1)


# ------------------------------------------------------------------ accuracy metrics


def mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): MPJPE, Protocol #1 (paper section 4.1).

    Both poses are root-aligned (pelvis subtracted), then the Euclidean distance is
    averaged over joints.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    err = _mean_joint_distance(_root_relative(p), _root_relative(g))
    return _finish(err, valid, finite, _out_dtype(pred, target))


def p_mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): P-MPJPE, Protocol #2.

    Per frame, ``pred`` is aligned onto ``target`` by the similarity transform
    (rotation, translation, scale) minimising the squared error (Umeyama / orthogonal
    Procrustes), then the mean joint distance is taken. The rotation is proper
    (det +1): a mirrored pose is not aligned for free.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    b, t, j, c = p.shape
    x = p.reshape(b * t, j, c)
    y = g.reshape(b * t, j, c)
    mu_x, mu_y = x.mean(dim=1, keepdim=True), y.mean(dim=1, keepdim=True)
    x, y = x - mu_x, y - mu_y

    # Row-vector convention: the aligned pose is s * x @ r + mu_y. With
    # x^T y = U diag(sigma) V^T, r = U diag(1, 1, d) V^T maximises tr(r^T x^T y) among
    # rotations, d = det(U V^T) flipping the weakest axis when U V^T is a reflection.
    u, sigma, vh = torch.linalg.svd(x.transpose(1, 2) @ y)  # (N, 3, 3), (N, 3), (N, 3, 3)
    d = torch.where(torch.linalg.det(u @ vh) < 0, -1.0, 1.0)  # (N,)
    signs = torch.ones_like(sigma)
    signs[:, -1] = d
    r = (u * signs[:, None, :]) @ vh
    scale = (sigma * signs).sum(dim=1) / (x**2).sum(dim=(1, 2)).clamp_min(_EPS)  # (N,)
    aligned = scale[:, None, None] * (x @ r)

    err = _mean_joint_distance(aligned, y).reshape(b, t)
    return _finish(err, valid, finite, _out_dtype(pred, target))


def n_mpjpe_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T): N-MPJPE (VideoPose3D), scale-only alignment.

    Both poses are root-aligned; the root-relative ``pred`` is multiplied by the
    per-frame least-squares scale ``<pred, target> / <pred, pred>``, then MPJPE.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    x, y = _root_relative(p), _root_relative(g)
    scale = (x * y).sum(dim=(-1, -2)) / (x**2).sum(dim=(-1, -2)).clamp_min(_EPS)  # (B, T)
    err = _mean_joint_distance(scale[..., None, None] * x, y)
    return _finish(err, valid, finite, _out_dtype(pred, target))


def velocity_mask(mask: Tensor) -> Tensor:
    """(B, T) -> (B, T-1): a velocity counts only if both of its frames are valid."""
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool or mask.ndim != 2:
        raise ValueError(f"mask: expected a (B, T) bool tensor, got {mask!r:.80}")
    return mask[:, 1:] & mask[:, :-1]


def mpjve_frames(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """(B, T, J, 3) x2 -> (B, T-1): MPJVE, mean per-joint velocity error.

    Velocities are first differences in time of root-aligned poses (unit per frame);
    entry ``l`` compares the steps from frame ``l`` to ``l + 1``. With a mask, entry
    ``l`` counts only if frames ``l`` and ``l + 1`` are both valid
    (:func:`velocity_mask`); other entries are 0.
    """
    p, g, valid, finite = _prepare(pred, target, mask)
    x, y = _root_relative(p), _root_relative(g)
    err = _mean_joint_distance(x[:, 1:] - x[:, :-1], y[:, 1:] - y[:, :-1])
    return _finish(
        err, velocity_mask(valid), finite[:, 1:] & finite[:, :-1], _out_dtype(pred, target)
    )


# ----------------------------------------------------------------- coherence metrics


def bone_lengths(x: Tensor, skeleton: Skeleton = H36M) -> Tensor:
    """(B, T, J, 3) -> (B, T, S): length of every bone, ordered as ``skeleton.bones``."""
    _check_poses(x, "x")
    _check_skeleton(x, skeleton, "x")
    child = torch.as_tensor(skeleton.bones[:, 0], device=x.device)
    parent = torch.as_tensor(skeleton.bones[:, 1], device=x.device)
    return torch.linalg.vector_norm(x[:, :, child] - x[:, :, parent], dim=-1)


def _prepare_single(
    x: Tensor, mask: Tensor | None, skeleton: Skeleton, name: str
) -> tuple[Tensor, Tensor, Tensor]:
    """Float64 bone lengths (B, T, S) with masked/non-finite frames zeroed, valid, finite."""
    _check_poses(x, name)
    _check_skeleton(x, skeleton, name)
    b, t = x.shape[:2]
    valid = _check_mask(mask, b, t, x.device)
    y = bone_lengths(x.detach().to(torch.float64), skeleton)
    finite = torch.isfinite(y).all(dim=-1)
    return torch.where((valid & finite)[..., None], y, 0.0), valid, finite


def symmetry_gap_frames(
    pred: Tensor, mask: Tensor | None = None, skeleton: Skeleton = H36M
) -> Tensor:
    """(B, T, J, 3) -> (B, T): sagittal symmetry gap, the summand of eq. (13).

    Per frame, the mean over the left segments (pelvis-hip, thigh, shin,
    thorax-shoulder, upper arm, forearm) of ``|y_left - y_right|``. Averaging over all
    valid frames gives eq. (13).
    """
    y, valid, finite = _prepare_single(pred, mask, skeleton, "pred")
    pairs = torch.as_tensor(skeleton.symmetric_bone_pairs, device=y.device)
    gap = (y[..., pairs[:, 0]] - y[..., pairs[:, 1]]).abs().mean(dim=-1)
    return _finish(gap, valid, finite, pred.dtype)


def segment_length_std(
    pred: Tensor, mask: Tensor | None = None, skeleton: Skeleton = H36M
) -> Tensor:
    """(B, T, J, 3) -> (B,): time-wise segment-length deviation, the summand of eq. (14).

    For each sequence (each row of B is one of the K sequences) and each of the S
    segments, the population standard deviation (1/L, as eq. 14) of its length over the
    valid frames; then the mean over segments. Sequences with fewer than 2 valid frames
    have no meaningful deviation and give NaN (the accumulator skips them), as do
    sequences with a non-finite valid frame. With equal-length sequences, the mean over
    sequences is eq. (14).
    """
    y, valid, finite = _prepare_single(pred, mask, skeleton, "pred")
    w = valid.to(torch.float64)[..., None]  # (B, T, 1)
    n = w.sum(dim=1)  # (B, 1)
    mean = (y * w).sum(dim=1) / n.clamp_min(1.0)  # (B, S)
    var = (((y - mean[:, None]) ** 2) * w).sum(dim=1) / n.clamp_min(1.0)
    std = var.sqrt().mean(dim=-1)  # (B,)
    ok = (n[:, 0] >= 2) & (finite | ~valid).all(dim=1)
    return torch.where(ok, std, torch.nan).to(pred.dtype)


# ---------------------------------------------------------------------- aggregation


class MetricAccumulator:
    """Weighted sums of metrics per action, mergeable across workers.

    Each metric keeps, per action, ``sum(value * weight)`` and ``sum(weight)``. Frame
    metrics have weight 1 per valid frame; per-sequence metrics (segment std) weigh a
    sequence by its number of valid frames, so both overall means are frame-weighted.
    NaN values are skipped and counted in ``skipped``.

    ``with_reference`` asks :func:`evaluate_batch` to also record the coherence
    metrics of the ground truth (``*_gt``), the floor those metrics can reach.
    """

    def __init__(self, with_reference: bool = False) -> None:
        self.with_reference = with_reference
        self._sums: dict[str, dict[str, float]] = {}
        self._weights: dict[str, dict[str, float]] = {}
        self._skipped: dict[str, int] = {}

    @property
    def names(self) -> list[str]:
        """Metric names seen so far, in first-seen order."""
        return list(self._sums)

    def _ensure(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"name: expected a non-empty metric name, got {name!r}")
        self._sums.setdefault(name, {})
        self._weights.setdefault(name, {})
        self._skipped.setdefault(name, 0)

    def _add(self, name: str, sums: Tensor, weights: Tensor, actions: Sequence[str]) -> None:
        """Accumulates pre-weighted ``sums`` (N,) and ``weights`` (N,) per action."""
        self._ensure(name)
        s = sums.detach().to("cpu", torch.float64).numpy()
        w = weights.detach().to("cpu", torch.float64).numpy()
        keys, inverse = np.unique(np.asarray(actions, dtype=str), return_inverse=True)
        sum_per = np.bincount(inverse, weights=s, minlength=len(keys))
        w_per = np.bincount(inverse, weights=w, minlength=len(keys))
        for key, ds, dw in zip(keys.tolist(), sum_per.tolist(), w_per.tolist(), strict=True):
            if dw > 0:
                self._sums[name][key] = self._sums[name].get(key, 0.0) + ds
                self._weights[name][key] = self._weights[name].get(key, 0.0) + dw

    def update(self, name: str, values: Tensor, weights: Tensor, actions: Sequence[str]) -> None:
        """Adds ``values`` (N,) with ``weights`` (N,) (>= 0), entry i under ``actions[i]``."""
        values, weights = torch.as_tensor(values), torch.as_tensor(weights)
        if values.ndim != 1 or weights.shape != values.shape:
            raise ValueError(
                f"values, weights: expected two (N,) tensors, got {tuple(values.shape)} "
                f"and {tuple(weights.shape)}"
            )
        _check_actions(actions, values.shape[0])
        w = weights.detach().to(torch.float64)
        if not torch.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights: expected finite values >= 0")
        v = values.detach().to(torch.float64)
        nan = torch.isnan(v) & (w > 0)
        self._ensure(name)
        self._skipped[name] += int(nan.sum())
        w = torch.where(nan, 0.0, w)
        self._add(name, torch.where(w > 0, v * w, 0.0), w, actions)

    def update_frames(
        self, name: str, frame_values: Tensor, mask: Tensor | None, actions: Sequence[str]
    ) -> None:
        """Adds per-frame ``frame_values`` (B, T) where ``mask`` (B, T) is True.

        For MPJVE pass ``velocity_mask(mask)`` and the (B, T-1) values.
        """
        if not isinstance(frame_values, Tensor) or frame_values.ndim != 2:
            raise ValueError(f"frame_values: expected a (B, T) tensor, got {frame_values!r:.80}")
        b, t = frame_values.shape
        valid = _check_mask(mask, b, t, frame_values.device)
        _check_actions(actions, b)
        v = frame_values.detach().to(torch.float64)
        nan = torch.isnan(v) & valid
        self._ensure(name)
        self._skipped[name] += int(nan.sum())
        keep = valid & ~nan
        sums = torch.where(keep, v, 0.0).sum(dim=1)
        self._add(name, sums, keep.sum(dim=1), actions)

    def update_sequences(
        self, name: str, seq_values: Tensor, mask: Tensor | None, actions: Sequence[str]
    ) -> None:
        """Adds per-sequence ``seq_values`` (B,), each weighted by its valid frames in ``mask``.

        Weighing by frames makes the pooled mean of a per-sequence metric comparable to
        that of a frame metric; with ``mask`` None every sequence weighs 1.
        """
        if not isinstance(seq_values, Tensor) or seq_values.ndim != 1:
            raise ValueError(f"seq_values: expected a (B,) tensor, got {seq_values!r:.80}")
        if mask is None:
            weights = torch.ones_like(seq_values, dtype=torch.float64)
        else:
            if not isinstance(mask, Tensor) or mask.ndim != 2 or mask.shape[0] != len(seq_values):
                raise ValueError(
                    f"mask: expected a ({len(seq_values)}, T) bool tensor, got {mask!r:.80}"
                )
            weights = _check_mask(mask, *mask.shape, seq_values.device).sum(dim=1)
        self.update(name, seq_values, weights, actions)

    def summary(self, scale: float = 1.0) -> dict[str, dict[str, Any]]:
        """Per metric: ``per_action`` {action: mean}, ``frame_weighted`` (all frames pooled),
        ``action_averaged`` (mean of the per-action means), ``num_frames`` (total weight)
        and ``skipped`` (NaN entries left out). Means are multiplied by ``scale``
        (1000.0 turns metres into millimetres). Actions appear sorted; a metric with no
        data has NaN overall means.
        """
        out: dict[str, dict[str, Any]] = {}
        for name in self._sums:
            sums, weights = self._sums[name], self._weights[name]
            per_action = {a: scale * sums[a] / weights[a] for a in sorted(sums)}
            total = sum(weights.values())
            frame_weighted = scale * sum(sums.values()) / total if total > 0 else math.nan
            action_averaged = sum(per_action.values()) / len(per_action) if per_action else math.nan
            out[name] = {
                "per_action": per_action,
                "frame_weighted": frame_weighted,
                "action_averaged": action_averaged,
                "num_frames": total,
                "skipped": self._skipped[name],
            }
        return out

    def merge(self, other: MetricAccumulator) -> MetricAccumulator:
        """Adds ``other``'s sums, weights and skip counts into this one; returns self."""
        if not isinstance(other, MetricAccumulator):
            raise ValueError(f"other: expected a MetricAccumulator, got {type(other).__name__}")
        for name in other._sums:
            self._ensure(name)
            self._skipped[name] += other._skipped[name]
            for action, s in other._sums[name].items():
                self._sums[name][action] = self._sums[name].get(action, 0.0) + s
                self._weights[name][action] = (
                    self._weights[name].get(action, 0.0) + other._weights[name][action]
                )
        return self

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON-able state: ``with_reference`` and per metric sums/weights/skipped."""
        return {
            "with_reference": self.with_reference,
            "metrics": {
                name: {
                    "sums": dict(self._sums[name]),
                    "weights": dict(self._weights[name]),
                    "skipped": self._skipped[name],
                }
                for name in self._sums
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replaces this accumulator's content by ``state`` (from :meth:`state_dict`)."""
        if not isinstance(state, Mapping) or set(state) != {"with_reference", "metrics"}:
            raise ValueError(
                "state: expected a mapping with keys 'with_reference' and 'metrics', got "
                f"{sorted(state) if isinstance(state, Mapping) else type(state).__name__}"
            )
        if not isinstance(state["metrics"], Mapping):
            raise ValueError("state['metrics']: expected a mapping of metric name to entry")
        sums: dict[str, dict[str, float]] = {}
        weights: dict[str, dict[str, float]] = {}
        skipped: dict[str, int] = {}
        for name, entry in state["metrics"].items():
            if not isinstance(entry, Mapping) or set(entry) != {"sums", "weights", "skipped"}:
                raise ValueError(
                    f"state['metrics'][{name!r}]: expected keys 'sums', 'weights', 'skipped'"
                )
            if set(entry["sums"]) != set(entry["weights"]):
                raise ValueError(
                    f"state['metrics'][{name!r}]: sums and weights name different actions"
                )
            sums[name] = {str(a): float(v) for a, v in entry["sums"].items()}
            weights[name] = {str(a): float(v) for a, v in entry["weights"].items()}
            skipped[name] = int(entry["skipped"])
        self.with_reference = bool(state["with_reference"])
        self._sums, self._weights, self._skipped = sums, weights, skipped

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> MetricAccumulator:
        acc = cls()
        acc.load_state_dict(state)
        return acc


def to_table(
    summary: Mapping[str, Mapping[str, Any]],
    metrics: Sequence[str] | None = None,
    precision: int = 1,
    by: str = "action",
) -> str:
    """A fixed-width text table of a :meth:`MetricAccumulator.summary`.

    One row per action (sorted), then ``frame_weighted`` and ``action_averaged``; one
    column per metric (``metrics`` picks and orders them; default all). Missing cells
    show ``-``. ``by="subject"`` reads ``per_subject`` and ``subject_averaged`` instead
    (what :func:`diffhpe.evaluation.evaluate` adds to each metric).
    """
    if by not in ("action", "subject"):
        raise ValueError(f"by: expected 'action' or 'subject', got {by!r}")
    names = list(summary) if metrics is None else list(metrics)
    for name in names:
        if name not in summary:
            raise ValueError(f"metrics: {name!r} not in the summary; it has {sorted(summary)}")
    per, averaged = f"per_{by}", f"{by}_averaged"
    actions = sorted({a for n in names for a in summary[n].get(per, {})})
    rows = [(a, [summary[n].get(per, {}).get(a) for n in names]) for a in actions]
    rows += [(key, [summary[n].get(key) for n in names]) for key in ("frame_weighted", averaged)]

    def cell(v: float | None) -> str:
        return "-" if v is None or math.isnan(v) else f"{v:.{precision}f}"

    first = max([len(by)] + [len(r[0]) for r in rows])
    widths = [max([len(n)] + [len(cell(r[1][i])) for r in rows]) for i, n in enumerate(names)]
    header = "  ".join(
        [f"{by:<{first}}"] + [f"{n:>{w}}" for n, w in zip(names, widths, strict=True)]
    )
    lines = [header, "-" * len(header)]
    for i, (label, values) in enumerate(rows):
        if i == len(actions):
            lines.append("-" * len(header))
        lines.append(
            "  ".join(
                [f"{label:<{first}}"]
                + [f"{cell(v):>{w}}" for v, w in zip(values, widths, strict=True)]
            )
        )
    return "\n".join(lines)


@torch.no_grad()
def evaluate_batch(
    pred: Tensor,
    target: Tensor,
    mask: Tensor | None,
    actions: Sequence[str],
    acc: MetricAccumulator,
    skeleton: Skeleton = H36M,
    by: Sequence[tuple[MetricAccumulator, Sequence[str]]] = (),
) -> None:
    """Feeds one batch (B, T, J, 3) x2 of ``pred`` and ``target`` into ``acc``.

    Records ``METRIC_NAMES`` (coherence ones of the prediction) and, when
    ``acc.with_reference``, ``symmetry_gap_gt`` and ``segment_std_gt`` of the target.
    ``actions`` (B,) names the action of each sequence; ``mask`` (B, T) or None.
    ``by``: more ``(accumulator, labels (B,))`` pairs that get the same values under other
    labels (e.g. per subject), computed once.
    """
    _check_pair(pred, target)
    b, t = pred.shape[:2]
    valid = _check_mask(mask, b, t, pred.device)
    _check_actions(actions, b)
    for _, labels in by:
        _check_actions(labels, b)
    targets = [(acc, actions), *by]

    def frames(name: str, values: Tensor, m: Tensor) -> None:
        for a, labels in targets:
            a.update_frames(name, values, m, labels)

    frames("mpjpe", mpjpe_frames(pred, target, valid), valid)
    frames("p_mpjpe", p_mpjpe_frames(pred, target, valid), valid)
    frames("n_mpjpe", n_mpjpe_frames(pred, target, valid), valid)
    frames("mpjve", mpjve_frames(pred, target, valid), velocity_mask(valid))
    poses = [("", pred)] + ([("_gt", target)] if acc.with_reference else [])
    for suffix, x in poses:
        frames("symmetry_gap" + suffix, symmetry_gap_frames(x, valid, skeleton), valid)
        std = segment_length_std(x, valid, skeleton)
        for a, labels in targets:
            a.update_sequences("segment_std" + suffix, std, valid, labels)
