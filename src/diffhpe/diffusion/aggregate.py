"""Aggregation of sampled hypotheses into one pose, and their spread (paper section 3.5).

Shapes: H hypotheses, B batch (windows), T frames, J joints, C coordinates (3).
Hypotheses come as ``(H, B, T, J, C)``, the output of ``sample_hypotheses``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from diffhpe.diffusion.reproj import Cameras, reproj_aggregate
from diffhpe.skeleton import joint_index

ROOT = joint_index("Pelvis")
# The aggregations by name: the command line's choices, config validation and the experiment
# manifest read this. Adding one: a name here and its branch in `aggregate`.
METHODS = ("mean", "median", "reproj")


def _check_hyps(hyps: Tensor, where: str) -> None:
    if hyps.ndim != 5 or hyps.shape[0] < 1:
        raise ValueError(
            f"{where}: hyps must be (H, B, T, J, C) with H >= 1, got {tuple(hyps.shape)}"
        )


def aggregate(
    hyps: Tensor,
    method: str = "mean",
    x2d: Tensor | None = None,
    visible: Tensor | None = None,
    camera: Cameras = None,
) -> Tensor:
    """One prediction (B, T, J, C) from hypotheses (H, B, T, J, C).

    "mean": the average of the H samples, the paper's aggregation. "median": the median
    of each coordinate of each joint over H (mean of the two middle values when H is even).
    "reproj": per joint the hypotheses weighted by how close their reprojection comes to
    the visible 2D input ``x2d`` (B, T, J, 2) (normalised screen units; ``visible``
    (B, T, J), ``camera`` the intrinsics in those units, None: the focal guess), the mean
    where the keypoint is missing (:mod:`diffhpe.diffusion.reproj`). None looks at the
    ground truth.
    """
    _check_hyps(hyps, "aggregate")
    if method == "reproj":
        if x2d is None:
            raise ValueError("aggregate: method 'reproj' needs the 2D input x2d (B, T, J, 2)")
        return reproj_aggregate(hyps, x2d, visible, camera)
    if method == "mean":
        return hyps.mean(dim=0)
    if method == "median":
        h = hyps.shape[0]
        ordered = hyps.sort(dim=0).values
        if h % 2 == 1:
            return ordered[h // 2]
        # torch.median would return the lower middle value; the usual median averages both.
        return 0.5 * (ordered[h // 2 - 1] + ordered[h // 2])
    raise ValueError(f"aggregate: unknown method {method!r}; expected one of {METHODS}")


def oracle_best(hyps: Tensor, target: Tensor) -> Tensor:
    """UPPER BOUND ONLY: picks hypotheses with the ground truth; never a prediction.

    hyps: (H, B, T, J, C); target: (B, T, J, C) ground truth. For each window b, returns
    the hypothesis (T, J, C) with the lowest root-relative MPJPE (pelvis subtracted, mean
    joint distance over frames and joints) to ``target[b]``: (B, T, J, C), unchanged
    (not root-relative). This is the "best of H" oracle of the multi-hypothesis
    literature, an optimistic bound the paper argues against reporting as accuracy.
    """
    _check_hyps(hyps, "oracle_best")
    if target.shape != hyps.shape[1:]:
        raise ValueError(
            f"oracle_best: target must be (B, T, J, C) = {tuple(hyps.shape[1:])}, "
            f"got {tuple(target.shape)}"
        )
    rel_h = hyps - hyps[..., ROOT : ROOT + 1, :]
    rel_t = target - target[..., ROOT : ROOT + 1, :]
    errors = torch.linalg.vector_norm(rel_h - rel_t, dim=-1).mean(dim=(2, 3))  # (H, B)
    best = errors.argmin(dim=0)  # (B,)
    return hyps[best, torch.arange(hyps.shape[1], device=hyps.device)]


def hypothesis_std(hyps: Tensor) -> Tensor:
    """Per-joint uncertainty (B, T, J) of hypotheses (H, B, T, J, C).

    The Euclidean spread of the 3D position: sqrt of the per-coordinate variances summed
    over C, with population variance (divide by H), so a single hypothesis gives 0.
    """
    _check_hyps(hyps, "hypothesis_std")
    return hyps.var(dim=0, correction=0).sum(dim=-1).sqrt()
