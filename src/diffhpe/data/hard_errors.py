"""Gross 2D errors that real detectors make and the fitted noise model lacks (issue #15).

Shapes: B windows, T frames, J = 17 Human3.6M joints. ``x2d (B, T, J, 2)`` normalised
screen coordinates, ``x3d (B, T, J, 3)`` root-relative camera metres, ``valid (B, T, J)``.

``data.hard_errors = p``: each training window, with probability p, gets one error drawn
from :data:`KINDS` (weights :data:`WEIGHTS`) over one run of frames (a detector's
failure lasts while the pose stays ambiguous). The fitted noise model
(:mod:`diffhpe.data.noise`) already has per-joint left/right swaps and heavy tails; these
are the correlated and structural ones it does not make:

- ``limb_swap``: both arms' or both legs' detections change sides together, for 5-15
  frames (assumed: the detector JSON gives per-joint swap rates only, not their
  correlation within a limb).
- ``limb_snap``: one side's elbow and wrist (or knee and ankle) land on the other side's,
  both detections on one limb, for 5-20 frames (assumed).
- ``hand_lost``: a wrist hidden by the body: missing, or stuck on its elbow, for 5-25
  frames (assumed).
- ``head_failure``: the head placed below the thorax, the JSON's gross head failures
  ("1.5 % of frames >150 px, head placed below the thorax"), for 3-15 frames: Head and
  Neck/Nose mirrored through the thorax.
- ``crouch_noise``: more noise for sitting and crouching: the JSON's per-action mean
  errors are 16.2 px (Sitting) and 18.7 px (SittingDown) against 13.4 px over all
  actions, i.e. an extra independent error of sqrt(18.7^2 - 13.4^2) = 13 px at the
  median 315 px person height (0.041 h); applied to the frames of the window whose
  pelvis is within 0.65 of the leg length above the lower ankle (sitting, crouching).

With ``p = 0.3`` and uniform kinds, head failures hit about 0.3 / 5 x 9 / 27 = 2 % of
training frames, in line with the JSON's 1.5 %.
"""

from __future__ import annotations

import numpy as np

from diffhpe.skeleton import JOINT_NAMES

KINDS: tuple[str, ...] = ("limb_swap", "limb_snap", "hand_lost", "head_failure", "crouch_noise")
WEIGHTS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)
RUNS: dict[str, tuple[int, int]] = {  # run length in frames at 50 Hz, drawn uniformly
    "limb_swap": (5, 15),
    "limb_snap": (5, 20),
    "hand_lost": (5, 25),
    "head_failure": (3, 15),
}
CROUCH_EXTRA_H = 0.041  # extra error sd per axis / person height (see module docstring)
CROUCH_HEIGHT = 0.65  # pelvis above the lower ankle, in leg lengths, below which = crouched

_J = {n: i for i, n in enumerate(JOINT_NAMES)}
_ARMS = (
    (_J["LShoulder"], _J["LElbow"], _J["LWrist"]),
    (_J["RShoulder"], _J["RElbow"], _J["RWrist"]),
)
_LEGS = ((_J["LHip"], _J["LKnee"], _J["LAnkle"]), (_J["RHip"], _J["RKnee"], _J["RAnkle"]))


def _run(rng: np.random.Generator, frames: int, kind: str) -> slice:
    lo, hi = RUNS[kind]
    n = int(min(frames, rng.integers(lo, hi + 1)))
    start = int(rng.integers(0, frames - n + 1))
    return slice(start, start + n)


