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

Split file (``diffhpe data build --splits FILE``, ``build_benchmark(splits=...)``):
another partition of the folders found, e.g. a new test set. YAML or JSON, each split a
list of names; an absent split is empty::

    train: [CMU01, CMU02, cmu_bvh_daz/08, HDM_bd]  # subjects or folders
    validation: [CMU14]
    test: [CMU03, "HDM_dg_kickLFront1Reps_013"]  # clip ids pick single clips

A name is a subject (``CMU03``, ``HDM_dg``, ``CMU131``), a folder under the data root
(``cmu_asfamc/03``, ``hdm05/dg``, ``cmu_bvh_daz/14``, ``cmu_bvh_131``), a clip id
(``03_01``) or ``SUBJECT/CLIP``. Unknown names are errors listing the subjects and
folders found; a clip may be in one split only, and a subject's clips all in the same
split (the benchmark splits by person). Clips found but in no split are skipped and
reported (``skipped`` in ``benchmark.json`` and the printed summary), with the
protocol too. Quote clip ids in YAML (``'03_01'``), which would read them as numbers.

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
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from diffhpe.cameras import CAMERA_IDS, Camera, capture_volume_center, load_cameras
from diffhpe.data.noise import DetectorNoiseModel, compare_table, noise_statistics, noise_targets
from diffhpe.data.virtual import MIN_INSIDE, SETUPS, sample_virtual_camera
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
VIRTUAL_SEED = 2024  # seed of the drawn virtual cameras (fixed: a comparable test split)
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


def discover_clips(
    root: str | Path, splits: str | Path | Mapping[str, Sequence[str]] | None = None
) -> list[Clip]:
    """Every clip of the protocol (or of a split file, see :func:`plan_clips`) found
    under ``root`` (``../shared/data``), sorted."""
    return plan_clips(root, splits)[0]


def _find_clips(root: Path) -> list[tuple[Clip, str]]:
    """Every motion clip under ``root`` with its folder (relative, e.g. ``cmu_asfamc/01``);
    ``split`` is left empty."""
    index = _cmu_index(root)
    found: list[tuple[Clip, str]] = []

    def add(subject: str, clip_id: str, path: Path, asf: Path | None, action: str) -> None:
        clip = Clip(subject, clip_id, str(path), str(asf) if asf else None, "", action)
        found.append((clip, path.parent.relative_to(root).as_posix()))

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
    return found


