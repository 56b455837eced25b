"""Read 2D keypoints written by common detectors into Human3.6M order.

Shapes: T frames, N source joints, 17 Human3.6M joints (``diffhpe.skeleton.JOINT_NAMES``).
:func:`read_keypoints` returns one :class:`Keypoints2D` per person/track, with
``xy`` (T, 17, 2) pixels and ``score`` (T, 17); missing joints are NaN with score 0.

Formats (``format=`` name; auto-detected from extension and content when omitted):

``coco`` - COCO-17 keypoints from mmpose/RTMPose, Detectron2 and Ultralytics YOLO-pose:

- mmpose demo ``--save-predictions`` (``meta_info`` may give ``ori_shape`` (h, w)) or
  the inferencer's per-video list (``img_id`` also accepted for ``frame_id``)::

    {"meta_info": {...}, "instance_info": [{"frame_id": 1, "instances": [
        {"keypoints": [[x, y], ...17], "keypoint_scores": [s, ...17], "track_id": 3}]}]}
    [{"frame_id": 0, "instances": [...]}, ...]

- the inferencer's ``predictions`` (one list of instances per image)::

    {"predictions": [[{"keypoints": [[x, y], ...], "keypoint_scores": [...]}], ...]}

- Detectron2 ``outputs["instances"]`` written per image (``width``/``height`` give
  the image size; the frame number comes from ``image_id``/``file_name``)::

    [{"file_name": "frame_000001.jpg", "width": 1920, "height": 1080,
      "instances": [{"pred_keypoints": [[x, y, s], ...17], "score": 0.99}]}]
    [{"image_id": 1, "pred_keypoints": [[[x, y, s], ...17], ...], "scores": [...]}]

- Ultralytics ``Results.summary()`` per frame (``track_id`` when tracking; if every
  coordinate is in [0, 1] the file was written with ``normalize=True`` and needs
  ``image_size``), or ``Results.keypoints.data.tolist()`` per frame ``(T, P, 17, 3)``::

    [[{"name": "person", "confidence": 0.9, "track_id": 1,
       "keypoints": {"x": [...17], "y": [...17], "visible": [...17]}}], [], ...]
    [[[[x, y, conf], ...17], ...persons], ...frames]

``coco-results`` - the COCO keypoint results format (``image_id`` is the frame number;
the third value is a confidence or a visibility flag, compared to ``score_threshold``)::

    [{"image_id": 3, "category_id": 1, "keypoints": [x1, y1, v1, ...51], "score": 0.8}]

``openpose`` - a folder of per-frame ``*_keypoints.json`` files (one file also works);
BODY_25 (75 numbers) or COCO-18 (54 numbers); frame order from the last number in
the file name (``clip_2_keypoints.json`` before ``clip_10_keypoints.json``)::

    {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...]}]}

``mediapipe`` - 33 pose landmarks, normalised to [0, 1] (``image_size`` required; z
is ignored). JSON: a list of frames (``null``/``[]`` when nobody is seen), each a list
of 33 landmarks (or a list of such lists for several people, or a dict with
``frame`` and ``landmarks``); optionally wrapped in ``{"width", "height", "fps",
"frames": [...]}``. CSV: one row per landmark, header required, landmark by index
(0-32) or name (``left_shoulder``); ``visibility`` optional::

    [[{"x": 0.51, "y": 0.22, "z": -0.3, "visibility": 0.99}, ...33], null, ...]
    frame,landmark,x,y,z,visibility
    0,0,0.51,0.22,-0.3,0.99

A CSV header with some MediaPipe columns but not all (e.g. no ``y``) is an error naming
what is missing, never read as another layout. The files ``diffhpe lift VIDEO --save-2d``
writes are read back: its ``.json`` is the layout above; its ``.npz`` holds
``landmarks`` (T, 33, 2) pixels, ``scores``, ``image_size`` and ``fps``
(:func:`diffhpe.video.save_detections`).

``alphapose`` - AlphaPose results, Halpe-26 (78 numbers), COCO-17 (51), Halpe-136
(its first 26 joints) or COCO-WholeBody-133 (its first 17); ``idx`` is the track id
(``--pose_track``); PoseFlow's ``{image_name: [persons]}`` is accepted too::

    [{"image_id": "0.jpg", "category_id": 1, "keypoints": [x, y, s, ...78],
      "score": 2.9, "box": [x, y, w, h], "idx": [0.0]}]

``vp3d`` - VideoPose3D's custom ``.npz`` (``prepare_data_2d_custom.py``): COCO-17 order
(``metadata["layout_name"] == "h36m"``: Human3.6M order), one result per video,
``track_id`` = video name, image size from ``video_metadata``; read without pickle
code execution::

    positions_2d = {"video.mp4": {"custom": [array (T, 17, 2)]}}
    metadata = {"layout_name": "coco", "video_metadata": {"video.mp4": {"w": 1920, "h": 1080}}}

``array`` - ``.npy`` (T, 17, 2 or 3), a diffhpe sample ``.npz`` (``diffhpe data
sample``: ``keypoints`` (T, 17, 2), ``image_size``, ``fps``), or ``.csv`` with one row per
frame of 34 or 51 numbers (x0, y0[, s0], x1, ...). Without a header the columns are in
Human3.6M order. A header must name every column as a joint and a coordinate, in any
order: the joint by its Human3.6M name (``diffhpe.skeleton.JOINT_NAMES``, case and
punctuation ignored) or index 0-16, the coordinate ``x``, ``y`` or ``score`` (also
``conf``, ``confidence``, ``visibility``, ``c``, ``s``, ``v``, ``p``), e.g. ``Pelvis_x``,
``RKnee.y``, ``x_LWrist``, ``0_score``; columns are reordered by their names. Unknown,
repeated or missing columns are errors naming them.

3D files written by diffhpe (``diffhpe lift`` results with ``pose3d``, 3D benchmark files
with ``positions_3d``) are refused with an error saying they hold 3D, not 2D keypoints.

Cleaning: a keypoint with a score below ``score_threshold``, a NaN coordinate, or
(0, 0) with zero confidence is missing. People: with track ids there is one result per
track; instances without an id in a tracked file are dropped (warning). Without ids
(OpenPose, COCO results, MediaPipe, ...) the most confident person of each frame is
kept (warning when a frame has several); "most confident" is the largest sum of kept
keypoint scores, the same rule for every format. The time axis is regular: every frame
number from the first to the last (step: gcd of the gaps) is present, NaN where the
person is absent.
"""

from __future__ import annotations

import csv
import json
import math
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from diffhpe.formats.mapping import (
    COCO17_TABLE,
    H36M17_TABLE,
    HALPE26_TABLE,
    MEDIAPIPE33_TABLE,
    MEDIAPIPE_33,
    TABLES,
    JointTable,
    to_h36m,
)
from diffhpe.io.safe_npz import load_npz
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS

