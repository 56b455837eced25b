"""Per-action aggregation of metric values, mergeable across workers, and a text table.

:class:`MetricAccumulator` keeps weighted sums per metric and action (per subject: a
second accumulator fed the same values under other labels); :func:`to_table` prints its
summary as the fixed-width table of ``diffhpe evaluate``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from diffhpe.metrics.common import _check_actions, _check_mask


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
