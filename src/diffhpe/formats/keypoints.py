"""Read 2D keypoints written by common detectors into Human3.6M order.

Shapes: T frames, N source joints, 17 Human3.6M joints (``diffhpe.skeleton.JOINT_NAMES``).
:func:`read_keypoints` returns one :class:`Keypoints2D` per person/track, with
``xy`` (T, 17, 2) pixels and ``score`` (T, 17); missing joints are NaN with score 0.

Formats (``format=`` name; auto-detected from extension and content when omitted); each
is one module of ``diffhpe.formats.readers``, whose docstring shows its layouts:

- ``coco`` (``readers.coco``): COCO-17 from mmpose/RTMPose, Detectron2 and Ultralytics
  YOLO-pose (JSON; YOLO's normalised coordinates need ``image_size``).
- ``coco-results`` (``readers.coco``): the COCO keypoint results format
  ``[{"image_id", "keypoints": [x1, y1, v1, ...51], "score"}]``.
- ``openpose`` (``readers.openpose``): a folder of per-frame ``*_keypoints.json`` files
  (or one file), BODY_25 or COCO-18.
- ``mediapipe`` (``readers.mediapipe``): 33 landmarks normalised to [0, 1] (JSON or CSV;
  ``image_size`` required), or the ``.json``/``.npz`` that ``diffhpe lift VIDEO
  --save-2d`` writes.
- ``alphapose`` (``readers.alphapose``): AlphaPose results (Halpe-26, COCO-17, Halpe-136,
  COCO-WholeBody-133), ``idx`` as track id; PoseFlow's ``{image_name: [persons]}``.
- ``vp3d`` (``readers.videopose3d``): VideoPose3D's custom ``.npz``, read without pickle
  code execution.
- ``array`` (``readers.arrays``): ``.npy`` (T, 17, 2 or 3), a diffhpe sample ``.npz``, or
  a ``.csv`` of 34 or 51 numbers per frame in Human3.6M order (a header may name and
  reorder the columns).

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

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from diffhpe.formats.mapping import to_h36m
from diffhpe.formats.readers import BY_NAME, FORMATS, detect, refuse_3d
from diffhpe.formats.readers.common import (
    Parsed,
    Person,
    TrackId,
    check_image_size,
    is_json_file,
    load_json,
)
from diffhpe.skeleton import JOINT_NAMES, NUM_JOINTS

__all__ = [
    "FORMATS",
    "Keypoints2D",
    "TrackId",
    "detect_format",
    "mask_unreliable",
    "read_keypoints",
]


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
            self.image_size = check_image_size(self.image_size, "Keypoints2D.image_size")
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
    size = None if image_size is None else check_image_size(image_size, "image_size")
    data = load_json(path) if is_json_file(path) else None
    refuse_3d(path, data)
    if format is None:
        format = detect(path, data)
    elif format not in FORMATS:
        raise ValueError(f"format: unknown {format!r}; expected one of {FORMATS}")
    out: list[Keypoints2D] = []
    for parsed in BY_NAME[format].read(path, data):
        out.extend(_assemble(path, parsed, size, float(score_threshold)))
    if not out:
        raise ValueError(f"{path}: no person detected in any frame")
    return out


def detect_format(path: str | Path) -> str:
    """The ``format`` name :func:`read_keypoints` would pick for ``path``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    data = load_json(path) if is_json_file(path) else None
    refuse_3d(path, data)
    return detect(path, data)


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
    path: Path, parsed: Parsed, image_size: tuple[int, int] | None, threshold: float
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
    path: Path, people: list[Person], threshold: float
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
    path: Path, parsed: Parsed, image_size: tuple[int, int] | None
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
