"""Spread of the training poses per coordinate (docs/POSE_SCALE.md, issue 16).

The diffusion adds unit noise (eq. 3); ``diffusion.pose_scale`` should be about the
poses' spread. This draws windows from a preset's training data exactly as training
does (mirroring, 2D families, hard errors do not touch the 3D) and prints the standard
deviation of the root-relative 3D joints over valid frames, per axis and overall, in
metres:

    python scripts/pose_spread.py --config mixste-open --windows 8192
"""

from __future__ import annotations

import argparse
import json

import torch

from diffhpe.config import load_config
from diffhpe.training.data import load_training_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="mixste-open", help="preset or YAML file")
    ap.add_argument("--windows", type=int, default=8192, help="training windows to draw")
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    cfg = load_config(args.config, [])
    windows, _, _ = load_training_data(cfg)
    rows = []
    for _ in range(0, args.windows, args.batch):
        b = windows.sample(min(args.batch, args.windows - len(rows) * args.batch))
        x = b["x3d"] - b["x3d"][..., :1, :]  # (B, L, J, 3) root-relative, metres
        rows.append(x[b["frame_mask"]][:, 1:].reshape(-1, 3))  # valid frames, root left out
    pts = torch.cat(rows)
    axes = pts.std(dim=0)
    out = {
        "config": args.config,
        "windows": args.windows,
        "points": len(pts),
        "std_m": {"x": float(axes[0]), "y": float(axes[1]), "z": float(axes[2])},
        "std_all_m": float(pts.std()),
        "rms_per_axis_m": float(axes.pow(2).mean().sqrt()),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
