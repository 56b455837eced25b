"""``diffhpe experiment paper``: re-measure the paper's results and write ``docs/RESULTS.md``.

A YAML manifest (default: ``configs/experiments/paper.yaml``) names trained checkpoints;
this module evaluates them with :func:`diffhpe.evaluation.evaluate` and writes

- ``RESULTS.md``: analogues of the paper's Table 2 (section 5.1), Table 4 (5.2), the
  train x test occlusion matrices of Figures 3-5 (5.3-5.4), a sampling study (H and
  the sampler) and a "Claims" section whose verdicts are computed from the numbers;
- ``figures/*.png``: the matrices as annotated heatmaps;
- ``results/*.json``: every raw evaluation summary, one file per evaluation.

An evaluation whose JSON already holds the same cache key (checkpoint SHA-256,
benchmark.json SHA-256 and every evaluation option) is reused unless ``force``; so a
re-run rewrites the page from the stored numbers, and the same seed gives the same
numbers. A missing checkpoint never stops the page: its cells say "not run".
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from diffhpe.checkpoint import file_sha256, read_metadata, weights_digest
from diffhpe.data.occlusion import PATTERNS
from diffhpe.evaluation import EvalOptions, denoising_profile, evaluate
from diffhpe.hardware import describe, environment

PAPER_MANIFEST = Path(__file__).resolve().parent / "configs" / "experiments" / "paper.yaml"
CACHE_VERSION = 1  # bump when the meaning of a stored evaluation changes

TABLE2_MODELS = ("mixste", "diffhpe2d", "wrapper")
TABLE4_COLUMNS = ("mixste", "wrapper_on_vanilla", "wrapper")
MATRIX_MODELS = ("mixste", "wrapper")
MATRIX_METRICS = ("mpjpe", "symmetry_gap", "segment_std")
DISPLAY = {
    "mixste": "MixSTE",
    "diffhpe2d": "DiffHPE-2D",
    "wrapper": "DiffHPE-Wrapper",
    "wrapper_on_vanilla": "DiffHPE-Wrapper on vanilla MixSTE",
    "mpjpe": "MPJPE",
    "p_mpjpe": "P-MPJPE",
    "symmetry_gap": "Symmetry gap",
    "segment_std": "Segment std",
    "none": "None",
    "random": "Random",
    "left_arm_right_leg": "Leg + arm",
    "consecutive_right_leg": "Consec. leg",
    "consecutive_frames": "Consec. frames",
}
REFERENCE_METRICS = ("mpjpe", "symmetry_gap", "segment_std")


# ------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class SamplerSetting:
    """Sampling overrides of one evaluation; None keeps the checkpoint's value."""

    sampler: str | None = None
    steps: int | None = None
    eta: float | None = None
    aggregation: str | None = None
    clip_x0: float | None = None  # metres; 0: no clipping
    init: str | None = None  # "noise" | "backbone"
    start_step: int | None = None  # with init "backbone"

    def label(self) -> str:
        """Short name for files and tables, e.g. ``ddim10``, ``ddpm-noclip``, ``default``,
        ``ddim4-from-backbone10``."""
        name = self.sampler or "default"
        if self.steps is not None and self.sampler != "ddpm":
            name += str(self.steps)
        if self.eta is not None:
            name += f"-eta{self.eta:g}"
        if self.aggregation is not None:
            name += f"-{self.aggregation}"
        if self.clip_x0 is not None:
            name += "-noclip" if self.clip_x0 == 0 else f"-clip{self.clip_x0:g}"
        if self.init == "noise":
            name += "-from-noise"
        elif self.init == "backbone":
            name += f"-from-backbone{'' if self.start_step is None else self.start_step}"
        return name


@dataclass(frozen=True)
class Subset:
    """Which test frames: cameras (None: all four), every ``stride``-th frame, a window cap."""

    cameras: tuple[str, ...] | None = None
    stride: int = 1
    max_windows: int = 0  # 0: the manifest's eval.max_windows
    window_stride: int = 1  # every k-th window

    def label(self) -> str:
        parts = ["cam" + "+".join(self.cameras)] if self.cameras else ["allcams"]
        if self.stride != 1:
            parts.append(f"stride{self.stride}")
        if self.window_stride != 1:
            parts.append(f"wstride{self.window_stride}")
        if self.max_windows:
            parts.append(f"max{self.max_windows}")
        return "-".join(parts)

    def describe(self) -> str:
        cams = ", ".join(self.cameras) if self.cameras else "all four"
        frames = f"1 frame in {self.stride}" if self.stride != 1 else "every frame"
        windows = f", first {self.max_windows} windows" if self.max_windows else ""
        if self.window_stride != 1:
            windows += f", one window in {self.window_stride} (27 frames at the full rate)"
        return f"cameras {cams}, {frames}{windows}"


@dataclass(frozen=True)
class EvalSettings:
    """The manifest's ``eval`` block: what every evaluation shares."""

    split: str = "test"
    batch_size: int = 256
    device: str = "cpu"
    detector: str | None = None  # None: each checkpoint's
    max_windows: int = 0  # 0: all


@dataclass
class Table2Manifest:
    """``table2``: one checkpoint per model, with the diffusion models' sampling."""

    checkpoints: dict[str, str]  # model (TABLE2_MODELS) -> path
    hypotheses: int | None = None
    sampler: SamplerSetting = field(default_factory=SamplerSetting)
    subset: Subset = field(default_factory=Subset)  # default: every test frame, all cameras


@dataclass
class OcclusionManifest:
    """``occlusion``: per training pattern a MixSTE and a wrapper (on that MixSTE)."""

    patterns: tuple[str, ...]
    mixste: dict[str, str]
    wrapper: dict[str, str]
    # One path (a wrapper on the vanilla MixSTE, tested under each pattern) or per pattern.
    wrapper_on_vanilla: str | dict[str, str] | None
    subset: Subset = field(default_factory=Subset)
    hypotheses: int | None = None
    sampler: SamplerSetting = field(default_factory=SamplerSetting)


@dataclass
class SamplingManifest:
    """``sampling``: one diffusion checkpoint, H x sampler grid."""

    checkpoint: str
    hypotheses: tuple[int, ...]
    samplers: tuple[SamplerSetting, ...]
    subset: Subset = field(default_factory=Subset)
    # A sampler entry's own `hypotheses` (e.g. the costly DDPM at H = 5 only), by label.
    only: dict[str, tuple[int, ...]] = field(default_factory=dict)
    mixste: str | None = None  # the checkpoint's MixSTE, shown as the reference line
    shipped: str | None = None  # label of the shipped default sampler, compared with MixSTE

    def runs(self, smp: SamplerSetting, h: int) -> bool:
        """Whether the grid cell (sampler, H) is evaluated."""
        return h in self.only.get(smp.label(), self.hypotheses)


@dataclass
class DenoisingManifest:
    """``denoising``: one-step x0 recovery by noise level for diffusion checkpoints."""

    checkpoints: tuple[str, ...]
    steps: tuple[int, ...]
    subset: Subset = field(default_factory=Subset)


@dataclass
class Manifest:
    path: Path
    data_root: str
    seed: int = 0
    eval: EvalSettings = field(default_factory=EvalSettings)
    table2: Table2Manifest | None = None
    occlusion: OcclusionManifest | None = None
    sampling: SamplingManifest | None = None
    denoising: DenoisingManifest | None = None
    paper_reference: dict[str, Any] = field(default_factory=dict)


