"""Hard choice or soft weights for the reprojection aggregation? (docs/AGGREGATION.md)

Samples the shipped wrapper's hypotheses once per window on the VALIDATION split (camera
54138969, every frame) and scores, from the same hypotheses, the mean, the median, the
hard per-joint choice of ``aggregation: reproj`` and soft per-joint weights
``w_h ~ exp(-e_h^2 / (2 sigma^2))`` of the reprojection errors ``e_h`` for several
``sigma`` (pixels): sigma -> 0 is the hard choice, sigma -> infinity the mean.
Only the 2D input picks or weighs; the ground truth only scores.

    python scripts/aggregation_ablation.py --detector det -H 5 20 --out /tmp/ablation.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from diffhpe.diffusion import aggregate
from diffhpe.diffusion.reproj import reproj_aggregate, reprojection_errors
from diffhpe.evaluation import EvalOptions, eval_windows, sequence_cameras
from diffhpe.inference import make_sampler, predict, with_sampling
from diffhpe.lifting import pretrained_path
from diffhpe.metrics import mpjpe_frames, p_mpjpe_frames, segment_length_std
from diffhpe.models.factory import load_model

SIGMAS_PX = (2.0, 4.0, 6.0, 8.0, 12.0, 16.0)
# sigma relative to the person's 2D size: the RMS distance of the visible keypoints from
# their centroid in that frame (about 100 px for a standing person 4.5 m from a
# Human3.6M camera).
SIGMAS_REL = (0.03, 0.05, 0.07, 0.1, 0.14, 0.2)


def person_scale(x2d: torch.Tensor, vis: torch.Tensor) -> np.ndarray:
    """(B, T) RMS distance of the visible keypoints from their centroid (NaN: < 2)."""
    x = x2d.double().numpy()
    v = vis.numpy().astype(np.float64)[..., None]
    n = v.sum(-2)
    c = (x * v).sum(-2) / np.maximum(n, 1)
    r2 = (((x - c[..., None, :]) ** 2) * v).sum((-1, -2)) / np.maximum(n[..., 0], 1)
    return np.where(n[..., 0] >= 2, np.sqrt(r2), np.nan)


def soft(hyps: torch.Tensor, err: np.ndarray, sigma: float) -> torch.Tensor:
    """Per-joint weights exp(-e^2 / 2 sigma^2) over H (normalised units); the mean where
    no hypothesis has an error (missing keypoint, no root)."""
    finite = np.isfinite(err)
    e = np.where(finite, err, np.inf)
    logits = -0.5 * (e / sigma) ** 2
    logits -= np.where(finite.any(0), logits.max(0), 0.0)[None]
    w = np.where(finite, np.exp(logits), 0.0)
    s = w.sum(0)
    w = np.where(s[None] > 0, w / np.where(s > 0, s, 1.0)[None], 1.0 / len(err))
    return (torch.from_numpy(w)[..., None].to(hyps.dtype) * hyps).sum(0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--detector", default="det")
    ap.add_argument("-H", "--hypotheses", type=int, nargs="+", default=[5, 20])
    ap.add_argument("--split", default="validation")
    ap.add_argument("--cameras", nargs="*", default=["54138969"])
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    model, cfg = load_model(pretrained_path())
    out = {}
    for h in args.hypotheses:
        t0 = time.time()
        opts = EvalOptions(split=args.split, cameras=args.cameras, detector=args.detector)
        source, windows = eval_windows(cfg, opts)
        cams = sequence_cameras(source, args.split, windows.sequences)
        diff = with_sampling(cfg.diffusion, hypotheses=h)
        sampler = make_sampler(diff)
        gen = torch.Generator().manual_seed(1)  # evaluate's sampling seed (seed 0 + 1)
        sums: dict[str, list[float]] = {}
        frames = 0.0
        for b in windows.batches(args.batch_size):
            x2d, vis, target, mask = b["x2d"], b["valid"], b["x3d"], b["frame_mask"]
            cam = [cams[s] for s in b["seq_index"].tolist()]
            hyps = predict(model, x2d, vis, diff, gen, sampler, keep_hypotheses=True).hypotheses
            err = reprojection_errors(hyps, x2d, vis, cam)
            scale = 2.0 / 1000.0  # pixels -> normalised units (Human3.6M: 1000 px wide)
            preds = {
                "mean": aggregate(hyps, "mean"),
                "median": aggregate(hyps, "median"),
                "reproj (hard, sigma=0)": reproj_aggregate(hyps, x2d, vis, cam, sigma=0.0),
                "reproj (default)": aggregate(hyps, "reproj", x2d=x2d, visible=vis, camera=cam),
            }
            for s in SIGMAS_PX:
                preds[f"soft sigma={s:g} px"] = soft(hyps, err, s * scale)
            size = person_scale(x2d, vis)[None, ..., None]  # (1, B, T, 1)
            for k in SIGMAS_REL:
                preds[f"soft sigma={k:g} x size"] = soft(hyps, err, k * size)
            m = mask.to(torch.float64)
            frames += float(m.sum())
            for name, p in preds.items():
                acc = sums.setdefault(name, [0.0, 0.0, 0.0, 0.0])
                acc[0] += float((mpjpe_frames(p, target, mask).nan_to_num() * m).sum())
                acc[1] += float((p_mpjpe_frames(p, target, mask).nan_to_num() * m).sum())
                seg = segment_length_std(p, mask)  # (B,) per window
                acc[2] += float(seg.nan_to_num().sum())
                acc[3] += float(seg.isfinite().sum())
        res = {
            k: {
                "mpjpe": 1000 * v[0] / frames,
                "p_mpjpe": 1000 * v[1] / frames,
                "segment_std_per_window": 1000 * v[2] / max(v[3], 1.0),
            }
            for k, v in sums.items()
        }
        out[f"H={h}"] = {"frames": frames, "seconds": round(time.time() - t0, 1), "metrics_mm": res}
        print(f"{args.detector} {args.split} H={h} ({frames:.0f} frames, {time.time() - t0:.0f} s)")
        for k, v in res.items():
            print(
                f"  {k:<26} MPJPE {v['mpjpe']:6.2f}  P-MPJPE {v['p_mpjpe']:6.2f}  "
                f"segment std {v['segment_std_per_window']:5.2f}"
            )
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"detector": args.detector, "split": args.split, **out}, f, indent=1)


if __name__ == "__main__":
    main()
