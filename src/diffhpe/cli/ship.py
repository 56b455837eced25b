"""``diffhpe ship`` (a run into the package, with its card) and ``diffhpe export`` (ONNX)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_ship(args: argparse.Namespace) -> int:
    from diffhpe.evaluation import EvalOptions
    from diffhpe.safety import check_hypotheses, check_output_dir
    from diffhpe.sampling import SamplingOverride
    from diffhpe.shipping import ship

    check_hypotheses(args.hypotheses)
    if args.out:
        check_output_dir(args.out, "--out", inputs=[args.run])
    opts = EvalOptions(
        split="test", data_root=args.data_root, batch_size=args.batch_size, cameras=args.cameras
    )
    sampling = SamplingOverride.from_args(args)
    info = ship(
        args.run, out_dir=args.out, eval_opts=opts, progress=not args.quiet, sampling=sampling
    )
    m = info["test"]["metrics_mm"]["mpjpe"]["frame_weighted"]
    print(f"shipped {info['file']} ({info['bytes'] / 2**20:.1f} MB); test MPJPE {m:.1f} mm; "
          f"sample MPJPE {info['sample']['mpjpe_mm']:.1f} mm; card written")  # fmt: skip
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from diffhpe.export import export_onnx
    from diffhpe.safety import check_output_dir

    check_output_dir(args.onnx, "--onnx")  # before tracing anything
    try:
        paths = export_onnx(args.checkpoint, args.onnx, batch=args.batch, opset=args.opset)
    except ImportError as e:  # onnxruntime missing: say how to install it
        print(f"diffhpe: error: {e}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"{name:<9} {path} ({path.stat().st_size / 1024:.0f} kB)")
    print("checked against PyTorch in ONNX Runtime; see docs/EXPORT.md for the sampling loop")
    return 0


def add_parsers(sub: Any, fmt: dict[str, Any]) -> None:
    """The ``ship`` and ``export`` commands."""
    from diffhpe.sampling import SamplingOverride

    sh = sub.add_parser(
        "ship", help="put a trained wrapper run inside the package, with its model card", **fmt
    )
    sh.add_argument("run", help="the wrapper's run folder (best.safetensors, last.safetensors)")
    sh.add_argument(
        "--out", default=None, help="output folder (default: the package's assets/models)"
    )
    sh.add_argument("--data-root", default=None, help="dataset folder (default: the run's)")
    sh.add_argument("--batch-size", type=int, default=256, help="windows per batch")
    sh.add_argument("--cameras", nargs="*", default=None, help="test cameras (default: all four)")
    SamplingOverride.add_arguments(sh, "ship")
    sh.add_argument("--quiet", action="store_true", help="no progress bar")
    sh.set_defaults(func=cmd_ship)

    ex = sub.add_parser(
        "export",
        help="export a checkpoint's networks to ONNX (ONNX Runtime, TensorRT, ...)",
        description="Write backbone.onnx + denoiser.onnx (diffusion models) or mixste.onnx, "
        "with export.json (tensor names and shapes, schedule, sampler settings), and check "
        "each graph against PyTorch in ONNX Runtime. Needs: pip install 'diffhpe[onnx]'.",
        **fmt,
    )
    ex.add_argument(
        "checkpoint", nargs="?", default="default", help="checkpoint, or 'default' (shipped model)"
    )
    ex.add_argument("--onnx", required=True, metavar="OUT_DIR", help="output folder")
    ex.add_argument("--batch", type=int, default=1, help="example batch traced; B stays dynamic")
    ex.add_argument("--opset", type=int, default=17, help="ONNX opset")
    ex.set_defaults(func=cmd_export)