def _mapping(value: Any, where: str, allowed: Iterable[str]) -> dict[str, Any]:
    """``value`` as a dict whose keys are all in ``allowed`` (unknown keys are errors)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {value!r:.80}")
    allowed = tuple(allowed)
    unknown = sorted(set(map(str, value)) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected some of {list(allowed)}")
    return {str(k): v for k, v in value.items()}


def _int(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: expected an integer >= {minimum}, got {value!r}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


SAMPLER_KEYS = ("sampler", "steps", "eta", "aggregation", "clip_x0", "init", "start_step")


def _parse_sampler(value: Any, where: str) -> SamplerSetting:
    d = _mapping(value or {}, where, SAMPLER_KEYS)
    sampler = d.get("sampler")
    if sampler is not None and sampler not in ("ddpm", "ddim"):
        raise ValueError(f"{where}.sampler: expected 'ddpm' or 'ddim', got {sampler!r}")
    aggregation = d.get("aggregation")
    if aggregation is not None and aggregation not in ("mean", "median"):
        raise ValueError(f"{where}.aggregation: expected 'mean' or 'median', got {aggregation!r}")
    init = d.get("init")
    if init is not None and init not in ("noise", "backbone"):
        raise ValueError(f"{where}.init: expected 'noise' or 'backbone', got {init!r}")
    start = d.get("start_step")
    return SamplerSetting(
        sampler=sampler,
        steps=None if d.get("steps") is None else _int(d["steps"], f"{where}.steps", 1),
        eta=None if d.get("eta") is None else _number(d["eta"], f"{where}.eta"),
        aggregation=aggregation,
        clip_x0=None if d.get("clip_x0") is None else _number(d["clip_x0"], f"{where}.clip_x0"),
        init=init,
        start_step=None if start is None else _int(start, f"{where}.start_step", 0),
    )


def _parse_subset(value: Any, where: str) -> Subset:
    d = _mapping(value or {}, where, ("cameras", "stride", "max_windows", "window_stride"))
    cams = d.get("cameras")
    if cams is not None:
        if not isinstance(cams, list) or not cams:
            raise ValueError(
                f"{where}.cameras: expected a non-empty list of camera ids, got {cams!r}"
            )
        cams = tuple(str(c) for c in cams)
    return Subset(
        cameras=cams,
        stride=_int(d.get("stride", 1), f"{where}.stride", 1),
        max_windows=_int(d.get("max_windows", 0), f"{where}.max_windows"),
        window_stride=_int(d.get("window_stride", 1), f"{where}.window_stride", 1),
    )


def _parse_paths(value: Any, where: str, keys: Iterable[str]) -> dict[str, str]:
    d = _mapping(value or {}, where, keys)
    return {k: _str(v, f"{where}.{k}") for k, v in d.items()}


def _parse_hypotheses(value: Any, where: str) -> int | None:
    return None if value is None else _int(value, where, 1)


def _parse_table2(value: Any, where: str) -> Table2Manifest:
    d = _mapping(value, where, (*TABLE2_MODELS, "hypotheses", "sampler", "subset"))
    paths = {k: d[k] for k in TABLE2_MODELS if k in d}
    return Table2Manifest(
        checkpoints=_parse_paths(paths, where, TABLE2_MODELS),
        hypotheses=_parse_hypotheses(d.get("hypotheses"), f"{where}.hypotheses"),
        sampler=_parse_sampler(d.get("sampler"), f"{where}.sampler"),
        subset=_parse_subset(d.get("subset"), f"{where}.subset"),
    )


def _parse_occlusion(value: Any, where: str) -> OcclusionManifest:
    d = _mapping(
        value,
        where,
        ("patterns", "mixste", "wrapper", "wrapper_on_vanilla", "subset", "hypotheses", "sampler"),
    )
    patterns = d.get("patterns", list(PATTERNS))
    if not isinstance(patterns, list) or not patterns:
        raise ValueError(f"{where}.patterns: expected a non-empty list, got {patterns!r}")
    for p in patterns:
        if p not in PATTERNS:
            raise ValueError(
                f"{where}.patterns: unknown pattern {p!r}; expected some of {PATTERNS}"
            )
    if len(set(patterns)) != len(patterns):
        raise ValueError(f"{where}.patterns: repeated pattern in {patterns}")
    vanilla = d.get("wrapper_on_vanilla")
    if isinstance(vanilla, str):
        vanilla = _str(vanilla, f"{where}.wrapper_on_vanilla")
    elif vanilla is not None:
        vanilla = _parse_paths(vanilla, f"{where}.wrapper_on_vanilla", patterns)
    return OcclusionManifest(
        patterns=tuple(patterns),
        mixste=_parse_paths(d.get("mixste"), f"{where}.mixste", patterns),
        wrapper=_parse_paths(d.get("wrapper"), f"{where}.wrapper", patterns),
        wrapper_on_vanilla=vanilla,
        subset=_parse_subset(d.get("subset"), f"{where}.subset"),
        hypotheses=_parse_hypotheses(d.get("hypotheses"), f"{where}.hypotheses"),
        sampler=_parse_sampler(d.get("sampler"), f"{where}.sampler"),
    )


def _parse_sampling(value: Any, where: str) -> SamplingManifest:
    d = _mapping(
        value, where, ("checkpoint", "mixste", "shipped", "hypotheses", "samplers", "subset")
    )
    hyps = d.get("hypotheses", [1])
    if not isinstance(hyps, list) or not hyps:
        raise ValueError(f"{where}.hypotheses: expected a non-empty list of integers, got {hyps!r}")
    samplers = d.get("samplers", [{}])
    if not isinstance(samplers, list) or not samplers:
        raise ValueError(
            f"{where}.samplers: expected a non-empty list of mappings, got {samplers!r}"
        )
    hypotheses = tuple(_int(h, f"{where}.hypotheses[{i}]", 1) for i, h in enumerate(hyps))
    parsed, only = [], {}
    for i, entry in enumerate(samplers):
        w = f"{where}.samplers[{i}]"
        entry = dict(_mapping(entry or {}, w, (*SAMPLER_KEYS, "hypotheses")))
        own = entry.pop("hypotheses", None)
        smp = _parse_sampler(entry, w)
        parsed.append(smp)
        if own is not None:
            if not isinstance(own, list) or not own:
                raise ValueError(f"{w}.hypotheses: expected a non-empty list, got {own!r}")
            only[smp.label()] = tuple(_int(h, f"{w}.hypotheses[{j}]", 1) for j, h in enumerate(own))
            extra = set(only[smp.label()]) - set(hypotheses)
            if extra:
                raise ValueError(f"{w}.hypotheses: {sorted(extra)} not among {list(hypotheses)}")
    return SamplingManifest(
        checkpoint=_str(d.get("checkpoint"), f"{where}.checkpoint"),
        hypotheses=hypotheses,
        samplers=tuple(parsed),
        subset=_parse_subset(d.get("subset"), f"{where}.subset"),
        only=only,
        mixste=None if d.get("mixste") is None else _str(d["mixste"], f"{where}.mixste"),
        shipped=_shipped_label(d.get("shipped"), [p.label() for p in parsed], where),
    )


def _shipped_label(value: Any, labels: list[str], where: str) -> str | None:
    if value is None:
        return None
    label = _str(value, f"{where}.shipped")
    if label not in labels:
        raise ValueError(
            f"{where}.shipped: {label!r} is not a sampler label; expected one of {labels}"
        )
    return label


def _parse_denoising(value: Any, where: str) -> DenoisingManifest:
    d = _mapping(value, where, ("checkpoints", "steps", "subset"))
    ckpts, steps = d.get("checkpoints"), d.get("steps")
    if not isinstance(ckpts, list) or not ckpts:
        raise ValueError(f"{where}.checkpoints: expected a non-empty list of paths, got {ckpts!r}")
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"{where}.steps: expected a non-empty list of step indices, got {steps!r}")
    return DenoisingManifest(
        checkpoints=tuple(_str(c, f"{where}.checkpoints[{i}]") for i, c in enumerate(ckpts)),
        steps=tuple(_int(t, f"{where}.steps[{i}]") for i, t in enumerate(steps)),
        subset=_parse_subset(d.get("subset"), f"{where}.subset"),
    )


def _parse_reference(value: Any, where: str) -> dict[str, Any]:
    """``paper_reference``: ``table2: {model: {metric: mm}}``, ``table4: {pattern: {column: mm}}``."""
    d = _mapping(value or {}, where, ("table2", "table4"))
    out: dict[str, Any] = {"table2": {}, "table4": {}}
    for model, metrics in _mapping(d.get("table2") or {}, f"{where}.table2", TABLE2_MODELS).items():
        m = _mapping(metrics, f"{where}.table2.{model}", REFERENCE_METRICS)
        out["table2"][model] = {k: _number(v, f"{where}.table2.{model}.{k}") for k, v in m.items()}
    for pattern, cols in _mapping(d.get("table4") or {}, f"{where}.table4", PATTERNS).items():
        c = _mapping(cols, f"{where}.table4.{pattern}", TABLE4_COLUMNS)
        out["table4"][pattern] = {
            k: _number(v, f"{where}.table4.{pattern}.{k}") for k, v in c.items()
        }
    return out


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest; errors name the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"experiment manifest {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(
            f"experiment manifest {path}: invalid YAML ({e})".replace("\n", " ")
        ) from None
    where = str(path)
    d = _mapping(
        raw,
        where,
        (
            "data_root",
            "seed",
            "eval",
            "table2",
            "occlusion",
            "sampling",
            "denoising",
            "paper_reference",
        ),  # fmt: skip
    )
    ev = _mapping(
        d.get("eval") or {},
        f"{where}: eval",
        ("split", "batch_size", "device", "detector", "max_windows"),
    )
    settings = EvalSettings(
        split=_str(ev.get("split", "test"), f"{where}: eval.split"),
        batch_size=_int(ev.get("batch_size", 256), f"{where}: eval.batch_size", 1),
        device=_str(ev.get("device", "cpu"), f"{where}: eval.device"),
        detector=None
        if ev.get("detector") is None
        else _str(ev["detector"], f"{where}: eval.detector"),
        max_windows=_int(ev.get("max_windows", 0), f"{where}: eval.max_windows"),
    )
    occlusion = (
        None
        if d.get("occlusion") is None
        else _parse_occlusion(d["occlusion"], f"{where}: occlusion")
    )
    return Manifest(
        path=path,
        data_root=_str(d.get("data_root"), f"{where}: data_root"),
        seed=_int(d.get("seed", 0), f"{where}: seed"),
        eval=settings,
        table2=None if d.get("table2") is None else _parse_table2(d["table2"], f"{where}: table2"),
        occlusion=occlusion,
        sampling=None
        if d.get("sampling") is None
        else _parse_sampling(d["sampling"], f"{where}: sampling"),
        denoising=None
        if d.get("denoising") is None
        else _parse_denoising(d["denoising"], f"{where}: denoising"),
        paper_reference=_parse_reference(d.get("paper_reference"), f"{where}: paper_reference"),
    )


# ---------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class CheckpointInfo:
    """What the page states about a checkpoint: training step, time, validation MPJPE."""

    path: str
    label: str
    kind: str
    train_occlusion: str
    backbone_occlusion: str | None  # wrappers only: the occlusion their MixSTE saw
    step: int | None
    val_mpjpe_mm: float | None
    last_step: int | None  # from last.safetensors beside it
    train_seconds: float | None  # summed over resumed sessions, up to the last validation
    sha256: str
    init_from: str | None = None  # the run it was fine-tuned from (train.init_from)
    init_from_sha256: str | None = None  # that file's hash when training started (if recorded)
    train_hardware: str = "not recorded"  # from the run's session records
    ended_by: str = "not recorded"  # why training stopped (see `training_end`)
    val_occlusion: str = "none"  # the validation 2D's occlusion (data.val_occlusion)


def training_time(history: list[dict[str, Any]]) -> float | None:
    """Seconds of training from a train_state ``history`` (``time_s`` per validation).

    ``time_s`` restarts at 0 when a run is resumed, so each session's last value is
    summed. Time after a session's last validation is not recorded.
    """
    times = [float(h["time_s"]) for h in history if "time_s" in h]
    if not times:
        return None
    total = 0.0
    for prev, cur in zip(times, times[1:] + [-1.0], strict=True):
        if cur < prev:  # a session ends here
            total += prev
    return total


def training_hardware(sessions: list[dict[str, Any]]) -> str:
    """The machines a run trained on, from its session records (``Trainer.sessions``)."""
    if not sessions:
        return "not recorded"
    kinds = list(dict.fromkeys(describe(s["environment"]) for s in sessions))
    text = " + ".join(kinds)
    first = int(sessions[0].get("start_step", 0))
    return text + (f" (steps 0-{first}: not recorded)" if first > 0 else "")


def training_end(state: dict[str, Any], train_cfg: dict[str, Any]) -> str:
    """Why a run's last training session ended, from its saved train state.

    ``early_stop`` means converged on the validation split (``train.early_stop`` validations
    in a row without a new best); the limits mean the budget ended it first.
    """
    reason = state.get("stop_reason")
    if reason == "early_stop":
        n = train_cfg.get("early_stop", "?")
        return f"converged: no new best in {n} validations"
    if reason == "max_steps":
        return f"step limit ({train_cfg.get('max_steps', '?')}), not converged"
    if reason == "max_minutes":
        return f"time limit ({train_cfg.get('max_minutes', '?')} min), not converged"
    if reason in ("signal", "interrupted"):
        return "stopped by hand, not converged"
    vals = [float(h["val_mpjpe_mm"]) for h in state.get("history", []) if "val_mpjpe_mm" in h]
    if len(vals) > 1 and vals[-1] <= min(vals):  # runs saved before the reason was recorded
        return "not recorded; still improving at its last validation, not converged"
    return "not recorded"


def run_state(path: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The train state of the run that wrote ``path``, and its last.safetensors metadata.

    Read from ``last.safetensors`` beside ``path`` when present, else from the run's
    ``train_state.json`` (the same state without weights, as committed for finished runs);
    ``(None, {})`` when neither exists.
    """
    last = Path(path).parent / "last.safetensors"
    record = Path(path).parent / "train_state.json"
    if last.is_file():
        last_meta = read_metadata(last)
        return json.loads(last_meta.get("train_state", "{}")), last_meta
    if not record.is_file():
        return None, {}
    try:
        state = json.loads(record.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{record}: not valid JSON ({e})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{record}: expected a JSON object (a run's train state)")
    return state, {}


def checkpoint_info(path: str, label: str) -> CheckpointInfo:
    """Metadata of ``path`` (and of ``last.safetensors`` in the same run folder)."""
    meta = read_metadata(path)
    if "config" not in meta:
        raise ValueError(f"{path}: checkpoint metadata lacks 'config'; not a diffhpe checkpoint")
    cfg = json.loads(meta["config"])
    backbone = json.loads(meta["backbone_config"]) if "backbone_config" in meta else None
    last_step, seconds, hardware, ended = None, None, "not recorded", "not recorded"
    state, last_meta = run_state(path)
    if state is not None:
        last_step = state.get("step")
        seconds = training_time(state.get("history", []))
        hardware = training_hardware(state.get("sessions", []))
        run_cfg = Path(path).parent / "config.json"  # the run's latest config, as trained
        if "config" in last_meta:
            last_cfg = json.loads(last_meta["config"])
        elif run_cfg.is_file():
            last_cfg = json.loads(run_cfg.read_text(encoding="utf-8"))
        else:
            last_cfg = cfg
        ended = training_end(state, last_cfg.get("train", {}))
    return CheckpointInfo(
        path=path,
        label=label,
        kind=meta.get("kind", cfg["model"]["kind"]),
        train_occlusion=cfg["data"].get("occlusion", "none"),
        backbone_occlusion=backbone["data"].get("occlusion", "none") if backbone else None,
        step=int(meta["step"]) if "step" in meta else None,
        val_mpjpe_mm=float(meta["val_mpjpe_mm"]) if "val_mpjpe_mm" in meta else None,
        last_step=last_step,
        train_seconds=seconds,
        sha256=file_sha256(path),
        init_from=cfg.get("train", {}).get("init_from"),
        init_from_sha256=meta.get("init_from_sha256"),
        train_hardware=hardware,
        ended_by=ended,
        val_occlusion=_val_occlusion(cfg["data"]),
    )


def _val_occlusion(data: dict[str, Any]) -> str:
    spec = data.get("val_occlusion", "none")  # absent: checkpoints from before the option
    return data.get("occlusion", "none") if spec == "train" else spec


# ---------------------------------------------------------------------- evaluations


@dataclass(frozen=True)
class Job:
    """One evaluation: a checkpoint under a test occlusion, sampling and subset."""

    checkpoint: str
    occlusion: str = "none"
    hypotheses: int | None = None
    sampler: SamplerSetting = field(default_factory=SamplerSetting)
    subset: Subset = field(default_factory=Subset)


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
    if opts.hypotheses is not None:
        parts.append(f"-H {opts.hypotheses}")
    if opts.sampler is not None:
        parts.append(f"--sampler {opts.sampler}")
    if opts.steps is not None:
        parts.append(f"--steps {opts.steps}")
    if opts.eta is not None:
        parts.append(f"--eta {opts.eta}")
    if opts.aggregation is not None:
        parts.append(f"--aggregation {opts.aggregation}")
    if opts.clip_x0 is not None:
        parts.append(f"--clip-x0 {opts.clip_x0:g}")
    if opts.init is not None:
        parts.append(f"--init {opts.init}")
    if opts.start_step is not None:
        parts.append(f"--start-step {opts.start_step}")
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


# Options added after results were cached: left out of the key while unset (None keeps the
# checkpoint's own setting, as before they existed), so older cached results stay valid.
# Options added after results were cached, with the value that means "as before": they
# enter a cache key only when set otherwise, so the stored results keep their keys.
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
        self.benchmark_sha256 = file_sha256(bench) if bench.is_file() else None

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
        diffusion = info.kind != "mixste"  # sampling settings only mean something there
        s = job.sampler
        return EvalOptions(
            split=self.m.eval.split,
            occlusion=job.occlusion,
            hypotheses=job.hypotheses if diffusion else None,
            sampler=s.sampler if diffusion else None,
            steps=s.steps if diffusion else None,
            eta=s.eta if diffusion else None,
            aggregation=s.aggregation if diffusion else None,
            clip_x0=s.clip_x0 if diffusion else None,
            init=s.init if diffusion else None,
            start_step=s.start_step if diffusion else None,
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
    """Frame-weighted ``name`` (mm) of an evaluation; NaN when it was not run."""
    if ev is None:
        return math.nan
    return float(ev.summary["metrics_mm"][name]["frame_weighted"])


# ----------------------------------------------------------------------- formatting


def _f(v: float | None, digits: int = 1) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.{digits}f}"


def _md_table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    """A markdown table; the first ``left`` columns are text (left-aligned), the rest numbers."""
    align = "|:--" * left + "|--:" * (len(header) - left) + "|"
    return ["| " + " | ".join(header) + " |", align] + ["| " + " | ".join(r) + " |" for r in rows]


_MISSING_FILE = "not run: checkpoint "  # how a "not run" line names a checkpoint file not there


def _checkpoint_path(path: str | None, where: str, missing: list[str]) -> str | None:
    """``path`` if the file exists; otherwise None and a "not run" line in ``missing``."""
    if path is None:
        missing.append(f"not run: `{where}` is not in the manifest")
        return None
    if not Path(path).is_file():
        missing.append(f"{_MISSING_FILE}{path} missing (`{where}`)")
        return None
    return path


def _started_from(i: CheckpointInfo) -> str:
    """The ``train.init_from`` path as the run named it, with its hash when recorded and a
    warning when the file now at that path is another one."""
    if not i.init_from:
        return "scratch"
    if i.init_from_sha256 is None:
        return f"`{i.init_from}`"
    text = f"`{i.init_from}` (SHA-256 {i.init_from_sha256[:12]}"
    now = Path(i.init_from)
    if now.is_file() and file_sha256(now) != i.init_from_sha256:
        text += "; the file there now differs"
    return text + ")"


def backbone_notes(pairs: Iterable[tuple[Evaluation | None, Evaluation | None]]) -> list[str]:
    """Check that each (wrapper, MixSTE) pair compared on the page shares its MixSTE.

    A wrapper bundles the frozen MixSTE it was trained on (``model.backbone.*``); a
    comparison "wrapper vs its MixSTE" holds only when those tensors equal the listed
    MixSTE's (``model.*``). One line per mismatch, or one line saying all pairs matched.
    """
    unique = {
        (w.info.path, b.info.path)
        for w, b in pairs
        if w is not None and b is not None
        and w.info.kind == "wrapper" and b.info.kind == "mixste"
    }  # fmt: skip
    checked, notes = len(unique), []
    for w, b in sorted(unique):
        if weights_digest(w, "model.backbone.") != weights_digest(b, "model."):
            notes.append(
                f"- note: the MixSTE inside `{w}` is not `{b}` (their weights differ), so "
                "this is not a comparison of a wrapper with its own MixSTE"
            )
    if checked and not notes:
        notes.append(
            f"- checked: {checked} wrapper-MixSTE pair(s) compared here; in each, the "
            "wrapper's frozen MixSTE has exactly the listed MixSTE's weights"
        )
    return sorted(set(notes))


def _sampling_text(ev: Evaluation) -> str:
    s = ev.summary.get("sampling")
    if not s:
        return "deterministic"
    clip = s.get("clip_x0")
    clip_text = f", x0 clipped to {clip:g} m" if clip else ", no x0 clipping"
    start = (
        f", from the MixSTE estimate at step {s.get('start_step')}"
        if s.get("init") == "backbone"
        else ""
    )
    return (
        f"{s['sampler']} {s['steps']} steps, H={s['hypotheses']}, {s['aggregation']}"
        f"{clip_text}{start}"
    )


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds:.0f} s"


def provenance(
    evals: list[Evaluation], m: Manifest, command: str, bench: dict[str, Any]
) -> list[str]:
    """How a section's numbers were made: command, seed, data, hardware, checkpoints, times."""
    if not evals:
        return []
    envs = sorted(
        {json.dumps(e.summary["experiment"]["environment"], sort_keys=True) for e in evals}
    )
    hardware = []
    for text in envs:
        env = json.loads(text)
        hardware.append(describe(env))
    subsets = sorted({e.job.subset.describe() for e in evals})
    total = sum(float(e.summary["seconds"]) for e in evals)
    lines = [
        f"- Command: `{command}` (seed {m.seed}; the equivalent `diffhpe evaluate` lines are below)",
        f"- Data: `{m.data_root}`, build format `{bench.get('format', 'not recorded')}`, "
        f"build seed {bench.get('seed', 'not recorded')}; split `{m.eval.split}`; "
        + "; ".join(subsets),
        "- Hardware: " + " | ".join(hardware),
        f"- {len(evals)} evaluations, {total:.1f} s of evaluation wall time in all",
        "",
    ]
    infos = {e.info.path: e.info for e in evals}
    rows = [
        [
            f"`{i.path}`",
            i.kind,
            i.train_occlusion
            + (f" (MixSTE: {i.backbone_occlusion})" if i.backbone_occlusion else ""),
            str(i.step) if i.step is not None else "–",
            _f(i.val_mpjpe_mm, 2)
            + (f" (2D occluded: {i.val_occlusion})" if i.val_occlusion != "none" else ""),
            f"{_hms(i.train_seconds)} to step {i.last_step}"
            if i.last_step
            else _hms(i.train_seconds),
            _started_from(i),
            i.ended_by,
            i.train_hardware,
            i.sha256[:12],
        ]
        for i in infos.values()
    ]
    lines += _md_table(
        [
            "Checkpoint",
            "Kind",
            "Train occlusion",
            "Best step",
            "Val MPJPE (mm, clean 2D unless noted)",
            "Training time",
            "Started from (path when trained)",
            "Training ended by",
            "Training hardware",
            "SHA-256",
        ],
        rows,
        left=3,
    )
    ev_rows = [
        [
            f"[{e.file.name}](results/{e.file.name})",
            e.summary["occlusion_test"],
            _sampling_text(e),
            str(e.summary["frames"]),
            f"{float(e.summary['seconds']):.1f}",
            f"{e.summary['frames_per_second']}",
        ]
        for e in evals
    ]
    lines += ["", "<details><summary>Evaluations: wall time and equivalent commands</summary>", ""]
    lines += _md_table(
        ["Result", "Test occlusion", "Sampling", "Frames", "Wall time (s)", "Frames/s"],
        ev_rows,
        left=3,
    )
    lines += (
        ["", "```"]
        + [e.summary["experiment"]["command"] for e in evals]
        + ["```", "", "</details>", ""]
    )
    return lines


def _unique(evals: Iterable[Evaluation | None]) -> list[Evaluation]:
    seen: dict[str, Evaluation] = {}
    for e in evals:
        if e is not None:
            seen.setdefault(e.file.name, e)
    return list(seen.values())


# --------------------------------------------------------------------------- sections


@dataclass
class Results:
    """Every evaluation the page shows, by section (None: not run)."""

    table2: dict[str, Evaluation | None] = field(default_factory=dict)
    patterns: tuple[str, ...] = ()
    table4: dict[str, dict[str, Evaluation | None]] = field(default_factory=dict)
    matrices: dict[str, dict[tuple[str, str], Evaluation | None]] = field(default_factory=dict)
    sampling: dict[tuple[str, int], Evaluation | None] = field(default_factory=dict)
    sampling_mixste: Evaluation | None = None
    denoising: dict[str, dict[str, Any]] = field(default_factory=dict)


def section_table2(m: Manifest, ev: Evaluator, r: Results, command: str) -> list[str]:
    """Paper Table 2 (section 5.1): accuracy and coherence of the three models."""
    lines = ["## 1. MixSTE vs DiffHPE (paper Table 2)", ""]
    t2 = m.table2
    if t2 is None:
        return lines + ["- not run: no `table2` section in the manifest", ""]
    missing: list[str] = []
    for model in TABLE2_MODELS:
        path = _checkpoint_path(t2.checkpoints.get(model), f"table2.{model}", missing)
        r.table2[model] = (
            None
            if path is None
            else ev.run(Job(path, "none", t2.hypotheses, t2.sampler, t2.subset))
        )
    ref = m.paper_reference["table2"]
    lines.append(
        f"Frame-weighted means over the `{m.eval.split}` split (mm), no occlusion. The paper's "
        "Human3.6M figures are shown beside ours for reference only: the data differ."
    )
    lines.append("")
    rows = []
    for model in TABLE2_MODELS:
        e = r.table2[model]
        paper = [_f(ref.get(model, {}).get(k, math.nan)) for k in REFERENCE_METRICS]
        if e is None:
            rows.append([DISPLAY[model], "–", "not run", "–", "–", "–", *paper])
            continue
        h = str(e.summary["sampling"]["hypotheses"]) if e.summary.get("sampling") else "1"
        rows.append(
            [DISPLAY[model], h]
            + [_f(metric(e, k)) for k in ("mpjpe", "p_mpjpe", "symmetry_gap", "segment_std")]
            + paper
        )
    first = next((e for e in r.table2.values() if e is not None), None)
    if first is not None:
        rows.append(
            [
                "Ground truth (floor)",
                "–",
                "–",
                "–",
                _f(metric(first, "symmetry_gap_gt")),
                _f(metric(first, "segment_std_gt")),
                "–",
                "–",
                "–",
            ]
        )
    lines += _md_table(
        [
            "Model",
            "H",
            "MPJPE",
            "P-MPJPE",
            "Symmetry gap",
            "Segment std",
            "Paper MPJPE",
            "Paper sym. gap",
            "Paper seg. std",
        ],
        rows,
    )
    lines += ["", *[f"- {x}" for x in missing]] if missing else []
    lines += ["", *_per_action(r.table2), ""]
    lines += backbone_notes([(r.table2.get("wrapper"), r.table2.get("mixste"))])
    evals = _unique(r.table2.values())
    for k, e in r.table2.items():
        if e is not None and e.info.kind != k:
            lines.append(
                f"- note: `{e.info.path}` (listed as {DISPLAY[k]}) is a {e.info.kind} model"
            )
    return lines + provenance(evals, m, command, ev.benchmark)


def _per_action(evals: Mapping[str, Evaluation | None]) -> list[str]:
    present = {k: e for k, e in evals.items() if e is not None}
    if not present:
        return []
    lines = ["<details><summary>Per action (mm)</summary>", ""]
    for name in ("mpjpe", "p_mpjpe", "symmetry_gap", "segment_std"):
        actions = sorted(
            {a for e in present.values() for a in e.summary["metrics_mm"][name]["per_action"]}
        )
        gt = next(iter(present.values())).summary["metrics_mm"].get(f"{name}_gt")
        rows = []
        for a in actions:
            row = [a] + [
                _f(e.summary["metrics_mm"][name]["per_action"].get(a, math.nan))
                for e in present.values()
            ]
            if gt is not None:
                row.append(_f(gt["per_action"].get(a, math.nan)))
            rows.append(row)
        header = ["Action"] + [DISPLAY[k] for k in present] + (["Ground truth"] if gt else [])
        lines += [f"**{DISPLAY[name]}**", "", *_md_table(header, rows), ""]
    return lines + ["</details>"]


def section_table4(m: Manifest, ev: Evaluator, r: Results, command: str) -> list[str]:
    """Paper Table 4 (section 5.2): MPJPE with train pattern = test pattern."""
    lines = ["## 2. Known occlusion patterns (paper Table 4)", ""]
    occ = m.occlusion
    if occ is None:
        return lines + ["- not run: no `occlusion` section in the manifest", ""]
    r.patterns = occ.patterns
    missing: list[str] = []
    for col in TABLE4_COLUMNS:
        r.table4[col] = {}
        for p in occ.patterns:
            if col == "wrapper_on_vanilla" and isinstance(occ.wrapper_on_vanilla, str):
                path, where = occ.wrapper_on_vanilla, "occlusion.wrapper_on_vanilla"
            else:
                source = (
                    occ.wrapper_on_vanilla if col == "wrapper_on_vanilla" else getattr(occ, col)
                )
                path, where = (source or {}).get(p), f"occlusion.{col}.{p}"
            path = _checkpoint_path(path, where, missing)
            r.table4[col][p] = (
                None
                if path is None
                else ev.run(Job(path, p, occ.hypotheses, occ.sampler, occ.subset))
            )
    vanilla = (
        "one wrapper on the vanilla MixSTE, trained without occlusions, tested under each pattern "
        "(the paper trains one per pattern)"
        if isinstance(occ.wrapper_on_vanilla, str)
        else "a wrapper on the vanilla MixSTE trained with each pattern"
    )
    lines += [
        f"MPJPE (mm) under each test occlusion pattern, with the training pattern equal to it; {vanilla}. "
        f"Test subset: {occ.subset.describe()}. Paper values (Human3.6M) in brackets, for reference only.",
        "",
    ]
    ref = m.paper_reference["table4"]
    rows = []
    for p in occ.patterns:
        row = [DISPLAY[p]]
        for col in TABLE4_COLUMNS:
            paper = ref.get(p, {}).get(col)
            row.append(
                _f(metric(r.table4[col][p], "mpjpe"))
                + (f" ({_f(paper)})" if paper is not None else "")
            )
        rows.append(row)
    lines += _md_table(["Occlusion", *[DISPLAY[c] for c in TABLE4_COLUMNS]], rows)
    lines += ["", *[f"- {x}" for x in sorted(set(missing))]] if missing else []
    lines.append("")
    lines += _occlusion_notes(r.table4, occ)
    mix = r.table4.get("mixste", {})
    pairs = [(r.table4.get("wrapper", {}).get(p), mix.get(p)) for p in occ.patterns]
    pairs += [(e, mix.get("none")) for e in r.table4.get("wrapper_on_vanilla", {}).values()]
    notes = backbone_notes(pairs)
    lines += [*notes, ""] if notes else []
    evals = _unique(e for col in r.table4.values() for e in col.values())
    return lines + provenance(evals, m, command, ev.benchmark)


def _occlusion_notes(
    table: Mapping[str, Mapping[str, Evaluation | None]], occ: OcclusionManifest
) -> list[str]:
    """Flag checkpoints whose recorded training occlusion differs from their manifest role."""
    notes = []
    for col, cells in table.items():
        for p, e in cells.items():
            if e is None:
                continue
            trained = e.info.train_occlusion
            if col == "wrapper_on_vanilla":
                if e.info.backbone_occlusion not in (None, "none"):
                    notes.append(
                        f"- note: `{e.info.path}` (listed as {DISPLAY[col]}) has a MixSTE trained with `{e.info.backbone_occlusion}`"
                    )
                if not isinstance(occ.wrapper_on_vanilla, str) and trained != p:
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) was trained with occlusion `{trained}`"
                    )
            else:
                if trained != p:
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) was trained with occlusion `{trained}`"
                    )
                if col == "wrapper" and e.info.backbone_occlusion not in (None, p):
                    notes.append(
                        f"- note: `{e.info.path}` (listed for `{p}`) has a MixSTE trained with `{e.info.backbone_occlusion}`"
                    )
    return sorted(set(notes)) + ([""] if notes else [])