FORMATS: tuple[str, ...] = (
    "coco",
    "coco-results",
    "openpose",
    "mediapipe",
    "alphapose",
    "vp3d",
    "array",
)
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_FRAME_KEYS = ("frame_id", "img_id", "image_id", "frame", "frame_index", "file_name", "img_path")
_INSTANCE_KEYS = ("instances", "results", "detections", "predictions")

TrackId = int | str | None


@dataclass
class Keypoints2D:
    """One person's 2D keypoints over time, Human3.6M order.

    xy: (T, 17, 2) float32 pixels, NaN where missing. score: (T, 17) float32, 0 where
    missing (1.0 when the format has no confidence). frame_index: (T,) int64 source
    frame numbers, strictly increasing. image_size: (width, height) or None.
    mapping: Human3.6M joint name -> expression of the source joints used.
    """

    xy: np.ndarray
    score: np.ndarray
    frame_index: np.ndarray
    source_format: str
    mapping: dict[str, str]
    image_size: tuple[int, int] | None = None
    fps: float | None = None
    track_id: TrackId = None

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float32)
        if self.xy.ndim != 3 or self.xy.shape[1:] != (NUM_JOINTS, 2):
            raise ValueError(f"Keypoints2D.xy: expected shape (T, 17, 2), got {self.xy.shape}")
        t = len(self.xy)
        self.score = np.asarray(self.score, dtype=np.float32)
        if self.score.shape != (t, NUM_JOINTS):
            raise ValueError(f"Keypoints2D.score: expected shape ({t}, 17), got {self.score.shape}")
        frame_index = np.asarray(self.frame_index)
        if frame_index.shape != (t,) or not (
            t == 0 or np.issubdtype(frame_index.dtype, np.integer)
        ):
            raise ValueError(
                f"Keypoints2D.frame_index: expected ({t},) integers, got shape "
                f"{frame_index.shape} dtype {frame_index.dtype}"
            )
        self.frame_index = frame_index.astype(np.int64)
        if np.any(np.diff(self.frame_index) <= 0):
            raise ValueError("Keypoints2D.frame_index: must be strictly increasing")
        nan = np.isnan(self.xy)
        if np.any(nan[..., 0] != nan[..., 1]) or np.isinf(self.xy).any():
            raise ValueError("Keypoints2D.xy: coordinates must be finite, or NaN in both x and y")
        if not np.isfinite(self.score).all() or (self.score < 0).any():
            raise ValueError("Keypoints2D.score: scores must be finite and >= 0")
        if (self.score[nan[..., 0]] != 0).any():
            raise ValueError("Keypoints2D.score: missing (NaN) joints must have score 0")
        if self.image_size is not None:
            self.image_size = _check_image_size(self.image_size, "Keypoints2D.image_size")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"Keypoints2D.fps: expected a positive number, got {self.fps}")
        if set(self.mapping) != set(JOINT_NAMES):
            raise ValueError(f"Keypoints2D.mapping: keys must be the joints {JOINT_NAMES}")
        if not isinstance(self.source_format, str) or not self.source_format:
            raise ValueError("Keypoints2D.source_format: expected a non-empty string")
        if self.track_id is not None and not isinstance(self.track_id, (int, str)):
            raise ValueError(
                f"Keypoints2D.track_id: expected int, str or None, got {type(self.track_id)}"
            )

    @property
    def num_frames(self) -> int:
        return len(self.xy)

    @property
    def visible(self) -> np.ndarray:
        """(T, 17) bool: the joint was detected."""
        return ~np.isnan(self.xy[..., 0])


@dataclass
class _Person:
    """One detected person in one frame, in the source skeleton: points (N, 2), scores (N,)."""

    frame: int
    track: TrackId
    points: np.ndarray
    scores: np.ndarray


@dataclass
class _Parsed:
    """What a reader found before cleaning, people selection and joint mapping."""

    table: JointTable
    source_format: str
    people: list[_Person] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)  # every frame the file covers
    image_size: tuple[int, int] | None = None
    fps: float | None = None
    normalised: bool = False
    # Dense fast path (arrays): points (T, N, 2), scores (T, N), frames 0..T-1, one track.
    dense: tuple[np.ndarray, np.ndarray] | None = None
    track: TrackId = None


# ----------------------------------------------------------------------------- public


def read_keypoints(
    path: str | Path,
    format: str | None = None,
    image_size: tuple[int, int] | None = None,
    score_threshold: float = 0.3,
) -> list[Keypoints2D]:
    """Every person/track of a keypoint file (or OpenPose folder), Human3.6M order.

    ``image_size`` (width, height) is used when the file does not give one (required
    for normalised coordinates). See the module docstring for formats and rules.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if not (isinstance(score_threshold, (int, float)) and score_threshold >= 0):
        raise ValueError(f"score_threshold: expected a number >= 0, got {score_threshold!r}")
    size = None if image_size is None else _check_image_size(image_size, "image_size")
    data = _load_json(path) if path.is_file() and path.suffix.lower() in _JSON_SUFFIXES else None
    _refuse_3d(path, data)
    if format is None:
        format = _detect(path, data)
    elif format not in FORMATS:
        raise ValueError(f"format: unknown {format!r}; expected one of {FORMATS}")
    if data is None and format not in ("openpose", "vp3d", "array", "mediapipe"):
        data = _load_json(path)
    out: list[Keypoints2D] = []
    for parsed in _READERS[format](path, data):
        out.extend(_assemble(path, parsed, size, float(score_threshold)))
    if not out:
        raise ValueError(f"{path}: no person detected in any frame")
    return out


def detect_format(path: str | Path) -> str:
    """The ``format`` name :func:`read_keypoints` would pick for ``path``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    data = _load_json(path) if path.is_file() and path.suffix.lower() in _JSON_SUFFIXES else None
    _refuse_3d(path, data)
    return _detect(path, data)


