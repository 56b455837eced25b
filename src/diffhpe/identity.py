"""Keypoints that jump to someone else: find them before lifting (issue 19).

A detector that follows one person in a crowd (MediaPipe in a video, a reader keeping the
most confident person per frame) sometimes puts a limb, or the whole skeleton, on a
neighbour. In 2D that is a *jump*: in one frame a keypoint moves further than the body
allows, relative to the person's 2D size and to the joint's own motion just before and
just after, and (for a limb left on the neighbour) it jumps back later.

Shapes: N frames, 17 Human3.6M joints; ``xy`` (N, 17, 2) pixels, NaN = missing.

How :func:`find_identity_jumps` decides, all in units of the body scale ``s`` (the
torso length in 2D: the longest of shoulder-hip left, shoulder-hip right and
pelvis-thorax, running median over about 1 s):

- Whole body: the body path (:func:`body_path`: the running sum of the median step of
  the joints seen in two consecutive frames, whichever are missing) moves by more
  than ``switch_speed / fps`` body scales in one frame (or the torso length changes by
  more than a factor ``switch_scale``), a spike against the frames around it: the
  followed person changed.
- One joint: its position relative to the body path moves by more than
  ``max(min_jump, joint_speed / fps)`` body scales between two frames where it is seen
  (plus ``gap_speed`` per frame in between when it was missing), and that step is a
  spike, ``spike`` times larger than the median step over ``context_s`` seconds before
  and after it, and the steps just before and after it add less than ``support`` times
  its length along it. Real fast motion builds up over several frames; a jump does not. A
  track whose median step is above half that limit moves like noise and is not judged.
- A bone (parent to child) that is more than ``max_bone`` times its usual 2D length
  (75th percentile over the sequence, in body scales) puts the child on someone else.
- Pairing: a jump counts as leaving the person when it comes back within
  ``max_away_s`` seconds: a later jump the opposite way that undoes it (the two steps
  add up to at most ``cancel`` times the larger); every frame in between is flagged. A
  jump with no return is taken as the person's own keypoint moving: only its frame is
  flagged (so a limb that stays on someone else to the end is flagged once).

Flagged joints are meant to be masked (NaN: the models treat them as missing), flagged
frames reported. The thresholds were set on the open benchmark (docs/UNCERTAINTY.md,
"Identity jumps": false positives on clean 2D, recall on synthetic swaps).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS

TRUNK: tuple[int, ...] = (0, 1, 4, 7, 8, 11, 14)  # pelvis, hips, spine, thorax, shoulders
# Torso segments whose longest 2D length is the body scale: (shoulder, hip) x 2, pelvis-thorax.
TORSO: tuple[tuple[int, int], ...] = ((11, 4), (14, 1), (8, 0))
# Bones checked for length: limbs and head (the trunk is the scale itself).
LIMB_BONES: tuple[int, ...] = (2, 3, 5, 6, 9, 10, 12, 13, 15, 16)  # child joints


@dataclass(frozen=True)
class JumpSettings:
    """Thresholds of :func:`find_identity_jumps` (body scales, seconds); see the module."""

    min_jump: float = 0.3  # body scales: no smaller step is a jump
    joint_speed: float = 8.0  # body scales / s a joint may move relative to the body
    gap_speed: float = 4.0  # body scales / s allowed while the joint was missing
    spike: float = 4.0  # a jump is this many times the median step around it ...
    support: float = 0.25  # ... and its neighbouring steps add less than this along it
    context_s: float = 0.1  # seconds of steps before and after that set "around" (>= 3)
    switch_speed: float = 8.0  # body scales / s the body may move
    switch_scale: float = 1.6  # factor by which the torso length may change in one frame
    max_bone: float = 1.8  # times the bone's usual 2D length (its 75th percentile) ...
    bone_margin: float = 0.3  # ... plus this many body scales
    cancel: float = 0.7  # a return undoes the jump: |out + back| <= cancel * the larger
    max_away_s: float = 3.0  # longest stay on someone else that is paired with a return
    scale_window_s: float = 1.0  # running median of the body scale, seconds each side


@dataclass
class IdentityJumps:
    """What :func:`find_identity_jumps` found.

    joints: (N, 17) bool, keypoints judged to be on someone else (mask them);
    frames: (N,) bool, frames with such a joint or a whole-body switch;
    switches: (N,) bool, frames where the whole skeleton jumped to another place.
    """

    joints: np.ndarray
    frames: np.ndarray
    switches: np.ndarray

    @property
    def count(self) -> int:
        return int(self.frames.sum())

    def describe(self, limit: int = 5) -> str:
        """One line: how many frames, which first, which joints most often."""
        idx = np.flatnonzero(self.frames)
        first = ", ".join(str(i) for i in idx[:limit]) + (", ..." if len(idx) > limit else "")
        per_joint = self.joints.sum(0)
        top = [
            f"{JOINT_NAMES[j]} {per_joint[j]}" for j in np.argsort(-per_joint)[:3] if per_joint[j]
        ]
        line = f"{len(idx)} of {len(self.frames)} frames (frames {first})"
        if top:
            line += f"; joints {', '.join(top)}"
        if self.switches.any():
            line += f"; the whole skeleton jumps in {int(self.switches.sum())}"
        return line


def _nanmedian_rows(a: np.ndarray) -> np.ndarray:
    """Row-wise nanmedian without warnings for all-NaN rows (NaN there). a: (N, K)."""
    out = np.full(len(a), np.nan)
    ok = np.isfinite(a).any(1)
    if ok.any():
        out[ok] = np.nanmedian(a[ok], axis=1)
    return out


def _running_nanmedian(x: np.ndarray, radius: int, chunk: int = 8192) -> np.ndarray:
    """(N,) running median over ``2 radius + 1`` values, NaN ignored (NaN if all NaN)."""
    pad = np.concatenate([np.full(radius, np.nan), x, np.full(radius, np.nan)])
    out = np.empty(len(x))
    for lo in range(0, len(x), chunk):
        hi = min(len(x), lo + chunk)
        out[lo:hi] = _nanmedian_rows(sliding_window_view(pad[lo : hi + 2 * radius], 2 * radius + 1))
    return out


def body_scale(xy: np.ndarray, fps: float, window_s: float = 1.0) -> np.ndarray:
    """(N,) pixels: the 2D torso length (longest torso segment), running median over
    ``window_s`` seconds each side, gaps filled by the sequence median; with no torso
    seen at all, a third of the median 2D extent of the visible joints."""
    raw = _torso(xy)
    scale = _running_nanmedian(raw, max(1, round(window_s * fps)))
    if np.isfinite(raw).any():
        fill = float(np.nanmedian(raw))
    else:
        some = np.isfinite(xy).all(-1).any(1)
        ext = np.nanmax(xy[some], axis=1) - np.nanmin(xy[some], axis=1)  # (K, 2)
        fill = float(np.median(np.linalg.norm(ext, axis=-1))) / 3 if some.any() else 1.0
    scale = np.where(np.isfinite(scale), scale, fill)
    return np.maximum(scale, 1e-6)


def _torso(xy: np.ndarray) -> np.ndarray:
    """(N,) the longest visible torso segment per frame in pixels, NaN where none is seen."""
    seg = np.stack([np.linalg.norm(xy[:, a] - xy[:, b], axis=-1) for a, b in TORSO], 1)
    out = np.full(len(seg), np.nan)
    ok = np.isfinite(seg).any(1)
    out[ok] = np.nanmax(seg[ok], axis=1)
    return out


def body_path(xy: np.ndarray) -> np.ndarray:
    """(N, 2) pixels: where the body has moved since its first frame, the running sum of
    the median step of the joints seen both in a frame and in the last frame before it
    with any joint seen; NaN in frames without joints. It does not depend on which
    joints are missing, so a limb's position relative to it only jumps when the limb does."""
    seen = np.isfinite(xy).all(-1)  # (N, 17)
    some = np.flatnonzero(seen.any(1))
    path = np.full((len(xy), 2), np.nan)
    if len(some) == 0:
        return path
    step = xy[some[1:]] - xy[some[:-1]]  # (K-1, 17, 2), NaN unless seen in both
    g = np.stack([_nanmedian_rows(step[..., 0]), _nanmedian_rows(step[..., 1])], -1)
    g = np.nan_to_num(g, nan=0.0)  # no joint in common: assume no move
    path[some] = np.concatenate([np.zeros((1, 2)), np.cumsum(g, axis=0)])
    return path


