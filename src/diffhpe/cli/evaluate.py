"""``diffhpe evaluate``: every metric of a checkpoint on a split."""

from __future__ import annotations

import argparse
from typing import Any

from diffhpe.cli.common import (
    _checkpoint_config,
    _model_name,
    _resolve_checkpoint,
    check_sampling_flags,
)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from diffhpe.evaluation import EvalOptions, evaluate, format_report, write_summary
    from diffhpe.safety import check_device, check_output_path
    from diffhpe.sampling import SamplingOverride

    check_sampling_flags(args)
    for flag, value, least in (("--batch-size", args.batch_size, 1), ("--stride", args.stride, 1),
                               ("--window-stride", args.window_stride, 1),
                               ("--max-windows", args.max_windows, 0)):  # fmt: skip
        if value < least:
            raise ValueError(f"{flag} must be >= {least}, got {value}")
    checkpoint = _resolve_checkpoint(args.checkpoint)
    if args.json:
        check_output_path(args.json, "--json", (".json",), inputs=[checkpoint])
    check_device(args.device, "--device")
    cfg = _checkpoint_config(checkpoint)
    check_sampling_flags(args, cfg, _model_name(args.checkpoint))
    if args.data_kind and args.data_kind != cfg.data.kind and not args.data_root:
        raise ValueError(
            f"--data-kind {args.data_kind} needs --data-root: the checkpoint's data.root "
            f"({cfg.data.root}) holds its own {cfg.data.kind!r} data"
        )
    opts = EvalOptions(
        split=args.split,
        occlusion=args.occlusion,
        family=args.family,
        **SamplingOverride.from_args(args).describe(),
        batch_size=args.batch_size,
        seed=args.seed,
        cameras=args.cameras,
        stride=args.stride,
        window_stride=args.window_stride,
        max_windows=args.max_windows,
        data_root=args.data_root,
        data_kind=args.data_kind,
        detector=args.detector,
        oracle=args.oracle,
        device=args.device,
    )
    summary = evaluate(checkpoint, opts, progress=not args.quiet, subjects=args.subjects)
    print(format_report(summary))
    if args.json:
        write_summary(summary, args.json)
        print(f"wrote {args.json}")
    return 0


def add_parser(sub: Any, fmt: dict[str, Any]) -> None:
    """The ``evaluate`` command."""
    from diffhpe.data.families import FAMILIES  # numpy only: torch stays unimported
    from diffhpe.sampling import SamplingOverride

    e = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint: every metric, per action, per subject and overall",
        description="Evaluate a checkpoint on a split of the open benchmark or of Human3.6M "
        "(VideoPose3D-layout files): MPJPE, P-MPJPE, N-MPJPE, MPJVE and the coherence "
        "metrics, per action, per subject and overall, in mm.",
        **fmt,
    )
    e.add_argument(
        "checkpoint", help="checkpoint (.safetensors), or 'default' for the shipped model"
    )
    e.add_argument("--split", default="test", help="split to evaluate")
    e.add_argument(
        "--occlusion", default="none",
        help="test-time occlusion pattern or mixture, e.g. 'random', 'mix', "
        "'missing:Neck/Nose' (a joint or group absent in every frame) (default: none)",
    )  # fmt: skip
    e.add_argument(
        "--family", default="exact", choices=FAMILIES,
        help="2D joint definitions fed to the model: the mocap joints, an MPII detector's "
        "or a COCO detector's through the lift mapping (default: exact)",
    )  # fmt: skip
    SamplingOverride.add_arguments(e, "evaluate")
    e.add_argument("--batch-size", type=int, default=256, help="windows per batch")
    e.add_argument("--seed", type=int, default=0, help="seed of occlusions and sampling")
    e.add_argument("--cameras", nargs="*", default=None, help="camera ids (default: all four)")
    e.add_argument(
        "--subjects", nargs="+", default=None, metavar="SUBJECT",
        help="evaluate only these subjects of the split, e.g. S9 or CMU03 HDM_dg (default: all "
        "of the split's)",
    )  # fmt: skip
    e.add_argument("--stride", type=int, default=1, help="keep every k-th frame")
    e.add_argument(
        "--window-stride", type=int, default=1, help="keep every k-th window (full frame rate)"
    )
    e.add_argument(
        "--max-windows", type=int, default=0, help="evaluate at most this many windows (0: all)"
    )
    e.add_argument(
        "--data-kind",
        choices=["open", "h36m"],
        default=None,
        help="open benchmark or Human3.6M files data_3d_h36m.npz + data_2d_h36m_DETECTOR.npz "
        "(default: the checkpoint's)",
    )
    e.add_argument("--data-root", default=None, help="dataset folder (default: the checkpoint's)")
    e.add_argument(
        "--detector",
        default=None,
        help="2D file suffix, e.g. det, gt, cpn_ft_h36m_dbb (default: the checkpoint's)",
    )
    e.add_argument("--oracle", action="store_true", help="also report the oracle-best upper bound")
    e.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    e.add_argument("--json", default=None, help="write the summary as JSON here (default: none)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_evaluate)
