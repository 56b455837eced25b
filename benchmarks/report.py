"""Write docs/PERFORMANCE.md from the benchmark JSON files (no number is typed by hand).

Reads ``benchmarks/results/*.json`` (or the files given), written by inference_speed.py,
long_sequence.py and train_speed.py, and renders: the issue #6 targets with their
measured values, then one table per file with its command line, date and machine.
Smoke files (``*-smoke.json``) are used only with ``--smoke``, and the page then says
that its numbers are not measurements.

    python benchmarks/report.py                 # -> docs/PERFORMANCE.md
    python benchmarks/report.py --smoke --out /tmp/PERFORMANCE.md
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from common import REPO, RESULTS

from diffhpe.markdown import md_table, num

TARGET_FPS = 30.0  # frames/s, shipped wrapper, default sampler, H = 5, 2 cores
TARGET_H = 5  # issue #6's H; a default with more hypotheses is judged by its sampler at H = 5
TARGET_MPJPE_REL = 0.01  # default sampler within 1% of the paper setting's MPJPE
TARGET_SPEEDUP = 20.0  # vs the paper setting run the authors' way
TARGET_LONG_BYTES = 2e9  # 30,000-frame lift peak memory
TARGET_LONG_FRAMES = 30000
TARGET_TRAIN_RATIO = 1.5  # x the authors' (quoted) training throughput


TARGET_PEAK_SHARE = 0.40  # issue #16: paper-size training steps, share of the matmul peak
TARGET_TRAIN_RSS_MB = 4 * 1024  # issue #16: peak RSS at batch 256
PAPER_WIDTH = 64  # the paper's MixSTE dim and denoiser channels


TARGET_LOADED_FPS = 30.0  # issue #18: `diffhpe lift sample` on a loaded machine, default policy

KNOWN = ("inference_speed", "long_sequence", "train_speed", "train_width", "loaded_lift")


def load(paths: list[Path], skip_others: bool = False) -> list[dict[str, Any]]:
    """The result documents of ``paths``; files of other scripts raise, or are skipped
    with ``skip_others`` (``benchmarks/results`` also holds other benchmarks' files)."""
    docs = []
    for path in paths:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a readable benchmark JSON ({err})") from err
        if doc.get("benchmark") not in KNOWN or "rows" not in doc:
            if skip_others:
                continue
            raise ValueError(
                f"{path}: 'benchmark' must be one of {KNOWN} with 'rows'; not a result of "
                "inference_speed.py, long_sequence.py, train_speed.py, train_width.py or "
                "loaded_lift.py"
            )
        doc["_file"] = path.name
        docs.append(doc)
    return docs


def fmt(x: float | None, digits: int = 1) -> str:
    """A comma-grouped number, "–" when not measured (the shared Markdown helper)."""
    return num(x, digits, thousands=True)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table with plain ``|---|`` columns (the shared Markdown helper)."""
    return md_table(header, rows, aligned=False)


def provenance(doc: dict[str, Any]) -> list[str]:
    env = doc["environment"]
    return [
        f"Command: `{doc['command']}`  ",
        f"Measured {doc['date']} on {env['cpu']} ({env['logical_cpus']} logical CPUs, "
        f"{env['machine']}), {env['threads']} torch threads per process "
        f"(OMP_WAIT_POLICY {env.get('omp_wait_policy') or 'default'}), torch {env['torch']}, "
        f"Python {env['python']}, {env['platform']}; 1-min load average at the end "
        f"{env.get('load_average_1m')}. Source: `benchmarks/results/{doc['_file']}`.",
        "",
    ]


def _by_setting(doc: dict[str, Any]) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for r in doc["rows"]:
        out.setdefault(r["setting"], {})[r["batch"]] = r
    return out


def _same_sampler_at(
    per: dict[str, dict[int, dict]], ref: dict[str, Any], h: int
) -> dict[str, Any] | None:
    """The fastest row sampling like ``ref`` (sampler, steps, eta, clip, start) with H = h:
    ``ref`` itself when it has that H, else e.g. ``ddim-2-5-from5`` for an H = 50 default."""
    keys = ("sampler", "steps", "eta", "clip_x0", "init", "start_step")
    rows = [
        r
        for by_batch in per.values()
        for r in by_batch.values()
        if r["hypotheses"] == h and all(r[k] == ref[k] for k in keys)
    ]
    return max(rows, key=lambda r: r["frames_per_s"]) if rows else None


def speedup_vs_authors(doc: dict[str, Any], setting: str) -> tuple[float, int] | None:
    """fps(setting) / fps(authors) at the largest batch both were measured at."""
    rows = _by_setting(doc)
    if "authors" not in rows or setting not in rows:
        return None
    common = set(rows["authors"]) & set(rows[setting])
    if not common:
        return None
    b = max(common)
    return rows[setting][b]["frames_per_s"] / rows["authors"][b]["frames_per_s"], b


def inference_section(doc: dict[str, Any]) -> list[str]:
    rows = _by_setting(doc)
    batches = sorted({r["batch"] for r in doc["rows"]})
    acc = doc.get("accuracy") or {}
    title = f"## Inference: model `{doc['model']}`" + (" (torch.compile)" if doc["compile"] else "")
    lines = [title, ""] + provenance(doc)
    header = ["setting", "sampler", "start", "steps", "H"]
    header += [f"frames/s @ batch {b}" for b in batches]
    header += ["x authors", "RSS after load (MiB)", "peak RSS (MiB)"]
    if acc:
        header += ["MPJPE (mm)", "vs ddpm"]
    body = []
    ddpm = acc.get("ddpm", {}).get("mpjpe_mm")
    for setting, per_batch in rows.items():
        first = next(iter(per_batch.values()))
        sampler = first["sampler"] or "–"
        if first["sampler"] == "ddim" and first.get("eta") is not None:
            sampler += f" (eta {first['eta']:g})"
        start = "–"
        if first["sampler"]:
            start = (
                f"MixSTE @ {first.get('start_step')}"
                if first.get("init") == "backbone"
                else "noise"
            )
        cells = [f"`{setting}`", sampler, start, str(first["steps"] or "–")]
        cells.append(str(first["hypotheses"] or "–"))
        cells += [fmt(per_batch[b]["frames_per_s"]) if b in per_batch else "–" for b in batches]
        sp = speedup_vs_authors(doc, setting)
        cells.append(f"{sp[0]:,.1f}x (b={sp[1]})" if sp else "–")
        cells.append(fmt(min(r["rss_after_load_mb"] for r in per_batch.values()), 0))
        cells.append(fmt(max(r["peak_rss_mb"] for r in per_batch.values()), 0))
        if acc:
            a = acc.get(setting, {})
            m = a.get("mpjpe_mm")
            cells.append(fmt(m, 2) + (" (= ddpm)" if a.get("same_as") else ""))
            cells.append(f"{100 * (m - ddpm) / ddpm:+.2f}%" if m is not None and ddpm else "–")
        body.append(cells)
    lines += table(header, body)
    lines.append("")
    lines.append(
        "Frames/s = windows x L frames / median seconds of one call (after a warm-up call). "
        "`x authors`: frames/s over the `authors` setting's at the largest batch both ran. "
        "Peak RSS: the largest over the batches, each measured in its own process; RSS "
        "after load: the process with torch and the model loaded, before the first call. "
        "Start: pure noise at step 49 (the paper) or the MixSTE estimate noised to that step."
    )
    skipped = doc.get("skipped") or []
    if skipped:
        lines.append(
            f"Not timed (a call would cost more than {doc.get('max_window_calls')} denoiser "
            "window evaluations): "
            + ", ".join(f"`{x['setting']}` at batch {x['batch']}" for x in skipped)
            + "."
        )
    if acc:
        ad = doc.get("accuracy_data") or {}
        lines.append(
            f"MPJPE: open test split, camera {ad.get('camera')}, stride {ad.get('stride')}, "
            f"at most {ad.get('max_windows') or 'all'} windows, seed {ad.get('seed')} for every "
            "setting; `authors` samples the same law as `ddpm` (only the engine differs), so "
            "it shows that row's number."
        )
    return lines + [""]


def long_section(doc: dict[str, Any]) -> list[str]:
    lines = [f"## Long sequences: `Lifter.lift`, model `{doc['model']}`", ""] + provenance(doc)
    header = ["frames", "sampler", "steps", "H", "seconds", "frames/s", "RSS after load (MiB)"]
    header.append("peak RSS (MiB)")
    body = [
        [
            f"{r['frames']:,}", r["sampler"], str(r["steps"]), str(r["hypotheses"]),
            fmt(r["seconds"]), fmt(r["frames_per_s"]), fmt(r["rss_after_load_mb"], 0),
            fmt(r["peak_rss_mb"], 0),
        ]
        for r in doc["rows"]
    ]  # fmt: skip
    return lines + table(header, body) + ["", "Frames/s counts sequence frames.", ""]


def train_section(doc: dict[str, Any]) -> list[str]:
    lines = ["## Training: `Trainer.train_step`", ""] + provenance(doc)
    header = ["size", "denoiser", "batch", "engine", "windows/s", "median step (s)"]
    header += ["peak RSS (MiB)", "data"]
    body = [
        [
            f"`{r['size']}`", r["denoiser"], str(r["batch"]), r.get("engine", "fast"),
            fmt(r["windows_per_s"], 2), fmt(r["median_step_s"], 2), fmt(r["peak_rss_mb"], 0),
            r["data"],
        ]
        for r in doc["rows"]
    ]  # fmt: skip
    q = doc.get("quoted_authors") or {}
    note = (
        f"For comparison, {q.get('source')} QUOTES (not measured here: their code cannot run "
        f"here) the authors' code at ~{q.get('windows_per_s')} windows/s for the "
        f"{q.get('size')}-size wrapper at batch {q.get('batch')} on 2 cores."
        if q
        else ""
    )
    engines = (
        "Engine `fast`: diffhpe's denoiser; `reference`: the same weights through "
        "`diffhpe.models.reference` (einsum graph layers, functional BatchNorm, stock dropout, "
        "`tanh`), a plain implementation run in the same way on the same machine. The frozen "
        "MixSTE conditioning, the data pipeline and Adam are the same in both."
    )
    return lines + table(header, body) + ["", engines, "", note, ""]


def width_section(doc: dict[str, Any]) -> list[str]:
    widths = sorted({r["width"] for r in doc["rows"]})
    models = ", ".join(dict.fromkeys(r["model"] for r in doc["rows"]))
    title = (
        "Training by width"
        if len(widths) > 1
        else f"Training at width {widths[0]} ({models}): micro-batches"
    )
    lines = [f"## {title}: `Trainer.train_step` (issue #16)", ""] + provenance(doc)
    lines += [
        f"Peak: a 2048 x 2048 fp32 matmul ran at {doc['matmul_peak_gflops']:.1f} GFLOP/s on "
        f"{doc['environment']['threads']} threads in the same run.",
        "",
    ]
    header = ["model", "width", "params", "batch", "micro-batch", "windows/s", "GFLOP/s"]
    header += ["% of peak", "counted ops: % of step time", "counted ops: % of peak"]
    header += ["peak RSS (MiB)", "dropout"]
    body = [
        [
            r["model"], str(r["width"]), f"{r['trainable_params']:,}", str(r["batch"]),
            str(r["micro_batch"] or "whole"), fmt(r["windows_per_s"], 1),
            fmt(r["gflops_per_s"], 1), fmt(100 * r["peak_share"], 1),
            fmt(100 * r["matmul_time_share"], 0) if "matmul_time_share" in r else "–",
            fmt(100 * r["matmul_peak_share"], 1) if "matmul_peak_share" in r else "–",
            fmt(r["peak_rss_mb"], 0), "preset" if r["dropout"] is None else str(r["dropout"]),
        ]
        for r in doc["rows"]
    ]  # fmt: skip
    note = (
        "FLOPs: `torch.utils.flop_counter` over one step (matmuls and attention, forward and "
        "backward; the wrapper's includes its frozen MixSTE's forward). `mixste`: 8 pairs of "
        "blocks (the paper's depth), 8 heads; `wrapper`: 16 denoiser blocks of that width on "
        "an 8 x 64 MixSTE. Micro-batch: windows per forward/backward pass, the gradients of "
        "the batch accumulated (`train.micro_batch`). Counted ops: the ops whose FLOPs are "
        "counted (matmuls and attention kernels), timed by `torch.profiler` in one more step: "
        "their share of the step time, and the rate they run at as a share of the peak, the "
        "most the step could reach with these kernels if everything else took no time."
    )
    return lines + table(header, body) + ["", note, ""]


def loaded_section(doc: dict[str, Any]) -> list[str]:
    lines = ["## Lifting on a loaded machine: thread policy (issue #18)", ""] + provenance(doc)
    header = ["repeat", "OMP wait policy", "frames/s", "1-min load average"]
    body = [
        [str(r["repeat"]), r["policy"], fmt(r["frames_per_s"], 1), fmt(r["load_1m"], 2)]
        for r in doc["rows"]
    ]
    extra = doc.get("extra_load_processes", 0)
    note = (
        "Each row is one `diffhpe lift sample` (400 frames, the shipped model) in a fresh "
        "process while other work used the cores"
        + (f" ({extra} busy-looping processes started by the script)" if extra else
           " (a training run and test suites, no extra load from the script)")
        + ". diffhpe sets `OMP_WAIT_POLICY=PASSIVE` before torch starts unless the user chose "
        "a policy (`src/diffhpe/__init__.py`); `ACTIVE` is OpenMP's spinning wait, what "
        "torch used before."
    )  # fmt: skip
    return lines + table(header, body) + ["", note, ""]


def width_targets(docs: list[dict[str, Any]], add: Any) -> None:
    """Issue #16: paper-size steps at >= 40% of the peak, <= 4 GB at batch 256, for each
    model from the latest measurement that has it at the paper's width."""
    for model in ("mixste", "wrapper"):
        with_model = [
            d for d in docs
            if d["benchmark"] == "train_width"
            and any(r["model"] == model and r["width"] == PAPER_WIDTH for r in d["rows"])
        ]  # fmt: skip
        if with_model:
            d = max(with_model, key=lambda d: d["date"])
            rows = [r for r in d["rows"] if r["model"] == model and r["width"] == PAPER_WIDTH]
            best = max(rows, key=lambda r: r["peak_share"])
            add(
                f"paper-size {model} training step: >= {100 * TARGET_PEAK_SHARE:.0f}% of the "
                "measured matmul peak",
                f"{100 * best['peak_share']:.1f}% ({best['gflops_per_s']:.1f} GFLOP/s, batch "
                f"{best['batch']}, micro-batch {best['micro_batch'] or 'whole'})"
                + (
                    f"; its matmuls and attention alone run at "
                    f"{100 * best['matmul_peak_share']:.0f}% of the peak (the ceiling with "
                    "these kernels)"
                    if "matmul_peak_share" in best
                    else ""
                ),
                best["peak_share"] >= TARGET_PEAK_SHARE,
                f"`{d['_file']}`",
            )
            at256 = [r for r in rows if r["batch"] == 256]
            if at256:
                low = min(at256, key=lambda r: r["peak_rss_mb"])
                add(
                    f"paper-size {model} training at batch 256: peak RSS <= 4 GB",
                    f"{low['peak_rss_mb']:,.0f} MiB (micro-batch {low['micro_batch'] or 'whole'})",
                    low["peak_rss_mb"] <= TARGET_TRAIN_RSS_MB,
                    f"`{d['_file']}`",
                )


def targets(docs: list[dict[str, Any]]) -> list[str]:
    """The issue #6 criteria, each with the measured number and where it comes from."""
    rows: list[list[str]] = []

    def add(name: str, value: str, ok: bool | None, source: str) -> None:
        status = "–" if ok is None else ("met" if ok else "NOT met")
        rows.append([name, value, status, source])

    inf = [d for d in docs if d["benchmark"] == "inference_speed" and d["model"] == "shipped"]
    for d in inf:
        per = _by_setting(d)
        src = f"`{d['_file']}`"
        if "default" in per:
            best = max(per["default"].values(), key=lambda r: r["frames_per_s"])
            at5 = _same_sampler_at(per, best, TARGET_H)
            name = f"shipped wrapper, default sampler, H = {TARGET_H}: >= {TARGET_FPS:.0f} frames/s"
            if at5 is None:
                add(
                    name, f"not measured (the default samples H = {best['hypotheses']})", False, src
                )
            else:
                add(
                    name,
                    f"{at5['frames_per_s']:,.1f} frames/s at batch {at5['batch']} "
                    f"({at5['sampler']}, {at5['steps']} steps, H = {at5['hypotheses']}"
                    + ("" if at5 is best else f", setting `{at5['setting']}`")
                    + ")",
                    at5["frames_per_s"] >= TARGET_FPS,
                    src,
                )
            if best["hypotheses"] != TARGET_H:
                add(
                    f"(context, not a target) shipped default at its own H = {best['hypotheses']}",
                    f"{best['frames_per_s']:,.1f} frames/s at batch {best['batch']}",
                    None,
                    src,
                )
        sp = speedup_vs_authors(d, "default")
        if sp:
            add(
                f"default vs the authors' way: >= {TARGET_SPEEDUP:.0f}x",
                f"{sp[0]:,.1f}x at batch {sp[1]}",
                sp[0] >= TARGET_SPEEDUP,
                src,
            )
        acc = d.get("accuracy") or {}
        if "default" in acc and "ddpm" in acc:
            m, ref = acc["default"]["mpjpe_mm"], acc["ddpm"]["mpjpe_mm"]
            rel = (m - ref) / ref
            add(
                "default sampler MPJPE at most 1% above the paper setting (ddpm, H = 5)",
                f"{m:.2f} vs {ref:.2f} mm ({100 * rel:+.2f}%)",
                rel <= TARGET_MPJPE_REL,
                src,
            )
    for d in (d for d in docs if d["benchmark"] == "long_sequence"):
        for r in d["rows"]:
            if r["frames"] == TARGET_LONG_FRAMES:
                add(
                    f"{TARGET_LONG_FRAMES:,}-frame lift: peak memory < 2 GB",
                    f"{r['peak_rss_mb'] * 2**20 / 1e9:.2f} GB ({r['peak_rss_mb']:,.0f} MiB)",
                    r["peak_rss_mb"] * 2**20 < TARGET_LONG_BYTES,
                    f"`{d['_file']}`",
                )
    for d in (d for d in docs if d["benchmark"] == "train_speed"):
        q = d.get("quoted_authors") or {}
        fast = [r for r in d["rows"] if r.get("engine", "fast") == "fast"]
        for r in fast:
            ref = [
                x
                for x in d["rows"]
                if x.get("engine") == "reference"
                and (x["size"], x["batch"]) == (r["size"], r["batch"])
            ]
            if ref:
                ratio = r["windows_per_s"] / ref[0]["windows_per_s"]
                add(
                    f"(context, not a target) training, {r['size']} size, batch {r['batch']}: "
                    "engine vs the plain reference implementation, same machine and run",
                    f"{r['windows_per_s']:.2f} vs {ref[0]['windows_per_s']:.2f} windows/s "
                    f"({ratio:.2f}x)",
                    None,
                    f"`{d['_file']}`",
                )
            if q and r["size"] == q["size"] and r["batch"] == q["batch"]:
                need = TARGET_TRAIN_RATIO * q["windows_per_s"]
                add(
                    f"training, {q['size']} size, batch {q['batch']}: >= {TARGET_TRAIN_RATIO}x "
                    f"the authors' QUOTED {q['windows_per_s']} windows/s (= {need:.0f})",
                    f"{r['windows_per_s']:.2f} windows/s measured "
                    f"({r['windows_per_s'] / q['windows_per_s']:.2f}x the quoted figure)",
                    r["windows_per_s"] >= need,
                    f"`{d['_file']}`",
                )
    width_targets(docs, add)
    for d in (d for d in docs if d["benchmark"] == "loaded_lift"):
        med = d["median"]
        name = next(k for k in med if k.startswith("default"))
        add(
            f"`diffhpe lift sample` on a loaded machine, default thread policy: >= "
            f"{TARGET_LOADED_FPS:.0f} frames/s",
            f"{med[name]:.1f} frames/s median (ACTIVE wait: {med.get('ACTIVE', float('nan')):.1f})",
            med[name] >= TARGET_LOADED_FPS,
            f"`{d['_file']}`",
        )
    if not rows:
        return ["No result file holds the numbers the targets need.", ""]
    return table(["target", "measured", "status", "from"], rows) + [""]


ENGINE = """## What the engine does

- The default sampler starts from the wrapper's own MixSTE estimate noised to step 5 of
  50 (eq. 3) and takes 2 DDIM steps: 10 denoiser calls per window at H = 5, against 250
  in the paper's setting (DDPM from pure noise), and more accurate with this model
  (docs/RESULTS.md section 4). `--init noise --sampler ddpm` restores the paper's.
- The MixSTE conditioning and the conditioning half of the denoiser's input projection are
  computed once per window, never per step or per hypothesis; the H hypotheses run as one
  batch of B x H windows (`diffhpe.inference.predict`). The `authors` setting undoes both.
- The graph layers are batched matmuls: the time-wise layer one (T x T) @ (T, J*C) product
  per window, the feature-wise layer one (J x J) @ (J, rows*C) product and one batched
  matmul per weight over the 17 joints; no Python loop over joints, frames or hypotheses.
- In eval mode each BatchNorm is folded into the graph layer before it (scaled weights,
  bias), so normalisation costs no pass over the activations.
- The gated unit `sigmoid(g) * tanh(f)` uses `tanh(f) = 2 sigmoid(2f) - 1`: PyTorch's CPU
  `tanh` is several times slower than its `sigmoid`.
- On CPU in eval mode, MixSTE and denoiser calls on many windows run in chunks of whole
  windows (`max_rows_per_chunk`: ~8 windows for MixSTE, ~16 for the denoiser) whose
  activations stay in cache; one pass over hundreds of windows is bound by memory
  bandwidth (`diffhpe/models/chunking.py`). The frozen MixSTE of the wrapper is in eval
  mode during training too, so the training step's conditioning is chunked as well.
- MixSTE's attention calls `scaled_dot_product_attention` on 4D (rows, heads, tokens,
  channels) tensors, which takes its fused CPU kernel; 5D inputs fall back to the slower
  math path.
- Training-time dropout draws its mask with `rand_like` (same law as `F.dropout`, whose
  CPU `bernoulli_` is several times slower).
- Optional: `diffhpe lift --compile` / `Lifter(..., compile=True)` /
  `--compile` in `inference_speed.py` run the denoiser through `torch.compile`; if that
  fails (no C++ compiler for inductor, ...) a warning is shown and it runs eagerly.
- Long sequences stream: `Lifter.lift` processes `batch_windows` windows at a time and
  accumulates into per-frame sums, so memory is bounded by the batch, not the length.
- Threads: with cores shared with other processes, OpenMP's spin-waiting can make a
  2-thread run far slower than 1 thread; `OMP_WAIT_POLICY=PASSIVE` (the benchmarks'
  `--omp-passive`) avoids it.

"""

RERUN = """## How to measure again

From the repository root, on a quiet machine (add `--omp-passive` to each benchmark if
other processes share the cores):

```
python benchmarks/inference_speed.py --model shipped --threads 2 --batch 1 16 64 256 \\
    --authors-max-batch 1 --max-window-calls 8192 --accuracy --max-windows 150
python benchmarks/inference_speed.py --model paper --threads 2 --batch 1 16 64 \\
    --settings mixste authors ddpm ddim-10-5 ddim-5-5
python benchmarks/long_sequence.py --threads 2
python benchmarks/train_speed.py --threads 2 --sizes paper cpu --batch 100 --engines fast reference
python benchmarks/train_width.py --threads 2 --batch 64 256 --micro 0 32
python benchmarks/loaded_lift.py --repeats 3 --load 2
python benchmarks/report.py
```

Each script has `--smoke` (tiny batches, one repeat) to check that it runs.
"""


def render(docs: list[dict[str, Any]], smoke: bool) -> str:
    lines = ["# Performance", ""]
    lines.append(
        "_Written by `python benchmarks/report.py` from the JSON files of `benchmarks/results/`; "
        "do not edit by hand._"
    )
    lines.append("")
    if smoke:
        lines += [
            "> **SMOKE RUN.** These files come from `--smoke` runs (batch 1, one repeat, a few "
            "windows) that only check that the scripts work. The numbers below are NOT "
            "measurements.",
            "",
        ]
    lines += ["## Targets (issues #6, #16 and #18)", ""] + targets(docs)
    order = {"inference_speed": 0, "long_sequence": 1, "train_speed": 2, "train_width": 3,
             "loaded_lift": 4}  # fmt: skip
    for doc in sorted(docs, key=lambda d: (order.get(d["benchmark"], 9), d["_file"])):
        if doc["benchmark"] == "inference_speed":
            lines += inference_section(doc)
        elif doc["benchmark"] == "long_sequence":
            lines += long_section(doc)
        elif doc["benchmark"] == "train_speed":
            lines += train_section(doc)
        elif doc["benchmark"] == "train_width":
            lines += width_section(doc)
        elif doc["benchmark"] == "loaded_lift":
            lines += loaded_section(doc)
    lines += [ENGINE, RERUN]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="*", type=Path, help="default: benchmarks/results/*.json")
    p.add_argument("--smoke", action="store_true", help="use the *-smoke.json files")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "PERFORMANCE.md")
    args = p.parse_args()
    if args.files:
        docs = load(args.files)
    else:
        paths = sorted(f for f in RESULTS.glob("*.json") if f.stem.endswith("-smoke") == args.smoke)
        docs = load(paths, skip_others=True)
    if not docs:
        raise SystemExit(f"no result files of {KNOWN} in {RESULTS} (smoke={args.smoke})")
    smoke = args.smoke or any(d.get("smoke") for d in docs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(docs, smoke), encoding="utf-8")
    print(f"wrote {args.out} from {len(docs)} files")


if __name__ == "__main__":
    main()
