"""The machine a number was measured on: recorded beside every training run and evaluation."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch


def environment(device: str = "cpu") -> dict[str, Any]:
    """Hardware and software of this process: CPU model, torch threads, torch, GPU used."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None
    return {
        "cpu": cpu,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": gpu,
    }


def describe(env: dict[str, Any]) -> str:
    """One line: ``CPU, N threads, torch X, GPU or 'no GPU'``."""
    gpu = env.get("gpu") or "no GPU"
    return f"{env['cpu']}, {env['threads']} threads, torch {env['torch']}, {gpu}"
