"""``diffhpe lift``: 2D keypoints or a video to 3D, with pictures and a viewer."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from diffhpe.cli.common import (
    HTML_SUFFIXES,
    LIFT_SUFFIXES,
    SAVE_2D_SUFFIXES,
    _checkpoint_config,
    _model_name,
    _resolve_checkpoint,
    check_sampling_flags,
    flag_names,
)


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


def add_parser(sub: Any, fmt: dict[str, Any]) -> None:
    """The ``lift`` command."""
    from diffhpe.sampling import SamplingOverride

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
