"""``diffhpe data build``: the open benchmark from real motion capture.

Protocol (``../shared/data/README.md``): split by person, like Human3.6M's
S1/S5/S6/S7/S8 versus S9/S11.

- train: CMU 01, 02, 08-13, 131; HDM05 bd, bk
- validation (selection only): CMU 14
- test (reported numbers only): CMU 03; HDM05 dg

Every clip is read at 120 Hz, resampled to Human3.6M's 50 Hz, turned about the vertical
axis by a seeded random yaw, and placed with its mean pelvis position over the point
where the four Human3.6M cameras' optical axes meet, feet on the floor (z = 0). It is
rendered through the four real Human3.6M cameras. Extrinsics: Human3.6M recalibrated
the same four cameras for every subject; train clips cycle through the extrinsics of
S1, S5, S6, S7, S8 (Human3.6M's training subjects), validation clips use S9 and test
clips S11, so the test views are calibrations no training clip was rendered with.

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

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from diffhpe.cameras import CAMERA_IDS, capture_volume_center, load_cameras
from diffhpe.data.noise import DetectorNoiseModel, compare_table, noise_statistics, noise_targets
from diffhpe.io.mocap import load_motion
from diffhpe.io.videopose3d import save_2d, save_3d

FPS = 50.0
SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "CMU01", "CMU02", "CMU08", "CMU09", "CMU10", "CMU11", "CMU12", "CMU13", "CMU131",
        "HDM_bd", "HDM_bk",
    ),
    "validation": ("CMU14",),
    "test": ("CMU03", "HDM_dg"),
}  # fmt: skip
EXTRINSICS: dict[str, tuple[str, ...]] = {
    "train": ("S1", "S5", "S6", "S7", "S8"),
    "validation": ("S9",),
    "test": ("S11",),
}
NOISE_JSON = Path("detector_noise") / "stacked_hourglass_h36m.json"
AC_MIN_FRAMES = 1000
SUMMARY_KEYS = [
    "median_err_excl_px", "mean_err_excl_head_spine_px", "f20_excl", "f50_excl",
    "median_err_excl_h", "ac1", "ac5", "ac25", "bbox_h_median", "common_mode_var_frac",
    *(f"conf_any_if_sep20/{p}" for p in ("Hip", "Knee", "Ankle", "Shoulder", "Elbow", "Wrist")),
]  # fmt: skip


@dataclass
class Clip:
    """One motion file of the open data and where it goes in the benchmark."""

    subject: str
    clip_id: str
    path: str
    asf: str | None
    split: str
    action: str
    extrinsics: str = ""
    yaw_deg: float = 0.0
    index: int = 0


def split_of(subject: str) -> str:
    for split, subjects in SPLITS.items():
        if subject in subjects:
            return split
    raise KeyError(f"subject {subject!r} is in no split of the protocol")


def _cmu_index(root: Path) -> dict[str, str]:
    """Clip id -> description, from ``cmu_bvh_daz/CMU-INDEX.md`` and 131's SOURCE.md."""
    names: dict[str, str] = {}
    for f in (root / "cmu_bvh_daz" / "CMU-INDEX.md", root / "cmu_bvh_131" / "SOURCE.md"):
        if f.exists():
            for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
                m = re.match(r"^\s*(\d+_\d+)\s+(.+?)\s*$", line)
                if m:
                    names.setdefault(m.group(1), m.group(2))
    return names


