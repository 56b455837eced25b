"""Typed run configuration: YAML presets + ``key=value`` overrides -> dataclasses.

Unknown keys are errors (naming the file and the key), so a typo never silently falls
back to a default. The resolved config travels inside every checkpoint as JSON.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from diffhpe.data.families import parse_families
from diffhpe.diffusion.aggregate import METHODS as AGGREGATIONS
from diffhpe.diffusion.registry import INITS, one_of, sampler_spec


@dataclass
class DataConfig:
    """Which data, which windows, which training-time occlusions."""

    kind: str = "open"  # "open" (diffhpe data build) or "h36m" (VideoPose3D files)
    root: str = "data/open"
    detector: str = "det"  # 2D file suffix: "det", "gt"; Human3.6M: "cpn_ft_h36m_dbb", ...
    # More 2D files whose sequences join the training set (e.g. ["gt"] beside "det": each
    # window then comes from exact or detected 2D); validation uses `detector` only.
    train_extra_detectors: list[str] = field(default_factory=list)
    # More benchmark folders (same kind) whose training split joins the training set, with
    # `detector` and `train_extra_detectors`, e.g. ["data/open-virtual"] (virtual cameras).
    train_extra_roots: list[str] = field(default_factory=list)
    length: int = 27  # window length L
    train_split: str = "train"
    val_split: str = "validation"
    mirror: bool = True  # left/right mirror augmentation, p = 0.5
    occlusion: str = "none"  # training occlusion spec, see diffhpe.data.occlusion
    # 2D joint-definition families drawn per training window, e.g. "exact:2,mpii:1,coco:1"
    # (diffhpe.data.families); "exact": the mocap joints only.
    families: str = "exact"
    # Probability that a training window gets one gross detector error (limb swaps and
    # snaps, lost hands, head failures, crouch noise: diffhpe.data.hard_errors). 0: off.
    hard_errors: float = 0.0
    val_cameras: list[str] | None = None  # None: all four
    val_stride: int = 1  # keep every k-th frame of validation sequences
    val_max_windows: int = 0  # 0: all validation windows
    # Occlusion of the validation 2D (same masks at every validation): a spec like
    # `occlusion`, or "train" for the training spec. "none" validates on clean 2D.
    val_occlusion: str = "none"


@dataclass(kw_only=True)
class MixSTEParams:
    """MixSTE (Zhang et al. 2022); defaults = the paper's conditioner preset.

    The one list of MixSTE hyper-parameters: ``models.mixste.MixSTEConfig`` extends it
    with the shape the data fixes (J, L) and checks the values."""

    dim: int = 64
    depth: int = 8
    heads: int = 8
    mlp_ratio: float = 2.0
    dropout: float = 0.1
    attn_dropout: float = 0.0
    drop_path: float = 0.1
    in_channels: int = 2
    mask_token: bool = False  # learned embedding for missing keypoints (models/mixste.py)


@dataclass(kw_only=True)
class DenoiserParams:
    """The graph denoiser of paper section 3.3; ``dropout`` defaults to the paper's 0.27.

    The one list of denoiser hyper-parameters: ``models.denoiser.DenoiserConfig`` extends
    it with what the data, the diffusion and the model fix, and checks the values."""

    channels: int = 64
    num_blocks: int = 16
    step_embed_dim: int = 128
    dropout: float = 0.27
    temporal_mixing: str = "relative"


@dataclass
class ModelConfig:
    kind: str = "wrapper"  # "mixste" | "diffhpe2d" | "wrapper"
    mixste: MixSTEParams = field(default_factory=MixSTEParams)
    denoiser: DenoiserParams = field(default_factory=DenoiserParams)
    backbone: str | None = None  # wrapper: path of the trained MixSTE checkpoint
    # diffhpe2d and wrapper: feed the visibility mask to the denoiser as a channel
    use_visibility: bool = False


@dataclass
class DiffusionConfig:
    schedule: str = "cosine"
    num_steps: int = 50  # T
    sampler: str = "ddim"  # a name of diffhpe.diffusion.registry.SAMPLERS
    sample_steps: int = 10  # DDIM steps K (ignored by DDPM, which uses T)
    eta: float = 0.0
    hypotheses: int = 5  # H
    # How hypotheses combine: one of AGGREGATIONS (diffhpe.diffusion.aggregate.METHODS);
    # "reproj" chooses per joint by agreement with the 2D input (docs/AGGREGATION.md).
    aggregation: str = "mean"
    clip_x0: float | None = None  # clip predicted x0 to +-this many metres while sampling
    # Where the reverse process starts. "noise": x_T ~ N(0, I) at step T-1 (eq. 8, the
    # paper). "backbone" (wrappers only): the frozen MixSTE's own 3D estimate, noised by
    # eq. (3) to ``start_step`` (SDEdit-style warm start; fewer steps, see docs/RESULTS.md).
    init: str = "noise"
    start_step: int | None = None  # 0-based first step; None: T-1
    # What the denoiser outputs: "eps" (the paper), "x0" or "v" (a training choice, kept
    # in the checkpoint; diffhpe.diffusion.schedule.PREDICTIONS).
    prediction: str = "eps"
    # Metres per diffusion unit: the forward process (eq. 3) and the denoiser act on
    # x0 / pose_scale. 1 (the paper's): poses in metres, whose spread (~0.2-0.4 m per
    # coordinate) is far below the unit noise, so even early steps bury the pose; a scale
    # near the poses' standard deviation gives the schedule unit-variance data, as DDPM
    # assumes (docs/POSE_SCALE.md). Kept in the checkpoint.
    pose_scale: float = 1.0


@dataclass
class TrainConfig:
    batch_size: int = 200
    lr: float = 2.7e-4
    weight_decay: float = 1e-6
    max_steps: int = 10000
    max_minutes: float = 0.0  # 0: no wall-time limit
    val_every: int = 500  # steps between validations
    # Learning-rate schedule: "plateau" (halve on a validation plateau, paper section 4.2) or
    # "cosine" (linear warm-up over warmup_steps, then cosine to min_lr at max_steps: a
    # schedule planned for a compute budget, independent of a noisy validation curve).
    schedule: str = "plateau"
    warmup_steps: int = 0
    # Windows per forward/backward pass; the batch's gradients are accumulated over
    # batch_size / micro_batch passes (same update). 0: the whole batch at once. On CPU,
    # passes of 32-64 windows keep activations in cache (~2x faster, less memory).
    micro_batch: int = 0
    # Training error beside validation: MPJPE on this many fixed training windows (eval
    # mode, validation's 2D and occlusion), logged at every validation. 0: off.
    train_eval_windows: int = 512
    plateau_factor: float = 0.5  # the paper's "factor of 2"
    plateau_patience: int = 10  # validations without improvement before lowering lr
    # Convergence on the validation split: stop after this many validations in a row without
    # a new best (0: off; then max_steps / max_minutes end the run).
    early_stop: int = 0
    min_lr: float = 1e-6
    grad_clip: float = 0.0  # 0: off
    seed: int = 0
    checkpoint_minutes: float = 5.0
    log_every: int = 20
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    threads: int = 0  # torch CPU threads; 0: torch's default
    init_from: str | None = None  # start from these weights (same model kind), e.g. fine-tuning


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    out_dir: str = "runs/default"


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check/convert one YAML value against a dataclass field type."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(tp, value, where)
    if origin is not None and type(None) in get_args(tp):  # Optional[X]
        if value is None:
            return None
        inner = [a for a in get_args(tp) if a is not type(None)][0]
        return _coerce(value, inner, where)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        (inner,) = get_args(tp)
        return [_coerce(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads `1e-4` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        # An integer is its decimal string: camera ids like `data.val_cameras=[54138969]`
        # read as numbers from YAML and overrides. Bools and floats stay errors.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], where: str = "config") -> Any:
    """Build dataclass ``cls`` from a nested dict; unknown keys are errors."""
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; valid keys: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts, as ``key: old -> new``."""
    out: list[str] = []
    for k in sorted(set(old) | set(new), key=str):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def _deep_update(base: dict, upd: dict) -> dict:
    for k, v in upd.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_update(base[k], v)
        else:
            base[k] = v
    return base


