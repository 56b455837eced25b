"""How far off is the root trajectory? Root position and absolute MPJPE on the open benchmark.

Every clip of a split, seen by one Human3.6M camera, is lifted with the shipped model
(``Lifter.from_pretrained()``, its default sampling) from the detected 2D
(``data_2d_open_det.npz``) and from the exact 2D (``data_2d_open_gt.npz``). The root
translation is then estimated by :func:`diffhpe.trajectory.root_trajectory` with three
kinds of intrinsics:

- ``calibration``: the camera's K and lens distortion (Human3.6M calibration);
- ``focal``: only the focal length known (``--focal 1145``), principal point at the
  image centre, no distortion: what ``diffhpe lift --focal`` does;
- ``guess``: nothing known: the 60 degree field-of-view guess (f = 868 px here instead
  of 1145), principal point at the centre;

and, as a floor, ``oracle pose``: calibration intrinsics with the true root-relative
3D pose instead of the lifted one (the error left is the method's and the 2D's).

The truth is the camera-frame 3D the benchmark was rendered from (world joints through
the clip's extrinsics, as in ``diffhpe.data.dataset``). Reported, in mm: root position
error (mean, median, by true depth), depth error, absolute MPJPE (lifted joints + root
vs the true camera-frame joints), the root-relative MPJPE for reference; and of the
world frame: the angle between the fitted up and the true up, and the height error of
the joints above the floor.

Usage (writes benchmarks/results/root-trajectory.json; about 2 minutes on 2 cores)::

    python benchmarks/root_trajectory.py --split test --camera 54138969 \\
        --json benchmarks/results/root-trajectory.json

``--smooth-sweep`` additionally reports the error for several smoothing widths
(``smooth_s`` of the root's image direction / ``depth_smooth_s`` of its inverse depth;
the defaults were chosen with it on ``--split validation``; the test split only reports).
``--cache DIR`` keeps the lifted poses to rerun the evaluation without lifting again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from diffhpe.cameras import CAMERA_IDS, load_cameras
from diffhpe.hardware import environment
from diffhpe.io.videopose3d import load_2d, load_3d
from diffhpe.lifting import Lifter, pretrained_path
from diffhpe.trajectory import (
    DEFAULT_DEPTH_SMOOTH_S,
    DEFAULT_SMOOTH_S,
    Intrinsics,
    fit_world_frame,
    root_trajectory,
)

DEPTH_BINS = (0.0, 4.5, 5.0, 5.5, 6.0, 6.5, np.inf)  # metres, true root depth


def clips_of(root: Path, split: str, camera: str, detector: str) -> list[dict]:
    """Every clip of ``split`` seen by ``camera``: 2D pixels, true camera-frame 3D."""
    meta = json.loads((root / "benchmark.json").read_text(encoding="utf-8"))
    pos3d = load_3d(root / "data_3d_open.npz")
    pos2d, _ = load_2d(root / f"data_2d_open_{detector}.npz")
    ci = list(CAMERA_IDS).index(camera)
    out = []
    for subject in meta["splits"][split]:
        for clip, world in pos3d[subject].items():
            extr = meta["clips"][subject][clip]["extrinsics"]
            cam = load_cameras(extr)[camera]
            uv = pos2d[subject][clip][ci]
            n = min(len(uv), len(world))
            out.append({
                "name": f"{subject}/{clip}", "camera": cam,
                "uv": uv[:n].astype(np.float64),
                "cam3d": cam.world_to_camera(world[:n].astype(np.float64)),
                "world": world[:n].astype(np.float64),
            })  # fmt: skip
    return out


def lift_all(lifter: Lifter, clips: list[dict], cache: Path | None = None) -> float | None:
    """Lift every clip in place (``pose3d``); returns frames per second (None when every
    clip came from ``cache``, an .npz of earlier lifts of the same clips)."""
    if cache is not None and cache.exists():
        with np.load(cache) as f:
            if all(c["name"] in f for c in clips):
                for c in clips:
                    c["pose3d"] = f[c["name"]].astype(np.float64)
                return None
    t0 = time.perf_counter()
    frames = 0
    for c in clips:
        cam = c["camera"]
        c["pose3d"] = lifter.lift(c["uv"], (cam.width, cam.height)).pose3d.astype(np.float64)
        frames += len(c["uv"])
    speed = frames / (time.perf_counter() - t0)
    if cache is not None:
        np.savez(cache, **{c["name"]: c["pose3d"].astype(np.float32) for c in clips})
    return speed


def intrinsics_of(kind: str, cam) -> Intrinsics:  # noqa: ANN001
    if kind in ("calibration", "oracle pose"):
        return Intrinsics.from_camera(cam)
    if kind == "focal":
        return Intrinsics.from_image((cam.width, cam.height), focal=float(cam.K[0, 0]))
    return Intrinsics.from_image((cam.width, cam.height))


def evaluate(
    clips: list[dict],
    kind: str,
    fps: float,
    smooth_s: float = DEFAULT_SMOOTH_S,
    depth_smooth_s: float = DEFAULT_DEPTH_SMOOTH_S,
) -> dict:
    """Pool every frame of every clip: root, depth, absolute MPJPE, world-frame errors."""
    root_err, depth_err, depth_true, abs_err, rel_err, raw_err = [], [], [], [], [], []
    up_err, height_err, floor_off, methods = [], [], [], []
    for c in clips:
        cam, gt = c["camera"], c["cam3d"]
        gt_rel = gt - gt[:, :1]
        pose = gt_rel if kind == "oracle pose" else c["pose3d"]
        tr = root_trajectory(
            pose, c["uv"], (cam.width, cam.height), intrinsics=intrinsics_of(kind, cam),
            fps=fps, smooth_s=smooth_s, depth_smooth_s=depth_smooth_s,
        )  # fmt: skip
        root, true_root = tr.root_cam, gt[:, 0]
        root_err.append(np.linalg.norm(root - true_root, axis=-1))
        raw = np.where(np.isfinite(tr.raw), tr.raw, root)  # frames with no own estimate
        raw_err.append(np.linalg.norm(raw - true_root, axis=-1))
        depth_err.append(root[:, 2] - true_root[:, 2])
        depth_true.append(true_root[:, 2])
        absolute = pose + root[:, None]
        abs_err.append(np.linalg.norm(absolute - gt, axis=-1).mean(-1))
        rel_err.append(np.linalg.norm(pose - gt_rel, axis=-1).mean(-1))
        wf = tr.world if tr.world is not None else fit_world_frame(absolute)
        true_up = cam.R @ np.array([0.0, 0.0, 1.0])  # world z in camera coordinates
        up_err.append(np.degrees(np.arccos(np.clip(wf.up_cam @ true_up, -1, 1))))
        dh = wf.apply(absolute)[..., 2] - c["world"][..., 2]  # (T, J) metres
        offset = float(np.median(dh))  # where the clip's floor is put vs the mocap's z = 0
        height_err.append(np.abs(dh - offset).mean(-1))
        floor_off.append(offset)
        methods.append(wf.method)
    root_e, dz, z = np.concatenate(root_err), np.concatenate(depth_err), np.concatenate(depth_true)
    a, r, h = np.concatenate(abs_err), np.concatenate(rel_err), np.concatenate(height_err)
    by_depth = []
    for lo, hi in zip(DEPTH_BINS[:-1], DEPTH_BINS[1:], strict=True):
        m = (z >= lo) & (z < hi)
        if m.any():
            by_depth.append({
                "depth_m": f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">={lo:g}",
                "frames": int(m.sum()),
                "root_mm_mean": float(1000 * root_e[m].mean()),
                "root_mm_median": float(1000 * np.median(root_e[m])),
                "depth_bias_mm": float(1000 * dz[m].mean()),
                "abs_mpjpe_mm": float(1000 * a[m].mean()),
            })  # fmt: skip
    ups = np.asarray(up_err)
    return {
        "intrinsics": kind,
        "smooth_s": smooth_s,
        "depth_smooth_s": depth_smooth_s,
        "frames": int(len(root_e)),
        "root_mm_mean": float(1000 * root_e.mean()),
        "root_mm_median": float(1000 * np.median(root_e)),
        "root_mm_unsmoothed_mean": float(1000 * np.concatenate(raw_err).mean()),
        "depth_abs_mm_mean": float(1000 * np.abs(dz).mean()),
        "depth_bias_mm": float(1000 * dz.mean()),
        "depth_rel_error_pct_median": float(100 * np.median(np.abs(dz) / z)),
        "abs_mpjpe_mm": float(1000 * a.mean()),
        "rel_mpjpe_mm": float(1000 * r.mean()),
        "up_angle_deg_median": float(np.median(ups)),
        "up_angle_deg_mean": float(ups.mean()),
        "height_mm_mean": float(1000 * h.mean()),
        "floor_offset_mm_median": float(1000 * np.median(np.abs(floor_off))),
        "world_method_floor_clips": int(sum(m == "floor" for m in methods)),
        "clips": len(clips),
        "by_depth": by_depth,
    }


def print_row(label: str, r: dict) -> None:
    print(
        f"{label:<34} root {r['root_mm_mean']:7.1f} mm (median {r['root_mm_median']:6.1f}, "
        f"unsmoothed {r['root_mm_unsmoothed_mean']:6.1f}) depth bias {r['depth_bias_mm']:+7.1f} "
        f"abs MPJPE {r['abs_mpjpe_mm']:7.1f} rel {r['rel_mpjpe_mm']:6.1f} "
        f"up {r['up_angle_deg_median']:4.1f} deg height {r['height_mm_mean']:6.1f} mm "
        f"floor {r['floor_offset_mm_median']:5.1f} mm"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-root", default="data/open")
    p.add_argument("--split", default="test")
    p.add_argument("--camera", default="54138969")
    p.add_argument("--detectors", nargs="+", default=["det", "gt"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--smooth-sweep", action="store_true", help="also try several smooth_s")
    p.add_argument("--json", default=None)
    p.add_argument("--cache", default=None, help="folder for the lifted poses (reused if there)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    root = Path(args.data_root)
    fps = float(json.loads((root / "benchmark.json").read_text(encoding="utf-8"))["fps"])
    lifter = Lifter.from_pretrained()
    out = {
        "benchmark": "root-trajectory",
        "command": "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]),
        "checkpoint": str(pretrained_path()),
        "split": args.split,
        "camera": args.camera,
        "fps": fps,
        "environment": environment("cpu"),
        "results": {},
    }  # fmt: skip
    for det in args.detectors:
        clips = clips_of(root, args.split, args.camera, det)
        cache = None
        if args.cache:
            Path(args.cache).mkdir(parents=True, exist_ok=True)
            cache = Path(args.cache) / f"{args.split}-{args.camera}-{det}.npz"
        speed = lift_all(lifter, clips, cache)
        how = "from the cache" if speed is None else f"at {speed:.0f} frames/s"
        print(f"{det}: {len(clips)} clips, {sum(len(c['uv']) for c in clips)} frames, lifted {how}")
        rows = []
        for kind in ("calibration", "focal", "guess", "oracle pose"):
            r = evaluate(clips, kind, fps)
            print_row(f"{det} {kind}", r)
            rows.append(r)
        if args.smooth_sweep:
            for s, sz in (
                (0.0, 0.0),
                (0.05, 0.0),
                (0.1, 0.1),
                (0.05, 0.3),
                (0.05, 0.5),
                (0.05, 0.7),
                (0.05, 1.0),
                (0.1, 0.7),
            ):
                r = evaluate(clips, "calibration", fps, s, sz)
                print_row(f"{det} calibration smooth {s:g}/{sz:g} s", r)
                rows.append(r)
        out["results"][det] = {"lift_frames_per_s": speed, "rows": rows}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
