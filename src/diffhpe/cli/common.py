"""Shared pieces of the command line: defaults, flag names in messages, help format,
warnings as one line, checkpoint lookup and the sampling-flag check."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

DEFAULT_DATA_ROOT = "../shared/data"
DEFAULT_BENCHMARK = "data/open"
LIFT_SUFFIXES = (".npz", ".json", ".bvh")  # lifting.save_result, io.bvh_export.write_bvh
HTML_SUFFIXES = (".html", ".htm")  # diffhpe.viz.write_html
SAVE_2D_SUFFIXES = (".npz", ".json")  # diffhpe.video.save_detections

# Library messages name Python arguments; on the command line, name the flags instead.
_FLAG_TEXTS = (
    (re.compile(r" ?\(image_size=\(width, height\)\)"), ""),
    (re.compile(r"\bimage_size=\((\d+), (\d+)\)"), r"--image-size \1 \2"),
    (re.compile(r"\bformat= one of\b"), "--format one of"),
    (re.compile(r"\bformat='(\w+)'"), r"--format \1"),
    (re.compile(r"\bscore_threshold:"), "--score-threshold:"),
)


def flag_names(text: str) -> str:
    """``text`` with the Python argument names of diffhpe.formats replaced by the flags."""
    for pattern, repl in _FLAG_TEXTS:
        text = pattern.sub(repl, text)
    return text


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diffhpe")
    except PackageNotFoundError:
        from diffhpe import __version__

        return __version__


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default (unless its text already says it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if "default" in text.lower():
            return text
        if action.nargs == 0:  # store_true
            return f"{text} (default: off)"
        return f"{text} (default: %(default)s)"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings on the command line: one clean line, ``warning: ...``."""
    text = " ".join(flag_names(str(message)).split())
    print(f"warning: {text}", file=file or sys.stderr)


def _checkpoint_config(path: str | Path):  # noqa: ANN202 - RunConfig, imported lazily
    """The run config inside a checkpoint, read without building the model."""
    from diffhpe.checkpoint import read_metadata
    from diffhpe.config import config_from_json

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    meta = read_metadata(path)
    if "config" not in meta:
        raise ValueError(f"{path}: checkpoint metadata lacks 'config'; not a diffhpe checkpoint")
    return config_from_json(meta["config"], f"{path}:config")


def _model_name(checkpoint: str | None) -> str:
    return "the shipped model" if checkpoint in (None, "default") else str(checkpoint)


def _resolve_checkpoint(checkpoint: str | None) -> Path:
    """A checkpoint path; None or 'default': the shipped model."""
    from diffhpe.lifting import pretrained_path

    return pretrained_path() if checkpoint in (None, "default") else Path(checkpoint)


def check_sampling_flags(args: argparse.Namespace, cfg=None, name: str = "") -> None:  # noqa: ANN001
    """Sampling flags that would be ignored, or mean something else than they say, are
    errors. Without ``cfg`` (the checkpoint's RunConfig) only the checks that need none
    (:meth:`diffhpe.sampling.SamplingOverride.check`)."""
    from diffhpe.sampling import SamplingOverride

    oracle = ("--oracle",) if getattr(args, "oracle", False) else ()
    SamplingOverride.from_args(args).check(cfg, name, also_given=oracle)