def section_matrices(
    m: Manifest, ev: Evaluator, r: Results, command: str, out_dir: Path
) -> tuple[list[str], list[Path]]:
    """Paper Figures 3-5 (sections 5.3-5.4): train pattern x test pattern matrices."""
    lines = ["## 3. Occlusion-pattern misspecification (paper Figures 3-5)", ""]
    occ = m.occlusion
    if occ is None:
        return lines + ["- not run: no `occlusion` section in the manifest", ""], []
    missing: list[str] = []
    for model in MATRIX_MODELS:
        r.matrices[model] = {}
        for train_p in occ.patterns:
            path = _checkpoint_path(
                getattr(occ, model).get(train_p), f"occlusion.{model}.{train_p}", missing
            )
            for test_p in occ.patterns:
                job = Job(path, test_p, occ.hypotheses, occ.sampler, occ.subset) if path else None
                r.matrices[model][(train_p, test_p)] = ev.run(job) if job else None
    lines += [
        f"Rows: training occlusion; columns: test occlusion. Test subset: {occ.subset.describe()}. "
        "Difference = MixSTE - DiffHPE-Wrapper (positive favours the wrapper).",
        "",
    ]
    lines += [f"- {x}" for x in sorted(set(missing))] + ([""] if missing else [])
    figures: list[Path] = []
    for name in MATRIX_METRICS:
        mats = {k: matrix(r, k, name) for k in MATRIX_MODELS}
        diff = mats["mixste"] - mats["wrapper"]
        fig = out_dir / "figures" / f"occlusion_{name}.png"
        if np.isfinite(diff).any() or any(np.isfinite(v).any() for v in mats.values()):
            drawn = draw_matrices(
                fig, DISPLAY[name], occ.patterns, mats["mixste"], mats["wrapper"], diff
            )
            if drawn is None:
                figures.append(fig)
                lines += [f"![{DISPLAY[name]} train x test matrices](figures/{fig.name})", ""]
            else:
                lines += [f"- figure not drawn: {drawn}", ""]
        for title, mat in (
            ("MixSTE", mats["mixste"]),
            ("DiffHPE-Wrapper", mats["wrapper"]),
            ("MixSTE - DiffHPE-Wrapper", diff),
        ):
            lines += [f"**{DISPLAY[name]} (mm), {title}**", ""]
            rows = [[DISPLAY[p]] + [_f(v) for v in mat[i]] for i, p in enumerate(occ.patterns)]
            lines += _md_table(["train \\ test", *[DISPLAY[p] for p in occ.patterns]], rows) + [""]
    lines += _occlusion_notes(
        {
            k: {tr: r.matrices[k][(tr, occ.patterns[0])] for tr in occ.patterns}
            for k in MATRIX_MODELS
        },
        occ,
    )
    evals = _unique(e for mat in r.matrices.values() for e in mat.values())
    return lines + provenance(evals, m, command, ev.benchmark), figures


