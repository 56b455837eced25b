"""Fit the per-joint uncertainty calibration of a model on the validation split, and
measure on the test split how well the uncertainty ranks real errors, before and after.

Rerun whenever a model is re-shipped: the calibration records the model's SHA-256 and
sampling settings, and the Lifter falls back to the raw spread (with a note in the
output) when they do not match. Numbers: docs/UNCERTAINTY.md.

    nice -n 19 env OMP_NUM_THREADS=1 python scripts/calibrate_uncertainty.py \
        --cache /tmp/unc_cache --report docs/results/uncertainty.json

What it does (every sequence lifted whole by :class:`diffhpe.lifting.Lifter`, the way
``diffhpe lift`` does, camera 54138969 of ``data/open``, with the model's default sampler
and its H):

1. Validation split (a strided subset: the first ``--segment`` frames of every
   ``--every``), detected and exact 2D, each clean and with ``--occlusion`` masks
   (``absent``: one joint group missing for blocks of ``--block`` frames): the raw
   spread, the window spread, the visibility the model saw (identity jumps masked
   included) and the 3D error of every joint.
2. :func:`diffhpe.uncertainty.fit_calibration` on those samples, written next to the
   model (``--out``; ``--no-write`` to only measure).
3. Test split (the first ``--eval-segment`` frames of every ``--eval-every``), the
   same four settings: AUROC of the
   uncertainty for the worst 10 % of joint errors, the mean within-joint AUROC, mean
   uncertainty and error of visible and masked joints, before (raw spread) and after
   (calibrated), and the window spread alone. The Pelvis (the root, error 0 by
   construction) is left out.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from diffhpe.cameras import image_coordinates, load_cameras
from diffhpe.data.dataset import DataSource, load_sequences
from diffhpe.data.occlusion import OcclusionSpec, sample_mask
from diffhpe.identity import JumpSettings
from diffhpe.lifting import Lifter, pretrained_path
from diffhpe.uncertainty import (
    UncertaintyCalibration,
    calibration_path,
    fit_calibration,
    sampling_of,
    worst_auroc,
)


def collect(
    lifter: Lifter, root: str, split: str, detector: str, camera: str, occlusion: str,
    segment: int, every: int, block: int, seed: int, cache: Path | None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Lift the split's sequences: spread, error, visible (M, 17) and suspect (M,)."""
    key = f"{split}_{detector}_{camera}_{occlusion.replace(':', '-')}_{segment}_{every}_{block}_{seed}"
    ident = repr(JumpSettings()) if lifter.identity_check else "off"
    key += f"_{zlib.crc32(ident.encode()):08x}"
    if cache is not None and (cache / f"{key}.npz").exists():
        with np.load(cache / f"{key}.npz") as f:
            return {k: f[k] for k in f.files}
    cam = load_cameras()[camera]
    seqs = load_sequences(DataSource("open", Path(root), detector), split, (camera,))
    spec = OcclusionSpec.parse(occlusion)
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, list] = {
        k: [] for k in ("spread", "window", "error", "visible", "suspect", "jump")
    }
    for seq in seqs:
        n = len(seq.pose2d)
        starts = range(0, n, every) if segment else [0]
        for a in starts:
            b = min(n, a + segment) if segment else n
            xy = image_coordinates(seq.pose2d[a:b].astype(np.float64), cam.width, cam.height)
            blocks = -(-(b - a) // block)
            keep = sample_mask(spec, blocks, block, generator=gen).reshape(-1, 17)[: b - a]
            xy[~keep.numpy()] = np.nan
            res = lifter.lift(xy, (cam.width, cam.height), fps=50.0)
            gt = seq.pose3d[a:b]
            out["spread"].append(res.spread)
            out["window"].append(res.window_spread)
            out["error"].append(np.linalg.norm(res.pose3d - gt, axis=-1))
            out["visible"].append(res.visible)
            out["suspect"].append(np.asarray(res.suspect, dtype=bool))
            out["jump"].append(res.identity_jump_joints)
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache / f"{key}.npz", **arrays)
    return arrays