def mask_unreliable(
    points: np.ndarray, scores: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(..., N, 2), (..., N) -> copies where unreliable keypoints are NaN with score 0.

    Unreliable: score below ``threshold``, a non-finite coordinate or score, or (0, 0)
    with zero confidence (how OpenPose and others write "not detected").
    """
    points = np.asarray(points, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = (
            ~np.isfinite(points).all(-1)
            | ~np.isfinite(scores)
            | (scores < threshold)
            | ((points == 0).all(-1) & (scores <= 0))
        )
    return np.where(bad[..., None], np.nan, points), np.where(bad, 0.0, scores)


# ------------------------------------------------------------------------- assembly


def _assemble(
    path: Path, parsed: _Parsed, image_size: tuple[int, int] | None, threshold: float
) -> list[Keypoints2D]:
    """Clean, pick one person per (track, frame), lay out a regular time axis, map joints."""
    size = _resolve_image_size(path, parsed, image_size)
    n = parsed.table.num_source
    tracks: dict[TrackId, tuple[np.ndarray, np.ndarray]] = {}
    if parsed.dense is not None:
        pts, sc = mask_unreliable(*parsed.dense, threshold)
        frames = np.arange(len(pts), dtype=np.int64)
        if np.isfinite(pts).any():
            tracks[parsed.track] = (pts, sc)
    else:
        frames = _regular_frames(path, parsed.frames)
        row = {int(f): i for i, f in enumerate(frames)}
        for (track, frame), (pts, sc) in _one_per_track_and_frame(
            path, parsed.people, threshold
        ).items():
            if track not in tracks:
                tracks[track] = (np.full((len(frames), n, 2), np.nan), np.zeros((len(frames), n)))
            tracks[track][0][row[frame]] = pts
            tracks[track][1][row[frame]] = sc
    out = []
    for track in sorted(tracks, key=_track_order):
        pts, sc = tracks[track]
        if parsed.normalised:
            assert size is not None  # _resolve_image_size raised otherwise
            pts = pts * np.asarray(size, dtype=np.float64)
        xy, score = to_h36m(pts, sc, parsed.table)
        out.append(
            Keypoints2D(
                xy=xy,
                score=score,
                frame_index=frames,
                source_format=parsed.source_format,
                mapping=parsed.table.mapping,
                image_size=size,
                fps=parsed.fps,
                track_id=track,
            )
        )
    return out


def _one_per_track_and_frame(
    path: Path, people: list[_Person], threshold: float
) -> dict[tuple[TrackId, int], tuple[np.ndarray, np.ndarray]]:
    """Cleaned (points, scores) of the most confident person per (track, frame)."""
    tracked = any(p.track is not None for p in people)
    if tracked and any(p.track is None for p in people):
        dropped = sum(p.track is None for p in people)
        warnings.warn(
            f"{path}: {dropped} detections without a track id in a tracked file were dropped",
            stacklevel=4,
        )
        people = [p for p in people if p.track is not None]
    best: dict[tuple[TrackId, int], tuple[float, np.ndarray, np.ndarray]] = {}
    crowded: set[int] = set()
    for p in people:
        pts, sc = mask_unreliable(p.points, p.scores, threshold)
        conf = float(sc.sum())  # kept joints weigh by their confidence
        key = (p.track, p.frame)
        if key in best:
            crowded.add(p.frame)
            if conf <= best[key][0]:
                continue
        best[key] = (conf, pts, sc)
    if crowded:
        warnings.warn(
            f"{path}: {len(crowded)} frame(s) have several people per "
            f"{'track' if tracked else 'frame'} and no way to tell them apart; kept the most "
            "confident one (largest sum of keypoint scores) in each",
            stacklevel=4,
        )
    return {key: (pts, sc) for key, (_, pts, sc) in best.items()}


def _track_order(track: TrackId) -> tuple[int, int, str]:
    if isinstance(track, int):
        return (0, track, "")
    return (1, 0, str(track))


def _regular_frames(path: Path, frames: list[int]) -> np.ndarray:
    """Sorted frame numbers filled into a regular grid (step = gcd of the gaps)."""
    f = np.unique(np.asarray(frames, dtype=np.int64))
    if len(f) < 2:
        return f
    step = int(np.gcd.reduce(np.diff(f)))
    count = (int(f[-1]) - int(f[0])) // step + 1
    if count > max(10 * len(f), len(f) + 10_000):
        warnings.warn(
            f"{path}: frame numbers {f[0]}..{f[-1]} are too sparse for a regular time "
            f"axis; keeping only the {len(f)} frames present",
            stacklevel=4,
        )
        return f
    return np.arange(f[0], f[-1] + 1, step, dtype=np.int64)


def _resolve_image_size(
    path: Path, parsed: _Parsed, image_size: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The file's image size wins over the argument; normalised formats need one."""
    if parsed.image_size is not None and image_size is not None:
        if parsed.image_size != image_size:
            warnings.warn(
                f"{path}: the file gives the image size {parsed.image_size}; ignoring "
                f"image_size={image_size}",
                stacklevel=4,
            )
    size = parsed.image_size or image_size
    if parsed.normalised and size is None:
        raise ValueError(
            f"{path}: {parsed.source_format} coordinates are normalised to [0, 1] and the "
            "file does not give the image size; pass --image-size W H "
            "(image_size=(width, height)) to convert them to pixels"
        )
    return size


# ---------------------------------------------------------------------- small helpers


def _check_image_size(value: Any, where: str) -> tuple[int, int]:
    try:
        w, h = value
        ok = all(float(v) > 0 and float(v) == int(v) for v in (w, h))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{where}: expected (width, height) positive integers, got {value!r}")
    return int(w), int(h)


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable JSON file ({e})") from e


def _floats(value: Any, where: str) -> np.ndarray:
    """Numbers (JSON null -> NaN) as a float64 array, or a ValueError naming ``where``."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected numbers, got {str(value)[:80]}") from None


def _frame_number(value: Any, where: str) -> int:
    """An int, or the last run of digits of a name ('frame_000012.jpg' -> 12)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        digits = re.findall(r"\d+", Path(value).stem)
        if digits:
            return int(digits[-1])
    raise ValueError(
        f"{where}: {value!r} is not a frame number; expected an integer or a name "
        "containing one (e.g. 'frame_000012.jpg')"
    )


def _track_id(value: Any, where: str) -> TrackId:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # AlphaPose writes idx as [0.0]
        return _track_id(value[0], where) if value else None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"{where}: track id {value!r} is not an integer or a string")


def _size_from_meta(meta: Any, where: str) -> tuple[int, int] | None:
    """(width, height) from the usual metadata keys, if any."""
    if not isinstance(meta, dict):
        return None
    for wk, hk in (("width", "height"), ("w", "h"), ("image_width", "image_height")):
        if wk in meta and hk in meta:
            return _check_image_size((meta[wk], meta[hk]), f"{where}[{wk!r}, {hk!r}]")
    for key in ("image_size", "img_size"):
        if key in meta:
            return _check_image_size(meta[key], f"{where}[{key!r}]")
    for key in ("ori_shape", "img_shape"):  # mmpose: (height, width[, channels])
        if key in meta and isinstance(meta[key], (list, tuple)) and len(meta[key]) >= 2:
            h, w = meta[key][:2]
            return _check_image_size((w, h), f"{where}[{key!r}]")
    return None


def _fps_from_meta(meta: Any, where: str) -> float | None:
    if isinstance(meta, dict) and meta.get("fps") is not None:
        fps = meta["fps"]
        if not isinstance(fps, (int, float)) or not fps > 0:
            raise ValueError(f"{where}['fps']: expected a positive number, got {fps!r}")
        return float(fps)
    return None