def read_split_file(path: str | Path) -> dict[str, list[str]]:
    """A split file (YAML, or JSON): ``{train: [...], validation: [...], test: [...]}``
    naming subjects (``CMU03``, ``HDM_dg``), folders (``cmu_asfamc/03``, ``hdm05/dg``) or
    clip ids (``03_01``, ``CMU03/03_01``); an absent split is empty. Names must be strings
    (quote ``'03_01'`` in YAML, which would read it as a number)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"split file {path}: cannot read it ({e})") from None
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        why = " ".join(str(e).split())
        raise ValueError(
            f"split file {path}: not valid {path.suffix[1:] or 'YAML'} ({why})"
        ) from None
    return check_splits(doc, f"split file {path}")


def check_splits(doc: object, where: str = "splits") -> dict[str, list[str]]:
    """``{split: [names]}`` with the known split names and string names, else ValueError."""
    if not isinstance(doc, Mapping):
        raise ValueError(
            f"{where}: expected a mapping {{train: [...], validation: [...], test: [...]}}, "
            f"got {type(doc).__name__}"
        )
    unknown = [str(k) for k in doc if k not in SPLITS]
    if unknown:
        raise ValueError(f"{where}: unknown splits {unknown}; expected some of {list(SPLITS)}")
    out: dict[str, list[str]] = {}
    for split in SPLITS:
        names = doc.get(split) or []
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ValueError(f"{where}: '{split}' must be a list of names, got {names!r}")
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(
                    f"{where}: {split}[{i}] = {name!r} is not a name; write subjects, folders "
                    "and clip ids as strings (in YAML quote them, e.g. '03_01')"
                )
        out[split] = [n.strip().strip("/") for n in names]
    if not any(out.values()):
        raise ValueError(f"{where}: every split is empty")
    return out


def _assign_from_file(
    found: list[tuple[Clip, str]], splits: dict[str, list[str]], where: str, root: Path
) -> None:
    """Set each found clip's split from the split file's names (in place)."""
    unknown: list[str] = []
    for split, names in splits.items():
        for name in names:
            hits = [
                (c, folder)
                for c, folder in found
                if name in (c.subject, folder, c.clip_id, f"{c.subject}/{c.clip_id}")
            ]
            if not hits:
                unknown.append(name)
            for c, _ in hits:
                if c.split and c.split != split:
                    raise ValueError(
                        f"{where}: {c.subject}/{c.clip_id} is in both {c.split!r} and "
                        f"{split!r} ({name!r}); each clip goes in one split"
                    )
                c.split = split
    if unknown:
        subjects = sorted({c.subject for c, _ in found})
        folders = sorted({f for _, f in found})
        raise ValueError(
            f"{where}: unknown names {unknown}: no such subject, folder or clip id under "
            f"{root}; subjects found: {subjects}; folders: {folders} (or a clip id such as "
            f"{found[0][0].clip_id!r})"
            if found
            else f"{where}: unknown names {unknown}: no motion clips under {root}"
        )
    by_subject: dict[str, set[str]] = {}
    for c, _ in found:
        if c.split:
            by_subject.setdefault(c.subject, set()).add(c.split)
    mixed = {s: sorted(v) for s, v in by_subject.items() if len(v) > 1}
    if mixed:
        raise ValueError(
            f"{where}: subjects with clips in several splits: {mixed}; the benchmark splits "
            "by person (like Human3.6M), so a subject's clips go in one split"
        )


def plan_clips(
    root: str | Path, splits: str | Path | Mapping[str, Sequence[str]] | None = None
) -> tuple[list[Clip], list[dict]]:
    """The clips to build and what was skipped.

    ``splits``: None for the protocol (:data:`SPLITS`), or a split file / mapping (see
    :func:`read_split_file`); unknown names are errors. Returns the clips in a split
    (sorted by source, folder and file) and, per subject found but with clips in no
    split, ``{"subject", "folder", "clips"}`` (the number of clips skipped).
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data root {root} does not exist (expected ../shared/data)")
    found = _find_clips(root)
    if splits is None:
        protocol = {s for ss in SPLITS.values() for s in ss}
        for c, _ in found:
            c.split = split_of(c.subject) if c.subject in protocol else ""
    else:
        if isinstance(splits, (str, Path)):
            doc, where = read_split_file(splits), f"split file {splits}"
        else:
            doc, where = check_splits(splits), "splits"
        _assign_from_file(found, doc, where, root)
    clips = [c for c, _ in found if c.split]
    skipped: dict[tuple[str, str], int] = {}
    for c, folder in found:
        if not c.split:
            skipped[(c.subject, folder)] = skipped.get((c.subject, folder), 0) + 1
    if not clips:
        raise FileNotFoundError(
            f"{root}: no motion clips found (expected cmu_asfamc/, hdm05/, cmu_bvh_*)"
            + (
                f"; found only subjects in no split: {sorted({s for s, _ in skipped})}"
                if skipped
                else ""
            )
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
    report = [{"subject": s, "folder": f, "clips": n} for (s, f), n in sorted(skipped.items())]
    return clips, report


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
    cameras: list[dict] = field(default_factory=list)  # virtual views: how each was drawn


def render_clip(
    clip: Clip, noise: DetectorNoiseModel, seed: int, virtual_cameras: int = 0
) -> RenderedClip:
    """Read, place, project and add detector noise to one clip (deterministic). With
    ``virtual_cameras`` > 0, the clip is seen by that many drawn cameras
    (:mod:`diffhpe.data.virtual`) instead of the four Human3.6M ones."""
    motion = load_motion(clip.path, asf=clip.asf, fps_out=FPS)
    h36m = load_cameras(clip.extrinsics)
    world = place_in_volume(motion.positions, clip.yaw_deg, capture_volume_center(h36m))
    views: list[Camera] = [h36m[cid] for cid in CAMERA_IDS]
    records: list[dict] = []
    if virtual_cameras > 0:
        # Its own stream: the drawn cameras do not depend on the noise seed.
        cam_rng = np.random.default_rng([VIRTUAL_SEED, clip.index])
        drawn = [sample_virtual_camera(f"v{k}", world, cam_rng) for k in range(virtual_cameras)]
        views = [cam for cam, _ in drawn]
        records = [rec for _, rec in drawn]
    gts, dets, f_out, j_out = [], [], [], []
    for ci, cam in enumerate(views):
        uv = cam.project_world(world)
        inside = cam.inside_image(uv)
        rng = np.random.default_rng([seed, clip.index, ci])
        det = noise.sample(uv, rng)
        det[~inside] = np.nan
        gts.append(uv.astype(np.float32))
        dets.append(det.astype(np.float32))
        f_out.append(int((~inside).any(1).sum()))
        j_out.append(int((~inside).sum()))
    return RenderedClip(clip, world.astype(np.float32), gts, dets, f_out, j_out, records)


def _render_job(args: tuple[Clip, dict, int, int]) -> RenderedClip:
    clip, noise_params, seed, virtual_cameras = args
    return render_clip(clip, DetectorNoiseModel.from_dict(noise_params), seed, virtual_cameras)


def _render_all(
    clips: list[Clip], noise: DetectorNoiseModel, seed: int, workers: int, virtual_cameras: int
) -> Iterator[RenderedClip]:
    jobs = [(c, noise.to_dict(), seed, virtual_cameras) for c in clips]
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
    for r in _render_all(clips, noise, seed, workers, virtual_cameras):
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
