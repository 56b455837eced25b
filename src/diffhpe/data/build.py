"""``diffhpe data build``: the open benchmark from real motion capture.

The clips and their splits (the protocol, or a split file) are planned by
:mod:`diffhpe.data.clips`, each clip is rendered by :mod:`diffhpe.data.render_clips`
(read at 50 Hz, placed in the Human3.6M capture volume, projected, detector noise);
this module writes the benchmark and its summary. Their names are importable from here
too.

Outputs, in the VideoPose3D layout (subjects are performers, e.g. ``CMU01``,
``HDM_dg``; actions are clip ids):

- ``data_3d_open.npz``: world positions (N, 17, 3) metres.
- ``data_2d_open_gt.npz``: exact projections (N, 17, 2) pixels, per camera.
- ``data_2d_open_det.npz``: detected-like 2D from the fitted Stacked Hourglass noise
  model; joints that leave the image are NaN there (no detector sees them).
- ``benchmark.json``: splits, per-clip action names, extrinsics, frames outside the
  image, the noise model and its achieved statistics beside the measured targets.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from diffhpe.cameras import CAMERA_IDS
from diffhpe.data.clips import (
    EXTRINSICS,
    SPLITS,
    Clip,
    check_splits,
    discover_clips,
    plan_clips,
    read_split_file,
    split_of,
)
from diffhpe.data.noise import DetectorNoiseModel, compare_table, noise_statistics, noise_targets
from diffhpe.data.render_clips import (
    FPS,
    VIRTUAL_SEED,
    RenderedClip,
    place_in_volume,
    render_all,
    render_clip,
)
from diffhpe.data.virtual import MIN_INSIDE, SETUPS
from diffhpe.io.videopose3d import save_2d, save_3d

# Re-exported: the clips and splits live in diffhpe.data.clips, the rendering in
# diffhpe.data.render_clips.
__all__ = [
    "AC_MIN_FRAMES",
    "BUILD_ONLY_FIELDS",
    "EXTRINSICS",
    "FPS",
    "NOISE_JSON",
    "SPLITS",
    "SUMMARY_KEYS",
    "VIRTUAL_SEED",
    "Clip",
    "RenderedClip",
    "benchmark_digest",
    "build_benchmark",
    "check_splits",
    "discover_clips",
    "export_sample",
    "format_summary",
    "place_in_volume",
    "plan_clips",
    "read_split_file",
    "render_clip",
    "split_of",
]

NOISE_JSON = Path("detector_noise") / "stacked_hourglass_h36m.json"
AC_MIN_FRAMES = 1000
SUMMARY_KEYS = [
    "median_err_excl_px", "mean_err_excl_head_spine_px", "f20_excl", "f50_excl",
    "median_err_excl_h", "ac1", "ac5", "ac25", "bbox_h_median", "common_mode_var_frac",
    *(f"conf_any_if_sep20/{p}" for p in ("Hip", "Knee", "Ankle", "Shoulder", "Elbow", "Wrist")),
]  # fmt: skip


def build_benchmark(
    data_root: str | Path,
    out_dir: str | Path,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    virtual_cameras: int = 0,
    splits: str | Path | Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """Build the open benchmark into ``out_dir``; returns the summary written to benchmark.json.

    ``virtual_cameras`` > 0 builds the virtual-camera variant: each clip seen by that many
    drawn cameras (stored per clip in ``benchmark.json``) instead of Human3.6M's four.
    ``splits``: a split file or mapping (:func:`read_split_file`) instead of the protocol;
    clips found in no split are listed in the summary's ``skipped``."""
    if virtual_cameras < 0:
        raise ValueError(f"virtual_cameras must be >= 0, got {virtual_cameras}")
    t0 = time.time()
    data_root, out_dir = Path(data_root), Path(out_dir)
    clips, skipped = plan_clips(data_root, splits)  # before any rendering: names checked
    noise_json = data_root / NOISE_JSON
    noise = DetectorNoiseModel.from_json(noise_json)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)

    pos3d: dict[str, dict[str, np.ndarray]] = {}
    pos_gt: dict[str, dict[str, list[np.ndarray]]] = {}
    pos_det: dict[str, dict[str, list[np.ndarray]]] = {}
    clip_meta: dict[str, dict[str, dict]] = {}
    frames = {s: 0 for s in SPLITS}
    outside = {s: {"frames": 0, "joint_frames": 0, "camera_frames": 0} for s in SPLITS}
    gts_for_stats: list[np.ndarray] = []
    dets_for_stats: list[np.ndarray] = []
    bar = tqdm(total=len(clips), desc="render clips", unit="clip", disable=not progress)
    n_views = virtual_cameras or len(CAMERA_IDS)
    for r in render_all(clips, noise, seed, workers, virtual_cameras):
        c = r.clip
        pos3d.setdefault(c.subject, {})[c.clip_id] = r.world
        pos_gt.setdefault(c.subject, {})[c.clip_id] = r.gt2d
        pos_det.setdefault(c.subject, {})[c.clip_id] = r.det2d
        n = r.world.shape[0]
        frames[c.split] += n
        outside[c.split]["frames"] += sum(r.frames_outside)
        outside[c.split]["joint_frames"] += sum(r.joints_outside)
        outside[c.split]["camera_frames"] += n * n_views
        meta = asdict(c)
        meta.update(frames=n, frames_outside_per_camera=r.frames_outside)
        if r.cameras:
            meta["cameras"] = r.cameras
        clip_meta.setdefault(c.subject, {})[c.clip_id] = meta
        gts_for_stats.extend(r.gt2d)
        dets_for_stats.extend(r.det2d)
        bar.update(1)
    bar.close()

    out_dir.mkdir(parents=True, exist_ok=True)
    save_3d(out_dir / "data_3d_open.npz", pos3d)
    save_2d(out_dir / "data_2d_open_gt.npz", pos_gt)
    save_2d(out_dir / "data_2d_open_det.npz", pos_det)

    # Autocorrelations over takes as long as Human3.6M's (see noise_statistics).
    achieved = noise_statistics(gts_for_stats, dets_for_stats, min_ac_frames=AC_MIN_FRAMES)
    targets = noise_targets(noise_json)
    summary = {
        "format": "diffhpe-open-benchmark/1",
        "seed": seed,
        "fps": FPS,
        "data_root": str(data_root.resolve()),
        "splits": {s: list(v) for s, v in SPLITS.items()}
        if splits is None
        else {s: list(dict.fromkeys(c.subject for c in clips if c.split == s)) for s in SPLITS},
        "split_file": str(splits) if isinstance(splits, (str, Path)) else None,
        "skipped": skipped,
        "extrinsics": {s: list(v) for s, v in EXTRINSICS.items()},
        "frames": frames,
        "camera_frames": {s: frames[s] * n_views for s in SPLITS},
        "clips_per_split": {s: sum(c.split == s for c in clips) for s in SPLITS},
        "outside_image": outside,
        "noise_model": noise.to_dict(),
        "noise_achieved": achieved,
        "noise_targets": targets,
        "clips": clip_meta,
        "build_seconds": round(time.time() - t0, 1),
    }
    if virtual_cameras:
        summary["virtual_cameras"] = {
            "per_clip": virtual_cameras, "seed": VIRTUAL_SEED, "min_inside": MIN_INSIDE,
            "setups": [asdict(s) for s in SETUPS],
        }  # fmt: skip
    _atomic_write_json(out_dir / "benchmark.json", summary)
    return summary