def _keypoint_rows(value: Any, n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) or (n, 3) rows, or n*3 flat numbers -> points (n, 2), scores (n,)."""
    arr = _floats(value, where)
    if arr.ndim == 1 and arr.size == 3 * n:
        arr = arr.reshape(n, 3)
    if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] not in (2, 3):
        raise ValueError(
            f"{where}: expected {n} keypoints as [[x, y(, score)], ...] or {3 * n} flat "
            f"numbers, got shape {arr.shape}"
        )
    scores = arr[:, 2] if arr.shape[1] == 3 else np.ones(n)
    return arr[:, :2], scores


def _is_normalised(people: list[_Person]) -> bool:
    """No finite coordinate exceeds 1 and some are positive: no pixel image is that
    small, so these are normalised coordinates."""
    if not people:
        return False
    pts = np.concatenate([p.points for p in people])
    pts = pts[np.isfinite(pts)]
    return pts.size > 0 and 0.0 < pts.max() <= 1.0


# ---------------------------------------------------------------------- detection


def _first_record(data: Any, depth: int = 0) -> tuple[Any, int]:
    """The first dict or number inside nested lists, and how many lists hold it."""
    if isinstance(data, list):
        for item in data:
            rec, d = _first_record(item, depth + 1)
            if rec is not None:
                return rec, d
        return None, depth
    return data, depth


def _npz_fields(path: Path) -> set[str]:
    """The field names of an ``.npz`` (nothing is loaded or unpickled)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return set(f.files)
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npz file ({e})") from None
    except AttributeError:  # a plain .npy array saved under an .npz name
        raise ValueError(f"{path}: not an .npz archive (a single .npy array?)") from None


_3D_FIELDS = {
    "pose3d": "a 3D lift result (diffhpe lift output: 'pose3d' (N, 17, 3) metres)",
    "positions_3d": "3D motion (VideoPose3D 'positions_3d', e.g. data_3d_open.npz)",
}


def _refuse_3d(path: Path, data: Any) -> None:
    """3D files written by diffhpe (lift results, 3D benchmark files) are not 2D
    keypoints: say so instead of a puzzling layout error."""
    if path.is_dir():
        return
    if path.suffix.lower() == ".npz":
        fields = _npz_fields(path)
    elif isinstance(data, dict):
        fields = set(data)
    else:
        return
    for key, what in _3D_FIELDS.items():
        if key in fields and "positions_2d" not in fields and "keypoints" not in fields:
            raise ValueError(
                f"{path}: this is {what}, not 2D keypoints; read_keypoints reads 2D keypoint "
                "files (open this one with numpy.load or json, or lift the 2D input it came from)"
            )


def _detect(path: Path, data: Any) -> str:
    if path.is_dir():
        return "openpose"
    suffix = path.suffix.lower()
    if suffix == ".npz":
        fields = _npz_fields(path)
        if "landmarks" in fields:  # diffhpe lift VIDEO --save-2d x.npz (video.save_detections)
            return "mediapipe"
        if "keypoints" in fields:  # diffhpe data sample: Human3.6M order, pixels
            return "array"
        return "vp3d"
    if suffix == ".npy":
        return "array"
    if suffix == ".csv":
        return "mediapipe" if _mediapipe_csv_columns(path, required=False) else "array"
    if suffix in _JSON_SUFFIXES:
        fmt = _detect_json(data)
        if fmt is None:
            raise ValueError(
                f"{path}: cannot recognise the keypoint layout of this JSON; pass "
                f"format= one of {FORMATS} (see diffhpe.formats.keypoints for layouts)"
            )
        return fmt
    raise ValueError(
        f"{path}: cannot tell the keypoint format from the extension {suffix!r}; expected "
        f"an OpenPose folder, .json, .jsonl, .npz, .npy or .csv, or pass format= one of "
        f"{FORMATS}"
    )


def _detect_json(data: Any) -> str | None:
    if isinstance(data, dict):
        if "people" in data:
            return "openpose"
        if "instance_info" in data or "predictions" in data:
            return "coco"
        if "annotations" in data:
            return "coco-results"
        if "frames" in data:
            inner = _detect_json(data["frames"])
            return inner if inner in ("coco", "mediapipe") else None
        values = list(data.values())
        if values and all(isinstance(v, list) for v in values):
            rec, _ = _first_record(values)
            if isinstance(rec, dict) and "keypoints" in rec:
                return "alphapose"  # PoseFlow: {image_name: [persons]}
        return None
    rec, depth = _first_record(data)
    if isinstance(rec, (int, float)) and depth == 4:
        return "coco"  # YOLO .tolist() per frame: (T, P, 17, 3)
    if not isinstance(rec, dict):
        return None
    if any(k in rec for k in ("instances", "predictions", "pred_keypoints")):
        return "coco"
    if any(k in rec for k in ("landmarks", "pose_landmarks")) or ("x" in rec and "y" in rec):
        return "mediapipe"
    if "keypoints" in rec:
        kp = rec["keypoints"]
        if isinstance(kp, list) and kp and not isinstance(kp[0], list) and "image_id" in rec:
            alphapose = (
                "idx" in rec
                or "box" in rec
                or isinstance(rec["image_id"], str)
                or len(kp) != 3 * COCO17_TABLE.num_source
            )
            return "alphapose" if alphapose else "coco-results"
        return "coco"
    if any(k in rec for k in ("results", "detections")):
        return "coco"
    return None


# ------------------------------------------------------------------------- readers


