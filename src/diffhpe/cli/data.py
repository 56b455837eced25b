"""``diffhpe data build`` and ``diffhpe data sample``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from diffhpe.cli.common import DEFAULT_BENCHMARK, DEFAULT_DATA_ROOT


def cmd_data_build(args: argparse.Namespace) -> int:
    from diffhpe.data.build import build_benchmark, format_summary
    from diffhpe.safety import check_output_dir

    check_output_dir(args.out, "--out")  # before rendering anything
    if args.virtual_cameras < 0:
        raise ValueError(f"--virtual-cameras must be >= 0, got {args.virtual_cameras}")
    summary = build_benchmark(
        args.data_root, args.out, seed=args.seed, workers=args.workers,
        virtual_cameras=args.virtual_cameras, splits=args.splits,
    )  # fmt: skip
    print(format_summary(summary))
    print(
        f"\nwrote {Path(args.out) / 'data_3d_open.npz'}, data_2d_open_gt.npz, data_2d_open_det.npz, benchmark.json"
    )
    return 0


def cmd_data_sample(args: argparse.Namespace) -> int:
    import json

    from diffhpe.cameras import CAMERA_IDS
    from diffhpe.data.build import export_sample
    from diffhpe.safety import atomic_path, check_output_path

    bench = Path(args.bench)
    inputs = [bench / "data_2d_open_det.npz", bench / "data_3d_open.npz", bench / "benchmark.json"]
    check_output_path(args.out, "--out", (".npz",), inputs=inputs)
    if args.camera not in CAMERA_IDS:
        raise ValueError(f"--camera {args.camera}: not a camera id; expected one of {CAMERA_IDS}")
    if args.start < 0 or args.length < 1:
        raise ValueError(f"--start must be >= 0 and --length >= 1, got {args.start}, {args.length}")
    try:
        clips = json.loads(inputs[2].read_text(encoding="utf-8"))["clips"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(
            f"--bench {bench}: cannot read benchmark.json ({e}); run `diffhpe data build`"
        ) from None
    if args.subject not in clips:
        raise ValueError(f"--subject {args.subject}: not in {inputs[2]}; have {sorted(clips)}")
    if args.clip not in clips[args.subject]:
        raise ValueError(
            f"--clip {args.clip}: {args.subject} has no such clip; have {sorted(clips[args.subject])}"
        )
    with atomic_path(args.out) as tmp:
        export_sample(bench, args.subject, args.clip, args.camera, args.start, args.length, tmp)
    print(f"wrote {args.out}")
    return 0


def add_parsers(sub: Any, fmt: dict[str, Any]) -> None:
    """The ``data`` command group and its actions."""
    data = sub.add_parser("data", help="build and inspect datasets", **fmt)
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    b = data_sub.add_parser(
        "build",
        help="build the open benchmark from real motion capture",
        description="Render the open motion capture through the Human3.6M cameras into "
        "VideoPose3D-layout files (3D, exact 2D, detected 2D) and print a summary.",
        **fmt,
    )
    b.add_argument("--data-root", default=DEFAULT_DATA_ROOT, help="folder with the open mocap")
    b.add_argument("--out", default=DEFAULT_BENCHMARK, help="output folder")
    b.add_argument("--seed", type=int, default=0, help="seed of the detector noise")
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    b.add_argument(
        "--virtual-cameras", type=int, default=0,
        help="N > 0: see each clip through N drawn cameras (phone, webcam, surveillance, "
        "sports, studio; diffhpe.data.virtual) instead of the 4 Human3.6M ones; build into "
        "another folder, e.g. --out data/open-virtual",
    )  # fmt: skip
    b.add_argument(
        "--splits", default=None, metavar="FILE",
        help="YAML/JSON split file {train: [...], validation: [...], test: [...]} of subjects "
        "(CMU03), folders (hdm05/dg) or clip ids, e.g. to declare a new test set; unknown "
        "names are errors, clips found in no split are reported as skipped (see "
        "diffhpe.data.build) (default: the open protocol)",
    )  # fmt: skip
    b.set_defaults(func=cmd_data_build)
    sm = data_sub.add_parser(
        "sample",
        help="export a test clip's 2D (and 3D truth) as a small sample file",
        description="Write one test clip of a built benchmark, seen by one camera, as a "
        "plain .npz: detected 2D keypoints (pixels), image size, 3D truth (camera frame, "
        "root-relative metres), frame rate and source. `diffhpe lift` reads it.",
        **fmt,
    )
    sm.add_argument("--bench", default=DEFAULT_BENCHMARK, help="benchmark folder (data build)")
    sm.add_argument("--subject", default="CMU03", help="test subject (performer)")
    sm.add_argument("--clip", default="03_03", help="clip id of the subject")
    sm.add_argument("--camera", default="60457274", help="Human3.6M camera id")
    sm.add_argument("--start", type=int, default=0, help="first frame (50 Hz)")
    sm.add_argument("--length", type=int, default=400, help="number of frames")
    sm.add_argument(
        "--out", default="src/diffhpe/assets/samples/cmu03_03_walk.npz", help="output .npz"
    )
    sm.set_defaults(func=cmd_data_sample)
