"""Is there a seam where sliding windows meet? Velocity error at window borders vs inside.

``Lifter.lift`` cuts a sequence into overlapping windows of L frames and blends them with
tapered weights. A seam would show as a jump between consecutive output frames where one
window ends or another starts. For every pair of consecutive frames (t, t+1) of the open
test clips we measure the velocity error

    e_t = mean_j || (p[t+1, j] - p[t, j]) - (g[t+1, j] - g[t, j]) ||   (mm)

(p predicted, g ground truth; the MPJVE of one frame pair) and compare pairs that straddle
a window border (a window starts at t+1 or ends at t) with pairs inside every window.
The same clips are lifted with non-overlapping windows (stride L) for contrast.

Usage::

    python benchmarks/window_seams.py [--checkpoint default] [--camera 54138969] \\
        [--max-clips 0] [--json docs/bench/window_seams.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from diffhpe.cameras import image_coordinates, load_cameras
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.hardware import environment
from diffhpe.lifting import Lifter, pretrained_path, window_starts


def border_pairs(n: int, length: int, stride: int) -> np.ndarray:
    """(n - 1,) bool: pair (t, t+1) straddles a window border (some window starts at t+1
    or ends at t). Frames beyond a sequence's end do not exist, so 0 and n-1 never count."""
    starts = window_starts(n, length, stride)
    border = np.zeros(max(n - 1, 0), dtype=bool)
    for s in starts:
        if s > 0:
            border[s - 1] = True  # pair (s-1, s): a window starts at s
        end = s + length - 1
        if end < n - 1:
            border[end] = True  # pair (end, end+1): a window ends at end
    return border


def velocity_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, J, 3), (N, J, 3) metres -> (N-1,) mean per-joint velocity error in mm."""
    dv = np.diff(pred, axis=0) - np.diff(gt, axis=0)
    return 1000.0 * np.linalg.norm(dv, axis=-1).mean(-1)


def measure(lifter: Lifter, seqs: list, stride: int) -> dict[str, float]:
    """Pool the velocity errors of every clip into border / inside pairs."""
    lifter.stride = stride
    border_e, inside_e = [], []
    t0 = time.perf_counter()
    frames = 0
    for seq in seqs:
        cam = load_cameras()[seq.camera]
        xy = image_coordinates(seq.pose2d.astype(np.float64), cam.width, cam.height)
        res = lifter.lift(xy, (cam.width, cam.height))
        err = velocity_errors(res.pose3d.astype(np.float64), seq.pose3d.astype(np.float64))
        mask = border_pairs(len(xy), lifter.length, stride)
        border_e.append(err[mask])
        inside_e.append(err[~mask])
        frames += len(xy)
    b, i = np.concatenate(border_e), np.concatenate(inside_e)
    return {
        "stride": stride,
        "border_pairs": int(b.size),
        "inside_pairs": int(i.size),
        "border_mm": float(b.mean()),
        "inside_mm": float(i.mean()),
        "ratio": float(b.mean() / i.mean()),
        "border_median_mm": float(np.median(b)),
        "inside_median_mm": float(np.median(i)),
        "frames": frames,
        "seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="default", help="'default' = the shipped model")
    p.add_argument("--data-root", default="data/open")
    p.add_argument("--camera", default="54138969")
    p.add_argument("--max-clips", type=int, default=0, help="0 = every test clip")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    ckpt = pretrained_path() if args.checkpoint == "default" else Path(args.checkpoint)
    lifter = Lifter.from_checkpoint(ckpt)
    seqs = load_sequences(DataSource("open", Path(args.data_root)), "test", (args.camera,))
    seqs = [s for s in seqs if len(s.pose2d) > 2 * lifter.length]
    seqs.sort(key=lambda s: -len(s.pose2d))
    if args.max_clips:
        seqs = seqs[: args.max_clips]
    results = {
        "command": "python "
        + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "checkpoint": str(ckpt),
        "camera": args.camera,
        "clips": len(seqs),
        "environment": environment("cpu"),
        "overlapping": measure(lifter, seqs, max(1, lifter.length // 3)),
        "non_overlapping": measure(lifter, seqs, lifter.length),
        "median_clip_frames": statistics.median(len(s.pose2d) for s in seqs),
    }
    for name in ("overlapping", "non_overlapping"):
        r = results[name]
        print(
            f"{name:16s} stride {r['stride']:2d}: border {r['border_mm']:.2f} mm "
            f"({r['border_pairs']} pairs) vs inside {r['inside_mm']:.2f} mm "
            f"({r['inside_pairs']} pairs): ratio {r['ratio']:.3f}"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
