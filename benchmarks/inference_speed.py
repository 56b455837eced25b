"""Inference speed of DiffHPE-Wrapper on CPU: frames/s, peak memory and (optionally) MPJPE.

Settings (same weights and inputs; each speed measurement in a fresh process so that
its peak memory is its own):

- ``mixste``: the wrapper's MixSTE backbone alone (one forward per window).
- ``authors``: the paper's setting (DDPM, all T = 50 steps, H = 5) run the way the
  authors' code runs it: the MixSTE conditioner recomputed at every denoising step and
  the H hypotheses one after another.
- ``ddpm``: the paper's setting on our engine (conditioning once, H batched).
- ``default``: the checkpoint's own sampling settings (what ``diffhpe lift`` uses).
- ``ddim-K-H``: DDIM with K steps and H hypotheses on our engine, from pure noise.
- ``ddim-K-H-fromS``: the same from the MixSTE estimate noised to step S (warm start).

Frames/s counts the L frames every window predicts: ``batch * L / median seconds``.
``--accuracy`` adds the MPJPE of every setting on the open test split (camera
54138969, same seed for all; ``authors`` shares ``ddpm``'s law, so it reuses that row's
number). Usage::

    python benchmarks/inference_speed.py --model shipped --threads 2 --batch 1 16 64 256 \\
        --accuracy --json benchmarks/results/inference-shipped.json
    python benchmarks/inference_speed.py --smoke      # every setting once, tiny batches

then ``python benchmarks/report.py`` writes docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from common import (
    MODELS_HELP,
    PASSIVE_HELP,
    RESULTS,
    current_rss_mb,
    load_wrapper,
    model_checkpoint,
    peak_rss_mb,
    run_child,
    save_mixste,
    temp_folder,
    write_results,
)
from torch import Tensor, nn

from diffhpe.config import DiffusionConfig
from diffhpe.diffusion import DDPMSampler, aggregate, make_schedule
from diffhpe.evaluation import EvalOptions, evaluate
from diffhpe.inference import predict, with_sampling

J = 17
DDIM_STEPS = (1, 2, 5, 10, 25)
DDIM_HYPOTHESES = (1, 5, 20)
WARM_START = 5  # the shipped default's start step
ALL_SETTINGS = (
    ["mixste", "authors", "ddpm", "default"]
    + [f"ddim-{k}-{h}" for k in DDIM_STEPS for h in DDIM_HYPOTHESES]
    + [f"ddim-2-{h}-from{WARM_START}" for h in DDIM_HYPOTHESES]
)


@dataclass
class Sampling:
    """What a setting runs: the backbone alone, the authors' loop, or our engine with
    ``diffusion`` (sampler, steps, hypotheses)."""

    kind: str  # "mixste", "authors" or "engine"
    diffusion: DiffusionConfig | None = None


def parse_setting(name: str, diff: DiffusionConfig) -> Sampling:
    """The :class:`Sampling` of a setting name, on top of the checkpoint's ``diff``.

    ``authors`` and ``ddpm`` are the paper's setting: pure-noise start, DDPM over all T
    steps, H = 5, no x0 clipping. ``ddim-K-H`` start from pure noise too (eta and x0
    clipping: the checkpoint's); ``ddim-K-H-fromS`` start from the MixSTE estimate
    noised to step S; ``default`` is whatever the checkpoint ships.
    """
    paper = {"sampler": "ddpm", "hypotheses": 5, "clip_x0": 0, "init": "noise"}
    if name == "mixste":
        return Sampling("mixste")
    if name == "authors":
        return Sampling("authors", with_sampling(diff, **paper))
    if name == "ddpm":
        return Sampling("engine", with_sampling(diff, **paper))
    if name == "default":
        return Sampling("engine", with_sampling(diff))
    parts = name.split("-")
    start = None
    if len(parts) == 4 and parts[3].startswith("from") and parts[3][4:].isdigit():
        start = int(parts[3][4:])
        parts = parts[:3]
    if len(parts) == 3 and parts[0] == "ddim" and parts[1].isdigit() and parts[2].isdigit():
        k, h = int(parts[1]), int(parts[2])
        init = "noise" if start is None else "backbone"
        return Sampling(
            "engine",
            with_sampling(
                diff, sampler="ddim", sample_steps=k, hypotheses=h, init=init, start_step=start
            ),
        )
    raise ValueError(
        f"unknown setting {name!r}: expected mixste, authors, ddpm, default, ddim-K-H or "
        "ddim-K-H-fromS"
    )


@torch.inference_mode()
def authors_way(
    model: nn.Module, x2d: Tensor, diff: DiffusionConfig, gen: torch.Generator
) -> Tensor:
    """DDPM over all steps, the H hypotheses one after another, the conditioner (MixSTE)
    recomputed at every step, as in the authors' code. Returns the mean pose (B, T, J, 3)."""
    sampler = DDPMSampler(make_schedule(diff.schedule, diff.num_steps), clip_x0=diff.clip_x0)
    b, t, j, _ = x2d.shape
    hyps = []
    for _ in range(diff.hypotheses):
        x = torch.randn(b, t, j, 3, generator=gen)
        for step in sampler.timesteps:
            cond = model.condition(x2d, None)  # recomputed at every step
            eps = model(x, torch.full((b,), step, dtype=torch.long), cond)
            x, _ = sampler.step(eps, step, x, gen)
        hyps.append(x - x[..., :1, :])
    return aggregate(torch.stack(hyps), diff.aggregation)


def denoiser_calls(setting: str, diff: DiffusionConfig) -> int:
    """Denoiser window-evaluations per window of a setting: steps x hypotheses (0: MixSTE)."""
    run = parse_setting(setting, diff)
    if run.kind == "mixste" or run.diffusion is None:
        return 0
    return run.diffusion.sample_steps * run.diffusion.hypotheses


def measure(setting: str, batch: int, repeats: int, model_name: str, compile_: bool) -> dict:
    """Time one setting at one batch size in this process: median seconds over ``repeats``
    calls after one warm-up call (which also compiles with ``compile_``)."""
    model, cfg = load_wrapper(model_name)
    rss_loaded = current_rss_mb()
    run = parse_setting(setting, cfg.diffusion)
    if compile_ and run.kind == "engine":
        model.denoiser.enable_compile()
    length = cfg.data.length
    gen = torch.Generator().manual_seed(0)
    x2d = torch.randn(batch, length, J, 2, generator=gen) * 0.3

    def call() -> None:
        if run.kind == "mixste":
            with torch.inference_mode():
                model.backbone(x2d)
        elif run.kind == "authors":
            authors_way(model, x2d, run.diffusion, gen)
        else:
            predict(model, x2d, None, run.diffusion, gen)

    t0 = time.perf_counter()
    call()
    warmup = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    d = run.diffusion
    return {
        "setting": setting,
        "batch": batch,
        "sampler": d.sampler if d else None,
        "steps": (d.num_steps if d.sampler == "ddpm" else d.sample_steps) if d else None,
        "hypotheses": d.hypotheses if d else None,
        "eta": d.eta if d else None,
        "clip_x0": d.clip_x0 if d else None,
        "init": d.init if d else None,
        "start_step": d.start_step if d else None,
        "median_s": med,
        "times_s": times,
        "warmup_s": warmup,
        "frames_per_s": batch * length / med,
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": peak_rss_mb(),
        "compiled": bool(compile_ and run.kind == "engine"),
        "torch_threads": torch.get_num_threads(),
    }


def accuracy(setting: str, model_name: str, args: argparse.Namespace) -> dict[str, float]:
    """MPJPE and P-MPJPE (mm) of one setting on the open test split, in this process."""
    ckpt = model_checkpoint(model_name)
    if ckpt is None:
        raise ValueError(f"--accuracy needs trained weights; --model {model_name} is random")
    model, cfg = load_wrapper(model_name)
    base = dict(
        split="test",
        cameras=[args.camera],
        stride=args.stride,
        max_windows=args.max_windows,
        seed=args.seed,
        data_root=args.data_root,
        batch_size=args.eval_batch,
    )
    run = parse_setting(setting, cfg.diffusion)
    t0 = time.perf_counter()
    with temp_folder() as tmp:
        if run.kind == "mixste":
            summary = evaluate(save_mixste(model, Path(tmp)), EvalOptions(**base), progress=False)
        else:
            d = run.diffusion
            opts = EvalOptions(
                **base,
                sampler=d.sampler,
                steps=d.sample_steps,
                hypotheses=d.hypotheses,
                eta=d.eta,
                clip_x0=0 if d.clip_x0 is None else d.clip_x0,  # 0: no clipping
                init=d.init,
                start_step=d.start_step,
            )
            summary = evaluate(ckpt, opts, progress=False)
    return {
        "mpjpe_mm": _metric(summary, "mpjpe"),
        "p_mpjpe_mm": _metric(summary, "p_mpjpe"),
        "frames": summary["frames"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _metric(summary: dict, name: str) -> float:
    """The frame-weighted value of metric ``name`` (mm) in an evaluation summary."""
    return float(summary["metrics_mm"][name]["frame_weighted"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="shipped", help=MODELS_HELP)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--omp-passive", action="store_true", help=PASSIVE_HELP)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64, 256])
    p.add_argument("--settings", nargs="+", default=ALL_SETTINGS, help="default: all")
    p.add_argument(
        "--authors-max-batch",
        type=int,
        default=16,
        help="run 'authors' only at batches up to this (one call at 256 takes ~20 min)",
    )
    p.add_argument(
        "--max-window-calls",
        type=int,
        default=0,
        help="skip speed points whose call costs more than this many denoiser window "
        "evaluations (batch x steps x H); 0: run every point",
    )
    p.add_argument("--repeats", type=int, default=3, help="timed calls per point (median)")
    p.add_argument("--compile", action="store_true", help="torch.compile the denoiser")
    p.add_argument("--accuracy", action="store_true", help="also MPJPE on the open test split")
    p.add_argument("--data-root", default="data/open")
    p.add_argument("--camera", default="54138969")
    p.add_argument("--stride", type=int, default=1, help="accuracy: keep every k-th frame")
    p.add_argument("--max-windows", type=int, default=0, help="accuracy: at most N windows")
    p.add_argument("--eval-batch", type=int, default=64, help="accuracy: windows per batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="batch 1, 1 repeat, 8 accuracy windows")
    p.add_argument("--json", default=None, help="default: benchmarks/results/inference-MODEL.json")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)  # speed S B | accuracy S
    args = p.parse_args()
    if args.child:
        if args.child[0] == "speed":
            setting, batch = args.child[1], int(args.child[2])
            res = measure(setting, batch, args.repeats, args.model, args.compile)
        else:
            res = accuracy(args.child[1], args.model, args)
        print(json.dumps(res))
        return
    if args.smoke:
        args.batch, args.repeats = [1], 1
        args.max_windows = args.max_windows or 8
    shared = ["--model", args.model, "--repeats", str(args.repeats)]
    shared += ["--compile"] if args.compile else []
    shared += ["--data-root", str(Path(args.data_root).resolve())]
    for name in ("camera", "stride", "max_windows", "eval_batch", "seed"):
        shared += ["--" + name.replace("_", "-"), str(getattr(args, name))]

    def child(*what: str) -> dict:
        return run_child(__file__, [*what, *shared], args.threads, args.omp_passive)

    rows = []
    skipped = []
    default_diff = load_wrapper(args.model)[1].diffusion
    for setting in args.settings:
        for b in args.batch:
            if setting == "authors" and b > args.authors_max_batch:
                continue
            calls = b * denoiser_calls(setting, default_diff)
            if args.max_window_calls and calls > args.max_window_calls:
                skipped.append({"setting": setting, "batch": b, "window_calls": calls})
                print(f"{setting:<12} batch {b:>4}: skipped ({calls} window calls)", flush=True)
                continue
            row = child("speed", setting, str(b))
            rows.append(row)
            print(
                f"{setting:<12} batch {b:>4}: {row['frames_per_s']:9.1f} frames/s  "
                f"(median {row['median_s']:.3f} s, peak RSS {row['peak_rss_mb']:.0f} MiB)",
                flush=True,
            )
    acc: dict[str, dict] | None = None
    if args.accuracy:
        acc = {}
        for setting in args.settings:
            if setting != "authors":  # authors: the same law as ddpm, filled below
                acc[setting] = child("accuracy", setting)
                print(f"accuracy {setting:<12} MPJPE {acc[setting]['mpjpe_mm']:.2f} mm", flush=True)
        if "authors" in args.settings:
            acc["authors"] = {**(acc.get("ddpm") or child("accuracy", "ddpm")), "same_as": "ddpm"}
    name = args.model if args.model in ("shipped", "paper", "cpu") else Path(args.model).stem
    path = args.json or RESULTS / f"inference-{name}{'-smoke' if args.smoke else ''}.json"
    data = {"split": "test", "camera": args.camera, "stride": args.stride,
            "max_windows": args.max_windows, "seed": args.seed}  # fmt: skip
    write_results(
        path,
        "inference_speed",
        args.smoke,
        args.threads,
        args.omp_passive,
        model=args.model,
        compile=args.compile,
        repeats=args.repeats,
        accuracy_data=data if acc is not None else None,
        max_window_calls=args.max_window_calls,
        skipped=skipped,
        rows=rows,
        accuracy=acc,
    )
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