def _steps(p: np.ndarray, scale: np.ndarray, fps: float, s: JumpSettings) -> tuple[np.ndarray, ...]:
    """For one body-relative track p (N, 2) pixels and the body scale (N,): the frames
    where it is seen (K,), the steps to each from the previous seen frame in body scales
    (K, 2; the first is 0), and whether each step is a jump (K,) bool."""
    seen = np.flatnonzero(np.isfinite(p).all(-1))
    if len(seen) < 2:
        return seen, np.zeros((len(seen), 2)), np.zeros(len(seen), dtype=bool)
    q = p[seen]
    step = np.concatenate([np.zeros((1, 2)), np.diff(q, axis=0) / scale[seen[1:], None]])
    size = np.linalg.norm(step, axis=-1)
    gap = np.concatenate([[1], np.diff(seen)])
    limit = max(s.min_jump, s.joint_speed / fps) + s.gap_speed * (gap - 1) / fps
    ctx = np.concatenate([[np.nan], size[1:]])  # the first frame has no step
    around = np.nan_to_num(_around(ctx, fps, s.context_s), nan=0.0)
    # Support: the neighbouring steps along this one. A limb that accelerates moves the same
    # way in the frames beside its fastest step; a jump has no such neighbours.
    prev = np.concatenate([np.zeros((1, 2)), step[:-1]])
    nxt = np.concatenate([step[1:], np.zeros((1, 2))])
    support = ((prev + nxt) * step).sum(-1) / np.maximum(size, 1e-12)
    jump = (size > limit) & (size > s.spike * around) & (support < s.support * size)
    jump &= gap <= fps  # after a gap of over 1 s: no judgement
    jump[0] = False
    if np.median(size[1:]) > 0.5 * limit[1:].min():  # moves like noise everywhere: no judgement
        jump[:] = False
    return seen, step, jump


