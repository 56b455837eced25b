"""Issue #16 item 4: eps, x0 and v denoiser outputs compared on the validation split.

Reads the three wrappers of ``scripts/prediction_ablation.sh`` (``runs/pred-{eps,x0,v}``),
and for each one measures, on the validation split (camera 54138969, never the test split):

- the one-step denoising profile (:func:`diffhpe.evaluation.denoising_profile`, the
  measurement of docs/RESULTS.md section 5): x0 MPJPE by noise level, unclipped;
- MPJPE, symmetry gap and segment std with the paper's start (pure noise, DDIM 10 steps,
  eta 1, H = 5) and with the shipped warm start (MixSTE estimate noised to step 5, DDIM 2
  steps, H = 5), beside the frozen MixSTE itself.

    OMP_NUM_THREADS=1 python scripts/prediction_profile.py --json docs/prediction/ablation.json

Prints the Markdown tables of docs/PREDICTION.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from diffhpe.evaluation import EvalOptions, denoising_profile, evaluate
from diffhpe.markdown import md_table
from diffhpe.safety import write_text_atomic
from diffhpe.sampling import SamplingOverride

STEPS = [49, 45, 40, 30, 20, 10, 5, 0]  # docs/RESULTS.md section 5's noise levels
SAMPLERS = {
    "from noise (DDIM 10, H = 5)": SamplingOverride(
        sampler="ddim", steps=10, eta=1.0, clip_x0=1.0, init="noise", hypotheses=5
    ),
    "warm start (DDIM 2 from step 5, H = 5)": SamplingOverride(
        sampler="ddim",
        steps=2,
        eta=1.0,
        clip_x0=1.0,
        init="backbone",
        start_step=5,
        hypotheses=5,
    ),  # fmt: skip
}
METRICS = ("mpjpe", "symmetry_gap", "segment_std")


def _metrics(summary: dict[str, Any]) -> dict[str, float]:
    return {m: summary["metrics_mm"][m]["frame_weighted"] for m in METRICS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="runs", help="folder holding pred-eps, pred-x0, pred-v")
    ap.add_argument("--predictions", nargs="+", default=["eps", "x0", "v"])
    ap.add_argument("--camera", default="54138969")
    ap.add_argument("--window-stride", type=int, default=2, help="every k-th window")
    ap.add_argument("--json", type=Path, help="write every number here")
    args = ap.parse_args()
    base = {"split": "validation", "cameras": [args.camera], "window_stride": args.window_stride}
    out: dict[str, Any] = {"options": base, "runs": {}}
    for p in args.predictions:
        ckpt = Path(args.runs) / f"pred-{p}" / "best.safetensors"
        state = json.loads((ckpt.parent / "train_state.json").read_text(encoding="utf-8"))
        prof = denoising_profile(ckpt, STEPS, EvalOptions(**base), progress=False)
        row: dict[str, Any] = {
            "checkpoint": str(ckpt),
            "step": state.get("step"),
            "best_val_mpjpe_mm": state.get("best"),
            "profile": prof["steps"],
        }
        for label, s in SAMPLERS.items():
            row[label] = _metrics(evaluate(ckpt, EvalOptions(**base, **s.describe()), False))
        out["runs"][p] = row
        print(f"pred-{p}: done", flush=True)
    backbone = json.loads((ckpt.parent / "config.json").read_text())["model"]["backbone"]
    out["mixste"] = {
        "checkpoint": backbone,
        **_metrics(evaluate(backbone, EvalOptions(**base), False)),
    }
    header = ["output", *[f"t = {s + 1}" for s in STEPS]]
    rows = [[p, *[f"{x['x0_mpjpe_mm']:.1f}" for x in r["profile"]]] for p, r in out["runs"].items()]
    print("\nOne-step x0 MPJPE (mm) by noise level, unclipped:\n")
    print("\n".join(md_table(header, rows)))
    header = ["output", *[f"{label}: {m}" for label in SAMPLERS for m in METRICS]]
    rows = [
        [p, *[f"{r[label][m]:.1f}" for label in SAMPLERS for m in METRICS]]
        for p, r in out["runs"].items()
    ]
    mix = out["mixste"]
    rows.append(["its MixSTE", *[f"{mix[m]:.1f}" for _ in SAMPLERS for m in METRICS]])
    print("\nValidation (mm):\n")
    print("\n".join(md_table(header, rows)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.json, json.dumps(out, indent=1) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
