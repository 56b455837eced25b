"""The ``diffhpe`` command line: each subcommand maps to one plain function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_DATA_ROOT = "../shared/data"
DEFAULT_BENCHMARK = "data/open"


def cmd_data_build(args: argparse.Namespace) -> int:
    from diffhpe.data.build import build_benchmark, format_summary

    summary = build_benchmark(args.data_root, args.out, seed=args.seed, workers=args.workers)
    print(format_summary(summary))
    print(f"\nwrote {Path(args.out) / 'data_3d_open.npz'}, data_2d_open_gt.npz, data_2d_open_det.npz, benchmark.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="diffhpe",
        description="Robust, coherent 3D human pose lifting with diffusion (DiffHPE).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="build and inspect datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    b = data_sub.add_parser(
        "build",
        help="build the open benchmark from real motion capture",
        description="Render the open motion capture through the Human3.6M cameras into "
        "VideoPose3D-layout files (3D, exact 2D, detected 2D) and print a summary.",
    )
    b.add_argument("--data-root", default=DEFAULT_DATA_ROOT, help="folder with the open mocap (default: %(default)s)")
    b.add_argument("--out", default=DEFAULT_BENCHMARK, help="output folder (default: %(default)s)")
    b.add_argument("--seed", type=int, default=0, help="seed of the detector noise (default: %(default)s)")
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    b.set_defaults(func=cmd_data_build)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as e:
        print(f"diffhpe: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
