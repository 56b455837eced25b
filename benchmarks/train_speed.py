"""Training throughput of DiffHPE-Wrapper on CPU: windows/s of the real ``Trainer.train_step``.

For each size (``paper``: the wrapper-paper preset, 16 blocks x 64 on an 8 x 64 MixSTE;
``cpu``: the wrapper-cpu preset) and batch size, a fresh process builds a ``Trainer``
(random weights; the frozen MixSTE is a random checkpoint of the preset's size, as speed
does not depend on weights), loads the training windows (the open benchmark in
``--data-root``; random poses if it is missing), runs ``--warmup`` steps and then times
``--steps`` steps. Windows/s = batch / median step time. A step is what ``diffhpe
train`` does: sample windows, occlude, MixSTE conditioning, DDPM loss, backward, Adam.

``--engines fast reference`` also times the same step with the denoiser's plain
reference implementation (``diffhpe.models.reference``: einsum graph layers, functional
BatchNorm, stock dropout, ``tanh``; same weights and data), the unoptimised baseline on
the same machine. Issue #6 quotes the authors' code at ~12 windows/s of 27 frames (paper
size, batch 100, 2 cores): that figure is QUOTED, not measured here (their code cannot
run here).

    python benchmarks/train_speed.py --threads 2 --sizes paper cpu --batch 100 200
    python benchmarks/train_speed.py --sizes paper --batch 100 --engines fast reference
    python benchmarks/train_speed.py --smoke
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
from common import (
    PASSIVE_HELP,
    RESULTS,
    current_rss_mb,
    peak_rss_mb,
    random_mixste_checkpoint,
    run_child,
    temp_folder,
    write_results,
)

from diffhpe.config import load_config
from diffhpe.data.windows import PoseSequence, TrainWindows
from diffhpe.models.reference import reference_denoiser
from diffhpe.training import Trainer

SIZES = {"paper": ("wrapper-paper", "mixste-paper"), "cpu": ("wrapper-cpu", "mixste-cpu")}
# Issue #6: the authors' code, paper-size wrapper, batch 100, 2 CPU cores. Not measured here.
QUOTED_AUTHORS = {"size": "paper", "batch": 100, "windows_per_s": 12.0, "source": "issue #6"}


def synthetic_windows(length: int, seed: int = 0) -> TrainWindows:
    """Training windows over random-walk poses: for timing when no dataset is present."""
    rng = np.random.default_rng(seed)
    seqs = []
    for i in range(4):
        n = 2000
        pose3d = np.cumsum(rng.normal(0, 0.01, (n, 17, 3)), axis=0) + rng.normal(0, 0.2, (1, 17, 3))
        pose3d -= pose3d[:, :1]
        pose2d = pose3d[..., :2] / (pose3d[..., 2:] + 4.0)
        seqs.append(PoseSequence(pose2d, pose3d, "walk", "S0", "cam", f"synthetic-{i}"))
    return TrainWindows(seqs, length, mirror=True, seed=seed)


def use_reference_engine(trainer: Trainer) -> None:
    """Route the trainer's denoiser through the plain reference implementation."""
    den = trainer.model.denoiser
    den.forward = lambda x, t, cond: reference_denoiser(den, x, t, cond)


def measure(
    size: str, batch: int, engine: str, steps: int, warmup: int, threads: int, data_root: str
) -> dict:
    """Time ``steps`` training steps of a fresh ``Trainer`` in this process."""
    preset, mixste_preset = SIZES[size]
    with temp_folder() as tmp:
        backbone = random_mixste_checkpoint(mixste_preset, Path(tmp))
        cfg = load_config(
            preset,
            [
                f"model.backbone={backbone}",
                f"train.batch_size={batch}",
                f"train.threads={threads}",
                "train.device=cpu",
                f"data.root={data_root}",
                f"out_dir={tmp}/run",
            ],
        )
        trainer = Trainer(cfg, progress=False)
        real_data = Path(data_root).is_dir()
        if real_data:
            trainer.load_data()
        else:
            trainer.windows = synthetic_windows(cfg.data.length)
        if engine == "reference":
            use_reference_engine(trainer)
        rss_loaded = current_rss_mb()
        for _ in range(warmup):
            trainer.train_step()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            trainer.train_step()
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "size": size,
        "preset": preset,
        "batch": batch,
        "engine": engine,
        "window_frames": cfg.data.length,
        "denoiser": f"{cfg.model.denoiser.num_blocks} blocks x {cfg.model.denoiser.channels}",
        "dropout": cfg.model.denoiser.dropout,
        "data": str(data_root) if real_data else "synthetic",
        "median_step_s": med,
        "step_times_s": times,
        "windows_per_s": batch / med,
        "torch_threads": torch.get_num_threads(),
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["paper", "cpu"])
    p.add_argument("--batch", type=int, nargs="+", default=[100, 200])
    p.add_argument(
        "--engines",
        nargs="+",
        choices=["fast", "reference"],
        default=["fast"],
        help="fast: diffhpe's engine; reference: the plain implementation (baseline)",
    )
    p.add_argument("--steps", type=int, default=10, help="timed steps (median)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--omp-passive", action="store_true", help=PASSIVE_HELP)
    p.add_argument("--data-root", default="data/open", help="random poses if missing")
    p.add_argument("--smoke", action="store_true", help="batch 8, 1 warm-up, 2 timed steps")
    p.add_argument("--json", default=None, help="default: benchmarks/results/train.json")
    p.add_argument("--child", nargs=3, metavar=("SIZE", "BATCH", "ENGINE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        size, batch, engine = args.child[0], int(args.child[1]), args.child[2]
        res = measure(size, batch, engine, args.steps, args.warmup, args.threads, args.data_root)
        print(json.dumps(res))
        return
    if args.smoke:
        args.batch, args.steps, args.warmup = [8], 2, 1
    rows = []
    root = str(Path(args.data_root).resolve())
    for size in args.sizes:
        for b in args.batch:
            for engine in args.engines:
                child = [size, str(b), engine, "--steps", str(args.steps)]
                child += ["--warmup", str(args.warmup), "--threads", str(args.threads)]
                child += ["--data-root", root]
                row = run_child(__file__, child, args.threads, args.omp_passive)
                rows.append(row)
                print(
                    f"{size:<6} batch {b:>4} {engine:<9}: {row['windows_per_s']:7.2f} windows/s "
                    f"(median step {row['median_step_s']:.2f} s, "
                    f"peak RSS {row['peak_rss_mb']:.0f} MiB)",
                    flush=True,
                )
    path = args.json or RESULTS / f"train{'-smoke' if args.smoke else ''}.json"
    write_results(
        path,
        "train_speed",
        args.smoke,
        args.threads,
        args.omp_passive,
        rows=rows,
        quoted_authors=QUOTED_AUTHORS,
    )
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