def discover_clips(root: str | Path) -> list[Clip]:
    """Every clip of the protocol found under ``root`` (``../shared/data``), sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist (expected ../shared/data)")
    index = _cmu_index(root)
    clips: list[Clip] = []

    def add(subject: str, clip_id: str, path: Path, asf: Path | None, action: str) -> None:
        if subject in {s for ss in SPLITS.values() for s in ss}:
            clips.append(
                Clip(
                    subject,
                    clip_id,
                    str(path),
                    str(asf) if asf else None,
                    split_of(subject),
                    action,
                )
            )

    for d in sorted((root / "cmu_asfamc").glob("*")):
        asfs = sorted(d.glob("*.asf"))
        for amc in sorted(d.glob("*.amc")):
            add(
                f"CMU{d.name}",
                amc.stem,
                amc,
                asfs[0] if asfs else None,
                index.get(amc.stem, "unknown"),
            )
    for d in sorted((root / "hdm05").glob("*")):
        asfs = sorted(d.glob("*.asf"))
        for amc in sorted(d.glob("*.amc")):
            # HDM_bd_kickRSide2Reps_003_120 -> action kickRSide2Reps, clip id without rate
            parts = amc.stem.split("_")
            action = parts[2] if len(parts) > 2 else amc.stem
            clip_id = "_".join(parts[:-1]) if parts[-1] == "120" else amc.stem
            add(f"HDM_{d.name}", clip_id, amc, asfs[0] if asfs else None, action)
    for d in sorted((root / "cmu_bvh_daz").glob("*")):
        for bvh in sorted(d.glob("*.bvh")):
            add(f"CMU{d.name}", bvh.stem, bvh, None, index.get(bvh.stem, "unknown"))
    for bvh in sorted((root / "cmu_bvh_131").glob("*.bvh")):
        add("CMU131", bvh.stem, bvh, None, index.get(bvh.stem, "unknown"))
    if not clips:
        raise FileNotFoundError(
            f"{root}: no motion clips found (expected cmu_asfamc/, hdm05/, cmu_bvh_*)"
        )
    rng = np.random.default_rng(12345)  # placement only; independent of the noise seed
    counters: dict[str, int] = {}
    for i, c in enumerate(clips):
        k = counters.get(c.split, 0)
        counters[c.split] = k + 1
        pool = EXTRINSICS[c.split]
        c.extrinsics = pool[k % len(pool)]
        c.yaw_deg = float(rng.uniform(-180, 180))
        c.index = i
    return clips


def place_in_volume(world: np.ndarray, yaw_deg: float, center: np.ndarray) -> np.ndarray:
    """(N, J, 3) z-up metres, floor at 0 -> turned by ``yaw`` and centred on ``center``."""
    a = np.deg2rad(yaw_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    x = world @ rot.T
    offset = center.copy()
    offset[:2] -= x[:, 0, :2].mean(0)
    offset[2] = 0.0  # the reader already put the floor at z = 0
    return x + offset


@dataclass
class RenderedClip:
    clip: Clip
    world: np.ndarray  # (N, 17, 3) float32
    gt2d: list[np.ndarray]  # per camera (N, 17, 2)
    det2d: list[np.ndarray]  # per camera (N, 17, 2), NaN outside the image
    frames_outside: list[int]  # per camera: frames with at least one joint outside
    joints_outside: list[int]  # per camera: joint-frames outside


def render_clip(clip: Clip, noise: DetectorNoiseModel, seed: int) -> RenderedClip:
    """Read, place, project and add detector noise to one clip (deterministic)."""
    motion = load_motion(clip.path, asf=clip.asf, fps_out=FPS)
    cams = load_cameras(clip.extrinsics)
    world = place_in_volume(motion.positions, clip.yaw_deg, capture_volume_center(cams))
    gts, dets, f_out, j_out = [], [], [], []
    for ci, cid in enumerate(CAMERA_IDS):
        cam = cams[cid]
        uv = cam.project_world(world)
        inside = cam.inside_image(uv)
        rng = np.random.default_rng([seed, clip.index, ci])
        det = noise.sample(uv, rng)
        det[~inside] = np.nan
        gts.append(uv.astype(np.float32))
        dets.append(det.astype(np.float32))
        f_out.append(int((~inside).any(1).sum()))
        j_out.append(int((~inside).sum()))
    return RenderedClip(clip, world.astype(np.float32), gts, dets, f_out, j_out)


def _render_job(args: tuple[Clip, dict, int]) -> RenderedClip:
    clip, noise_params, seed = args
    return render_clip(clip, DetectorNoiseModel.from_dict(noise_params), seed)


def _render_all(
    clips: list[Clip], noise: DetectorNoiseModel, seed: int, workers: int
) -> Iterator[RenderedClip]:
    jobs = [(c, noise.to_dict(), seed) for c in clips]
    if workers <= 1:
        yield from map(_render_job, jobs)
        return
    with ProcessPoolExecutor(workers) as ex:
        yield from ex.map(_render_job, jobs, chunksize=2)


def build_benchmark(
    data_root: str | Path,
    out_dir: str | Path,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Build the open benchmark into ``out_dir``; returns the summary written to benchmark.json."""
    t0 = time.time()
    data_root, out_dir = Path(data_root), Path(out_dir)
    clips = discover_clips(data_root)
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
    for r in _render_all(clips, noise, seed, workers):
        c = r.clip
        pos3d.setdefault(c.subject, {})[c.clip_id] = r.world
        pos_gt.setdefault(c.subject, {})[c.clip_id] = r.gt2d
        pos_det.setdefault(c.subject, {})[c.clip_id] = r.det2d
        n = r.world.shape[0]
        frames[c.split] += n
        outside[c.split]["frames"] += sum(r.frames_outside)
        outside[c.split]["joint_frames"] += sum(r.joints_outside)
        outside[c.split]["camera_frames"] += n * len(CAMERA_IDS)
        meta = asdict(c)
        meta.update(frames=n, frames_outside_per_camera=r.frames_outside)
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
        "splits": {s: list(v) for s, v in SPLITS.items()},
        "extrinsics": {s: list(v) for s, v in EXTRINSICS.items()},
        "frames": frames,
        "camera_frames": {s: frames[s] * len(CAMERA_IDS) for s in SPLITS},
        "clips_per_split": {s: sum(c.split == s for c in clips) for s in SPLITS},
        "outside_image": outside,
        "noise_model": noise.to_dict(),
        "noise_achieved": achieved,
        "noise_targets": targets,
        "clips": clip_meta,
        "build_seconds": round(time.time() - t0, 1),
    }
    _atomic_write_json(out_dir / "benchmark.json", summary)
    return summary


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
    lines = ["Open benchmark (50 Hz, 4 Human3.6M cameras)", ""]
    lines.append(f"{'split':<11} {'clips':>6} {'frames':>9} {'cam-frames':>11} {'outside %':>10}")
    for s in SPLITS:
        o = summary["outside_image"][s]
        pct = 100.0 * o["frames"] / max(o["camera_frames"], 1)
        lines.append(
            f"{s:<11} {summary['clips_per_split'][s]:>6} {summary['frames'][s]:>9} "
            f"{summary['camera_frames'][s]:>11} {pct:>9.2f}%"
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
    ``fps ()``, ``source (str)``."""
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
        fps=np.array(FPS),
        source=np.array(source),
    )
    return out