def matrix(r: Results, model: str, name: str) -> np.ndarray:
    """(P, P) frame-weighted ``name`` (mm), rows = training pattern; NaN where not run."""
    p = r.patterns
    return np.array(
        [[metric(r.matrices[model].get((a, b)), name) for b in p] for a in p], dtype=np.float64
    )


def draw_matrices(
    path: Path,
    title: str,
    patterns: tuple[str, ...],
    mixste: np.ndarray,
    wrapper: np.ndarray,
    diff: np.ndarray,
) -> str | None:
    """Three annotated heatmaps (MixSTE, wrapper, difference) as a PNG; returns why not, or None."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return "matplotlib is not installed (pip install 'diffhpe[viz]')"
    labels = [DISPLAY[p] for p in patterns]
    fig = Figure(figsize=(4.8 * 3, 4.4), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend, without touching pyplot's global state
    axes = fig.subplots(1, 3)
    finite = np.concatenate([mixste[np.isfinite(mixste)], wrapper[np.isfinite(wrapper)]])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    panels = (
        ("MixSTE", mixste, "viridis_r", lo, hi),
        ("DiffHPE-Wrapper", wrapper, "viridis_r", lo, hi),
        ("MixSTE - Wrapper (blue: Wrapper better)", diff, "RdBu", -span or -1.0, span or 1.0),
    )
    for ax, (name, mat, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        im = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, vmin=vmin, vmax=vmax)
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                r, g, b, _ = im.cmap(im.norm(mat[i, j])) if np.isfinite(mat[i, j]) else (1, 1, 1, 1)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on dark cells
                color = "white" if dark else "black"
                ax.text(j, i, _f(mat[i, j]), ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("test occlusion")
        ax.set_ylabel("training occlusion")
        ax.set_title(name, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8, label="mm")
    fig.suptitle(f"{title} (mm)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return None


def section_sampling(m: Manifest, ev: Evaluator, r: Results, command: str) -> list[str]:
    """Effect of the number of hypotheses H and of the sampler (DDPM vs DDIM with K steps)."""
    lines = ["## 4. Sampling: hypotheses and sampler", ""]
    s = m.sampling
    if s is None:
        return lines + ["- not run: no `sampling` section in the manifest", ""]
    missing: list[str] = []
    path = _checkpoint_path(s.checkpoint, "sampling.checkpoint", missing)
    if path is None:
        return lines + [f"- {x}" for x in missing] + [""]
    if ev.info(path).kind == "mixste":
        raise ValueError(
            f"{m.path}: sampling.checkpoint {path} is a MixSTE; expected a diffusion model"
        )
    for smp in s.samplers:
        for h in s.hypotheses:
            run = s.runs(smp, h)
            r.sampling[(smp.label(), h)] = (
                ev.run(Job(path, "none", h, smp, s.subset)) if run else None
            )
    mixste_path = _checkpoint_path(s.mixste, "sampling.mixste", missing) if s.mixste else None
    if mixste_path is not None:
        r.sampling_mixste = ev.run(Job(mixste_path, "none", 1, SamplerSetting(), s.subset))
    lines += [f"`{path}` on the test subset ({s.subset.describe()}), no occlusion.", ""]
    lines += [
        "Labels: `ddim10-eta1-clip1-from-noise` is DDIM with 10 steps, eta 1, x0 clipped to "
        "1 m, from pure noise (the paper's start); `-from-backbone5` starts instead from the "
        "MixSTE's own estimate noised to step 5 by eq. (3) (SDEdit-style warm start, beyond "
        "the paper); no suffix: the checkpoint's own start.",
        "",
    ]
    header = ["Sampler", *[f"H={h}" for h in s.hypotheses]]
    for name, fmt in (
        ("MPJPE (mm)", "mpjpe"),
        ("Symmetry gap (mm)", "symmetry_gap"),
        ("Segment-length std (mm)", "segment_std"),
        ("Frames/s", None),
    ):
        rows = []
        for smp in s.samplers:
            cells = []
            for h in s.hypotheses:
                e = r.sampling[(smp.label(), h)]
                cells.append(
                    _f(metric(e, fmt)) if fmt else f"{e.summary['frames_per_second']}" if e else "–"
                )
            rows.append([smp.label(), *cells])
        lines += [f"**{name}**", "", *_md_table(header, rows), ""]
        if fmt and r.sampling_mixste is not None:
            lines += [f"Its MixSTE (`{mixste_path}`, deterministic): "
                      f"{_f(metric(r.sampling_mixste, fmt))} mm.", ""]  # fmt: skip
    lines += _shipped_vs_mixste(s, r)
    diffusion = next((e for e in r.sampling.values() if e is not None), None)
    lines += backbone_notes([(diffusion, r.sampling_mixste)])
    lines += [f"- {x}" for x in missing]
    evals = _unique([*r.sampling.values(), r.sampling_mixste])
    return lines + provenance(evals, m, command, ev.benchmark)


def _by_hypotheses(
    name: str, hypotheses: Sequence[int], values: Sequence[float], ref: float
) -> tuple[str, bool]:
    """``"NAME by H: H=1: a mm, ... (MixSTE: b mm). "`` and whether ``values`` fall strictly
    as H grows (one value per entry of ``hypotheses``, in mm)."""
    text = (
        f"{name} by H: "
        + ", ".join(f"H={h}: {_f(v)} mm" for h, v in zip(hypotheses, values, strict=True))
        + f" (MixSTE: {_f(ref)} mm). "
    )
    return text, all(b < a for a, b in zip(values[:-1], values[1:], strict=True))


def _shipped_vs_mixste(s: SamplingManifest, r: Results) -> list[str]:
    """The shipped sampler against its MixSTE on the three metrics, at each H it ran."""
    ref = r.sampling_mixste
    if s.shipped is None or ref is None:
        return []
    lines = [f"**The shipped sampler (`{s.shipped}`) against its MixSTE**", ""]
    names = (("mpjpe", "MPJPE"), ("symmetry_gap", "symmetry gap"), ("segment_std", "segment std"))
    for h in s.hypotheses:
        e = r.sampling.get((s.shipped, h))
        if e is None:
            continue
        parts = []
        for key, name in names:
            a, b = metric(e, key), metric(ref, key)
            verdict = "better" if a < b else "not better"
            parts.append(f"{name} {_f(a)} vs {_f(b)} mm ({verdict})")
        lines.append(f"- H={h}: " + "; ".join(parts) + ".")
    errs = [metric(r.sampling.get((s.shipped, h)), "mpjpe") for h in s.hypotheses]
    if all(math.isfinite(v) for v in errs) and len(errs) > 1:
        ref_mpjpe = metric(ref, "mpjpe")
        ahead = [v < ref_mpjpe for v in errs]
        if not any(ahead):
            where = "it is not ahead of its MixSTE at any H run here."
        elif all(ahead[ahead.index(True) :]):  # ahead from some H on (from the first: every H)
            where = f"it is ahead of its MixSTE from H={s.hypotheses[ahead.index(True)]} on."
        else:
            where = (
                "it is ahead of its MixSTE at H="
                + ", ".join(str(h) for h, a in zip(s.hypotheses, ahead, strict=True) if a)
                + " only."
            )
        text, falls = _by_hypotheses("MPJPE", s.hypotheses, errs, ref_mpjpe)
        lines += [
            "",
            text
            + (
                "It falls as H grows (the mean of H hypotheses averages out part of their "
                "independent sampling error), and "
                if falls
                else "It does not fall steadily as H grows, and "
            )
            + where,
        ]
    stds = [metric(r.sampling.get((s.shipped, h)), "segment_std") for h in s.hypotheses]
    if all(math.isfinite(v) for v in stds) and len(stds) > 1:
        text, falls = _by_hypotheses(
            "Segment-length std", s.hypotheses, stds, metric(ref, "segment_std")
        )
        lines += [
            "",
            text
            + (
                "It falls as H grows: the bone-length variation comes from the individual "
                "hypotheses, and their mean only averages it down."
                if falls
                else "It does not fall steadily as H grows."
            ),
        ]
    return lines + [""]


def _validation_curve(path: str) -> list[tuple[int, float]]:
    """(step, validation MPJPE mm) of the run that wrote ``path``, from its train state."""
    state, _ = run_state(path)
    if state is None:
        return []
    return [(int(h["step"]), float(h["val_mpjpe_mm"])) for h in state.get("history", [])]


def section_denoising(m: Manifest, ev: Evaluator, r: Results, command: str) -> list[str]:
    """Why a wrapper may trail its MixSTE: x0 recovered in one step at each noise level."""
    dn = m.denoising
    if dn is None:  # an optional diagnosis: no section at all
        return []
    lines = ["## 5. Diagnosis: denoising by noise level", ""]
    lines += [
        "Each test window's ground truth is noised to step t (eq. 3), the model predicts "
        "the noise once and x0 is recovered from it (eq. 4). Large t: x_t holds almost no "
        "signal, so the pose must come from the conditioning; the eps-prediction loss "
        "(eq. 7) weighs an x0 error there by alpha_bar_t / (1 - alpha_bar_t), i.e. hardly "
        f"at all. Subset: {dn.subset.describe()}, no occlusion.",
        "",
    ]
    for ckpt in dn.checkpoints:
        missing: list[str] = []
        path = _checkpoint_path(ckpt, "denoising.checkpoints", missing)
        if path is None:
            lines += [f"- {x}" for x in missing] + [""]
            continue
        prof = ev.profile(path, dn.steps, dn.subset)
        r.denoising[path] = prof
        rows = [
            [
                str(row["t"] + 1),
                f"{row['alpha_bar']:.4f}",
                f"{row['eps_mse']:.4f}",
                _f(row["x0_mpjpe_mm"]),
                _f(row["x0_mpjpe_clipped_mm"]),
            ]
            for row in prof["steps"]
        ]
        clip = prof.get("clip_x0")
        lines += [
            f"`{path}` ({prof['frames']} frames, {prof['seconds']:.0f} s; "
            f"[{prof['file']}](results/{prof['file']})):",
            "",
        ]
        lines += _md_table(
            ["t (paper)", "alpha_bar_t", "eps MSE", "x0 MPJPE (mm)",
             f"x0 clipped to {clip:g} m (mm)" if clip else "x0, no clipping (mm)"],
            rows,
        )  # fmt: skip
        curve = _validation_curve(path)
        if curve:
            lines += [
                "",
                "Validation MPJPE while training (mm, the run's own sampler): "
                + ", ".join(f"step {s}: {v:.1f}" for s, v in curve),
            ]
        lines += [""]
    return lines


# ----------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    statement: str
    verdict: str  # "reproduces" | "does not reproduce" | "not tested"
    evidence: str


def _verdict(ok: bool) -> str:
    return "reproduces" if ok else "does not reproduce"


def _all_finite(*values: float) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def _t2(r: Results, model: str, name: str) -> float:
    return metric(r.table2.get(model), name)


def claim_wrapper_accuracy(r: Results) -> Claim:
    text = "5.1, Table 2: DiffHPE-Wrapper is more accurate (MPJPE) than the MixSTE it wraps"
    w, b = _t2(r, "wrapper", "mpjpe"), _t2(r, "mixste", "mpjpe")
    if not _all_finite(w, b):
        return Claim(text, "not tested", "needs table2 mixste and wrapper")
    return Claim(text, _verdict(w < b), f"MPJPE wrapper {w:.2f} mm vs MixSTE {b:.2f} mm")


def claim_wrapper_best_accuracy(r: Results) -> Claim:
    text = "5.1, Table 2: DiffHPE-Wrapper has the best MPJPE of the three models"
    vals = {k: _t2(r, k, "mpjpe") for k in TABLE2_MODELS}
    if not _all_finite(*vals.values()):
        return Claim(text, "not tested", "needs all three table2 models")
    ok = all(vals["wrapper"] < v for k, v in vals.items() if k != "wrapper")
    return Claim(
        text,
        _verdict(ok),
        "MPJPE " + ", ".join(f"{DISPLAY[k]} {v:.2f} mm" for k, v in vals.items()),
    )


def claim_diffhpe2d_beats_mixste(r: Results) -> Claim:
    text = "5.1, Table 2: diffusion alone (DiffHPE-2D) is more accurate than MixSTE"
    d, b = _t2(r, "diffhpe2d", "mpjpe"), _t2(r, "mixste", "mpjpe")
    if not _all_finite(d, b):
        return Claim(text, "not tested", "needs table2 mixste and diffhpe2d")
    return Claim(text, _verdict(d < b), f"MPJPE DiffHPE-2D {d:.2f} mm vs MixSTE {b:.2f} mm")


def claim_wrapper_coherence(r: Results) -> Claim:
    text = "5.4, Table 2: diffusion improves coherence: the wrapper lowers MixSTE's symmetry gap and segment std"
    ws, bs = _t2(r, "wrapper", "symmetry_gap"), _t2(r, "mixste", "symmetry_gap")
    wd, bd = _t2(r, "wrapper", "segment_std"), _t2(r, "mixste", "segment_std")
    if not _all_finite(ws, bs, wd, bd):
        return Claim(text, "not tested", "needs table2 mixste and wrapper")
    return Claim(
        text,
        _verdict(ws < bs and wd < bd),
        f"symmetry gap wrapper {ws:.2f} vs MixSTE {bs:.2f} mm; segment std wrapper {wd:.2f} vs MixSTE {bd:.2f} mm",
    )


def claim_diffhpe2d_most_coherent(r: Results) -> Claim:
    text = "5.1, Table 2: DiffHPE-2D has the best symmetry gap and segment std of the three models"
    sym = {k: _t2(r, k, "symmetry_gap") for k in TABLE2_MODELS}
    seg = {k: _t2(r, k, "segment_std") for k in TABLE2_MODELS}
    if not _all_finite(*sym.values(), *seg.values()):
        return Claim(text, "not tested", "needs all three table2 models")
    ok = all(
        sym["diffhpe2d"] < v and seg["diffhpe2d"] < seg[k]
        for k, v in sym.items()
        if k != "diffhpe2d"
    )
    ev = "symmetry gap " + ", ".join(f"{DISPLAY[k]} {v:.2f}" for k, v in sym.items())
    ev += " mm; segment std " + ", ".join(f"{DISPLAY[k]} {v:.2f}" for k, v in seg.items()) + " mm"
    return Claim(text, _verdict(ok), ev)


def claim_occlusion_wrapper_beats_mixste(r: Results) -> Claim:
    text = "5.2, Table 4: the occlusion-trained wrapper beats the occlusion-trained MixSTE on every pattern"
    pairs = {
        p: (
            metric(r.table4.get("wrapper", {}).get(p), "mpjpe"),
            metric(r.table4.get("mixste", {}).get(p), "mpjpe"),
        )
        for p in r.patterns
    }
    if not pairs or not _all_finite(*[v for pair in pairs.values() for v in pair]):
        return Claim(
            text, "not tested", "needs occlusion.mixste and occlusion.wrapper for every pattern"
        )
    ok = all(w < b for w, b in pairs.values())
    return Claim(
        text,
        _verdict(ok),
        "; ".join(f"{p}: wrapper {w:.2f} vs MixSTE {b:.2f} mm" for p, (w, b) in pairs.items()),
    )


def claim_vanilla_wrapper_competitive(r: Results) -> Claim:
    text = (
        "5.2, Table 4: the wrapper on the vanilla MixSTE is competitive with the occlusion-trained "
        "MixSTE on every pattern but Random (here: within 2 % or better, and worse than that on Random)"
    )
    pats = [p for p in r.patterns if p != "none"]
    pairs = {
        p: (
            metric(r.table4.get("wrapper_on_vanilla", {}).get(p), "mpjpe"),
            metric(r.table4.get("mixste", {}).get(p), "mpjpe"),
        )
        for p in pats
    }
    if (
        "random" not in pairs
        or len(pairs) < 2
        or not _all_finite(*[v for pair in pairs.values() for v in pair])
    ):
        return Claim(text, "not tested", "needs Random and another pattern for both columns")
    ok = all((v <= 1.02 * b) == (p != "random") for p, (v, b) in pairs.items())
    return Claim(
        text,
        _verdict(ok),
        "; ".join(
            f"{p}: vanilla wrapper {v:.2f} vs MixSTE {b:.2f} mm" for p, (v, b) in pairs.items()
        ),
    )


def _matrices(r: Results, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if not r.matrices or len(r.patterns) < 2:
        return None
    a, b = matrix(r, "mixste", name), matrix(r, "wrapper", name)
    return (a, b) if np.isfinite(a).all() and np.isfinite(b).all() else None


def claim_misspecification_hurts(r: Results) -> Claim:
    text = (
        "5.3, Figure 3: occlusion-pattern misspecification hurts both models (here: in most columns "
        "the matched training pattern gives a lower MPJPE than the mean of the mismatched ones)"
    )
    mats = _matrices(r, "mpjpe")
    if mats is None:
        return Claim(text, "not tested", "needs the full train x test matrices")
    shares = []
    for mat in mats:
        off = (mat.sum(axis=0) - np.diag(mat)) / (len(mat) - 1)
        shares.append(float(np.mean(np.diag(mat) < off)))
    return Claim(
        text,
        _verdict(all(s > 0.5 for s in shares)),
        f"columns where matched < mean mismatched: MixSTE {shares[0]:.0%}, wrapper {shares[1]:.0%}",
    )


def claim_wrapper_more_robust(r: Results) -> Claim:
    text = "5.3, Figure 3: the wrapper is more accurate than MixSTE in most train/test combinations"
    mats = _matrices(r, "mpjpe")
    if mats is None:
        return Claim(text, "not tested", "needs the full train x test matrices")
    diff = mats[0] - mats[1]
    share = float(np.mean(diff > 0))
    return Claim(
        text,
        _verdict(share > 0.5),
        f"{share:.0%} of cells favour the wrapper; mean difference {diff.mean():.2f} mm",
    )


def claim_random_test_hardest(r: Results) -> Claim:
    text = "5.3, Figure 3: the wrapper's advantage is smallest when testing on Random"
    mats = _matrices(r, "mpjpe")
    if mats is None or "random" not in r.patterns:
        return Claim(text, "not tested", "needs the full matrices including Random")
    cols = (mats[0] - mats[1]).mean(axis=0)
    i = r.patterns.index("random")
    ev = ", ".join(f"{p} {v:.2f}" for p, v in zip(r.patterns, cols, strict=True))
    return Claim(
        text, _verdict(int(np.argmin(cols)) == i), f"mean difference per test column (mm): {ev}"
    )


def claim_consecutive_frames_training(r: Results) -> Claim:
    text = "5.3, Figure 3: the wrapper's advantage is largest when training on consecutive frames"
    mats = _matrices(r, "mpjpe")
    if mats is None or "consecutive_frames" not in r.patterns:
        return Claim(text, "not tested", "needs the full matrices including consecutive_frames")
    rows = (mats[0] - mats[1]).mean(axis=1)
    i = r.patterns.index("consecutive_frames")
    ev = ", ".join(f"{p} {v:.2f}" for p, v in zip(r.patterns, rows, strict=True))
    return Claim(
        text, _verdict(int(np.argmax(rows)) == i), f"mean difference per training row (mm): {ev}"
    )


def _coherence_everywhere(r: Results, name: str, figure: str) -> Claim:
    text = f"5.4, {figure}: the wrapper lowers the {DISPLAY[name].lower()} in every train/test combination"
    mats = _matrices(r, name)
    if mats is None:
        return Claim(text, "not tested", "needs the full train x test matrices")
    diff = mats[0] - mats[1]
    return Claim(
        text,
        _verdict(bool((diff > 0).all())),
        f"{int((diff > 0).sum())} of {diff.size} cells favour the wrapper; smallest difference {diff.min():.2f} mm",
    )


def claim_symmetry_everywhere(r: Results) -> Claim:
    return _coherence_everywhere(r, "symmetry_gap", "Figure 4")


def claim_segments_everywhere(r: Results) -> Claim:
    return _coherence_everywhere(r, "segment_std", "Figure 5")


CLAIMS: tuple[Callable[[Results], Claim], ...] = (
    claim_wrapper_accuracy,
    claim_wrapper_best_accuracy,
    claim_diffhpe2d_beats_mixste,
    claim_wrapper_coherence,
    claim_diffhpe2d_most_coherent,
    claim_occlusion_wrapper_beats_mixste,
    claim_vanilla_wrapper_competitive,
    claim_misspecification_hurts,
    claim_wrapper_more_robust,
    claim_random_test_hardest,
    claim_consecutive_frames_training,
    claim_symmetry_everywhere,
    claim_segments_everywhere,
)


def training_status(infos: list[CheckpointInfo]) -> list[str]:
    """One line on how many of the page's checkpoints converged on validation, then the
    others with why they stopped (from each run's saved stop reason)."""
    if not infos:
        return []
    done = [i for i in infos if i.ended_by.startswith("converged")]
    lines = [
        f"Training: {len(done)} of {len(infos)} checkpoints on this page ended converged on the "
        "validation split (`train.early_stop`); verdicts that rest on the others are on models "
        "trained for a budget, not to convergence."
    ]
    if len(done) < len(infos):
        lines += ["", "<details><summary>Checkpoints not converged</summary>", ""]
        lines += [f"- `{i.path}`: {i.ended_by}" for i in infos if i not in done]
        lines += ["", "</details>"]
    return lines + [""]


def section_claims(claims: list[Claim], infos: list[CheckpointInfo] | None = None) -> list[str]:
    lines = [
        "## 6. Claims",
        "",
        "Each verdict is computed from the numbers above (frame-weighted means); none is typed by hand.",
        "",
        *training_status(infos or []),
    ]
    for c in claims:
        lines.append(f"- **{c.verdict}**: {c.statement}. Measured: {c.evidence}.")
    return lines + [""]


# ------------------------------------------------------------------------------ entry


def run_paper_experiment(
    manifest_path: str | Path | None = None,
    out_dir: str | Path = "docs",
    force: bool = False,
    progress: bool = True,
    prune: bool = False,
) -> dict[str, Any]:
    """Evaluate the manifest's checkpoints and write ``out_dir/RESULTS.md``, figures and JSON.

    Returns ``{"page", "figures", "evaluations_run", "evaluations_reused", "not_run",
    "claims", "numbers", "unused", "pruned"}``; ``numbers`` holds the frame-weighted metrics
    (mm) shown; ``unused`` names the JSON files in ``out_dir/results`` this page did not use
    (left from older checkpoints or settings), which ``prune`` deletes, unless a checkpoint file
    the manifest names is missing (``missing_checkpoints``: its stored results would look unused
    too); ``pruned`` says if it did.
    """
    command = "diffhpe experiment paper"  # as a user would type it to regenerate this page
    command += f" {manifest_path}" if manifest_path is not None else ""
    command += f" --out {out_dir}" if str(out_dir) != "docs" else ""
    manifest_path = Path(manifest_path) if manifest_path is not None else PAPER_MANIFEST
    m = load_manifest(manifest_path)
    out = Path(out_dir)
    ev = Evaluator(m, out / "results", force=force, progress=progress)
    r = Results()
    body: list[str] = []
    body += section_table2(m, ev, r, command)
    body += section_table4(m, ev, r, command)
    matrix_lines, figures = section_matrices(m, ev, r, command, out)
    body += matrix_lines
    body += section_sampling(m, ev, r, command)
    body += section_denoising(m, ev, r, command)
    claims = [make(r) for make in CLAIMS]
    body += section_claims(claims, ev.checkpoints())
    shown = m.path if m.path != PAPER_MANIFEST else "diffhpe/configs/experiments/paper.yaml"
    head = [
        "# DiffHPE results on the open benchmark",
        "",
        f"Generated by `{command}` from the manifest `{shown}`; do not edit by hand. "
        "Every number comes from an evaluation run by that command; the raw summaries are in "
        "[results/](results/). Paper: Rommel et al., ICCV-W 2023; its Human3.6M figures are "
        "shown for reference only.",
        "",
    ]
    page = out / "RESULTS.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(head + body).rstrip("\n") + "\n"
    page.write_text(text, encoding="utf-8")
    not_run = [line[2:] for line in text.splitlines() if line.startswith("- not run:")]
    not_run = list(dict.fromkeys(not_run))  # the occlusion sections repeat their missing lines
    unused = sorted(p.name for p in (out / "results").glob("*.json") if p.name not in ev.used)
    absent = [line for line in not_run if line.startswith(_MISSING_FILE)]
    pruned = prune and not absent
    if pruned:
        for name in unused:
            (out / "results" / name).unlink()
    return {
        "page": str(page),
        "figures": [str(f) for f in figures],
        "evaluations_run": ev.ran,
        "evaluations_reused": ev.reused,
        "not_run": not_run,
        "claims": [asdict(c) for c in claims],
        "numbers": _numbers(r),
        "unused": unused,
        "pruned": pruned,
        "missing_checkpoints": absent,
    }


def _numbers(r: Results) -> dict[str, Any]:
    """The frame-weighted metrics (mm) behind the page, JSON-ready (NaN where not run)."""

    def pick(e: Evaluation | None) -> dict[str, float]:
        return {
            k: metric(e, k)
            for k in (
                "mpjpe",
                "p_mpjpe",
                "symmetry_gap",
                "segment_std",
                "symmetry_gap_gt",
                "segment_std_gt",
            )
        }

    return {
        "table2": {k: pick(e) for k, e in r.table2.items()},
        "table4": {
            c: {p: metric(e, "mpjpe") for p, e in cells.items()} for c, cells in r.table4.items()
        },
        "matrices": {k: {n: matrix(r, k, n).tolist() for n in MATRIX_METRICS} for k in r.matrices},
        "sampling": {f"{s}-H{h}": pick(e) for (s, h), e in r.sampling.items()},
    }


def cmd_experiment_paper(args: argparse.Namespace) -> int:
    res = run_paper_experiment(
        args.manifest, args.out, force=args.force, progress=not args.quiet, prune=args.prune
    )
    results = Path(args.out) / "results"
    print(
        f"wrote {res['page']} ({res['evaluations_run']} evaluations run, "
        f"{res['evaluations_reused']} reused from {results}, "
        f"{len(res['figures'])} figures, {len(res['not_run'])} not run)"
    )
    if res["unused"]:
        n = len(res["unused"])
        if res["pruned"]:
            print(f"removed {n} result file(s) from {results} that this page does not use")
        elif args.prune:
            print(
                f"did not prune {results}: {len(res['missing_checkpoints'])} checkpoint file(s) "
                "are missing, and their stored results would look unused"
            )
        else:
            print(
                f"{n} result file(s) in {results} are not used by this page (--prune removes them)"
            )
    return 0


def add_experiment_parser(sub: Any) -> None:
    """Add ``experiment paper`` to an argparse subparsers object (``diffhpe experiment paper``)."""
    p = sub.add_parser("experiment", help="re-measure the paper's results into docs/RESULTS.md")
    actions = p.add_subparsers(dest="experiment_command", required=True, metavar="ACTION")
    pp = actions.add_parser(
        "paper",
        help="evaluate the manifest's checkpoints; write RESULTS.md, figures and raw JSON",
        description="Evaluate the checkpoints named by a YAML manifest and write OUT/RESULTS.md "
        "(paper Tables 2 and 4, Figures 3-5, a sampling study, computed claim verdicts), "
        "OUT/figures/*.png and OUT/results/*.json. Evaluations already stored with the same "
        "checkpoint hash and settings are reused unless --force.",
    )
    pp.add_argument(
        "manifest",
        nargs="?",
        default=None,
        help=f"YAML manifest (default: the shipped {PAPER_MANIFEST.name})",
    )
    pp.add_argument("--out", default="docs", help="output folder (default: %(default)s)")
    pp.add_argument("--force", action="store_true", help="re-run every evaluation")
    pp.add_argument("--quiet", action="store_true", help="no progress output")
    pp.add_argument(
        "--prune",
        action="store_true",
        help="delete the JSON files in OUT/results that this page does not use "
        "(evaluations of replaced checkpoints or old settings)",
    )
    pp.set_defaults(func=cmd_experiment_paper)