def _read_coco(path: Path, data: Any) -> list[_Parsed]:
    """mmpose/RTMPose, Detectron2 and Ultralytics YOLO-pose, all COCO-17."""
    meta: dict = {}
    frames_raw = data
    if isinstance(data, dict):
        meta = {**data, **(data.get("meta_info") or {})}
        for key in ("instance_info", "predictions", "frames"):
            if key in data:
                frames_raw = data[key]
                break
        else:
            raise ValueError(
                f"{path}: expected 'instance_info', 'predictions' or 'frames' at the top "
                f"level of a COCO-17 keypoint file, got keys {sorted(data)[:10]}"
            )
    if not isinstance(frames_raw, list):
        raise ValueError(f"{path}: expected a list of frames, got {type(frames_raw).__name__}")
    first = next((e for e in frames_raw if e is not None), None)
    if (
        isinstance(first, dict)
        and ("keypoints" in first or "pred_keypoints" in first)
        and not any(k in first for k in _FRAME_KEYS)
    ):
        frames_raw = [frames_raw]  # mmpose on one image: a bare list of instances
    expanded: list[Any] = []
    for entry in frames_raw:
        preds = entry.get("predictions") if isinstance(entry, dict) else None
        if isinstance(preds, list) and all(isinstance(p, list) for p in preds):
            expanded.extend(preds)  # mmpose inferencer result: a batch of images
        else:
            expanded.append(entry)

    size = _size_from_meta(meta, f"{path}: meta")
    ids: list[int | None] = []
    instances_per_frame: list[list[Any]] = []
    for i, entry in enumerate(expanded):
        where = f"{path}: frame entry {i}"
        if entry is None:
            ids.append(None)
            instances_per_frame.append([])
        elif isinstance(entry, list):
            ids.append(None)
            instances_per_frame.append(entry)
        elif isinstance(entry, dict):
            key = next((k for k in _FRAME_KEYS if k in entry), None)
            ids.append(None if key is None else _frame_number(entry[key], f"{where} {key!r}"))
            if size is None:
                size = _size_from_meta(entry, where)
            instances_per_frame.append(_frame_instances(entry, where))
        else:
            raise ValueError(f"{where}: expected a list or dict, got {type(entry).__name__}")
    use_ids = all(f is not None for f in ids)
    frames = [f if use_ids else i for i, f in enumerate(ids)]  # type: ignore[misc]

    people: list[_Person] = []
    kinds: set[str] = set()
    for frame, instances in zip(frames, instances_per_frame, strict=True):
        for k, inst in enumerate(instances):
            where = f"{path}: frame {frame} instance {k}"
            kind, pts, sc, track = _coco_instance(inst, where)
            kinds.add(kind)
            people.append(_Person(frame, track, pts, sc))
    kind = "+".join(sorted(kinds)) or "mmpose"
    normalised = kind == "yolo" and _is_normalised(people)
    return [
        _Parsed(
            table=COCO17_TABLE,
            source_format=f"coco/{kind}",
            people=people,
            frames=frames,
            image_size=size,
            fps=_fps_from_meta(meta, f"{path}: meta"),
            normalised=normalised,
        )
    ]


def _frame_instances(entry: dict, where: str) -> list[Any]:
    """The instances of one frame dict (mmpose, Detectron2 or wrapped YOLO)."""
    for key in _INSTANCE_KEYS:
        if key in entry:
            inst = entry[key]
            if not isinstance(inst, list):
                raise ValueError(f"{where}: {key!r} must be a list of instances")
            return inst
    if "pred_keypoints" in entry:  # Detectron2 fields of a whole image: (P, 17, 3)
        kps = entry["pred_keypoints"]
        if not isinstance(kps, list):
            raise ValueError(f"{where}: 'pred_keypoints' must be a (P, 17, 3) list")
        return [{"pred_keypoints": kp} for kp in kps]
    raise ValueError(
        f"{where}: expected one of {_INSTANCE_KEYS} or 'pred_keypoints', got keys "
        f"{sorted(entry)[:10]}"
    )


def _coco_instance(inst: Any, where: str) -> tuple[str, np.ndarray, np.ndarray, TrackId]:
    """One person of a COCO-17 detector output -> (kind, points (17, 2), scores, track)."""
    n = COCO17_TABLE.num_source
    if isinstance(inst, list):  # YOLO keypoints.data.tolist(): (17, 3)
        pts, sc = _keypoint_rows(inst, n, where)
        return "yolo", pts, sc, None
    if not isinstance(inst, dict):
        raise ValueError(f"{where}: expected an instance dict, got {type(inst).__name__}")
    track = _track_id(inst.get("track_id"), f"{where} 'track_id'")
    if "pred_keypoints" in inst:
        pts, sc = _keypoint_rows(inst["pred_keypoints"], n, f"{where} 'pred_keypoints'")
        return "detectron2", pts, sc, track
    kp = inst.get("keypoints")
    if isinstance(kp, dict):  # Ultralytics summary()
        if "x" not in kp or "y" not in kp:
            raise ValueError(f"{where}: 'keypoints' dict needs 'x' and 'y' lists")
        x, y = _floats(kp["x"], f"{where} keypoints.x"), _floats(kp["y"], f"{where} keypoints.y")
        vis = kp.get("visible")
        sc = np.ones(n) if vis is None else _floats(vis, f"{where} keypoints.visible")
        if not (x.shape == y.shape == sc.shape == (n,)):
            raise ValueError(f"{where}: keypoints x, y, visible must each hold {n} numbers")
        return "yolo", np.stack([x, y], -1), sc, track
    if kp is not None:  # mmpose: (17, 2) + keypoint_scores, or (17, 3)
        pts, sc = _keypoint_rows(kp, n, f"{where} 'keypoints'")
        if "keypoint_scores" in inst:
            sc = _floats(inst["keypoint_scores"], f"{where} 'keypoint_scores'")
            if sc.shape != (n,):
                raise ValueError(f"{where}: 'keypoint_scores' must hold {n} numbers")
        return "mmpose", pts, sc, track
    raise ValueError(
        f"{where}: expected 'keypoints' or 'pred_keypoints', got keys {sorted(inst)[:10]}"
    )


def _read_coco_results(path: Path, data: Any) -> list[_Parsed]:
    entries = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of COCO keypoint results")
    people: list[_Person] = []
    n = COCO17_TABLE.num_source
    for i, e in enumerate(entries):
        where = f"{path}: result {i}"
        if not isinstance(e, dict) or "image_id" not in e or "keypoints" not in e:
            raise ValueError(f"{where}: expected a dict with 'image_id' and 'keypoints'")
        kp = _floats(e["keypoints"], f"{where} 'keypoints'")
        if kp.shape != (3 * n,):
            raise ValueError(f"{where}: 'keypoints' must hold {3 * n} numbers, got {kp.size}")
        frame = _frame_number(e["image_id"], f"{where} 'image_id'")
        track = _track_id(e.get("track_id"), f"{where} 'track_id'")
        people.append(_Person(frame, track, kp.reshape(n, 3)[:, :2], kp.reshape(n, 3)[:, 2]))
    return [_Parsed(COCO17_TABLE, "coco-results", people, frames=[p.frame for p in people])]


# AlphaPose keypoint counts -> (table, joints kept, name)
_ALPHAPOSE_LAYOUTS = {
    17: (COCO17_TABLE, 17, "coco17"),
    26: (HALPE26_TABLE, 26, "halpe26"),
    133: (COCO17_TABLE, 17, "coco-wholebody133"),  # the first 17 are COCO-17
    136: (HALPE26_TABLE, 26, "halpe136"),  # the first 26 are Halpe-26
}


