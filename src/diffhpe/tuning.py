"""``diffhpe tune``: hyper-parameter search with Optuna on the validation split.

A study lives in an Optuna RDB storage (``sqlite:///study.db``, or a PostgreSQL/MySQL URL
for several machines): every trial is stored as it ends, so a study is resumable (run the
same command again: it loads the study and adds trials) and shareable (several processes
may run the same command on one study at once; give each its own ``--seed``).

Each trial samples the settings of :data:`SEARCH_SPACE` for the preset's model kind, trains
with :func:`diffhpe.training.train` for the trial's budget (``--steps`` and
``--minutes-per-trial``) into ``OUT/trial-K`` (``OUT`` = ``runs/tune/NAME`` by default),
and its value is the run's best validation MPJPE (mm): the ``data.val_split`` of the
preset, "validation"; tune refuses a ``data.val_split`` of "test". Trials whose training
diverges (a non-finite loss) are recorded as failed, and the study goes on.

The search space is relative to the preset: the preset is the prior, the search looks
around it (a factor 4 either way for the learning rate, half and double for sizes), so
``tiny`` stays tiny and ``wrapper-open`` stays a CPU-sized model. A ``key=value``
override of a searched key fixes it (it is then not searched).
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diffhpe.config import RunConfig, load_config, preset_path


@dataclass(frozen=True)
class Param:
    """One searched setting: ``key`` (dotted config key) and how its range derives from
    the preset's value ``v``:

    - ``"log"``: log-uniform in ``[v * lo, v * hi]``;
    - ``"uniform"``: uniform in ``[lo, hi]`` (absolute, not relative to ``v``);
    - ``"scale"``: one of ``v * f`` for ``f`` in ``factors`` (integers, rounded, >= 1);
    - ``"int"``: an integer in ``[max(1, round(v * lo)), round(v * hi)]``.
    """

    key: str
    kind: str
    lo: float = 0.0
    hi: float = 0.0
    factors: tuple[float, ...] = ()
    why: str = ""


# THE search space, per model kind ("all": every kind). Documented in docs/TUNING.md.
SEARCH_SPACE: dict[str, tuple[Param, ...]] = {
    "all": (
        Param("train.lr", "log", 0.25, 4.0, why="the setting that matters most for any run"),
        Param("train.batch_size", "scale", factors=(0.5, 1.0, 2.0), why="noise of the gradient"),
    ),
    "mixste": (
        Param(
            "model.mixste.dim", "scale", factors=(0.5, 1.0, 2.0), why="width (a multiple of heads)"
        ),
        Param("model.mixste.depth", "int", 0.5, 2.0, why="depth: spatial-temporal block pairs"),
    ),
    "diffhpe2d": (
        Param("model.denoiser.channels", "scale", factors=(0.5, 1.0, 2.0), why="denoiser width"),
        Param("model.denoiser.num_blocks", "int", 0.5, 2.0, why="denoiser depth"),
        Param("model.denoiser.dropout", "uniform", 0.0, 0.4, why="the paper tuned 0.27"),
    ),
    "wrapper": (  # the MixSTE backbone is frozen: only the denoiser and training are searched
        Param("model.denoiser.channels", "scale", factors=(0.5, 1.0, 2.0), why="denoiser width"),
        Param("model.denoiser.num_blocks", "int", 0.5, 2.0, why="denoiser depth"),
        Param("model.denoiser.dropout", "uniform", 0.0, 0.4, why="the paper tuned 0.27"),
    ),
}


def _get(cfg: RunConfig, key: str) -> Any:
    obj: Any = cfg
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def search_params(cfg: RunConfig, fixed: set[str] | frozenset[str] = frozenset()) -> list[Param]:
    """The :data:`SEARCH_SPACE` entries of ``cfg``'s model kind, less the ``fixed`` keys."""
    params = SEARCH_SPACE["all"] + SEARCH_SPACE[cfg.model.kind]
    return [p for p in params if p.key not in fixed]


def choices(cfg: RunConfig, p: Param) -> list[int]:
    """The values of a ``"scale"`` parameter for ``cfg`` (MixSTE widths: multiples of the
    number of heads)."""
    v = _get(cfg, p.key)
    out = sorted({max(1, int(round(v * f))) for f in p.factors})
    if p.key == "model.mixste.dim":
        heads = cfg.model.mixste.heads
        out = [c for c in out if c % heads == 0] or [v]
    return out


