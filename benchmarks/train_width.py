"""Training throughput by width (issue #16): windows/s, achieved GFLOP/s, share of the
measured matmul peak and peak memory of the real ``Trainer.train_step``.

For each model (``mixste``: the paper's depth, 8 pairs of blocks; ``wrapper``: the
paper's 16-block denoiser on an 8 x 64 MixSTE), width (MixSTE dim or denoiser channels),
batch and micro-batch, a fresh process builds a ``Trainer`` on random weights and the open
benchmark's training windows (random poses without it), runs ``--warmup`` steps, counts
the FLOPs of one step with ``torch.utils.flop_counter`` (matmuls and attention, forward
and backward; torch's counter has no formula for the CPU flash-attention kernels, so
:data:`CPU_SDPA_FLOPS` adds torch's own SDPA formulas for them) and times ``--steps``
steps. GFLOP/s = FLOPs per step / median step time. The peak is measured in the same run:
the median GFLOP/s of a 2048 x 2048 fp32 matmul on the same threads.

Where the time goes: one more step runs under ``torch.profiler``; the self time of the
counted ops (matmuls, attention kernels) against the step's gives ``matmul_time_share``,
and their FLOPs over that time ``matmul_gflops_per_s``: the rate the step would reach if
everything else (norms, activations, copies, the optimizer, data) took no time, an upper
bound on the step's share of the peak with these kernels.

    python benchmarks/train_width.py --threads 2 --omp-passive
    python benchmarks/train_width.py --models mixste --widths 64 --batch 256 --micro 0 32
    python benchmarks/train_width.py --smoke
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from common import (
    PASSIVE_HELP,
    RESULTS,
    peak_rss_mb,
    random_mixste_checkpoint,
    run_child,
    temp_folder,
    write_results,
)
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count
from train_speed import synthetic_windows

from diffhpe.config import load_config
from diffhpe.training import Trainer

PRESETS = {"mixste": "mixste-paper", "wrapper": "wrapper-paper"}

_aten = torch.ops.aten
# FLOPs of the CPU flash-attention kernels (the MixSTE's F.scaled_dot_product_attention),
# which torch.utils.flop_counter does not count on CPU: its own SDPA formulas, on shapes.
CPU_SDPA_FLOPS = {
    _aten._scaled_dot_product_flash_attention_for_cpu: (
        lambda q, k, v, *args, **kwargs: sdpa_flop_count(q, k, v)
    ),
    _aten._scaled_dot_product_flash_attention_for_cpu_backward: (
        lambda g, q, k, v, *args, **kwargs: sdpa_backward_flop_count(g, q, k, v)
    ),
}


def counted_op_seconds(step: Any, ops: list[str]) -> tuple[float, float]:
    """(self seconds of the ``ops`` (profiler names such as ``aten::mm``), wall seconds) of
    one call of ``step`` under ``torch.profiler``."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        step()
        wall = time.perf_counter() - t0
    names = set(ops)
    busy = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in names) / 1e6
    return busy, wall


