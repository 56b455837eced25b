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

Modules: ``pose`` (errors against the ground truth: MPJPE, P-MPJPE, N-MPJPE, MPJVE),
``coherence`` (bone lengths, symmetry gap eq. 13, segment-length std eq. 14),
``aggregate`` (per-action accumulation, the text table), ``registry`` (``METRICS``: each
metric's function, display name, unit, format; ``evaluate_batch`` walks it).
"""

from __future__ import annotations

from diffhpe.metrics.aggregate import MetricAccumulator, to_table
from diffhpe.metrics.coherence import bone_lengths, segment_length_std, symmetry_gap_frames
from diffhpe.metrics.pose import (
    mpjpe_frames,
    mpjve_frames,
    n_mpjpe_frames,
    p_mpjpe_frames,
    velocity_mask,
)
from diffhpe.metrics.registry import (
    METRIC_NAMES,
    METRIC_SPECS,
    METRICS,
    REFERENCE_METRIC_NAMES,
    MetricSpec,
    evaluate_batch,
    metric_spec,
    summary_value,
)

__all__ = [
    "METRICS",
    "METRIC_NAMES",
    "METRIC_SPECS",
    "REFERENCE_METRIC_NAMES",
    "MetricAccumulator",
    "MetricSpec",
    "bone_lengths",
    "evaluate_batch",
    "metric_spec",
    "mpjpe_frames",
    "mpjve_frames",
    "n_mpjpe_frames",
    "p_mpjpe_frames",
    "segment_length_std",
    "summary_value",
    "symmetry_gap_frames",
    "to_table",
    "velocity_mask",
]