def preset_path(name: str) -> Path:
    """A preset shipped with the package (``configs/<name>.yaml``) or a file path.

    A ``.json`` file (a run's ``config.json``) is accepted too: JSON is YAML.
    """
    p = Path(name)
    if p.suffix in (".yaml", ".yml", ".json") and p.exists():
        return p
    packaged = Path(str(resources.files("diffhpe") / "configs" / f"{name}.yaml"))
    if packaged.exists():
        return packaged
    raise FileNotFoundError(
        f"no config file {name!r} and no preset of that name; presets: {list_presets()}"
    )


def list_presets() -> list[str]:
    d = Path(str(resources.files("diffhpe") / "configs"))
    return sorted(p.stem for p in d.glob("*.yaml"))


def parse_override(item: str) -> dict[str, Any]:
    """``a.b.c=value`` -> ``{"a": {"b": {"c": value}}}``, value parsed as YAML."""
    if "=" not in item:
        raise ValueError(f"override {item!r}: expected key=value, e.g. train.lr=1e-4")
    key, raw = item.split("=", 1)
    value = yaml.safe_load(raw) if raw != "" else ""
    out: dict[str, Any] = {}
    cur = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def load_config(path_or_preset: str | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Resolve a preset/file plus overrides into a validated :class:`RunConfig`."""
    data: dict[str, Any] = {}
    where = "config"
    if path_or_preset:
        path = preset_path(path_or_preset)
        where = str(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: invalid YAML ({e})") from e
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: top level must be a mapping")
        data = loaded
    for item in overrides or []:
        _deep_update(data, parse_override(item))
    cfg = from_dict(RunConfig, data, where)
    validate(cfg)
    return cfg


def validate(cfg: RunConfig) -> None:
    """Cross-field checks with messages naming the field."""
    if cfg.model.kind not in ("mixste", "diffhpe2d", "wrapper"):
        raise ValueError(
            f"model.kind must be 'mixste', 'diffhpe2d' or 'wrapper', got {cfg.model.kind!r}"
        )
    if cfg.data.length < 1:
        raise ValueError(f"data.length must be >= 1, got {cfg.data.length}")
    validate_sampling(cfg.diffusion, cfg.model.kind)
    if cfg.train.batch_size < 1:
        raise ValueError(f"train.batch_size must be >= 1, got {cfg.train.batch_size}")
    for name in ("lr", "min_lr", "weight_decay", "grad_clip", "max_minutes"):
        v = getattr(cfg.train, name)
        if not math.isfinite(v) or v < 0 or (name == "lr" and v == 0):
            need = "> 0" if name == "lr" else ">= 0"
            raise ValueError(f"train.{name} must be a finite number {need}, got {v}")
    if cfg.train.val_every < 1:
        raise ValueError(f"train.val_every must be >= 1, got {cfg.train.val_every}")
    if cfg.train.early_stop < 0:
        raise ValueError(f"train.early_stop must be >= 0 (0: off), got {cfg.train.early_stop}")
    try:
        parse_families(cfg.data.families)
    except ValueError as e:
        raise ValueError(f"data.families: {e}") from None
    if not 0.0 <= cfg.data.hard_errors <= 1.0:
        raise ValueError(f"data.hard_errors must be in [0, 1], got {cfg.data.hard_errors}")
    t = cfg.train
    if t.schedule not in ("plateau", "cosine"):
        raise ValueError(f"train.schedule must be 'plateau' or 'cosine', got {t.schedule!r}")
    if t.warmup_steps < 0 or t.warmup_steps >= t.max_steps:
        raise ValueError(
            f"train.warmup_steps must be in 0..train.max_steps-1={t.max_steps - 1}, "
            f"got {t.warmup_steps}"
        )
    if t.micro_batch < 0:
        raise ValueError(f"train.micro_batch must be >= 0 (0: whole batch), got {t.micro_batch}")
    if t.train_eval_windows < 0:
        raise ValueError(
            f"train.train_eval_windows must be >= 0 (0: off), got {t.train_eval_windows}"
        )


def validate_sampling(d: DiffusionConfig, model_kind: str | None = None) -> None:
    """Checks of the sampling fields of ``diffusion``; ``model_kind`` (when known) must be
    'wrapper' for ``init='backbone'``."""
    spec = sampler_spec(d.sampler, "diffusion.sampler")
    if d.init not in INITS:
        raise ValueError(f"diffusion.init must be {one_of(INITS)}, got {d.init!r}")
    start = d.num_steps - 1 if d.start_step is None else d.start_step
    if not 0 <= start < d.num_steps:
        raise ValueError(
            f"diffusion.start_step must be in 0..{d.num_steps - 1} (or null), got {d.start_step}"
        )
    if d.init == "noise" and start != d.num_steps - 1:
        raise ValueError(
            f"diffusion.start_step={d.start_step} needs diffusion.init='backbone': from pure "
            f"noise the reverse process starts at step {d.num_steps - 1}"
        )
    if d.init == "backbone" and model_kind not in (None, "wrapper"):
        raise ValueError(
            f"diffusion.init='backbone' needs a wrapper (a MixSTE backbone), not {model_kind!r}"
        )
    if not 1 <= d.sample_steps <= d.num_steps:
        raise ValueError(f"diffusion.sample_steps must be in 1..{d.num_steps}")
    if "steps" in spec.honours and d.sample_steps > start + 1:
        raise ValueError(
            f"diffusion.sample_steps must be in 1..{start + 1} for {d.sampler.upper()} from "
            f"diffusion.start_step={start} (steps {start} down to 0), got {d.sample_steps}"
        )
    if d.hypotheses < 1:
        raise ValueError("diffusion.hypotheses must be >= 1")
    if d.prediction not in ("eps", "x0", "v"):
        raise ValueError(f"diffusion.prediction must be 'eps', 'x0' or 'v', got {d.prediction!r}")
    if not (math.isfinite(d.pose_scale) and d.pose_scale > 0):
        raise ValueError(f"diffusion.pose_scale must be a finite number > 0, got {d.pose_scale}")
    if d.aggregation not in AGGREGATIONS:
        raise ValueError(
            f"diffusion.aggregation must be one of {', '.join(AGGREGATIONS)}, got {d.aggregation!r}"
        )


def config_to_json(cfg: RunConfig) -> str:
    return json.dumps(to_dict(cfg), sort_keys=True)


def config_from_json(text: str, where: str = "checkpoint") -> RunConfig:
    """The :class:`RunConfig` of a checkpoint's JSON ``config``; errors name ``where``."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{where}: the config is not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the config must be a JSON object, got {type(data).__name__}")
    return from_dict(RunConfig, data, where)