def suggest(trial: Any, cfg: RunConfig, fixed: set[str] | frozenset[str] = frozenset()) -> dict:
    """``{dotted key: value}`` sampled by an Optuna ``trial`` around the preset ``cfg``."""
    out: dict[str, Any] = {}
    for p in search_params(cfg, fixed):
        v = _get(cfg, p.key)
        if p.kind == "log":
            out[p.key] = trial.suggest_float(p.key, v * p.lo, v * p.hi, log=True)
        elif p.kind == "uniform":
            out[p.key] = trial.suggest_float(p.key, p.lo, p.hi)
        elif p.kind == "scale":
            out[p.key] = trial.suggest_categorical(p.key, choices(cfg, p))
        elif p.kind == "int":
            lo = max(1, int(round(v * p.lo)))
            out[p.key] = trial.suggest_int(p.key, lo, max(lo, int(round(v * p.hi))))
        else:  # pragma: no cover - SEARCH_SPACE is fixed above
            raise ValueError(f"search space: unknown kind {p.kind!r} of {p.key}")
    return out


def describe_space(cfg: RunConfig, fixed: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """One line per searched setting with its range for ``cfg``."""
    lines = []
    for p in search_params(cfg, fixed):
        v = _get(cfg, p.key)
        if p.kind == "log":
            rng = f"log-uniform {v * p.lo:.3g} .. {v * p.hi:.3g}"
        elif p.kind == "uniform":
            rng = f"uniform {p.lo:g} .. {p.hi:g}"
        elif p.kind == "scale":
            rng = f"one of {choices(cfg, p)}"
        else:
            lo = max(1, int(round(v * p.lo)))
            rng = f"integer {lo} .. {max(lo, int(round(v * p.hi)))}"
        lines.append(f"{p.key}: {rng} (preset: {v})")
    return lines


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ImportError(
            "diffhpe tune needs Optuna: pip install 'diffhpe[tune]' (or pip install optuna)"
        ) from None
    return optuna


def open_study(storage: str, name: str, seed: int | None = None) -> Any:
    """Create or load (``load_if_exists``) the minimising study ``name`` in ``storage``;
    errors name the URL. Its TPE sampler is seeded with ``seed`` plus the number of
    trials already stored, so a resumed study does not repeat its first draws."""
    optuna = _import_optuna()
    if "://" not in storage:
        raise ValueError(
            f"--storage {storage!r}: expected a database URL such as sqlite:///study.db "
            "(relative path) or sqlite:////abs/path/study.db"
        )
    if storage.startswith("sqlite:///"):  # a local file: its folder is made like --out's
        db = storage[len("sqlite:///") :]
        if db and db != ":memory:":
            parent = Path(db).parent
            if parent.exists() and not parent.is_dir():
                raise ValueError(f"--storage {storage!r}: {parent} is not a folder")
            parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # tune prints its own lines
    try:
        study = optuna.create_study(
            storage=storage, study_name=name, direction="minimize", load_if_exists=True
        )
    except Exception as e:  # sqlalchemy/optuna errors vary by back end; name the URL
        raise ValueError(
            f"--storage {storage!r}: cannot open the study ({type(e).__name__}: "
            f"{' '.join(str(e).split())[:300]})"
        ) from None
    if seed is not None:
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def trial_rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, value (best validation MPJPE, mm), params,
    training seconds, steps and the trial's run folder."""
    rows = []
    for t in study.trials:
        rows.append(
            {
                "trial": t.number,
                "state": t.state.name,
                "value": t.value,
                "params": dict(t.params),
                "seconds": t.user_attrs.get("seconds"),
                "steps": t.user_attrs.get("steps"),
                "out_dir": t.user_attrs.get("out_dir"),
            }
        )
    return rows


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-2 else f"{v:.4g}"
    return "" if v is None else str(v)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The trials as a plain-text table (markdown-ready), best value marked with ``*``."""
    keys = sorted({k for r in rows for k in r["params"]})
    done = [r["value"] for r in rows if r["value"] is not None and math.isfinite(r["value"])]
    best = min(done) if done else None
    head = ["trial", "state", "val MPJPE (mm)", *keys, "steps", "seconds"]
    body = []
    for r in rows:
        value = "" if r["value"] is None else f"{r['value']:.2f}"
        if best is not None and r["value"] == best:
            value += " *"
        body.append(
            [str(r["trial"]), r["state"], value, *[_fmt(r["params"].get(k)) for k in keys],
             _fmt(r["steps"]), _fmt(None if r["seconds"] is None else round(r["seconds"], 1))]
        )  # fmt: skip
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)
    ]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)) + " |" for b in body
    ]
    return "\n".join(lines)


def results_paths(storage: str, name: str, out_dir: Path) -> tuple[Path, Path]:
    """Where the result table goes: beside the SQLite file (``study.db`` ->
    ``study-NAME.csv`` / ``.json``), else in ``out_dir`` (``trials.csv`` / ``.json``)."""
    if storage.startswith("sqlite:///") and storage[len("sqlite:///") :] not in ("", ":memory:"):
        db = Path(storage[len("sqlite:///") :])
        stem = db.parent / f"{db.stem}-{name}"
        return stem.with_suffix(".csv"), stem.with_suffix(".json")
    return out_dir / "trials.csv", out_dir / "trials.json"


def write_results(rows: list[dict[str, Any]], csv_path: Path, json_path: Path, meta: dict) -> None:
    keys = sorted({k for r in rows for k in r["params"]})
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["trial", "state", "value", *keys, "steps", "seconds", "out_dir"])
        for r in rows:
            w.writerow(
                [r["trial"], r["state"], r["value"], *[r["params"].get(k) for k in keys],
                 r["steps"], r["seconds"], r["out_dir"]]
            )  # fmt: skip
    json_path.write_text(json.dumps({**meta, "trials": rows}, indent=1), encoding="utf-8")


def tune(
    preset: str,
    trials: int,
    storage: str,
    study_name: str | None = None,
    minutes_per_trial: float | None = None,
    steps: int | None = None,
    overrides: list[str] | None = None,
    out_dir: str | Path | None = None,
    seed: int | None = 0,
    progress: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Run ``trials`` more trials of the study (see the module notes); returns
    ``{"study", "storage", "best_value", "best_params", "best_trial", "rows", "csv",
    "json"}``. ``log``: where the per-trial lines go (None: nowhere)."""
    _import_optuna()  # a missing Optuna is the first error
    if trials < 1:
        raise ValueError(f"--trials must be >= 1, got {trials}")
    if minutes_per_trial is not None and not (
        math.isfinite(minutes_per_trial) and minutes_per_trial > 0
    ):
        raise ValueError(f"--minutes-per-trial must be a number > 0, got {minutes_per_trial}")
    if steps is not None and steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}")
    overrides = list(overrides or [])
    base = load_config(preset, overrides)  # errors in the preset or overrides come first
    if base.data.val_split == "test":
        raise ValueError("data.val_split=test: tune selects on the validation split, never test")
    name = study_name or Path(preset_path(preset)).stem
    out = Path(out_dir) if out_dir is not None else Path("runs") / "tune" / name
    fixed = {o.split("=", 1)[0].strip() for o in overrides}
    n_steps = steps or base.train.max_steps
    study = open_study(storage, name, seed)
    say = log or (lambda *_a, **_k: None)
    say(f"study {name!r} in {storage}: {len(study.trials)} trial(s) stored; {trials} more, "
        f"{n_steps} steps each" + (f", at most {minutes_per_trial:g} min" if minutes_per_trial else ""))  # fmt: skip
    for line in describe_space(base, fixed):
        say(f"  search {line}")

    def objective(trial: Any) -> float:
        params = suggest(trial, base, fixed)
        run_dir = out / f"trial-{trial.number}"
        extra = [f"{k}={json.dumps(v)}" for k, v in params.items()]
        extra.append(f"train.max_steps={n_steps}")
        if base.train.warmup_steps >= n_steps:  # a short budget: keep the warm-up inside it
            extra.append(f"train.warmup_steps={n_steps // 10}")
        if minutes_per_trial:
            extra.append(f"train.max_minutes={minutes_per_trial}")
        cfg = load_config(preset, overrides + extra)
        cfg.out_dir = str(run_dir)
        from diffhpe.training import train

        trial.set_user_attr("out_dir", str(run_dir))
        t0 = time.time()
        try:
            result = train(cfg, progress=progress)
        except FloatingPointError as e:  # diverged: a failed trial, the study goes on
            trial.set_user_attr("error", str(e))
            say(f"trial {trial.number}: failed ({e})")
            raise
        trial.set_user_attr("seconds", round(time.time() - t0, 2))
        trial.set_user_attr("steps", int(result["step"]))
        value = float(result["best_val_mpjpe_mm"])
        shown = ", ".join(f"{k.rsplit('.', 1)[-1]}={_fmt(v)}" for k, v in params.items())
        say(f"trial {trial.number}: best val MPJPE {value:.2f} mm in {result['step']} steps "
            f"({time.time() - t0:.0f} s): {shown}")  # fmt: skip
        if not math.isfinite(value):
            raise FloatingPointError(f"trial {trial.number}: no finite validation MPJPE")
        return value

    study.optimize(objective, n_trials=trials, catch=(FloatingPointError,))
    rows = trial_rows(study)
    csv_path, json_path = results_paths(storage, name, out)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    best = study.best_trial if complete else None
    meta = {
        "study": name,
        "storage": storage,
        "preset": preset,
        "overrides": overrides,
        "steps_per_trial": n_steps,
        "minutes_per_trial": minutes_per_trial,
        "objective": "best validation MPJPE (mm), data.val_split",
        "search_space": describe_space(base, fixed),
        "best_trial": None if best is None else best.number,
        "best_value": None if best is None else best.value,
        "best_params": None if best is None else dict(best.params),
    }
    write_results(rows, csv_path, json_path, meta)
    return {**meta, "rows": rows, "csv": str(csv_path), "json": str(json_path)}
