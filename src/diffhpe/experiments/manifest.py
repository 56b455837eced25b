"""The experiment manifest (``configs/experiments/paper.yaml``): typed, validated, read once.

Every error names the file and the field. A block left out of the manifest is None, and
its page section says "not run".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from diffhpe.data.occlusion import PATTERNS
from diffhpe.diffusion.aggregate import METHODS
from diffhpe.diffusion.registry import INITS, one_of, sampler_names
from diffhpe.experiments.job import Subset
from diffhpe.sampling import SamplingOverride

PAPER_MANIFEST = Path(__file__).resolve().parent.parent / "configs" / "experiments" / "paper.yaml"

TABLE2_MODELS = ("mixste", "diffhpe2d", "wrapper")
TABLE4_COLUMNS = ("mixste", "wrapper_on_vanilla", "wrapper")
MATRIX_MODELS = ("mixste", "wrapper")
# The metrics each page table shows (names of diffhpe.metrics.METRICS, whose entries give
# their display names, units and formats); a metric enters a table by its name here.
TABLE2_METRICS = ("mpjpe", "p_mpjpe", "symmetry_gap", "segment_std")
TABLE4_METRIC = "mpjpe"  # one per cell (pattern x column)
MATRIX_METRICS = ("mpjpe", "symmetry_gap", "segment_std")
SAMPLING_METRICS = ("mpjpe", "symmetry_gap", "segment_std", "frames_per_second")
SHIPPED_METRICS = ("mpjpe", "symmetry_gap", "segment_std")  # the shipped sampler vs its MixSTE
REFERENCE_METRICS = ("mpjpe", "symmetry_gap", "segment_std")  # paper_reference.table2


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
    sampler: SamplingOverride = field(default_factory=SamplingOverride)
    subset: Subset = field(default_factory=Subset)  # default: every test frame, all cameras
    note: str = ""  # which runs these are (generation, training), printed under the heading


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
    sampler: SamplingOverride = field(default_factory=SamplingOverride)
    note: str = ""  # which runs these are, printed in sections 2 and 3


@dataclass
class SamplingManifest:
    """``sampling``: one diffusion checkpoint, H x sampler grid."""

    checkpoint: str
    hypotheses: tuple[int, ...]
    samplers: tuple[SamplingOverride, ...]
    subset: Subset = field(default_factory=Subset)
    # A sampler entry's own `hypotheses` (e.g. the costly DDPM at H = 5 only), by label.
    only: dict[str, tuple[int, ...]] = field(default_factory=dict)
    mixste: str | None = None  # the checkpoint's MixSTE, shown as the reference line
    shipped: str | None = None  # label of the shipped default sampler, compared with MixSTE
    note: str = ""  # which run this is, printed under the heading

    def runs(self, smp: SamplingOverride, h: int) -> bool:
        """Whether the grid cell (sampler, H) is evaluated."""
        return h in self.only.get(smp.label(), self.hypotheses)


@dataclass
class DenoisingManifest:
    """``denoising``: one-step x0 recovery by noise level for diffusion checkpoints."""

    checkpoints: tuple[str, ...]
    steps: tuple[int, ...]
    subset: Subset = field(default_factory=Subset)


@dataclass
class LearningManifest:
    """``learning``: runs whose learning curves the page plots (label -> best checkpoint),
    and a note on how they compare (sizes, budgets, inputs)."""

    runs: dict[str, str]
    note: str = ""


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
    learning: LearningManifest | None = None
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


# A manifest's sampler mapping: the override's settings but the hypotheses, which each
# block gives beside it (a grid in `sampling`).
SAMPLER_KEYS = tuple(k for k in SamplingOverride.keys() if k != "hypotheses")


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str | None:
    if value is not None and value not in choices:
        raise ValueError(f"{where}: expected {one_of(choices)}, got {value!r}")
    return value


def _parse_sampler(value: Any, where: str) -> SamplingOverride:
    d = _mapping(value or {}, where, SAMPLER_KEYS)
    start = d.get("start_step")
    return SamplingOverride(
        sampler=_choice(d.get("sampler"), sampler_names(), f"{where}.sampler"),
        steps=None if d.get("steps") is None else _int(d["steps"], f"{where}.steps", 1),
        eta=None if d.get("eta") is None else _number(d["eta"], f"{where}.eta"),
        aggregation=_choice(d.get("aggregation"), METHODS, f"{where}.aggregation"),
        clip_x0=None if d.get("clip_x0") is None else _number(d["clip_x0"], f"{where}.clip_x0"),
        init=_choice(d.get("init"), INITS, f"{where}.init"),
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
    d = _mapping(value, where, (*TABLE2_MODELS, "hypotheses", "sampler", "subset", "note"))
    paths = {k: d[k] for k in TABLE2_MODELS if k in d}
    return Table2Manifest(
        checkpoints=_parse_paths(paths, where, TABLE2_MODELS),
        hypotheses=_parse_hypotheses(d.get("hypotheses"), f"{where}.hypotheses"),
        sampler=_parse_sampler(d.get("sampler"), f"{where}.sampler"),
        subset=_parse_subset(d.get("subset"), f"{where}.subset"),
        note=_note(d, where),
    )


def _parse_occlusion(value: Any, where: str) -> OcclusionManifest:
    d = _mapping(
        value,
        where,
        (
            "patterns",
            "mixste",
            "wrapper",
            "wrapper_on_vanilla",
            "subset",
            "hypotheses",
            "sampler",
            "note",
        ),
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
        note=_note(d, where),
    )


def _parse_sampling(value: Any, where: str) -> SamplingManifest:
    d = _mapping(
        value,
        where,
        ("checkpoint", "mixste", "shipped", "hypotheses", "samplers", "subset", "note"),
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
        note=_note(d, where),
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


def _parse_learning(value: Any, where: str) -> LearningManifest:
    d = _mapping(value, where, ("runs", "note"))
    runs = d.get("runs")
    if not isinstance(runs, dict) or not runs:
        raise ValueError(
            f"{where}.runs: expected a non-empty mapping of label -> checkpoint path, got {runs!r}"
        )
    return LearningManifest(
        runs={str(k): _str(v, f"{where}.runs.{k}") for k, v in runs.items()},
        note=_note(d, where),
    )


def _note(d: dict[str, Any], where: str) -> str:
    """A section's optional ``note`` (free text for the page), ``""`` when absent."""
    return _str(d["note"], f"{where}.note").strip() if d.get("note") else ""


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
            "learning",
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
        learning=None
        if d.get("learning") is None
        else _parse_learning(d["learning"], f"{where}: learning"),
        paper_reference=_parse_reference(d.get("paper_reference"), f"{where}: paper_reference"),
    )