def _pair(
    frames: np.ndarray, step: np.ndarray, jump: np.ndarray, n: int, away: int, cancel: float
) -> np.ndarray:
    """(N,) bool: frames between a jump and its return (a jump the opposite way within
    ``away`` frames that undoes it, see :class:`JumpSettings`); an unpaired jump flags
    its own frame only."""
    out = np.zeros(n, dtype=bool)
    events = np.flatnonzero(jump)
    k = 0
    while k < len(events):
        e = events[k]
        t0, d0 = frames[e], step[e]
        back = None
        for m in range(k + 1, len(events)):
            t1 = frames[events[m]]
            if t1 - t0 > away:
                break
            d1 = step[events[m]]
            n0, n1 = np.linalg.norm(d0), np.linalg.norm(d1)
            if float(d0 @ d1) < -0.3 * n0 * n1 and np.linalg.norm(d0 + d1) <= cancel * max(n0, n1):
                back = m
                break
        if back is not None:
            out[t0 : frames[events[back]]] = True
            k = back + 1
            continue
        out[t0] = True
        k += 1
    return out


def find_identity_jumps(
    xy: np.ndarray, fps: float | None = None, settings: JumpSettings | None = None
) -> IdentityJumps:
    """(N, 17, 2) pixels (NaN = missing) -> :class:`IdentityJumps`; ``fps`` defaults to
    50 (the thresholds are speeds, so give the real frame rate)."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[1:] != (NUM_JOINTS, 2):
        raise ValueError(f"find_identity_jumps: expected (N, 17, 2), got {xy.shape}")
    s = settings or JumpSettings()
    fps = float(fps or 50.0)
    n = len(xy)
    xy = np.where(np.isfinite(xy).all(-1, keepdims=True), xy, np.nan)
    joints = np.zeros((n, NUM_JOINTS), dtype=bool)
    switches = np.zeros(n, dtype=bool)
    if n < 3:
        return IdentityJumps(joints, joints.any(1), switches)
    scale = body_scale(xy, fps, s.scale_window_s)
    centre = body_path(xy)
    away = max(1, round(s.max_away_s * fps))
    # Whole body: the body path jumps, or the torso length does.
    frames, step, jump = _steps(centre, scale, fps, replace(s, joint_speed=s.switch_speed))
    seg = np.stack([np.linalg.norm(xy[:, a] - xy[:, b], axis=-1) for a, b in TORSO], 1)
    ratio = _nanmedian_rows(np.abs(np.diff(np.log(np.maximum(seg, 1e-6)), axis=0)))  # (N-1,)
    grow = np.concatenate([[False], np.nan_to_num(ratio, nan=0.0) > np.log(s.switch_scale)])
    grow &= _isolated(np.concatenate([[0.0], np.nan_to_num(ratio)]), s.spike, fps, s.context_s)
    switches[frames[jump]] = True
    switches |= grow
    away_body = _pair(frames, step, jump, n, away, s.cancel)
    # One joint: its position relative to the body path jumps.
    rel = xy - centre[:, None]
    for j in range(NUM_JOINTS):
        f, st, jp = _steps(rel[:, j], scale, fps, s)
        jp &= ~switches[f]  # the whole body moved: not this joint's jump
        joints[:, j] = _pair(f, st, jp, n, away, s.cancel)
    # A limb bone far longer than usual: its child joint is on someone else.
    for c in LIMB_BONES:
        length = np.linalg.norm(xy[:, c] - xy[:, PARENTS[c]], axis=-1) / scale
        if np.isfinite(length).sum() >= 10:
            usual = np.nanpercentile(length, 75)
            joints[:, c] |= np.nan_to_num(length, nan=0.0) > s.max_bone * usual + s.bone_margin
    # Frames spent on another person between a body switch and its return: mask all.
    joints[away_body] = True
    joints &= np.isfinite(xy).all(-1)
    return IdentityJumps(joints, joints.any(1) | switches, switches)


def _around(values: np.ndarray, fps: float, context_s: float) -> np.ndarray:
    """(N,) the larger of the medians of the ``w = max(3, context_s fps)`` values before and
    the ``w`` after each one (NaN ignored; NaN where none)."""
    w = max(3, round(context_s * fps))
    padded = np.concatenate([np.full(w, np.nan), values, np.full(w, np.nan)])
    view = sliding_window_view(padded, w)  # view[i] = padded[i : i + w]
    before = _nanmedian_rows(view[: len(values)])  # values i-w .. i-1
    after = _nanmedian_rows(view[w + 1 : w + 1 + len(values)])  # values i+1 .. i+w
    return np.fmax(before, after)


def _isolated(size: np.ndarray, spike: float, fps: float, context_s: float) -> np.ndarray:
    """(N,) bool: values ``spike`` times above the median of those around them."""
    return size > spike * np.nan_to_num(_around(size, fps, context_s), nan=0.0)


def mask_jumps(xy: np.ndarray, jumps: IdentityJumps) -> np.ndarray:
    """A copy of ``xy`` (N, 17, 2) with the flagged keypoints set to NaN (missing)."""
    out = np.array(xy, dtype=np.float64, copy=True)
    out[jumps.joints] = np.nan
    return out
