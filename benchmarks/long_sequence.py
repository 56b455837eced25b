"""Peak memory and speed of ``Lifter.lift`` on long synthetic sequences (streaming check).

Each length runs in a fresh process: the model is loaded, a synthetic 2D sequence of N
frames (a person walking across a 1000 x 1000 image, a few keypoints missing) is lifted
with the model's own sampling settings, and the process reports its peak resident
memory (``ru_maxrss``), its memory after loading, seconds and frames/s (sequence frames:
with the default stride L/3 every frame is predicted by ~3 overlapping windows).

    python benchmarks/long_sequence.py --frames 5000 30000 --threads 2
    python benchmarks/long_sequence.py --smoke
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from common import (
    MODELS_HELP,
    PASSIVE_HELP,
    RESULTS,
    current_rss_mb,
    load_wrapper,
    peak_rss_mb,
    run_child,
    write_results,
)

from diffhpe.lifting import Lifter


def synthetic_sequence(n: int, seed: int = 0) -> np.ndarray:
    """(N, 17, 2) pixels: a stick figure swaying and drifting, ~1% keypoints missing (NaN)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / 50.0
    base = rng.uniform(-60, 60, size=(1, 17, 2)) + np.array([500.0, 500.0])
    sway = 25.0 * np.sin(2 * np.pi * 0.8 * t + rng.uniform(0, 6, size=(1, 17)))
    xy = base + np.stack([sway, 0.5 * sway], axis=-1) + rng.normal(0, 1.5, size=(n, 17, 2))
    xy[rng.random((n, 17)) < 0.01] = np.nan
    return xy


def measure(frames: int, model_name: str, batch_windows: int, compile_: bool) -> dict:
    model, cfg = load_wrapper(model_name)
    lifter = Lifter(model, cfg, batch_windows=batch_windows, compile=compile_)
    xy = synthetic_sequence(frames)
    rss_loaded = current_rss_mb()
    t0 = time.perf_counter()
    res = lifter.lift(xy, image_size=(1000, 1000))
    seconds = time.perf_counter() - t0
    d = lifter.diffusion
    assert res.pose3d.shape == (frames, 17, 3) and np.isfinite(res.pose3d).all()
    return {
        "frames": frames,
        "sampler": d.sampler,
        "steps": d.num_steps if d.sampler == "ddpm" else d.sample_steps,
        "hypotheses": d.hypotheses,
        "batch_windows": batch_windows,
        "stride": lifter.stride,
        "seconds": seconds,
        "frames_per_s": frames / seconds,
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
        "torch_threads": torch.get_num_threads(),
        "compiled": compile_,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="shipped", help=MODELS_HELP)
    p.add_argument("--frames", type=int, nargs="+", default=[5000, 30000])
    p.add_argument("--batch-windows", type=int, default=64, help="Lifter.batch_windows")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--omp-passive", action="store_true", help=PASSIVE_HELP)
    p.add_argument("--compile", action="store_true", help="torch.compile the denoiser")
    p.add_argument("--smoke", action="store_true", help="200 frames only")
    p.add_argument("--json", default=None, help="default: benchmarks/results/long-sequence.json")
    p.add_argument("--child", type=int, metavar="FRAMES", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.child, args.model, args.batch_windows, args.compile)))
        return
    if args.smoke:
        args.frames = [200]
    rows = []
    for n in args.frames:
        child = [str(n), "--model", args.model, "--batch-windows", str(args.batch_windows)]
        child += ["--threads", str(args.threads)] + (["--compile"] if args.compile else [])
        row = run_child(__file__, child, args.threads, args.omp_passive)
        rows.append(row)
        print(
            f"{n:>6} frames: peak RSS {row['peak_rss_mb']:.0f} MiB "
            f"(after load {row['rss_after_load_mb']:.0f}), {row['frames_per_s']:.1f} frames/s",
            flush=True,
        )
    path = args.json or RESULTS / f"long-sequence{'-smoke' if args.smoke else ''}.json"
    write_results(
        path,
        "long_sequence",
        args.smoke,
        args.threads,
        args.omp_passive,
        model=args.model,
        rows=rows,
    )
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
