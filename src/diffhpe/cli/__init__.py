"""The ``diffhpe`` command line: each subcommand maps to one plain function.

One module per command group (``data``, ``train``/``tune``/``presets``, ``evaluate``,
``lift``, ``ship``/``export``; ``experiment`` lives in :mod:`diffhpe.experiments`), each
with its ``cmd_*`` functions and an ``add_parser(s)(sub, fmt)`` that declares its flags;
:mod:`diffhpe.cli.common` holds what they share. A new command is a new module here and
one line in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from diffhpe.cli import data, evaluate, lift, ship, train
from diffhpe.cli.common import (
    DefaultsHelpFormatter,
    _show_warning,
    _version,
    check_sampling_flags,
    flag_names,
)
from diffhpe.cli.train import preset_summary

__all__ = ["DefaultsHelpFormatter", "build_parser", "check_sampling_flags", "flag_names",
           "main", "preset_summary"]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``diffhpe`` parser with every command; ``args.func(args)`` runs one."""
    fmt = {"formatter_class": DefaultsHelpFormatter}
    p = argparse.ArgumentParser(
        prog="diffhpe",
        description="Robust, coherent 3D human pose lifting with diffusion (DiffHPE).",
        **fmt,
    )
    p.add_argument(
        "--version", action="version", version=f"diffhpe {_version()}", help="print the version"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data.add_parsers(sub, fmt)
    train.add_parsers(sub, fmt)
    evaluate.add_parser(sub, fmt)
    lift.add_parser(sub, fmt)
    ship.add_parsers(sub, fmt)
    from diffhpe.experiments import add_experiment_parser  # imports torch: only here

    add_experiment_parser(sub)
    train.add_presets_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one ``diffhpe`` command; library errors become one ``diffhpe: error:`` line (exit 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning  # one clean line per warning, on this command only
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, KeyError, ImportError) as e:
        text = str(e) if not isinstance(e, KeyError) or not e.args else str(e.args[0])
        print(f"diffhpe: error: {' '.join(text.split())}", file=sys.stderr)
        return 2
    except RecursionError:
        print("diffhpe: error: the input is nested too deeply to read", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown
