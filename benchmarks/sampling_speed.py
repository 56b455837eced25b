"""Sampling speed of DiffHPE-Wrapper on CPU: frames per second and peak memory.

Settings compared (same weights, same windows, one process per measurement so peak
memory is that setting's own):

- ``mixste``: the supervised MixSTE alone (one forward per window).
- ``authors``: the paper's setting (DDPM, T = 50, H = 5) run the way the authors' code
  runs it: the MixSTE conditioner recomputed at every denoising step, the H hypotheses
  one after another.
- ``ddpm``: the paper's setting on our engine (conditioning once, H batched).
- ``ddim-K-H``: DDIM with K steps and H hypotheses on our engine.

Usage::

    python benchmarks/sampling_speed.py [--checkpoint CKPT] [--threads 2] \\
        [--batch 1 16 64 256] [--settings mixste authors ddpm ddim-10-5 ...] \\
        [--repeats 5] [--json out.json]

Without a checkpoint, a paper-size wrapper (MixSTE 8x64, denoiser 16 blocks x 64) with
random weights is used: speed does not depend on the weights.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from diffhpe.config import RunConfig, load_config
from diffhpe.diffusion import DDPMSampler, aggregate, make_schedule
from diffhpe.inference import predict
from diffhpe.models.factory import build_model, load_model

L, J = 27, 17


def paper_wrapper() -> tuple[torch.nn.Module, RunConfig]:
    cfg = load_config("wrapper-paper")
    mcfg = load_config("mixste-paper")
    torch.manual_seed(0)
    backbone = build_model(mcfg)
    backbone.backbone_run_config = mcfg  # type: ignore[attr-defined]
    return build_model(cfg, backbone=backbone).eval(), cfg


@torch.inference_mode()
def authors_way(
    model: torch.nn.Module, x2d: torch.Tensor, hypotheses: int, gen: torch.Generator
) -> torch.Tensor:
    """DDPM, T steps, H hypotheses one after another, conditioner recomputed each step."""
    sampler = DDPMSampler(make_schedule("cosine", 50))
    b = x2d.shape[0]
    hyps = []
    for _ in range(hypotheses):
        x = torch.randn(b, L, J, 3, generator=gen)
        for t in sampler.timesteps:
            cond = model.condition(x2d, None)  # recomputed at every step
            eps = model(x, torch.full((b,), t, dtype=torch.long), cond)
            x, _ = sampler.step(eps, t, x, gen)
        hyps.append(x - x[..., :1, :])
    return aggregate(torch.stack(hyps), "mean")


def run_one(setting: str, batch: int, repeats: int, checkpoint: str | None) -> dict:
    """Time one setting in this process; returns median seconds and frames/s."""
    if checkpoint:
        model, cfg = load_model(checkpoint)
    else:
        model, cfg = paper_wrapper()
    gen = torch.Generator().manual_seed(0)
    x2d = torch.randn(batch, L, J, 2, generator=gen) * 0.3
    diff = cfg.diffusion

    def call() -> None:
        if setting == "mixste":
            model.backbone(x2d)
        elif setting == "authors":
            authors_way(model, x2d, 5, gen)
        elif setting == "ddpm":
            diff.sampler, diff.hypotheses = "ddpm", 5
            predict(model, x2d, None, diff, gen)
        elif setting.startswith("ddim-"):
            _, k, h = setting.split("-")
            diff.sampler, diff.sample_steps, diff.hypotheses = "ddim", int(k), int(h)
            predict(model, x2d, None, diff, gen)
        else:
            raise ValueError(f"unknown setting {setting!r}")

    call()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {
        "setting": setting,
        "batch": batch,
        "median_s": med,
        "fps": batch * L / med,
        "repeats": repeats,
    }


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64, 256])
    p.add_argument(
        "--settings",
        nargs="+",
        default=["mixste", "authors", "ddpm", "ddim-10-5", "ddim-5-5", "ddim-2-5"],
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None)
    p.add_argument("--one", nargs=2, metavar=("SETTING", "BATCH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.one:
        res = run_one(args.one[0], int(args.one[1]), args.repeats, args.checkpoint)
        res["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(res))
        return
    rows = []
    for setting in args.settings:
        for b in args.batch:
            cmd = [
                sys.executable,
                __file__,
                "--one",
                setting,
                str(b),
                "--threads",
                str(args.threads),
                "--repeats",
                str(args.repeats),
            ]
            if args.checkpoint:
                cmd += ["--checkpoint", args.checkpoint]
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{setting:<12} batch {b:>4}: {row['fps']:10.1f} frames/s  (median {row['median_s']:.3f} s, peak RSS {row['peak_rss_mb']:.0f} MB)",
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
