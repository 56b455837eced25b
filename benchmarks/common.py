"""Helpers shared by the benchmark scripts: models, memory, child processes, JSON output.

Every benchmark measures in fresh child processes (``run_child``) so that peak memory
(``ru_maxrss``) is the setting's own and thread settings are set before torch starts.
Each script writes one JSON file: ``{"benchmark", "command", "environment", "date",
"smoke", "rows": [...]}``; ``benchmarks/report.py`` turns those files into
docs/PERFORMANCE.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffhpe.checkpoint import prefixed, save_checkpoint
from diffhpe.config import RunConfig, load_config
from diffhpe.hardware import environment as torch_environment
from diffhpe.lifting import pretrained_path
from diffhpe.models.factory import build_model, load_model, model_metadata

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MODELS_HELP = (
    "'shipped' (the package's model), 'paper' (paper-size wrapper, random weights: "
    "speed only), 'cpu' (the wrapper-cpu preset size, random weights) or a checkpoint path"
)


def random_wrapper(preset: str, mixste_preset: str, seed: int = 0) -> tuple[nn.Module, RunConfig]:
    """A wrapper of ``preset``'s size on a ``mixste_preset`` backbone, random weights."""
    cfg = load_config(preset)
    mcfg = load_config(mixste_preset)
    torch.manual_seed(seed)
    backbone = build_model(mcfg)
    backbone.backbone_run_config = mcfg  # type: ignore[attr-defined]
    return build_model(cfg, backbone=backbone).eval(), cfg


def load_wrapper(name: str) -> tuple[nn.Module, RunConfig]:
    """The model named by ``--model`` (see ``MODELS_HELP``), in eval mode."""
    if name == "paper":
        return random_wrapper("wrapper-paper", "mixste-paper")
    if name == "cpu":
        return random_wrapper("wrapper-cpu", "mixste-cpu")
    path = pretrained_path() if name == "shipped" else Path(name)
    if not path.exists():
        raise FileNotFoundError(f"--model {name}: no checkpoint at {path}")
    return load_model(path)


def model_checkpoint(name: str) -> Path | None:
    """The checkpoint file behind ``--model`` (None for the random-weight sizes)."""
    if name in ("paper", "cpu"):
        return None
    return pretrained_path() if name == "shipped" else Path(name)


def save_mixste(model: nn.Module, folder: Path) -> Path:
    """Write a wrapper's frozen backbone as a standalone MixSTE checkpoint in ``folder``."""
    backbone = model.backbone
    bcfg = getattr(model, "backbone_run_config", None) or backbone.backbone_run_config
    path = folder / "mixste-backbone.safetensors"
    save_checkpoint(path, prefixed(backbone.state_dict(), "model."), model_metadata(bcfg, backbone))
    return path


def random_mixste_checkpoint(preset: str, folder: Path, seed: int = 0) -> Path:
    """A random-weight MixSTE checkpoint of ``preset``'s size (a wrapper's backbone)."""
    cfg = load_config(preset)
    torch.manual_seed(seed)
    model = build_model(cfg)
    path = folder / f"{preset}-random.safetensors"
    save_checkpoint(path, prefixed(model.state_dict(), "model."), model_metadata(cfg, model))
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB (Linux ``ru_maxrss`` is in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def current_rss_mb() -> float:
    """Resident memory now, MiB (``/proc/self/status``; NaN where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


PASSIVE_HELP = (
    "children sleep instead of spinning while they wait for each other's OpenMP threads "
    "(OMP_WAIT_POLICY=PASSIVE). Use it when other processes share the cores: measured on a "
    "loaded 2-core machine, spinning made 2-thread sampling ~100x slower than 1 thread"
)


def thread_env(threads: int, passive: bool = False) -> dict[str, str]:
    """The environment of a child limited to ``threads`` intra-op threads."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    if passive:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


def run_child(
    script: str, args: list[str], threads: int, passive: bool = False, timeout: float | None = None
) -> dict:
    """Run ``python script --child ... args`` in a fresh process with ``threads`` threads;
    returns the JSON it prints last on stdout. Raises with the child's stderr tail if it fails."""
    cmd = [sys.executable, str(Path(script).resolve()), "--child", *args]
    env = thread_env(threads, passive)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        raise RuntimeError(f"child {shlex.join(cmd)} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])


def environment(threads: int, passive: bool = False) -> dict[str, Any]:
    """Machine and software of a measurement (threads = what the children were given)."""
    env = torch_environment("cpu")
    env.update(
        {
            "threads": threads,
            "omp_wait_policy": "PASSIVE" if passive else os.environ.get("OMP_WAIT_POLICY"),
            "logical_cpus": os.cpu_count(),
            "platform": platform.platform(),
            "machine": platform.machine(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        }
    )
    return env


def write_results(
    path: str | Path, benchmark: str, smoke: bool, threads: int, passive: bool, **payload: Any
) -> Path:
    """Write a benchmark's JSON (command line, environment, date, rows...) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": benchmark,
        "command": shlex.join(["python", *sys.argv]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "smoke": smoke,
        "environment": environment(threads, passive),
        **payload,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


def temp_folder() -> tempfile.TemporaryDirectory:
    """A temporary folder for throw-away checkpoints, removed on exit."""
    return tempfile.TemporaryDirectory(prefix="diffhpe-bench-")