def flat(d: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """(spread, window spread, error, visible, joint) of non-suspect frames and non-root
    joints, each (M,)."""
    ok = ~d["suspect"]
    joint = np.broadcast_to(np.arange(17), d["spread"].shape)[ok][:, 1:].ravel()
    return (
        d["spread"][ok][:, 1:].ravel().astype(np.float64),
        d["window"][ok][:, 1:].ravel().astype(np.float64),
        d["error"][ok][:, 1:].ravel().astype(np.float64),
        d["visible"][ok][:, 1:].ravel(),
        joint,
    )


def measures(u: np.ndarray, e: np.ndarray, vis: np.ndarray, joint: np.ndarray) -> dict:
    """AUROC (worst 10 %), mean within-joint AUROC, visible/masked means, in mm."""
    within = [worst_auroc(u[joint == j], e[joint == j]) for j in range(1, 17)]
    out = {
        "auroc_worst10": round(worst_auroc(u, e), 4),
        "auroc_worst10_within_joint_mean": round(float(np.nanmean(within)), 4),
        "joints": int(len(e)),
        "mpjpe_mm": round(1000 * float(e.mean()), 1),
    }
    for name, sel in (("visible", vis), ("masked", ~vis)):
        if sel.any():
            out[name] = {
                "joints": int(sel.sum()),
                "mean_uncertainty_mm": round(1000 * float(u[sel].mean()), 1),
                "mean_error_mm": round(1000 * float(e[sel].mean()), 1),
                "rms_uncertainty_mm": round(1000 * float(np.sqrt((u[sel] ** 2).mean())), 1),
                "rms_error_mm": round(1000 * float(np.sqrt((e[sel] ** 2).mean())), 1),
                "share_in_worst10": round(float((e[sel] >= np.quantile(e, 0.9)).mean()), 4),
            }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="default", help="'default': the shipped model")
    ap.add_argument("--data-root", default="data/open")
    ap.add_argument("--camera", default="54138969")
    ap.add_argument("--detectors", nargs="+", default=["det", "gt"])
    ap.add_argument("--occlusion", default="absent", help="masks of the masked settings")
    ap.add_argument("--block", type=int, default=54, help="frames per drawn mask")
    ap.add_argument("--fit-split", default="validation")
    ap.add_argument("--eval-split", default="test")
    ap.add_argument("--segment", type=int, default=270, help="fit split: frames per segment")
    ap.add_argument("--every", type=int, default=1080, help="fit split: a segment every N")
    ap.add_argument("--eval-segment", type=int, default=270, help="0: every test frame")
    ap.add_argument("--eval-every", type=int, default=540)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-identity-check", action="store_true")
    ap.add_argument("--cache", type=Path, help="keep the lifted arrays here (reruns are fast)")
    ap.add_argument("--out", type=Path, help="calibration file (default: next to the model)")
    ap.add_argument("--no-write", action="store_true", help="measure only")
    ap.add_argument("--use", type=Path, help="measure this calibration file (no fitting)")
    ap.add_argument("--report", type=Path, help="write every number here (JSON)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    ckpt = pretrained_path() if args.checkpoint == "default" else Path(args.checkpoint)
    lifter = Lifter.from_checkpoint(ckpt, calibration=None)
    lifter.identity_check = not args.no_identity_check
    occlusions = ["none", args.occlusion]
    common = dict(camera=args.camera, block=args.block, seed=args.seed, cache=args.cache)

    if args.use:
        return measure(args, lifter, occlusions, common, UncertaintyCalibration.load(args.use), t0)
    fit = [
        collect(
            lifter,
            args.data_root,
            args.fit_split,
            d,
            occlusion=o,
            segment=args.segment,
            every=args.every,
            **common,
        )  # fmt: skip
        for d in args.detectors
        for o in occlusions
    ]
    s, w, e, v, j = (np.concatenate(x) for x in zip(*(flat(d) for d in fit), strict=True))
    params = fit_calibration(s, w, e, v, j)
    from diffhpe.checkpoint import file_sha256

    cal = UncertaintyCalibration(
        **params, model_sha256=file_sha256(ckpt),
        sampling=sampling_of(lifter.diffusion),
        fitted_on={
            "split": args.fit_split, "camera": args.camera, "detectors": args.detectors,
            "occlusions": occlusions, "mask_block_frames": args.block,
            "frames": f"the first {args.segment} of every {args.every}" if args.segment else "all",
            "joints": int(len(e)), "identity_check": lifter.identity_check,
            "command": "python " + shlex.join(sys.argv),
        },
    )  # fmt: skip
    out = args.out or calibration_path(ckpt)
    if not args.no_write:
        cal.save(out)
        print(f"wrote {out}")
    return measure(args, lifter, occlusions, common, cal, t0)


def measure(
    args: argparse.Namespace, lifter: Lifter, occlusions: list[str], common: dict,
    cal: UncertaintyCalibration, t0: float,
) -> int:  # fmt: skip
    """Step 3: the test split, before and after; print and write the report."""
    report: dict = {
        "checkpoint": str(args.checkpoint),
        "identity_check": lifter.identity_check,
        "calibration": cal.to_json(),
        "test": {},
    }
    for d in args.detectors:
        for o in occlusions:
            data = collect(lifter, args.data_root, args.eval_split, d, occlusion=o,
                           segment=args.eval_segment, every=args.eval_every, **common)  # fmt: skip
            s, w, e, v, j = flat(data)
            u = cal.apply(s, w, v, joint=j)
            entry = {
                "frames": int((~data["suspect"]).sum()),
                "identity_jump_joints": int(data["jump"].sum()),
                "before": measures(s, e, v, j),  # the raw spread, the uncertainty until now
                "window_spread_only": measures(w, e, v, j),
                "after": measures(u, e, v, j),
            }
            report["test"][f"{d}/{o}"] = entry
            print(f"\n{args.eval_split} {d} 2D, occlusion {o}: {json.dumps(entry, indent=1)}")
    report["seconds"] = round(time.time() - t0, 1)
    report["command"] = "python " + shlex.join(sys.argv)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
