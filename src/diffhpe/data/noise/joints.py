"""The joint groups and the ``(N, 17, 2)`` pixel arrays the detector noise works on."""

from __future__ import annotations

import numpy as np

from diffhpe.skeleton import NUM_JOINTS, joint_index

# (pair name, left joint, right joint), in the JSON's lr_pairs order.
LR_PAIRS: tuple[tuple[str, int, int], ...] = tuple(
    (name, joint_index("L" + name), joint_index("R" + name))
    for name in ("Hip", "Knee", "Ankle", "Shoulder", "Elbow", "Wrist")
)
# Joints left out of the "_excl" statistics, as the JSON's mean_err_excl_head_spine_px
# (Neck/Nose too: the JSON has no figure for it).
EXCLUDED_JOINTS: tuple[str, ...] = ("Spine", "Neck/Nose", "Head")


def _check_poses(x: np.ndarray, name: str) -> np.ndarray:
    """Validated float64 copy of an ``(N, 17, 2)`` pixel array (NaN allowed, not inf)."""
    arr = np.asarray(x)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"{name}: expected shape (N, {NUM_JOINTS}, 2), got {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{name}: expected a real-valued array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if np.isinf(arr).any():
        raise ValueError(f"{name}: contains +-inf; mark missing joints with NaN")
    return arr


def _person_height(gt: np.ndarray) -> np.ndarray:
    """(N, J, 2) -> (N,) h = max y - min y over the 17 joints.

    Frames with missing joints take h interpolated from complete frames (a partial
    range would shrink the noise); NaN where nothing is known.
    """
    valid = np.isfinite(gt).all(axis=-1)
    full = valid.all(axis=1)
    y = gt[..., 1]
    h = np.full(gt.shape[0], np.nan)
    if full.any():
        h[full] = y[full].max(axis=1) - y[full].min(axis=1)
        if not full.all():
            h[~full] = np.interp(np.flatnonzero(~full), np.flatnonzero(full), h[full])
    else:
        top = np.where(valid, y, np.inf).min(axis=1)
        bottom = np.where(valid, y, -np.inf).max(axis=1)
        some = valid.any(axis=1)
        h[some] = bottom[some] - top[some]
    return h