def _read_alphapose(path: Path, data: Any) -> list[_Parsed]:
    if isinstance(data, dict):  # PoseFlow: {image_name: [persons]}
        entries = [{**p, "image_id": name} for name, persons in data.items() for p in persons]
    elif isinstance(data, list):
        entries = data
    else:
        raise ValueError(f"{path}: expected a list of AlphaPose results")
    people: list[_Person] = []
    layout = None
    for i, e in enumerate(entries):
        where = f"{path}: result {i}"
        if not isinstance(e, dict) or "image_id" not in e or "keypoints" not in e:
            raise ValueError(f"{where}: expected a dict with 'image_id' and 'keypoints'")
        kp = _floats(e["keypoints"], f"{where} 'keypoints'")
        k = kp.size // 3
        if kp.ndim != 1 or kp.size % 3 or k not in _ALPHAPOSE_LAYOUTS:
            raise ValueError(
                f"{where}: 'keypoints' must be flat x, y, score for 17, 26, 133 or 136 "
                f"joints, got {kp.size} numbers"
            )
        if layout is None:
            layout = k
        elif k != layout:
            raise ValueError(f"{where}: {k} keypoints where earlier results had {layout}")
        _, keep, _ = _ALPHAPOSE_LAYOUTS[k]
        rows = kp.reshape(k, 3)[:keep]
        frame = _frame_number(e["image_id"], f"{where} 'image_id'")
        track = _track_id(e.get("idx"), f"{where} 'idx'")
        people.append(_Person(frame, track, rows[:, :2], rows[:, 2]))
    table, _, name = _ALPHAPOSE_LAYOUTS[layout or 17]
    return [_Parsed(table, f"alphapose/{name}", people, frames=[p.frame for p in people])]


_OPENPOSE_LAYOUTS = {25: (TABLES["body25"], "body25"), 18: (TABLES["coco18"], "coco18")}


def _read_openpose(path: Path, data: Any) -> list[_Parsed]:
    if path.is_dir():
        files = sorted(path.glob("*_keypoints.json")) or sorted(path.glob("*.json"))
        if not files:
            raise ValueError(f"{path}: no OpenPose *_keypoints.json files in this folder")
        numbered: dict[int, Path] = {}
        for f in files:
            stem = f.name.removesuffix(".json").removesuffix("_keypoints")
            frame = _frame_number(stem, f"{f}: file name")
            if frame in numbered:
                raise ValueError(
                    f"{path}: files {numbered[frame].name} and {f.name} both have frame "
                    f"number {frame}"
                )
            numbered[frame] = f
        sources = [(frame, numbered[frame], None) for frame in sorted(numbered)]
    else:
        digits = re.findall(r"\d+", path.name)
        sources = [(int(digits[-1]) if digits else 0, path, data)]
    people: list[_Person] = []
    layout = None
    for frame, f, content in sources:
        content = _load_json(f) if content is None else content
        if not isinstance(content, dict) or not isinstance(content.get("people"), list):
            raise ValueError(f"{f}: expected an OpenPose frame {{'people': [...]}}")
        for k, person in enumerate(content["people"]):
            where = f"{f}: people[{k}] 'pose_keypoints_2d'"
            flat = _floats(person.get("pose_keypoints_2d", []), where)
            if flat.size == 0:
                continue  # body estimation was off for this person
            if flat.ndim != 1 or flat.size % 3 or flat.size // 3 not in _OPENPOSE_LAYOUTS:
                raise ValueError(
                    f"{where}: expected 75 (BODY_25) or 54 (COCO-18) numbers, got {flat.size}"
                )
            if layout is None:
                layout = flat.size // 3
            elif flat.size // 3 != layout:
                raise ValueError(f"{where}: {flat.size // 3} joints where earlier had {layout}")
            rows = flat.reshape(-1, 3)
            people.append(_Person(frame, None, rows[:, :2], rows[:, 2]))
    table, name = _OPENPOSE_LAYOUTS[layout or 25]
    frames = [frame for frame, _, _ in sources]
    return [_Parsed(table, f"openpose/{name}", people, frames=frames)]


def _read_mediapipe(path: Path, data: Any) -> list[_Parsed]:
    if path.suffix.lower() == ".npz":
        return [_mediapipe_npz(path)]
    if path.suffix.lower() == ".csv":
        people, frames = _mediapipe_csv(path)
        meta: Any = {}
    else:
        data = _load_json(path) if data is None else data
        meta = data if isinstance(data, dict) else {}
        frames_raw = data.get("frames") if isinstance(data, dict) else data
        if not isinstance(frames_raw, list):
            raise ValueError(
                f"{path}: expected a list of MediaPipe frames (or {{'frames': [...]}})"
            )
        people, frames = _mediapipe_json(path, frames_raw)
    pts = [p.points for p in people]
    if pts and np.nanmax(np.abs(np.concatenate(pts)), initial=0.0) > 10:
        raise ValueError(
            f"{path}: MediaPipe coordinates must be normalised to [0, 1], but some exceed "
            "10 (pixels?); convert them or use format='array'"
        )
    return [
        _Parsed(
            MEDIAPIPE33_TABLE,
            "mediapipe",
            people,
            frames=frames,
            image_size=_size_from_meta(meta, f"{path}: top level"),
            fps=_fps_from_meta(meta, f"{path}: top level"),
            normalised=True,
        )
    ]


def _mediapipe_npz(path: Path) -> _Parsed:
    """Video detections saved by ``diffhpe lift VIDEO --save-2d x.npz``: 33 landmarks in
    pixels (NaN: nobody), their visibility, the image size and the frame rate."""
    from diffhpe.video import load_detections  # here: diffhpe.video imports this module

    det = load_detections(path)
    return _Parsed(
        MEDIAPIPE33_TABLE,
        "mediapipe",
        image_size=det.image_size,
        fps=det.fps,
        dense=(det.landmarks.astype(np.float64), det.scores.astype(np.float64)),
    )


