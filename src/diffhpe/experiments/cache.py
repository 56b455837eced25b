"""The evaluation cache: run each evaluation of the page once, reuse it while nothing changed.

A stored evaluation (``results/*.json``) is reused when its cache key matches: the
checkpoint's SHA-256, benchmark.json's SHA-256 and every evaluation option (options added
later enter the key only when set otherwise than "as before", see ``_LATER_OPTIONS``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from diffhpe.data.build import benchmark_digest
from diffhpe.evaluation import EvalOptions, denoising_profile, evaluate
from diffhpe.experiments.job import Job, Subset
from diffhpe.experiments.manifest import Manifest
from diffhpe.experiments.provenance import CheckpointInfo, checkpoint_info
from diffhpe.hardware import environment
from diffhpe.metrics import summary_value
from diffhpe.sampling import SamplingOverride

CACHE_VERSION = 1  # bump when the meaning of a stored evaluation changes


@dataclass
class Evaluation:
    job: Job
    info: CheckpointInfo
    file: Path
    summary: dict[str, Any]
    reused: bool


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text).strip("-")


def evaluate_command(opts: EvalOptions, checkpoint: str) -> str:
    """The ``diffhpe evaluate`` line that reproduces one evaluation."""
    parts = [
        "diffhpe evaluate",
        checkpoint,
        f"--split {opts.split}",
        f"--occlusion {opts.occlusion}",
    ]
    if opts.family != "exact":
        parts.append(f"--family {opts.family}")
    parts += opts.sampling.to_flags()
    if opts.cameras:
        parts.append("--cameras " + " ".join(opts.cameras))
    if opts.stride != 1:
        parts.append(f"--stride {opts.stride}")
    if opts.window_stride != 1:
        parts.append(f"--window-stride {opts.window_stride}")
    if opts.max_windows:
        parts.append(f"--max-windows {opts.max_windows}")
    if opts.detector:
        parts.append(f"--detector {opts.detector}")
    parts += [
        f"--batch-size {opts.batch_size}",
        f"--seed {opts.seed}",
        f"--data-root {opts.data_root}",
    ]
    parts.append(f"--device {opts.device}")
    return " ".join(parts)


# Options added after results were cached, with the value that means "as before" (None:
# the checkpoint's own setting): they enter a cache key only when set otherwise, so the
# stored results keep their keys and stay valid.
_LATER_OPTIONS: dict[str, Any] = {"init": None, "start_step": None, "family": "exact"}


def cache_options(opts: EvalOptions) -> dict[str, Any]:
    """The evaluation options as they enter a cache key."""
    d = asdict(opts)
    return {k: v for k, v in d.items() if not (k in _LATER_OPTIONS and v == _LATER_OPTIONS[k])}


class Evaluator:
    """Runs or reuses the evaluations of one manifest, writing each to ``results_dir``."""

    def __init__(self, manifest: Manifest, results_dir: Path, force: bool, progress: bool) -> None:
        self.m = manifest
        self.results_dir = results_dir
        self.force = force
        self.progress = progress
        self.ran = 0
        self.reused = 0
        self._info: dict[str, CheckpointInfo] = {}
        self._labels: set[str] = set()
        self._done: dict[str, Evaluation] = {}
        self.used: set[str] = set()  # result file names this page reads or writes
        bench = Path(manifest.data_root) / "benchmark.json"
        if not Path(manifest.data_root).is_dir():
            raise ValueError(f"{manifest.path}: data_root {manifest.data_root!r} is not a folder")
        self.benchmark = json.loads(bench.read_text(encoding="utf-8")) if bench.is_file() else {}
        # Of the data, not of the build's wall time or folder (diffhpe.data.build).
        self.benchmark_sha256 = benchmark_digest(bench) if bench.is_file() else None

    def info(self, path: str) -> CheckpointInfo:
        """Checkpoint metadata, read once; labels (file-name stems) are unique per run."""
        if path not in self._info:
            p = Path(path)
            base = _safe(f"{p.parent.name}-{p.stem}")
            if base in self._labels:  # e.g. runs/session4/mixste-cpu beside runs/mixste-cpu
                base = _safe(f"{p.parent.parent.name}-{base}")
            label, k = base, 1
            while label in self._labels:
                k += 1
                label = f"{base}-{k}"
            self._labels.add(label)
            self._info[path] = checkpoint_info(path, label)
        return self._info[path]

    def checkpoints(self) -> list[CheckpointInfo]:
        """Every checkpoint read so far, in the order first read."""
        return list(self._info.values())

    def options(self, job: Job, info: CheckpointInfo) -> EvalOptions:
        # Sampling settings only mean something for diffusion models.
        sampling = (
            replace(job.sampler, hypotheses=job.hypotheses)
            if info.kind != "mixste"
            else SamplingOverride()
        )
        return EvalOptions(
            split=self.m.eval.split,
            occlusion=job.occlusion,
            **sampling.describe(),
            batch_size=self.m.eval.batch_size,
            seed=self.m.seed,
            cameras=list(job.subset.cameras) if job.subset.cameras else None,
            stride=job.subset.stride,
            window_stride=job.subset.window_stride,
            max_windows=job.subset.max_windows or self.m.eval.max_windows,
            data_root=self.m.data_root,
            detector=self.m.eval.detector,
            device=self.m.eval.device,
        )

    def file_name(self, job: Job, info: CheckpointInfo) -> str:
        if info.kind == "mixste":
            sampling = "deterministic"
        else:
            h = job.hypotheses if job.hypotheses is not None else "cfg"
            sampling = f"{job.sampler.label()}-H{h}"
        parts = [
            info.label,
            self.m.eval.split,
            f"occ-{_safe(job.occlusion)}",
            sampling,
            job.subset.label(),
        ]
        return "__".join(parts) + ".json"

    def run(self, job: Job) -> Evaluation:
        """Evaluate ``job`` unless ``results_dir`` already holds it with the same cache key."""
        info = self.info(job.checkpoint)
        opts = self.options(job, info)
        path = self.results_dir / self.file_name(job, info)
        self.used.add(path.name)
        key = {
            "version": CACHE_VERSION,
            "checkpoint_sha256": info.sha256,
            "benchmark_sha256": self.benchmark_sha256,
            "options": cache_options(opts),
        }
        if (
            path.name in self._done
            and self._done[path.name].summary["experiment"]["cache_key"] == key
        ):
            return self._done[path.name]
        stored = None if self.force else _read_json(path)
        if stored is not None and stored.get("experiment", {}).get("cache_key") == key:
            self.reused += 1
            ev = Evaluation(job, info, path, stored, reused=True)
        else:
            if self.progress:
                print(f"evaluating {path.name}")
            summary = evaluate(job.checkpoint, opts, progress=self.progress)
            summary["experiment"] = {
                "cache_key": key,
                "command": evaluate_command(opts, job.checkpoint),
                "environment": environment(opts.device),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
            self.ran += 1
            ev = Evaluation(job, info, path, summary, reused=False)
        self._done[path.name] = ev
        return ev

    def profile(self, checkpoint: str, steps: tuple[int, ...], subset: Subset) -> dict[str, Any]:
        """A cached :func:`denoising_profile` of ``checkpoint`` (same cache rules as ``run``)."""
        info = self.info(checkpoint)
        opts = self.options(Job(checkpoint, subset=subset), info)
        path = self.results_dir / f"{info.label}__{opts.split}__denoising__{subset.label()}.json"
        self.used.add(path.name)
        key = {
            "version": CACHE_VERSION,
            "checkpoint_sha256": info.sha256,
            "benchmark_sha256": self.benchmark_sha256,
            "options": cache_options(opts),
            "steps": list(steps),
        }
        stored = None if self.force else _read_json(path)
        if stored is not None and stored.get("experiment", {}).get("cache_key") == key:
            self.reused += 1
            return {**stored, "file": path.name}
        if self.progress:
            print(f"profiling {path.name}")
        summary = denoising_profile(checkpoint, list(steps), opts, progress=self.progress)
        summary["experiment"] = {"cache_key": key, "environment": environment(opts.device)}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
        self.ran += 1
        return {**summary, "file": path.name}


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def metric(ev: Evaluation | None, name: str) -> float:
    """Frame-weighted ``name`` (in its registry unit, mm for pose metrics) of an
    evaluation; NaN when it was not run."""
    if ev is None:
        return math.nan
    return summary_value(ev.summary, name)