def person_height(x2d: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``(..., T)`` per-frame 2D height (max y - min y) of the valid joints (0 if none)."""
    y = x2d[..., 1]
    top = np.where(valid, y, np.inf).min(-1)
    bottom = np.where(valid, y, -np.inf).max(-1)
    return np.where(valid.any(-1), bottom - top, 0.0)


def crouched(x3d: np.ndarray) -> np.ndarray:
    """``(..., T)`` bool: the pelvis is within :data:`CROUCH_HEIGHT` leg lengths of the
    lower ankle, measured along the body's up axis (pelvis to thorax)."""
    up = x3d[..., _J["Thorax"], :] - x3d[..., _J["Pelvis"], :]
    up = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9)
    leg = np.linalg.norm(x3d[..., _J["LHip"], :] - x3d[..., _J["LKnee"], :], axis=-1)
    leg = leg + np.linalg.norm(x3d[..., _J["LKnee"], :] - x3d[..., _J["LAnkle"], :], axis=-1)
    ankles = np.stack([x3d[..., _J["LAnkle"], :], x3d[..., _J["RAnkle"], :]], -2)
    # pelvis is the origin: its height above an ankle is -(ankle . up)
    above = -(ankles * up[..., None, :]).sum(-1).min(-1)
    return above < CROUCH_HEIGHT * np.maximum(leg, 1e-6)


def apply_hard_error(
    kind: str,
    x2d: np.ndarray,
    x3d: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One window ``(T, J, 2), (T, J, 3), (T, J)`` with one ``kind`` of error; returns
    new ``(x2d, valid)`` (inputs untouched)."""
    x, v = x2d.copy(), valid.copy()
    frames = x.shape[0]
    if kind == "limb_swap":
        left, right = _ARMS if rng.random() < 0.5 else _LEGS
        r = _run(rng, frames, kind)
        li, ri = list(left), list(right)
        x[r, li], x[r, ri] = x2d[r, ri], x2d[r, li]
        v[r, li], v[r, ri] = valid[r, ri], valid[r, li]
    elif kind == "limb_snap":
        pair = _ARMS if rng.random() < 0.5 else _LEGS
        src, dst = (pair[0], pair[1]) if rng.random() < 0.5 else (pair[1], pair[0])
        r = _run(rng, frames, kind)
        moved, onto = list(dst[1:]), list(src[1:])  # the distal two joints
        x[r, moved] = x2d[r, onto]
        v[r, moved] = valid[r, onto]
    elif kind == "hand_lost":
        side = _ARMS[int(rng.integers(2))]
        r = _run(rng, frames, kind)
        if rng.random() < 0.5:
            v[r, side[2]] = False
        else:
            x[r, side[2]] = x2d[r, side[1]]
            v[r, side[2]] = valid[r, side[1]]
    elif kind == "head_failure":
        r = _run(rng, frames, kind)
        t = _J["Thorax"]
        for j in (_J["Head"], _J["Neck/Nose"]):
            x[r, j] = 2 * x2d[r, t] - x2d[r, j]
            v[r, j] = valid[r, j] & valid[r, t]
    elif kind == "crouch_noise":
        low = crouched(x3d)  # (T,)
        h = person_height(x2d, valid)  # (T,)
        noise = rng.normal(size=x.shape) * (CROUCH_EXTRA_H * h)[:, None, None]
        x = np.where(low[:, None, None], x + noise, x)
    else:
        raise ValueError(f"unknown hard error {kind!r}; expected one of {KINDS}")
    return np.where(v[..., None], x, 0.0).astype(x2d.dtype), v


def apply_hard_errors(
    p: float,
    x2d: np.ndarray,
    x3d: np.ndarray,
    valid: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each window of ``(B, T, J, ...)`` gets, with probability ``p``, one error of a kind
    drawn from :data:`KINDS`. Returns ``(x2d, valid, kind)`` with ``kind`` ``(B,)`` the
    index into :data:`KINDS` or -1 (none)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"hard-error probability must be in [0, 1], got {p}")
    b = x2d.shape[0]
    hit = rng.random(b) < p
    w = np.asarray(WEIGHTS) / sum(WEIGHTS)
    kind = np.where(hit, rng.choice(len(KINDS), size=b, p=w), -1)
    x, v = x2d.copy(), valid.copy()
    for i in np.flatnonzero(hit):
        x[i], v[i] = apply_hard_error(KINDS[kind[i]], x2d[i], x3d[i], valid[i], rng)
    return x, v, kind
