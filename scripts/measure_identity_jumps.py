"""Identity jumps on the open benchmark: false positives on clean 2D, recall on swaps.

Usage (numbers in docs/UNCERTAINTY.md, "Identity jumps")::

    nice -n 19 env OMP_NUM_THREADS=1 python scripts/measure_identity_jumps.py \
        --data-root data/open --split test --camera 54138969 --json /tmp/jumps.json

False positives: :func:`diffhpe.identity.find_identity_jumps` on every sequence of the
split (one camera), exact 2D (``gt``) and detected 2D (``det``, the noise model, which
includes left/right swaps and heavy-tailed errors), at the 50 Hz of the data and
subsampled to 25 and 10 frames/s. A flagged joint of the detected 2D whose keypoint is
more than 0.3 body scales from the exact one is a real detector error, not a false
positive; both counts are given.

Recall: each sequence gets a partner, another sequence of the split (other motion)
moved so its trunk centre is 0.5 to 1.5 body scales from the person's, and in about
11 % of the frames (episodes of 0.2 to 1.5 s) one limb (a leg: knee and ankle, or an
arm: elbow and wrist) is taken from the partner; in one more episode per sequence the
whole skeleton is. A swapped frame counts as found when the detector flags it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from diffhpe.cameras import CAMERA_IDS
from diffhpe.identity import TRUNK, JumpSettings, body_scale, find_identity_jumps
from diffhpe.io.videopose3d import load_2d

LIMBS = {"left_leg": (5, 6), "right_leg": (2, 3), "left_arm": (12, 13), "right_arm": (15, 16)}


def sequences(root: Path, detector: str, split: str, camera: str) -> dict[str, np.ndarray]:
    meta = json.loads((root / "benchmark.json").read_text(encoding="utf-8"))
    pos, _ = load_2d(root / f"data_2d_open_{detector}.npz")
    ci = CAMERA_IDS.index(camera)
    return {
        f"{s}/{clip}": np.asarray(views[ci], dtype=np.float64)
        for s in meta["splits"][split]
        for clip, views in pos[s].items()
    }


def false_positives(
    seqs: dict, exact: dict, stride: int, settings: JumpSettings | None = None
) -> dict:
    fps = 50.0 / stride
    frames = flagged = joints = seen = real = 0
    for name, xy in seqs.items():
        xy = xy[::stride]
        jumps = find_identity_jumps(xy, fps, settings)
        frames += len(xy)
        flagged += jumps.count
        joints += int(jumps.joints.sum())
        seen += int(np.isfinite(xy).all(-1).sum())
        if exact is not None:  # flagged detected keypoints far from the exact ones
            scale = body_scale(exact[name][::stride], fps)
            err = np.linalg.norm(xy - exact[name][::stride], axis=-1) / scale[:, None]
            real += int((jumps.joints & (np.nan_to_num(err, nan=np.inf) > 0.3)).sum())
    out = {
        "fps": fps,
        "frames": frames,
        "frames_flagged": flagged,
        "frame_rate_pct": round(100 * flagged / frames, 3),
        "joints_flagged": joints,
        "joint_rate_pct": round(100 * joints / max(seen, 1), 4),
    }
    if exact is not None:
        out["flagged_real_detector_errors"] = real
        out["false_joint_rate_pct"] = round(100 * (joints - real) / max(seen, 1), 4)
    return out


def with_swaps(xy: np.ndarray, partner: np.ndarray, fps: float, rng: np.random.Generator):
    """(swapped xy, swapped (N, 17) bool, limb-swap frames (N,), body-swap frames (N,))."""
    n = len(xy)
    scale = body_scale(xy, fps)
    centre = np.nanmedian(xy[:, TRUNK], axis=1)
    m = len(partner)
    other = partner[np.arange(n) % m].copy()  # the partner's motion, looped
    oc = np.nanmedian(other[:, TRUNK], axis=1)
    angle = rng.uniform(0, 2 * np.pi)
    dist = rng.uniform(0.5, 1.5)
    offset = dist * np.array([np.cos(angle), np.sin(angle)])
    # the partner at the person's centre + offset, at the person's scale
    oscale = body_scale(other, fps)
    other = (other - oc[:, None]) * (scale / oscale)[:, None, None] + centre[:, None]
    other += offset * scale[:, None, None]
    out = xy.copy()
    swapped = np.zeros((n, 17), dtype=bool)
    limb = np.zeros(n, dtype=bool)
    body = np.zeros(n, dtype=bool)
    target = round(0.11 * n)
    t = int(rng.integers(int(0.2 * fps), max(int(0.2 * fps) + 1, n // 8)))
    while limb.sum() < target and t < n - 2:
        length = int(rng.integers(max(2, int(0.2 * fps)), int(1.5 * fps)))
        joints = LIMBS[rng.choice(sorted(LIMBS))]
        sl = slice(t, min(n, t + length))
        for j in joints:
            out[sl, j] = other[sl, j]
            swapped[sl, j] = True
        limb[sl] = True
        t += length + int(rng.integers(int(1.0 * fps), int(4.0 * fps)))
    if n > 4 * fps:  # one whole-body episode, where no limb is swapped
        length = int(rng.integers(int(0.2 * fps), int(1.0 * fps)))
        busy = np.concatenate([[0], np.cumsum(limb)])
        free = [t for t in range(int(fps), n - length) if busy[t + length] == busy[t]]
        if free:
            sl = slice(int(rng.choice(free)), None)
            sl = slice(sl.start, sl.start + length)
            out[sl] = other[sl]
            swapped[sl] = True
            body[sl] = True
    displaced = np.linalg.norm(out - xy, axis=-1) / scale[:, None] > 0.3
    return out, swapped & np.nan_to_num(displaced, nan=False).astype(bool), limb, body


def recall(seqs: dict, stride: int, seed: int, settings: JumpSettings | None = None) -> dict:
    fps = 50.0 / stride
    rng = np.random.default_rng(seed)
    names = sorted(seqs)
    hit = {"limb": [0, 0], "body": [0, 0], "joints": [0, 0]}
    false = [0, 0]
    for i, name in enumerate(names):
        xy = seqs[name][::stride]
        if len(xy) < 2 * fps:
            continue
        partner = seqs[names[(i + 7) % len(names)]][::stride]
        out, displaced, limb, body = with_swaps(xy, partner, fps, rng)
        jumps = find_identity_jumps(out, fps, settings)
        for key, frames in (("limb", limb & displaced.any(1)), ("body", body)):
            hit[key][0] += int((jumps.frames & frames).sum())
            hit[key][1] += int(frames.sum())
        hit["joints"][0] += int((jumps.joints & displaced).sum())
        hit["joints"][1] += int(displaced.sum())
        clean = ~(limb | body)
        false[0] += int((jumps.frames & clean).sum())
        false[1] += int(clean.sum())
    return {
        "fps": fps,
        **{f"{k}_recall_pct": round(100 * a / max(b, 1), 2) for k, (a, b) in hit.items()},
        **{f"{k}_swapped_frames": b for k, (_, b) in hit.items() if k != "joints"},
        "clean_frames_flagged_pct": round(100 * false[0] / max(false[1], 1), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default="data/open")
    ap.add_argument("--split", default="test")
    ap.add_argument("--camera", default="54138969")
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    root = Path(args.data_root)
    exact = sequences(root, "gt", args.split, args.camera)
    det = sequences(root, "det", args.split, args.camera)
    result: dict = {"split": args.split, "camera": args.camera, "sequences": len(exact)}
    for stride in args.strides:
        result[f"stride{stride}"] = {
            "exact_clean": false_positives(exact, None, stride),
            "detected_clean": false_positives(det, exact, stride),
            "exact_swaps": recall(exact, stride, args.seed),
            "detected_swaps": recall(det, stride, args.seed),
        }
        print(json.dumps({f"stride{stride}": result[f"stride{stride}"]}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
