"""The ``diffhpe`` command line: each subcommand maps to one plain function."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_DATA_ROOT = "../shared/data"
DEFAULT_BENCHMARK = "data/open"


def cmd_data_build(args: argparse.Namespace) -> int:
    from diffhpe.data.build import build_benchmark, format_summary

    summary = build_benchmark(args.data_root, args.out, seed=args.seed, workers=args.workers)
    print(format_summary(summary))
    print(
        f"\nwrote {Path(args.out) / 'data_3d_open.npz'}, data_2d_open_gt.npz, data_2d_open_det.npz, benchmark.json"
    )
    return 0


def cmd_data_sample(args: argparse.Namespace) -> int:
    from diffhpe.data.build import export_sample

    path = export_sample(
        args.bench, args.subject, args.clip, args.camera, args.start, args.length, args.out
    )
    print(f"wrote {path}")
    return 0


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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from diffhpe.evaluation import EvalOptions, evaluate, format_report, write_summary

    opts = EvalOptions(
        split=args.split,
        occlusion=args.occlusion,
        hypotheses=args.hypotheses,
        sampler=args.sampler,
        steps=args.steps,
        eta=args.eta,
        aggregation=args.aggregation,
        clip_x0=args.clip_x0,
        init=args.init,
        start_step=args.start_step,
        batch_size=args.batch_size,
        seed=args.seed,
        cameras=args.cameras,
        stride=args.stride,
        window_stride=args.window_stride,
        max_windows=args.max_windows,
        data_root=args.data_root,
        detector=args.detector,
        oracle=args.oracle,
        device=args.device,
    )
    summary = evaluate(args.checkpoint, opts, progress=not args.quiet)
    print(format_report(summary))
    if args.json:
        write_summary(summary, args.json)
        print(f"wrote {args.json}")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from diffhpe.config import list_presets, preset_path

    for name in list_presets():
        first = preset_path(name).read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        print(f"{name:<18} {first}")
    return 0


def _read_people(args: argparse.Namespace) -> list[dict]:
    """People in the input: xy (N, 17, 2) px, image size, mapping, fps, name, gt3d."""
    import numpy as np

    from diffhpe.io.safe_npz import load_npz
    from diffhpe.video import is_video

    path = Path(args.input)
    if is_video(path):
        return [_read_video(args, path)]
    if path.suffix == ".npz":
        fields = load_npz(path)
        if "landmarks" in fields:  # video detections saved by `diffhpe lift --save-2d`
            return [_read_video(args, path)]
        if "keypoints" in fields:  # a diffhpe sample (diffhpe data sample)
            size = tuple(int(v) for v in fields["image_size"]) if "image_size" in fields else None
            return [
                {
                    "xy": np.asarray(fields["keypoints"], dtype=np.float64),
                    "image_size": tuple(args.image_size) if args.image_size else size,
                    "mapping": "Human3.6M 17 joints (diffhpe sample)",
                    "fps": float(fields.get("fps", 50.0)),
                    "name": path.stem,
                    "gt3d": fields.get("gt3d"),
                }
            ]
    from diffhpe.formats import read_keypoints

    people = read_keypoints(
        path,
        format=args.format,
        image_size=tuple(args.image_size) if args.image_size else None,
        score_threshold=args.score_threshold,
    )
    out = []
    for k in people:
        name = path.stem if len(people) == 1 else f"{path.stem}_track{k.track_id}"
        out.append(
            {"xy": k.xy, "image_size": k.image_size, "mapping": k.mapping, "fps": k.fps,
             "name": name, "gt3d": None, "format": k.source_format}
        )  # fmt: skip
    return out


def _read_video(args: argparse.Namespace, path: Path) -> dict:
    """The person of a video (detected with MediaPipe Pose) or of saved detections (.npz)."""
    import time

    from diffhpe.video import detect_video, is_video, load_detections, save_detections

    video = None
    if is_video(path):
        start = time.perf_counter()
        det = detect_video(path)
        seconds = time.perf_counter() - start
        n, found = det.num_frames, int(det.detected.sum())
        w, h = det.image_size
        print(
            f"{path.name}: {w}x{h}, {det.fps:g} fps; a person in {found} of {n} frames "
            f"({100 * found / n:.0f} %); detection {n / max(seconds, 1e-9):.1f} frames/s"
        )
        video = path
    else:
        det = load_detections(path)
    if args.save_2d:
        print(f"wrote {save_detections(args.save_2d, det)}")
    if not det.detected.any():
        raise ValueError(f"{path}: no person detected in any frame")
    k = det.to_keypoints2d(args.score_threshold)
    return {"xy": k.xy, "image_size": k.image_size, "mapping": k.mapping, "fps": k.fps,
            "name": path.stem, "gt3d": None, "format": k.source_format, "video": video}  # fmt: skip


def cmd_lift(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from diffhpe.inference import with_sampling
    from diffhpe.lifting import Lifter, save_result
    from diffhpe.video import VIDEO_SUFFIXES, is_video

    if args.input == "sample":  # the bundled open test clip
        from importlib import resources

        args.input = str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz")
        args.output = args.output or "walk_3d.npz"
    src = Path(args.input)
    if args.save_2d and not is_video(src):
        raise ValueError(f"--save-2d: only for a video input {VIDEO_SUFFIXES}, got {src}")
    people = _read_people(args)  # before loading the model: input errors come first
    lifter = (
        Lifter.from_checkpoint(args.checkpoint, compile=args.compile)
        if args.checkpoint
        else Lifter.from_pretrained(compile=args.compile)
    )
    lifter.diffusion = d = with_sampling(
        lifter.diffusion, hypotheses=args.hypotheses, sample_steps=args.steps,
        sampler=args.sampler, init=args.init, start_step=args.start_step,
    )  # fmt: skip
    out = Path(args.output) if args.output else src.with_name(src.stem + "_3d.npz")
    for person in people:
        if person["image_size"] is None:
            raise ValueError(
                f"{src}: the image size is not in the file; pass --image-size WIDTH HEIGHT"
            )
        start = time.perf_counter()
        res = lifter.lift(person["xy"], person["image_size"])
        seconds = time.perf_counter() - start
        target = (
            out if len(people) == 1 else out.with_name(f"{out.stem}_{person['name']}{out.suffix}")
        )
        meta = {
            "input": str(src),
            "input_mapping": person["mapping"],
            "image_size": list(person["image_size"]),
            "fps": person["fps"],
            "model": str(args.checkpoint or "default"),
            "sampler": {
                "sampler": d.sampler,
                "steps": d.sample_steps,
                "hypotheses": d.hypotheses,
                "init": d.init,
                "start_step": d.start_step,
            },  # fmt: skip
        }
        save_result(target, res, meta)
        n = len(res.pose3d)
        line = f"{person['name']}: {n} frames -> {target} (lifting {n / max(seconds, 1e-9):.1f} frames/s)"
        gt = person.get("gt3d")
        if gt is not None:
            gt = np.asarray(gt, dtype=np.float64)
            err = np.linalg.norm(res.pose3d - (gt - gt[:, :1]), axis=-1).mean() * 1000
            line += f" (MPJPE vs the sample's ground truth: {err:.1f} mm)"
        print(line)
        if args.render:
            from diffhpe.viz import render

            extra = {}
            if person.get("video"):  # draw the 2D skeleton over the video, re-read lazily
                from diffhpe.video import read_frames

                w, h = person["image_size"]
                extra = {"video_frames": read_frames(person["video"]),
                         "size": (2 * round(360 * w / h), 360)}  # fmt: skip
            render(
                args.render, res.pose3d, pose2d=person["xy"], image_size=person["image_size"],
                uncertainty=res.uncertainty, gt3d=gt, fps=args.fps or person["fps"] or 25,
                **extra,
            )  # fmt: skip
            print(f"rendered {args.render}")
        if args.html:
            from diffhpe.viz import write_html

            write_html(
                args.html, res.pose3d, pose2d=person["xy"], uncertainty=res.uncertainty,
                gt3d=gt, fps=person["fps"] or 50,
            )  # fmt: skip
            print(f"wrote {args.html}")
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    from diffhpe.evaluation import EvalOptions
    from diffhpe.shipping import ship

    opts = EvalOptions(
        split="test", data_root=args.data_root, batch_size=args.batch_size, cameras=args.cameras
    )
    sampling = {k: v for k, v in (("sampler", args.sampler), ("sample_steps", args.steps),
                                  ("eta", args.eta), ("hypotheses", args.hypotheses),
                                  ("clip_x0", args.clip_x0), ("init", args.init),
                                  ("start_step", args.start_step)) if v is not None}  # fmt: skip
    info = ship(
        args.run, out_dir=args.out, eval_opts=opts, progress=not args.quiet, sampling=sampling
    )
    m = info["test"]["metrics_mm"]["mpjpe"]["frame_weighted"]
    print(f"shipped {info['file']} ({info['bytes'] / 2**20:.1f} MB); test MPJPE {m:.1f} mm; "
          f"sample MPJPE {info['sample']['mpjpe_mm']:.1f} mm; card written")  # fmt: skip
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from diffhpe.export import export_onnx

    try:
        paths = export_onnx(args.checkpoint, args.onnx, batch=args.batch, opset=args.opset)
    except ImportError as e:  # onnxruntime missing: say how to install it
        print(f"diffhpe: error: {e}", file=sys.stderr)
        return 2
    for name, path in paths.items():
        print(f"{name:<9} {path} ({path.stat().st_size / 1024:.0f} kB)")
    print("checked against PyTorch in ONNX Runtime; see docs/EXPORT.md for the sampling loop")
    return 0


def _add_start_args(p: argparse.ArgumentParser, what: str = "") -> None:
    """``--init`` and ``--start-step``: where the reverse process starts."""
    p.add_argument(
        "--init",
        choices=["noise", "backbone"],
        default=None,
        help=f"{what}start of sampling: pure noise at step T-1 (the paper) or the wrapper's "
        "MixSTE estimate noised to --start-step (default: the checkpoint's)",
    )
    p.add_argument(
        "--start-step",
        type=int,
        default=None,
        help=f"{what}0-based step the backbone start is noised to (with --init backbone)",
    )


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
    b.add_argument(
        "--data-root",
        default=DEFAULT_DATA_ROOT,
        help="folder with the open mocap (default: %(default)s)",
    )
    b.add_argument("--out", default=DEFAULT_BENCHMARK, help="output folder (default: %(default)s)")
    b.add_argument(
        "--seed", type=int, default=0, help="seed of the detector noise (default: %(default)s)"
    )
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    b.set_defaults(func=cmd_data_build)
    sm = data_sub.add_parser(
        "sample", help="export a test clip's 2D (and 3D truth) as a small sample file"
    )
    sm.add_argument("--bench", default=DEFAULT_BENCHMARK)
    sm.add_argument("--subject", default="CMU03")
    sm.add_argument("--clip", default="03_03")
    sm.add_argument("--camera", default="60457274")
    sm.add_argument("--start", type=int, default=0)
    sm.add_argument("--length", type=int, default=400)
    sm.add_argument("--out", default="src/diffhpe/assets/samples/cmu03_03_walk.npz")
    sm.set_defaults(func=cmd_data_sample)

    t = sub.add_parser(
        "train",
        help="train MixSTE, DiffHPE-2D or DiffHPE-Wrapper",
        description="Train from a YAML preset or file, with key=value overrides "
        "(e.g. train.lr=1e-4 data.occlusion=mix). Runs under torchrun for DDP.",
    )
    t.add_argument("config", help="preset name (see `diffhpe presets`) or YAML file")
    t.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    t.add_argument("--out", help="output folder (overrides out_dir)")
    t.add_argument(
        "--resume", action="store_true", help="continue from OUT/last.safetensors exactly"
    )
    t.add_argument(
        "--stop-after", type=int, default=None, help="stop after this many steps (checkpointed)"
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate", help="evaluate a checkpoint: every metric, per action and overall"
    )
    e.add_argument("checkpoint")
    e.add_argument("--split", default="test")
    e.add_argument("--occlusion", default="none", help="test-time occlusion pattern or mixture")
    e.add_argument("--hypotheses", "-H", type=int, default=None, help="number of hypotheses H")
    e.add_argument("--sampler", choices=["ddpm", "ddim"], default=None)
    e.add_argument("--steps", type=int, default=None, help="DDIM steps K")
    e.add_argument("--eta", type=float, default=None)
    e.add_argument("--aggregation", choices=["mean", "median"], default=None)
    e.add_argument(
        "--clip-x0",
        type=float,
        default=None,
        help="clip predicted x0 to +-this (metres); 0 turns clipping off",
    )
    _add_start_args(e)
    e.add_argument("--batch-size", type=int, default=256)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--cameras", nargs="*", default=None, help="camera ids (default: all four)")
    e.add_argument("--stride", type=int, default=1, help="keep every k-th frame")
    e.add_argument(
        "--window-stride", type=int, default=1, help="keep every k-th window (full frame rate)"
    )
    e.add_argument("--max-windows", type=int, default=0, help="evaluate at most this many windows")
    e.add_argument("--data-root", default=None, help="dataset folder (default: the checkpoint's)")
    e.add_argument("--detector", default=None, help="2D file suffix, e.g. det or gt")
    e.add_argument("--oracle", action="store_true", help="also report the oracle-best upper bound")
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", default=None, help="write the summary as JSON here")
    e.add_argument("--quiet", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    lf = sub.add_parser(
        "lift",
        help="lift 2D keypoints (detector JSON, arrays, samples) or a video to 3D",
        description="Lift a 2D keypoint sequence to 3D with the shipped model (or --checkpoint). "
        "Writes .npz/.json with the 3D joints in metres (camera frame, root-relative) and the "
        "per-joint uncertainty.",
    )
    lf.add_argument(
        "input",
        help="keypoint file or folder (see diffhpe.formats), a diffhpe sample .npz, or a video "
        "(.mp4 .avi .mov .mkv .webm: 2D by MediaPipe Pose, needs diffhpe[video])",
    )
    lf.add_argument("-o", "--output", help="output .npz or .json (default: INPUT_3d.npz)")
    lf.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    lf.add_argument("--format", default=None, help="input format (default: detected)")
    lf.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), default=None)
    lf.add_argument("--score-threshold", type=float, default=0.3)
    lf.add_argument("--hypotheses", "-H", type=int, default=None)
    lf.add_argument("--sampler", choices=["ddpm", "ddim"], default=None)
    lf.add_argument("--steps", type=int, default=None)
    _add_start_args(lf)
    lf.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the denoiser (slow first batch; falls back with a warning)",
    )
    lf.add_argument("--render", default=None, help="also render a picture: .gif, .mp4 or .png")
    lf.add_argument("--html", default=None, help="also write an interactive offline .html viewer")
    lf.add_argument("--fps", type=float, default=None, help="frame rate of the rendered video")
    lf.add_argument(
        "--save-2d",
        default=None,
        metavar="PATH",
        help="video input: also save the detected 2D (.npz or MediaPipe .json) to lift again "
        "later without re-detecting",
    )
    lf.set_defaults(func=cmd_lift)

    sh = sub.add_parser(
        "ship", help="put a trained wrapper run inside the package, with its model card"
    )
    sh.add_argument("run", help="the wrapper's run folder (best.safetensors, last.safetensors)")
    sh.add_argument(
        "--out", default=None, help="output folder (default: the package's assets/models)"
    )
    sh.add_argument("--data-root", default=None)
    sh.add_argument("--batch-size", type=int, default=256)
    sh.add_argument("--cameras", nargs="*", default=None, help="test cameras (default: all four)")
    sh.add_argument(
        "--sampler", choices=["ddpm", "ddim"], default=None, help="default sampler shipped"
    )
    sh.add_argument("--steps", type=int, default=None, help="default DDIM steps shipped")
    sh.add_argument(
        "--eta",
        type=float,
        default=None,
        help="default DDIM eta shipped (0 deterministic, 1 stochastic)",
    )
    sh.add_argument("--hypotheses", "-H", type=int, default=None, help="default H shipped")
    sh.add_argument(
        "--clip-x0", type=float, default=None, help="default x0 clipping shipped (metres)"
    )
    _add_start_args(sh, "shipped ")
    sh.add_argument("--quiet", action="store_true")
    sh.set_defaults(func=cmd_ship)

    ex = sub.add_parser(
        "export",
        help="export a checkpoint's networks to ONNX (ONNX Runtime, TensorRT, ...)",
        description="Write backbone.onnx + denoiser.onnx (diffusion models) or mixste.onnx, "
        "with export.json (tensor names and shapes, schedule, sampler settings), and check "
        "each graph against PyTorch in ONNX Runtime. Needs: pip install 'diffhpe[onnx]'.",
    )
    ex.add_argument(
        "checkpoint", nargs="?", default="default", help="checkpoint, or 'default' (shipped model)"
    )
    ex.add_argument("--onnx", required=True, metavar="OUT_DIR", help="output folder")
    ex.add_argument("--batch", type=int, default=1, help="example batch traced; B stays dynamic")
    ex.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    ex.set_defaults(func=cmd_export)

    from diffhpe.experiments import add_experiment_parser

    add_experiment_parser(sub)

    pr = sub.add_parser("presets", help="list the training presets shipped with diffhpe")
    pr.set_defaults(func=cmd_presets)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError, ImportError) as e:
        print(f"diffhpe: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