def _mediapipe_landmarks(value: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """33 landmark dicts -> points (33, 2), scores (33,) (visibility, else presence, else 1)."""
    if not isinstance(value, list) or len(value) != 33:
        raise ValueError(f"{where}: expected 33 landmarks, got {str(value)[:60]}")
    pts = np.full((33, 2), np.nan)
    sc = np.ones(33)
    for i, lm in enumerate(value):
        if not isinstance(lm, dict) or "x" not in lm or "y" not in lm:
            raise ValueError(f"{where}[{i}]: expected a landmark {{'x', 'y', ...}}")
        pts[i] = _floats([lm["x"], lm["y"]], f"{where}[{i}]")
        conf = lm.get("visibility", lm.get("presence"))
        if conf is not None:
            sc[i] = float(_floats(conf, f"{where}[{i}] visibility"))
    return pts, sc


def _mediapipe_json(path: Path, frames_raw: list) -> tuple[list[_Person], list[int]]:
    people: list[_Person] = []
    frames: list[int] = []
    for i, entry in enumerate(frames_raw):
        where = f"{path}: frame entry {i}"
        frame = i
        if isinstance(entry, dict):
            key = next((k for k in _FRAME_KEYS if k in entry), None)
            frame = i if key is None else _frame_number(entry[key], f"{where} {key!r}")
            entry = entry.get("landmarks", entry.get("pose_landmarks"))
        frames.append(frame)
        if not entry:
            continue  # nobody seen in this frame
        if not isinstance(entry, list):
            raise ValueError(f"{where}: expected a list of 33 landmarks, got {str(entry)[:60]}")
        persons = entry if isinstance(entry[0], list) else [entry]
        for k, lms in enumerate(persons):
            pts, sc = _mediapipe_landmarks(lms, f"{where} person {k}")
            people.append(_Person(frame, None, pts, sc))
    return people, frames


_MP_FRAME_COLS = ("frame", "frame_index", "frame_id")
_MP_LANDMARK_COLS = ("landmark", "index", "landmark_index", "landmark_id", "joint", "id")


def _mediapipe_csv_columns(path: Path, required: bool) -> dict[str, str] | None:
    """Column names {frame, landmark, x, y[, visibility]} of a MediaPipe CSV header.

    Not ``required`` (format detection): None for a header that is not MediaPipe's (no
    MediaPipe column, or Human3.6M joint columns); a MediaPipe header that lacks a needed
    column is an error naming it, never read as another layout.
    """
    with path.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    cols = {c.strip().lower(): c for c in header}
    frame = next((cols[c] for c in _MP_FRAME_COLS if c in cols), None)
    landmark = next((cols[c] for c in _MP_LANDMARK_COLS if c in cols), None)
    missing = [
        what
        for what, have in (
            (f"a frame column (one of {list(_MP_FRAME_COLS)})", frame),
            (f"a landmark column (one of {list(_MP_LANDMARK_COLS)})", landmark),
            ("'x'", cols.get("x")),
            ("'y'", cols.get("y")),
        )
        if have is None
    ]
    if missing:
        hints = (*_MP_FRAME_COLS, *_MP_LANDMARK_COLS, "x", "y", "z", "visibility", "presence")
        mediapipe_like = any(h in cols for h in hints) and not any(
            _header_column(c) is not None for c in header
        )
        if required or mediapipe_like:
            raise ValueError(
                f"{path}: MediaPipe CSV header {[c.strip() for c in header]} lacks "
                f"{' and '.join(missing)}; a MediaPipe CSV needs a frame column, a landmark "
                "column, 'x' and 'y' (optional 'visibility')"
            )
        return None
    out = {"frame": frame, "landmark": landmark, "x": cols["x"], "y": cols["y"]}
    if "visibility" in cols:
        out["visibility"] = cols["visibility"]
    return out


def _mediapipe_csv(path: Path) -> tuple[list[_Person], list[int]]:
    cols = _mediapipe_csv_columns(path, required=True)
    assert cols is not None
    by_frame: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            where = f"{path}: line {line}"
            frame = _frame_number(_csv_int(row[cols["frame"]]), f"{where} frame")
            lm = row[cols["landmark"]].strip()
            if lm.isdigit() and int(lm) < 33:
                j = int(lm)
            elif lm.lower() in MEDIAPIPE_33:
                j = MEDIAPIPE_33.index(lm.lower())
            else:
                raise ValueError(f"{where}: landmark {lm!r} is not 0-32 or a MediaPipe name")
            pts, sc = by_frame.setdefault(frame, (np.full((33, 2), np.nan), np.zeros(33)))
            if not np.isnan(pts[j]).all():
                raise ValueError(f"{where}: landmark {lm} appears twice in frame {frame}")
            pts[j] = [_csv_float(row[cols["x"]], where), _csv_float(row[cols["y"]], where)]
            vis = row[cols["visibility"]] if "visibility" in cols else ""
            sc[j] = 1.0 if vis is None or not vis.strip() else _csv_float(vis, where)
    people = [_Person(fr, None, p, s) for fr, (p, s) in sorted(by_frame.items())]
    return people, sorted(by_frame)


def _csv_float(text: str, where: str) -> float:
    try:
        return float(text) if text.strip() else math.nan
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None


def _csv_int(text: str) -> int | str:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _read_vp3d(path: Path, data: Any) -> list[_Parsed]:
    """VideoPose3D ``.npz``: one result per video (custom) or per subject/action/camera."""
    content = load_npz(path)  # never unpickles code
    if "positions_2d" not in content:
        raise ValueError(f"{path}: missing field 'positions_2d' (have {sorted(content)})")
    tree = content["positions_2d"]
    meta = content.get("metadata", {})
    if not isinstance(tree, dict) or not isinstance(meta, dict):
        raise ValueError(f"{path}: 'positions_2d' and 'metadata' must be dicts")
    layout = str(meta.get("layout_name", "coco")).lower()
    tables = {"coco": COCO17_TABLE, "h36m": H36M17_TABLE}
    if layout not in tables:
        raise ValueError(
            f"{path}: metadata['layout_name'] is {layout!r}; expected 'coco' or 'h36m'"
        )
    video_meta = meta.get("video_metadata") or {}
    if not isinstance(video_meta, dict):
        raise ValueError(f"{path}: metadata['video_metadata'] must be a dict of videos")
    out = []
    for video, inner in tree.items():
        if not isinstance(inner, dict):
            raise ValueError(f"{path}: positions_2d[{video!r}] must be a dict")
        size = _size_from_meta(video_meta.get(video), f"{path}: video_metadata[{video!r}]")
        for key, arrays in inner.items():
            if not isinstance(arrays, (list, tuple)):
                arrays = [arrays]
            for cam, arr in enumerate(arrays):
                where = f"{path}: positions_2d[{video!r}][{key!r}][{cam}]"
                arr = _floats(arr, where)
                if arr.ndim != 3 or arr.shape[1] != 17 or arr.shape[2] not in (2, 3):
                    raise ValueError(f"{where}: expected shape (T, 17, 2 or 3), got {arr.shape}")
                sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
                simple = key == "custom" and len(arrays) == 1
                out.append(
                    _Parsed(
                        tables[layout],
                        "vp3d",
                        image_size=size,
                        dense=(arr[..., :2], sc),
                        track=str(video) if simple else f"{video}/{key}/{cam}",
                    )
                )
    return out


def _read_array(path: Path, data: Any) -> list[_Parsed]:
    """(T, 17, 2|3) in Human3.6M order from ``.npy`` or a per-frame ``.csv``."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{path}: not a plain numeric .npy array ({e})") from e
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in (2, 3):
            raise ValueError(
                f"{path}: expected an array of shape (T, 17, 2 or 3) in Human3.6M joint "
                f"order, got {arr.shape}"
            )
    elif suffix == ".csv":
        arr = _array_csv(path)
    elif suffix == ".npz":
        return [_sample_npz(path)]
    else:
        raise ValueError(f"{path}: format 'array' reads .npy, .csv or .npz, got {suffix!r}")
    sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
    return [_Parsed(H36M17_TABLE, "array", dense=(arr[..., :2], sc))]


def _sample_npz(path: Path) -> _Parsed:
    """A diffhpe sample (``diffhpe data sample``): ``keypoints`` (T, 17, 2) pixels in
    Human3.6M order, NaN where missing; ``image_size`` (2,) and ``fps`` when present."""
    try:
        with np.load(path, allow_pickle=False) as f:
            fields = {k: f[k] for k in f.files if k in ("keypoints", "image_size", "fps")}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a plain-array .npz ({e})") from None
    if "keypoints" not in fields:
        raise ValueError(f"{path}: missing field 'keypoints' (T, 17, 2) of a diffhpe sample")
    arr = _floats(fields["keypoints"], f"{path}: field 'keypoints'")
    if arr.ndim != 3 or arr.shape[1] != NUM_JOINTS or arr.shape[2] not in (2, 3):
        raise ValueError(
            f"{path}: field 'keypoints' must have shape (T, 17, 2 or 3) in Human3.6M joint "
            f"order, got {arr.shape}"
        )
    size = None
    if "image_size" in fields:
        size = _check_image_size(
            tuple(fields["image_size"].reshape(-1).tolist()), f"{path}: field 'image_size'"
        )
    fps = None
    if "fps" in fields:
        fps = _fps_from_meta({"fps": float(fields["fps"])}, f"{path}: field")
    sc = arr[..., 2] if arr.shape[2] == 3 else np.ones(arr.shape[:2])
    return _Parsed(H36M17_TABLE, "array", image_size=size, fps=fps, dense=(arr[..., :2], sc))


def _array_csv(path: Path) -> np.ndarray:
    """Rows of 34/51 numbers; a header naming the columns (``JOINT_x``, ``JOINT_y``,
    ``JOINT_score`` by Human3.6M name or index 0-16, any order) reorders them."""
    rows: list[list[float]] = []
    order: np.ndarray | None = None  # column of each (joint, coordinate) when named
    width: int | None = None
    with path.open(newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.reader(f), start=1):
            if not row or not any(c.strip() for c in row):
                continue
            where = f"{path}: line {line}"
            if not rows and order is None and not _all_numbers(row):
                order = _array_csv_header(path, row)
                width = len(row)
                continue
            if width is not None and len(row) != width:
                raise ValueError(
                    f"{where}: {len(row)} values where the header names {width} columns"
                )
            if width is None and len(row) not in (34, 51):
                raise ValueError(
                    f"{where}: expected 34 (x, y) or 51 (x, y, score) numbers per frame for "
                    f"17 Human3.6M joints, got {len(row)}"
                )
            values = [_csv_float(c, where) for c in row]
            rows.append(values if order is None else [values[i] for i in order])
    if not rows:
        raise ValueError(f"{path}: no frames")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"{path}: rows mix 34 and 51 numbers")
    arr = np.asarray(rows, dtype=np.float64)
    return arr.reshape(len(rows), NUM_JOINTS, arr.shape[1] // NUM_JOINTS)


_COORD_ALIASES: dict[str, str] = {
    "x": "x", "y": "y", "score": "score", "scores": "score", "conf": "score",
    "confidence": "score", "c": "score", "s": "score", "p": "score", "prob": "score",
    "likelihood": "score", "v": "score", "vis": "score", "visibility": "score",
}  # fmt: skip
_COORDS = ("x", "y", "score")
_JOINT_KEYS = {re.sub(r"[^a-z0-9]", "", n.lower()): j for j, n in enumerate(JOINT_NAMES)}
_HEADER_SEPS = " _.-:/"


def _header_joint(text: str) -> int | None:
    """A Human3.6M joint index from a name (``Neck/Nose``, ``lknee``) or ``0``-``16``."""
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    if key.isdigit():
        return int(key) if int(key) < NUM_JOINTS else None
    return _JOINT_KEYS.get(key)


def _header_column(name: str) -> tuple[int, str] | None:
    """``Pelvis_x``, ``x_Pelvis``, ``0_x``, ``x0``, ``RKnee.score`` -> (joint, coordinate)."""
    text = name.strip().lower()
    for alias in sorted(_COORD_ALIASES, key=len, reverse=True):
        coord = _COORD_ALIASES[alias]
        if text.endswith(alias):
            joint = _header_joint(text[: -len(alias)].rstrip(_HEADER_SEPS))
            if joint is not None and text[: -len(alias)].strip(_HEADER_SEPS):
                return joint, coord
        if text.startswith(alias):
            joint = _header_joint(text[len(alias) :].lstrip(_HEADER_SEPS))
            if joint is not None and text[len(alias) :].strip(_HEADER_SEPS):
                return joint, coord
    return None


def _array_csv_header(path: Path, header: list[str]) -> np.ndarray:
    """Column index of each (joint, coordinate) in Human3.6M order, from a header that
    names every column; unknown, repeated or missing columns are errors naming them."""
    found: dict[tuple[int, str], int] = {}
    unknown: list[str] = []
    for i, name in enumerate(header):
        parsed = _header_column(name)
        if parsed is None:
            unknown.append(name.strip())
        elif parsed in found:
            j, c = parsed
            raise ValueError(
                f"{path}: header columns {header[found[parsed]].strip()!r} and "
                f"{name.strip()!r} both name {JOINT_NAMES[j]} {c}"
            )
        else:
            found[parsed] = i
    expected = (
        "columns named JOINT_x, JOINT_y (optionally JOINT_score) for the 17 Human3.6M "
        f"joints {list(JOINT_NAMES)} (or their indices 0-16), in any order"
    )
    if unknown:
        raise ValueError(
            f"{path}: unknown header columns {unknown}; a keypoint CSV header needs {expected}"
        )
    coords = _COORDS if any(c == "score" for _, c in found) else _COORDS[:2]
    missing = [
        f"{JOINT_NAMES[j]}_{c}" for j in range(NUM_JOINTS) for c in coords if (j, c) not in found
    ]
    if missing:
        raise ValueError(
            f"{path}: header lacks the columns {missing}; a keypoint CSV header needs {expected}"
        )
    return np.array([found[(j, c)] for j in range(NUM_JOINTS) for c in coords])


def _all_numbers(row: list[str]) -> bool:
    try:
        [float(c) for c in row if c.strip()]
    except ValueError:
        return False
    return True


_READERS: dict[str, Callable[[Path, Any], list[_Parsed]]] = {
    "coco": _read_coco,
    "coco-results": _read_coco_results,
    "openpose": _read_openpose,
    "mediapipe": _read_mediapipe,
    "alphapose": _read_alphapose,
    "vp3d": _read_vp3d,
    "array": _read_array,
}
