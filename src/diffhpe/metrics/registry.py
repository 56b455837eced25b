"""The evaluation metrics, one entry each: how a value is computed and how it is shown.

``METRICS`` is walked in order by :func:`evaluate_batch` (so by ``diffhpe evaluate``'s
summary, ``metrics_mm``, and its printed table); the results page and the model card take
a metric's display name, unit and number format from its entry. Adding a metric is one
function (``pose.py`` or ``coherence.py``) plus one entry here; a page table shows it once
its section lists the name.

Entries with ``compute=None`` are not computed here: their value is a key of the
evaluation summary itself (frames per second).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from diffhpe.metrics.aggregate import MetricAccumulator
from diffhpe.metrics.coherence import segment_length_std, symmetry_gap_frames
from diffhpe.metrics.common import _check_actions, _check_mask, _check_pair
from diffhpe.metrics.pose import (
    mpjpe_frames,
    mpjve_frames,
    n_mpjpe_frames,
    p_mpjpe_frames,
    velocity_mask,
)
from diffhpe.skeleton import H36M, Skeleton

Per = Literal["frame", "velocity", "sequence"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``compute`` is ``f(pred, target, mask)`` for an error against the ground
    truth, ``f(pose, mask, skeleton)`` for a property of one pose (``of_pose``: coherence;
    the ground truth's value is recorded too, as ``NAME_gt``), None for a summary key.
    ``per``: what one value covers, hence its weight: a frame, a pair of consecutive valid
    frames, or a whole sequence (weighted by its valid frames)."""

    name: str  # the summary key
    display: str  # table heading, "Symmetry gap"
    compute: Callable[..., Tensor] | None
    per: Per = "frame"
    of_pose: bool = False
    unit: str = "mm"  # of the summary's values (metres x 1000)
    digits: int = 1  # decimals shown
    lower_is_better: bool = True
    title: str = ""  # a longer name where there is room ("Segment-length std"); "": display
    short: str = ""  # for narrow columns ("seg. std"); "": display

    @property
    def long(self) -> str:
        return self.title or self.display

    @property
    def abbreviated(self) -> str:
        return self.short or self.display

    @property
    def heading(self) -> str:
        """The long name with its unit, "MPJPE (mm)"; a name that is its unit alone ("Frames/s")."""
        return self.long if self.long.lower() == self.unit.lower() else f"{self.long} ({self.unit})"

    @property
    def in_text(self) -> str:
        """The name inside a sentence: "symmetry gap", but "MPJPE"."""
        d = self.display
        return d if d[:2].isupper() else d[:1].lower() + d[1:]

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return a < b if self.lower_is_better else a > b


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("mpjpe", "MPJPE", mpjpe_frames),
    MetricSpec("p_mpjpe", "P-MPJPE", p_mpjpe_frames),
    MetricSpec("n_mpjpe", "N-MPJPE", n_mpjpe_frames),
    MetricSpec("mpjve", "MPJVE", mpjve_frames, per="velocity", unit="mm/frame"),
    MetricSpec("symmetry_gap", "Symmetry gap", symmetry_gap_frames, of_pose=True, short="sym. gap"),
    MetricSpec(
        "segment_std",
        "Segment std",
        segment_length_std,
        per="sequence",
        of_pose=True,
        title="Segment-length std",
        short="seg. std",
    ),
    MetricSpec("frames_per_second", "Frames/s", None, unit="frames/s", lower_is_better=False),
)
METRIC_SPECS: Mapping[str, MetricSpec] = {m.name: m for m in METRICS}

# Names evaluate_batch records, in table order; the *_gt ones need with_reference=True.
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS if m.compute is not None)
REFERENCE_METRIC_NAMES: tuple[str, ...] = tuple(f"{m.name}_gt" for m in METRICS if m.of_pose)


def metric_spec(name: str) -> MetricSpec:
    """The entry of ``name``; a ``NAME_gt`` key (the ground truth's) gives NAME's."""
    spec = METRIC_SPECS.get(name) or METRIC_SPECS.get(name.removesuffix("_gt"))
    if spec is None or (name.endswith("_gt") and not spec.of_pose):
        raise ValueError(f"metric: unknown name {name!r}; known: {', '.join(METRIC_SPECS)}")
    return spec


def summary_value(summary: Mapping[str, Any], name: str) -> float:
    """The overall (frame-weighted) ``name`` of an evaluation summary, in its unit: from
    ``metrics_mm``, or the summary's own key for an entry without ``compute``."""
    spec = METRIC_SPECS.get(name)
    if spec is not None and spec.compute is None:
        return float(summary[name])
    return float(summary["metrics_mm"][name]["frame_weighted"])


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
    ``acc.with_reference``, ``REFERENCE_METRIC_NAMES`` (coherence of the target).
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

    def record(spec: MetricSpec, name: str, values: Tensor) -> None:
        for a, labels in targets:
            if spec.per == "sequence":
                a.update_sequences(name, values, valid, labels)
            else:
                m = velocity_mask(valid) if spec.per == "velocity" else valid
                a.update_frames(name, values, m, labels)

    computed = [(s, s.compute) for s in METRICS if s.compute is not None]
    for spec, f in computed:
        record(
            spec, spec.name, f(pred, valid, skeleton) if spec.of_pose else f(pred, target, valid)
        )
    if acc.with_reference:
        for spec, f in computed:
            if spec.of_pose:
                record(spec, f"{spec.name}_gt", f(target, valid, skeleton))