# benchmark.json fields that describe a build, not its data: the wall time, where the
# source folder was on that machine, and the folders no split used.
BUILD_ONLY_FIELDS: tuple[str, ...] = ("build_seconds", "data_root", "skipped")


def benchmark_digest(path: str | Path) -> str:
    """SHA-256 of a ``benchmark.json`` without :data:`BUILD_ONLY_FIELDS` (canonical JSON):
    two builds of the same data on any machine get the same digest, so evaluations cached
    against one are reused with the other."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: cannot read the benchmark description ({e})") from e
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a benchmark description must be a JSON object")
    data = {k: v for k, v in doc.items() if k not in BUILD_ONLY_FIELDS}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _atomic_write_json(path: Path, obj: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, default=_json_default)
    os.replace(tmp, path)


def _json_default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def format_summary(summary: dict) -> str:
    """Readable build report: frames per split, frames outside the image, noise figures."""
    v = summary.get("virtual_cameras")
    seen_by = f"{v['per_clip']} virtual cameras per clip" if v else "4 Human3.6M cameras"
    lines = [f"Open benchmark (50 Hz, {seen_by})", ""]
    lines.append(f"{'split':<11} {'clips':>6} {'frames':>9} {'cam-frames':>11} {'outside %':>10}")
    for s in SPLITS:
        o = summary["outside_image"][s]
        pct = 100.0 * o["frames"] / max(o["camera_frames"], 1)
        lines.append(
            f"{s:<11} {summary['clips_per_split'][s]:>6} {summary['frames'][s]:>9} "
            f"{summary['camera_frames'][s]:>11} {pct:>9.2f}%"
        )
    if summary.get("split_file"):
        lines.append(
            f"\nsplits from {summary['split_file']}: "
            + "; ".join(f"{s} {', '.join(v) or '-'}" for s, v in summary["splits"].items())
        )
    skipped = summary.get("skipped") or []
    if skipped:
        lines.append(
            f"skipped (found, in no split): {sum(k['clips'] for k in skipped)} clips: "
            + ", ".join(f"{k['folder']} ({k['subject']}, {k['clips']} clips)" for k in skipped)
        )
    lines += ["", "(outside %: camera-frames with at least one joint outside the image; "
              "those joints are NaN in the detected 2D)", ""]  # fmt: skip
    lines.append("Detector noise, achieved vs measured (Stacked Hourglass on Human3.6M):")
    lines.append(compare_table(summary["noise_achieved"], summary["noise_targets"], SUMMARY_KEYS))
    lines.append(
        "\n(errors over the 14 joints without Spine/Head definition offsets; swap rates among "
        f"frames whose sides are >= 20 px apart; autocorrelations over takes >= {AC_MIN_FRAMES} "
        "frames; every figure, per joint too, is in benchmark.json)"
    )
    lines.append(f"\nbuilt in {summary['build_seconds']} s")
    return "\n".join(lines)


def export_sample(
    bench_root: str | Path,
    subject: str,
    clip: str,
    camera: str,
    start: int,
    length: int,
    out: str | Path,
) -> Path:
    """Write a bundled sample: detected 2D (pixels) of one test clip seen by one camera,
    with its ground-truth 3D (camera frame, root-relative metres), as a plain ``.npz``
    (no pickles): ``keypoints (N, 17, 2)``, ``image_size (2,)``, ``gt3d (N, 17, 3)``,
    ``focal ()`` (the camera's focal length, px), ``fps ()``, ``source (str)``."""
    from diffhpe.cameras import load_cameras
    from diffhpe.io.videopose3d import load_2d, load_3d

    root = Path(bench_root)
    meta = json.loads((root / "benchmark.json").read_text(encoding="utf-8"))
    info = meta["clips"][subject][clip]
    if info["split"] != "test":
        raise ValueError(
            f"{subject}/{clip} is in the {info['split']} split; samples come from the test split"
        )
    cams = load_cameras(info["extrinsics"])
    ci = CAMERA_IDS.index(camera)
    det = load_2d(root / "data_2d_open_det.npz")[0][subject][clip][ci][start : start + length]
    world = load_3d(root / "data_3d_open.npz")[subject][clip][start : start + length].astype(
        np.float64
    )
    cam = cams[camera]
    x3d = cam.world_to_camera(world)
    x3d -= x3d[:, :1]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    source = (
        f"open benchmark (seed {meta.get('seed', 0)}) test clip {subject}/{clip} ({info['action']}), "
        f"frames {start}-{start + len(det) - 1} at 50 Hz, camera {camera} with {info['extrinsics']} "
        "extrinsics; motion: CMU Graphics Lab Motion Capture Database (mocap.cs.cmu.edu, NSF EIA-0196217) "
        "or HDM05 (CC BY-SA 3.0)"
    )
    np.savez_compressed(
        out,
        keypoints=det.astype(np.float32),
        image_size=np.array([cam.width, cam.height], dtype=np.int64),
        gt3d=x3d.astype(np.float32),
        focal=np.array(float(cam.K[0, 0])),  # px: lets `diffhpe lift` place the root in depth
        fps=np.array(FPS),
        source=np.array(source),
    )
    return out
