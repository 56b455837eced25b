"""``diffhpe train``, ``diffhpe tune`` and ``diffhpe presets``."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any


def cmd_train(args: argparse.Namespace) -> int:
    from diffhpe.config import load_config
    from diffhpe.training import train

    cfg = load_config(args.config, args.overrides)
    if args.out:
        cfg.out_dir = args.out
    result = train(cfg, resume=args.resume, stop_after=args.stop_after, progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"trained {cfg.model.kind} to step {result['step']} in {result['seconds']:.0f} s; "
            f"best validation MPJPE {result['best_val_mpjpe_mm']:.2f} mm; checkpoints in {cfg.out_dir}"
        )
        if result.get("stop_reason") == "early_stop":
            print(
                f"converged: no better validation MPJPE in {cfg.train.early_stop} validations "
                "(train.early_stop)"
            )
    if result.get("stopped_by_signal") is not None:
        sig = result["stopped_by_signal"]
        print(
            f"stopped by signal {sig}; continue with: diffhpe train ... --out {cfg.out_dir} --resume"
        )
        return 128 + int(sig)  # like a shell: 143 for SIGTERM, 130 for SIGINT
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from diffhpe.tuning import format_table, tune

    res = tune(
        args.config, args.trials, args.storage, study_name=args.study_name,
        minutes_per_trial=args.minutes_per_trial, steps=args.steps, overrides=args.overrides,
        out_dir=args.out, seed=args.seed, progress=not args.quiet,
    )  # fmt: skip
    print(format_table(res["rows"]))
    if res["best_trial"] is not None:
        print(f"best: trial {res['best_trial']}, validation MPJPE {res['best_value']:.2f} mm, "
              f"{res['best_params']}")  # fmt: skip
    print(f"wrote {res['csv']} and {res['json']}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from diffhpe.config import list_presets, preset_path

    for name in list_presets():
        print(f"{name:<18} {preset_summary(preset_path(name))}")
    return 0


def preset_summary(path: Path) -> str:
    """The first sentence of a preset's leading comment block (however many lines)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("# ").strip())
    text = " ".join(x for x in lines if x)
    end = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", text)
    return text[: end.start() + 1] if end else text


def add_parsers(sub: Any, fmt: dict[str, Any]) -> None:
    """The ``train`` and ``tune`` commands."""
    t = sub.add_parser(
        "train",
        help="train MixSTE, DiffHPE-2D or DiffHPE-Wrapper",
        description="Train from a YAML preset or file, with key=value overrides "
        "(e.g. train.lr=1e-4 data.occlusion=mix). Runs under torchrun for DDP.",
        **fmt,
    )
    t.add_argument("config", help="preset name (see `diffhpe presets`) or YAML file")
    t.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    t.add_argument("--out", help="output folder (default: the config's out_dir)")
    t.add_argument(
        "--resume", action="store_true", help="continue from OUT/last.safetensors exactly"
    )
    t.add_argument(
        "--stop-after", type=int, default=None, help="stop after this many steps (checkpointed)"
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    tu = sub.add_parser(
        "tune",
        help="hyper-parameter search (Optuna) on the validation split",
        description="Search learning rate, batch size and the model's width and depth around "
        "a preset (diffhpe.tuning.SEARCH_SPACE, docs/TUNING.md): each trial trains for the "
        "budget into OUT/trial-K and is scored by its best validation MPJPE. The study lives "
        "in an Optuna RDB storage: run the command again to resume it, or run it in several "
        "processes at once (distinct --seed) to share it. Needs: pip install 'diffhpe[tune]'.",
        **fmt,
    )
    tu.add_argument("config", help="preset name (see `diffhpe presets`) or YAML file")
    tu.add_argument("overrides", nargs="*", help="dotted key=value overrides (fixed, not searched)")
    tu.add_argument("--trials", type=int, required=True, help="trials to run now")
    tu.add_argument(
        "--storage", required=True, metavar="URL",
        help="Optuna RDB storage, e.g. sqlite:///study.db (relative) or postgresql://...",
    )  # fmt: skip
    tu.add_argument("--study-name", default=None, help="study name (default: the preset's name)")
    tu.add_argument(
        "--steps", type=int, default=None,
        help="training steps per trial (default: the preset's train.max_steps)",
    )  # fmt: skip
    tu.add_argument(
        "--minutes-per-trial", type=float, default=None, metavar="M",
        help="wall-time limit of each trial's training (default: none)",
    )  # fmt: skip
    tu.add_argument(
        "--out", default=None, help="folder of the trial runs (default: runs/tune/STUDY_NAME)"
    )
    tu.add_argument(
        "--seed", type=int, default=0,
        help="seed of the sampler (plus the trials already stored); use distinct seeds for "
        "processes sharing a study",
    )  # fmt: skip
    tu.add_argument("--quiet", action="store_true", help="no progress bars")
    tu.set_defaults(func=cmd_tune)


def add_presets_parser(sub: Any) -> None:
    """The ``presets`` command."""
    pr = sub.add_parser("presets", help="list the training presets shipped with diffhpe")
    pr.set_defaults(func=cmd_presets)
