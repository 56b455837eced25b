"""The ``diffhpe`` command line: each subcommand maps to one plain function."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
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


def _per_person(path: Path, name: str, many: bool) -> Path:
    """The file of one person when the input has several: ``STEM_NAME.SUFFIX``."""
    return path.with_name(f"{path.stem}_{name}{path.suffix}") if many else path


def _scene(res, gt):  # noqa: ANN001, ANN202 - LiftResult, (T, 17, 3) or None
    """What the pictures show: the world-frame joints (the person moves over the floor)
    and the ground truth put at the estimated root, or the root-relative camera-frame
    joints when there is no trajectory. Returns (pose, gt, frame)."""
    import numpy as np

    if res.pose3d_world is None or not np.isfinite(res.pose3d_world).all():
        return res.pose3d, gt, "camera"
    if gt is not None:
        m = np.asarray(res.trajectory["world"]["camera_to_world"], dtype=np.float64)
        gt = (gt - gt[:, :1] + res.root_cam[:, None]) @ m[:3, :3].T + m[:3, 3]
    return res.pose3d_world, gt, "world"


def cmd_lift(args: argparse.Namespace) -> int:
    import time

    import numpy as np

    from diffhpe.formats import read_people
    from diffhpe.lifting import Lifter, save_result
    from diffhpe.safety import (
        atomic_path,
        check_distinct_outputs,
        check_keypoints,
        check_lift_memory,
        check_output_path,
    )
    from diffhpe.sampling import COMMAND_KEYS, SamplingOverride
    from diffhpe.video import VIDEO_SUFFIXES, is_video
    from diffhpe.viz.render import VIDEO_SUFFIXES as RENDER_SUFFIXES

    if args.input == "sample":  # the bundled open test clip
        from importlib import resources

        args.input = str(resources.files("diffhpe") / "assets" / "samples" / "cmu03_03_walk.npz")
        args.output = args.output or "walk_3d.npz"
    src = Path(args.input)
    if args.save_2d and not is_video(src):
        raise ValueError(f"--save-2d: only for a video input {VIDEO_SUFFIXES}, got {src}")
    # Flags and output paths first: nothing is read, loaded or lifted before they are fine.
    if args.fps is not None and not (np.isfinite(args.fps) and args.fps > 0):
        raise ValueError(f"--fps must be a number > 0, got {args.fps:g}")
    bvh = str(args.output or "").lower().endswith(".bvh")
    if args.fps is not None and not (args.render or args.html or bvh):
        raise ValueError(
            "--fps applies to --render and --html only, and to an -o .bvh output; add one or "
            "drop --fps"
        )
    if args.focal is not None and not (np.isfinite(args.focal) and args.focal > 0):
        raise ValueError(f"--focal must be a number of pixels > 0, got {args.focal:g}")
    if bvh:
        from diffhpe.io.bvh_export import require_scipy

        require_scipy()  # before any work
    check_sampling_flags(args)
    out = Path(args.output) if args.output else src.with_name(src.stem + "_3d.npz")
    check_output_path(out, "-o/--output", LIFT_SUFFIXES, inputs=[src])
    for flag, path, suffixes in (("--render", args.render, RENDER_SUFFIXES),
                                 ("--html", args.html, HTML_SUFFIXES),
                                 ("--save-2d", args.save_2d, SAVE_2D_SUFFIXES)):  # fmt: skip
        if path:
            check_output_path(path, flag, suffixes, inputs=[src])
    check_distinct_outputs({"-o/--output": out, "--render": args.render, "--html": args.html,
                            "--save-2d": args.save_2d})  # fmt: skip
    checkpoint = _resolve_checkpoint(args.checkpoint)
    cfg = _checkpoint_config(checkpoint)
    check_sampling_flags(args, cfg, _model_name(args.checkpoint))

    try:  # before loading the model: input errors come first
        people = read_people(
            src, format=args.format, score_threshold=args.score_threshold,
            image_size=tuple(args.image_size) if args.image_size else None,
            save_2d=args.save_2d, report=print,
        )  # fmt: skip
    except ValueError as e:  # the library names its arguments; name the flags
        raise ValueError(flag_names(str(e))) from None
    for person in people:
        if person["image_size"] is None:
            raise ValueError(
                f"{src}: the image size is not in the file; pass --image-size WIDTH HEIGHT"
            )
        check_keypoints(  # errors (and warnings) named by file, before the model loads
            person["xy"], person["image_size"], name=f"{src}" if len(people) == 1
            else f"{src} ({person['name']})",
            size_name="--image-size" if args.image_size else f"{src}: the image size",
        )  # fmt: skip
    lifter = Lifter.from_checkpoint(
        checkpoint, compile=args.compile, identity_check=not args.no_identity_check
    )
    lifter.diffusion = d = SamplingOverride.from_args(args).apply(lifter.diffusion)
    for person in people:  # memory of every person before lifting any
        check_lift_memory(lifter, len(person["xy"]), fix="use fewer hypotheses (-H)")
    many = len(people) > 1
    for person in people:
        start = time.perf_counter()
        with warnings.catch_warnings():  # said above, named by file: not twice
            warnings.filterwarnings("ignore", r"lift: in \d+ of \d+ frames", UserWarning)
            res = lifter.lift(
                person["xy"], person["image_size"], focal=args.focal or person.get("focal"),
                fps=person["fps"],
            )  # fmt: skip
        seconds = time.perf_counter() - start
        target = _per_person(out, person["name"], many)
        meta = {
            "input": str(src),
            "input_mapping": person["mapping"],
            "image_size": list(person["image_size"]),
            "fps": person["fps"],
            "model": str(args.checkpoint or "default"),
            "sampler": SamplingOverride.of(d).describe(COMMAND_KEYS["lift"]),
        }
        with atomic_path(target) as tmp:  # a failure never leaves half a file
            if target.suffix.lower() == ".bvh":
                from diffhpe.io.bvh_export import write_bvh

                write_bvh(tmp, res.pose3d_world, fps=args.fps or person["fps"] or 50)
            else:
                save_result(tmp, res, meta)
        n = len(res.pose3d)
        line = f"{person['name']}: {n} frames -> {target} (lifting {n / max(seconds, 1e-9):.1f} frames/s)"
        if np.isfinite(res.root_cam).all():
            line += f"; root {np.median(res.root_cam[:, 2]):.1f} m deep (median)"
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
            picture = _per_person(Path(args.render), person["name"], many)
            pose, gt_view, frame = _scene(res, gt)
            with atomic_path(picture) as tmp:
                render(
                    tmp, pose, pose2d=person["xy"], image_size=person["image_size"],
                    uncertainty=res.uncertainty_for_display(), gt3d=gt_view,
                    fps=args.fps or person["fps"] or 25, frame=frame, **extra,
                )  # fmt: skip
            print(f"rendered {picture}")
        if args.html:
            from diffhpe.viz import write_html

            page = _per_person(Path(args.html), person["name"], many)
            pose, gt_view, frame = _scene(res, gt)
            with atomic_path(page) as tmp:
                write_html(
                    tmp, pose, pose2d=person["xy"],
                    uncertainty=res.uncertainty_for_display(), gt3d=gt_view,
                    fps=args.fps or person["fps"] or 50, frame=frame,
                )  # fmt: skip
            print(f"wrote {page}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    from diffhpe.data.families import FAMILIES  # numpy only: torch stays unimported
    from diffhpe.sampling import SamplingOverride

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

    lf = sub.add_parser(
        "lift",
        help="lift 2D keypoints (detector JSON, arrays, samples) or a video to 3D",
        description="Lift a 2D keypoint sequence to 3D with the shipped model (or --checkpoint). "
        "Writes .npz/.json with the 3D joints in metres (camera frame, root-relative), the "
        "per-joint uncertainty, the root trajectory (root_cam) and the joints in a world frame "
        "on the floor (pose3d_world), or a .bvh animation. Output paths are checked before any "
        "work and written atomically.",
        **fmt,
    )
    lf.add_argument(
        "input",
        help="keypoint file or folder (see diffhpe.formats), a diffhpe sample .npz, 'sample' "
        "(the bundled walk), or a video (.mp4 .avi .mov .mkv .webm: 2D by MediaPipe Pose, "
        "needs diffhpe[video])",
    )
    lf.add_argument(
        "-o", "--output",
        help="output .npz or .json (3D joints, root trajectory, world-frame joints) or .bvh "
        "(animation of the world-frame joints, Y up, metres, for Blender; needs scipy: "
        "diffhpe[bvh]) (default: INPUT_3d.npz)",
    )  # fmt: skip
    lf.add_argument(
        "--focal", type=float, default=None, metavar="PIXELS",
        help="focal length of the camera in pixels, for the root trajectory (root_cam, "
        "pose3d_world, .bvh) (default: the input file's, else a guess for a 60-degree field "
        "of view across the longer image side: 0.866 x its pixels)",
    )  # fmt: skip
    lf.add_argument("--checkpoint", help="model checkpoint (default: the shipped model)")
    lf.add_argument("--format", default=None, help="input format (default: detected)")
    lf.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("W", "H"),
        default=None,
        help="width and height in pixels of the images the keypoints come from; needed when "
        "the file does not say (default: the file's)",
    )
    lf.add_argument(
        "--score-threshold",
        type=float,
        default=0.3,
        help="keypoints with a lower confidence count as missing",
    )
    SamplingOverride.add_arguments(lf, "lift")
    lf.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the denoiser (slow first batch; falls back with a warning)",
    )
    lf.add_argument(
        "--no-identity-check",
        action="store_true",
        help="keep keypoints that jump to someone else (default: masked, frames flagged "
        "identity_jump; docs/UNCERTAINTY.md)",
    )
    lf.add_argument(
        "--render", default=None, help="also render a picture: .gif, .mp4 or .png (default: none)"
    )
    lf.add_argument(
        "--html",
        default=None,
        help="also write an interactive offline .html viewer (default: none)",
    )
    lf.add_argument(
        "--fps",
        type=float,
        default=None,
        help="frame rate of --render, --html and a .bvh output (default: the input's, else 25, "
        "50 and 50)",
    )
    lf.add_argument(
        "--save-2d",
        default=None,
        metavar="PATH",
        help="video input: also save the detected 2D (.npz or MediaPipe .json) to lift again "
        "later without re-detecting (default: none)",
    )
    lf.set_defaults(func=cmd_lift)

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

    from diffhpe.experiments import add_experiment_parser

    add_experiment_parser(sub)

    pr = sub.add_parser("presets", help="list the training presets shipped with diffhpe")
    pr.set_defaults(func=cmd_presets)
    return p


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