def matmul_peak(threads: int, n: int = 2048, reps: int = 10) -> float:
    """Median GFLOP/s of an ``n x n`` fp32 matmul on ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def measure(model: str, width: int, batch: int, micro: int, dropout: float | None, steps: int,
            warmup: int, threads: int, data_root: str) -> dict:  # fmt: skip
    """Time ``steps`` training steps of a fresh ``Trainer`` in this process."""
    with temp_folder() as tmp:
        over = [f"train.batch_size={batch}", f"train.micro_batch={micro}",
                f"train.threads={threads}", "train.device=cpu", f"data.root={data_root}",
                f"out_dir={tmp}/run", "train.train_eval_windows=0"]  # fmt: skip
        if model == "mixste":
            over += [f"model.mixste.dim={width}"]
            if dropout is not None:
                over += [f"model.mixste.dropout={dropout}", f"model.mixste.drop_path={dropout}"]
        else:
            backbone = random_mixste_checkpoint("mixste-paper", Path(tmp))
            over += [f"model.backbone={backbone}", f"model.denoiser.channels={width}"]
            if dropout is not None:
                over += [f"model.denoiser.dropout={dropout}"]
        cfg = load_config(PRESETS[model], over)
        trainer = Trainer(cfg, progress=False)
        real = Path(data_root).is_dir()
        if real:
            trainer.load_data()
        else:
            trainer.windows = synthetic_windows(cfg.data.length)
        for _ in range(warmup):
            trainer.train_step()
        with FlopCounterMode(display=False, custom_mapping=CPU_SDPA_FLOPS) as fc:
            trainer.train_step()
        flops = fc.get_total_flops()
        by_op = {str(k).replace(".", "::", 1): v for k, v in fc.get_flop_counts()["Global"].items()}
        mm_s, prof_wall = counted_op_seconds(trainer.train_step, list(by_op))
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            trainer.train_step()
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    params = sum(p.numel() for p in trainer.params)
    return {
        "model": model, "preset": PRESETS[model], "width": width, "batch": batch,
        "micro_batch": micro, "dropout": dropout, "trainable_params": params,
        "data": data_root if real else "synthetic", "flops_per_step": flops,
        "median_step_s": med, "step_times_s": times, "windows_per_s": batch / med,
        "gflops_per_s": flops / med / 1e9, "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": peak_rss_mb(), "flops_by_op": by_op,
        "matmul_time_share": mm_s / prof_wall, "matmul_gflops_per_s": flops / mm_s / 1e9,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=sorted(PRESETS), default=["mixste", "wrapper"])
    p.add_argument("--widths", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--batch", type=int, nargs="+", default=[256])
    p.add_argument("--micro", type=int, nargs="+", default=[0, 32],
                   help="windows per forward/backward pass (0: the whole batch)")  # fmt: skip
    p.add_argument("--dropout", type=float, default=None,
                   help="override the presets' dropout (default: theirs)")  # fmt: skip
    p.add_argument("--steps", type=int, default=5, help="timed steps (median)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--omp-passive", action="store_true", help=PASSIVE_HELP)
    p.add_argument("--data-root", default="data/open", help="random poses if missing")
    p.add_argument("--smoke", action="store_true", help="width 8, batch 8, 1 + 1 steps")
    p.add_argument("--json", default=None, help="default: benchmarks/results/train-width.json")
    p.add_argument("--child", nargs=5, metavar=("MODEL", "WIDTH", "BATCH", "MICRO", "DROPOUT"),
                   help=argparse.SUPPRESS)  # fmt: skip
    args = p.parse_args()
    if args.child:
        model, width, batch, micro, drop = args.child
        dropout = None if drop == "preset" else float(drop)
        res = measure(model, int(width), int(batch), int(micro), dropout, args.steps,
                      args.warmup, args.threads, args.data_root)  # fmt: skip
        print(json.dumps(res))
        return
    if args.smoke:
        args.widths, args.batch, args.micro, args.steps, args.warmup = [8], [8], [0, 4], 1, 1
    peak = matmul_peak(args.threads)
    print(f"2048 x 2048 fp32 matmul on {args.threads} threads: {peak:.1f} GFLOP/s", flush=True)
    rows = []
    root = str(Path(args.data_root).resolve())
    path = args.json or RESULTS / f"train-width{'-smoke' if args.smoke else ''}.json"
    drop = "preset" if args.dropout is None else str(args.dropout)
    for model in args.models:
        for width in args.widths:
            for b in args.batch:
                for micro in args.micro:
                    child = [model, str(width), str(b), str(micro), drop, "--steps",
                             str(args.steps), "--warmup", str(args.warmup), "--threads",
                             str(args.threads), "--data-root", root]  # fmt: skip
                    row = run_child(__file__, child, args.threads, args.omp_passive)
                    row["peak_share"] = row["gflops_per_s"] / peak
                    row["matmul_peak_share"] = row["matmul_gflops_per_s"] / peak
                    rows.append(row)
                    # Written after every row: a long sweep cut short keeps what it measured.
                    write_results(path, "train_width", args.smoke, args.threads,
                                  args.omp_passive, matmul_peak_gflops=peak, rows=rows)  # fmt: skip
                    print(
                        f"{model:<7} width {width:>3} batch {b:>3} micro {micro:>3}: "
                        f"{row['windows_per_s']:7.1f} windows/s, {row['gflops_per_s']:6.1f} "
                        f"GFLOP/s ({100 * row['peak_share']:4.1f}% of peak), peak RSS "
                        f"{row['peak_rss_mb']:.0f} MiB; matmuls+attention "
                        f"{100 * row['matmul_time_share']:.0f}% of the step at "
                        f"{100 * row['matmul_peak_share']:.0f}% of peak",
                        flush=True,
                    )
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
